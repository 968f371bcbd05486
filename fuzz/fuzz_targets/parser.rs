//! The request parser on arbitrary bytes, fed in arbitrary pieces: it must
//! never panic, never report more bytes than it was given, and must give the
//! same commands however the input is cut.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rizzler::resp::{Parsed, Parser};

fn run(chunks: &[&[u8]]) -> (Vec<Vec<Vec<u8>>>, bool) {
    let mut parser = Parser::new(1 << 20);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match parser.parse(&buf) {
                Ok(Parsed::Command(n)) => {
                    assert!(n > 0 && n <= buf.len());
                    out.push(parser.args(&buf).iter().map(<[u8]>::to_vec).collect());
                    buf.drain(..n);
                }
                Ok(Parsed::Incomplete { need }) => {
                    if let Some(need) = need {
                        assert!(need > buf.len());
                    }
                    break;
                }
                Err(_) => return (out, true),
            }
        }
    }
    (out, false)
}

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    // The first byte picks a cut point for the rest.
    let (cut, input) = (data[0] as usize, &data[1..]);
    let cut = cut.min(input.len());
    let whole = run(&[input]);
    let split = run(&[&input[..cut], &input[cut..]]);
    // A protocol error may surface earlier or later, but the commands before
    // it are the same.
    if !whole.1 && !split.1 {
        assert_eq!(whole.0, split.0);
    }
});
