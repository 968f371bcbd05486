//! String commands, without sockets.

use rizzler::testing::Harness;

#[test]
fn set_then_get() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(h.text(&["GET", "k"]), "$1\r\nv\r\n");
    assert_eq!(h.text(&["GET", "nope"]), "$-1\r\n");
}

#[test]
fn incrbyfloat_shows_long_double_rounding() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["INCRBYFLOAT", "e", "1e3"]), "$4\r\n1000\r\n");
    assert_eq!(
        h.text(&["INCRBYFLOAT", "e", "1E-2"]),
        "$22\r\n1000.01000000000000001\r\n"
    );
    assert_eq!(h.text(&["GET", "e"]), "$22\r\n1000.01000000000000001\r\n");
    assert_eq!(h.text(&["SET", "f", "10.5"]), "+OK\r\n");
    assert_eq!(h.text(&["INCRBYFLOAT", "f", "0.1"]), "$4\r\n10.6\r\n");
    assert_eq!(h.text(&["INCRBYFLOAT", "z", "-1e-20"]), "$1\r\n0\r\n");
}

#[test]
fn incrbyfloat_errors_leave_the_value_alone() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["SET", "k", "1.5"]), "+OK\r\n");
    assert_eq!(
        h.text(&["INCRBYFLOAT", "k", "inf"]),
        "-ERR increment would produce NaN or Infinity\r\n"
    );
    assert_eq!(
        h.text(&["INCRBYFLOAT", "k", "1e5000"]),
        "-ERR value is not a valid float\r\n"
    );
    assert_eq!(h.text(&["GET", "k"]), "$3\r\n1.5\r\n");
    assert_eq!(h.text(&["SET", "s", "1.5 "]), "+OK\r\n");
    assert_eq!(
        h.text(&["INCRBYFLOAT", "s", "1"]),
        "-ERR value is not a valid float\r\n"
    );
    assert_eq!(
        h.text(&["INCRBYFLOAT", "missing", "nan"]),
        "-ERR value is not a valid float\r\n"
    );
    assert_eq!(h.text(&["GET", "missing"]), "$-1\r\n");
}

/// Redis counts a keyspace hit or miss for every read lookup (`lookupKeyRead`),
/// and none for write lookups (APPEND, INCR, SETRANGE).
#[test]
fn read_commands_count_keyspace_hits_and_misses() {
    let mut h = Harness::new();
    h.run(&["SET", "k", "v"]);
    h.run(&["LPUSH", "l", "x"]);
    let reads: &[&[&str]] = &[
        &["GET", "k"],
        &["MGET", "k", "nope"],
        &["STRLEN", "nope"],
        &["GETRANGE", "k", "0", "-1"],
        &["GETEX", "k"],
        &["SET", "k", "v2", "GET"],
        &["GETSET", "k", "v3"],
        &["GET", "l"],
        &["GETDEL", "k"],
    ];
    for r in reads {
        h.run(r);
    }
    for w in [
        &["APPEND", "a", "x"][..],
        &["INCR", "n"],
        &["SETRANGE", "s", "0", "x"],
    ] {
        h.run(w);
    }
    let stats = &h.server.store.stats;
    // Hits: GET, MGET k, GETRANGE, GETEX, SET GET, GETSET, GET l (WRONGTYPE
    // after the lookup), GETDEL. Misses: MGET nope, STRLEN nope.
    assert_eq!((stats.hits, stats.misses), (8, 2));
}

/// Overwriting a key whose time has passed counts it as expired, as Redis's
/// write lookup does, and the new value has no TTL.
#[test]
fn set_over_an_expired_key_counts_the_expiry() {
    let mut h = Harness::new();
    h.text(&["SET", "k", "old", "PX", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(h.text(&["SET", "k", "new"]), "+OK\r\n");
    assert_eq!(h.server.store.stats.expired, 1);
    assert_eq!(h.text(&["TTL", "k"]), ":-1\r\n");
    assert_eq!(h.text(&["GET", "k"]), "$3\r\nnew\r\n");
}
