//! Memory accounting: the process's allocator, counted.
//!
//! `used_memory` is what Redis's `zmalloc` counts: every byte the server
//! has allocated and not yet freed, dataset and buffers alike. rizzler gets
//! the same figure by wrapping the system allocator and keeping a running
//! total of the sizes it was asked for. It is exact (no sampling, no
//! staleness), it falls the moment a key is freed, and it covers memory
//! freed on other threads (a lazy FLUSHALL) as well.
//!
//! The count is of requested sizes, not of the allocator's size classes,
//! so it is a little under what `malloc_usable_size` would say; the
//! difference shows up in `mem_fragmentation_ratio` with the rest of the
//! allocator's overhead. Per-key figures (MEMORY USAGE) are estimates
//! computed from the value's shape, as Redis's are.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator with a byte count.
pub struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees are the ones callers get; the count
// is bookkeeping on the side and never affects what is returned.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; see the impl.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; see the impl.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; see the impl.
        unsafe { System.dealloc(ptr, layout) };
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is; see the impl.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                ALLOCATED.fetch_add(new_size - layout.size(), Ordering::Relaxed);
            } else {
                ALLOCATED.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

/// Bytes allocated and not yet freed, by every thread of the process.
pub fn allocated() -> u64 {
    ALLOCATED.load(Ordering::Relaxed) as u64
}
