//! Server-wide state: the store, the connected clients, statistics, the
//! configuration, and the requests that command code leaves for the I/O
//! backend ([`Request`]: close that client, flush its output, shut down).
//!
//! Each client's state (selected database, protocol, reply buffer, reply
//! mode) lives in its [`Client`] here and nowhere else, so a command can
//! answer another client (pub/sub fan-out, unblocking a blocked pop) by
//! writing to its buffer and queueing a [`Request::Flush`].

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasherDefault;

use slab::Slab;

use crate::commands::Command;
use crate::config::Config;
use crate::effects::Observer;
use crate::error::CmdError;
use crate::pubsub::{PubSub, Subscriptions};
use crate::resp::{Proto, Reply};
use crate::store::Store;
use crate::util::{now_ms, Rng};

/// Everything one event-loop thread owns.
pub struct Server {
    pub store: Store,
    pub state: State,
}

/// What command code asks the I/O backend to do to a connection other
/// than the one running, or to the server (Redis's `clients_to_close`,
/// `clients_pending_write`, shutdown). Each backend drains the queue in
/// one function after every batch and every cron tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Close this client now, unsent replies and all (CLIENT KILL,
    /// `timeout`).
    Close(usize),
    /// This client has output that another produced: send it.
    Flush(usize),
    /// This client was blocked and has been answered: send its output and
    /// run the input it held back meanwhile.
    Resume(usize),
    /// Stop serving (SHUTDOWN).
    Shutdown,
}

/// The server state other than the keyspace, split from it so that command
/// code can borrow both at once.
pub struct State {
    pub clients: Slab<Client>,
    /// Who is subscribed to what (pub/sub).
    pub pubsub: PubSub,
    /// Who watches which key (WATCH).
    pub watches: Watches,
    /// Who is blocked on which key (BLPOP and friends).
    pub blocking: crate::blocking::Blocking,
    /// EXEC's commands' events and operations, while it runs them.
    pub transaction: Option<crate::effects::Transaction>,
    pub stats: Stats,
    pub config: Config,
    next_client_id: u64,
    /// The client whose command is running, so that a message for it
    /// takes its place among that command's replies.
    pub running: Option<Running>,
    /// Requests for the backend, in the order they were made.
    pub requests: Vec<Request>,
    pub shutdown: bool,
    /// Changes to the dataset since the last save (Redis's `dirty`, INFO's
    /// `rdb_changes_since_last_save`), counted from the write path's events.
    pub changes_since_save: u64,
    /// Consumers of key events and of the propagation stream.
    pub observers: Vec<Box<dyn Observer>>,
    /// Active expiry on/off (DEBUG SET-ACTIVE-EXPIRE).
    pub active_expire: bool,
    /// The backend's name, for INFO.
    pub io_backend: &'static str,
    /// The highest `used_memory` seen after a command or a cron tick.
    pub peak_memory: u64,
    /// `used_memory` once the server was set up, before any client.
    pub startup_memory: u64,
    /// A frozen clock, for tests that need time to stand still or jump;
    /// `None` (always, outside tests) reads the system clock.
    pub fixed_time_ms: Option<u64>,
    /// Unix time of the last successful save (LASTSAVE); start-up until
    /// persistence saves.
    pub lastsave: u64,
    /// Snapshots: the save in progress and what INFO persistence reports.
    pub persistence: crate::persist::snapshot::Persistence,
    /// The append-only file, while `appendonly` is on.
    pub aof: Option<crate::persist::aof::Aof>,
    /// This process's random 40-hex-digit identity (INFO `run_id`).
    pub run_id: String,
    /// The replication ID INFO reports (`master_replid`).
    pub replid: String,
    /// maxmemory's eviction pool and progress.
    pub evictor: crate::evict::Evictor,
    /// Users and the ACL log.
    pub acl: crate::acl::Acl,
    /// Client ids → slab keys, for what names a client by id (tracking
    /// redirection).
    pub client_ids: HashMap<u64, usize>,
    /// Client-side caching: who may cache which keys.
    pub tracking: crate::tracking::Tracking,
    /// CLIENT PAUSE.
    pub pause: crate::pause::Pause,
    /// DEBUG PAUSE-CRON: the cron does nothing while set.
    pub cron_paused: bool,
    /// DEBUG SET-SKIP-CHECKSUM-VALIDATION: RESTORE payloads (and RDB
    /// files) are not checksummed while set.
    pub skip_checksum_validation: bool,
    /// The Lua interpreter and the script cache.
    pub scripting: crate::scripting::Scripting,
    /// Serves the other connections while a script runs past
    /// busy-reply-threshold (Redis's `processEventsWhileBlocked`); the I/O
    /// backend installs it.
    pub events_while_busy: Option<EventsWhileBusy>,
}

/// The backend's [`State::events_while_busy`]: handles what arrived on the
/// other connections (their commands meet `-BUSY`, all but the few flagged
/// `allow-busy`) and returns without waiting.
pub type EventsWhileBusy = std::rc::Rc<dyn Fn(&mut Store, &mut State)>;

/// The client whose command is running (Redis's `server.current_client`).
#[derive(Clone, Copy, Debug)]
pub struct Running {
    pub client: usize,
    /// Where the command's reply begins in the client's output: pushes for
    /// it go there, ahead of the reply, as Redis sends them.
    pub reply_start: crate::resp::Mark,
    /// Pushes go after the reply instead (the command replies before it
    /// notifies, as some of Redis's do).
    pub after_reply: bool,
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
    /// The client that replays an AOF at boot: what it runs was accepted
    /// once, so memory and persistence-error refusals do not apply.
    pub aof_loader: bool,
    /// Whether the client logged in (AUTH, HELLO AUTH), or connected
    /// while `default` needed no password.
    pub authenticated: bool,
    /// The user its commands run as: `default` until it authenticates.
    /// Shared with the registry; replaced when the user changes.
    pub user: std::rc::Rc<crate::acl::User>,
    /// Replies waiting to be written, in the client's protocol.
    pub out: Reply,
    /// Output the backend holds for this client that the kernel has not
    /// taken yet; with `out.pending()`, what the output buffer limits
    /// measure (CLIENT LIST's `omem`).
    pub backlog: usize,
    /// Input the backend holds for this client that no command has
    /// consumed (an incomplete command), in bytes.
    pub input_held: usize,
    /// When the client went over its soft output limit (Unix ms), 0 while
    /// under it.
    pub soft_limit_since: u64,
    /// A [`Request::Flush`] for this client is queued and not yet served.
    pub flush_queued: bool,
    /// Its channels, patterns and shard channels.
    pub subs: Subscriptions,
    /// The transaction it is queueing (between MULTI and EXEC).
    pub multi: Option<crate::commands::Multi>,
    /// The keys it watches, by database.
    pub watched: Vec<(usize, Box<[u8]>)>,
    /// A watched key changed since WATCH: EXEC will fail (Redis's
    /// CLIENT_DIRTY_CAS).
    pub watch_touched: bool,
    /// Messages published to it in the running batch: ranges of the
    /// batch's buffer, handed over by [`State::flush_broadcast`].
    pub broadcast: Vec<std::ops::Range<usize>>,
    /// Set once the connection must close after its pending replies.
    pub closing: bool,
    /// CLIENT REPLY: whether this client's commands are answered.
    pub reply: ReplyMode,
    /// The blocking command it waits in (BLPOP…): it runs nothing else
    /// until answered.
    pub blocked: Option<Box<crate::blocking::Blocked>>,
    /// The command CLIENT PAUSE holds back: it runs nothing else until
    /// the pause ends.
    pub postponed: Option<crate::resp::OwnedArgs>,
    /// CLIENT TRACKING's options, while it is on.
    pub tracking: Option<Box<crate::tracking::ClientTracking>>,
}

impl Client {
    /// Whether it waits (blocked or postponed) and so runs none of its
    /// input.
    pub fn waiting(&self) -> bool {
        self.blocked.is_some() || self.postponed.is_some()
    }
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

/// The watched keys (Redis's `db->watched_keys`): (database, key) → its
/// watchers.
#[derive(Debug, Default)]
pub struct Watches {
    keys: HashMap<(usize, Box<[u8]>), Watchers>,
}

/// Who watches one key.
#[derive(Debug, Default)]
struct Watchers {
    /// Each client, with whether the key had already expired when it
    /// watched it (so its removal is no change).
    clients: Vec<(usize, bool)>,
    /// Whether the key is in its database, expired or not (Redis's
    /// `dictFind`): FLUSHDB touches only keys that were there. Kept from
    /// the key events, since the flush leaves nothing to look at.
    exists: bool,
}

impl Watches {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl State {
    /// WATCH: `client` watches `key` in `db` (once). `exists`: the key is
    /// in the database; `expired`: it is, but its time has passed, so its
    /// removal is no change.
    pub fn watch(&mut self, client: usize, db: usize, key: &[u8], exists: bool, expired: bool) {
        let Some(c) = self.clients.get_mut(client) else {
            return;
        };
        if c.watched.iter().any(|(d, k)| *d == db && &k[..] == key) {
            return;
        }
        c.watched.push((db, key.into()));
        let watchers = self.watches.keys.entry((db, key.into())).or_default();
        watchers.clients.push((client, expired));
        watchers.exists = exists;
    }

    /// UNWATCH, and the end of a transaction: forgets every watched key of
    /// `client` and whether one changed.
    pub fn unwatch_all(&mut self, client: usize) {
        let Some(c) = self.clients.get_mut(client) else {
            return;
        };
        c.watch_touched = false;
        for (db, key) in std::mem::take(&mut c.watched) {
            let id = (db, key);
            if let Some(watchers) = self.watches.keys.get_mut(&id) {
                watchers.clients.retain(|(w, _)| *w != client);
                if watchers.clients.is_empty() {
                    self.watches.keys.remove(&id);
                }
            }
        }
    }

    /// Whether a key `client` watches, live when watched, has expired
    /// since (`expired_now` tells, without removing it).
    pub fn watched_key_expired(
        &self,
        client: usize,
        expired_now: impl Fn(usize, &[u8]) -> bool,
    ) -> bool {
        let Some(c) = self.clients.get(client) else {
            return false;
        };
        c.watched.iter().any(|(db, key)| {
            let was_expired = self
                .watches
                .keys
                .get(&(*db, key.clone()))
                .is_some_and(|w| w.clients.iter().any(|&(w, expired)| w == client && expired));
            !was_expired && expired_now(*db, key)
        })
    }

    /// A key event: the key's watchers' transactions will fail. A key that
    /// had already expired when watched and is now gone did not change.
    pub fn touch_watched(&mut self, db: usize, key: &[u8], gone: bool) {
        let Some(watchers) = self.watches.keys.get_mut(&(db, Box::from(key))) else {
            return;
        };
        watchers.exists = !gone;
        for (client, expired) in watchers.clients.iter_mut() {
            if *expired && gone {
                *expired = false;
                continue;
            }
            if let Some(c) = self.clients.get_mut(*client) {
                c.watch_touched = true;
            }
        }
    }

    /// FLUSHDB, FLUSHALL (`replaced` false) and SWAPDB (`replaced` true)
    /// emptied or replaced database `db` (every one for `None`): Redis's
    /// `touchAllWatchedKeysInDb`. A watched key that was there is
    /// touched; after a swap, so is one the other database had. `now`
    /// (what is in `db` after a swap: its key, and whether it has
    /// expired) tells the latter.
    pub fn touch_watched_db(
        &mut self,
        db: Option<usize>,
        replaced: bool,
        now: impl Fn(usize, &[u8]) -> Option<bool>,
    ) {
        for ((d, key), watchers) in &mut self.watches.keys {
            if db.is_some_and(|db| db != *d) {
                continue;
            }
            let there = watchers.exists;
            let incoming = if replaced { now(*d, key) } else { None };
            watchers.exists = incoming.is_some();
            if !there && incoming.is_none() {
                continue;
            }
            for (client, expired) in watchers.clients.iter_mut() {
                if *expired {
                    match incoming {
                        // Expired, now gone: no change.
                        None => {
                            *expired = false;
                            continue;
                        }
                        // Expired, replaced by one also expired.
                        Some(true) => continue,
                        Some(false) => {}
                    }
                } else if !there && incoming == Some(true) {
                    // Nothing replaced by an expired key.
                    *expired = true;
                    continue;
                }
                if let Some(c) = self.clients.get_mut(*client) {
                    c.watch_touched = true;
                }
            }
        }
    }
}

/// Output buffer limit classes, in CONFIG's order (Redis's
/// `CLIENT_TYPE_NORMAL`, `_SLAVE`, `_PUBSUB`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientClass {
    Normal = 0,
    Replica = 1,
    PubSub = 2,
}

impl Client {
    /// Which output buffer limits apply: a subscribed client is a pub/sub
    /// client until it unsubscribes from everything.
    pub fn class(&self) -> ClientClass {
        if self.subs.total() > 0 {
            ClientClass::PubSub
        } else {
            ClientClass::Normal
        }
    }

    /// Output memory: unsent bytes, wherever they wait (`omem`).
    pub fn output_memory(&self) -> usize {
        self.out.pending() + self.backlog
    }
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
    pub error_replies: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    /// Error replies by their first word (INFO errorstats).
    pub errors: BTreeMap<Vec<u8>, u64>,
    /// INFO commandstats, one row per command run or refused.
    pub commands: Vec<CommandStats>,
    /// Where each command's row is, keyed by the command row's address.
    command_index: HashMap<usize, usize, BuildHasherDefault<AddrHasher>>,
    /// The last command looked up and its row: a pipeline repeats one
    /// command, and this skips the hash.
    last_command: (usize, usize),
    /// Samples behind INFO's `instantaneous_*` fields.
    pub inst: Instantaneous,
}

/// Redis keeps at most this many distinct error codes in errorstats.
const ERROR_STATS_MAX: usize = 128;

/// One row of INFO commandstats.
#[derive(Debug)]
pub struct CommandStats {
    pub cmd: &'static Command,
    pub calls: u64,
    /// Calls that were timed, and their total time (see
    /// `commands::TIMING_SAMPLE`).
    pub timed_calls: u64,
    pub timed_ns: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
}

impl CommandStats {
    /// Total microseconds, scaled from the timed calls to all of them.
    pub fn usec(&self) -> u64 {
        let total = u128::from(self.timed_ns) * u128::from(self.calls);
        let per = total.checked_div(u128::from(self.timed_calls)).unwrap_or(0);
        (per / 1000) as u64
    }
}

/// A hasher for keys that are already well spread (row addresses).
#[derive(Default)]
pub struct AddrHasher(u64);

impl std::hash::Hasher for AddrHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_usize(&mut self, n: usize) {
        // Fibonacci hashing: rows are 8-byte aligned, so mix the low bits up.
        self.0 = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl Stats {
    /// Where `cmd`'s commandstats row is in `commands`, created on first
    /// use.
    pub fn command_index(&mut self, cmd: &'static Command) -> usize {
        let key = cmd as *const Command as usize;
        if self.last_command.0 == key {
            return self.last_command.1;
        }
        if let Some(&i) = self.command_index.get(&key) {
            self.last_command = (key, i);
            return i;
        }
        self.commands.push(CommandStats {
            cmd,
            calls: 0,
            timed_calls: 0,
            timed_ns: 0,
            rejected_calls: 0,
            failed_calls: 0,
        });
        self.command_index.insert(key, self.commands.len() - 1);
        self.commands.len() - 1
    }

    /// `cmd`'s commandstats row.
    pub fn command(&mut self, cmd: &'static Command) -> &mut CommandStats {
        let i = self.command_index(cmd);
        &mut self.commands[i]
    }

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

    /// CONFIG RESETSTAT: zero the counters, keeping the start time.
    pub fn reset(&mut self) {
        *self = Stats {
            start_ms: self.start_ms,
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

impl Server {
    pub fn new(config: Config, io_backend: &'static str) -> Self {
        let mut rng = Rng::seeded();
        let (run_id, replid) = (rng.hex(40), rng.hex(40));
        let mut server = Server {
            store: Store::new(config.databases),
            state: State {
                clients: Slab::new(),
                pubsub: PubSub::default(),
                watches: Watches::default(),
                blocking: Default::default(),
                transaction: None,
                stats: Stats {
                    start_ms: now_ms(),
                    ..Stats::default()
                },
                config,
                next_client_id: 1,
                running: None,
                requests: Vec::new(),
                shutdown: false,
                changes_since_save: 0,
                observers: Vec::new(),
                active_expire: true,
                io_backend,
                peak_memory: crate::alloc::allocated(),
                startup_memory: crate::alloc::allocated(),
                fixed_time_ms: None,
                lastsave: now_ms() / 1000,
                persistence: crate::persist::snapshot::Persistence::new(),
                aof: None,
                run_id,
                replid,
                evictor: Default::default(),
                acl: crate::acl::Acl::new(),
                client_ids: HashMap::new(),
                tracking: Default::default(),
                pause: Default::default(),
                cron_paused: false,
                skip_checksum_validation: false,
                scripting: Default::default(),
                events_while_busy: None,
            },
        };
        crate::acl::apply_requirepass(&mut server.state);
        crate::effects::sync_recording(&mut server.store, &server.state);
        server.state.apply_config(&mut server.store);
        server
    }
}

impl State {
    /// Hands the store what it reads from the configuration: the
    /// encodings' limits and how access clocks tick (at start-up and after
    /// every CONFIG SET).
    pub fn apply_config(&self, store: &mut Store) {
        crate::store::encoding::set_limits(self.config.encodings);
        store.clock = self.config.clock();
    }

    /// Whether a new connection from `peer` is served: Redis's checks at
    /// accept, maxclients then protected mode. Refused, it is counted in
    /// `rejected_connections`, and the backend sends the error and closes.
    pub fn admit_connection(
        &mut self,
        peer: Option<&std::net::SocketAddr>,
    ) -> Result<(), CmdError> {
        let refused = if self.clients.len() >= self.config.maxclients {
            Some(CmdError::MaxClients)
        } else if self.config.protected_mode
            && self.acl.default_user().nopass()
            && !peer.is_some_and(crate::net::is_loopback)
        {
            Some(CmdError::ProtectedMode)
        } else {
            None
        };
        match refused {
            Some(e) => {
                self.stats.rejected_connections += 1;
                Err(e)
            }
            None => Ok(()),
        }
    }

    /// The cron's frequency: `hz`, doubled (up to 500) while there are more
    /// than 200 clients per tick when `dynamic-hz` is on, so each tick's
    /// share of the clients' timeouts stays small (Redis's serverCron).
    pub fn hz(&self) -> u64 {
        let mut hz = self.config.hz.clamp(1, 500);
        if self.config.dynamic_hz {
            while self.clients.len() as u64 / hz > 200 && hz < 500 {
                hz = (hz * 2).min(500);
            }
        }
        hz
    }

    /// The time commands run at, in Unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.fixed_time_ms.unwrap_or_else(now_ms)
    }

    /// Registers a new connection; returns its slab key.
    pub fn add_client(&mut self, addr: String, laddr: String, fd: i32) -> usize {
        let id = self.next_client_id;
        self.next_client_id += 1;
        self.stats.connections_received += 1;
        let now = now_ms();
        let key = self.clients.vacant_key();
        self.client_ids.insert(id, key);
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
            aof_loader: false,
            authenticated: self.acl.open(),
            user: self.acl.default_user().clone(),
            out: Reply::new(Proto::Resp2),
            backlog: 0,
            input_held: 0,
            soft_limit_since: 0,
            flush_queued: false,
            subs: Subscriptions::default(),
            broadcast: Vec::new(),
            multi: None,
            watched: Vec::new(),
            watch_touched: false,
            closing: false,
            reply: ReplyMode::On,
            blocked: None,
            postponed: None,
            tracking: None,
        })
    }

    /// Forgets a closed connection and every subscription and watch it
    /// held.
    pub fn remove_client(&mut self, key: usize) {
        self.unwatch_all(key);
        self.unblock(key);
        self.disable_tracking(key);
        crate::pause::forget(self, key);
        if let Some(client) = self.clients.try_remove(key) {
            self.client_ids.remove(&client.id);
            self.pubsub.forget(key, &client.subs);
        }
    }

    /// Writes to a client's reply buffer on behalf of a command that may
    /// be another client's (a pub/sub message, an unblocked pop's reply):
    /// in that client's protocol, after whatever it has pending, and
    /// queued for its backend to send. Delivering to the calling client
    /// itself lands in order among its own replies. A closing client gets
    /// nothing; returns whether it was written.
    pub fn deliver(&mut self, client: usize, write: impl FnOnce(&mut Reply)) -> bool {
        // Messages published earlier in this batch come first.
        self.flush_broadcast();
        let Some(c) = self.clients.get_mut(client).filter(|c| !c.closing) else {
            return false;
        };
        write(&mut c.out);
        self.output_added(client);
        true
    }

    /// After output was added to `client` on another's behalf: asks its
    /// backend to send it (once per batch), and closes the client if that
    /// took it over its output buffer limit (Redis's
    /// `closeClientOnOutputBufferLimitReached`).
    pub fn output_added(&mut self, client: usize) {
        let Some(c) = self.clients.get_mut(client) else {
            return;
        };
        if !c.flush_queued {
            c.flush_queued = true;
            self.requests.push(Request::Flush(client));
        }
        self.check_output_limit(client);
    }

    /// Closes `client` if its pending output is over its class's hard
    /// limit, or over the soft limit for longer than allowed. Returns
    /// whether it was closed.
    pub fn check_output_limit(&mut self, client: usize) -> bool {
        let now = self.fixed_time_ms;
        let Some(c) = self.clients.get_mut(client).filter(|c| !c.closing) else {
            return false;
        };
        let limit = self.config.output_limits[c.class() as usize];
        if limit.hard == 0 && limit.soft == 0 {
            return false;
        }
        let used = (c.out.pending() + c.backlog) as u64;
        let hard = limit.hard > 0 && used >= limit.hard;
        let mut soft = limit.soft > 0 && used >= limit.soft;
        if !soft {
            c.soft_limit_since = 0;
        } else {
            let now = now.unwrap_or_else(now_ms);
            if c.soft_limit_since == 0 {
                c.soft_limit_since = now;
                soft = false;
            } else {
                soft = now.saturating_sub(c.soft_limit_since) / 1000 > limit.soft_seconds;
            }
        }
        if !hard && !soft {
            return false;
        }
        tracing::warn!(
            "Client id={} addr={} closed for overcoming of output buffer limits.",
            c.id,
            c.addr
        );
        c.closing = true;
        c.out.clear();
        self.requests.push(Request::Close(client));
        true
    }

    /// Records the allocator's figure in `peak_memory` if it is a new high.
    pub fn note_memory(&mut self) {
        self.peak_memory = self.peak_memory.max(crate::alloc::allocated());
    }
}

/// The loop's work between batches: a background save's or load's next
/// slice, and eviction that ran out of time. Returns how soon it wants the
/// loop back (`None`: nothing pending).
pub fn background(server: &mut Server) -> Option<std::time::Duration> {
    let evicting = crate::evict::continue_between_batches(&mut server.store, &mut server.state);
    let persisting = crate::persist::snapshot::background(server);
    match (evicting, persisting) {
        (true, _) => Some(std::time::Duration::ZERO),
        (false, wait) => wait,
    }
}

/// Periodic work, called `hz` times a second by the backend's timer: the
/// active expiry cycle, with a quarter of the tick as its CPU budget.
pub fn cron(store: &mut Store, state: &mut State) {
    if state.cron_paused {
        return;
    }
    let now = state.now_ms();
    state.note_memory();
    close_idle_clients(state, now);
    let stats = &mut state.stats;
    let totals = [
        stats.commands_processed,
        stats.net_input_bytes,
        stats.net_output_bytes,
    ];
    stats.inst.track(now, totals);
    crate::persist::snapshot::check_save_points(store, state);
    // Once a second, everysec's fsync, even with no command to flush.
    crate::persist::aof::flush(state);
    if state.tracking.active() {
        crate::tracking::limit_table(state);
    }
    crate::pause::timeouts(store, state, now);
    // Not while the dataset loads (an AOF brings its own DELs), nor while
    // clients are paused (the dataset stays as it is).
    let paused = state.pause.mode().is_some();
    if !state.active_expire || state.persistence.is_loading() || paused {
        crate::tracking::broadcast(state);
        state.flush_broadcast();
        return;
    }
    let tick_us = 1_000_000 / state.hz();
    store.active_expire_cycle(now, tick_us / 4);
    crate::effects::after_command(store, state, None);
    // Notifications and invalidations of the keys it expired.
    crate::tracking::broadcast(state);
    state.flush_broadcast();
}

/// `timeout`: clients idle for longer are closed, through the same path as
/// CLIENT KILL (Redis's `clientsCronHandleTimeout`). Subscribers only
/// listen, so they are never idle.
fn close_idle_clients(state: &mut State, now: u64) {
    let limit_ms = state.config.timeout.saturating_mul(1000);
    if limit_ms == 0 {
        return;
    }
    for (key, client) in state.clients.iter_mut() {
        // Subscribers only listen; a blocked client has its own timeout.
        let waiting = client.subs.total() > 0 || client.waiting();
        if !client.closing && !waiting && now.saturating_sub(client.last_ms) > limit_ms {
            client.closing = true;
            state.requests.push(Request::Close(key));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::resp::Proto;
    use crate::testing::Harness;

    use super::Request;

    /// A push to another client goes out in its protocol and asks its
    /// backend to send; one to the caller lands between its own replies.
    #[test]
    fn deliveries_keep_order_and_protocol() {
        let mut h = Harness::new();
        let me = h.session.client;
        let other = h.server.state.add_client("b".into(), "l".into(), -1);
        h.server.state.clients[other].out.proto = Proto::Resp3;
        let push = |out: &mut crate::resp::Reply| {
            out.push(2);
            out.bulk(b"message");
            out.bulk(b"hi");
        };
        let state = &mut h.server.state;
        state.clients[me].out.ok();
        assert!(state.deliver(me, push));
        state.clients[me].out.int(1);
        assert!(state.deliver(other, push));
        assert_eq!(
            state.clients[me].out.buf,
            b"+OK\r\n*2\r\n$7\r\nmessage\r\n$2\r\nhi\r\n:1\r\n"
        );
        assert_eq!(
            state.clients[other].out.buf,
            b">2\r\n$7\r\nmessage\r\n$2\r\nhi\r\n"
        );
        assert_eq!(state.requests, [Request::Flush(me), Request::Flush(other)]);
        state.clients[other].closing = true;
        assert!(!state.deliver(other, push));
    }
}
