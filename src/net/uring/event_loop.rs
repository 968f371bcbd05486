//! The completion loop and the per-connection state it drives.
//!
//! Nothing in here submits directly: handlers append entries to
//! `Core::sqes`, and the loop moves them into the submission queue right
//! before it enters the kernel. That keeps the handlers free of the ring
//! (so a completion's buffer, borrowed from the ring's buffer pool, can be
//! parsed while handlers run) and makes "one enter per iteration" a
//! property of one function.
//!
//! The one exception is a script that runs past busy-reply-threshold: its
//! interrupt hook calls `serve_while_busy`, which enters the ring itself
//! (without waiting) to handle the other connections' completions and send
//! their replies. For that, the loop takes each batch of completions off
//! the ring into `Core::pending` before handling it, and holds no borrow of
//! `Core` or of the ring while a command runs.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

use hashbrown::HashMap;
use io_uring::{cqueue, opcode, squeue, types, IoUring};
use slab::Slab;

use super::bufring::BufRing;
use super::setup::Ring;
use super::token::{Op, Token, GEN_MASK};
use super::OUT_LIMIT;
use crate::error::error_line;
use crate::net::session::{Session, Status};
use crate::resp::{Chunk, Outbox, KEEP_CAPACITY};
use crate::server::{Request, Server, State};
use crate::store::Store;

/// A single send covers at most this much; partial sends continue anyway.
const MAX_SEND: usize = 1 << 30;
/// Slices per `sendmsg` (the kernel's UIO_MAXIOV); the rest follows as a
/// partial send would.
const MAX_IOV: usize = 1024;
/// How long shutdown waits for the kernel to answer every cancellation.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// Back-off before re-arming an accept that failed (EMFILE and friends).
const ACCEPT_RETRY: Duration = Duration::from_millis(10);

/// A completion as the loop keeps it: user data, result, flags.
type Cqe = (u64, i32, u32);

/// The server as the handlers see it: its two halves, borrowed from the
/// `Server` at the top of the loop, or from the script that runs long
/// while the other connections are served under it.
struct Srv<'a> {
    store: &'a mut Store,
    state: &'a mut State,
}

/// Where a connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Reading and executing.
    Open,
    /// Not reading; close once everything queued has been sent (QUIT, a
    /// protocol error, CLIENT KILL, a rejected connection).
    Draining,
    /// Closed as far as the server is concerned; waiting for the kernel to
    /// answer the operations still in flight before the slot is freed.
    Closing,
}

struct Conn {
    /// Owned until the slot is released, then closed through the ring.
    stream: Option<TcpStream>,
    fd: RawFd,
    gen: u32,
    /// The client's key in `State::clients`; `None` for a connection
    /// rejected at maxclients.
    client: Option<usize>,
    session: Option<Session>,
    /// Unconsumed input: an incomplete command, or commands not executed
    /// yet because the client is over its output limit.
    input: Vec<u8>,
    /// Length the pending command needs (from the parser), 0 if unknown.
    need: usize,
    /// Output not yet handed to the kernel.
    out: Outbox,
    /// Output the in-flight send is reading, with the slice list and
    /// message header a `sendmsg` points at. None of the three is touched
    /// while `send_armed`, so the kernel's pointers stay valid.
    sending: Outbox,
    iov: Vec<libc::iovec>,
    msg: Box<libc::msghdr>,
    /// Operations naming this slot that the kernel has not finished.
    in_flight: u32,
    recv_armed: bool,
    recv_cancelled: bool,
    send_armed: bool,
    /// Reading stopped: too many unsent replies.
    paused: bool,
    /// Listed in `Core::to_send` for this batch's flush.
    queued_send: bool,
    phase: Phase,
}

impl Conn {
    fn pending_out(&self) -> usize {
        self.out.len() + self.sending.len()
    }
}

struct Listener {
    socket: TcpListener,
    accept_armed: bool,
    retry_armed: bool,
}

/// Everything the completion handlers touch: connections, the queue of
/// operations to submit, and the lists the end of a batch works through.
struct Core {
    conns: Slab<Conn>,
    /// `State::clients` key -> connection slot, for CLIENT KILL and
    /// replies that one client produces for another.
    by_client: HashMap<usize, usize>,
    listeners: Vec<Listener>,
    signals: File,
    sqes: Vec<squeue::Entry>,
    /// Connections with replies to send at the end of this batch.
    to_send: Vec<usize>,
    /// Connections whose client was answered after blocking: their held-
    /// back input runs once the current completion is done, not nested
    /// inside whatever command answered them.
    to_resume: Vec<usize>,
    /// Connections whose recv must be (re-)armed at the end of this batch,
    /// after the buffers are back on the ring.
    rearm: Vec<usize>,
    /// Connections that may be ready to release their slot.
    release: Vec<usize>,
    /// Operations submitted whose final completion hasn't arrived.
    outstanding: usize,
    /// The connection whose command is executing (its session is out of
    /// its slot meanwhile).
    executing: Option<usize>,
    /// Completions taken off the ring and not handled yet, oldest first.
    pending: VecDeque<Cqe>,
    /// Completions that arrived while a script ran long and wait for it to
    /// end: the executing connection's own, timers and signals.
    deferred: VecDeque<Cqe>,
    next_gen: u32,
    bgid: u16,
    /// Kept alive until submission: the kernel reads timespecs at submit.
    tick_ts: Box<types::Timespec>,
    retry_ts: Box<types::Timespec>,
    tick_armed: bool,
    signal_armed: bool,
    stopping: bool,
    counts: Counts,
}

/// What the loop did, logged when it stops: evidence for "one enter per
/// iteration" and for how often the buffer ring ran dry.
#[derive(Debug, Default)]
struct Counts {
    iterations: u64,
    completions: u64,
    /// Extra `io_uring_enter` calls because the submission queue filled.
    early_submits: u64,
    /// Multishot recvs ended by an empty buffer ring (ENOBUFS).
    buffers_ran_out: u64,
}

/// Serves until SHUTDOWN or a signal, then closes every connection and
/// returns once the kernel holds no operation of ours.
pub fn run(ring: Ring, server: Rc<RefCell<Server>>, listeners: Vec<TcpListener>) -> io::Result<()> {
    let signals = block_signals()?;
    let ring = Rc::new(ring);
    let core = Rc::new(RefCell::new(Core {
        conns: Slab::with_capacity(1024),
        by_client: HashMap::new(),
        listeners: listeners
            .into_iter()
            .map(|socket| Listener {
                socket,
                accept_armed: false,
                retry_armed: false,
            })
            .collect(),
        signals,
        sqes: Vec::with_capacity(1024),
        to_send: Vec::new(),
        to_resume: Vec::new(),
        rearm: Vec::new(),
        release: Vec::new(),
        outstanding: 0,
        executing: None,
        pending: VecDeque::with_capacity(1024),
        deferred: VecDeque::new(),
        next_gen: 0,
        bgid: ring.bufs.bgid(),
        tick_ts: Box::new(types::Timespec::new()),
        retry_ts: Box::new(types::Timespec::from(ACCEPT_RETRY)),
        tick_armed: false,
        signal_armed: false,
        stopping: false,
        counts: Counts::default(),
    }));
    {
        let mut c = core.borrow_mut();
        for index in 0..c.listeners.len() {
            c.arm_accept(index);
        }
        c.arm_tick(server.borrow().state.hz());
        c.arm_signal();
    }
    let (under, ring_under) = (core.clone(), ring.clone());
    server.borrow_mut().state.events_while_busy = Some(Rc::new(move |store, state| {
        serve_while_busy(&under, &ring_under, &mut Srv { store, state });
    }));

    let result = serve(&core, &ring, &server);
    server.borrow_mut().state.events_while_busy = None;
    let c = core.borrow();
    tracing::info!(
        "io_uring loop stopped: every connection closed, {} operations in flight; {} iterations, {} completions, {} early submits, buffer ring ran dry {} times",
        c.outstanding,
        c.counts.iterations,
        c.counts.completions,
        c.counts.early_submits,
        c.counts.buffers_ran_out
    );
    if c.outstanding > 0 {
        // The kernel may still read send buffers or write receive buffers
        // that these own; the process is about to exit, so leak them rather
        // than free memory an operation might still touch.
        drop(c);
        std::mem::forget(core);
        std::mem::forget(ring);
    }
    result
}

/// The loop proper: returns when shutdown has finished (or the ring fails).
fn serve(core: &RefCell<Core>, ring: &Ring, server: &RefCell<Server>) -> io::Result<()> {
    let mut deadline = None;
    // How soon persistence wants the loop back (a background save's next
    // slice), from the last iteration.
    let mut background: Option<Duration> = None;
    loop {
        ring.bufs.publish();
        let (stopping, outstanding) = {
            let mut c = core.borrow_mut();
            c.submit_queued(&mut ring.ring.borrow_mut())?;
            (c.stopping, c.outstanding)
        };
        if stopping && outstanding == 0 {
            return Ok(());
        }
        let mut uring = ring.ring.borrow_mut();
        let waited = if stopping {
            let until = *deadline.get_or_insert_with(|| Instant::now() + STOP_GRACE);
            if Instant::now() >= until {
                tracing::warn!(
                    "shutdown: {outstanding} io_uring operations still unanswered after {STOP_GRACE:?}; exiting anyway"
                );
                return Ok(());
            }
            let ts = types::Timespec::from(Duration::from_millis(100));
            let args = types::SubmitArgs::new().timespec(&ts);
            uring.submitter().submit_with_args(1, &args)
        } else {
            // A blocked client times out, or a pause ends, at its
            // deadline: wake for it.
            let blocked = crate::pause::next_deadline(&server.borrow().state)
                .map(|at| Duration::from_millis(at.saturating_sub(crate::util::now_ms())));
            match blocked.into_iter().chain(background).min() {
                Some(wait) => {
                    let ts = types::Timespec::from(wait);
                    let args = types::SubmitArgs::new().timespec(&ts);
                    uring.submitter().submit_with_args(1, &args)
                }
                None => uring.submit_and_wait(1),
            }
        };
        if let Err(e) = waited {
            match e.raw_os_error() {
                // Interrupted, timed out, or completions to reap first.
                Some(libc::EINTR | libc::ETIME | libc::EBUSY | libc::EAGAIN) => {}
                _ => return Err(e),
            }
        }
        // Taken off the ring first: a script that runs long goes on
        // from where the loop is, and reaps the ring itself.
        {
            let mut c = core.borrow_mut();
            c.counts.iterations += 1;
            c.pending.extend(
                uring
                    .completion()
                    .map(|cqe| (cqe.user_data(), cqe.result(), cqe.flags())),
            );
        }
        drop(uring);
        let mut guard = server.borrow_mut();
        let Server { store, state } = &mut *guard;
        let srv = &mut Srv { store, state };
        loop {
            // What waited for a script that ran long comes first: it
            // arrived before what is still pending.
            let next = {
                let mut c = core.borrow_mut();
                c.deferred.pop_front().or_else(|| c.pending.pop_front())
            };
            let Some((ud, res, flags)) = next else {
                break;
            };
            complete(core, srv, &ring.bufs, ud, res, flags);
            resume_unblocked(core, srv);
        }
        let now = srv.state.now_ms();
        if crate::pause::next_deadline(srv.state).is_some_and(|at| at <= now) {
            crate::pause::timeouts(srv.store, srv.state, now);
            core.borrow_mut().serve_requests(srv);
            resume_unblocked(core, srv);
        }
        background = crate::server::background(&mut guard);
        // The batch's writes reach the AOF before their replies leave.
        crate::persist::aof::flush(&mut guard.state);
        core.borrow_mut().end_batch();
    }
}

/// Serves the other connections while a script runs past
/// busy-reply-threshold (called from its interrupt hook, Redis's
/// `processEventsWhileBlocked`): takes what has completed without waiting,
/// handles it as the loop does (their commands meet `-BUSY`), and submits
/// the replies. The executing connection's completions, the timers and
/// the signals wait for the script to end.
fn serve_while_busy(core: &RefCell<Core>, ring: &Ring, srv: &mut Srv) {
    let Ok(mut uring) = ring.ring.try_borrow_mut() else {
        return;
    };
    // Completions are posted when the loop enters the kernel asking for
    // them (DEFER_TASKRUN): enter, waiting for nothing.
    enter_without_waiting(&mut uring);
    core.borrow_mut().pending.extend(
        uring
            .completion()
            .map(|cqe| (cqe.user_data(), cqe.result(), cqe.flags())),
    );
    drop(uring);
    loop {
        let (next, executing) = {
            let mut c = core.borrow_mut();
            (c.pending.pop_front(), c.executing)
        };
        let Some((ud, res, flags)) = next else {
            break;
        };
        let now = match Token::decode(ud) {
            Some(tok) => match tok.op {
                Op::Recv | Op::Send | Op::Cancel => executing != Some(tok.key as usize),
                Op::Accept | Op::Close | Op::CancelGlobal => true,
                Op::AcceptRetry | Op::Tick | Op::Signal => false,
            },
            None => true,
        };
        if now {
            complete(core, srv, &ring.bufs, ud, res, flags);
            resume_unblocked(core, srv);
        } else {
            core.borrow_mut().deferred.push_back((ud, res, flags));
        }
    }
    let mut c = core.borrow_mut();
    c.serve_requests(srv);
    c.end_batch();
    ring.bufs.publish();
    let mut uring = ring.ring.borrow_mut();
    match c.submit_queued(&mut uring) {
        Ok(()) => enter_without_waiting(&mut uring),
        Err(e) => tracing::debug!("submit under a long script failed: {e}"),
    }
}

/// Submits what is queued and has the kernel post what has completed,
/// without waiting for anything.
fn enter_without_waiting(uring: &mut IoUring) {
    let now = types::Timespec::new();
    let args = types::SubmitArgs::new().timespec(&now);
    if let Err(e) = uring.submitter().submit_with_args(1, &args) {
        if !matches!(
            e.raw_os_error(),
            Some(libc::ETIME | libc::EINTR | libc::EBUSY | libc::EAGAIN)
        ) {
            tracing::debug!("io_uring enter under a long script failed: {e}");
        }
    }
}

/// Handles one completion.
fn complete(core: &RefCell<Core>, srv: &mut Srv, bufs: &BufRing, ud: u64, res: i32, flags: u32) {
    let more = cqueue::more(flags);
    {
        let mut c = core.borrow_mut();
        c.counts.completions += 1;
        if !more {
            c.outstanding = c.outstanding.saturating_sub(1);
        }
    }
    let bid = cqueue::buffer_select(flags);
    match Token::decode(ud) {
        Some(tok) if tok.op == Op::Recv => {
            let data = match bid {
                // SAFETY: this completion hands us buffer `b`; it is
                // recycled only below, after the slice is dead.
                Some(b) if res > 0 => unsafe { bufs.data(b, res as usize) },
                _ => &[],
            };
            on_recv(core, srv, tok, res, more, data);
        }
        Some(tok) => core.borrow_mut().complete_other(srv, tok, res, more),
        None => tracing::warn!("completion with unknown user_data {ud:#x}"),
    }
    // Whatever the completion was, a buffer it carries goes back; the
    // data slice above is dead by now (the borrow checker agrees).
    if let Some(b) = bid {
        // SAFETY: this completion handed `b` to us, once; it goes back
        // once.
        unsafe { bufs.recycle(b) };
    }
}

fn on_recv(core: &RefCell<Core>, srv: &mut Srv, tok: Token, res: i32, more: bool, data: &[u8]) {
    let key = tok.key as usize;
    let input = {
        let mut c = core.borrow_mut();
        let Some(conn) = c.conn_for(tok) else {
            tracing::debug!("stale recv completion for slot {key}");
            return;
        };
        if !more {
            conn.in_flight -= 1;
            conn.recv_armed = false;
            conn.recv_cancelled = false;
        }
        let phase = conn.phase;
        if res > 0 {
            phase == Phase::Open
        } else {
            if res == 0 {
                // End of input. Commands that arrived with it have run (a
                // client may write, half-close, then read): send their
                // replies first, as Redis does. If the peer is gone for
                // good, the send fails and closes.
                c.drain_and_close(srv, key);
            } else if res == -libc::ENOBUFS {
                c.counts.buffers_ran_out += 1;
            } else if res != -libc::ECANCELED {
                tracing::debug!("recv failed: {}", io::Error::from_raw_os_error(-res));
                c.close_now(srv, key);
            }
            false
        }
    };
    if input {
        feed(core, srv, key, data);
    }
    if !more {
        let mut c = core.borrow_mut();
        c.rearm.push(key);
        c.release.push(key);
    }
}

/// Executes what `data` (a kernel buffer) completes; keeps the rest.
fn feed(core: &RefCell<Core>, srv: &mut Srv, key: usize, data: &[u8]) {
    {
        let mut c = core.borrow_mut();
        let conn = &mut c.conns[key];
        if conn.paused || !conn.input.is_empty() {
            reserve_for(conn, data.len());
            conn.input.extend_from_slice(data);
            let ready = !conn.paused && conn.input.len() >= conn.need;
            drop(c);
            if ready {
                run_input(core, srv, key);
            }
            return;
        }
    }
    // The zero-copy path: parse straight from the kernel's buffer.
    let used = execute(core, srv, key, data);
    let mut c = core.borrow_mut();
    let conn = &mut c.conns[key];
    if conn.phase == Phase::Open && used < data.len() {
        reserve_for(conn, data.len() - used);
        conn.input.extend_from_slice(&data[used..]);
    }
}

/// Executes from the connection's own buffer.
fn run_input(core: &RefCell<Core>, srv: &mut Srv, key: usize) {
    let input = std::mem::take(&mut core.borrow_mut().conns[key].input);
    let used = execute(core, srv, key, &input);
    let mut c = core.borrow_mut();
    let conn = &mut c.conns[key];
    if conn.phase != Phase::Open {
        return;
    }
    let mut input = input;
    input.drain(..used.min(input.len()));
    if input.capacity() > KEEP_CAPACITY && input.len() < KEEP_CAPACITY / 4 {
        input.shrink_to(KEEP_CAPACITY / 4);
    }
    conn.input = input;
}

/// Runs the session over `input`; returns how many bytes it consumed. No
/// borrow of the loop's state is held while commands run, so a script
/// that runs long can have the other connections served under it.
fn execute(core: &RefCell<Core>, srv: &mut Srv, key: usize, input: &[u8]) -> usize {
    let (mut session, outer) = {
        let mut c = core.borrow_mut();
        let conn = &mut c.conns[key];
        let pending = conn.pending_out();
        let Some(mut session) = conn.session.take() else {
            return input.len();
        };
        session.out_limit = OUT_LIMIT.saturating_sub(pending);
        (session, c.executing.replace(key))
    };
    let (used, status) = session.process_parts(srv.store, srv.state, input);
    let mut c = core.borrow_mut();
    c.executing = outer;
    let client = session.client;
    let conn = &mut c.conns[key];
    conn.need = session.need.unwrap_or(0);
    if conn.phase != Phase::Closing {
        conn.session = Some(session);
    }
    c.collect_output(srv, key, client);
    if status == Status::Close {
        c.drain_and_close(srv, key);
    } else {
        let conn = &mut c.conns[key];
        if conn.pending_out() >= OUT_LIMIT && !conn.paused {
            tracing::debug!("client over the output limit: reading paused");
            conn.paused = true;
            c.cancel_recv(key);
        }
    }
    c.serve_requests(srv);
    used
}

/// Runs the held-back input of clients answered after blocking (or let
/// read again). Each may answer others in turn; they queue here too, so a
/// chain of waiters is a loop, not a recursion.
fn resume_unblocked(core: &RefCell<Core>, srv: &mut Srv) {
    loop {
        let next = core.borrow_mut().to_resume.pop();
        let Some(key) = next else {
            return;
        };
        let ready = core
            .borrow()
            .conns
            .get(key)
            .is_some_and(|c| c.phase == Phase::Open && !c.paused && !c.input.is_empty());
        if ready {
            run_input(core, srv, key);
        }
    }
}

impl Core {
    /// Moves the queued entries into the submission queue; submits early
    /// only if the queue fills up.
    fn submit_queued(&mut self, ring: &mut IoUring) -> io::Result<()> {
        let mut next = 0;
        while next < self.sqes.len() {
            {
                let mut sq = ring.submission();
                while let Some(entry) = self.sqes.get(next) {
                    // SAFETY: every entry's pointers (send buffers, slice
                    // lists, message headers, timespecs) point into memory
                    // the loop keeps alive and unmodified until the
                    // operation completes: `Conn::sending`, `iov` and `msg`
                    // are left alone while `send_armed` (their heap memory
                    // does not move with the slab), the
                    // timespecs are boxed in `Core` and rewritten only when
                    // their timer is not pending, and receive buffers
                    // belong to the ring's BufRing.
                    if unsafe { sq.push(entry) }.is_err() {
                        break;
                    }
                    next += 1;
                }
            }
            if next < self.sqes.len() {
                // The queue is full: submit early, an extra enter that the
                // steady state never needs.
                self.counts.early_submits += 1;
                if let Err(e) = ring.submit() {
                    // As for the loop's own enter: interrupted, or
                    // completions to reap first, is not fatal; the rest
                    // goes in with the next enter.
                    match e.raw_os_error() {
                        Some(libc::EINTR | libc::EBUSY | libc::EAGAIN) => {}
                        _ => return Err(e),
                    }
                }
            }
        }
        self.sqes.clear();
        Ok(())
    }

    fn queue(&mut self, entry: squeue::Entry) {
        self.outstanding += 1;
        self.sqes.push(entry);
    }

    /// The connection a completion names, if it is still that connection.
    fn conn_for(&mut self, tok: Token) -> Option<&mut Conn> {
        self.conns
            .get_mut(tok.key as usize)
            .filter(|c| c.gen == tok.gen)
    }

    /// A completion other than a recv's.
    fn complete_other(&mut self, srv: &mut Srv, tok: Token, res: i32, more: bool) {
        match tok.op {
            Op::Recv => {}
            Op::Send => self.on_send(srv, tok, res),
            Op::Cancel => self.on_cancel(tok),
            Op::Accept => self.on_accept(srv, tok, res, more),
            Op::AcceptRetry => {
                if let Some(l) = self.listeners.get_mut(tok.key as usize) {
                    l.retry_armed = false;
                }
                if !self.stopping {
                    self.arm_accept(tok.key as usize);
                }
            }
            Op::Close => {
                if res < 0 {
                    tracing::debug!("close failed: {}", io::Error::from_raw_os_error(-res));
                }
            }
            Op::Tick => self.on_tick(srv, res),
            Op::Signal => self.on_signal(srv, res),
            Op::CancelGlobal => {}
        }
    }

    /// Moves the replies in `State` for `client` into the connection.
    fn collect_output(&mut self, srv: &mut Srv, key: usize, client: usize) {
        let Some(c) = srv.state.clients.get_mut(client) else {
            return;
        };
        c.flush_queued = false;
        if !c.out.has_output() {
            return;
        }
        let conn = &mut self.conns[key];
        srv.state.stats.net_output_bytes += conn.out.append(&mut c.out) as u64;
        c.backlog = conn.pending_out();
        if !conn.queued_send {
            conn.queued_send = true;
            self.to_send.push(key);
        }
    }

    /// What commands asked of other connections and of the server, in the
    /// order they asked it (the one place this backend serves
    /// [`Request`]s).
    fn serve_requests(&mut self, srv: &mut Srv) {
        let requests = std::mem::take(&mut srv.state.requests);
        for request in &requests {
            match *request {
                Request::Flush(client) => {
                    if let Some(&key) = self.by_client.get(&client) {
                        if self.conns[key].phase != Phase::Closing {
                            self.collect_output(srv, key, client);
                        }
                    }
                }
                // Answered after blocking: its reply goes out, and what
                // it pipelined meanwhile runs after this completion.
                Request::Resume(client) => {
                    if let Some(&key) = self.by_client.get(&client) {
                        if self.conns[key].phase != Phase::Closing {
                            self.collect_output(srv, key, client);
                            self.to_resume.push(key);
                        }
                    }
                }
                // Killed clients close now, unsent replies and all, as in
                // Redis: a victim that does not read would otherwise hold
                // its socket and replies forever. (A client killing itself
                // is not listed; it closes after its own reply.)
                Request::Close(client) => {
                    if let Some(&key) = self.by_client.get(&client) {
                        self.close_now(srv, key);
                    }
                }
                Request::Shutdown => {
                    if !self.stopping {
                        self.stop(srv, "SHUTDOWN received, exiting");
                    }
                }
            }
        }
        // Keep the queue's allocation for the next batch.
        let mut requests = requests;
        requests.clear();
        if srv.state.requests.is_empty() {
            srv.state.requests = requests;
        }
    }

    fn on_send(&mut self, srv: &mut Srv, tok: Token, res: i32) {
        let key = tok.key as usize;
        let Some(conn) = self.conn_for(tok) else {
            tracing::debug!("stale send completion for slot {key}");
            return;
        };
        conn.in_flight -= 1;
        conn.send_armed = false;
        if conn.phase == Phase::Closing {
            self.release.push(key);
            return;
        }
        if res <= 0 {
            if res < 0 && res != -libc::ECANCELED {
                tracing::debug!("send failed: {}", io::Error::from_raw_os_error(-res));
            }
            self.close_now(srv, key);
            return;
        }
        conn.sending.consume(res as usize);
        if let Some(c) = conn.client.and_then(|c| srv.state.clients.get_mut(c)) {
            c.backlog = conn.pending_out();
        }
        if !conn.sending.is_empty() {
            // A partial send: carry on with the rest of the same bytes.
            self.start_send(key);
            return;
        }
        if !conn.out.is_empty() {
            if !conn.queued_send {
                conn.queued_send = true;
                self.to_send.push(key);
            }
        } else if conn.phase == Phase::Draining {
            self.close_now(srv, key);
            return;
        }
        let conn = &mut self.conns[key];
        if conn.paused && conn.pending_out() <= OUT_LIMIT / 2 {
            tracing::debug!("client under the output limit: reading resumed");
            conn.paused = false;
            // What it held back runs once this completion is done.
            self.to_resume.push(key);
            self.rearm.push(key);
        }
    }

    fn on_cancel(&mut self, tok: Token) {
        let key = tok.key as usize;
        if let Some(conn) = self.conn_for(tok) {
            conn.in_flight -= 1;
            self.release.push(key);
        }
    }

    /// Hands `sending` to the kernel: one `send` for one slice, a
    /// `sendmsg` over the slices otherwise (replies and shared messages).
    fn start_send(&mut self, key: usize) {
        let conn = &mut self.conns[key];
        let fd = types::Fd(conn.fd);
        let entry = if conn.sending.chunk_count() == 1 {
            let rest = conn.sending.slices().next().unwrap_or_default();
            let len = rest.len().min(MAX_SEND) as u32;
            opcode::Send::new(fd, rest.as_ptr(), len)
                .flags(libc::MSG_NOSIGNAL)
                .build()
        } else {
            conn.iov.clear();
            conn.iov
                .extend(conn.sending.slices().take(MAX_IOV).map(|s| libc::iovec {
                    iov_base: s.as_ptr() as *mut libc::c_void,
                    iov_len: s.len(),
                }));
            conn.msg.msg_iov = conn.iov.as_mut_ptr();
            conn.msg.msg_iovlen = conn.iov.len();
            opcode::SendMsg::new(fd, &*conn.msg)
                .flags(libc::MSG_NOSIGNAL as u32)
                .build()
        };
        let entry = entry.user_data(Token::new(Op::Send, key, conn.gen).encode());
        conn.send_armed = true;
        conn.in_flight += 1;
        self.queue(entry);
    }

    fn cancel_recv(&mut self, key: usize) {
        let conn = &mut self.conns[key];
        if !conn.recv_armed || conn.recv_cancelled {
            return;
        }
        conn.recv_cancelled = true;
        let target = Token::new(Op::Recv, key, conn.gen).encode();
        self.cancel(key, target);
    }

    fn cancel(&mut self, key: usize, target: u64) {
        let conn = &mut self.conns[key];
        conn.in_flight += 1;
        let entry = opcode::AsyncCancel::new(target)
            .build()
            .user_data(Token::new(Op::Cancel, key, conn.gen).encode());
        self.queue(entry);
    }

    /// Stops reading and closes once the queued replies are sent.
    fn drain_and_close(&mut self, srv: &mut Srv, key: usize) {
        let conn = &mut self.conns[key];
        if conn.phase != Phase::Open {
            return;
        }
        conn.phase = Phase::Draining;
        if conn.out.is_empty() && !conn.send_armed {
            self.close_now(srv, key);
        } else {
            self.cancel_recv(key);
        }
    }

    /// Closes without sending anything more: cancels what is in flight and
    /// forgets the client; the slot goes once the kernel has answered.
    fn close_now(&mut self, srv: &mut Srv, key: usize) {
        let conn = &mut self.conns[key];
        if conn.phase == Phase::Closing {
            return;
        }
        conn.phase = Phase::Closing;
        conn.session = None;
        conn.input = Vec::new();
        conn.out = Outbox::default();
        if let Some(client) = conn.client.take() {
            srv.state.remove_client(client);
            self.by_client.remove(&client);
        }
        self.cancel_recv(key);
        let conn = &mut self.conns[key];
        if conn.send_armed {
            let target = Token::new(Op::Send, key, conn.gen).encode();
            self.cancel(key, target);
        }
        self.release.push(key);
    }

    fn on_accept(&mut self, srv: &mut Srv, tok: Token, res: i32, more: bool) {
        let index = tok.key as usize;
        if !more {
            if let Some(l) = self.listeners.get_mut(index) {
                l.accept_armed = false;
            }
            if !self.stopping {
                if res >= 0 {
                    self.arm_accept(index);
                } else if res != -libc::ECANCELED {
                    self.arm_accept_retry(index);
                }
            }
        }
        if res < 0 {
            if res != -libc::ECANCELED {
                tracing::warn!("accept failed: {}", io::Error::from_raw_os_error(-res));
            }
            return;
        }
        // SAFETY: a successful accept returns a new socket that nothing
        // else owns; wrapping it makes this the one owner.
        let stream = unsafe { TcpStream::from_raw_fd(res) };
        if !self.stopping {
            self.new_conn(srv, stream);
        }
    }

    fn new_conn(&mut self, srv: &mut Srv, stream: TcpStream) {
        let fd = stream.as_raw_fd();
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        if key > u32::MAX as usize {
            return;
        }
        let state = &mut srv.state;
        crate::net::tune_client_socket(&stream, state.config.tcp_keepalive);
        let peer = stream.peer_addr().ok();
        let admitted = state.admit_connection(peer.as_ref()).map(|()| {
            let local = stream
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default();
            let peer = peer.map(|a| a.to_string()).unwrap_or_default();
            state.add_client(peer, local, fd)
        });
        let client = admitted.as_ref().ok().copied();
        self.next_gen = self.next_gen.wrapping_add(1) & GEN_MASK;
        let mut conn = Conn {
            stream: Some(stream),
            fd,
            gen: self.next_gen,
            client,
            session: client.map(|c| Session::new(c, state.config.proto_max_bulk_len)),
            input: Vec::new(),
            need: 0,
            out: Outbox::default(),
            sending: Outbox::default(),
            iov: Vec::new(),
            msg: empty_msghdr(),
            in_flight: 0,
            recv_armed: false,
            recv_cancelled: false,
            send_armed: false,
            paused: false,
            queued_send: true,
            phase: Phase::Open,
        };
        match admitted {
            Ok(c) => {
                conn.queued_send = false;
                self.by_client.insert(c, key);
                self.rearm.push(key);
            }
            Err(refused) => {
                conn.out.push(Chunk::Owned(error_line(&refused)));
                conn.phase = Phase::Draining;
                self.to_send.push(key);
            }
        }
        entry.insert(conn);
    }

    fn arm_accept(&mut self, index: usize) {
        let Some(l) = self.listeners.get_mut(index) else {
            return;
        };
        if l.accept_armed {
            return;
        }
        l.accept_armed = true;
        let entry = opcode::AcceptMulti::new(types::Fd(l.socket.as_raw_fd()))
            .flags(libc::SOCK_CLOEXEC)
            .build()
            .user_data(Token::new(Op::Accept, index, 0).encode());
        self.queue(entry);
    }

    fn arm_accept_retry(&mut self, index: usize) {
        let Some(l) = self.listeners.get_mut(index) else {
            return;
        };
        if l.retry_armed {
            return;
        }
        l.retry_armed = true;
        let entry = opcode::Timeout::new(&*self.retry_ts)
            .build()
            .user_data(Token::new(Op::AcceptRetry, index, 0).encode());
        self.queue(entry);
    }

    fn arm_tick(&mut self, hz: u64) {
        let hz = hz.clamp(1, 500);
        *self.tick_ts = types::Timespec::from(Duration::from_micros(1_000_000 / hz));
        self.tick_armed = true;
        let entry = opcode::Timeout::new(&*self.tick_ts)
            .build()
            .user_data(Token::new(Op::Tick, 0, 0).encode());
        self.queue(entry);
    }

    fn on_tick(&mut self, srv: &mut Srv, res: i32) {
        self.tick_armed = false;
        if self.stopping || res == -libc::ECANCELED {
            return;
        }
        crate::server::cron(srv.store, srv.state);
        // The cron closes idle clients (`timeout`) the way CLIENT KILL does;
        // the loop runs the input of those it unblocked.
        self.serve_requests(srv);
        self.arm_tick(srv.state.hz());
    }

    fn arm_signal(&mut self) {
        self.signal_armed = true;
        let entry = opcode::PollAdd::new(types::Fd(self.signals.as_raw_fd()), libc::POLLIN as u32)
            .build()
            .user_data(Token::new(Op::Signal, 0, 0).encode());
        self.queue(entry);
    }

    fn on_signal(&mut self, srv: &mut Srv, res: i32) {
        self.signal_armed = false;
        if self.stopping || res < 0 {
            return;
        }
        // struct signalfd_siginfo is 128 bytes; ssi_signo comes first.
        let mut info = [0u8; 128];
        let signo = match (&self.signals).read(&mut info) {
            Ok(128) => u32::from_ne_bytes([info[0], info[1], info[2], info[3]]) as i32,
            _ => {
                self.arm_signal();
                return;
            }
        };
        let why = if signo == libc::SIGINT {
            "SIGINT received, exiting"
        } else {
            "SIGTERM received, exiting"
        };
        tracing::info!("{why}");
        if !crate::persist::snapshot::prepare_shutdown(srv.store, srv.state, None, false) {
            // As Redis: a final save that fails keeps the server up.
            self.arm_signal();
            return;
        }
        self.stop(srv, why);
    }

    /// Shutdown: close every connection, cancel every loop-wide operation.
    /// The loop returns once all of them have completed.
    fn stop(&mut self, srv: &mut Srv, why: &str) {
        tracing::info!("{why}");
        self.stopping = true;
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for key in keys {
            self.close_now(srv, key);
        }
        for index in 0..self.listeners.len() {
            let (accept_armed, retry_armed) = {
                let l = &self.listeners[index];
                (l.accept_armed, l.retry_armed)
            };
            if accept_armed {
                self.cancel_global(Token::new(Op::Accept, index, 0).encode());
            }
            if retry_armed {
                self.remove_timeout(Token::new(Op::AcceptRetry, index, 0).encode());
            }
        }
        if self.tick_armed {
            self.remove_timeout(Token::new(Op::Tick, 0, 0).encode());
        }
        if self.signal_armed {
            self.cancel_global(Token::new(Op::Signal, 0, 0).encode());
        }
    }

    fn cancel_global(&mut self, target: u64) {
        let entry = opcode::AsyncCancel::new(target)
            .build()
            .user_data(Token::new(Op::CancelGlobal, 0, 0).encode());
        self.queue(entry);
    }

    fn remove_timeout(&mut self, target: u64) {
        let entry = opcode::TimeoutRemove::new(target)
            .build()
            .user_data(Token::new(Op::CancelGlobal, 0, 0).encode());
        self.queue(entry);
    }

    /// The end of a batch: arm recvs (the buffers are about to go back on
    /// the ring), send each connection's replies in one operation, and free
    /// the slots the kernel is done with.
    fn end_batch(&mut self) {
        let mut rearm = std::mem::take(&mut self.rearm);
        for key in rearm.drain(..) {
            let bgid = self.bgid;
            let Some(conn) = self.conns.get_mut(key) else {
                continue;
            };
            if conn.phase != Phase::Open || conn.paused || conn.recv_armed {
                continue;
            }
            conn.recv_armed = true;
            conn.in_flight += 1;
            let entry = opcode::RecvMulti::new(types::Fd(conn.fd), bgid)
                .build()
                .user_data(Token::new(Op::Recv, key, conn.gen).encode());
            self.queue(entry);
        }
        self.rearm = rearm;

        let mut to_send = std::mem::take(&mut self.to_send);
        for key in to_send.drain(..) {
            let Some(conn) = self.conns.get_mut(key) else {
                continue;
            };
            conn.queued_send = false;
            if conn.phase == Phase::Closing || conn.send_armed || conn.out.is_empty() {
                continue;
            }
            std::mem::swap(&mut conn.out, &mut conn.sending);
            self.start_send(key);
        }
        self.to_send = to_send;

        let mut release = std::mem::take(&mut self.release);
        for key in release.drain(..) {
            let ready = self
                .conns
                .get(key)
                .is_some_and(|c| c.phase == Phase::Closing && c.in_flight == 0);
            if !ready {
                continue;
            }
            let mut conn = self.conns.remove(key);
            if let Some(stream) = conn.stream.take() {
                let fd = stream.into_raw_fd();
                let entry = opcode::Close::new(types::Fd(fd))
                    .build()
                    .user_data(Token::new(Op::Close, key, conn.gen).encode());
                self.queue(entry);
            }
        }
        self.release = release;
    }
}

/// A message header with no address and no control data; `start_send`
/// points it at the slices of each `sendmsg`.
fn empty_msghdr() -> Box<libc::msghdr> {
    // SAFETY: msghdr is plain data (pointers, lengths, flags) for which
    // all-zero bytes are a valid value: no name, no slices, no control.
    Box::new(unsafe { std::mem::zeroed() })
}

/// Grows `input` ahead of a large command whose length the parser knows,
/// in steps of at most 64 MiB, so a 100 MB value isn't copied repeatedly.
fn reserve_for(conn: &mut Conn, incoming: usize) {
    let want = conn
        .need
        .saturating_sub(conn.input.len())
        .clamp(incoming, 64 << 20);
    conn.input.reserve(want);
}

/// Blocks SIGTERM and SIGINT for this thread and returns a signalfd that
/// reports them, so the ring can wait for signals like any other event.
fn block_signals() -> io::Result<File> {
    // SAFETY: sigset_t is plain data that sigemptyset initialises;
    // pthread_sigmask and signalfd only read it. The fd signalfd returns is
    // checked, then owned by exactly one OwnedFd.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(File::from(OwnedFd::from_raw_fd(fd)))
    }
}
