//! HyperLogLog commands on arbitrary strings: whatever bytes a client
//! stores with SET, PFCOUNT, PFADD, PFMERGE and PFDEBUG must answer (a
//! count, or Redis's INVALIDOBJ / WRONGTYPE error) and never panic or read
//! past the value. Most inputs get a sparse or dense HLL header so that
//! the opcode and register decoders see the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rizzler::testing::Harness;

/// A RESP request with binary-safe arguments.
fn request(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    // The first byte picks the header, the sparse limit and the element.
    let mut value = match mode & 3 {
        0 => b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80".to_vec(),
        1 => b"HYLL\x00\0\0\0\0\0\0\0\0\0\0\x80".to_vec(),
        2 => b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x00".to_vec(),
        _ => Vec::new(),
    };
    value.extend_from_slice(body);
    if mode & 3 == 1 {
        // A dense HLL must have the exact length to pass the header check.
        value.resize(16 + 12288, 0);
    }
    let limit = [&b"3000"[..], b"20", b"0", b"100000"][usize::from(mode >> 2 & 3)];
    let mut h = Harness::new();
    let mut input = request(&[b"CONFIG", b"SET", b"hll-sparse-max-bytes", limit]);
    input.extend(request(&[b"SET", b"h", &value]));
    input.extend(request(&[b"SET", b"copy", &value]));
    input.extend(request(&[b"PFCOUNT", b"h"]));
    input.extend(request(&[b"PFDEBUG", b"DECODE", b"h"]));
    input.extend(request(&[b"PFCOUNT", b"h", b"copy"]));
    input.extend(request(&[b"PFADD", b"h", body, b"a", b"b", b"c"]));
    input.extend(request(&[b"PFMERGE", b"dst", b"copy", b"h"]));
    input.extend(request(&[b"PFMERGE", b"copy", b"dst"]));
    input.extend(request(&[b"PFCOUNT", b"dst"]));
    input.extend(request(&[b"PFDEBUG", b"GETREG", b"copy"]));
    input.extend(request(&[b"PFDEBUG", b"TODENSE", b"h"]));
    input.extend(request(&[b"PFCOUNT", b"h"]));
    input.extend(request(&[b"GET", b"h"]));
    let _ = h.raw(&input);
});
