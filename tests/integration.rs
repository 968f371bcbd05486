//! The real binary on an ephemeral port, driven by a real client library
//! (the `redis` crate) and by raw bytes, on every backend.

mod common;

use std::time::Duration;

use redis::Commands;

#[test]
fn client_library_round_trips() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut c = server.client();
        let _: () = c.set("greeting", "hello").expect("SET");
        let v: String = c.get("greeting").expect("GET");
        assert_eq!(v, "hello", "[{io}]");
        let n: i64 = c.incr("counter", 5).expect("INCRBY");
        assert_eq!(n, 5, "[{io}]");
        let binary: Vec<u8> = (0..=255).collect();
        let _: () = c.set(b"bin\x00key", &binary).expect("SET binary");
        let back: Vec<u8> = c.get(b"bin\x00key").expect("GET binary");
        assert_eq!(back, binary, "[{io}]");
        let missing: Option<String> = c.get("nope").expect("GET missing");
        assert_eq!(missing, None, "[{io}]");
        let err = c
            .lpush::<_, _, i64>("greeting", "x")
            .expect_err("WRONGTYPE");
        assert_eq!(err.code(), Some("WRONGTYPE"), "[{io}]");
    }
}

#[test]
fn pipelines_are_answered_in_order() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut c = server.client();
        let mut pipe = redis::pipe();
        for i in 0..1000 {
            pipe.set(format!("k{i}"), i).ignore();
        }
        for i in 0..1000 {
            pipe.get(format!("k{i}"));
        }
        let values: Vec<i64> = pipe.query(&mut c).expect("pipeline");
        assert_eq!(values, (0..1000).collect::<Vec<_>>(), "[{io}]");
    }
}

#[test]
fn many_clients_share_one_keyspace() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let port = server.port;
                std::thread::spawn(move || {
                    let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                        .and_then(|c| c.get_connection())
                        .expect("connect");
                    for _ in 0..200 {
                        let _: i64 = c.incr("shared", 1).expect("INCR");
                    }
                    let _: () = c.set(format!("own{t}"), t).expect("SET");
                })
            })
            .collect();
        for t in threads {
            t.join().expect("client thread");
        }
        let mut c = server.client();
        let total: i64 = c.get("shared").expect("GET");
        assert_eq!(total, 1600, "[{io}]");
    }
}

#[test]
fn protocol_error_closes_only_that_connection() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut good = server.conn();
        assert_eq!(good.line("SET k v"), b"+OK\r\n");
        let mut bad = server.conn();
        bad.send_raw(b"*1\r\n$4\r\nPING\r\n*x\r\n");
        let (got, closed) = bad.read_until_close(Duration::from_secs(5));
        assert_eq!(
            got, b"+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n",
            "[{io}]"
        );
        assert!(closed, "[{io}] a protocol error closes the connection");
        assert_eq!(
            good.line("GET k"),
            b"$1\r\nv\r\n",
            "[{io}] other clients are unaffected"
        );
    }
}

#[test]
fn command_errors_keep_the_connection() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut c = server.conn();
        assert!(
            c.line("NOSUCHCMD").starts_with(b"-ERR unknown command"),
            "[{io}]"
        );
        assert_eq!(
            c.line("GET"),
            b"-ERR wrong number of arguments for 'get' command\r\n",
            "[{io}]"
        );
        assert_eq!(c.line("PING"), b"+PONG\r\n", "[{io}]");
    }
}

#[test]
fn quit_answers_then_closes() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut c = server.conn();
        c.send_raw(b"QUIT\r\nPING\r\n");
        let (got, closed) = c.read_until_close(Duration::from_secs(5));
        assert_eq!(got, b"+OK\r\n", "[{io}]");
        assert!(closed, "[{io}]");
    }
}

/// A QUIT or protocol error whose reply CLIENT REPLY drops still closes the
/// connection. (redis-server leaves such a connection open, never reading
/// from it again: a deliberate difference.)
#[test]
fn unanswered_quit_and_protocol_error_still_close() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        for input in [
            &b"CLIENT REPLY SKIP\r\nQUIT\r\nPING\r\n"[..],
            b"CLIENT REPLY OFF\r\nPING\r\n*x\r\n",
        ] {
            let mut c = server.conn();
            c.send_raw(input);
            let (got, closed) = c.read_until_close(Duration::from_secs(5));
            assert_eq!(got, b"", "[{io}] {input:?}");
            assert!(closed, "[{io}] {input:?}");
        }
    }
}

#[test]
fn sigterm_stops_cleanly() {
    for io in common::backends() {
        let mut server = common::rizzler(io, &[]);
        let mut c = server.conn();
        assert_eq!(c.line("PING"), b"+PONG\r\n");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &server.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = server
            .wait_exit(Duration::from_secs(10))
            .expect("exits after SIGTERM");
        assert!(exit.success(), "[{io}] exit status {exit}");
    }
}

#[test]
fn expired_keys_vanish_without_being_touched() {
    for io in common::backends() {
        let server = common::rizzler(io, &["--hz", "50"]);
        let mut c = server.conn();
        for i in 0..100 {
            assert_eq!(c.line(&format!("SET k{i} v PX 50")), b"+OK\r\n");
        }
        assert_eq!(c.line("SET keep v"), b"+OK\r\n");
        // Only the active cycle can remove them: nothing reads them.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if c.line("DBSIZE") == b":1\r\n" {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "[{io}] active expiry did not run"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    for io in common::backends() {
        let server = common::rizzler(io, &["--timeout", "1", "--hz", "50"]);
        let mut idle = server.conn();
        assert_eq!(idle.line("PING"), b"+PONG\r\n");
        let (got, closed) = idle.read_until_close(Duration::from_secs(5));
        assert!(
            closed && got.is_empty(),
            "[{io}] an idle client is closed after `timeout`"
        );
        assert_eq!(
            server.conn().line("PING"),
            b"+PONG\r\n",
            "[{io}] the server serves on"
        );
    }
}

#[test]
fn over_maxmemory_writes_are_refused_and_reads_served() {
    for io in common::backends() {
        let server = common::rizzler(io, &["--hz", "50"]);
        let mut c = server.conn();
        assert_eq!(c.line("SET k v"), b"+OK\r\n");
        assert_eq!(c.line("CONFIG SET maxmemory 1"), b"+OK\r\n");
        std::thread::sleep(Duration::from_millis(100)); // a cron tick measures memory
        assert_eq!(
            c.line("SET k2 v"),
            b"-OOM command not allowed when used memory > 'maxmemory'.\r\n",
            "[{io}]"
        );
        assert_eq!(c.line("GET k"), b"$1\r\nv\r\n", "[{io}]");
        assert_eq!(
            c.line("DEL k"),
            b":1\r\n",
            "[{io}] deleting frees memory, so it is allowed"
        );
        assert_eq!(c.line("CONFIG SET maxmemory 0"), b"+OK\r\n");
        assert_eq!(c.line("SET k2 v"), b"+OK\r\n", "[{io}]");
    }
}
