//! Memory accounting on the real binary: `used_memory` is what the server
//! holds, tracked as it changes, and MEMORY USAGE is of the order Redis
//! reports.

mod common;

use common::info_field;

use redis::Commands;

/// Writes `n` keys of 16-byte values with MSET, 1000 at a time.
fn fill(c: &mut redis::Connection, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let pairs: Vec<(String, String)> = chunk
            .iter()
            .map(|i| (format!("key:{i:08}"), format!("value:{i:010}")))
            .collect();
        let _: () = c.mset(&pairs).expect("MSET");
    }
}

#[test]
fn used_memory_follows_the_dataset() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut c = server.client();
        let start = info_field(&mut c, "memory", "used_memory");
        fill(&mut c, 200_000);
        let full = info_field(&mut c, "memory", "used_memory");
        let per_key = (full - start) / 200_000;
        // An entry is 88 bytes, plus the index and the slot vector's growth.
        assert!(
            (80..400).contains(&per_key),
            "[{io}] {per_key} bytes a key (from {start} to {full})"
        );
        let peak = info_field(&mut c, "memory", "used_memory_peak");
        assert!(peak >= full, "[{io}] peak {peak} under used {full}");
        let _: () = redis::cmd("FLUSHALL").query(&mut c).expect("FLUSHALL");
        let after = info_field(&mut c, "memory", "used_memory");
        assert!(
            after.abs_diff(start) < 1 << 20,
            "[{io}] used_memory {after} after FLUSHALL, {start} before the keys"
        );
        // A lazy FLUSHALL frees on another thread; the count follows.
        fill(&mut c, 100_000);
        let _: () = redis::cmd("FLUSHALL")
            .arg("ASYNC")
            .query(&mut c)
            .expect("FLUSHALL ASYNC");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let now = info_field(&mut c, "memory", "used_memory");
            if now.abs_diff(start) < 1 << 20 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "[{io}] used_memory {now} long after FLUSHALL ASYNC, {start} before"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

#[test]
fn maxmemory_uses_the_exact_figure() {
    for io in common::backends() {
        let server = common::rizzler(io, &[]);
        let mut c = server.client();
        let used = info_field(&mut c, "memory", "used_memory");
        let limit = used + (4 << 20);
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("maxmemory")
            .arg(limit)
            .query(&mut c)
            .expect("CONFIG SET");
        // Under the limit writes work; past it they get -OOM at once (no
        // 100 ms wait for a cron to notice), and reads and deletes still work.
        let _: () = c.set("first", "v").expect("SET under the limit");
        let big = "x".repeat(1 << 20);
        let mut refused = None;
        for i in 0..16 {
            match c.set::<_, _, ()>(format!("big{i}"), &big) {
                Ok(()) => {}
                Err(e) => {
                    refused = Some((i, e));
                    break;
                }
            }
        }
        let (i, e) = refused.unwrap_or_else(|| panic!("[{io}] 16 MiB written under a 4 MiB limit"));
        assert!((3..=5).contains(&i), "[{io}] refused at the {i}th MiB");
        assert_eq!(e.code(), Some("OOM"), "[{io}] {e}");
        let v: String = c.get("first").expect("GET over the limit");
        assert_eq!(v, "v");
        let n: i64 = c.del("big0").expect("DEL over the limit");
        assert_eq!(n, 1);
        let _: () = c.set("after", "v").expect("SET once under the limit again");
    }
}

/// MEMORY USAGE is an estimate in both servers; rizzler's must be of the
/// same order as Redis's for the same values.
#[test]
fn memory_usage_is_of_redis_order() {
    let redis = common::redis_server();
    let rizzler = common::rizzler("epoll", &[]);
    let mut a = redis.client();
    let mut b = rizzler.client();
    let long = "v".repeat(1000);
    let list: Vec<String> = (0..1000).map(|i| format!("element-{i}")).collect();
    let members: Vec<String> = (0..1000).map(|i| format!("member-{i}")).collect();
    let fields: Vec<(String, String)> = (0..1000)
        .map(|i| (format!("field-{i}"), format!("value-{i}")))
        .collect();
    for c in [&mut a, &mut b] {
        let _: () = c.set("short", "hello").expect("SET");
        let _: () = c.set("long", &long).expect("SET");
        let _: () = c.rpush("list", &list).expect("RPUSH");
        let _: () = c.sadd("set", &members).expect("SADD");
        let _: () = c.sadd("ints", &[1, 2, 3, 4, 5]).expect("SADD");
        let mut hset = redis::cmd("HSET");
        hset.arg("hash");
        for (f, v) in &fields {
            hset.arg(f).arg(v);
        }
        let _: () = hset.query(c).expect("HSET");
        let _: () = c.hset("small", "f", "v").expect("HSET");
    }
    for key in ["short", "long", "list", "set", "ints", "hash", "small"] {
        let usage = |c: &mut redis::Connection| -> i64 {
            redis::cmd("MEMORY")
                .arg("USAGE")
                .arg(key)
                .arg("SAMPLES")
                .arg(0)
                .query(c)
                .expect("MEMORY USAGE")
        };
        let (ra, rb) = (usage(&mut a), usage(&mut b));
        let ratio = rb as f64 / ra as f64;
        eprintln!("MEMORY USAGE {key}: redis {ra}, rizzler {rb} ({ratio:.2})");
        // Within an order of magnitude either way. (A one-field hash is
        // the far end: a Vec of 64-byte pairs grown to four against
        // Redis's compact listpack.)
        assert!(
            (0.1..10.0).contains(&ratio),
            "MEMORY USAGE {key}: redis {ra}, rizzler {rb}"
        );
    }
    let none: Option<i64> = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg("nokey")
        .query(&mut b)
        .expect("MEMORY USAGE");
    assert_eq!(none, None);
}
