//! The Tokio (epoll) backend: a current-thread runtime and a `LocalSet`, one
//! task per connection. It is the baseline the io_uring backend is measured
//! against and the fallback where io_uring is unavailable.
//!
//! Each task reads, lets the session execute everything complete, and writes
//! all replies of that batch with one `write_all`. The `RefCell` borrow of
//! the server lasts for the `process` call only, never across an await.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::LocalSet;

use super::session::{Session, Status};
use super::OUT_LIMIT;
use crate::error::error_line;
use crate::resp::Outbox;
use crate::server::{Request, Server, State};
use crate::store::Store;

/// Initial read buffer per connection.
const READ_BUF: usize = 16 * 1024;
/// Slices per vectored write.
const MAX_IOV: usize = 64;

/// Per-connection wake-ups, for CLIENT KILL and replies produced by others.
type Wakers = Rc<RefCell<HashMap<usize, Rc<Waker>>>>;

/// Wakes a connection's task: output arrived for it, or it was killed.
#[derive(Default)]
struct Waker {
    notify: Notify,
    /// Closed by a [`Request::Close`] (CLIENT KILL, an output limit): its
    /// unsent output is dropped, unlike a client closing after its
    /// replies (QUIT), whose pending writes still complete.
    killed: Cell<bool>,
}

/// Serves until SHUTDOWN or a signal.
pub fn run(server: Rc<RefCell<Server>>, listeners: Vec<std::net::TcpListener>) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = LocalSet::new();
    local.block_on(&rt, serve(server, listeners))
}

async fn serve(
    server: Rc<RefCell<Server>>,
    listeners: Vec<std::net::TcpListener>,
) -> io::Result<()> {
    let shutdown = Rc::new(Notify::new());
    let wakers: Wakers = Rc::default();
    let under = Loop {
        server: server.clone(),
        wakers: wakers.clone(),
        shutdown: shutdown.clone(),
        listeners: listeners.iter().map(AsRawFd::as_raw_fd).collect(),
        peek: RefCell::new(vec![0; BUSY_PEEK]),
    };
    server.borrow_mut().state.events_while_busy = Some(Rc::new(move |store, state| {
        serve_while_busy(&under, store, state)
    }));
    for l in listeners {
        l.set_nonblocking(true)?;
        let listener = TcpListener::from_std(l)?;
        tokio::task::spawn_local(accept_loop(
            listener,
            server.clone(),
            wakers.clone(),
            shutdown.clone(),
        ));
    }
    tokio::task::spawn_local(cron(server.clone(), wakers.clone(), shutdown.clone()));
    tokio::task::spawn_local(timeouts(server.clone(), wakers.clone(), shutdown.clone()));
    tokio::task::spawn_local(background(server.clone()));

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        let why = tokio::select! {
            _ = shutdown.notified() => {
                tracing::info!("SHUTDOWN received, exiting");
                return Ok(());
            }
            _ = term.recv() => "SIGTERM received, exiting",
            _ = tokio::signal::ctrl_c() => "SIGINT received, exiting",
        };
        tracing::info!("{why}");
        let mut guard = server.borrow_mut();
        let srv = &mut *guard;
        // As Redis: a final save that fails keeps the server up.
        if crate::persist::snapshot::prepare_shutdown(&mut srv.store, &mut srv.state, None, false) {
            return Ok(());
        }
    }
}

/// Persistence's share of the loop: a background save's slices, as often
/// as it asks, between the connections' turns.
async fn background(server: Rc<RefCell<Server>>) {
    const IDLE: Duration = Duration::from_millis(5);
    loop {
        let next = {
            let mut guard = server.borrow_mut();
            crate::server::background(&mut guard)
        };
        match next {
            Some(Duration::ZERO) => tokio::task::yield_now().await,
            Some(wait) => tokio::time::sleep(wait).await,
            None => tokio::time::sleep(IDLE).await,
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    server: Rc<RefCell<Server>>,
    wakers: Wakers,
    shutdown: Rc<Notify>,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(pair) => pair,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let refused = {
            let mut srv = server.borrow_mut();
            start_connection(&server, &wakers, &shutdown, &mut srv.state, stream, peer)
        };
        if let Some((mut stream, refused)) = refused {
            let _ = stream.write_all(&refused).await;
        }
    }
}

/// Admits an accepted connection as a client and spawns its task; or
/// hands back the connection with the error line that refuses it.
fn start_connection(
    server: &Rc<RefCell<Server>>,
    wakers: &Wakers,
    shutdown: &Rc<Notify>,
    state: &mut State,
    stream: TcpStream,
    peer: std::net::SocketAddr,
) -> Option<(TcpStream, Vec<u8>)> {
    let local = stream
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let fd = stream.as_raw_fd();
    crate::net::tune_client_socket(&stream, state.config.tcp_keepalive);
    let key = match state.admit_connection(Some(&peer)) {
        Ok(()) => state.add_client(peer.to_string(), local, fd),
        Err(refused) => return Some((stream, error_line(&refused))),
    };
    let notify = Rc::new(Waker::default());
    wakers.borrow_mut().insert(key, notify.clone());
    let (server, wakers, shutdown) = (server.clone(), wakers.clone(), shutdown.clone());
    tokio::task::spawn_local(async move {
        if let Err(e) = connection(stream, key, &server, &wakers, &notify, &shutdown).await {
            tracing::debug!("connection {peer} ended: {e}");
        }
        wakers.borrow_mut().remove(&key);
        server.borrow_mut().state.remove_client(key);
    });
    None
}

/// What the handler serving connections under a long script needs.
struct Loop {
    server: Rc<RefCell<Server>>,
    wakers: Wakers,
    shutdown: Rc<Notify>,
    listeners: Vec<RawFd>,
    /// Where a client's waiting bytes are peeked into.
    peek: RefCell<Vec<u8>>,
}

/// Most a client's commands are looked at per turn under a long script.
const BUSY_PEEK: usize = 64 * 1024;

/// Serves the other connections while a script runs past
/// busy-reply-threshold (Redis's `processEventsWhileBlocked`). The tasks
/// cannot run while the script holds the thread, so this works on the
/// sockets directly: it accepts what is waiting (each connection gets its
/// task, which starts after the script), and for each client whose task
/// holds neither unsent output nor half a command, it peeks at what
/// arrived, runs the complete commands (most meet `-BUSY`), consumes
/// exactly their bytes, and writes the replies; an incomplete command
/// stays in the socket for the task.
fn serve_while_busy(env: &Loop, store: &mut Store, state: &mut State) {
    for &fd in &env.listeners {
        while let Some((stream, peer)) = accept_now(fd) {
            let Ok(stream) = TcpStream::from_std(stream) else {
                continue;
            };
            if let Some((stream, refused)) =
                start_connection(&env.server, &env.wakers, &env.shutdown, state, stream, peer)
            {
                if let Ok(stream) = stream.into_std() {
                    let _ = send_now(stream.as_raw_fd(), &refused);
                }
            }
        }
    }
    let running = state.scripting.running.as_ref().map(|r| r.client);
    let ready: Vec<(usize, RawFd)> = state
        .clients
        .iter()
        .filter(|&(key, c)| {
            Some(key) != running
                && c.fd >= 0
                && !c.closing
                && c.backlog == 0
                && c.input_held == 0
                && !c.out.has_output()
        })
        .map(|(key, c)| (key, c.fd))
        .collect();
    let mut buf = env.peek.borrow_mut();
    for (key, fd) in ready {
        // SAFETY: `fd` is the client's open socket (its task owns it and
        // is parked); `buf` is valid for `buf.len()` bytes of writes.
        let n = unsafe {
            libc::recv(
                fd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        if n <= 0 {
            continue;
        }
        let mut session = Session::new(key, state.config.proto_max_bulk_len);
        let (used, status) = session.process_parts(store, state, &buf[..n as usize]);
        if used > 0 {
            // SAFETY: as above; the peeked bytes are still queued, so
            // this takes exactly the `used` bytes the commands consumed.
            unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), used, libc::MSG_DONTWAIT) };
        }
        if let Some(c) = state.clients.get_mut(key) {
            c.flush_queued = false;
            let out = c.out.take_bytes();
            let sent = send_now(fd, &out);
            state.stats.net_output_bytes += sent as u64;
            if sent < out.len() {
                // The rest goes when the task runs again.
                c.out.buf.extend_from_slice(&out[sent..]);
                state.requests.push(Request::Flush(key));
            }
        }
        if status == Status::Close {
            // QUIT or a protocol error: the task sees the end of input.
            // SAFETY: shutting down a socket the task owns; it closes it.
            unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
        }
    }
    let wakers = &env.wakers;
    serve_requests(state, wakers, &env.shutdown);
}

/// A connection waiting on a listening socket, without blocking.
fn accept_now(listener: RawFd) -> Option<(std::net::TcpStream, std::net::SocketAddr)> {
    // SAFETY: accept4 on a listening socket we own; no address is asked
    // for. The fd it returns is new and owned by exactly one TcpStream.
    let fd = unsafe {
        libc::accept4(
            listener,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: see above.
    let stream = unsafe { std::net::TcpStream::from_raw_fd(fd) };
    let peer = stream.peer_addr().ok()?;
    Some((stream, peer))
}

/// Writes what the socket takes now; returns how much that was.
fn send_now(fd: RawFd, bytes: &[u8]) -> usize {
    let mut sent = 0;
    while sent < bytes.len() {
        // SAFETY: `bytes[sent..]` is valid for reads of its length.
        let n = unsafe {
            libc::send(
                fd,
                bytes[sent..].as_ptr().cast(),
                bytes.len() - sent,
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        if n <= 0 {
            break;
        }
        sent += n as usize;
    }
    sent
}

async fn connection(
    mut stream: TcpStream,
    key: usize,
    server: &RefCell<Server>,
    wakers: &Wakers,
    notify: &Waker,
    shutdown: &Notify,
) -> io::Result<()> {
    let max_bulk = server.borrow().state.config.proto_max_bulk_len;
    let mut session = Session::new(key, max_bulk);
    // Replies of one batch stop at the limit; the rest of the input runs
    // after they are written, so a few bytes of pipelined GETs of a big
    // value cannot grow the output without bound.
    session.out_limit = OUT_LIMIT;
    let mut input: Vec<u8> = Vec::with_capacity(READ_BUF);
    let mut output = Outbox::default();
    loop {
        // Read unless commands are waiting for their replies to drain, or
        // another client's command left output for this one meanwhile
        // (a wake-up that came while writing is not lost).
        let delivered = server
            .borrow()
            .state
            .clients
            .get(key)
            .is_some_and(|c| c.out.has_output());
        if !session.stalled && !delivered {
            // Room for the next read: the whole pending command when its
            // size is known, a read's worth otherwise.
            let want = session.need.map_or(READ_BUF, |n| {
                n.saturating_sub(input.len()).clamp(READ_BUF, 64 << 20)
            });
            input.reserve(want);
            tokio::select! {
                read = stream.read_buf(&mut input) => {
                    if read? == 0 {
                        return Ok(());
                    }
                }
                _ = notify.notify.notified() => {}
            }
        }
        let status = {
            let mut srv = server.borrow_mut();
            let (used, status) = session.process(&mut srv, &input);
            input.drain(..used);
            if let Some(c) = srv.state.clients.get_mut(key) {
                c.input_held = input.len();
            }
            // Writes reach the AOF before their replies leave.
            crate::persist::aof::flush(&mut srv.state);
            let state = &mut srv.state;
            if let Some(client) = state.clients.get_mut(key) {
                client.flush_queued = false;
                state.stats.net_output_bytes += output.append(&mut client.out) as u64;
                client.backlog = output.len();
            }
            serve_requests(&mut srv.state, wakers, shutdown);
            status
        };
        if !output.is_empty()
            && !write_unless_killed(&mut stream, &mut output, key, server, notify).await?
        {
            return Ok(());
        }
        if status == Status::Close {
            let _ = stream.shutdown().await;
            return Ok(());
        }
        if input.capacity() > 4 * READ_BUF && input.len() < READ_BUF {
            input.shrink_to(READ_BUF);
        }
    }
}

/// Writes `output` (one slice per chunk), unless CLIENT KILL or the
/// output buffer limit closes the client meanwhile: a victim that never
/// reads must not keep its socket and replies. Returns false when killed.
async fn write_unless_killed(
    stream: &mut TcpStream,
    output: &mut Outbox,
    key: usize,
    server: &RefCell<Server>,
    notify: &Waker,
) -> io::Result<bool> {
    while !output.is_empty() {
        let written = {
            let mut slices = [IoSlice::new(&[]); MAX_IOV];
            let mut n = 0;
            for (slot, chunk) in slices.iter_mut().zip(output.slices()) {
                *slot = IoSlice::new(chunk);
                n += 1;
            }
            tokio::select! {
                n = stream.write_vectored(&slices[..n]) => Some(n?),
                _ = notify.notify.notified() => None,
            }
        };
        let mut srv = server.borrow_mut();
        let client = srv.state.clients.get_mut(key);
        match (written, client) {
            (_, None) => return Ok(false),
            _ if notify.killed.get() => return Ok(false),
            (Some(0), _) => return Err(io::ErrorKind::WriteZero.into()),
            (Some(n), Some(c)) => {
                output.consume(n);
                c.backlog = output.len();
            }
            (None, Some(_)) => {}
        }
    }
    Ok(true)
}

/// What commands asked of other connections and of the server (the one
/// place this backend serves [`Request`]s): each client concerned has its
/// task woken, which sends its new output or, once closing, ends.
fn serve_requests(state: &mut State, wakers: &Wakers, shutdown: &Notify) {
    if state.requests.is_empty() {
        return;
    }
    let wakers = wakers.borrow();
    let State {
        requests, clients, ..
    } = state;
    for request in requests.drain(..) {
        match request {
            Request::Close(key) | Request::Flush(key) | Request::Resume(key) => {
                // A killed client closes now, its unsent replies dropped as
                // Redis drops them: a victim that does not read must not
                // keep its socket open behind a write that never ends.
                let waker = wakers.get(&key);
                match (request, clients.get_mut(key)) {
                    (Request::Close(_), Some(c)) => {
                        c.out.clear();
                        if let Some(w) = waker {
                            w.killed.set(true);
                        }
                    }
                    (_, Some(c)) => c.flush_queued = false,
                    _ => {}
                }
                if let Some(w) = waker {
                    w.notify.notify_one();
                }
            }
            Request::Shutdown => shutdown.notify_one(),
        }
    }
}

/// Blocked clients' timeouts, to the millisecond: sleeps until the earliest
/// deadline, looking again at least every few milliseconds for one that a
/// command has just set (a blocked client's deadline is at least 1 ms
/// away when it is set).
async fn timeouts(server: Rc<RefCell<Server>>, wakers: Wakers, shutdown: Rc<Notify>) {
    const LOOK: u64 = 5;
    loop {
        let (next, now) = {
            let srv = server.borrow();
            (crate::pause::next_deadline(&srv.state), srv.state.now_ms())
        };
        let wait = next.map_or(LOOK, |at| at.saturating_sub(now).min(LOOK));
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let mut srv = server.borrow_mut();
        let now = srv.state.now_ms();
        if crate::pause::next_deadline(&srv.state).is_some_and(|at| at <= now) {
            {
                let srv = &mut *srv;
                crate::pause::timeouts(&mut srv.store, &mut srv.state, now);
            }
            serve_requests(&mut srv.state, &wakers, &shutdown);
        }
    }
}

/// The server's periodic work (Redis's `serverCron`): active expiry at `hz`.
async fn cron(server: Rc<RefCell<Server>>, wakers: Wakers, shutdown: Rc<Notify>) {
    loop {
        let hz = server.borrow().state.hz();
        tokio::time::sleep(Duration::from_millis(1000 / hz)).await;
        let mut srv = server.borrow_mut();
        {
            let srv = &mut *srv;
            crate::server::cron(&mut srv.store, &mut srv.state);
        }
        // The cron closes idle clients (`timeout`) the way CLIENT KILL does.
        serve_requests(&mut srv.state, &wakers, &shutdown);
    }
}
