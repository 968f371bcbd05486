//! Tests of the event loops themselves, over real sockets: many clients,
//! rude clients, huge values, clients that never read, slot reuse,
//! shutdown, and the io_uring fallback. Each runs on every backend in
//! `common::backends()` unless it is about io_uring alone.

mod common;

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use common::{encode, Conn};

fn set(c: &mut Conn, k: &str, v: &[u8]) {
    assert_eq!(c.cmd(&[b"SET", k.as_bytes(), v]), b"+OK\r\n", "SET {k}");
}

fn bulk(v: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", v.len()).into_bytes();
    out.extend_from_slice(v);
    out.extend_from_slice(b"\r\n");
    out
}

/// A fresh client can still SET and GET: the server is alive and sane.
fn still_serves(port: u16, io: &str) {
    let mut c = Conn::open(port);
    set(&mut c, "alive", b"yes");
    assert_eq!(
        c.cmd(&[b"GET", b"alive"]),
        bulk(b"yes"),
        "[{io}] fresh client"
    );
}

#[test]
fn thousand_concurrent_connections() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut conns: Vec<Conn> = (0..1000).map(|_| Conn::open(server.port)).collect();
        // Every client sends before any reads, so all 1000 are in flight.
        for (i, c) in conns.iter_mut().enumerate() {
            c.send(&[
                b"SET",
                format!("k{i}").as_bytes(),
                format!("v{i}").as_bytes(),
            ]);
        }
        for (i, c) in conns.iter_mut().enumerate() {
            assert_eq!(c.read_reply(), b"+OK\r\n", "[{io}] SET on client {i}");
        }
        for (i, c) in conns.iter_mut().enumerate().rev() {
            c.send(&[b"GET", format!("k{}", (i + 1) % 1000).as_bytes()]);
        }
        for (i, c) in conns.iter_mut().enumerate() {
            let want = bulk(format!("v{}", (i + 1) % 1000).as_bytes());
            assert_eq!(c.read_reply(), want, "[{io}] GET on client {i}");
        }
        drop(conns);
        still_serves(server.port, io);
    }
}

#[test]
fn client_disconnects_mid_pipeline() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut c = Conn::open(server.port);
        set(&mut c, "big", &vec![b'x'; 64 * 1024]);

        // Complete commands, then half a command, then gone.
        let mut c = Conn::open(server.port);
        let mut pipeline = Vec::new();
        for i in 0..100 {
            pipeline.extend(encode(&[b"SET", b"last", i.to_string().as_bytes()]));
        }
        pipeline.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$4\r\nlast\r\n$5\r\nhal");
        c.send_raw(&pipeline);
        drop(c);

        // Many replies pending (sends in flight) when the client vanishes.
        let mut c = Conn::open(server.port);
        let gets: Vec<u8> = (0..2000).flat_map(|_| encode(&[b"GET", b"big"])).collect();
        c.send_raw(&gets);
        std::thread::sleep(Duration::from_millis(50));
        drop(c);

        // Reset instead of FIN: linger 0 makes close send RST.
        let c = Conn::open(server.port);
        c.stream.set_linger_zero();
        let mut s = &c.stream;
        let _ = s.write_all(&gets);
        drop(c);

        let mut c = Conn::open(server.port);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let got = c.cmd(&[b"GET", b"last"]);
            if got == bulk(b"99") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "[{io}] the complete commands before the disconnect ran: {}",
                common::show(&got)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        still_serves(server.port, io);
    }
}

trait LingerZero {
    fn set_linger_zero(&self);
}

impl LingerZero for TcpStream {
    fn set_linger_zero(&self) {
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: setsockopt reads `size_of::<linger>()` bytes from a live
        // local; the fd is this stream's own.
        unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(self),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
    }
}

#[test]
fn long_pipeline_across_buffer_boundaries() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut c = Conn::open(server.port);
        // ~600 KB in one write: commands straddle every 16 KiB receive
        // buffer at arbitrary points, so incomplete tails get carried over.
        let mut pipeline = Vec::new();
        for i in 0..10_000 {
            let v = format!("value-{i}-{}", "p".repeat(i % 37));
            pipeline.extend(encode(&[
                b"SET",
                format!("key:{}", i % 100).as_bytes(),
                v.as_bytes(),
            ]));
            pipeline.extend(encode(&[b"GET", format!("key:{}", i % 100).as_bytes()]));
        }
        c.send_raw(&pipeline);
        for i in 0..10_000 {
            let v = format!("value-{i}-{}", "p".repeat(i % 37));
            assert_eq!(c.read_reply(), b"+OK\r\n", "[{io}] SET #{i}");
            assert_eq!(c.read_reply(), bulk(v.as_bytes()), "[{io}] GET #{i}");
        }
    }
}

#[test]
fn one_byte_at_a_time() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut c = Conn::open(server.port);
        let mut bytes = encode(&[b"SET", b"k", b"hello world"]);
        bytes.extend_from_slice(b"GET k\r\n");
        bytes.extend(encode(&[b"GET", b"k"]));
        for b in &bytes {
            c.send_raw(std::slice::from_ref(b));
            std::thread::sleep(Duration::from_micros(300));
        }
        assert_eq!(c.read_reply(), b"+OK\r\n", "[{io}]");
        assert_eq!(c.read_reply(), bulk(b"hello world"), "[{io}] inline GET");
        assert_eq!(c.read_reply(), bulk(b"hello world"), "[{io}] multibulk GET");
    }
}

#[test]
fn hundred_mib_value() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut c = Conn::open(server.port);
        c.stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let value: Vec<u8> = (0..100 << 20).map(|i: u32| (i % 251) as u8).collect();
        set(&mut c, "huge", &value);
        let reply = c.cmd(&[b"GET", b"huge"]);
        let header = format!("${}\r\n", value.len());
        assert!(reply.starts_with(header.as_bytes()), "[{io}] header");
        assert!(
            reply[header.len()..reply.len() - 2] == value[..],
            "[{io}] 100 MiB value comes back intact"
        );
        // And the connection is still good for small talk.
        assert_eq!(c.cmd(&[b"GET", b"missing"]), b"$-1\r\n", "[{io}]");
    }
}

#[test]
fn reader_that_never_reads() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut c = Conn::open(server.port);
        set(&mut c, "v", &vec![b'y'; 64 * 1024]);
        let before = common::rss_kib(server.pid());
        drop(c);
        std::thread::sleep(Duration::from_millis(100));
        let fds_before = common::open_fds(server.pid());

        // 20 000 GETs of 64 KiB: 1.25 GiB of replies if the server kept
        // them all. The writer blocks once the server stops reading.
        let hog = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
        let mut writer = hog.try_clone().expect("clone");
        let gets: Vec<u8> = (0..20_000).flat_map(|_| encode(&[b"GET", b"v"])).collect();
        let pump = std::thread::spawn(move || {
            let _ = writer.write_all(&gets);
        });

        let mut peak = 0;
        let mut worst = Duration::ZERO;
        let mut other = Conn::open(server.port);
        for i in 0..30 {
            std::thread::sleep(Duration::from_millis(100));
            peak = peak.max(common::rss_kib(server.pid()));
            let t = Instant::now();
            set(&mut other, "other", i.to_string().as_bytes());
            assert_eq!(
                other.cmd(&[b"GET", b"other"]),
                bulk(i.to_string().as_bytes()),
                "[{io}] another client is served meanwhile"
            );
            worst = worst.max(t.elapsed());
        }
        // A starved client would fail on Conn's read timeout; the worst round
        // trip is reported, not asserted: shared CI machines are too noisy.
        eprintln!(
            "[{io}] never-reading client: RSS {before} KiB before, peak {peak} KiB; other client's worst round trip {worst:?}"
        );
        assert!(
            peak < before + 256 * 1024,
            "[{io}] server memory stays bounded: {before} KiB -> {peak} KiB"
        );
        drop(other);
        let _ = hog.shutdown(Shutdown::Both);
        drop(hog);
        let _ = pump.join();
        still_serves(server.port, io);
        // The paused connection notices its peer is gone and is closed.
        let deadline = Instant::now() + Duration::from_secs(10);
        while common::open_fds(server.pid()) > fds_before {
            assert!(
                Instant::now() < deadline,
                "[{io}] the never-reading client's socket is closed after it goes away"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn slots_are_reused_after_close() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let fds_at_start = common::open_fds(server.pid());
        for i in 0..1500u32 {
            let mut c = Conn::open(server.port);
            match i % 3 {
                // Polite: a round trip, then close.
                0 => set(&mut c, "k", i.to_string().as_bytes()),
                // QUIT: the server closes after the reply.
                1 => {
                    assert_eq!(c.cmd(&[b"QUIT"]), b"+OK\r\n", "[{io}] QUIT");
                    let (rest, closed) = c.read_until_close(Duration::from_secs(5));
                    assert!(rest.is_empty() && closed, "[{io}] closed after QUIT");
                }
                // Rude: a command and gone before its reply.
                _ => c.send(&[b"SET", b"k", i.to_string().as_bytes()]),
            }
        }
        let mut c = Conn::open(server.port);
        let deadline = Instant::now() + Duration::from_secs(5);
        while c.cmd(&[b"GET", b"k"]) != bulk(b"1499") {
            assert!(Instant::now() < deadline, "[{io}] last SET landed");
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(c);
        still_serves(server.port, io);
        // Every closed connection's socket is closed too (allow a few for
        // sockets still being torn down).
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let fds = common::open_fds(server.pid());
            if fds <= fds_at_start + 3 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "[{io}] sockets leak: {fds_at_start} fds at start, {fds} after 1500 connections"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn buffer_ring_running_dry() {
    if !common::uring_available() {
        return;
    }
    // Two receive buffers for 200 busy clients: recvs end with ENOBUFS all
    // the time and must be re-armed without losing or reordering a byte.
    let server = common::rizzler_logged("uring", &[], &[("RIZZLER_URING_BUFFERS", "2")]);
    let mut conns: Vec<Conn> = (0..200).map(|_| Conn::open(server.port)).collect();
    for round in 0..5 {
        for (i, c) in conns.iter_mut().enumerate() {
            let mut pipeline = Vec::new();
            for j in 0..20 {
                let v = format!("{i}-{round}-{j}");
                pipeline.extend(encode(&[b"SET", format!("k{i}").as_bytes(), v.as_bytes()]));
                pipeline.extend(encode(&[b"GET", format!("k{i}").as_bytes()]));
            }
            c.send_raw(&pipeline);
        }
        for (i, c) in conns.iter_mut().enumerate() {
            for j in 0..20 {
                assert_eq!(c.read_reply(), b"+OK\r\n", "client {i}");
                let v = format!("{i}-{round}-{j}");
                assert_eq!(c.read_reply(), bulk(v.as_bytes()), "client {i}");
            }
        }
    }
    let mut c = Conn::open(server.port);
    let value: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 253) as u8).collect();
    set(&mut c, "mib", &value);
    assert_eq!(
        c.cmd(&[b"GET", b"mib"]),
        bulk(&value),
        "1 MiB through 2 buffers"
    );
    assert!(server.log().contains("2 x 16 KiB"), "{}", server.log());
    server.signal(libc::SIGTERM);
    let mut server = server;
    server.wait_exit(Duration::from_secs(10));
    let log = server.log();
    let dry = log
        .split("buffer ring ran dry ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse::<u64>().ok());
    assert!(dry.is_some_and(|n| n > 0), "the ring did run dry:\n{log}");
}

#[test]
fn maxclients_rejects_with_redis_error() {
    for io in common::backends() {
        let server = common::rizzler(io, &["--maxclients", "2"]);
        // Let the server see the start-up probe's connection go.
        std::thread::sleep(Duration::from_millis(300));
        let mut a = Conn::open(server.port);
        let mut b = Conn::open(server.port);
        set(&mut a, "k", b"1");
        set(&mut b, "k", b"2");
        let mut c = Conn::open(server.port);
        let (got, closed) = c.read_until_close(Duration::from_secs(5));
        assert_eq!(got, b"-ERR max number of clients reached\r\n", "[{io}]");
        assert!(closed, "[{io}] rejected connection is closed");
        drop(a);
        std::thread::sleep(Duration::from_millis(100));
        still_serves(server.port, io);
    }
}

#[test]
fn sigterm_closes_everything_and_exits() {
    for io in common::backends() {
        for sig in [libc::SIGTERM, libc::SIGINT] {
            let mut server = common::rizzler_logged(io, &[], &[]);
            let mut idle = Conn::open(server.port);
            set(&mut idle, "k", b"v");
            // A client with sends stuck in flight must not hold shutdown up.
            let mut stuck = Conn::open(server.port);
            set(&mut stuck, "v", &vec![b'z'; 256 * 1024]);
            let gets: Vec<u8> = (0..400).flat_map(|_| encode(&[b"GET", b"v"])).collect();
            stuck.send_raw(&gets);
            std::thread::sleep(Duration::from_millis(200));

            server.signal(sig);
            let status = server.wait_exit(Duration::from_secs(10));
            let log = server.log();
            assert!(
                status.is_some_and(|s| s.success()),
                "[{io}] exits 0 on signal {sig}: {status:?}\n{log}"
            );
            let (_, closed) = idle.read_until_close(Duration::from_secs(2));
            assert!(closed, "[{io}] idle client sees its connection closed");
            if io == "uring" {
                assert!(
                    log.contains("0 operations in flight"),
                    "[{io}] the loop leaves nothing in flight:\n{log}"
                );
            }
        }
    }
}

#[test]
fn shutdown_command_closes_everything() {
    for io in common::backends() {
        let mut server = common::rizzler_logged(io, &[], &[]);
        let mut idle = Conn::open(server.port);
        set(&mut idle, "k", b"v");
        let mut c = Conn::open(server.port);
        c.send(&[b"SHUTDOWN", b"NOSAVE"]);
        let (got, closed) = c.read_until_close(Duration::from_secs(5));
        if got.starts_with(b"-ERR unknown command") {
            eprintln!(
                "SKIPPING shutdown_command_closes_everything: SHUTDOWN is not implemented yet"
            );
            return;
        }
        assert!(
            closed,
            "[{io}] SHUTDOWN closes the connection: {}",
            common::show(&got)
        );
        let status = server.wait_exit(Duration::from_secs(10));
        let log = server.log();
        assert!(
            status.is_some_and(|s| s.success()),
            "[{io}] exit 0: {status:?}\n{log}"
        );
        let (_, closed) = idle.read_until_close(Duration::from_secs(2));
        assert!(closed, "[{io}] other clients are closed too");
        if io == "uring" {
            assert!(log.contains("0 operations in flight"), "[{io}]\n{log}");
        }
    }
}

#[test]
fn info_names_the_backend() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut c = Conn::open(server.port);
        let got = c.cmd(&[b"INFO", b"server"]);
        if got.starts_with(b"-ERR unknown command") {
            eprintln!("SKIPPING info_names_the_backend: INFO is not implemented yet");
            return;
        }
        let want = if io == "uring" {
            "io_backend:io_uring\r\n"
        } else {
            "io_backend:epoll\r\n"
        };
        let text = String::from_utf8_lossy(&got);
        assert!(
            text.contains(want),
            "[{io}] INFO server has {want:?}: {text}"
        );
    }
}

#[test]
fn auto_falls_back_to_epoll_and_says_why() {
    let env = [("RIZZLER_FORCE_URING_FAIL", "1")];
    let server = common::rizzler_logged("auto", &[], &env);
    still_serves(server.port, "auto");
    let mut c = Conn::open(server.port);
    let info = c.cmd(&[b"INFO", b"server"]);
    if !info.starts_with(b"-ERR unknown command") {
        let text = String::from_utf8_lossy(&info);
        assert!(
            text.contains("io_backend:epoll\r\n"),
            "INFO says epoll: {text}"
        );
    }
    let log = server.log();
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "exactly one warning:\n{log}");
    let w = warnings[0];
    for needle in [
        "io_uring is unavailable",
        "epoll",
        "EPERM",
        "seccomp",
        "--security-opt",
    ] {
        assert!(w.contains(needle), "warning mentions {needle:?}: {w}");
    }
    assert!(
        log.contains("io backend epoll"),
        "start-up line names epoll:\n{log}"
    );
}

#[test]
fn uring_mode_refuses_to_start_without_io_uring() {
    let port = common::free_port();
    let out = common::rizzler_command("uring", port, &[])
        .env("RIZZLER_FORCE_URING_FAIL", "1")
        .env("RIZZLER_LOG", "info")
        .output()
        .expect("run rizzler");
    let stderr = String::from_utf8_lossy(&out.stderr) + String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "--io uring must fail: {stderr}");
    assert!(
        stderr.contains("--io uring") && stderr.contains("EPERM") && stderr.contains("seccomp"),
        "says why: {stderr}"
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing is listening"
    );
}

#[test]
fn auto_picks_io_uring_when_available() {
    if !common::uring_available() {
        return;
    }
    let server = common::rizzler_logged("auto", &[], &[]);
    still_serves(server.port, "auto");
    let log = server.log();
    assert!(log.contains("io backend io_uring"), "{log}");
    assert!(
        !log.contains("WARN"),
        "no warning when io_uring works:\n{log}"
    );
}

/// Probing io_uring must not leave the caller's thread with pending ring
/// exit work: that work arrives as TWA_SIGNAL and fails the thread's next
/// blocking socket read that has a timeout with EINTR. CI hit this in the
/// differential suite (the probe used to run on the test's own thread).
#[test]
fn probe_leaves_the_callers_reads_alone() {
    use std::io::Read;
    for round in 0..5 {
        let _ = rizzler::net::uring::probe();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let writer = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().expect("accept");
            std::thread::sleep(Duration::from_millis(30));
            s.write_all(b"x").expect("write");
        });
        let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut byte = [0u8; 1];
        let got = c.read(&mut byte);
        assert!(
            matches!(got, Ok(1)),
            "round {round}: read after probe gave {got:?}"
        );
        writer.join().expect("writer");
    }
}
