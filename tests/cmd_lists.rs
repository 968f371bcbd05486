//! List commands, without sockets. Replies were checked against
//! redis-server 7.0.15; tests/diff/lists.redis compares them live.

use rizzler::testing::{bulks, Harness};
use rizzler::util::now_ms;

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const NOT_POSITIVE: &str = "-ERR value is out of range, must be positive\r\n";

/// `*n` followed by the bulk strings.

#[test]
fn push_returns_length_and_keeps_order() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["LPUSH", "l", "a"]), ":1\r\n");
    assert_eq!(h.text(&["LPUSH", "l", "b", "c"]), ":3\r\n");
    assert_eq!(h.text(&["RPUSH", "l", "d", "e"]), ":5\r\n");
    assert_eq!(
        h.text(&["LRANGE", "l", "0", "-1"]),
        bulks(&["c", "b", "a", "d", "e"])
    );
    assert_eq!(h.text(&["LLEN", "l"]), ":5\r\n");
    assert_eq!(h.encoding("l"), Some("quicklist"));
}

#[test]
fn push_arity_and_wrong_type() {
    let mut h = Harness::new();
    assert_eq!(
        h.text(&["LPUSH", "l"]),
        "-ERR wrong number of arguments for 'lpush' command\r\n"
    );
    assert_eq!(
        h.text(&["RPUSH"]),
        "-ERR wrong number of arguments for 'rpush' command\r\n"
    );
    assert!(!h.exists("l"));
    h.text(&["SET", "s", "v"]);
    assert_eq!(h.text(&["LPUSH", "s", "a"]), WRONGTYPE);
    assert_eq!(h.text(&["RPUSH", "s", "a"]), WRONGTYPE);
    assert_eq!(h.text(&["GET", "s"]), "$1\r\nv\r\n");
}

#[test]
fn lrange_clamps_indexes() {
    let mut h = Harness::new();
    h.text(&["RPUSH", "l", "a", "b", "c", "d", "e"]);
    assert_eq!(h.text(&["LRANGE", "l", "1", "3"]), bulks(&["b", "c", "d"]));
    assert_eq!(h.text(&["LRANGE", "l", "-2", "-1"]), bulks(&["d", "e"]));
    assert_eq!(h.text(&["LRANGE", "l", "-100", "1"]), bulks(&["a", "b"]));
    assert_eq!(h.text(&["LRANGE", "l", "3", "100"]), bulks(&["d", "e"]));
    assert_eq!(h.text(&["LRANGE", "l", "2", "1"]), "*0\r\n");
    assert_eq!(h.text(&["LRANGE", "l", "5", "10"]), "*0\r\n");
    assert_eq!(h.text(&["LRANGE", "l", "-1", "-2"]), "*0\r\n");
    assert_eq!(
        h.text(&["LRANGE", "l", "-9223372036854775808", "9223372036854775807"]),
        bulks(&["a", "b", "c", "d", "e"])
    );
    assert_eq!(
        h.text(&["LRANGE", "l", "9223372036854775807", "-9223372036854775808"]),
        "*0\r\n"
    );
    assert_eq!(h.text(&["LRANGE", "missing", "0", "-1"]), "*0\r\n");
}

#[test]
fn lrange_parses_indexes_before_the_key() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["LRANGE", "missing", "x", "1"]), NOT_INT);
    assert_eq!(h.text(&["LRANGE", "missing", "0", "01"]), NOT_INT);
    h.text(&["SET", "s", "v"]);
    assert_eq!(h.text(&["LRANGE", "s", "x", "1"]), NOT_INT);
    assert_eq!(h.text(&["LRANGE", "s", "0", "1"]), WRONGTYPE);
}

#[test]
fn llen_and_lindex() {
    let mut h = Harness::new();
    h.text(&["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(h.text(&["LLEN", "missing"]), ":0\r\n");
    assert_eq!(h.text(&["LINDEX", "l", "0"]), "$1\r\na\r\n");
    assert_eq!(h.text(&["LINDEX", "l", "-1"]), "$1\r\nc\r\n");
    assert_eq!(h.text(&["LINDEX", "l", "-3"]), "$1\r\na\r\n");
    assert_eq!(h.text(&["LINDEX", "l", "3"]), "$-1\r\n");
    assert_eq!(h.text(&["LINDEX", "l", "-4"]), "$-1\r\n");
    assert_eq!(h.text(&["LINDEX", "l", "-9223372036854775808"]), "$-1\r\n");
    assert_eq!(h.text(&["LINDEX", "l", "x"]), NOT_INT);
    // The key is looked up first: a missing key is null whatever the index.
    assert_eq!(h.text(&["LINDEX", "missing", "x"]), "$-1\r\n");
    h.text(&["SET", "s", "v"]);
    assert_eq!(h.text(&["LINDEX", "s", "x"]), WRONGTYPE);
    assert_eq!(h.text(&["LLEN", "s"]), WRONGTYPE);
}

#[test]
fn lset_errors_and_success() {
    let mut h = Harness::new();
    assert_eq!(
        h.text(&["LSET", "missing", "0", "v"]),
        "-ERR no such key\r\n"
    );
    assert_eq!(
        h.text(&["LSET", "missing", "x", "v"]),
        "-ERR no such key\r\n"
    );
    assert!(!h.exists("missing"));
    h.text(&["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(
        h.text(&["LSET", "l", "3", "v"]),
        "-ERR index out of range\r\n"
    );
    assert_eq!(
        h.text(&["LSET", "l", "-4", "v"]),
        "-ERR index out of range\r\n"
    );
    assert_eq!(h.text(&["LSET", "l", "x", "v"]), NOT_INT);
    assert_eq!(h.text(&["LSET", "l", "-1", "C"]), "+OK\r\n");
    assert_eq!(h.text(&["LSET", "l", "0", "A"]), "+OK\r\n");
    assert_eq!(h.text(&["LRANGE", "l", "0", "-1"]), bulks(&["A", "b", "C"]));
    h.text(&["SET", "s", "v"]);
    assert_eq!(h.text(&["LSET", "s", "x", "v"]), WRONGTYPE);
}

#[test]
fn pop_without_count() {
    let mut h = Harness::new();
    h.text(&["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(h.text(&["LPOP", "l"]), "$1\r\na\r\n");
    assert_eq!(h.text(&["RPOP", "l"]), "$1\r\nc\r\n");
    assert_eq!(h.text(&["LPOP", "missing"]), "$-1\r\n");
    assert_eq!(h.text(&["RPOP", "missing"]), "$-1\r\n");
    h.text(&["SET", "s", "v"]);
    assert_eq!(h.text(&["LPOP", "s"]), WRONGTYPE);
    assert_eq!(h.text(&["RPOP", "s"]), WRONGTYPE);
}

#[test]
fn pop_with_count() {
    let mut h = Harness::new();
    h.text(&["RPUSH", "l", "1", "2", "3", "4", "5"]);
    assert_eq!(h.text(&["LPOP", "l", "2"]), bulks(&["1", "2"]));
    assert_eq!(h.text(&["RPOP", "l", "2"]), bulks(&["5", "4"]));
    assert_eq!(h.text(&["LPOP", "l", "0"]), "*0\r\n");
    assert_eq!(h.text(&["RPOP", "l", "0"]), "*0\r\n");
    assert_eq!(h.text(&["LLEN", "l"]), ":1\r\n");
    assert_eq!(h.text(&["LPOP", "l", "9223372036854775807"]), bulks(&["3"]));
    assert!(!h.exists("l"));
}

#[test]
fn pop_count_errors() {
    let mut h = Harness::new();
    h.text(&["RPUSH", "l", "a"]);
    // getPositiveLongFromObjectOrReply: one message for negative and junk.
    for bad in ["-1", "x", "1.5", "", "9223372036854775808"] {
        assert_eq!(h.text(&["LPOP", "l", bad]), NOT_POSITIVE, "{bad:?}");
        assert_eq!(h.text(&["RPOP", "missing", bad]), NOT_POSITIVE, "{bad:?}");
    }
    assert_eq!(
        h.text(&["LPOP", "l", "1", "2"]),
        "-ERR wrong number of arguments for 'lpop' command\r\n"
    );
    assert_eq!(
        h.text(&["RPOP", "l", "1", "2"]),
        "-ERR wrong number of arguments for 'rpop' command\r\n"
    );
    h.text(&["SET", "s", "v"]);
    assert_eq!(h.text(&["LPOP", "s", "0"]), WRONGTYPE);
    assert_eq!(h.text(&["LPOP", "s", "-1"]), NOT_POSITIVE);
    assert_eq!(h.text(&["LLEN", "l"]), ":1\r\n");
}

#[test]
fn missing_key_with_count_is_a_null_array() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["LPOP", "missing", "1"]), "*-1\r\n");
    assert_eq!(h.text(&["RPOP", "missing", "0"]), "*-1\r\n");
}

#[test]
fn resp3_nulls() {
    let mut h = Harness::new();
    h.resp3();
    assert_eq!(h.text(&["LPOP", "missing"]), "_\r\n");
    assert_eq!(h.text(&["LPOP", "missing", "1"]), "_\r\n");
    assert_eq!(h.text(&["RPOP", "missing", "0"]), "_\r\n");
    assert_eq!(h.text(&["LINDEX", "missing", "0"]), "_\r\n");
    assert_eq!(h.text(&["LRANGE", "missing", "0", "-1"]), "*0\r\n");
    h.text(&["RPUSH", "l", "a", "b"]);
    assert_eq!(h.text(&["LINDEX", "l", "5"]), "_\r\n");
    assert_eq!(h.text(&["LPOP", "l", "0"]), "*0\r\n");
    assert_eq!(h.text(&["LPOP", "l", "5"]), bulks(&["a", "b"]));
}

#[test]
fn popping_the_last_element_deletes_the_key() {
    let mut h = Harness::new();
    h.text(&["RPUSH", "a", "x"]);
    h.text(&["LPOP", "a"]);
    assert!(!h.exists("a"));
    h.text(&["RPUSH", "b", "x", "y"]);
    h.text(&["RPOP", "b", "2"]);
    assert!(!h.exists("b"));
    // LPOP with count 0 leaves the list alone.
    h.text(&["RPUSH", "c", "x"]);
    h.text(&["LPOP", "c", "0"]);
    assert!(h.exists("c"));
    // The name is free for another type.
    assert_eq!(h.text(&["SADD", "a", "m"]), ":1\r\n");
}

#[test]
fn an_expired_list_is_missing() {
    let mut h = Harness::new();
    h.text(&["RPUSH", "l", "a", "b"]);
    let now = now_ms();
    h.with_db(0, |d| d.set_expire(b"l", now - 1));
    assert_eq!(h.text(&["LLEN", "l"]), ":0\r\n");
    assert_eq!(h.text(&["LSET", "l", "0", "v"]), "-ERR no such key\r\n");
    assert_eq!(h.text(&["RPUSH", "l", "c"]), ":1\r\n");
    assert_eq!(h.text(&["LRANGE", "l", "0", "-1"]), bulks(&["c"]));
}

#[test]
fn binary_elements_round_trip() {
    let mut h = Harness::new();
    let reply = h.raw(b"*4\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$3\r\n\x00\r\n\r\n$0\r\n\r\n");
    assert_eq!(reply, b":2\r\n");
    assert_eq!(
        h.run(&["LRANGE", "l", "0", "-1"]),
        b"*2\r\n$3\r\n\x00\r\n\r\n$0\r\n\r\n"
    );
}

#[test]
fn writes_count_as_dirty_and_reads_as_hits_or_misses() {
    let mut h = Harness::new();
    let dirty = |h: &Harness| h.server.state.changes_since_save;
    h.text(&["RPUSH", "l", "a", "b", "c", "d", "e"]);
    assert_eq!(dirty(&h), 5);
    h.text(&["LPOP", "l", "2"]);
    assert_eq!(dirty(&h), 7);
    h.text(&["LPOP", "l", "0"]);
    h.text(&["LSET", "l", "9", "x"]);
    assert_eq!(dirty(&h), 7);
    h.text(&["LSET", "l", "0", "x"]);
    h.text(&["RPOP", "l"]);
    assert_eq!(dirty(&h), 9);

    let stats = |h: &Harness| {
        let s = &h.server.store.stats;
        (s.hits, s.misses)
    };
    let before = stats(&h);
    h.text(&["LLEN", "l"]);
    h.text(&["LRANGE", "l", "0", "-1"]);
    h.text(&["LINDEX", "l", "0"]);
    h.text(&["LINDEX", "missing", "0"]);
    h.text(&["LPOP", "missing"]);
    assert_eq!(stats(&h), (before.0 + 3, before.1 + 1));
}
