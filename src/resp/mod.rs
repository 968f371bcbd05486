//! The wire protocol, sans I/O: requests are parsed from `&[u8]` and replies
//! are written into a `Vec<u8>`. Nothing here knows about sockets, the store
//! or commands, so the parser can be tested and fuzzed on its own.

mod output;
mod parse;
mod reply;

pub use parse::{
    parse_i64, split_args, Args, OwnedArgs, Parsed, Parser, ProtocolError, DEFAULT_MAX_BULK,
    INLINE_MAX,
};
/// A command as a RESP multibulk request, as clients send it (tests,
/// benchmarks and tools build requests with this).
pub fn encode_request(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + args.iter().map(|a| a.len() + 16).sum::<usize>());
    out.push(b'*');
    push_int(&mut out, args.len() as i64);
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.push(b'$');
        push_int(&mut out, a.len() as i64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

pub use output::{Chunk, Outbox};
pub use reply::{
    format_double, format_g, format_g17, format_int, push_int, Deferred, Mark, Proto, Reply,
    KEEP_CAPACITY,
};
