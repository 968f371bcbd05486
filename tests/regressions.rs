//! Regressions found in review, each a bug that once shipped on main.
mod common;

use std::io::Read;
use std::net::Shutdown;
use std::time::Duration;

use common::{encode, Conn};

/// A client that writes its commands and then half-closes (`printf 'PING\r\n' | nc -N`)
/// must still get its replies, as from redis-server and the epoll backend.
#[test]
fn half_close_after_request_still_gets_reply() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut lost = 0;
        for _ in 0..100 {
            let mut c = Conn::open(server.port);
            c.send(&[b"PING"]);
            c.stream.shutdown(Shutdown::Write).unwrap();
            let (got, _) = c.read_until_close(Duration::from_secs(5));
            if got != b"+PONG\r\n" {
                lost += 1;
            }
        }
        assert_eq!(lost, 0, "[{io}] replies dropped after the client's FIN");
    }
}

/// 13 KB of pipelined GETs of a 4 MiB value must not make the server
/// allocate 2.4 GiB: the session's output limit has to apply on epoll too.
#[test]
fn small_pipeline_of_big_gets_is_bounded() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut c = Conn::open(server.port);
        c.cmd(&[b"SET", b"big", &vec![b'x'; 4 << 20]]);
        let before = common::rss_kib(server.pid());
        let mut hog = Conn::open(server.port);
        let gets: Vec<u8> = (0..600).flat_map(|_| encode(&[b"GET", b"big"])).collect();
        hog.send_raw(&gets); // 13 200 bytes: one read
        std::thread::sleep(Duration::from_secs(3));
        let peak = common::rss_kib(server.pid());
        assert!(
            peak < before + 256 * 1024,
            "[{io}] {before} KiB -> {peak} KiB"
        );
    }
}

/// CLIENT KILL closes the victim at once, even when it has unsent replies
/// (redis-server: FIN-WAIT-1 immediately, memory freed).
#[test]
fn client_kill_closes_a_client_with_unsent_replies() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut admin = Conn::open(server.port);
        admin.cmd(&[b"SET", b"big", &vec![b'x'; 4 << 20]]);
        let mut victim = Conn::open(server.port);
        let gets: Vec<u8> = (0..20).flat_map(|_| encode(&[b"GET", b"big"])).collect();
        victim.send_raw(&gets);
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(
            admin.cmd(&[b"CLIENT", b"KILL", b"TYPE", b"normal"]),
            b":1\r\n"
        );
        std::thread::sleep(Duration::from_millis(500));
        // Drain: the stream must end (EOF/RST) well before 80 MiB arrive.
        victim
            .stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut total = 0usize;
        let mut buf = vec![0u8; 1 << 20];
        let closed = loop {
            match victim.stream.read(&mut buf) {
                Ok(0) => break true,
                Ok(n) => total += n,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break false,
            }
        };
        assert!(
            closed && total < 40 << 20,
            "[{io}] victim got {total} bytes after CLIENT KILL"
        );
    }
}

/// A client marked for closing by CLIENT KILL must not run another command
/// (epoll wakes the victim with its unread input still queued).
#[test]
fn killed_client_runs_no_further_command() {
    let mut h = rizzler::testing::Harness::new();
    let me = h.session.client;
    h.server.state.clients[me].closing = true; // what CLIENT KILL from another client does
    let _ = h.run(&["SET", "after-kill", "1"]);
    assert!(
        !h.exists("after-kill"),
        "a killed client executed a command"
    );
}
