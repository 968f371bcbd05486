//! Keys' access clocks: what OBJECT IDLETIME and OBJECT FREQ report, and
//! what eviction ranks keys by (the `lru` field of Redis's objects).
//!
//! Every entry carries one `u32`, read one of two ways depending on
//! `maxmemory-policy`, as Redis reads its 24 bits:
//!
//! - **LRU** (every policy but the LFU ones): when the key was last
//!   accessed, in ticks of [`LRU_TICK_MS`]. Redis ticks once a second and
//!   wraps after 194 days; rizzler ticks every 10 ms, so eviction tells
//!   apart keys touched within the same second, and wraps after 497 days.
//! - **LFU**: Redis's logarithmic access counter in the low 8 bits (it
//!   grows with probability `1 / ((counter - 5) * lfu-log-factor + 1)`,
//!   so 255 takes about a million hits at the default factor 10), and in
//!   the 16 bits above it the minute it was last decremented: it loses
//!   one per `lfu-decay-time` minutes without access.
//!
//! Switching the policy at run time does not convert the clocks; Redis
//! does not either, and its error text for OBJECT says so.

use crate::util::Rng;

/// One LRU tick, in milliseconds.
pub const LRU_TICK_MS: u64 = 10;

/// Redis's `LFU_INIT_VAL`: a new key's counter, so that it is not the
/// first to go.
pub const LFU_INIT_VAL: u8 = 5;

/// How the running policy reads and advances the clocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Clock {
    #[default]
    Lru,
    Lfu {
        /// `lfu-log-factor`.
        log_factor: u32,
        /// `lfu-decay-time`, in minutes (0: never decays).
        decay_minutes: u32,
    },
}

fn lru_now(now_ms: u64) -> u32 {
    (now_ms / LRU_TICK_MS) as u32
}

/// Minutes, on Redis's 16-bit LFU clock.
fn minutes(now_ms: u64) -> u32 {
    ((now_ms / 60_000) & 0xFFFF) as u32
}

impl Clock {
    /// The clock of a key created now.
    pub fn fresh(self, now_ms: u64) -> u32 {
        match self {
            Clock::Lru => lru_now(now_ms),
            Clock::Lfu { .. } => minutes(now_ms) << 8 | u32::from(LFU_INIT_VAL),
        }
    }

    /// The clock of a key accessed now, whose clock was `old` (Redis's
    /// `updateLFU`, or a fresh LRU time).
    pub fn touched(self, old: u32, now_ms: u64, rng: &mut Rng) -> u32 {
        match self {
            Clock::Lru => lru_now(now_ms),
            Clock::Lfu { log_factor, .. } => {
                let counter = log_incr(self.frequency(old, now_ms), log_factor, rng);
                minutes(now_ms) << 8 | u32::from(counter)
            }
        }
    }

    /// LFU: the counter as decay leaves it now (Redis's
    /// `LFUDecrAndReturn`, what OBJECT FREQ reports).
    pub fn frequency(self, access: u32, now_ms: u64) -> u8 {
        let counter = (access & 0xFF) as u8;
        let Clock::Lfu { decay_minutes, .. } = self else {
            return counter;
        };
        if decay_minutes == 0 {
            return counter;
        }
        let (then, now) = (access >> 8 & 0xFFFF, minutes(now_ms));
        // The 16-bit minute clock wraps every 45 days.
        let elapsed = if now >= then {
            now - then
        } else {
            0xFFFF - then + now
        };
        let periods = elapsed / decay_minutes;
        counter.saturating_sub(periods.min(255) as u8)
    }

    /// How long ago an LRU clock was set, in milliseconds.
    pub fn idle_ms(access: u32, now_ms: u64) -> u64 {
        u64::from(lru_now(now_ms).wrapping_sub(access)) * LRU_TICK_MS
    }

    /// A clock that reads as `idle_ms` of idleness (LRU) or as counter
    /// `freq` (LFU) now: RESTORE's IDLETIME and FREQ, and tests.
    pub fn with(self, now_ms: u64, idle_ms: u64, freq: u8) -> u32 {
        match self {
            Clock::Lru => lru_now(now_ms).wrapping_sub((idle_ms / LRU_TICK_MS) as u32),
            Clock::Lfu { .. } => minutes(now_ms) << 8 | u32::from(freq),
        }
    }

    /// Eviction's rank: the higher, the sooner a key goes (Redis's pool
    /// `idle`: idle time for LRU, 255 minus the counter for LFU).
    pub fn rank(self, access: u32, now_ms: u64) -> u64 {
        match self {
            Clock::Lru => Self::idle_ms(access, now_ms),
            Clock::Lfu { .. } => 255 - u64::from(self.frequency(access, now_ms)),
        }
    }
}

/// Redis's `LFULogIncr`: the more hits a counter has, the less likely the
/// next one is to count.
fn log_incr(counter: u8, log_factor: u32, rng: &mut Rng) -> u8 {
    if counter == 255 {
        return 255;
    }
    let base = f64::from(counter.saturating_sub(LFU_INIT_VAL));
    let p = 1.0 / (base * f64::from(log_factor) + 1.0);
    let r = rng.next_u64() as f64 / u64::MAX as f64;
    if r < p {
        counter + 1
    } else {
        counter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LFU: Clock = Clock::Lfu {
        log_factor: 10,
        decay_minutes: 1,
    };

    #[test]
    fn lru_measures_idle_time_across_the_wrap() {
        let now = 1_700_000_000_000;
        let c = Clock::Lru.with(now, 42_000, 0);
        assert_eq!(Clock::idle_ms(c, now), 42_000);
        // A clock set just before the u32 tick counter wraps.
        let before_wrap = u64::from(u32::MAX) * LRU_TICK_MS;
        let c = Clock::Lru.fresh(before_wrap);
        assert_eq!(Clock::idle_ms(c, before_wrap + 5_000), 5_000);
    }

    #[test]
    fn lfu_counts_logarithmically_and_decays_per_minute() {
        let mut rng = Rng::seeded();
        let now = 1_700_000_000_000;
        let mut c = LFU.fresh(now);
        assert_eq!(LFU.frequency(c, now), LFU_INIT_VAL);
        for _ in 0..100 {
            c = LFU.touched(c, now, &mut rng);
        }
        let after_100 = LFU.frequency(c, now);
        assert!((6..30).contains(&after_100), "{after_100}");
        for _ in 0..100_000 {
            c = LFU.touched(c, now, &mut rng);
        }
        let after_100k = LFU.frequency(c, now);
        assert!(after_100k > after_100 && after_100k < 255, "{after_100k}");
        // Three idle minutes take three off.
        assert_eq!(LFU.frequency(c, now + 3 * 60_000), after_100k - 3);
        let never = Clock::Lfu {
            log_factor: 10,
            decay_minutes: 0,
        };
        assert_eq!(never.frequency(c, now + 3 * 60_000), after_100k);
        assert_eq!(LFU.rank(LFU.with(now, 0, 255), now), 0);
    }
}
