//! Set commands, without sockets. Replies were checked against
//! redis-server 7.0.15; tests/diff/sets.redis compares them live.

use rizzler::testing::{bulks, Harness};

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

/// The members of an array or set reply, sorted.
fn members(reply: &str) -> Vec<String> {
    let mut v: Vec<String> = reply
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.starts_with('$') && !l.is_empty())
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

#[test]
fn sadd_counts_new_members() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["SADD", "s", "a", "b", "a"]), ":2\r\n");
    assert_eq!(h.text(&["SADD", "s", "b", "c"]), ":1\r\n");
    assert_eq!(h.text(&["SADD", "s", "a"]), ":0\r\n");
    assert_eq!(h.text(&["SCARD", "s"]), ":3\r\n");
    assert_eq!(members(&h.text(&["SMEMBERS", "s"])), ["a", "b", "c"]);
}

#[test]
fn integer_sets_answer_in_numeric_order() {
    let mut h = Harness::new();
    h.text(&["SADD", "s", "10", "-5", "3", "0", "9223372036854775807"]);
    h.text(&["SADD", "s", "-9223372036854775808", "2"]);
    assert_eq!(h.encoding("s"), Some("intset"));
    assert_eq!(
        h.text(&["SMEMBERS", "s"]),
        bulks(&[
            "-9223372036854775808",
            "-5",
            "0",
            "2",
            "3",
            "10",
            "9223372036854775807"
        ])
    );
    h.text(&["SREM", "s", "0", "10"]);
    assert_eq!(
        h.text(&["SMEMBERS", "s"]),
        bulks(&[
            "-9223372036854775808",
            "-5",
            "2",
            "3",
            "9223372036854775807"
        ])
    );
}

#[test]
fn non_canonical_integers_are_strings() {
    let mut h = Harness::new();
    for (key, member) in [
        ("a", "01"),
        ("b", "-0"),
        ("c", "+1"),
        ("d", " 1"),
        ("e", "9223372036854775808"),
    ] {
        h.text(&["SADD", key, member]);
        assert_eq!(h.encoding(key), Some("hashtable"), "{member:?}");
    }
    h.text(&["SADD", "f", "1", "01"]);
    assert_eq!(h.text(&["SCARD", "f"]), ":2\r\n");
    assert_eq!(h.text(&["SISMEMBER", "f", "01"]), ":1\r\n");
    assert_eq!(h.text(&["SISMEMBER", "f", "001"]), ":0\r\n");
    assert_eq!(h.text(&["SISMEMBER", "f", "1"]), ":1\r\n");
}

#[test]
fn intset_limit_is_512() {
    let mut h = Harness::new();
    let mut args = vec!["SADD".to_string(), "s".to_string()];
    args.extend((0..512).rev().map(|n| n.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(h.text(&refs), ":512\r\n");
    assert_eq!(h.encoding("s"), Some("intset"));
    assert_eq!(h.text(&["SADD", "s", "5"]), ":0\r\n");
    assert_eq!(h.encoding("s"), Some("intset"));
    assert!(h
        .text(&["SMEMBERS", "s"])
        .starts_with("*512\r\n$1\r\n0\r\n$1\r\n1\r\n"));
    assert_eq!(h.text(&["SADD", "s", "512"]), ":1\r\n");
    assert_eq!(h.encoding("s"), Some("hashtable"));
    assert_eq!(h.text(&["SCARD", "s"]), ":513\r\n");
    assert_eq!(h.text(&["SISMEMBER", "s", "511"]), ":1\r\n");
    // An encoding never shrinks back.
    h.text(&["SREM", "s", "512"]);
    assert_eq!(h.encoding("s"), Some("hashtable"));
}

#[test]
fn a_string_member_converts_an_intset() {
    let mut h = Harness::new();
    h.text(&["SADD", "s", "3", "1"]);
    assert_eq!(h.text(&["SADD", "s", "x"]), ":1\r\n");
    assert_eq!(h.encoding("s"), Some("hashtable"));
    assert_eq!(members(&h.text(&["SMEMBERS", "s"])), ["1", "3", "x"]);
    assert_eq!(h.text(&["SISMEMBER", "s", "3"]), ":1\r\n");
    assert_eq!(h.text(&["SREM", "s", "3", "x"]), ":2\r\n");
    assert_eq!(h.text(&["SMEMBERS", "s"]), bulks(&["1"]));
}

#[test]
fn srem_counts_and_deletes_emptied_sets() {
    let mut h = Harness::new();
    h.text(&["SADD", "s", "a", "b", "1"]);
    assert_eq!(h.text(&["SREM", "s", "a", "z", "a"]), ":1\r\n");
    assert_eq!(h.text(&["SREM", "missing", "a"]), ":0\r\n");
    assert_eq!(h.text(&["SREM", "s", "b", "1"]), ":2\r\n");
    assert!(!h.exists("s"));
    h.text(&["SADD", "i", "1"]);
    h.text(&["SREM", "i", "1"]);
    assert!(!h.exists("i"));
    assert_eq!(h.text(&["RPUSH", "i", "x"]), ":1\r\n");
}

#[test]
fn missing_keys() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["SMEMBERS", "missing"]), "*0\r\n");
    assert_eq!(h.text(&["SISMEMBER", "missing", "a"]), ":0\r\n");
    assert_eq!(h.text(&["SCARD", "missing"]), ":0\r\n");
}

#[test]
fn wrong_type_and_arity() {
    let mut h = Harness::new();
    h.text(&["SET", "str", "v"]);
    for cmd in [
        &["SADD", "str", "a"][..],
        &["SREM", "str", "a"],
        &["SMEMBERS", "str"],
        &["SISMEMBER", "str", "a"],
        &["SCARD", "str"],
    ] {
        assert_eq!(h.text(cmd), WRONGTYPE, "{cmd:?}");
    }
    for (cmd, name) in [
        (&["SADD", "s"][..], "sadd"),
        (&["SREM", "s"], "srem"),
        (&["SMEMBERS"], "smembers"),
        (&["SMEMBERS", "s", "x"], "smembers"),
        (&["SISMEMBER", "s"], "sismember"),
        (&["SCARD", "s", "x"], "scard"),
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
    assert_eq!(h.text(&["SMEMBERS", "missing"]), "~0\r\n");
    h.text(&["SADD", "s", "2", "1"]);
    assert_eq!(h.text(&["SMEMBERS", "s"]), "~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    // SISMEMBER stays an integer in RESP3, as in Redis 7.0.
    assert_eq!(h.text(&["SISMEMBER", "s", "1"]), ":1\r\n");
    assert_eq!(h.text(&["SISMEMBER", "s", "3"]), ":0\r\n");
}

#[test]
fn writes_count_as_dirty_and_reads_as_hits_or_misses() {
    let mut h = Harness::new();
    h.text(&["SADD", "s", "a", "b", "c", "a"]);
    assert_eq!(h.server.state.changes_since_save, 3);
    h.text(&["SREM", "s", "a", "z"]);
    assert_eq!(h.server.state.changes_since_save, 4);
    let s = &h.server.store.stats;
    let before = (s.hits, s.misses);
    h.text(&["SMEMBERS", "s"]);
    h.text(&["SISMEMBER", "s", "a"]);
    h.text(&["SCARD", "missing"]);
    h.text(&["SREM", "missing", "a"]);
    let s = &h.server.store.stats;
    assert_eq!((s.hits, s.misses), (before.0 + 2, before.1 + 1));
}

/// SPOP takes distinct members out; SRANDMEMBER picks distinct ones for a
/// positive count and repeats for a negative one. (Which ones is chance:
/// the differential script covers the deterministic cases.)
#[test]
fn random_members_are_members() {
    let mut h = Harness::new();
    let all: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    let mut sadd = vec!["SADD", "s"];
    sadd.extend(all.iter().map(String::as_str));
    h.text(&sadd);
    let popped = members(&h.text(&["SPOP", "s", "3"]));
    assert_eq!(popped.len(), 3);
    assert!(popped.windows(2).all(|w| w[0] != w[1]), "{popped:?}");
    assert_eq!(h.text(&["SCARD", "s"]), ":7\r\n");
    let left = members(&h.text(&["SMEMBERS", "s"]));
    assert!(popped.iter().all(|p| all.contains(p) && !left.contains(p)));
    let two = members(&h.text(&["SRANDMEMBER", "s", "2"]));
    assert!(two.len() == 2 && two[0] != two[1] && two.iter().all(|m| left.contains(m)));
    let many = members(&h.text(&["SRANDMEMBER", "s", "-20"]));
    assert_eq!(many.len(), 20);
    assert!(many.iter().all(|m| left.contains(m)));
    let one = h.text(&["SPOP", "s"]);
    assert_eq!(h.text(&["SCARD", "s"]), ":6\r\n");
    assert!(left.iter().any(|m| one.contains(m.as_str())));
}
