//! The wire protocol, sans I/O: requests are parsed from `&[u8]` and replies
//! are written into a `Vec<u8>`. Nothing here knows about sockets, the store
//! or commands, so the parser can be tested and fuzzed on its own.

mod parse;
mod reply;

pub use parse::{
    parse_i64, split_args, Args, Parsed, Parser, ProtocolError, DEFAULT_MAX_BULK, INLINE_MAX,
};
pub use reply::{format_double, format_g, push_int, Proto, Reply};
