//! Hash commands, without sockets. Replies were checked against
//! redis-server 7.0.15; tests/diff/hashes.redis compares them live.

use rizzler::testing::{bulks, Harness};

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const HSET_ARITY: &str = "-ERR wrong number of arguments for 'hset' command\r\n";

#[test]
fn small_hashes_keep_insertion_order() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["HSET", "h", "z", "1", "a", "2"]), ":2\r\n");
    assert_eq!(h.text(&["HSET", "h", "m", "3", "z", "4"]), ":1\r\n");
    assert_eq!(h.encoding("h"), Some("listpack"));
    assert_eq!(
        h.text(&["HGETALL", "h"]),
        bulks(&["z", "4", "a", "2", "m", "3"])
    );
    assert_eq!(h.text(&["HKEYS", "h"]), bulks(&["z", "a", "m"]));
    assert_eq!(h.text(&["HVALS", "h"]), bulks(&["4", "2", "3"]));
    // A delete closes the gap; a re-added field goes to the end.
    assert_eq!(h.text(&["HDEL", "h", "z"]), ":1\r\n");
    assert_eq!(h.text(&["HSET", "h", "z", "5"]), ":1\r\n");
    assert_eq!(h.text(&["HKEYS", "h"]), bulks(&["a", "m", "z"]));
    assert_eq!(h.text(&["HLEN", "h"]), ":3\r\n");
}

#[test]
fn hset_same_field_twice_counts_once() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["HSET", "h", "a", "1", "a", "2"]), ":1\r\n");
    assert_eq!(h.text(&["HGETALL", "h"]), bulks(&["a", "2"]));
}

#[test]
fn hset_needs_field_value_pairs() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["HSET", "h", "a"]), HSET_ARITY);
    assert_eq!(h.text(&["HSET", "h", "a", "1", "b"]), HSET_ARITY);
    assert_eq!(h.text(&["HSET", "h"]), HSET_ARITY);
    assert!(!h.exists("h"));
    // The pair check comes before the type check.
    h.text(&["SET", "s", "v"]);
    assert_eq!(h.text(&["HSET", "s", "a", "1", "b"]), HSET_ARITY);
    assert_eq!(h.text(&["HSET", "s", "a", "1"]), WRONGTYPE);
}

#[test]
fn listpack_limits_are_512_entries_and_64_bytes() {
    let mut h = Harness::new();
    let mut args = vec!["HSET".to_string(), "h".to_string()];
    for i in 0..512 {
        args.push(format!("f{i}"));
        args.push("v".into());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(h.text(&refs), ":512\r\n");
    assert_eq!(h.encoding("h"), Some("listpack"));
    assert!(h
        .text(&["HKEYS", "h"])
        .starts_with("*512\r\n$2\r\nf0\r\n$2\r\nf1\r\n"));
    h.text(&["HSET", "h", "f0", "w"]);
    assert_eq!(h.encoding("h"), Some("listpack"));
    h.text(&["HSET", "h", "f512", "v"]);
    assert_eq!(h.encoding("h"), Some("hashtable"));
    assert_eq!(h.text(&["HLEN", "h"]), ":513\r\n");
    assert_eq!(h.text(&["HGET", "h", "f0"]), "$1\r\nw\r\n");

    let long64 = "x".repeat(64);
    let long65 = "x".repeat(65);
    h.text(&["HSET", "v", "a", &long64]);
    h.text(&["HSET", "f", &long64, "1"]);
    assert_eq!(h.encoding("v"), Some("listpack"));
    assert_eq!(h.encoding("f"), Some("listpack"));
    h.text(&["HSET", "v", "a", &long65]);
    h.text(&["HSET", "f", &long65, "1"]);
    assert_eq!(h.encoding("v"), Some("hashtable"));
    assert_eq!(h.encoding("f"), Some("hashtable"));
    assert_eq!(h.text(&["HGET", "v", "a"]), format!("$65\r\n{long65}\r\n"));
    assert_eq!(h.text(&["HEXISTS", "f", &long65]), ":1\r\n");
}

#[test]
fn hget_hexists_hlen() {
    let mut h = Harness::new();
    h.text(&["HSET", "h", "a", "1", "", ""]);
    assert_eq!(h.text(&["HGET", "h", "a"]), "$1\r\n1\r\n");
    assert_eq!(h.text(&["HGET", "h", ""]), "$0\r\n\r\n");
    assert_eq!(h.text(&["HGET", "h", "nope"]), "$-1\r\n");
    assert_eq!(h.text(&["HGET", "missing", "a"]), "$-1\r\n");
    assert_eq!(h.text(&["HEXISTS", "h", "a"]), ":1\r\n");
    assert_eq!(h.text(&["HEXISTS", "h", "nope"]), ":0\r\n");
    assert_eq!(h.text(&["HEXISTS", "missing", "a"]), ":0\r\n");
    assert_eq!(h.text(&["HLEN", "h"]), ":2\r\n");
    assert_eq!(h.text(&["HLEN", "missing"]), ":0\r\n");
}

#[test]
fn hdel_counts_and_deletes_emptied_hashes() {
    let mut h = Harness::new();
    h.text(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(h.text(&["HDEL", "h", "a", "nope", "a"]), ":1\r\n");
    assert_eq!(h.text(&["HDEL", "missing", "a"]), ":0\r\n");
    assert_eq!(h.text(&["HDEL", "h", "b", "c"]), ":2\r\n");
    assert!(!h.exists("h"));
    assert_eq!(h.text(&["HGETALL", "h"]), "*0\r\n");
    // A hashtable-encoded hash is deleted the same way.
    h.text(&["HSET", "t", "a", &"x".repeat(65)]);
    assert_eq!(h.text(&["HDEL", "t", "a"]), ":1\r\n");
    assert!(!h.exists("t"));
}

#[test]
fn missing_keys() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["HKEYS", "missing"]), "*0\r\n");
    assert_eq!(h.text(&["HVALS", "missing"]), "*0\r\n");
    assert_eq!(h.text(&["HGETALL", "missing"]), "*0\r\n");
}

#[test]
fn wrong_type_and_arity() {
    let mut h = Harness::new();
    h.text(&["RPUSH", "l", "v"]);
    for cmd in [
        &["HSET", "l", "a", "1"][..],
        &["HGET", "l", "a"],
        &["HDEL", "l", "a"],
        &["HKEYS", "l"],
        &["HVALS", "l"],
        &["HGETALL", "l"],
        &["HEXISTS", "l", "a"],
        &["HLEN", "l"],
    ] {
        assert_eq!(h.text(cmd), WRONGTYPE, "{cmd:?}");
    }
    assert_eq!(h.text(&["LLEN", "l"]), ":1\r\n");
    for (cmd, name) in [
        (&["HGET", "h"][..], "hget"),
        (&["HDEL", "h"], "hdel"),
        (&["HKEYS"], "hkeys"),
        (&["HVALS", "h", "x"], "hvals"),
        (&["HGETALL", "h", "x"], "hgetall"),
        (&["HEXISTS", "h"], "hexists"),
        (&["HLEN"], "hlen"),
    ] {
        assert_eq!(
            h.text(cmd),
            format!("-ERR wrong number of arguments for '{name}' command\r\n")
        );
    }
}

#[test]
fn resp3_replies() {
    let mut h = Harness::new();
    h.resp3();
    assert_eq!(h.text(&["HGETALL", "missing"]), "%0\r\n");
    assert_eq!(h.text(&["HKEYS", "missing"]), "*0\r\n");
    assert_eq!(h.text(&["HGET", "missing", "a"]), "_\r\n");
    h.text(&["HSET", "h", "f1", "v1", "f2", "v2"]);
    assert_eq!(
        h.text(&["HGETALL", "h"]),
        "%2\r\n$2\r\nf1\r\n$2\r\nv1\r\n$2\r\nf2\r\n$2\r\nv2\r\n"
    );
    assert_eq!(h.text(&["HKEYS", "h"]), bulks(&["f1", "f2"]));
    assert_eq!(h.text(&["HVALS", "h"]), bulks(&["v1", "v2"]));
    assert_eq!(h.text(&["HGET", "h", "nope"]), "_\r\n");
    // HEXISTS stays an integer in RESP3, as in Redis 7.0.
    assert_eq!(h.text(&["HEXISTS", "h", "f1"]), ":1\r\n");
}

#[test]
fn writes_count_as_dirty_and_reads_as_hits_or_misses() {
    let mut h = Harness::new();
    h.text(&["HSET", "h", "a", "1", "b", "2", "a", "3"]);
    assert_eq!(h.server.state.changes_since_save, 3);
    h.text(&["HDEL", "h", "a", "b", "z"]);
    assert_eq!(h.server.state.changes_since_save, 5);
    h.text(&["HSET", "h", "a", "1"]);
    let s = &h.server.store.stats;
    let before = (s.hits, s.misses);
    h.text(&["HGET", "h", "a"]);
    h.text(&["HGETALL", "h"]);
    h.text(&["HLEN", "missing"]);
    h.text(&["HDEL", "missing", "a"]);
    let s = &h.server.store.stats;
    assert_eq!((s.hits, s.misses), (before.0 + 2, before.1 + 1));
}
