//! Protected mode, on both backends, from a real non-loopback address:
//! with no password for `default` and protected-mode on (the defaults), a
//! client from outside loopback gets Redis's `-DENIED` text and is closed,
//! while loopback clients (127.0.0.1, and any 127.0.0.0/8 address) are
//! served. A password, or protected-mode no, lets outsiders in.
//!
//! The outside address is this host's own address on a non-loopback
//! interface (a connection to it comes from it). A host with none gets a
//! /32 on `lo` when the tests run as root; otherwise the test says loudly
//! that it cannot run.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

const DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// A non-loopback IPv4 address of this host.
fn outside_address() -> Option<IpAddr> {
    let listed = || -> Option<IpAddr> {
        let out = Command::new("hostname").arg("-I").output().ok()?;
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|a| a.parse::<IpAddr>().ok())
            .find(|a| a.is_ipv4() && !a.is_loopback())
    };
    if let Some(a) = listed() {
        return Some(a);
    }
    // No interface address: lend `lo` one (root only, this host only).
    let added = Command::new("ip")
        .args(["addr", "add", "10.254.254.1/32", "dev", "lo"])
        .status()
        .is_ok_and(|s| s.success());
    added.then(|| IpAddr::from([10, 254, 254, 1]))
}

/// Connects from `source` (any port) to `target`, sends PING, and returns
/// everything the server sends until it closes or goes quiet, and whether
/// it closed.
fn ping_from(source: IpAddr, target: SocketAddr) -> (String, bool) {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::new(source, 0).into())
        .expect("bind the client's source address");
    socket.connect(&target.into()).expect("connect");
    let mut stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let _ = stream.write_all(b"PING\r\n");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match stream.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&got).into_owned(), closed)
}

#[test]
fn outsiders_are_denied_until_a_password_or_protected_mode_no() {
    let Some(outside) = outside_address() else {
        eprintln!(
            "SKIPPING protected mode: this host has no non-loopback address and the test may not add one (not root)"
        );
        return;
    };
    for io in common::backends() {
        let server = common::rizzler(io, &["--bind", "0.0.0.0"]);
        let from_outside = SocketAddr::new(outside, server.port);
        let loopback = SocketAddr::from(([127, 0, 0, 1], server.port));
        let (reply, closed) = ping_from(outside, from_outside);
        assert_eq!(reply, DENIED, "[{io}]");
        assert!(closed, "[{io}] the denied connection stays open");
        // Every loopback address is loopback.
        for source in [[127, 0, 0, 1], [127, 0, 0, 2]] {
            let (reply, closed) = ping_from(IpAddr::from(source), loopback);
            assert_eq!(
                (reply.as_str(), closed),
                ("+PONG\r\n", false),
                "[{io}] from {source:?}"
            );
        }
        let mut c = server.client();
        assert_eq!(
            common::info_field(&mut c, "stats", "rejected_connections"),
            1,
            "[{io}]"
        );
        // A password for `default` (requirepass, or an ACL rule) opens
        // the door: the outsider must now authenticate.
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("requirepass")
            .arg("s3cret")
            .query(&mut c)
            .expect("requirepass");
        let (reply, _) = ping_from(outside, from_outside);
        assert!(reply.starts_with("-NOAUTH"), "[{io}] {reply}");
        let mut admin = server.conn();
        assert_eq!(admin.line("AUTH s3cret"), b"+OK\r\n");
        assert_eq!(admin.line("CONFIG SET requirepass \"\""), b"+OK\r\n");
        assert_eq!(ping_from(outside, from_outside).0, DENIED, "[{io}]");
        assert_eq!(admin.line("ACL SETUSER default >other"), b"+OK\r\n");
        assert!(
            ping_from(outside, from_outside).0.starts_with("-NOAUTH"),
            "[{io}]"
        );
        assert_eq!(admin.line("ACL SETUSER default nopass"), b"+OK\r\n");
        assert_eq!(ping_from(outside, from_outside).0, DENIED, "[{io}]");
        // Or protected mode off.
        assert_eq!(admin.line("CONFIG SET protected-mode no"), b"+OK\r\n");
        assert_eq!(ping_from(outside, from_outside).0, "+PONG\r\n", "[{io}]");
    }
}

#[test]
fn a_server_started_with_protected_mode_no_serves_outsiders() {
    let Some(outside) = outside_address() else {
        eprintln!("SKIPPING protected mode: no non-loopback address (see above)");
        return;
    };
    for io in common::backends() {
        let server = common::rizzler(io, &["--bind", "0.0.0.0", "--protected-mode", "no"]);
        let (reply, closed) = ping_from(outside, SocketAddr::new(outside, server.port));
        assert_eq!((reply.as_str(), closed), ("+PONG\r\n", false), "[{io}]");
    }
}

#[test]
fn debug_needs_enable_debug_command_and_pidfile_is_written() {
    for io in common::backends() {
        let dir = common::rizzler_dir(0)
            .with_file_name(format!("rizzler-pid-{io}-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let pidfile = dir.join("rizzler.pid");
        let pidfile_arg = pidfile.to_string_lossy().to_string();
        let server = common::rizzler(
            io,
            &["--enable-debug-command", "no", "--pidfile", &pidfile_arg],
        );
        let mut c = server.conn();
        assert_eq!(
            c.line("DEBUG SLEEP 0"),
            b"-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.\r\n",
            "[{io}]"
        );
        let written = std::fs::read_to_string(&pidfile).expect("pidfile");
        assert_eq!(written.trim(), server.pid().to_string(), "[{io}]");
        c.send(&[b"SHUTDOWN", b"NOSAVE"]);
        let mut server = server;
        server.wait_exit(Duration::from_secs(10));
        assert!(!pidfile.exists(), "[{io}] pidfile left after SHUTDOWN");
        let local = common::rizzler(io, &["--enable-debug-command", "local"]);
        assert_eq!(local.conn().line("DEBUG SLEEP 0"), b"+OK\r\n", "[{io}]");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
