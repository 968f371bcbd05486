//! Connections: the sans-IO [`session::Session`] and the backends that move
//! bytes for it. A backend only reads, writes, accepts and closes; the
//! protocol and the commands are the session's, so two backends differ in
//! I/O alone.

pub mod epoll;
pub mod session;
pub mod uring;

use std::net::SocketAddr;

use crate::config::Config;

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
