//! Running commands without a socket, for tests and benchmarks:
//! `Harness::new().run(&["set", "k", "v"])` returns the raw reply.

use crate::config::Config;
use crate::net::session::{Session, Status};
use crate::server::Server;

/// A server with one connected client and no I/O.
pub struct Harness {
    pub server: Server,
    pub session: Session,
    /// Whether the last command asked to close the connection.
    pub closed: bool,
    /// Unconsumed input, kept as a backend keeps it.
    pending: Vec<u8>,
}

impl Default for Harness {
    fn default() -> Self {
        Harness::new()
    }
}

impl Harness {
    pub fn new() -> Self {
        Harness::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> Self {
        let max_bulk = config.proto_max_bulk_len;
        let mut server = Server::new(config, "none");
        let key = server
            .state
            .add_client("127.0.0.1:1".into(), "127.0.0.1:6379".into(), -1);
        Harness {
            server,
            session: Session::new(key, max_bulk),
            closed: false,
            pending: Vec::new(),
        }
    }

    /// Sends raw input; returns everything the server answered. An
    /// incomplete command is kept and completed by the next call.
    pub fn raw(&mut self, input: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(input);
        let (used, status) = self.session.process(&mut self.server, &self.pending);
        self.pending.drain(..used);
        self.closed = status == Status::Close;
        let client = &mut self.server.state.clients[self.session.client];
        std::mem::take(&mut client.out.buf)
    }

    /// Runs one command; returns its raw reply.
    pub fn run(&mut self, args: &[&str]) -> Vec<u8> {
        let mut input = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            input.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        self.raw(&input)
    }

    /// Runs one command; returns its reply as text (lossy), for asserts.
    pub fn text(&mut self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.run(args)).into_owned()
    }
}
