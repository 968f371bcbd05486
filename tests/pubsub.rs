//! Pub/sub on the real binary, on every backend: fan-out to many
//! subscribers and patterns, subscribers that vanish mid-stream, and the
//! output buffer limit cutting off a subscriber that does not read while a
//! healthy one keeps receiving. (Replies byte for byte are the
//! differential suite's: tests/diff/pubsub*.redis.)

mod common;

use std::io::Read;
use std::net::Shutdown;
use std::time::{Duration, Instant};

use common::{elements, Conn, ServerProc};

/// The integer in an INFO field, or panics.
fn info_field(c: &mut Conn, field: &str) -> i64 {
    let reply = c.line("INFO");
    let text = String::from_utf8_lossy(&reply).into_owned();
    text.split("\r\n")
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO"))
}

fn int(reply: &[u8]) -> i64 {
    std::str::from_utf8(&reply[1..reply.len() - 2])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an integer: {}", common::show(reply)))
}

/// Waits until `check` holds (the server closes connections
/// asynchronously), or panics with `what`.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn message(channel: &str, payload: &str) -> Vec<u8> {
    format!(
        "*3\r\n$7\r\nmessage\r\n${}\r\n{channel}\r\n${}\r\n{payload}\r\n",
        channel.len(),
        payload.len()
    )
    .into_bytes()
}

/// 200 subscribers on one channel and 20 pattern subscribers each get
/// every message of a pipelined burst, in order; PUBLISH counts them all.
#[test]
fn a_burst_reaches_every_subscriber_in_order() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut subs: Vec<Conn> = (0..200).map(|_| server.conn()).collect();
        for s in &mut subs {
            s.send(&[b"SUBSCRIBE", b"fan"]);
            assert_eq!(
                s.read_reply(),
                b"*3\r\n$9\r\nsubscribe\r\n$3\r\nfan\r\n:1\r\n"
            );
        }
        let mut pats: Vec<Conn> = (0..20).map(|_| server.conn()).collect();
        for p in &mut pats {
            p.send(&[b"PSUBSCRIBE", b"f?n"]);
            p.read_reply();
        }
        let mut publisher = server.conn();
        let burst: Vec<u8> = (0..100)
            .flat_map(|i| common::encode(&[b"PUBLISH", b"fan", format!("m{i}").as_bytes()]))
            .collect();
        publisher.send_raw(&burst);
        for _ in 0..100 {
            assert_eq!(publisher.read_reply(), b":220\r\n", "[{io}]");
        }
        for s in &mut subs {
            for i in 0..100 {
                assert_eq!(s.read_reply(), message("fan", &format!("m{i}")), "[{io}]");
            }
        }
        for p in &mut pats {
            for i in 0..100 {
                let m = p.read_reply();
                let parts = elements(&m);
                assert_eq!(parts[0], b"$8\r\npmessage\r\n", "[{io}]");
                assert_eq!(
                    parts[3],
                    format!("${}\r\nm{i}\r\n", 1 + i.to_string().len()).as_bytes()
                );
            }
        }
    }
}

/// Subscribers that close while messages flow leave nothing behind: no
/// channel, pattern or shard channel survives its connection, and the
/// remaining subscribers keep receiving.
#[test]
fn nothing_survives_its_connection() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut admin = server.conn();
        let mut subs: Vec<Conn> = (0..40)
            .map(|i| {
                let mut c = server.conn();
                let ch = format!("ch{}", i % 4);
                let shard = format!("sh{i}");
                c.send(&[b"SUBSCRIBE", ch.as_bytes(), b"all"]);
                c.read_frames(2);
                c.send(&[b"PSUBSCRIBE", b"ch*", format!("p{i}*").as_bytes()]);
                c.read_frames(2);
                c.send(&[b"SSUBSCRIBE", shard.as_bytes()]);
                c.read_frames(1);
                c
            })
            .collect();
        assert_eq!(info_field(&mut admin, "pubsub_channels"), 5, "[{io}]");
        assert_eq!(info_field(&mut admin, "pubsub_patterns"), 41, "[{io}]");
        assert_eq!(info_field(&mut admin, "pubsubshard_channels"), 40, "[{io}]");
        // A publisher keeps going while half the subscribers go away,
        // some without reading what was sent to them.
        let mut publisher = server.conn();
        for round in 0..20 {
            publisher.send(&[b"PUBLISH", b"all", b"x"]);
            publisher.read_reply();
            if round % 2 == 0 {
                let gone = subs.remove(round);
                let _ = gone.stream.shutdown(Shutdown::Both);
            }
        }
        // Those left still receive.
        let receivers = int(&publisher.cmd(&[b"PUBLISH", b"all", b"last"]));
        assert_eq!(receivers, 30, "[{io}]");
        drop(subs);
        eventually("every subscription gone", || {
            let numsub = admin.cmd(&[b"PUBSUB", b"NUMSUB", b"all", b"ch0"]);
            numsub == b"*4\r\n$3\r\nall\r\n:0\r\n$3\r\nch0\r\n:0\r\n"
                && admin.cmd(&[b"PUBSUB", b"NUMPAT"]) == b":0\r\n"
                && admin.cmd(&[b"PUBSUB", b"SHARDCHANNELS"]) == b"*0\r\n"
                && admin.cmd(&[b"PUBSUB", b"CHANNELS"]) == b"*0\r\n"
        });
        assert_eq!(info_field(&mut admin, "pubsub_patterns"), 0, "[{io}]");
        assert_eq!(int(&admin.cmd(&[b"PUBLISH", b"all", b"x"])), 0, "[{io}]");
    }
}

/// A subscriber that never reads is disconnected at the pub/sub hard
/// limit while a healthy one receives everything; the publisher never
/// waits and the server's memory stays bounded.
#[test]
fn a_stalled_subscriber_is_cut_off_at_the_hard_limit() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut admin = server.conn();
        admin.line("CONFIG SET client-output-buffer-limit \"pubsub 4mb 0 0\"");
        let rss_before = common::rss_kib(server.pid());

        let mut stalled = server.conn();
        stalled.send(&[b"SUBSCRIBE", b"feed"]);
        stalled.read_reply();
        let healthy = spawn_reader(&server, "feed", 2000);

        let payload = vec![b'p'; 10_000];
        let mut publisher = server.conn();
        let mut counts = Vec::new();
        for chunk in 0..20 {
            let batch: Vec<u8> = (0..100)
                .flat_map(|_| common::encode(&[b"PUBLISH", b"feed", &payload]))
                .collect();
            publisher.send_raw(&batch);
            for _ in 0..100 {
                counts.push(int(&publisher.read_reply()));
            }
            if chunk == 0 {
                // While over nothing yet, CLIENT LIST shows its backlog.
                let list = String::from_utf8_lossy(&admin.line("CLIENT LIST")).into_owned();
                assert!(list.contains("flags=P"), "[{io}] {list}");
            }
        }
        // 20 MB went out: the stalled one was cut at about 4 MB, the
        // healthy one got all 2000 messages.
        assert_eq!(counts[0], 2, "[{io}]");
        assert_eq!(
            *counts.last().unwrap_or(&0),
            1,
            "[{io}] stalled client still counted"
        );
        assert_eq!(healthy.join().expect("reader"), 2000, "[{io}]");
        // Left: admin and the publisher (the healthy reader has finished).
        eventually("the stalled client gone from CLIENT LIST", || {
            clients(&mut admin) == 2
        });
        let grown = common::rss_kib(server.pid()).saturating_sub(rss_before);
        assert!(grown < 40 * 1024, "[{io}] RSS grew by {grown} KiB");
        // The stalled connection reads what the kernel held, then EOF.
        stalled
            .stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut sink = vec![0u8; 1 << 16];
        let mut total = 0usize;
        loop {
            match stalled.stream.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
        assert!(total < 8 << 20, "[{io}] stalled client got {total} bytes");
    }
}

/// Over the soft limit for longer than its seconds, a subscriber is cut
/// at the next message; under it, the clock resets.
#[test]
fn the_soft_limit_counts_seconds() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut admin = server.conn();
        admin.line("CONFIG SET client-output-buffer-limit \"pubsub 0 1mb 1\"");
        let mut stalled = server.conn();
        stalled.send(&[b"SUBSCRIBE", b"slow"]);
        stalled.read_reply();
        let payload = vec![b'p'; 100_000];
        let mut publisher = server.conn();
        // 20 MB, more than the kernel's buffers take: over the soft limit,
        // but not for long yet.
        let batch: Vec<u8> = (0..200)
            .flat_map(|_| common::encode(&[b"PUBLISH", b"slow", &payload]))
            .collect();
        publisher.send_raw(&batch);
        for _ in 0..200 {
            assert_eq!(int(&publisher.read_reply()), 1, "[{io}]");
        }
        // Its unsent output shows.
        let list = String::from_utf8_lossy(&admin.line("CLIENT LIST")).into_owned();
        let omem: usize = list
            .split_whitespace()
            .filter_map(|f| f.strip_prefix("omem="))
            .filter_map(|v| v.parse().ok())
            .max()
            .unwrap_or(0);
        assert!(omem > 1 << 20, "[{io}] {list}");
        let max = info_field(&mut admin, "client_recent_max_output_buffer");
        assert!(
            max > 1 << 20,
            "[{io}] client_recent_max_output_buffer {max}"
        );
        std::thread::sleep(Duration::from_millis(2100));
        publisher.cmd(&[b"PUBLISH", b"slow", &payload]);
        eventually("the slow subscriber closed", || {
            int(&publisher.cmd(&[b"PUBLISH", b"slow", b"x"])) == 0
        });
        assert_eq!(clients(&mut admin), 2, "[{io}]");
    }
}

/// How many clients CLIENT LIST shows.
fn clients(admin: &mut Conn) -> usize {
    let list = admin.line("CLIENT LIST");
    String::from_utf8_lossy(&list).matches("id=").count()
}

/// A thread that subscribes to `channel` and reads `n` messages; returns
/// how many it got.
fn spawn_reader(server: &ServerProc, channel: &str, n: usize) -> std::thread::JoinHandle<usize> {
    let mut c = server.conn();
    c.send(&[b"SUBSCRIBE", channel.as_bytes()]);
    c.read_reply();
    std::thread::spawn(move || {
        let mut got = 0;
        while got < n {
            let m = c.read_reply();
            assert!(m.starts_with(b"*3\r\n$7\r\nmessage"));
            got += 1;
        }
        got
    })
}

/// `timeout` closes idle clients but never a subscriber, which only
/// listens (as in Redis).
#[test]
fn idle_subscribers_outlive_the_timeout() {
    for io in common::backends() {
        let server = common::rizzler(io, &["--timeout", "1"]);
        let mut sub = server.conn();
        sub.send(&[b"SUBSCRIBE", b"quiet"]);
        sub.read_reply();
        let idle = server.conn();
        std::thread::sleep(Duration::from_millis(2600));
        let mut publisher = server.conn();
        assert_eq!(
            int(&publisher.cmd(&[b"PUBLISH", b"quiet", b"still here"])),
            1,
            "[{io}]"
        );
        assert_eq!(sub.read_reply(), message("quiet", "still here"), "[{io}]");
        // The idle non-subscriber was closed.
        let mut idle = idle;
        let (rest, closed) = idle.read_until_close(Duration::from_millis(500));
        assert!(closed && rest.is_empty(), "[{io}] idle client not closed");
    }
}
