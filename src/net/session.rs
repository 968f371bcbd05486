//! The connection state machine, shared by both backends: bytes in,
//! replies out, and whether to close.
//!
//! A backend hands [`Session::process`] whatever unconsumed input it holds
//! for a connection. Every complete command in it is executed in order and
//! its reply appended to the client's output buffer, so a pipeline of N
//! commands that arrived in one read is answered with one write. The backend
//! learns how many bytes were consumed, and keeps the rest for next time.

use crate::commands::{self, After, Ctx};
use crate::resp::{Parsed, Parser};
use crate::server::Server;
use crate::util::now_ms;

/// What the backend must do after [`Session::process`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Keep reading.
    Open,
    /// Write what is pending, then close the connection.
    Close,
}

#[derive(Debug)]
pub struct Session {
    parser: Parser,
    /// The client's slab key in `State::clients`.
    pub client: usize,
    /// Total length of the command being received, when known (a large
    /// bulk value): the backend may reserve room for it in one go.
    pub need: Option<usize>,
}

impl Session {
    pub fn new(client: usize, max_bulk: usize) -> Self {
        Session {
            parser: Parser::new(max_bulk),
            client,
            need: None,
        }
    }

    /// Executes every complete command in `input`. Returns the number of
    /// bytes consumed and what to do next. Replies are in the client's
    /// `out` buffer.
    pub fn process(&mut self, server: &mut Server, input: &[u8]) -> (usize, Status) {
        let Server { store, state } = server;
        let Some(client) = state.clients.get_mut(self.client) else {
            return (0, Status::Close);
        };
        let mut out = std::mem::take(&mut client.out);
        let mut db = client.db;
        let now = now_ms();
        client.last_ms = now;
        state.stats.net_input_bytes += input.len() as u64;
        self.parser.set_max_bulk(state.config.proto_max_bulk_len);

        let mut pos = 0;
        let mut status = Status::Open;
        self.need = None;
        while pos < input.len() {
            let rest = &input[pos..];
            match self.parser.parse(rest) {
                Ok(Parsed::Command(used)) => {
                    let args = self.parser.args(rest);
                    pos += used;
                    if args.is_empty() {
                        continue;
                    }
                    let mut ctx = Ctx {
                        store,
                        state,
                        out: &mut out,
                        client: self.client,
                        db,
                        now_ms: now,
                    };
                    let after = commands::execute(&mut ctx, args);
                    db = ctx.db;
                    if after == After::Close {
                        status = Status::Close;
                        break;
                    }
                }
                Ok(Parsed::Incomplete { need }) => {
                    self.need = need;
                    if rest.len() > state.config.client_query_buffer_limit {
                        tracing::warn!(
                            "closing client: query buffer over client-query-buffer-limit"
                        );
                        status = Status::Close;
                    }
                    break;
                }
                Err(e) => {
                    let msg = e.message();
                    state.stats.count_error(&msg);
                    out.error(&msg);
                    status = Status::Close;
                    break;
                }
            }
        }
        if let Some(client) = state.clients.get_mut(self.client) {
            client.db = db;
            // Another client may have written to this one meanwhile (none
            // does yet); keep both, ours first.
            if !client.out.buf.is_empty() {
                out.buf.extend_from_slice(&client.out.buf);
            }
            client.out = out;
            if client.closing {
                status = Status::Close;
            }
        }
        (pos, status)
    }
}
