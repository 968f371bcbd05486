//! When a small collection outgrows its compact encoding: Redis's
//! `hash-max-listpack-*`, `set-max-intset-entries` and
//! `zset-max-listpack-*` (CONFIG parameters, with their `*-ziplist-*`
//! aliases).
//!
//! The limits are the running server's, kept per thread: the thread that
//! owns a store is the one that changes it, and tests that run servers on
//! several threads at once must not see each other's settings.

use std::cell::Cell;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub hash_entries: usize,
    pub hash_value: usize,
    pub set_intset_entries: usize,
    pub zset_entries: usize,
    pub zset_value: usize,
    /// `stream-node-max-entries` and `stream-node-max-bytes`: when a
    /// stream's tail node is closed (0 for no limit).
    pub stream_node_entries: u64,
    pub stream_node_bytes: u64,
}

impl Default for Limits {
    /// Redis 7.0's defaults.
    fn default() -> Self {
        Limits {
            hash_entries: 512,
            hash_value: 64,
            set_intset_entries: 512,
            zset_entries: 128,
            zset_value: 64,
            stream_node_entries: 100,
            stream_node_bytes: 4096,
        }
    }
}

thread_local! {
    static LIMITS: Cell<Limits> = Cell::new(Limits::default());
}

/// The limits in force on this thread.
pub fn limits() -> Limits {
    LIMITS.with(Cell::get)
}

/// Sets this thread's limits (at start-up and after CONFIG SET). A
/// collection already converted stays as it is, as in Redis.
pub fn set_limits(limits: Limits) {
    LIMITS.with(|l| l.set(limits));
}
