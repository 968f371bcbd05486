//! Server-wide state: the store, the connected clients, statistics, the
//! configuration, and the requests that command code leaves for the I/O
//! backend (close that client, shut down).
//!
//! Each client's reply buffer lives here rather than in the backend, so a
//! command can answer another client (pub/sub fan-out, unblocking a blocked
//! pop) and the backend flushes every client listed in
//! [`State::pending_writes`] after a batch.

use std::collections::BTreeMap;

use slab::Slab;

use crate::commands::Command;
use crate::config::Config;
use crate::resp::{Proto, Reply};
use crate::store::Store;
use crate::util::{now_ms, Rng};

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
    /// Memory in use, refreshed by [`cron`]: what `maxmemory` is checked
    /// against. The process's resident size for now; allocator accounting
    /// comes with eviction.
    pub used_memory: u64,
    /// Unix time of the last successful save (LASTSAVE); start-up until
    /// persistence saves.
    pub lastsave: u64,
    /// This process's random 40-hex-digit identity (INFO `run_id`).
    pub run_id: String,
    /// The replication ID INFO reports (`master_replid`).
    pub replid: String,
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
    /// The row of the last command run, for CLIENT LIST's `cmd=`.
    pub last_cmd: Option<&'static Command>,
    pub no_evict: bool,
    pub authenticated: bool,
    /// Replies waiting to be written. The session moves it out for a batch.
    pub out: Reply,
    /// Set once the connection must close after its pending replies.
    pub closing: bool,
    /// CLIENT REPLY: whether this client's commands are answered.
    pub reply: ReplyMode,
}

/// CLIENT REPLY's state: Redis's CLIENT_REPLY_OFF, _SKIP and _SKIP_NEXT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReplyMode {
    #[default]
    On,
    /// Nothing is answered until CLIENT REPLY ON.
    Off,
    /// Set by CLIENT REPLY SKIP: the command after it goes unanswered.
    SkipNext,
    /// The command running now goes unanswered.
    Skip,
}

impl ReplyMode {
    /// Whether the replies of the command that just ran are dropped.
    pub fn drops(self) -> bool {
        matches!(self, ReplyMode::Off | ReplyMode::Skip)
    }

    /// The mode for the client's next command (Redis's `resetClient`).
    pub fn after_command(self) -> ReplyMode {
        match self {
            ReplyMode::Skip => ReplyMode::On,
            ReplyMode::SkipNext => ReplyMode::Skip,
            mode => mode,
        }
    }
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
    /// Error replies by their first word (INFO errorstats).
    pub errors: BTreeMap<Vec<u8>, u64>,
    /// Samples behind INFO's `instantaneous_*` fields.
    pub inst: Instantaneous,
}

/// Redis keeps at most this many distinct error codes in errorstats.
const ERROR_STATS_MAX: usize = 128;

impl Stats {
    /// Counts one error reply under its code (`ERR`, `WRONGTYPE`, …) the way
    /// Redis's `afterErrorReply` does: the first word when a space comes
    /// within 32 bytes, `ERR` otherwise.
    pub fn count_error(&mut self, msg: &[u8]) {
        self.error_replies += 1;
        let head = &msg[..msg.len().min(32)];
        let code = match head.iter().position(|&c| c == b' ') {
            Some(end) => &msg[..end],
            None => b"ERR",
        };
        if let Some(n) = self.errors.get_mut(code) {
            *n += 1;
        } else if self.errors.len() < ERROR_STATS_MAX {
            self.errors.insert(code.to_vec(), 1);
        }
    }

    /// CONFIG RESETSTAT: zero the counters, keeping start time and `dirty`.
    /// `expired_total` is the keyspace's running count of expired keys,
    /// which becomes the new base for INFO's `expired_keys`.
    pub fn reset(&mut self, expired_total: u64) {
        *self = Stats {
            start_ms: self.start_ms,
            dirty: self.dirty,
            expired_keys_base: expired_total,
            ..Stats::default()
        };
    }
}

/// Redis's `STATS_METRIC_SAMPLES`: INFO's per-second rates average this
/// many samples taken by the cron.
const INST_SAMPLES: usize = 16;

/// Ring buffers of per-second rates (commands, bytes in, bytes out).
#[derive(Debug, Default)]
pub struct Instantaneous {
    last_ms: u64,
    last: [u64; 3],
    samples: [[u64; INST_SAMPLES]; 3],
    idx: usize,
}

impl Instantaneous {
    /// Takes one sample of the running totals (the cron calls this).
    fn track(&mut self, now_ms: u64, totals: [u64; 3]) {
        if self.last_ms != 0 && now_ms > self.last_ms {
            let dt = now_ms - self.last_ms;
            for (k, total) in totals.iter().enumerate() {
                let delta = total.saturating_sub(self.last[k]);
                self.samples[k][self.idx] = delta * 1000 / dt;
            }
            self.idx = (self.idx + 1) % INST_SAMPLES;
        }
        self.last_ms = now_ms;
        self.last = totals;
    }

    fn mean(&self, k: usize) -> u64 {
        self.samples[k].iter().sum::<u64>() / INST_SAMPLES as u64
    }

    /// Commands per second.
    pub fn ops_per_sec(&self) -> u64 {
        self.mean(0)
    }

    /// Input bytes per second.
    pub fn input_bytes_per_sec(&self) -> u64 {
        self.mean(1)
    }

    /// Output bytes per second.
    pub fn output_bytes_per_sec(&self) -> u64 {
        self.mean(2)
    }
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
        let mut rng = Rng::seeded();
        let mut hex40 = || -> String {
            (0..40)
                .map(|_| char::from(b"0123456789abcdef"[rng.below(16) as usize]))
                .collect()
        };
        let (run_id, replid) = (hex40(), hex40());
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
                used_memory: 0,
                lastsave: now_ms() / 1000,
                run_id,
                replid,
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
            last_cmd: None,
            no_evict: false,
            authenticated: self.config.requirepass.is_empty(),
            out: Reply::new(Proto::Resp2),
            closing: false,
            reply: ReplyMode::On,
        })
    }

    pub fn remove_client(&mut self, key: usize) {
        self.clients.try_remove(key);
    }
}

/// Periodic work, called `hz` times a second by the backend's timer: the
/// active expiry cycle, with a quarter of the tick as its CPU budget.
pub fn cron(server: &mut Server) {
    let now = now_ms();
    server.state.used_memory = crate::util::rss_bytes();
    close_idle_clients(&mut server.state, now);
    let stats = &mut server.state.stats;
    let totals = [
        stats.commands_processed,
        stats.net_input_bytes,
        stats.net_output_bytes,
    ];
    stats.inst.track(now_ms(), totals);
    if !server.state.active_expire {
        return;
    }
    let tick_us = 1_000_000 / server.state.config.hz.max(1);
    server.store.active_expire_cycle(now_ms(), tick_us / 4);
}

/// `timeout`: clients idle for longer are closed, through the same path as
/// CLIENT KILL (Redis's `clientsCronHandleTimeout`).
fn close_idle_clients(state: &mut State, now: u64) {
    let limit_ms = state.config.timeout.saturating_mul(1000);
    if limit_ms == 0 {
        return;
    }
    for (key, client) in state.clients.iter_mut() {
        if !client.closing && now.saturating_sub(client.last_ms) > limit_ms {
            client.closing = true;
            state.kills.push(key);
        }
    }
}
