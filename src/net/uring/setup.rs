//! Building the ring, and finding out whether this kernel (and this
//! container's seccomp profile) lets us: setup flags with fallback, a probe
//! of every opcode the loop uses, the provided-buffer ring, and a live test
//! of multishot recv, which no probe can see.

use std::fmt;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use std::cell::RefCell;

use io_uring::{cqueue, opcode, types, IoUring, Probe};

use super::bufring::BufRing;
use super::{BUF_COUNT, BUF_GROUP, BUF_SIZE, CQ_ENTRIES, SQ_ENTRIES};

/// Why io_uring can't serve here, and what the operator can do about it.
#[derive(Debug, Clone)]
pub struct Unavailable {
    /// What failed and why, e.g. EPERM from a seccomp profile.
    pub reason: String,
    /// What to do to get io_uring.
    pub hint: String,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; to use io_uring: {}", self.reason, self.hint)
    }
}

impl Unavailable {
    fn new(reason: impl Into<String>, hint: impl Into<String>) -> Unavailable {
        Unavailable {
            reason: reason.into(),
            hint: hint.into(),
        }
    }
}

/// A ring ready to serve: built, probed, with its buffer ring registered.
pub struct Ring {
    /// Dropped before `bufs` (field order), so the kernel lets go of the
    /// buffer memory before it is unmapped.
    /// In a cell: the loop and, while a script runs long, the handler
    /// serving the other connections under it take turns with it.
    pub(super) ring: RefCell<IoUring>,
    pub(super) bufs: BufRing,
    /// The setup flags that took, for the start-up log.
    pub flags: &'static str,
}

impl fmt::Debug for Ring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring").field("flags", &self.flags).finish()
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        let _ = self
            .ring
            .get_mut()
            .submitter()
            .unregister_buf_ring(self.bufs.bgid());
    }
}

impl Ring {
    /// One line for the start-up log.
    pub fn describe(&self) -> String {
        format!(
            "{}, {} x {} KiB provided buffers",
            self.flags,
            self.bufs.count(),
            self.bufs.size() / 1024
        )
    }
}

/// Set `RIZZLER_FORCE_URING_FAIL=1` to make setup fail as it does under a
/// seccomp profile that blocks io_uring, to test the fallback.
pub const FORCE_FAIL_ENV: &str = "RIZZLER_FORCE_URING_FAIL";

/// Builds and checks a ring, or says why it can't be had.
pub fn setup() -> Result<Ring, Unavailable> {
    if std::env::var_os(FORCE_FAIL_ENV).is_some_and(|v| v == "1") {
        let mut u = setup_failed(&io::Error::from_raw_os_error(libc::EPERM));
        u.reason = format!("{} (simulated: {FORCE_FAIL_ENV}=1)", u.reason);
        return Err(u);
    }
    let (ring, flags) = build()?;
    probe(&ring)?;
    let bufs = BufRing::new(buffer_count(), BUF_SIZE, BUF_GROUP).map_err(|e| {
        Unavailable::new(
            format!("can't map the receive buffers: {e}"),
            "check memory limits",
        )
    })?;
    bufs.register(&ring).map_err(|e| {
        Unavailable::new(
            format!("registering the provided-buffer ring failed: {e}"),
            "use Linux 6.0 or later",
        )
    })?;
    let mut ring = Ring {
        ring: RefCell::new(ring),
        bufs,
        flags,
    };
    multishot_self_test(&mut ring)?;
    Ok(ring)
}

/// Set `RIZZLER_URING_BUFFERS` to a power of two up to 32768 to change how
/// many receive buffers the ring gets; tests use a tiny pool to make the
/// ring run dry.
pub const BUFFERS_ENV: &str = "RIZZLER_URING_BUFFERS";

fn buffer_count() -> u16 {
    std::env::var(BUFFERS_ENV)
        .ok()
        .and_then(|v| v.parse::<u16>().ok())
        .filter(|n| n.is_power_of_two() && *n <= 32768)
        .unwrap_or(BUF_COUNT)
}

/// Tries the best setup flags first: SINGLE_ISSUER + DEFER_TASKRUN (6.1)
/// run completions only when we enter the kernel to wait, so nothing
/// interrupts a batch; COOP_TASKRUN (5.19) at least avoids IPIs.
fn build() -> Result<(IoUring, &'static str), Unavailable> {
    type Configure = fn(&mut io_uring::Builder);
    let attempts: [(&'static str, Configure); 3] = [
        ("SINGLE_ISSUER+DEFER_TASKRUN+COOP_TASKRUN", |b| {
            b.setup_single_issuer()
                .setup_defer_taskrun()
                .setup_coop_taskrun()
                .setup_submit_all();
        }),
        ("COOP_TASKRUN", |b| {
            b.setup_coop_taskrun().setup_submit_all();
        }),
        ("no setup flags", |_| {}),
    ];
    let mut last = None;
    for (name, configure) in attempts {
        let mut builder = IoUring::builder();
        builder.setup_cqsize(CQ_ENTRIES);
        configure(&mut builder);
        match builder.build(SQ_ENTRIES) {
            Ok(ring) => return Ok((ring, name)),
            // EINVAL: this kernel doesn't know a flag; try fewer.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last = Some(e),
            Err(e) => return Err(setup_failed(&e)),
        }
    }
    Err(setup_failed(&last.unwrap_or_else(|| {
        io::Error::from_raw_os_error(libc::EINVAL)
    })))
}

/// Explains an `io_uring_setup` failure.
fn setup_failed(e: &io::Error) -> Unavailable {
    match e.raw_os_error() {
        Some(libc::EPERM) => {
            let sysctl = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            match sysctl.as_str() {
                "2" => Unavailable::new(
                    "io_uring_setup failed with EPERM: io_uring is disabled by sysctl kernel.io_uring_disabled=2",
                    "set kernel.io_uring_disabled=0 on the host",
                ),
                "1" => Unavailable::new(
                    "io_uring_setup failed with EPERM: sysctl kernel.io_uring_disabled=1 allows io_uring only to the group in kernel.io_uring_group",
                    "run as a member of that group, or set kernel.io_uring_disabled=0",
                ),
                _ => Unavailable::new(
                    "io_uring_setup failed with EPERM (operation not permitted): a seccomp profile blocks io_uring, as Docker Engine 25+ does by default",
                    "run the container with --security-opt seccomp=scripts/seccomp-io_uring.json (Docker's default profile plus io_uring_setup, io_uring_enter and io_uring_register)",
                ),
            }
        }
        Some(libc::ENOSYS) => Unavailable::new(
            "io_uring_setup failed with ENOSYS: this kernel has no io_uring (built without CONFIG_IO_URING, or older than 5.1)",
            "use Linux 6.0 or later with io_uring enabled",
        ),
        Some(libc::ENOMEM) => Unavailable::new(
            "io_uring_setup failed with ENOMEM: the locked-memory limit is too low for the ring",
            "raise RLIMIT_MEMLOCK (ulimit -l), or use Linux 5.12 or later",
        ),
        Some(libc::EINVAL) => Unavailable::new(
            "io_uring_setup failed with EINVAL: this kernel's io_uring is too old for the ring sizes or flags used",
            "use Linux 6.0 or later",
        ),
        _ => Unavailable::new(
            format!("io_uring_setup failed: {e}"),
            "use Linux 6.0 or later with io_uring allowed",
        ),
    }
}

/// Every opcode the loop submits.
const OPCODES: &[(&str, u8)] = &[
    ("ACCEPT", opcode::AcceptMulti::CODE),
    ("RECV", opcode::RecvMulti::CODE),
    ("SEND", opcode::Send::CODE),
    ("TIMEOUT", opcode::Timeout::CODE),
    ("TIMEOUT_REMOVE", opcode::TimeoutRemove::CODE),
    ("ASYNC_CANCEL", opcode::AsyncCancel::CODE),
    ("CLOSE", opcode::Close::CODE),
    ("POLL_ADD", opcode::PollAdd::CODE),
];

fn probe(ring: &IoUring) -> Result<(), Unavailable> {
    let mut probe = Probe::new();
    ring.submitter().register_probe(&mut probe).map_err(|e| {
        Unavailable::new(
            format!("the kernel can't list its io_uring opcodes (IORING_REGISTER_PROBE: {e})"),
            "use Linux 6.0 or later",
        )
    })?;
    let missing: Vec<&str> = OPCODES
        .iter()
        .filter(|(_, code)| !probe.is_supported(*code))
        .map(|(name, _)| *name)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Unavailable::new(
            format!(
                "this kernel's io_uring lacks opcodes {}",
                missing.join(", ")
            ),
            "use Linux 6.0 or later",
        ))
    }
}

/// Multishot recv (6.0) is a flag on RECV, invisible to the probe: arm one
/// on a socket pair, feed it a byte, and check it stays armed.
fn multishot_self_test(r: &mut Ring) -> Result<(), Unavailable> {
    let fail = |what: String| Unavailable::new(what, "use Linux 6.0 or later");
    let (a, mut b) =
        UnixStream::pair().map_err(|e| fail(format!("self-test socket pair failed: {e}")))?;
    b.write_all(b"x")
        .map_err(|e| fail(format!("self-test write failed: {e}")))?;
    let recv = opcode::RecvMulti::new(types::Fd(a.as_raw_fd()), r.bufs.bgid())
        .build()
        .user_data(1);
    push(r.ring.get_mut(), &recv)?;
    let first = wait_one(r.ring.get_mut())?;
    if let Some(bid) = cqueue::buffer_select(first.flags()) {
        // SAFETY: the completion handed `bid` to us; it goes back once.
        unsafe { r.bufs.recycle(bid) };
        r.bufs.publish();
    }
    let armed = cqueue::more(first.flags());
    if armed {
        let cancel = opcode::AsyncCancel::new(1).build().user_data(2);
        push(r.ring.get_mut(), &cancel)?;
        // The cancel's own completion and the recv's final one.
        let mut seen = 0;
        while seen < 2 {
            let cqe = wait_one(r.ring.get_mut())?;
            if let Some(bid) = cqueue::buffer_select(cqe.flags()) {
                // SAFETY: the completion handed `bid` to us; it goes back
                // once.
                unsafe { r.bufs.recycle(bid) };
                r.bufs.publish();
            }
            if !cqueue::more(cqe.flags()) {
                seen += 1;
            }
        }
    }
    match first.result() {
        1 if armed => Ok(()),
        1 => Err(fail("multishot recv ended after one completion".into())),
        n if n < 0 => Err(fail(format!(
            "multishot recv with provided buffers failed: {}",
            io::Error::from_raw_os_error(-n)
        ))),
        n => Err(fail(format!(
            "multishot recv self-test got {n} bytes, not 1"
        ))),
    }
}

fn push(ring: &mut IoUring, entry: &io_uring::squeue::Entry) -> Result<(), Unavailable> {
    // SAFETY: the entry names only the socket pair's fd, which outlives the
    // operation (the test waits for its final completion), and no memory.
    let pushed = unsafe { ring.submission().push(entry) };
    pushed.map_err(|_| Unavailable::new("submission queue full during self-test", "report a bug"))
}

fn wait_one(ring: &mut IoUring) -> Result<cqueue::Entry, Unavailable> {
    loop {
        if let Some(cqe) = ring.completion().next() {
            return Ok(cqe);
        }
        match ring.submit_and_wait(1) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
            Err(e) => {
                return Err(Unavailable::new(
                    format!("io_uring_enter failed during self-test: {e}"),
                    "use Linux 6.0 or later with io_uring allowed",
                ))
            }
        }
    }
}
