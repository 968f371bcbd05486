//! The parsers of untrusted data that scripting adds: cjson.decode (with
//! and without invalid numbers), cmsgpack.unpack and its offset forms,
//! loadstring's text-only loader (as a script calls them on a client's
//! argument), the conversion of their results back to a reply, and
//! FUNCTION RESTORE's payload. No input may panic the server, leak, or
//! grow memory without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rizzler::resp::encode_request;
use rizzler::testing::Harness;

fuzz_target!(|data: &[u8]| {
    let mut h = Harness::new();
    for script in [
        &b"return cjson.encode(cjson.decode(ARGV[1]))"[..],
        b"return {cmsgpack.unpack(ARGV[1])}",
        b"return cmsgpack.pack(cmsgpack.unpack(ARGV[1]))",
        b"return {struct.unpack('>iIhHbBdfs', ARGV[1])}",
        b"return {cmsgpack.unpack_limit(ARGV[1], 3, 1)}",
        b"return {cmsgpack.unpack_one(ARGV[1], 2)}",
        b"cjson.decode_invalid_numbers(false) local ok = pcall(cjson.decode, ARGV[1]) cjson.decode_invalid_numbers(true) return 1",
        b"return type(loadstring(ARGV[1]))",
    ] {
        let _ = h.raw(&encode_request(&[b"EVAL", script, b"0", data]));
    }
    let _ = h.raw(&encode_request(&[b"FUNCTION", b"RESTORE", data]));
    // A payload with a valid footer reaches the library loader.
    let mut payload = data.to_vec();
    payload.extend_from_slice(&10u16.to_le_bytes());
    let crc = rizzler::persist::rdb::crc64(0, &payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    let _ = h.raw(&encode_request(&[b"FUNCTION", b"RESTORE", &payload, b"REPLACE"]));
});
