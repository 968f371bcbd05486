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
use crate::server::{Server, State};
use crate::store::Store;

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
    /// Stop executing once the replies of this call reach this many bytes;
    /// the rest of the input stays unconsumed for a later call. A backend
    /// sets it to keep a client that pipelines faster than it reads from
    /// growing its output without bound. Unlimited by default.
    pub out_limit: usize,
    /// The last [`Session::process`] stopped at `out_limit` with complete
    /// commands left in the input: run it again once the replies are out,
    /// before reading more.
    pub stalled: bool,
}

impl Session {
    pub fn new(client: usize, max_bulk: usize) -> Self {
        Session {
            parser: Parser::new(max_bulk),
            client,
            need: None,
            out_limit: usize::MAX,
            stalled: false,
        }
    }

    /// Executes every complete command in `input`. Returns the number of
    /// bytes consumed and what to do next. Replies are in the client's
    /// `out` buffer.
    pub fn process(&mut self, server: &mut Server, input: &[u8]) -> (usize, Status) {
        let Server { store, state } = server;
        self.process_parts(store, state, input)
    }

    /// [`Session::process`] over the server's two halves, as a backend
    /// holds them while it serves connections under a script that runs
    /// long.
    pub fn process_parts(
        &mut self,
        store: &mut Store,
        state: &mut State,
        input: &[u8],
    ) -> (usize, Status) {
        let now = state.now_ms();
        let Some(client) = state.clients.get_mut(self.client) else {
            return (0, Status::Close);
        };
        client.last_ms = now;
        self.parser.set_max_bulk(state.config.proto_max_bulk_len);

        let mut pos = 0;
        let mut status = Status::Open;
        self.need = None;
        self.stalled = false;
        while pos < input.len() {
            let Some(client) = state.clients.get_mut(self.client) else {
                status = Status::Close;
                break;
            };
            if client.out.pending() >= self.out_limit {
                self.stalled = true;
                break;
            }
            // A blocked client runs nothing until it is answered; its
            // input waits, up to the query buffer limit.
            if client.waiting() {
                if input.len() - pos > state.config.client_query_buffer_limit {
                    tracing::warn!("closing client: query buffer over client-query-buffer-limit");
                    status = Status::Close;
                }
                break;
            }
            // A client killed (or a server shut down) by an earlier command
            // runs nothing more, as in Redis.
            if state.shutdown || client.closing {
                status = Status::Close;
                break;
            }
            self.parser
                .set_unauthenticated(!client.authenticated && !state.acl.open());
            let rest = &input[pos..];
            match self.parser.parse(rest) {
                Ok(Parsed::Command(used)) => {
                    let args = self.parser.args(rest);
                    pos += used;
                    if args.is_empty() {
                        // Nothing runs, but it counts as a command for
                        // CLIENT REPLY SKIP, as in Redis (resetClient).
                        client.reply = client.reply.after_command();
                        continue;
                    }
                    let mut ctx = Ctx {
                        store,
                        state,
                        client: self.client,
                        now_ms: now,
                    };
                    if commands::execute(&mut ctx, args) == After::Close {
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
                    // Under CLIENT REPLY OFF even this goes unsaid, as in Redis.
                    if !client.reply.drops() {
                        client.out.error(&msg);
                    }
                    state.stats.count_error(&msg);
                    status = Status::Close;
                    break;
                }
            }
        }
        // Count bytes once, when consumed: an incomplete tail comes back.
        state.stats.net_input_bytes += pos as u64;
        // What the batch published goes to its receivers now, with its
        // BCAST invalidations.
        crate::tracking::broadcast(state);
        state.flush_broadcast();
        if state.clients.get(self.client).is_none_or(|c| c.closing) {
            status = Status::Close;
        }
        (pos, status)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::Harness;

    fn get(key: &str) -> Vec<u8> {
        format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).into_bytes()
    }

    #[test]
    fn out_limit_stops_between_commands() {
        let mut h = Harness::new();
        h.text(&["SET", "k", "0123456789"]);
        let one = get("k");
        let input = one.repeat(10);
        let client = h.session.client;
        h.server.state.clients[client].out.buf.clear();

        // A limit of one byte: the first command runs, the rest wait.
        h.session.out_limit = 1;
        let (used, _) = h.session.process(&mut h.server, &input);
        assert_eq!(used, one.len());
        let out = std::mem::take(&mut h.server.state.clients[client].out.buf);
        assert_eq!(out, b"$10\r\n0123456789\r\n");

        // The remaining input, handed in again, runs once allowed.
        h.session.out_limit = usize::MAX;
        let (used, _) = h.session.process(&mut h.server, &input[one.len()..]);
        assert_eq!(used, one.len() * 9);
        assert_eq!(h.server.state.clients[client].out.buf.len(), 17 * 9);
    }
}
