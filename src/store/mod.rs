//! The keyspace: sixteen databases of typed values with expiry.
//!
//! The store is owned by the one thread that runs the event loop and is
//! shared between connections as `Rc<RefCell<Server>>`; a borrow lasts for
//! one batch of commands and is never held across I/O. Expiry is lazy on
//! every access plus an active cycle driven by the loop's timer
//! ([`Store::active_expire_cycle`]), so no second thread touches the data.
//!
//! Keys, string values and members are [`SmallBytes`]: up to 30 bytes
//! inline, so a typical key costs one 88-byte entry and no allocation.

mod db;
mod glob;
mod small_bytes;
mod value;

pub use db::{Db, Entry};
pub use glob::glob_match;
pub use small_bytes::SmallBytes;
pub use value::{Bytes, Hash, Set, Str, Value};

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
    /// Where the next active expiry cycle starts, so a cycle that runs out
    /// of budget does not starve the higher-numbered databases.
    expire_next_db: usize,
}

impl Store {
    pub fn new(databases: usize) -> Self {
        Store {
            dbs: (0..databases).map(|_| Db::default()).collect(),
            rng: Rng::seeded(),
            expire_next_db: 0,
        }
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
            let db = &mut self.dbs[index];
            loop {
                let (sampled, expired) = db.expire_sample(EXPIRE_SAMPLES, now_ms, &mut self.rng);
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

    pub fn total_keys(&self) -> usize {
        self.dbs.iter().map(Db::len).sum()
    }
}
