//! Keyspace and expiry commands, without sockets: what the differential
//! scripts cannot show (types other than strings, SCAN's guarantee over a
//! changing keyspace, other databases, stats, active expiry).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use rizzler::error::CmdError;
use rizzler::resp::Proto;
use rizzler::store::{Hash, Set, Value};
use rizzler::testing::Harness;
use rizzler::util::now_ms;

fn list(items: &[&str]) -> Value {
    Value::List(
        items
            .iter()
            .map(|s| s.as_bytes().into())
            .collect::<VecDeque<_>>(),
    )
}

fn set_of(items: &[&str]) -> Value {
    let mut s = Set::default();
    for i in items {
        s.insert(i.as_bytes());
    }
    Value::Set(s)
}

fn hash_of(pairs: &[(&str, &str)]) -> Value {
    let mut h = Hash::default();
    for (f, v) in pairs {
        h.insert(f.as_bytes(), v.as_bytes());
    }
    Value::Hash(h)
}

/// Stores a value in database `db` directly (the list/set/hash commands
/// belong to other families).
fn put(h: &mut Harness, db: usize, key: &str, value: Value) {
    h.with_db(db, |d| d.set(key.as_bytes(), value, None, "set"));
}

fn select(h: &mut Harness, db: usize) {
    h.server.state.clients[h.session.client].db = db;
}

fn int(reply: &str) -> i64 {
    reply
        .strip_prefix(':')
        .and_then(|r| r.strip_suffix("\r\n"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not an integer reply: {reply:?}"))
}

/// A SCAN reply: the next cursor and the keys.
fn scan_reply(reply: &str) -> (u64, Vec<String>) {
    let mut lines = reply.split("\r\n");
    assert_eq!(lines.next(), Some("*2"), "{reply:?}");
    assert!(lines.next().is_some_and(|l| l.starts_with('$')));
    let cursor = lines.next().and_then(|c| c.parse().ok()).expect("cursor");
    let n: usize = lines
        .next()
        .and_then(|l| l.strip_prefix('*'))
        .and_then(|n| n.parse().ok())
        .expect("key count");
    let mut keys = Vec::new();
    for _ in 0..n {
        let _len = lines.next();
        keys.push(lines.next().expect("key").to_string());
    }
    (cursor, keys)
}

/// Every key of a full SCAN, calling `between` after each call.
fn full_scan(h: &mut Harness, opts: &[&str], mut between: impl FnMut(&mut Harness)) -> Vec<String> {
    let mut cursor = 0u64;
    let mut all = Vec::new();
    let mut calls = 0;
    loop {
        let c = cursor.to_string();
        let mut cmd = vec!["SCAN", c.as_str()];
        cmd.extend_from_slice(opts);
        let (next, keys) = scan_reply(&h.text(&cmd));
        all.extend(keys);
        between(h);
        calls += 1;
        assert!(calls < 100_000, "SCAN does not terminate");
        if next == 0 {
            return all;
        }
        cursor = next;
    }
}

#[test]
fn type_names_every_kind() {
    let mut h = Harness::new();
    h.text(&["SET", "s", "v"]);
    put(&mut h, 0, "l", list(&["a"]));
    put(&mut h, 0, "z", set_of(&["a"]));
    put(&mut h, 0, "i", set_of(&["1"]));
    put(&mut h, 0, "h", hash_of(&[("f", "v")]));
    assert_eq!(h.text(&["TYPE", "s"]), "+string\r\n");
    assert_eq!(h.text(&["TYPE", "l"]), "+list\r\n");
    assert_eq!(h.text(&["TYPE", "z"]), "+set\r\n");
    assert_eq!(h.text(&["TYPE", "i"]), "+set\r\n");
    assert_eq!(h.text(&["TYPE", "h"]), "+hash\r\n");
    assert_eq!(h.text(&["TYPE", "nope"]), "+none\r\n");
}

#[test]
fn del_exists_touch_count_per_argument() {
    let mut h = Harness::new();
    h.text(&["SET", "a", "1"]);
    put(&mut h, 0, "l", list(&["x", "y"]));
    assert_eq!(h.text(&["EXISTS", "a", "a", "l", "x"]), ":3\r\n");
    assert_eq!(h.text(&["TOUCH", "a", "l", "x", "l"]), ":3\r\n");
    assert_eq!(h.text(&["DEL", "a", "a", "l", "x"]), ":2\r\n");
    assert_eq!(h.text(&["EXISTS", "a", "l"]), ":0\r\n");
    assert_eq!(h.server.store.dbs[0].len(), 0);
    assert_eq!(h.text(&["UNLINK", "a"]), ":0\r\n");
}

#[test]
fn expired_keys_are_invisible_to_every_command() {
    let mut h = Harness::new();
    for k in ["a", "b", "c"] {
        h.text(&["SET", k, "v"]);
    }
    h.text(&["PEXPIRE", "a", "1"]);
    h.text(&["PEXPIRE", "b", "1"]);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(h.text(&["KEYS", "*"]), "*1\r\n$1\r\nc\r\n");
    assert_eq!(h.text(&["EXISTS", "a"]), ":0\r\n");
    assert_eq!(h.text(&["DEL", "b"]), ":0\r\n");
    assert_eq!(h.text(&["TTL", "a"]), ":-2\r\n");
    assert_eq!(h.text(&["RENAME", "a", "z"]), "-ERR no such key\r\n");
    assert_eq!(h.text(&["RANDOMKEY"]), "$1\r\nc\r\n");
    assert_eq!(h.server.store.dbs[0].len(), 1);
}

#[test]
fn randomkey_returns_live_keys_and_null_when_empty() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["RANDOMKEY"]), "$-1\r\n");
    let mut seen = HashSet::new();
    for i in 0..20 {
        h.text(&["SET", &format!("k{i}"), "v"]);
    }
    for _ in 0..400 {
        let r = h.text(&["RANDOMKEY"]);
        let key = r.split("\r\n").nth(1).expect("bulk").to_string();
        assert!(key.starts_with('k'), "{r:?}");
        seen.insert(key);
    }
    // Random, not always the same key.
    assert!(seen.len() > 5, "only {seen:?}");
    // All keys expired: null, and they are gone.
    for i in 0..20 {
        h.text(&["PEXPIRE", &format!("k{i}"), "1"]);
    }
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(h.text(&["RANDOMKEY"]), "$-1\r\n");
    h.server.state.clients[h.session.client].out.proto = Proto::Resp3;
    assert_eq!(h.text(&["RANDOMKEY"]), "_\r\n");
}

#[test]
fn keys_lists_matches_and_survives_hostile_patterns() {
    let mut h = Harness::new();
    for k in ["hello", "hallo", "hxllo", "", "a[b"] {
        h.text(&["SET", k, "v"]);
    }
    let r = h.text(&["KEYS", "h[ae]llo"]);
    assert!(r.starts_with("*2\r\n") && r.contains("hello") && r.contains("hallo"));
    assert_eq!(h.text(&["KEYS", "h[^ae]llo"]), "*1\r\n$5\r\nhxllo\r\n");
    assert_eq!(h.text(&["KEYS", "a\\[b"]), "*1\r\n$3\r\na[b\r\n");
    // "" is listed by `*` only, as in Redis.
    assert!(h.text(&["KEYS", "*"]).starts_with("*5\r\n"));
    assert!(h.text(&["KEYS", "**"]).starts_with("*4\r\n"));

    // CVE-2022-36021: many stars against a long key of 'a's.
    let long = "a".repeat(50_000);
    h.text(&["SET", &long, "v"]);
    let pattern = format!("{}b", "a*".repeat(500));
    let start = Instant::now();
    assert_eq!(h.text(&["KEYS", &pattern]), "*0\r\n");
    let mut cursor = 0u64;
    loop {
        let (next, keys) = scan_reply(&h.text(&["SCAN", &cursor.to_string(), "MATCH", &pattern]));
        assert!(keys.is_empty());
        if next == 0 {
            break;
        }
        cursor = next;
    }
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "hostile pattern took {:?}",
        start.elapsed()
    );
}

#[test]
fn scan_returns_each_key_once_with_count_match_and_type() {
    let mut h = Harness::new();
    for i in 0..500 {
        h.text(&["SET", &format!("key:{i}"), "v"]);
    }
    for i in 0..50 {
        put(&mut h, 0, &format!("list:{i}"), list(&["x"]));
    }
    let all = full_scan(&mut h, &[], |_| {});
    assert_eq!(all.len(), 550);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 550);

    for count in ["1", "7", "1000"] {
        let keys = full_scan(&mut h, &["COUNT", count], |_| {});
        assert_eq!(keys.len(), 550, "COUNT {count}");
    }
    // COUNT is a hint: one call with a big COUNT returns everything.
    let (next, keys) = scan_reply(&h.text(&["SCAN", "0", "COUNT", "100000"]));
    assert_eq!((next, keys.len()), (0, 550));
    // Default COUNT is 10: a first call returns about that many.
    let (next, keys) = scan_reply(&h.text(&["SCAN", "0"]));
    assert!(next != 0 && keys.len() <= 10, "{next} {}", keys.len());

    let lists = full_scan(&mut h, &["TYPE", "list"], |_| {});
    assert_eq!(lists.len(), 50);
    assert!(lists.iter().all(|k| k.starts_with("list:")));
    let lists = full_scan(&mut h, &["TYPE", "LIST", "COUNT", "3"], |_| {});
    assert_eq!(lists.len(), 50);
    assert!(full_scan(&mut h, &["TYPE", "hash"], |_| {}).is_empty());

    let matched = full_scan(&mut h, &["MATCH", "key:1?", "COUNT", "20"], |_| {});
    let mut matched: Vec<_> = matched.into_iter().collect();
    matched.sort();
    let mut want: Vec<_> = (10..20).map(|i| format!("key:{i}")).collect();
    want.sort();
    assert_eq!(matched, want);
    assert!(full_scan(&mut h, &["MATCH", "list:*", "TYPE", "string"], |_| {}).is_empty());
}

#[test]
fn scan_guarantee_holds_while_keys_come_and_go() {
    let mut h = Harness::new();
    for i in 0..300 {
        h.text(&["SET", &format!("stable:{i}"), "v"]);
    }
    for i in 0..300 {
        h.text(&["SET", &format!("doomed:{i}"), "v"]);
    }
    let mut round = 0;
    let seen = full_scan(&mut h, &["COUNT", "5"], |h| {
        // Between calls: delete some keys and add as many new ones, so
        // freed slots are reused behind and ahead of the cursor; once, add
        // a burst that grows the table well past its size at the start.
        // (Like Redis, SCAN only promises to end while the keyspace stays
        // bounded, so it must not grow on every call.)
        for j in 0..3 {
            h.text(&["DEL", &format!("doomed:{}", (round * 3 + j) % 300)]);
            h.text(&["SET", &format!("new:{round}:{j}"), "v"]);
        }
        h.text(&["DEL", &format!("new:{round}:1")]);
        if round == 20 {
            for j in 0..2000 {
                h.text(&["SET", &format!("burst:{j}"), "v"]);
            }
        }
        round += 1;
    });
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for k in &seen {
        *counts.entry(k.as_str()).or_default() += 1;
    }
    for i in 0..300 {
        let k = format!("stable:{i}");
        assert_eq!(
            counts.get(k.as_str()),
            Some(&1),
            "{k} must be returned exactly once"
        );
    }
    assert!(counts.values().all(|&n| n == 1), "a key was returned twice");
}

#[test]
fn scan_skips_and_removes_expired_keys() {
    let mut h = Harness::new();
    for i in 0..20 {
        h.text(&["SET", &format!("k{i}"), "v"]);
    }
    for i in 0..10 {
        h.text(&["PEXPIRE", &format!("k{i}"), "1"]);
    }
    std::thread::sleep(Duration::from_millis(5));
    let keys = full_scan(&mut h, &["COUNT", "100"], |_| {});
    assert_eq!(keys.len(), 10);
    assert_eq!(h.server.store.dbs[0].len(), 10);
}

#[test]
fn scan_errors() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["SCAN", "x"]), "-ERR invalid cursor\r\n");
    assert_eq!(
        h.text(&["SCAN", "0", "COUNT", "0"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(h.text(&["SCAN", "0", "MATCH"]), "-ERR syntax error\r\n");
    assert_eq!(
        h.text(&["SCAN", "0", "COUNT", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    // A cursor past the end simply ends the scan.
    assert_eq!(h.text(&["SCAN", "123456789"]), "*2\r\n$1\r\n0\r\n*0\r\n");
}

#[test]
fn copy_is_deep_and_keeps_the_ttl() {
    let mut h = Harness::new();
    put(&mut h, 0, "l", list(&["a", "b"]));
    put(&mut h, 0, "s", set_of(&["x", "y"]));
    put(&mut h, 0, "h", hash_of(&[("f", "v")]));
    for k in ["l", "s", "h"] {
        assert_eq!(h.text(&["COPY", k, &format!("{k}2")]), ":1\r\n");
    }
    // Changing the originals leaves the copies alone.
    h.with_db(0, |db| {
        if let Some(Value::List(l)) = db.modify(b"l", "test").as_deref_mut() {
            l.push_back(b"c".as_slice().into());
        }
        if let Some(Value::Set(s)) = db.modify(b"s", "test").as_deref_mut() {
            s.insert(b"z");
        }
        if let Some(Value::Hash(hh)) = db.modify(b"h", "test").as_deref_mut() {
            hh.insert(b"g", b"w");
        }
        match db.read(b"l2") {
            Some(Value::List(l)) => assert_eq!(l.len(), 2),
            other => panic!("l2 is {other:?}"),
        }
        match db.read(b"s2") {
            Some(Value::Set(s)) => assert_eq!(s.len(), 2),
            other => panic!("s2 is {other:?}"),
        }
        match db.read(b"h2") {
            Some(Value::Hash(hh)) => assert_eq!(hh.len(), 1),
            other => panic!("h2 is {other:?}"),
        }
    });
    assert_eq!(h.text(&["TYPE", "s2"]), "+set\r\n");

    h.text(&["PEXPIRE", "l", "100000"]);
    assert_eq!(h.text(&["COPY", "l", "l2", "REPLACE"]), ":1\r\n");
    let pttl = int(&h.text(&["PTTL", "l2"]));
    assert!((99_000..=100_000).contains(&pttl), "{pttl}");
    // REPLACE also replaces the target's TTL with the source's (none).
    assert_eq!(h.text(&["COPY", "s", "l2", "REPLACE"]), ":1\r\n");
    assert_eq!(h.text(&["TTL", "l2"]), ":-1\r\n");
    assert_eq!(h.text(&["TYPE", "l2"]), "+set\r\n");
}

#[test]
fn copy_and_move_between_databases() {
    let mut h = Harness::new();
    h.text(&["SET", "k", "v"]);
    h.text(&["PEXPIRE", "k", "100000"]);
    assert_eq!(h.text(&["COPY", "k", "k", "DB", "5"]), ":1\r\n");
    assert_eq!(h.text(&["COPY", "k", "k", "DB", "5"]), ":0\r\n");
    assert!(h.with_db(5, |d| d.contains(b"k")));
    assert_eq!(h.text(&["EXISTS", "k"]), ":1\r\n");

    put(&mut h, 0, "l", list(&["a"]));
    assert_eq!(h.text(&["MOVE", "l", "7"]), ":1\r\n");
    assert_eq!(h.text(&["EXISTS", "l"]), ":0\r\n");
    assert_eq!(h.text(&["MOVE", "k", "5"]), ":0\r\n", "exists in target");
    assert_eq!(h.text(&["EXISTS", "k"]), ":1\r\n");
    assert_eq!(h.text(&["MOVE", "k", "9"]), ":1\r\n");

    select(&mut h, 7);
    assert_eq!(h.text(&["TYPE", "l"]), "+list\r\n");
    assert_eq!(
        h.text(&["MOVE", "l", "7"]),
        "-ERR source and destination objects are the same\r\n"
    );
    select(&mut h, 9);
    // MOVE carries the TTL.
    let pttl = int(&h.text(&["PTTL", "k"]));
    assert!((99_000..=100_000).contains(&pttl), "{pttl}");
    select(&mut h, 5);
    let pttl = int(&h.text(&["PTTL", "k"]));
    assert!((99_000..=100_000).contains(&pttl), "{pttl}");
    assert_eq!(
        h.text(&["COPY", "k", "k"]),
        "-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(h.text(&["COPY", "k", "k", "DB", "0"]), ":1\r\n");
    assert_eq!(
        h.text(&["MOVE", "k", "16"]),
        "-ERR DB index is out of range\r\n"
    );
}

#[test]
fn rename_keeps_value_type_and_ttl() {
    let mut h = Harness::new();
    put(&mut h, 0, "h", hash_of(&[("f", "v")]));
    h.text(&["PEXPIRE", "h", "100000"]);
    h.text(&["SET", "t", "old"]);
    assert_eq!(h.text(&["RENAME", "h", "t"]), "+OK\r\n");
    assert_eq!(h.text(&["TYPE", "t"]), "+hash\r\n");
    let pttl = int(&h.text(&["PTTL", "t"]));
    assert!((99_000..=100_000).contains(&pttl), "{pttl}");
    assert_eq!(h.text(&["EXISTS", "h"]), ":0\r\n");
    assert_eq!(h.server.store.dbs[0].len(), 1);
    assert_eq!(h.server.store.dbs[0].expires_len(), 1);
    assert_eq!(h.text(&["RENAMENX", "t", "u"]), ":1\r\n");
    assert_eq!(h.text(&["TTL", "u"]), ":100\r\n");
    assert_eq!(h.server.store.dbs[0].expires_len(), 1);
}

#[test]
fn pttl_and_expire_variants_agree() {
    let mut h = Harness::new();
    h.text(&["SET", "k", "v"]);
    let before = now_ms() as i64;
    assert_eq!(h.text(&["PEXPIRE", "k", "5000"]), ":1\r\n");
    let pttl = int(&h.text(&["PTTL", "k"]));
    assert!((4_900..=5_000).contains(&pttl), "{pttl}");
    assert_eq!(h.text(&["TTL", "k"]), ":5\r\n");
    let at = int(&h.text(&["PEXPIRETIME", "k"]));
    assert!(
        at >= before + 5_000 && at <= now_ms() as i64 + 5_000,
        "{at}"
    );
    let secs = int(&h.text(&["EXPIRETIME", "k"]));
    assert_eq!(secs, (at + 500) / 1000);

    let target = now_ms() as i64 + 60_000;
    assert_eq!(h.text(&["PEXPIREAT", "k", &target.to_string()]), ":1\r\n");
    assert_eq!(int(&h.text(&["PEXPIRETIME", "k"])), target);
    let target_s = now_ms() as i64 / 1000 + 120;
    assert_eq!(h.text(&["EXPIREAT", "k", &target_s.to_string()]), ":1\r\n");
    assert_eq!(int(&h.text(&["PEXPIRETIME", "k"])), target_s * 1000);
    assert_eq!(int(&h.text(&["EXPIRETIME", "k"])), target_s);
    assert_eq!(h.text(&["EXPIRE", "k", "30"]), ":1\r\n");
    let pttl = int(&h.text(&["PTTL", "k"]));
    assert!((29_900..=30_000).contains(&pttl), "{pttl}");
}

#[test]
fn gt_and_lt_compare_milliseconds() {
    let mut h = Harness::new();
    h.text(&["SET", "k", "v"]);
    h.text(&["PEXPIRE", "k", "10000"]);
    let at = int(&h.text(&["PEXPIRETIME", "k"]));
    assert_eq!(h.text(&["PEXPIREAT", "k", &at.to_string(), "GT"]), ":0\r\n");
    assert_eq!(h.text(&["PEXPIREAT", "k", &at.to_string(), "LT"]), ":0\r\n");
    assert_eq!(
        h.text(&["PEXPIREAT", "k", &(at + 1).to_string(), "GT"]),
        ":1\r\n"
    );
    assert_eq!(h.text(&["PEXPIREAT", "k", &at.to_string(), "LT"]), ":1\r\n");
    assert_eq!(int(&h.text(&["PEXPIRETIME", "k"])), at);
}

#[test]
fn past_expiry_deletes_and_counts_as_a_write() {
    let mut h = Harness::new();
    h.text(&["SET", "k", "v"]);
    let dirty = h.server.state.changes_since_save;
    assert_eq!(h.text(&["EXPIRE", "k", "0"]), ":1\r\n");
    assert_eq!(h.server.store.dbs[0].len(), 0);
    assert_eq!(h.server.store.dbs[0].expires_len(), 0);
    assert_eq!(h.server.state.changes_since_save, dirty + 1);
    assert_eq!(h.text(&["EXPIRE", "k", "0"]), ":0\r\n");
    assert_eq!(h.server.state.changes_since_save, dirty + 1);
}

#[test]
fn persist_removes_the_ttl() {
    let mut h = Harness::new();
    h.text(&["SET", "k", "v"]);
    h.text(&["EXPIRE", "k", "100"]);
    assert_eq!(h.server.store.dbs[0].expires_len(), 1);
    assert_eq!(h.text(&["PERSIST", "k"]), ":1\r\n");
    assert_eq!(h.server.store.dbs[0].expires_len(), 0);
    assert_eq!(h.text(&["TTL", "k"]), ":-1\r\n");
    assert_eq!(h.text(&["PERSIST", "k"]), ":0\r\n");
}

#[test]
fn reads_count_hits_and_misses_writes_do_not() {
    let mut h = Harness::new();
    h.text(&["SET", "k", "v"]);
    let stats = |h: &Harness| (h.server.store.stats.hits, h.server.store.stats.misses);
    let base = stats(&h);
    h.text(&["EXISTS", "k", "x"]);
    h.text(&["TYPE", "k"]);
    h.text(&["TTL", "x"]);
    h.text(&["TOUCH", "k"]);
    h.text(&["COPY", "x", "y"]);
    assert_eq!(stats(&h), (base.0 + 3, base.1 + 3));
    let base = stats(&h);
    h.text(&["DEL", "x"]);
    h.text(&["EXPIRE", "k", "100"]);
    h.text(&["PERSIST", "k"]);
    h.text(&["RENAME", "k", "k2"]);
    h.text(&["MOVE", "k2", "1"]);
    assert_eq!(stats(&h), base);
}

#[test]
fn active_expiry_removes_keys_nobody_reads() {
    let mut h = Harness::new();
    for i in 0..50 {
        h.text(&["SET", &format!("k{i}"), "v"]);
        h.text(&["PEXPIRE", &format!("k{i}"), "1"]);
    }
    h.text(&["SET", "keep", "v"]);
    h.text(&["EXPIRE", "keep", "100"]);
    h.text(&["SET", "plain", "v"]);
    assert_eq!(h.server.store.dbs[0].len(), 52);
    std::thread::sleep(Duration::from_millis(5));
    // Without any command touching the keys, the cron's cycle finds them.
    for _ in 0..10 {
        rizzler::server::cron(&mut h.server.store, &mut h.server.state);
    }
    assert_eq!(h.server.store.dbs[0].len(), 2);
    assert_eq!(h.server.store.dbs[0].expires_len(), 1);
    assert_eq!(h.server.store.stats.expired, 50);
}

#[test]
fn invalid_expire_names_the_command() {
    for cmd in [
        "set",
        "setex",
        "psetex",
        "getex",
        "expire",
        "pexpire",
        "expireat",
        "pexpireat",
    ] {
        assert_eq!(
            CmdError::InvalidExpire(cmd).message(),
            format!("ERR invalid expire time in '{cmd}' command").as_bytes()
        );
    }
    let mut h = Harness::new();
    h.text(&["SET", "k", "v"]);
    assert_eq!(
        h.text(&["PEXPIREAT", "k", "9223372036854775807", "XX"]),
        ":0\r\n"
    );
    assert_eq!(
        h.text(&["EXPIREAT", "k", "9223372036854776"]),
        "-ERR invalid expire time in 'expireat' command\r\n"
    );
    assert_eq!(
        h.text(&["EXPIRE", "k", "1", "sometimes"]),
        "-ERR Unsupported option sometimes\r\n"
    );
}
