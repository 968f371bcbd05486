//! Server-wide state: the store, the connected clients, statistics, the
//! configuration, and the requests that command code leaves for the I/O
//! backend (close that client, shut down).
//!
//! Each client's reply buffer lives here rather than in the backend, so a
//! command can answer another client (pub/sub fan-out, unblocking a blocked
//! pop) and the backend flushes every client listed in
//! [`State::pending_writes`] after a batch.

use slab::Slab;

use crate::config::Config;
use crate::resp::{Proto, Reply};
use crate::store::Store;
use crate::util::now_ms;

/// Everything one event-loop thread owns.
#[derive(Debug)]
pub struct Server {
    pub store: Store,
    pub state: State,
}

/// The server state other than the keyspace, split from it so that command
/// code can borrow both at once.
#[derive(Debug)]
pub struct State {
    pub clients: Slab<Client>,
    pub stats: Stats,
    pub config: Config,
    next_client_id: u64,
    /// Slab keys of clients that CLIENT KILL asked to close.
    pub kills: Vec<usize>,
    /// Slab keys of clients that have replies another client produced.
    pub pending_writes: Vec<usize>,
    pub shutdown: bool,
    /// Active expiry on/off (DEBUG SET-ACTIVE-EXPIRE).
    pub active_expire: bool,
    /// The backend's name, for INFO.
    pub io_backend: &'static str,
}

/// One connected client, as CLIENT LIST shows it.
#[derive(Debug)]
pub struct Client {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub name: Vec<u8>,
    pub lib_name: Vec<u8>,
    pub lib_ver: Vec<u8>,
    pub db: usize,
    pub created_ms: u64,
    pub last_ms: u64,
    pub last_cmd: &'static str,
    pub no_evict: bool,
    pub authenticated: bool,
    /// Replies waiting to be written. The session moves it out for a batch.
    pub out: Reply,
    /// Set once the connection must close after its pending replies.
    pub closing: bool,
}

/// Counters INFO reports.
#[derive(Debug, Default)]
pub struct Stats {
    pub start_ms: u64,
    pub connections_received: u64,
    pub rejected_connections: u64,
    pub commands_processed: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub error_replies: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    /// Writes since start-up (Redis's `dirty`, for persistence later).
    pub dirty: u64,
    pub expired_keys_base: u64,
}

impl Stats {
    /// Counts a read lookup in INFO's keyspace_hits / keyspace_misses, as
    /// Redis's `lookupKeyRead` does (write lookups are not counted).
    pub fn count_lookup(&mut self, hit: bool) {
        if hit {
            self.keyspace_hits += 1;
        } else {
            self.keyspace_misses += 1;
        }
    }
}

impl Server {
    pub fn new(config: Config, io_backend: &'static str) -> Self {
        Server {
            store: Store::new(config.databases),
            state: State {
                clients: Slab::new(),
                stats: Stats {
                    start_ms: now_ms(),
                    ..Stats::default()
                },
                config,
                next_client_id: 1,
                kills: Vec::new(),
                pending_writes: Vec::new(),
                shutdown: false,
                active_expire: true,
                io_backend,
            },
        }
    }
}

impl State {
    /// Registers a new connection; returns its slab key.
    pub fn add_client(&mut self, addr: String, laddr: String, fd: i32) -> usize {
        let id = self.next_client_id;
        self.next_client_id += 1;
        self.stats.connections_received += 1;
        let now = now_ms();
        self.clients.insert(Client {
            id,
            addr,
            laddr,
            fd,
            name: Vec::new(),
            lib_name: Vec::new(),
            lib_ver: Vec::new(),
            db: 0,
            created_ms: now,
            last_ms: now,
            last_cmd: "NULL",
            no_evict: false,
            authenticated: self.config.requirepass.is_empty(),
            out: Reply::new(Proto::Resp2),
            closing: false,
        })
    }

    pub fn remove_client(&mut self, key: usize) {
        self.clients.try_remove(key);
    }
}

/// Periodic work, called `hz` times a second by the backend's timer: the
/// active expiry cycle, with a quarter of the tick as its CPU budget.
pub fn cron(server: &mut Server) {
    if !server.state.active_expire {
        return;
    }
    let tick_us = 1_000_000 / server.state.config.hz.max(1);
    server.store.active_expire_cycle(now_ms(), tick_us / 4);
}
