//! Blocking pops on the real binary, on every backend: many waiters served
//! in arrival order, waiters that disconnect, CLIENT UNBLOCK, timeouts kept
//! to the millisecond rather than the cron's tick, and INFO's count.
//! (Replies byte for byte are the differential suite's:
//! tests/diff/blocking.redis.)

mod common;

use std::time::{Duration, Instant};

use common::{Conn, ServerProc};

fn info_field(c: &mut Conn, field: &str) -> i64 {
    let reply = c.line("INFO clients");
    let text = String::from_utf8_lossy(&reply).into_owned();
    text.split("\r\n")
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO"))
}

fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn blocked(server: &ServerProc, n: i64) {
    let mut c = server.conn();
    eventually(&format!("{n} blocked clients"), || {
        info_field(&mut c, "blocked_clients") == n
    });
}

fn pair(key: &str, value: &str) -> Vec<u8> {
    format!(
        "*2\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n",
        key.len(),
        value.len()
    )
    .into_bytes()
}

/// Fifty waiters on one list are served one element each, in the order
/// they blocked, by pushes that come in several batches; some of them
/// disconnect first and leave nothing behind.
#[test]
fn waiters_are_served_in_arrival_order() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut waiters: Vec<Option<Conn>> = Vec::new();
        for i in 0..50 {
            let mut c = server.conn();
            c.send(&[b"BLPOP", b"jobs", b"0"]);
            waiters.push(Some(c));
            blocked(&server, i + 1);
        }
        // Every fifth waiter goes away.
        for w in waiters.iter_mut().step_by(5) {
            *w = None;
        }
        blocked(&server, 40);
        let mut pusher = server.conn();
        let mut next = 0;
        for batch in [1usize, 9, 30] {
            let args: Vec<String> = (next..next + batch).map(|i| format!("j{i}")).collect();
            let mut cmd: Vec<&[u8]> = vec![b"RPUSH", b"jobs"];
            cmd.extend(args.iter().map(|a| a.as_bytes()));
            assert_eq!(
                pusher.cmd(&cmd),
                format!(":{batch}\r\n").into_bytes(),
                "{io}"
            );
            next += batch;
        }
        let mut served = 0;
        for w in waiters.iter_mut().flatten() {
            assert_eq!(w.read_reply(), pair("jobs", &format!("j{served}")), "{io}");
            served += 1;
        }
        assert_eq!(served, 40);
        assert_eq!(pusher.line("EXISTS jobs"), b":0\r\n", "{io}");
        blocked(&server, 0);
    }
}

/// CLIENT UNBLOCK answers a waiter as a timeout would, or with an error,
/// and its pipelined commands run after; an unknown or unblocked id is 0.
#[test]
fn client_unblock() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut w = server.conn();
        let id = w.line("CLIENT ID");
        let id = std::str::from_utf8(&id[1..id.len() - 2])
            .unwrap_or("0")
            .to_string();
        let mut admin = server.conn();
        assert_eq!(
            admin.cmd(&[b"CLIENT", b"UNBLOCK", id.as_bytes()]),
            b":0\r\n"
        );
        w.send(&[b"BLPOP", b"k", b"0"]);
        w.send(&[b"PING"]);
        blocked(&server, 1);
        let list = admin.line("CLIENT LIST");
        assert!(
            String::from_utf8_lossy(&list).contains("flags=b "),
            "{io}: {}",
            String::from_utf8_lossy(&list)
        );
        assert_eq!(
            admin.cmd(&[b"CLIENT", b"UNBLOCK", id.as_bytes()]),
            b":1\r\n"
        );
        assert_eq!(w.read_frames(2), b"*-1\r\n+PONG\r\n", "{io}");
        w.send(&[b"BZPOPMIN", b"z", b"0"]);
        blocked(&server, 1);
        let reply = admin.cmd(&[b"CLIENT", b"UNBLOCK", id.as_bytes(), b"ERROR"]);
        assert_eq!(reply, b":1\r\n");
        assert_eq!(
            w.read_reply(),
            b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n",
            "{io}"
        );
        assert_eq!(
            admin.cmd(&[b"CLIENT", b"UNBLOCK", id.as_bytes(), b"MAYBE"]),
            b"-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n"
        );
        blocked(&server, 0);
    }
}

/// A timeout of 30 ms with the cron at 1 Hz still answers in well under a
/// cron tick: the backend wakes for the deadline itself.
#[test]
fn timeouts_do_not_wait_for_the_cron() {
    for io in common::backends() {
        let server = common::rizzler(io, &["--hz", "1"]);
        let mut w = server.conn();
        for _ in 0..5 {
            let start = Instant::now();
            assert_eq!(w.cmd(&[b"BLPOP", b"k", b"0.03"]), b"*-1\r\n", "{io}");
            let took = start.elapsed();
            assert!(
                // Deadlines are whole milliseconds from a clock read in
                // whole milliseconds, as Redis's: up to 1 ms early.
                took >= Duration::from_millis(29) && took < Duration::from_millis(400),
                "{io}: a 30 ms timeout took {took:?}"
            );
        }
    }
}

fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend(format!("${}\r\n{a}\r\n", a.len()).into_bytes());
    }
    out
}

/// A wake-up that wakes another, whose pipelined command wakes the first:
/// every pipelined command still runs, in order, on both sides.
#[test]
fn a_chain_of_wake_ups_runs_every_pipelined_command() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut b = server.conn();
        b.send_raw(&[resp(&["BLPOP", "k", "0"]), resp(&["LPUSH", "x", "y"])].concat());
        blocked(&server, 1);
        let mut a = server.conn();
        a.send_raw(
            &[
                resp(&["LPUSH", "k", "v"]),
                resp(&["BLPOP", "x", "0"]),
                resp(&["PING"]),
            ]
            .concat(),
        );
        assert_eq!(
            a.read_frames(3),
            [&b":1\r\n"[..], &pair("x", "y"), b"+PONG\r\n"].concat(),
            "{io}"
        );
        assert_eq!(
            b.read_frames(2),
            [pair("k", "v"), b":1\r\n".to_vec()].concat(),
            "{io}"
        );
        blocked(&server, 0);
    }
}

/// A sorted-set waiter ahead of list waiters does not keep them waiting
/// for a list; a killed waiter takes nothing; `timeout` spares waiters;
/// CLIENT REPLY OFF holds for a late answer.
#[test]
fn waiters_that_must_not_be_served() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut admin = server.conn();
        let mut z = server.conn();
        z.send(&[b"BZPOPMIN", b"k", b"0"]);
        blocked(&server, 1);
        let mut l = server.conn();
        l.send(&[b"BLPOP", b"k", b"0"]);
        blocked(&server, 2);
        assert_eq!(admin.cmd(&[b"RPUSH", b"k", b"a"]), b":1\r\n");
        assert_eq!(l.read_reply(), pair("k", "a"), "{io}");
        blocked(&server, 1);

        // Killed, then data: the element stays.
        let list = String::from_utf8_lossy(&admin.line("CLIENT LIST")).into_owned();
        let zid = list
            .lines()
            .find(|l| l.contains("cmd=bzpopmin"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|f| f.strip_prefix("id="))
            .unwrap_or("0")
            .to_string();
        admin.send_raw(
            &[
                resp(&["CLIENT", "KILL", "ID", &zid]),
                resp(&["ZADD", "k2", "1", "m"]),
                resp(&["DEL", "k"]),
                resp(&["ZADD", "k", "1", "m"]),
            ]
            .concat(),
        );
        assert_eq!(admin.read_frames(4), b":1\r\n:1\r\n:0\r\n:1\r\n", "{io}");
        assert_eq!(admin.line("ZCARD k"), b":1\r\n", "{io}");
        blocked(&server, 0);

        // `timeout` does not close a waiter; CLIENT REPLY OFF drops its
        // late answer.
        assert_eq!(admin.line("CONFIG SET timeout 1"), b"+OK\r\n");
        let mut w = server.conn();
        w.send_raw(
            &[
                resp(&["CLIENT", "REPLY", "OFF"]),
                resp(&["BLPOP", "q", "0"]),
            ]
            .concat(),
        );
        blocked(&server, 1);
        std::thread::sleep(Duration::from_millis(2500));
        // (The idle admin connection was closed by `timeout` meanwhile.)
        let mut admin = server.conn();
        assert_eq!(admin.line("RPUSH q a"), b":1\r\n");
        blocked(&server, 0);
        assert_eq!(admin.line("LLEN q"), b":0\r\n", "{io}");
        w.send_raw(&[resp(&["CLIENT", "REPLY", "ON"]), resp(&["PING"])].concat());
        assert_eq!(w.read_frames(2), b"+OK\r\n+PONG\r\n", "{io}");
    }
}

/// One stream entry as XREAD answers it for one key (RESP2):
/// `[[key, [[id, [f, v]]]]]`.
fn xread_one(key: &str, id: &str, f: &str, v: &str) -> Vec<u8> {
    format!(
        "*1\r\n*2\r\n${}\r\n{key}\r\n*1\r\n*2\r\n${}\r\n{id}\r\n*2\r\n${}\r\n{f}\r\n${}\r\n{v}\r\n",
        key.len(),
        id.len(),
        f.len(),
        v.len()
    )
    .into_bytes()
}

/// XREAD BLOCK on `$`: every waiter gets what is added after it blocked,
/// and only that; a timeout answers a null array; BLOCK 0 waits forever.
#[test]
fn xread_block_wakes_every_waiter_with_the_new_entries() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut writer = server.conn();
        writer.cmd(&[b"XADD", b"s", b"1-1", b"old", b"x"]);
        let mut waiters = Vec::new();
        for i in 0..10 {
            let mut c = server.conn();
            c.send(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"]);
            waiters.push(c);
            blocked(&server, i + 1);
        }
        // A write to another key wakes nobody.
        writer.cmd(&[b"XADD", b"other", b"1-1", b"f", b"v"]);
        blocked(&server, 10);
        assert_eq!(
            writer.cmd(&[b"XADD", b"s", b"2-1", b"f", b"v"]),
            b"$3\r\n2-1\r\n"
        );
        for w in &mut waiters {
            assert_eq!(w.read_reply(), xread_one("s", "2-1", "f", "v"), "{io}");
        }
        blocked(&server, 0);
        let start = Instant::now();
        assert_eq!(
            writer.cmd(&[b"XREAD", b"BLOCK", b"40", b"STREAMS", b"s", b"$"]),
            b"*-1\r\n",
            "{io}"
        );
        assert!(start.elapsed() >= Duration::from_millis(39), "{io}");
    }
}

/// XREADGROUP BLOCK waiters of one group are served first come, first
/// served: three entries added in one transaction go one to each of the
/// first three waiters (COUNT 1), in the order they blocked; the fourth
/// keeps waiting until the next XADD.
#[test]
fn xreadgroup_block_serves_consumers_in_arrival_order() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut writer = server.conn();
        writer.cmd(&[b"XGROUP", b"CREATE", b"s", b"g", b"$", b"MKSTREAM"]);
        let mut waiters = Vec::new();
        for i in 0..4 {
            let mut c = server.conn();
            let name = format!("c{i}");
            c.send(&[
                b"XREADGROUP",
                b"GROUP",
                b"g",
                name.as_bytes(),
                b"COUNT",
                b"1",
                b"BLOCK",
                b"0",
                b"STREAMS",
                b"s",
                b">",
            ]);
            waiters.push(c);
            blocked(&server, i + 1);
        }
        writer.cmd(&[b"MULTI"]);
        for id in ["1-1", "2-1", "3-1"] {
            writer.cmd(&[b"XADD", b"s", id.as_bytes(), b"f", id.as_bytes()]);
        }
        writer.cmd(&[b"EXEC"]);
        for (w, id) in waiters.iter_mut().zip(["1-1", "2-1", "3-1"]) {
            assert_eq!(w.read_reply(), xread_one("s", id, "f", id), "{io}");
        }
        blocked(&server, 1);
        writer.cmd(&[b"XADD", b"s", b"4-1", b"f", b"4-1"]);
        assert_eq!(
            waiters[3].read_reply(),
            xread_one("s", "4-1", "f", "4-1"),
            "{io}"
        );
        // Each consumer owns what it got.
        let pending = writer.cmd(&[b"XPENDING", b"s", b"g"]);
        assert!(
            pending.starts_with(b"*4\r\n:4\r\n$3\r\n1-1\r\n$3\r\n4-1\r\n"),
            "{io}: {}",
            String::from_utf8_lossy(&pending)
        );
    }
}

/// An XREADGROUP waiter learns that its group or its stream went, with
/// Redis's errors; an XREAD waiter on a deleted stream keeps waiting.
#[test]
fn xreadgroup_waiters_are_told_when_the_group_or_stream_goes() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut writer = server.conn();
        writer.cmd(&[b"XGROUP", b"CREATE", b"s", b"g", b"$", b"MKSTREAM"]);
        let group_read: [&[u8]; 9] = [
            b"XREADGROUP",
            b"GROUP",
            b"g",
            b"c",
            b"BLOCK",
            b"0",
            b"STREAMS",
            b"s",
            b">",
        ];
        let mut a = server.conn();
        a.send(&group_read);
        blocked(&server, 1);
        writer.cmd(&[b"XGROUP", b"DESTROY", b"s", b"g"]);
        assert_eq!(
            a.read_reply(),
            b"-NOGROUP the consumer group this client was blocked on no longer exists\r\n",
            "{io}"
        );
        writer.cmd(&[b"XGROUP", b"CREATE", b"s", b"g", b"$"]);
        let mut b = server.conn();
        b.send(&group_read);
        let mut plain = server.conn();
        plain.send(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"]);
        blocked(&server, 2);
        writer.cmd(&[b"DEL", b"s"]);
        assert_eq!(
            b.read_reply(),
            b"-UNBLOCKED the stream key no longer exists\r\n",
            "{io}"
        );
        blocked(&server, 1);
        writer.cmd(&[b"XADD", b"s", b"1-1", b"f", b"v"]);
        assert_eq!(plain.read_reply(), xread_one("s", "1-1", "f", "v"), "{io}");
    }
}
