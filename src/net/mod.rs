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

/// Redis's default `tcp-backlog`: std's `bind` would use 128, which a
/// burst of connections (redis-benchmark -c 500) overflows.
const BACKLOG: i32 = 511;

/// A listening socket as Redis makes one: SO_REUSEADDR (a restart does not
/// wait out TIME_WAIT), IPv6 sockets IPv6-only, backlog 511.
pub fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
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
