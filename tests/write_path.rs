//! The command table's `write` flag and the write path's events agree, and
//! no handler keeps the counters itself.
//!
//! Every command flagged `write` has a case here that changes the dataset;
//! running it must record events that add to the change counter, and
//! every command not flagged `write` must record none that change a key.
//! A new write command without a case fails `every_write_command_has_a_case`.

use std::collections::BTreeSet;

use rizzler::effects::Recorder;
use rizzler::store::{Event, KeyChange};
use rizzler::testing::Harness;

/// Set-up commands, then the command under test (the last one).
const WRITES: &[&[&[&str]]] = &[
    &[&["SET", "k", "v"]],
    &[&["SETNX", "k", "v"]],
    &[&["SETEX", "k", "10", "v"]],
    &[&["PSETEX", "k", "10", "v"]],
    &[&["GETSET", "k", "v"]],
    &[&["SET", "k", "v"], &["GETDEL", "k"]],
    // DUMP of the string "v361" (its checksum happens to be ASCII).
    &[&[
        "RESTORE",
        "k",
        "0",
        "\x00\x04v361\x0a\x00\x33\x25\x48\x70\x79\x16\x36\x69",
    ]],
    &[&["SET", "k", "v"], &["GETEX", "k", "EX", "10"]],
    &[&["MSET", "a", "1", "b", "2"]],
    &[&["MSETNX", "a", "1", "b", "2"]],
    &[&["APPEND", "k", "v"]],
    &[&["SETRANGE", "k", "2", "v"]],
    &[&["INCR", "n"]],
    &[&["DECR", "n"]],
    &[&["INCRBY", "n", "2"]],
    &[&["DECRBY", "n", "2"]],
    &[&["INCRBYFLOAT", "n", "2.5"]],
    &[&["SETBIT", "b", "7", "1"]],
    &[&["SET", "a", "x"], &["BITOP", "NOT", "d", "a"]],
    &[&["BITFIELD", "b", "SET", "u8", "0", "7"]],
    &[&["PFADD", "h", "a"]],
    &[&["PFADD", "h", "a"], &["PFMERGE", "d", "h"]],
    &[&["PFADD", "h", "a"], &["PFDEBUG", "TODENSE", "h"]],
    &[&["SET", "k", "v"], &["DEL", "k"]],
    &[&["SET", "k", "v"], &["UNLINK", "k"]],
    &[&["SET", "k", "v"], &["RENAME", "k", "k2"]],
    &[&["SET", "k", "v"], &["RENAMENX", "k", "k2"]],
    &[&["SET", "k", "v"], &["COPY", "k", "k2"]],
    &[&["SET", "k", "v"], &["MOVE", "k", "1"]],
    &[&["SET", "k", "v"], &["EXPIRE", "k", "10"]],
    &[&["SET", "k", "v"], &["PEXPIRE", "k", "10"]],
    &[&["SET", "k", "v"], &["EXPIREAT", "k", "4000000000"]],
    &[&["SET", "k", "v"], &["PEXPIREAT", "k", "4000000000000"]],
    &[&["SET", "k", "v", "EX", "10"], &["PERSIST", "k"]],
    &[&["LPUSH", "l", "a"]],
    &[&["RPUSH", "l", "a"]],
    &[&["RPUSH", "l", "a", "b"], &["LPOP", "l"]],
    &[&["RPUSH", "l", "a", "b"], &["RPOP", "l"]],
    &[&["RPUSH", "l", "a"], &["LSET", "l", "0", "b"]],
    &[&["RPUSH", "l", "a"], &["LPUSHX", "l", "b"]],
    &[&["RPUSH", "l", "a"], &["RPUSHX", "l", "b"]],
    &[&["RPUSH", "l", "a"], &["LINSERT", "l", "BEFORE", "a", "b"]],
    &[&["RPUSH", "l", "a", "b", "a"], &["LREM", "l", "0", "a"]],
    &[&["RPUSH", "l", "a", "b", "c"], &["LTRIM", "l", "1", "1"]],
    &[
        &["RPUSH", "l", "a", "b"],
        &["LMOVE", "l", "m", "LEFT", "RIGHT"],
    ],
    &[&["RPUSH", "l", "a", "b"], &["RPOPLPUSH", "l", "l"]],
    &[
        &["RPUSH", "l", "a", "b"],
        &["LMPOP", "2", "m", "l", "RIGHT", "COUNT", "5"],
    ],
    &[&["SADD", "s", "a"]],
    &[&["SADD", "s", "a", "b"], &["SREM", "s", "a"]],
    &[&["SADD", "s", "a", "b"], &["SMOVE", "s", "t", "a"]],
    &[&["SADD", "s", "a", "b"], &["SPOP", "s"]],
    &[&["SADD", "s", "a", "b", "c"], &["SPOP", "s", "2"]],
    &[&["SADD", "s", "a", "b"], &["SPOP", "s", "5"]],
    &[&["SADD", "s", "a", "b"], &["SINTERSTORE", "d", "s"]],
    &[&["SADD", "s", "a", "b"], &["SUNIONSTORE", "d", "s", "t"]],
    &[&["SADD", "s", "a", "b"], &["SDIFFSTORE", "d", "s", "t"]],
    &[&["HSET", "h", "f", "v"]],
    &[&["HSET", "h", "f", "v", "g", "w"], &["HDEL", "h", "f"]],
    &[&["HMSET", "h", "f", "v"]],
    &[&["HSETNX", "h", "f", "v"]],
    &[&["HINCRBY", "h", "n", "2"]],
    &[&["HINCRBYFLOAT", "h", "n", "2.5"]],
    &[&["ZADD", "z", "1", "a"]],
    &[&["ZINCRBY", "z", "1", "a"]],
    &[&["ZADD", "z", "1", "a", "2", "b"], &["ZREM", "z", "a"]],
    &[&["ZADD", "z", "1", "a", "2", "b"], &["ZPOPMIN", "z"]],
    &[&["ZADD", "z", "1", "a", "2", "b"], &["ZPOPMAX", "z", "2"]],
    &[&["ZADD", "z", "1", "a"], &["ZMPOP", "1", "z", "MIN"]],
    &[
        &["ZADD", "z", "1", "a", "2", "b"],
        &["ZREMRANGEBYRANK", "z", "0", "0"],
    ],
    &[
        &["ZADD", "z", "1", "a", "2", "b"],
        &["ZREMRANGEBYSCORE", "z", "1", "1"],
    ],
    &[
        &["ZADD", "z", "0", "a", "0", "b"],
        &["ZREMRANGEBYLEX", "z", "-", "[a"],
    ],
    &[
        &["ZADD", "z", "1", "a"],
        &["ZRANGESTORE", "d", "z", "0", "-1"],
    ],
    &[&["ZADD", "z", "1", "a"], &["ZUNIONSTORE", "d", "1", "z"]],
    &[&["GEOADD", "g", "13.36", "38.11", "a"]],
    &[
        &["GEOADD", "g", "13.36", "38.11", "a"],
        &["GEORADIUS", "g", "13", "38", "100", "km", "STORE", "d"],
    ],
    &[
        &["GEOADD", "g", "13.36", "38.11", "a"],
        &["GEORADIUSBYMEMBER", "g", "a", "100", "km", "STOREDIST", "d"],
    ],
    &[
        &["GEOADD", "g", "13.36", "38.11", "a"],
        &[
            "GEOSEARCHSTORE",
            "d",
            "g",
            "FROMMEMBER",
            "a",
            "BYBOX",
            "1",
            "1",
            "km",
        ],
    ],
    &[&["ZADD", "z", "1", "a"], &["ZINTERSTORE", "d", "1", "z"]],
    &[&["ZADD", "z", "1", "a"], &["ZDIFFSTORE", "d", "1", "z"]],
    &[&["RPUSH", "l", "a"], &["BLPOP", "l", "0"]],
    &[&["RPUSH", "l", "a"], &["BRPOP", "l", "0"]],
    &[
        &["RPUSH", "l", "a"],
        &["BLMOVE", "l", "d", "LEFT", "LEFT", "0"],
    ],
    &[&["RPUSH", "l", "a"], &["BRPOPLPUSH", "l", "d", "0"]],
    &[&["RPUSH", "l", "a"], &["BLMPOP", "0", "1", "l", "LEFT"]],
    &[&["ZADD", "z", "1", "a"], &["BZPOPMIN", "z", "0"]],
    &[&["ZADD", "z", "1", "a"], &["BZPOPMAX", "z", "0"]],
    &[&["ZADD", "z", "1", "a"], &["BZMPOP", "0", "1", "z", "MIN"]],
    &[&["RPUSH", "l", "2", "1"], &["SORT", "l", "STORE", "d"]],
    &[&["SET", "k", "v"], &["FLUSHDB"]],
    &[&["SET", "k", "v"], &["FLUSHALL"]],
    &[&["SET", "k", "v"], &["SWAPDB", "0", "1"]],
    &[&["XADD", "x", "1-1", "f", "v"]],
    &[&["XADD", "x", "1-1", "f", "v"], &["XDEL", "x", "1-1"]],
    &[
        &["XADD", "x", "1-1", "f", "v"],
        &["XTRIM", "x", "MAXLEN", "0"],
    ],
    &[&["XADD", "x", "1-1", "f", "v"], &["XSETID", "x", "5-5"]],
    &[&["XGROUP", "CREATE", "x", "g", "$", "MKSTREAM"]],
    &[
        &["XGROUP", "CREATE", "x", "g", "$", "MKSTREAM"],
        &["XGROUP", "SETID", "x", "g", "0"],
    ],
    &[
        &["XGROUP", "CREATE", "x", "g", "$", "MKSTREAM"],
        &["XGROUP", "DESTROY", "x", "g"],
    ],
    &[
        &["XGROUP", "CREATE", "x", "g", "$", "MKSTREAM"],
        &["XGROUP", "CREATECONSUMER", "x", "g", "c"],
    ],
    &[
        &["XGROUP", "CREATE", "x", "g", "$", "MKSTREAM"],
        &["XGROUP", "CREATECONSUMER", "x", "g", "c"],
        &["XGROUP", "DELCONSUMER", "x", "g", "c"],
    ],
    &[
        &["XADD", "x", "1-1", "f", "v"],
        &["XGROUP", "CREATE", "x", "g", "0"],
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">"],
    ],
    &[
        &["XADD", "x", "1-1", "f", "v"],
        &["XGROUP", "CREATE", "x", "g", "0"],
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">"],
        &["XACK", "x", "g", "1-1"],
    ],
    &[
        &["XADD", "x", "1-1", "f", "v"],
        &["XGROUP", "CREATE", "x", "g", "0"],
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">"],
        &["XCLAIM", "x", "g", "d", "0", "1-1"],
    ],
    &[
        &["XADD", "x", "1-1", "f", "v"],
        &["XGROUP", "CREATE", "x", "g", "0"],
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">"],
        &["XAUTOCLAIM", "x", "g", "d", "0", "0"],
    ],
];

/// Commands not flagged `write`, run on a dataset with a key of each type.
const READS: &[&[&str]] = &[
    &["GET", "s"],
    &["GEOPOS", "z", "a"],
    &["DUMP", "s"],
    &["GEODIST", "z", "a", "b", "km"],
    &["GEOHASH", "z", "a"],
    &["GEORADIUS_RO", "z", "0", "0", "100", "km"],
    &["GEORADIUSBYMEMBER_RO", "z", "a", "100", "km"],
    &[
        "GEOSEARCH",
        "z",
        "FROMLONLAT",
        "0",
        "0",
        "BYRADIUS",
        "1",
        "km",
    ],
    &["MGET", "s", "nokey"],
    &["STRLEN", "s"],
    &["GETRANGE", "s", "0", "-1"],
    &["SUBSTR", "s", "0", "-1"],
    &["EXISTS", "s", "l"],
    &["TYPE", "h"],
    &["TOUCH", "s"],
    &["KEYS", "*"],
    &["SCAN", "0"],
    &["RANDOMKEY"],
    &["TTL", "s"],
    &["PTTL", "s"],
    &["EXPIRETIME", "s"],
    &["PEXPIRETIME", "s"],
    &["LRANGE", "l", "0", "-1"],
    &["LLEN", "l"],
    &["LINDEX", "l", "0"],
    &["LPOS", "l", "a", "COUNT", "0"],
    &["SMEMBERS", "set"],
    &["SISMEMBER", "set", "a"],
    &["SCARD", "set"],
    &["SMISMEMBER", "set", "a", "z"],
    &["SRANDMEMBER", "set", "-3"],
    &["SINTER", "set", "set"],
    &["SUNION", "set", "nokey"],
    &["SDIFF", "set", "nokey"],
    &["SINTERCARD", "1", "set"],
    &["HGET", "h", "f"],
    &["HGETALL", "h"],
    &["HKEYS", "h"],
    &["HVALS", "h"],
    &["HLEN", "h"],
    &["HEXISTS", "h", "f"],
    &["HMGET", "h", "f", "nofield"],
    &["HSTRLEN", "h", "f"],
    &["ZSCORE", "z", "a"],
    &["XLEN", "x"],
    &["XRANGE", "x", "-", "+"],
    &["XREVRANGE", "x", "+", "-"],
    &["XREAD", "STREAMS", "x", "0"],
    &["XPENDING", "x", "g"],
    &["XINFO", "STREAM", "x"],
    &["XINFO", "GROUPS", "x"],
    &["XINFO", "CONSUMERS", "x", "g"],
    &["ZMSCORE", "z", "a", "b"],
    &["ZCARD", "z"],
    &["ZCOUNT", "z", "-inf", "+inf"],
    &["ZLEXCOUNT", "z", "-", "+"],
    &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    &["ZRANGEBYSCORE", "z", "-inf", "+inf"],
    &["ZREVRANGEBYSCORE", "z", "+inf", "-inf"],
    &["ZRANGEBYLEX", "z", "-", "+"],
    &["ZREVRANGEBYLEX", "z", "+", "-"],
    &["ZREVRANGE", "z", "0", "-1"],
    &["ZRANK", "z", "a"],
    &["ZREVRANK", "z", "a"],
    &["ZRANDMEMBER", "z", "-3"],
    &["ZUNION", "2", "z", "set"],
    &["ZINTER", "1", "z"],
    &["ZDIFF", "1", "z"],
    &["ZINTERCARD", "1", "z"],
    &["SORT_RO", "l", "ALPHA"],
    &["SORT_RO", "z", "BY", "nosort"],
    &["HRANDFIELD", "h", "-2"],
    &["HSCAN", "h", "0"],
    &["SSCAN", "set", "0"],
    &["ZSCAN", "z", "0"],
    &["DBSIZE"],
    &["OBJECT", "ENCODING", "s"],
    &["MEMORY", "USAGE", "h"],
    &["DEBUG", "DIGEST"],
    &["INFO"],
    &["PING"],
    &["SELECT", "0"],
    &["GETBIT", "s", "3"],
    &["BITCOUNT", "s", "0", "-1", "BIT"],
    &["BITPOS", "s", "1"],
    &["BITFIELD_RO", "s", "GET", "u8", "0"],
    &["LCS", "s", "missing", "IDX"],
];

fn recording() -> (Harness, Recorder) {
    let mut h = Harness::new();
    let recorder = h.record();
    (h, recorder)
}

fn row_flags(argv: &[&str]) -> u32 {
    let args: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
    let ranges: Vec<std::ops::Range<usize>> = {
        let mut at = 0;
        args.iter()
            .map(|a| {
                at += a.len();
                at - a.len()..at
            })
            .collect()
    };
    let base = args.concat();
    let parsed = rizzler::resp::Args::new(&base, &ranges);
    match rizzler::commands::resolve(&parsed) {
        Ok(cmd) => cmd.flags,
        Err(_) => panic!("{argv:?} does not resolve"),
    }
}

#[test]
fn write_commands_record_changes() {
    use rizzler::commands::flags::WRITE;
    for case in WRITES {
        let (mut h, recorder) = recording();
        let (command, setup) = case.split_last().expect("a case has a command");
        for s in setup {
            h.run(s);
        }
        recorder.events.borrow_mut().clear();
        let before = h.server.state.changes_since_save;
        let reply = h.text(command);
        assert!(!reply.starts_with('-'), "{command:?}: {reply}");
        let events = recorder.events.borrow();
        let counted: u64 = events.iter().map(Event::changes).sum();
        assert!(
            counted > 0,
            "{command:?} is a write but recorded no change: {events:?}"
        );
        assert_eq!(
            h.server.state.changes_since_save - before,
            counted,
            "{command:?}: the counter is the sum of its events"
        );
        assert!(
            row_flags(command) & WRITE != 0,
            "{command:?} changes keys but is not flagged write"
        );
        assert!(
            !recorder.units.borrow().is_empty(),
            "{command:?} changed the dataset but propagated nothing"
        );
    }
}

#[test]
fn other_commands_change_nothing() {
    use rizzler::commands::flags::WRITE;
    let (mut h, recorder) = recording();
    for setup in [
        &["SET", "s", "v"][..],
        &["RPUSH", "l", "a", "b"],
        &["SADD", "set", "a"],
        &["HSET", "h", "f", "v"],
        &["ZADD", "z", "1", "a", "2", "b"],
        &["XADD", "x", "1-1", "f", "v"],
        &["XGROUP", "CREATE", "x", "g", "0"],
    ] {
        h.run(setup);
    }
    for command in READS {
        assert_eq!(
            row_flags(command) & WRITE,
            0,
            "{command:?} is flagged write"
        );
        recorder.events.borrow_mut().clear();
        recorder.units.borrow_mut().clear();
        let before = h.server.state.changes_since_save;
        let reply = h.text(command);
        assert!(!reply.starts_with('-'), "{command:?}: {reply}");
        let events = recorder.events.borrow();
        assert!(
            events
                .iter()
                .all(|e| matches!(e, Event::Key(k) if k.change == KeyChange::Expired)),
            "{command:?} is not a write but recorded {events:?}"
        );
        assert_eq!(h.server.state.changes_since_save, before, "{command:?}");
        assert!(recorder.units.borrow().is_empty(), "{command:?} propagated");
    }
}

#[test]
fn every_write_command_has_a_case() {
    use rizzler::commands::flags::WRITE;
    // A case covers its command, and `container|sub` for a subcommand.
    let covered: BTreeSet<String> = WRITES
        .iter()
        .flat_map(|case| {
            let argv = case.last().expect("a command");
            let name = argv[0].to_ascii_lowercase();
            let sub = argv
                .get(1)
                .map(|s| format!("{name}|{}", s.to_ascii_lowercase()));
            std::iter::once(name).chain(sub)
        })
        .collect();
    for cmd in rizzler::commands::all() {
        // FUNCTION's write subcommands change the libraries, not keys: they
        // record no key event; tests/replay.rs replays their propagation.
        if cmd.name == "function" {
            continue;
        }
        let subs = cmd
            .subcommands
            .iter()
            .map(|row| (row, format!("{}|{}", cmd.name, row.name)));
        for (row, name) in std::iter::once((cmd, cmd.name.to_string())).chain(subs) {
            if row.flags & WRITE != 0 {
                assert!(
                    covered.contains(&name),
                    "the write command {name} has no case in WRITES"
                );
            }
        }
    }
}

/// No command handler keeps the counters `call()` and the store keep: the
/// change counter, commandstats, errorstats, keyspace hits and misses.
#[test]
fn handlers_do_not_touch_the_counters() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands");
    let forbidden = [
        "changes_since_save",
        "commands_processed",
        "count_error",
        "error_replies",
        ".stats.hits",
        ".stats.misses",
        ".stats.expired",
        "failed_calls",
        "rejected_calls",
        "journal.events",
    ];
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("src/commands") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        // mod.rs is call() itself; info.rs only reads them.
        if name == "mod.rs" || name == "info.rs" || !name.ends_with(".rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        for word in forbidden {
            assert!(!text.contains(word), "{name} touches {word}");
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} family files checked");
}

/// Redis's `keyIsExpired` is `now > when`: a key lives through the
/// millisecond it expires at. (`checkAlreadyExpired`, for a TTL being set,
/// is `when <= now`.)
#[test]
fn a_key_lives_through_its_expiry_millisecond() {
    let mut h = Harness::new();
    let t = 1_800_000_000_000u64;
    h.set_time(t - 1);
    h.run(&["SET", "k", "v"]);
    assert_eq!(h.text(&["PEXPIREAT", "k", &t.to_string()]), ":1\r\n");
    h.set_time(t);
    assert_eq!(h.text(&["PTTL", "k"]), ":0\r\n");
    assert_eq!(h.text(&["GET", "k"]), "$1\r\nv\r\n");
    h.set_time(t + 1);
    assert_eq!(h.text(&["GET", "k"]), "$-1\r\n");
    assert_eq!(h.server.store.stats.expired, 1);
    // Setting a TTL equal to now deletes at once.
    h.run(&["SET", "k", "v"]);
    assert_eq!(h.text(&["PEXPIREAT", "k", &(t + 1).to_string()]), ":1\r\n");
    assert!(!h.exists("k"));
}

/// QUIT is an ordinary command in Redis 7.0: counted, and the last
/// command CLIENT LIST shows; refused commands set it too, NULL when
/// unknown.
#[test]
fn quit_and_refused_commands_go_through_the_table() {
    let mut h = Harness::new();
    let cmd_of = |h: &mut Harness| {
        let info = h.text(&["CLIENT", "INFO"]);
        info.split(' ')
            .find_map(|f| f.strip_prefix("cmd="))
            .map(str::to_string)
    };
    h.run(&["GET"]);
    h.run(&["PING"]);
    assert_eq!(cmd_of(&mut h).as_deref(), Some("client|info"));
    let text = h.text(&["INFO", "commandstats"]);
    assert!(text.contains("cmdstat_get:calls=0,"), "{text}");
    assert_eq!(h.text(&["QUIT"]), "+OK\r\n");
    assert!(h.closed);
    let quit = h
        .server
        .state
        .stats
        .commands
        .iter()
        .find(|r| r.cmd.name == "quit");
    assert_eq!(quit.map(|r| r.calls), Some(1));
}

/// CLIENT LIST's `cmd=` after a refused command, on another client.
#[test]
fn client_list_shows_the_refused_command() {
    let mut h = Harness::new();
    let me = h.session.client;
    h.run(&["GET"]);
    let cmd = h.server.state.clients[me].last_cmd.map(|c| c.name);
    assert_eq!(cmd, Some("get"));
    h.run(&["NOSUCHCOMMAND"]);
    assert!(h.server.state.clients[me].last_cmd.is_none());
}

/// SCAN filters as Redis does: a key the pattern leaves out is not
/// expired by the scan; a TYPE filter reads each candidate with a counted
/// lookup; keys whose time has passed are expired and left out.
#[test]
fn scan_expires_only_what_it_would_return() {
    let mut h = Harness::new();
    let t = 1_800_000_000_000u64;
    h.set_time(t);
    h.run(&["SET", "a", "1", "PX", "5"]);
    h.run(&["SET", "b", "1", "PX", "5"]);
    h.run(&["SET", "c", "1"]);
    h.set_time(t + 10);
    assert_eq!(
        h.text(&["SCAN", "0", "MATCH", "zzz"]),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
    assert_eq!(h.server.store.stats.expired, 0);
    let misses = h.server.store.stats.misses;
    let reply = h.text(&["SCAN", "0", "MATCH", "a", "TYPE", "string"]);
    assert_eq!(reply, "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(h.server.store.stats.misses, misses + 1);
    assert_eq!(h.server.store.stats.expired, 1);
    assert_eq!(h.text(&["SCAN", "0"]), "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nc\r\n");
    assert_eq!(h.server.store.stats.expired, 2);
}
