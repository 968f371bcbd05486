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

    /// A server with `config`, save points off: tests write no snapshot
    /// files unless they run SAVE.
    pub fn with_config(mut config: Config) -> Self {
        config.save.clear();
        config.enable_debug_command = "yes".into();
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
        client.out.take_bytes()
    }

    /// Runs one command; returns its raw reply.
    pub fn run(&mut self, args: &[&str]) -> Vec<u8> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.raw(&crate::resp::encode_request(&args))
    }

    /// Registers a [`crate::effects::Recorder`] and returns it: from now on
    /// the journal records events and the propagation stream is built.
    pub fn record(&mut self) -> crate::effects::Recorder {
        let recorder = crate::effects::Recorder::default();
        let Server { store, state } = &mut self.server;
        crate::effects::observe(store, state, Box::new(recorder.clone()));
        recorder
    }

    /// Freezes the server's clock at `ms` (Unix milliseconds).
    pub fn set_time(&mut self, ms: u64) {
        self.server.state.fixed_time_ms = Some(ms);
    }

    /// Switches the client to RESP3, as HELLO 3 would.
    pub fn resp3(&mut self) {
        self.server.state.clients[self.session.client].out.proto = crate::resp::Proto::Resp3;
    }

    /// Whether `key` is live in database 0 (without counting a lookup or
    /// expiring anything).
    pub fn exists(&mut self, key: &str) -> bool {
        self.entry(key).is_some()
    }

    /// OBJECT ENCODING of `key` in database 0.
    pub fn encoding(&mut self, key: &str) -> Option<&'static str> {
        self.entry(key).map(|e| e.value.encoding())
    }

    fn entry(&self, key: &str) -> Option<&crate::store::Entry> {
        let now = self.server.state.now_ms();
        self.server.store.dbs[0]
            .get_raw(key.as_bytes())
            .filter(|e| e.expire_at().is_none_or(|at| at >= now))
    }

    /// Works on database `db` directly (set-up and checks a command can't
    /// express), then drains the journal as `call()` would.
    pub fn with_db<T>(&mut self, db: usize, f: impl FnOnce(&mut crate::store::DbMut) -> T) -> T {
        let Server { store, state } = &mut self.server;
        let now = state.now_ms();
        let result = f(&mut store.db(db, now));
        crate::effects::after_command(store, state, None);
        result
    }

    /// Runs one command; returns its reply as text (lossy), for asserts.
    pub fn text(&mut self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.run(args)).into_owned()
    }
}

/// The RESP2 reply for an array of bulk strings, for asserts.
pub fn bulks(items: &[&str]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        s += &format!("${}\r\n{i}\r\n", i.len());
    }
    s
}
