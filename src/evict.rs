//! `maxmemory`: evicting keys to stay under the limit (Redis's `evict.c`).
//!
//! Before every command (in `admit`, as Redis's `processCommand` calls
//! `performEvictions`), and right after CONFIG SET lowers the limit,
//! [`perform`] compares the allocator's exact count with `maxmemory`. Over
//! it, keys are removed until the memory they held covers the excess:
//!
//! - the LRU, LFU and TTL policies keep Redis's eviction pool: each round
//!   samples `maxmemory-samples` keys from every database (all keys, or
//!   only those with a TTL for the `volatile-*` policies) into a pool of
//!   the 16 best candidates seen so far, ranked by idle time, by how low
//!   their LFU counter is, or by how soon they expire, and the best one
//!   still present goes;
//! - the random policies take a random key, visiting the databases in turn.
//!
//! An eviction is a key event like any other (`DbMut::evict`), so the
//! write path does the rest: `evicted_keys`, the `evicted` keyspace
//! notification, WATCH, and a `DEL` on the propagation stream (each its
//! own unit, as Redis propagates evictions outside any MULTI).
//!
//! Eviction spends at most `maxmemory-eviction-tenacity`'s time per call
//! (500 µs by default); with memory still over the limit it stands aside,
//! the command runs, and the loop carries on between batches
//! ([`continue_between_batches`], Redis's `evictionTimeProc`). Only when
//! nothing is left to evict (or the policy is `noeviction`) are commands
//! that may grow the dataset refused with `-OOM`.
//!
//! Some memory is not counted ([`not_counted`]): what a background save
//! holds (values handed over when commands changed them mid-save) and the
//! AOF's unwritten bytes, as Redis leaves out its AOF buffer, because
//! evicting cannot shrink them; and the keyspace's empty slots. A key's
//! slot is not freed when the key goes (slot numbers are SCAN's cursor,
//! see `db.rs`) but kept for the next key, the way an allocator keeps
//! freed memory that Redis's `used_memory` no longer counts. Counting it
//! would make every eviction look like it freed only the value's heap,
//! and the dataset would be emptied to make up for the slots.

use std::time::{Duration, Instant};

use crate::alloc::allocated;
use crate::server::State;
use crate::store::{Bytes, Store};

/// `maxmemory-policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    NoEviction,
}

impl Policy {
    /// Every policy, in Redis's `maxmemory_policy_enum` order.
    pub const ALL: [Policy; 8] = [
        Policy::VolatileLru,
        Policy::VolatileLfu,
        Policy::VolatileRandom,
        Policy::VolatileTtl,
        Policy::AllkeysLru,
        Policy::AllkeysLfu,
        Policy::AllkeysRandom,
        Policy::NoEviction,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Policy::VolatileLru => "volatile-lru",
            Policy::VolatileLfu => "volatile-lfu",
            Policy::VolatileRandom => "volatile-random",
            Policy::VolatileTtl => "volatile-ttl",
            Policy::AllkeysLru => "allkeys-lru",
            Policy::AllkeysLfu => "allkeys-lfu",
            Policy::AllkeysRandom => "allkeys-random",
            Policy::NoEviction => "noeviction",
        }
    }

    /// The policy named `name`, in any case.
    pub fn from_name(name: &str) -> Option<Policy> {
        Policy::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::VolatileLfu | Policy::AllkeysLfu)
    }

    pub fn is_lru(self) -> bool {
        matches!(self, Policy::VolatileLru | Policy::AllkeysLru)
    }

    /// Whether any key may go, or only keys with a TTL.
    fn all_keys(self) -> bool {
        matches!(
            self,
            Policy::AllkeysLru | Policy::AllkeysLfu | Policy::AllkeysRandom
        )
    }

    /// Whether candidates are ranked through the pool (not random).
    fn ranked(self) -> bool {
        !matches!(
            self,
            Policy::VolatileRandom | Policy::AllkeysRandom | Policy::NoEviction
        )
    }
}

/// Redis's `EVPOOL_SIZE`.
const POOL_SIZE: usize = 16;

/// How often the time limit is looked at, in keys (as Redis).
const CHECK_EVERY: usize = 16;

#[derive(Debug)]
struct Candidate {
    /// The higher, the better a candidate.
    rank: u64,
    db: usize,
    /// Where it was: still there if that slot still holds `key`.
    slot: u32,
    key: Bytes,
}

/// Eviction's state between calls.
#[derive(Debug, Default)]
pub struct Evictor {
    /// The best candidates seen, worst first. It outlives a call, as
    /// Redis's static pool does: a good candidate sampled once stays one.
    pool: Vec<Candidate>,
    /// Where the random policies look next.
    next_db: usize,
    /// A call ran out of time with memory still over the limit: the loop
    /// calls again between batches.
    unfinished: bool,
}

impl Evictor {
    /// Offers a sampled key to the pool (Redis's `evictionPoolPopulate`).
    fn offer(&mut self, rank: u64, db: usize, slot: u32, key: &[u8]) {
        let full = self.pool.len() == POOL_SIZE;
        if full && self.pool[0].rank >= rank {
            return;
        }
        if self.pool.iter().any(|c| c.db == db && c.slot == slot) {
            return;
        }
        let at = self.pool.partition_point(|c| c.rank < rank);
        self.pool.insert(
            at,
            Candidate {
                rank,
                db,
                slot,
                key: key.into(),
            },
        );
        if self.pool.len() > POOL_SIZE {
            self.pool.remove(0);
        }
    }
}

/// What [`perform`] achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Memory is within the limit (or there is none).
    Ok,
    /// Still over, but eviction goes on between batches.
    Running,
    /// Over the limit with nothing to evict: refuse what may grow memory.
    Fail,
}

/// Memory eviction does not count (INFO's `mem_not_counted_for_evict`):
/// what a background save holds, the AOF's unwritten bytes, and the
/// keyspace's empty slots, which are to the slot vectors what an
/// allocator's free lists are to Redis's `used_memory`.
pub fn not_counted(store: &Store, state: &State) -> u64 {
    let aof = crate::persist::aof::info_sizes(state).map_or(0, |(_, _, buffered)| buffered);
    (store.save_held_bytes() + store.spare_bytes() + aof) as u64
}

/// Memory as eviction counts it, as far as an eviction in database `db`
/// changes it: the freed slot and what the save took are not counted.
fn counted_in(store: &Store, db: usize) -> i64 {
    let db = &store.dbs[db];
    let held = db.frozen().map_or(0, crate::store::Frozen::kept_bytes);
    allocated() as i64 - (db.spare_bytes() + held) as i64
}

/// Redis's `evictionTimeLimitUs`: 50 µs per step of tenacity up to 10,
/// then 15% more per step, and no limit at 100.
fn time_limit(tenacity: u32) -> Option<Duration> {
    match tenacity {
        0..=10 => Some(Duration::from_micros(50 * u64::from(tenacity))),
        11..=99 => Some(Duration::from_secs_f64(
            500e-6 * 1.15f64.powi(tenacity as i32 - 10),
        )),
        _ => None,
    }
}

/// Whether memory, as eviction counts it, is over `maxmemory` (scripts
/// check this when they start, Redis's `pre_command_oom_state`).
pub fn over_limit(store: &Store, state: &State) -> bool {
    let limit = state.config.maxmemory;
    limit > 0 && allocated().saturating_sub(not_counted(store, state)) > limit
}

/// Redis's `performEvictions`: evicts until memory is within `maxmemory`,
/// nothing is left to evict, or the time limit is reached.
pub fn perform(store: &mut Store, state: &mut State, now_ms: u64) -> Outcome {
    let limit = state.config.maxmemory;
    // A pause keeps the dataset as it is (Redis's
    // isSafeToPerformEvictions).
    if limit == 0
        || allocated() <= limit
        || state.persistence.is_loading()
        || state.pause.mode().is_some()
    {
        state.evictor.unfinished = false;
        return Outcome::Ok;
    }
    let used = allocated().saturating_sub(not_counted(store, state));
    if used <= limit {
        state.evictor.unfinished = false;
        return Outcome::Ok;
    }
    let policy = state.config.maxmemory_policy;
    if policy == Policy::NoEviction {
        state.evictor.unfinished = false;
        return Outcome::Fail;
    }
    let to_free = (used - limit) as i64;
    let samples = state.config.maxmemory_samples;
    let deadline = time_limit(state.config.maxmemory_eviction_tenacity).map(|d| Instant::now() + d);
    let mut outcome = Outcome::Ok;
    let (mut freed, mut keys) = (0i64, 0usize);
    while freed < to_free {
        let Some((db, slot)) = pick(store, &mut state.evictor, policy, samples, now_ms) else {
            outcome = Outcome::Fail;
            break;
        };
        let before = counted_in(store, db);
        store.db(db, now_ms).evict_slot(slot);
        freed += before - counted_in(store, db);
        keys += 1;
        if keys.is_multiple_of(CHECK_EVERY) && deadline.is_some_and(|d| Instant::now() >= d) {
            outcome = Outcome::Running;
            break;
        }
    }
    state.evictor.unfinished = outcome == Outcome::Running;
    if keys > 0 {
        // Evictions are their own units, outside whatever command comes
        // next (Redis's `propagate_no_multi`).
        crate::effects::after_command(store, state, None);
    }
    outcome
}

/// The loop's share of eviction: a call that ran out of time continues
/// here, between batches. Returns whether it wants to run again at once.
pub fn continue_between_batches(store: &mut Store, state: &mut State) -> bool {
    if !state.evictor.unfinished {
        return false;
    }
    let now = state.now_ms();
    let more = perform(store, state, now) == Outcome::Running;
    state.flush_broadcast();
    more
}

/// The next key to evict: its database and slot.
fn pick(
    store: &mut Store,
    evictor: &mut Evictor,
    policy: Policy,
    samples: usize,
    now_ms: u64,
) -> Option<(usize, u32)> {
    let all_keys = policy.all_keys();
    let count = |db: &crate::store::Db| {
        if all_keys {
            db.len()
        } else {
            db.expires_len()
        }
    };
    if !policy.ranked() {
        let dbs = store.dbs.len();
        for _ in 0..dbs {
            evictor.next_db = (evictor.next_db + 1) % dbs;
            let db = &store.dbs[evictor.next_db];
            if count(db) > 0 {
                let (slot, _) = db.random_sample(!all_keys, &mut store.rng)?;
                return Some((evictor.next_db, slot));
            }
        }
        return None;
    }
    let clock = store.clock;
    loop {
        let mut total = 0;
        for (id, db) in store.dbs.iter().enumerate() {
            let n = count(db);
            if n == 0 {
                continue;
            }
            total += n;
            db.sample(!all_keys, samples, &mut store.rng, |slot, e| {
                // The nearest expiry is the best volatile-ttl candidate.
                let rank = if policy == Policy::VolatileTtl {
                    u64::MAX - e.expire_at().unwrap_or(u64::MAX)
                } else {
                    clock.rank(e.access, now_ms)
                };
                evictor.offer(rank, id, slot, &e.key);
            });
        }
        if total == 0 {
            return None;
        }
        // Best first; a candidate gone since it was sampled is a ghost.
        while let Some(c) = evictor.pool.pop() {
            if store.dbs[c.db].holds_at(c.slot, &c.key, !all_keys) {
                return Some((c.db, c.slot));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_keeps_the_best_sixteen_without_duplicates() {
        let mut e = Evictor::default();
        for i in 0..40u64 {
            e.offer(
                i % 20,
                0,
                (i % 20) as u32,
                format!("k{}", i % 20).as_bytes(),
            );
        }
        let ranks: Vec<u64> = e.pool.iter().map(|c| c.rank).collect();
        assert_eq!(ranks, (4..20).collect::<Vec<_>>());
        e.offer(1, 0, 99, b"low");
        assert_eq!(e.pool[0].rank, 4);
    }

    #[test]
    fn tenacity_follows_redis() {
        assert_eq!(time_limit(10), Some(Duration::from_micros(500)));
        assert_eq!(time_limit(0), Some(Duration::ZERO));
        let t20 = time_limit(20).unwrap_or_default().as_micros();
        assert_eq!(t20, 2022);
        assert_eq!(time_limit(100), None);
    }

    #[test]
    fn policies_parse_in_any_case() {
        assert_eq!(Policy::from_name("AllKeys-LFU"), Some(Policy::AllkeysLfu));
        assert_eq!(Policy::from_name("lfu"), None);
        for p in Policy::ALL {
            assert_eq!(Policy::from_name(p.name()), Some(p));
        }
    }
}
