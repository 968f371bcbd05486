//! The keyspace: sixteen databases of typed values with expiry.
//!
//! The store is owned by the one thread that runs the event loop and is
//! shared between connections as `Rc<RefCell<Server>>`; a borrow lasts for
//! one batch of commands and is never held across I/O. Expiry is lazy on
//! every access plus an active cycle driven by the loop's timer
//! ([`Store::active_expire_cycle`]), so no second thread touches the data.
//!
//! Every lookup and change goes through [`DbMut`] (one database) or
//! [`Store`] (FLUSHALL, SWAPDB), which record what they do in the
//! [`Journal`]; `call()` drains it after each command.
//!
//! Keys, string values and members are [`SmallBytes`]: up to 30 bytes
//! inline, so a typical key costs one 88-byte entry and no allocation.

pub mod access;
mod db;
pub mod digest;
pub mod encoding;
pub mod geohash;
mod glob;
pub mod hll;
mod journal;
mod members;
mod small_bytes;
pub mod stream;
mod value;
pub mod zset;

pub use access::Clock;
pub use db::{Db, DbMut, Entry, Frozen, Modify};
pub use glob::glob_match;
pub use journal::{Event, Journal, KeyChange, KeyEvent, KeyspaceStats, Op, Rewrite};
pub use members::Members;
pub use small_bytes::SmallBytes;
pub use stream::{Stream, StreamId};
pub use value::{Bytes, Hash, Set, Str, Value};
pub use zset::{Item, ZSet};

use crate::util::Rng;

/// Redis's default `databases`.
pub const DEFAULT_DATABASES: usize = 16;

/// Keys sampled per round of active expiry (Redis's
/// `ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`).
const EXPIRE_SAMPLES: usize = 20;

#[derive(Debug)]
pub struct Store {
    pub dbs: Vec<Db>,
    pub rng: Rng,
    /// What the running command (or cron step) changed, in order.
    pub journal: Journal,
    pub stats: KeyspaceStats,
    /// Whether a key whose time has passed is removed when a command meets
    /// it (on by default). Off, keys leave only by an explicit DEL, which
    /// is how a propagated stream must be replayed (loading an AOF, a
    /// replica following its master): the stream carries the expiries the
    /// writer saw, and deciding again by the replay's clock would diverge.
    pub expire_on_access: bool,
    /// How accesses advance keys' clocks: set from `maxmemory-policy` and
    /// the `lfu-*` parameters (`Config::clock`).
    pub clock: Clock,
    /// CLIENT PAUSE holds: a key whose time has passed reads as missing
    /// but is not removed, so the dataset stays as it is (Redis keeps it
    /// for a failover to pick up).
    pub expiry_paused: bool,
    /// Where the next active expiry cycle starts, so a cycle that runs out
    /// of budget does not starve the higher-numbered databases.
    expire_next_db: usize,
}

impl Store {
    pub fn new(databases: usize) -> Self {
        Store {
            dbs: (0..databases).map(|_| Db::default()).collect(),
            rng: Rng::seeded(),
            journal: Journal::default(),
            stats: KeyspaceStats::default(),
            expire_on_access: true,
            clock: Clock::Lru,
            expiry_paused: false,
            expire_next_db: 0,
        }
    }

    /// Database `id`, lent for lookups and changes at time `now_ms`.
    pub fn db(&mut self, id: usize, now_ms: u64) -> DbMut<'_> {
        DbMut {
            db: &mut self.dbs[id],
            log: &mut self.journal,
            stats: &mut self.stats,
            rng: &mut self.rng,
            id,
            now: now_ms,
            expiring: self.expire_on_access,
            expiry_paused: self.expiry_paused,
            clock: self.clock,
        }
    }

    /// FLUSHALL: empties every database; how many keys they held.
    pub fn flush_all(&mut self, lazy: bool) -> usize {
        let keys: usize = self.dbs.iter_mut().map(|db| db.empty(lazy)).sum();
        // Redis 7.0 counts the keys removed (older versions added one).
        let keys = keys as u64;
        self.journal.note(keys, || Event::Flushed {
            db: None,
            keys,
            changes: keys,
        });
        keys as usize
    }

    /// SWAPDB: clients keep their index, so each now sees the other
    /// database's data, as in Redis.
    pub fn swap(&mut self, a: usize, b: usize) {
        self.dbs.swap(a, b);
        self.journal.note(1, || Event::Swapped { a, b });
    }

    /// Active expiry: for each database, sample keys with a TTL and remove
    /// the expired ones, repeating while more than a quarter of a sample had
    /// expired, until `budget_us` of CPU time is spent. Redis runs the same
    /// loop from its `serverCron` at 10 Hz with a 25% CPU budget.
    pub fn active_expire_cycle(&mut self, now_ms: u64, budget_us: u64) -> usize {
        let start = std::time::Instant::now();
        let mut total = 0;
        let count = self.dbs.len();
        for step in 0..count {
            let index = (self.expire_next_db + step) % count;
            let mut db = self.db(index, now_ms);
            loop {
                let (sampled, expired) = db.expire_sample(EXPIRE_SAMPLES);
                total += expired;
                if sampled == 0 || expired * 4 <= sampled {
                    break;
                }
                if start.elapsed().as_micros() as u64 >= budget_us {
                    self.expire_next_db = index;
                    return total;
                }
            }
        }
        self.expire_next_db = (self.expire_next_db + 1) % count.max(1);
        total
    }

    /// Starts a background save's point in time (see [`Frozen`]).
    pub fn freeze(&mut self) {
        for (i, db) in self.dbs.iter_mut().enumerate() {
            db.freeze(i);
        }
    }

    /// Ends a background save's watch over every database.
    pub fn thaw(&mut self) {
        self.dbs.iter_mut().for_each(Db::thaw);
    }

    /// Room for `keys` more keys in database `db` (a file says how many
    /// it holds), so loading grows the table once.
    pub fn reserve(&mut self, db: usize, keys: usize) {
        self.dbs[db].reserve(keys);
    }

    /// Puts a key read from a file into database `db`, recording nothing
    /// (loading is not a change). A key there already is replaced with
    /// `replace`, refused (false) without.
    pub fn load_entry(
        &mut self,
        db: usize,
        key: Bytes,
        value: Value,
        expire_at: Option<u64>,
        now_ms: u64,
        replace: bool,
    ) -> bool {
        let access = self.clock.fresh(now_ms);
        self.dbs[db].load(key, value, expire_at, access, replace)
    }

    /// Memory a background save holds in values handed over to it.
    pub fn save_held_bytes(&self) -> usize {
        self.dbs
            .iter()
            .filter_map(Db::frozen)
            .map(Frozen::kept_bytes)
            .sum()
    }

    /// Memory in the databases' empty slots ([`Db::spare_bytes`]).
    pub fn spare_bytes(&self) -> usize {
        self.dbs.iter().map(Db::spare_bytes).sum()
    }

    pub fn total_keys(&self) -> usize {
        self.dbs.iter().map(Db::len).sum()
    }
}
