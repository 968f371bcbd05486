//! The io_uring backend: one thread, one ring, a completion loop.
//!
//! Each iteration submits everything queued and waits in a single
//! `io_uring_enter`, then drains every completion, executes what arrived,
//! queues one send per connection with all the replies the batch produced,
//! and goes round again. Nothing else runs on the thread and nothing else
//! touches the store; the cron and signals are ring operations too.
//!
//! - Accepts are multishot, one per listener.
//! - Reads are multishot recvs with buffers from a ring registered with the
//!   kernel (`bufring`). A completion's bytes are parsed where the kernel
//!   put them; only an incomplete tail is copied into the connection's own
//!   buffer. Every buffer goes back to the ring before the next submit.
//! - Connections live in a slab; each operation's `user_data` carries the
//!   slot, the operation and the slot's generation (`token`). A slot is
//!   freed only when the kernel has answered every operation naming it.
//! - A client whose unsent replies pass [`OUT_LIMIT`] is not read from
//!   (its recv is cancelled) until they drain below half of it.
//! - SHUTDOWN, SIGTERM and SIGINT cancel every operation, wait for the
//!   kernel to answer each one, close every socket and return.
//!
//! [`setup`] probes all of this before the server commits to it; `--io
//! auto` falls back to the epoll backend, with one warning, when it fails.

mod bufring;
mod event_loop;
mod setup;
mod token;

pub use event_loop::run;
pub use setup::{setup, Ring, Unavailable, BUFFERS_ENV, FORCE_FAIL_ENV};

/// Submission queue size. A batch queues about one operation per active
/// connection; a full queue is submitted early rather than dropped.
const SQ_ENTRIES: u32 = 4096;
/// Completion queue size. The kernel buffers overflow (FEAT_NODROP), so
/// this is a performance knob, not a limit.
const CQ_ENTRIES: u32 = 16384;
/// Provided receive buffers: how many, and how large. Every buffer returns
/// to the ring at the end of its batch, so this only has to cover the
/// recvs of one batch; running dry costs a re-arm (ENOBUFS), not data.
const BUF_COUNT: u16 = 1024;
const BUF_SIZE: u32 = 16 * 1024;
const BUF_GROUP: u16 = 0;
pub use super::OUT_LIMIT;

/// Whether io_uring can serve on this machine (tests use it to decide
/// whether to run the io_uring backend, and say so when they don't).
///
/// The trial ring is built and dropped on a thread of its own. Closing a
/// ring makes the kernel queue exit work on the thread that used it, with
/// TWA_SIGNAL: that thread's next blocking socket call that has a timeout
/// (SO_RCVTIMEO) fails with EINTR. The caller's thread stays clean.
pub fn probe() -> Result<(), Unavailable> {
    let failed = |reason: String| Unavailable {
        reason,
        hint: "report a bug".into(),
    };
    std::thread::Builder::new()
        .name("uring-probe".into())
        .spawn(|| setup().map(drop))
        .map_err(|e| failed(format!("can't start the io_uring probe's thread: {e}")))?
        .join()
        .unwrap_or_else(|_| Err(failed("the io_uring probe panicked".into())))
}
