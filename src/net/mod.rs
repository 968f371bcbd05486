//! Connections: the sans-IO [`session::Session`] and the backends that move
//! bytes for it. A backend only reads, writes, accepts and closes; the
//! protocol and the commands are the session's, so two backends differ in
//! I/O alone.

pub mod epoll;
pub mod session;
pub mod uring;

use std::net::SocketAddr;

use crate::config::Config;

/// Unsent reply bytes past which a client's commands stop running and it is
/// no longer read from, on both backends, until the replies drain.
pub const OUT_LIMIT: usize = 64 << 20;

/// A listening socket as Redis makes one: SO_REUSEADDR (a restart does not
/// wait out TIME_WAIT), IPv6 sockets IPv6-only, `tcp-backlog` (511 by
/// default: std's `bind` would use 128, which a burst of connections such
/// as redis-benchmark -c 500 overflows).
pub fn listen(addr: SocketAddr, backlog: i32) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

/// A new client socket as Redis sets one up: no Nagle, and with
/// `tcp-keepalive` seconds, keepalive probes that time out a dead peer
/// (Redis's `anetKeepAlive`: idle time, then three probes a third of it
/// apart).
pub fn tune_client_socket(stream: &impl std::os::fd::AsFd, keepalive_secs: u64) {
    let socket = socket2::SockRef::from(stream);
    let _ = socket.set_tcp_nodelay(true);
    if keepalive_secs > 0 {
        let idle = std::time::Duration::from_secs(keepalive_secs);
        let probes = socket2::TcpKeepalive::new()
            .with_time(idle)
            .with_interval((idle / 3).max(std::time::Duration::from_secs(1)))
            .with_retries(3);
        if let Err(e) = socket.set_tcp_keepalive(&probes) {
            tracing::debug!("tcp-keepalive not set: {e}");
        }
    }
}

/// Whether a peer is on this host's loopback: 127.0.0.0/8 and ::1, also as
/// IPv4-mapped IPv6 addresses. (Redis 7.0 compares with "127.0.0.1" and
/// "::1" only, so a client from 127.0.0.2 is refused there.)
pub fn is_loopback(peer: &SocketAddr) -> bool {
    match peer.ip() {
        std::net::IpAddr::V4(ip) => ip.is_loopback(),
        std::net::IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The addresses to listen on, from `bind` and `port`.
pub fn listen_addrs(config: &Config) -> Result<Vec<SocketAddr>, String> {
    config
        .bind
        .iter()
        .map(|host| {
            let host = host.trim_start_matches('-');
            let host = if host == "*" { "0.0.0.0" } else { host };
            let text = if host.contains(':') {
                format!("[{host}]:{}", config.port)
            } else {
                format!("{host}:{}", config.port)
            };
            text.parse()
                .map_err(|_| format!("invalid bind address '{host}'"))
        })
        .collect()
}

/// Redis's `CONFIG_MIN_RESERVED_FDS`: descriptors kept for listeners,
/// the ring, files and threads, beyond one per client.
const RESERVED_FDS: u64 = 32;

/// Redis's `adjustOpenFilesLimit`: raises the open-file limit to
/// maxclients + 32 if it is lower, or as close as the system allows, and
/// then lowers maxclients to fit, with Redis's log lines. An error when
/// not even the reserved descriptors fit.
pub fn raise_open_files_limit(config: &mut Config) -> Result<(), String> {
    let wanted = config.maxclients as u64 + RESERVED_FDS;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through a pointer to a live,
    // properly aligned local.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == -1 {
        let why = std::io::Error::last_os_error();
        tracing::warn!("Unable to obtain the current NOFILE limit ({why}), assuming 1024 and setting the max clients configuration accordingly.");
        config.maxclients = (1024 - RESERVED_FDS) as usize;
        return Ok(());
    }
    let old = limit.rlim_cur;
    if old >= wanted {
        return Ok(());
    }
    // Try the whole amount, then 16 fewer at a time down to what we have.
    let mut best = wanted;
    let mut error = None;
    while best > old {
        let attempt = libc::rlimit {
            rlim_cur: best,
            rlim_max: best.max(limit.rlim_max),
        };
        // SAFETY: setrlimit reads one `rlimit` from a live local.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &attempt) } == 0 {
            break;
        }
        error = Some(std::io::Error::last_os_error());
        best = best.saturating_sub(16);
    }
    let best = best.max(old);
    if best >= wanted {
        tracing::info!(
            "Increased maximum number of open files to {wanted} (it was originally set to {old})."
        );
        return Ok(());
    }
    if best <= RESERVED_FDS {
        return Err(format!("Your current 'ulimit -n' of {old} is not enough for the server to start. Please increase your open file limit to at least {wanted}. Exiting."));
    }
    let requested = config.maxclients;
    config.maxclients = (best - RESERVED_FDS) as usize;
    let why = error.map_or_else(|| "unknown".into(), |e| e.to_string());
    tracing::warn!(
        "You requested maxclients of {requested} requiring at least {wanted} max file descriptors."
    );
    tracing::warn!("Server can't set maximum open files to {wanted} because of OS error: {why}.");
    tracing::warn!("Current maximum open files is {best}. maxclients has been reduced to {} to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.", config.maxclients);
    Ok(())
}
