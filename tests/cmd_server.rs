//! Server commands, without sockets: keyspace administration, INFO's
//! structure, CONFIG's effects, TIME/LASTSAVE, SHUTDOWN, OBJECT, DEBUG and
//! COMMAND (including checks that keep the command table honest against
//! Redis 7.0's own metadata).

use rizzler::commands::{all, flags, meta};
use rizzler::config::Config;
use rizzler::testing::Harness;

/// The text of a bulk (or verbatim) reply.
fn bulk_text(reply: &str) -> String {
    let body = reply.split_once("\r\n").map(|x| x.1).unwrap_or("");
    let body = body.strip_suffix("\r\n").unwrap_or(body);
    body.strip_prefix("txt:").unwrap_or(body).to_string()
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn dbsize_swapdb_and_flushes() {
    let mut h = Harness::new();
    h.text(&["SET", "a", "1"]);
    h.text(&["SET", "b", "2"]);
    assert_eq!(h.text(&["DBSIZE"]), ":2\r\n");
    assert_eq!(h.text(&["SWAPDB", "0", "7"]), "+OK\r\n");
    assert_eq!(h.text(&["DBSIZE"]), ":0\r\n");
    h.text(&["SELECT", "7"]);
    assert_eq!(h.text(&["GET", "a"]), "$1\r\n1\r\n");
    assert_eq!(
        h.text(&["SWAPDB", "x", "0"]),
        "-ERR invalid first DB index\r\n"
    );
    assert_eq!(
        h.text(&["SWAPDB", "0", "x"]),
        "-ERR invalid second DB index\r\n"
    );
    assert_eq!(
        h.text(&["SWAPDB", "0", "16"]),
        "-ERR DB index is out of range\r\n"
    );
    let dirty = h.server.state.changes_since_save;
    assert_eq!(h.text(&["FLUSHDB"]), "+OK\r\n");
    assert_eq!(h.server.state.changes_since_save, dirty + 2);
    assert_eq!(h.text(&["FLUSHDB", "bogus"]), "-ERR syntax error\r\n");
    assert_eq!(
        h.text(&["FLUSHALL", "ASYNC", "SYNC"]),
        "-ERR syntax error\r\n"
    );
}

#[test]
fn flushall_async_empties_large_databases() {
    let mut h = Harness::new();
    for db in ["0", "3"] {
        h.text(&["SELECT", db]);
        for i in 0..500 {
            h.text(&["SET", &format!("k{i}"), "v"]);
        }
    }
    assert_eq!(h.text(&["FLUSHALL", "ASYNC"]), "+OK\r\n");
    assert_eq!(h.text(&["DBSIZE"]), ":0\r\n");
    assert_eq!(h.server.store.total_keys(), 0);
    // The emptied databases are usable at once.
    h.text(&["SET", "again", "1"]);
    assert_eq!(h.text(&["DBSIZE"]), ":1\r\n");
    for i in 0..100 {
        h.text(&["SET", &format!("k{i}"), "v"]);
    }
    assert_eq!(h.text(&["FLUSHDB", "async"]), "+OK\r\n");
    assert_eq!(h.text(&["DBSIZE"]), ":0\r\n");
}

/// Field names INFO must carry, per section (Redis 7.0's).
const INFO_FIELDS: &[(&str, &[&str])] = &[
    (
        "Server",
        &[
            "redis_version",
            "redis_mode",
            "os",
            "arch_bits",
            "multiplexing_api",
            "process_id",
            "run_id",
            "tcp_port",
            "server_time_usec",
            "uptime_in_seconds",
            "uptime_in_days",
            "hz",
            "configured_hz",
            "lru_clock",
            "executable",
            "config_file",
            "io_backend",
        ],
    ),
    (
        "Clients",
        &[
            "connected_clients",
            "maxclients",
            "blocked_clients",
            "tracking_clients",
        ],
    ),
    (
        "Memory",
        &[
            "used_memory",
            "used_memory_human",
            "used_memory_rss",
            "used_memory_peak",
            "used_memory_peak_human",
            "total_system_memory",
            "maxmemory",
            "maxmemory_human",
            "maxmemory_policy",
            "mem_fragmentation_ratio",
            "mem_allocator",
        ],
    ),
    (
        "Persistence",
        &[
            "loading",
            "rdb_changes_since_last_save",
            "rdb_bgsave_in_progress",
            "rdb_last_save_time",
            "rdb_last_bgsave_status",
            "aof_enabled",
            "aof_rewrite_in_progress",
        ],
    ),
    (
        "Stats",
        &[
            "total_connections_received",
            "total_commands_processed",
            "instantaneous_ops_per_sec",
            "total_net_input_bytes",
            "total_net_output_bytes",
            "instantaneous_input_kbps",
            "instantaneous_output_kbps",
            "rejected_connections",
            "expired_keys",
            "evicted_keys",
            "keyspace_hits",
            "keyspace_misses",
            "pubsub_channels",
            "pubsub_patterns",
            "total_error_replies",
        ],
    ),
    (
        "Replication",
        &[
            "role",
            "connected_slaves",
            "master_replid",
            "master_repl_offset",
        ],
    ),
    (
        "CPU",
        &[
            "used_cpu_sys",
            "used_cpu_user",
            "used_cpu_sys_children",
            "used_cpu_user_children",
            "used_cpu_sys_main_thread",
            "used_cpu_user_main_thread",
        ],
    ),
    ("Modules", &[]),
    ("Errorstats", &[]),
    ("Cluster", &["cluster_enabled"]),
    ("Keyspace", &[]),
];

/// Splits INFO text into (section, [(field, value)]), checking the format
/// on the way: `# Section` headers, `field:value` lines, one blank line
/// between sections, CRLF everywhere.
fn parse_info(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    assert!(text.ends_with("\r\n"), "INFO ends with CRLF");
    let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let body = text.strip_suffix("\r\n").unwrap();
    for block in body.split("\r\n\r\n") {
        let mut lines = block.split("\r\n");
        let header = lines.next().unwrap();
        let name = header
            .strip_prefix("# ")
            .unwrap_or_else(|| panic!("header: {header:?}"));
        let mut fields = Vec::new();
        for line in lines {
            let (k, v) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("field line: {line:?}"));
            assert!(
                !k.is_empty() && !k.contains(' ') && !v.contains('\n'),
                "{line:?}"
            );
            fields.push((k.to_string(), v.to_string()));
        }
        sections.push((name.to_string(), fields));
    }
    sections
}

#[test]
fn info_default_has_redis_sections_and_fields() {
    let mut h = Harness::new();
    h.text(&["SET", "k", "v"]);
    let text = bulk_text(&h.text(&["INFO"]));
    let sections = parse_info(&text);
    let names: Vec<&str> = sections.iter().map(|(n, _)| n.as_str()).collect();
    let expected: Vec<&str> = INFO_FIELDS.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, expected);
    for ((name, fields), (_, required)) in sections.iter().zip(INFO_FIELDS) {
        for r in *required {
            assert!(fields.iter().any(|(k, _)| k == r), "{name} lacks {r}");
        }
    }
    let server = &sections[0].1;
    let get = |k: &str| server.iter().find(|(n, _)| n == k).unwrap().1.clone();
    assert_eq!(get("redis_version"), "7.0.15");
    assert_eq!(get("io_backend"), "none");
    assert_eq!(get("process_id"), std::process::id().to_string());
    assert_eq!(get("run_id").len(), 40);
    let keyspace = &sections.last().unwrap().1;
    assert_eq!(
        keyspace,
        &vec![("db0".to_string(), "keys=1,expires=0,avg_ttl=0".to_string())]
    );
    // `default` gives the same sections; `all` and `everything` add the
    // command statistics.
    let mut all = expected.clone();
    all.insert(8, "Commandstats");
    all.insert(10, "Latencystats");
    for (arg, sections) in [("default", &expected), ("all", &all), ("everything", &all)] {
        let t = bulk_text(&h.text(&["INFO", arg]));
        let n: Vec<String> = parse_info(&t).into_iter().map(|(n, _)| n).collect();
        assert_eq!(&n, sections, "INFO {arg}");
    }
}

#[test]
fn info_sections_select_in_any_case_and_order() {
    let mut h = Harness::new();
    let t = bulk_text(&h.text(&["INFO", "KEYSPACE", "cpu", "cpu"]));
    let n: Vec<String> = parse_info(&t).into_iter().map(|(n, _)| n).collect();
    assert_eq!(n, ["CPU", "Keyspace"]);
    assert_eq!(h.text(&["INFO", "nosuch"]), "$0\r\n\r\n");
    assert_eq!(h.text(&["INFO", "keyspace"]), "$12\r\n# Keyspace\r\n\r\n");
    h.text(&["HELLO", "3"]);
    assert_eq!(
        h.text(&["INFO", "keyspace"]),
        "=16\r\ntxt:# Keyspace\r\n\r\n"
    );
}

#[test]
fn info_counts_what_happens() {
    let mut h = Harness::new();
    h.text(&["SET", "k", "v"]);
    h.text(&["GET", "k"]);
    h.text(&["GET", "missing"]);
    h.text(&["NOPE"]);
    h.text(&["GET"]);
    h.text(&["HELLO", "9"]);
    let t = bulk_text(&h.text(&["INFO", "stats", "errorstats"]));
    let sections = parse_info(&t);
    let stats = &sections[0].1;
    let get = |k: &str| stats.iter().find(|(n, _)| n == k).unwrap().1.clone();
    assert_eq!(get("keyspace_hits"), "1");
    assert_eq!(get("keyspace_misses"), "1");
    assert_eq!(get("total_error_replies"), "3");
    // Counted after each command, as Redis's call() does: the INFO that
    // reports it is not in it yet, and rejected commands never are.
    assert_eq!(get("total_commands_processed"), "4");
    assert_eq!(
        sections[1].1,
        vec![
            ("errorstat_ERR".to_string(), "count=2".to_string()),
            ("errorstat_NOPROTO".to_string(), "count=1".to_string()),
        ]
    );
    assert_eq!(h.text(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    let t = bulk_text(&h.text(&["INFO", "stats", "errorstats"]));
    let sections = parse_info(&t);
    let get = |k: &str| {
        sections[0]
            .1
            .iter()
            .find(|(n, _)| n == k)
            .unwrap()
            .1
            .clone()
    };
    assert_eq!(get("keyspace_hits"), "0");
    assert_eq!(get("total_error_replies"), "0");
    assert!(sections[1].1.is_empty());
}

#[test]
fn config_get_patterns_and_spelling() {
    let mut h = Harness::new();
    assert_eq!(
        h.text(&["CONFIG", "GET", "maxmemory"]),
        "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
    );
    assert_eq!(
        h.text(&["CONFIG", "GET", "MaxMemory"]),
        "*2\r\n$9\r\nMaxMemory\r\n$1\r\n0\r\n"
    );
    let r = h.text(&["CONFIG", "GET", "max*"]);
    assert!(r.starts_with("*10\r\n"), "{r}");
    for name in [
        "maxclients",
        "maxmemory",
        "maxmemory-policy",
        "maxmemory-samples",
        "maxmemory-eviction-tenacity",
    ] {
        assert!(r.contains(&format!("\r\n{name}\r\n")), "{name}");
    }
    // Two patterns naming the same parameter list it once.
    assert_eq!(
        h.text(&["CONFIG", "GET", "hz", "h?"]),
        "*2\r\n$2\r\nhz\r\n$2\r\n10\r\n"
    );
    assert_eq!(h.text(&["CONFIG", "GET", "nosuch"]), "*0\r\n");
    let all = h.text(&["CONFIG", "GET", "*"]);
    assert!(all.starts_with(&format!("*{}\r\n", 2 * rizzler::config::PARAMS.len())));
    h.text(&["HELLO", "3"]);
    assert_eq!(
        h.text(&["CONFIG", "GET", "hz"]),
        "%1\r\n$2\r\nhz\r\n$2\r\n10\r\n"
    );
}

#[test]
fn config_set_is_all_or_nothing() {
    let mut h = Harness::new();
    assert_eq!(
        h.text(&["CONFIG", "SET", "hz", "20", "maxmemory", "1mb"]),
        "+OK\r\n"
    );
    assert_eq!(h.server.state.config.hz, 20);
    assert_eq!(h.server.state.config.maxmemory, 1 << 20);
    assert_eq!(
        h.text(&["CONFIG", "SET", "hz", "30", "maxmemory", "lots"]),
        "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n"
    );
    assert_eq!(h.server.state.config.hz, 20);
    assert_eq!(
        h.text(&["CONFIG", "SET", "hz", "30", "nosuch", "1"]),
        "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n"
    );
    assert_eq!(
        h.text(&["CONFIG", "SET", "port", "1"]),
        "-ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config\r\n"
    );
    assert_eq!(
        h.text(&["CONFIG", "SET", "dir", "/tmp"]),
        "-ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config\r\n"
    );
    assert_eq!(
        h.text(&["CONFIG", "SET", "hz", "1", "HZ", "2"]),
        "-ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter\r\n"
    );
    assert_eq!(
        h.text(&["CONFIG", "SET", "hz", "1", "timeout"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        h.text(&["CONFIG", "SET", "maxmemory-policy", "lfu"]),
        "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction\r\n"
    );
    assert_eq!(h.server.state.config.hz, 20);
    assert_eq!(h.text(&["CONFIG", "SET", "hz", "100000"]), "+OK\r\n");
    assert_eq!(h.server.state.config.hz, 500);
    assert_eq!(
        h.text(&["CONFIG", "REWRITE"]),
        "-ERR The server is running without a config file\r\n"
    );
}

#[test]
fn config_set_requirepass_applies_to_new_connections() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["CONFIG", "SET", "requirepass", "pw"]), "+OK\r\n");
    // This connection stays authenticated, as in Redis.
    assert_eq!(h.text(&["PING"]), "+PONG\r\n");
    let key = h
        .server
        .state
        .add_client("127.0.0.1:2".into(), "127.0.0.1:6379".into(), -1);
    assert!(!h.server.state.clients[key].authenticated);
}

#[test]
fn time_and_lastsave() {
    let mut h = Harness::new();
    let r = h.text(&["TIME"]);
    let parts: Vec<&str> = r.split("\r\n").collect();
    assert_eq!(parts[0], "*2");
    let secs: u64 = parts[2].parse().unwrap();
    let usecs: u64 = parts[4].parse().unwrap();
    assert!(secs.abs_diff(now_s()) <= 2 && usecs < 1_000_000, "{r}");
    let r = h.text(&["LASTSAVE"]);
    let lastsave: u64 = r.trim_start_matches(':').trim_end().parse().unwrap();
    assert!(lastsave.abs_diff(now_s()) <= 2, "{r}");
}

#[test]
fn shutdown_sets_the_flag_and_answers_nothing() {
    let mut h = Harness::new();
    assert_eq!(
        h.text(&["SHUTDOWN", "ABORT"]),
        "-ERR No shutdown in progress.\r\n"
    );
    assert_eq!(
        h.text(&["SHUTDOWN", "NOSAVE", "SAVE"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        h.text(&["SHUTDOWN", "ABORT", "NOW"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(h.text(&["SHUTDOWN", "bogus"]), "-ERR syntax error\r\n");
    assert!(!h.server.state.shutdown);
    assert_eq!(h.text(&["SHUTDOWN", "NOSAVE", "NOW", "FORCE"]), "");
    assert!(h.server.state.shutdown);
}

#[test]
fn object_subcommands() {
    let mut h = Harness::new();
    h.text(&["SET", "i", "123"]);
    h.text(&["SET", "s", "hello"]);
    h.text(&["SET", "big", "99999"]);
    assert_eq!(h.text(&["OBJECT", "ENCODING", "i"]), "$3\r\nint\r\n");
    assert_eq!(h.text(&["OBJECT", "ENCODING", "s"]), "$6\r\nembstr\r\n");
    assert_eq!(h.text(&["OBJECT", "ENCODING", "nope"]), "$-1\r\n");
    assert_eq!(h.text(&["OBJECT", "REFCOUNT", "i"]), ":2147483647\r\n");
    assert_eq!(h.text(&["OBJECT", "REFCOUNT", "big"]), ":1\r\n");
    assert_eq!(h.text(&["OBJECT", "REFCOUNT", "s"]), ":1\r\n");
    assert_eq!(h.text(&["OBJECT", "IDLETIME", "s"]), ":0\r\n");
    assert_eq!(
        h.text(&["OBJECT", "FREQ", "s"]),
        "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
    );
    h.text(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]);
    let start = h.server.state.now_ms();
    h.set_time(start);
    h.text(&["SET", "f", "v"]);
    assert_eq!(h.text(&["OBJECT", "FREQ", "f"]), ":5\r\n");
    assert_eq!(
        h.text(&["OBJECT", "IDLETIME", "f"]),
        "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
    );
    // OBJECT does not touch the key; two idle minutes take two off, and
    // the next access counts for sure below the initial value.
    h.set_time(start + 2 * 60_000 + 1);
    assert_eq!(h.text(&["OBJECT", "FREQ", "f"]), ":3\r\n");
    assert_eq!(h.text(&["OBJECT", "FREQ", "f"]), ":3\r\n");
    h.text(&["GET", "f"]);
    assert_eq!(h.text(&["OBJECT", "FREQ", "f"]), ":4\r\n");
    h.text(&["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
    h.text(&["SET", "s", "v"]);
    h.set_time(start + 4 * 60_000 + 1);
    assert_eq!(h.text(&["OBJECT", "IDLETIME", "s"]), ":120\r\n");
    assert_eq!(h.text(&["OBJECT", "IDLETIME", "s"]), ":120\r\n");
    h.text(&["GET", "s"]);
    assert_eq!(h.text(&["OBJECT", "IDLETIME", "s"]), ":0\r\n");
    assert_eq!(
        h.text(&["OBJECT", "NOPE", "s"]),
        "-ERR unknown subcommand 'NOPE'. Try OBJECT HELP.\r\n"
    );
    assert!(h.text(&["OBJECT", "HELP"]).starts_with("*15\r\n"));
}

#[test]
fn debug_sleep_and_active_expire() {
    let mut h = Harness::new();
    assert_eq!(h.text(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "+OK\r\n");
    assert!(!h.server.state.active_expire);
    assert_eq!(h.text(&["DEBUG", "set-active-expire", "1"]), "+OK\r\n");
    assert!(h.server.state.active_expire);
    let start = std::time::Instant::now();
    assert_eq!(h.text(&["DEBUG", "SLEEP", "0.05"]), "+OK\r\n");
    assert!(start.elapsed() >= std::time::Duration::from_millis(50));
    // Junk parses as 0 (strtod); absurd durations do not sleep at all
    // rather than forever.
    for junk in ["abc", "-1", "inf", "nan", "1e300"] {
        let start = std::time::Instant::now();
        assert_eq!(h.text(&["DEBUG", "SLEEP", junk]), "+OK\r\n");
        assert!(
            start.elapsed() < std::time::Duration::from_secs(1),
            "{junk}"
        );
    }
    assert_eq!(
        h.text(&["DEBUG", "NOPE"]),
        "-ERR unknown subcommand or wrong number of arguments for 'NOPE'. Try DEBUG HELP.\r\n"
    );
    assert_eq!(
        h.text(&["DEBUG", "SLEEP"]),
        "-ERR unknown subcommand or wrong number of arguments for 'SLEEP'. Try DEBUG HELP.\r\n"
    );
}

#[test]
fn command_count_info_and_docs_cover_the_table() {
    let mut h = Harness::new();
    let rows = all();
    assert_eq!(
        h.text(&["COMMAND", "COUNT"]),
        format!(":{}\r\n", rows.len())
    );
    let whole = h.run(&["COMMAND"]);
    assert!(whole.starts_with(format!("*{}\r\n", rows.len()).as_bytes()));
    for cmd in &rows {
        let info = h.text(&["COMMAND", "INFO", cmd.name]);
        assert!(info.starts_with("*1\r\n*10\r\n"), "{}: {info}", cmd.name);
        let docs = h.text(&["COMMAND", "DOCS", cmd.name]);
        assert!(docs.starts_with("*2\r\n"), "{}: {docs}", cmd.name);
        assert!(docs.contains("$5\r\ngroup\r\n"), "{}", cmd.name);
        for sub in cmd.subcommands {
            let full = format!("{}|{}", cmd.name, sub.name);
            assert!(
                h.text(&["COMMAND", "INFO", &full])
                    .starts_with("*1\r\n*10\r\n"),
                "{full}"
            );
        }
    }
    assert_eq!(h.text(&["COMMAND", "INFO", "nosuch"]), "*1\r\n$-1\r\n");
    assert_eq!(h.text(&["COMMAND", "DOCS", "nosuch"]), "*0\r\n");
    let list = h.text(&["COMMAND", "LIST"]);
    let subs: usize = rows.iter().map(|c| c.subcommands.len()).sum();
    assert!(list.starts_with(&format!("*{}\r\n", rows.len() + subs)));
    assert_eq!(
        h.text(&["COMMAND", "LIST", "FILTERBY", "pattern", "config|g*"]),
        "*1\r\n$10\r\nconfig|get\r\n"
    );
    assert!(h
        .text(&["COMMAND", "LIST", "FILTERBY", "aclcat", "connection"])
        .contains("\r\nclient|kill\r\n"));
}

#[test]
fn command_getkeys_uses_key_specs() {
    let mut h = Harness::new();
    assert_eq!(
        h.text(&["COMMAND", "GETKEYS", "GET", "k"]),
        "*1\r\n$1\r\nk\r\n"
    );
    assert_eq!(
        h.text(&["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]),
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    assert_eq!(
        h.text(&["COMMAND", "GETKEYS", "object", "encoding", "k"]),
        "*1\r\n$1\r\nk\r\n"
    );
    assert_eq!(
        h.text(&["COMMAND", "GETKEYSANDFLAGS", "GET", "k"]),
        "*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+RO\r\n+access\r\n"
    );
    assert_eq!(
        h.text(&["COMMAND", "GETKEYS", "nosuch", "k"]),
        "-ERR Invalid command specified\r\n"
    );
    assert_eq!(
        h.text(&["COMMAND", "GETKEYS", "ping", "x"]),
        "-ERR The command has no key arguments\r\n"
    );
    assert_eq!(
        h.text(&["COMMAND", "GETKEYS", "get", "a", "b"]),
        "-ERR Invalid number of arguments specified for command\r\n"
    );
    // A key spec's range is walked as Redis walks it, even when the
    // arguments are one short.
    assert_eq!(
        h.text(&["COMMAND", "GETKEYS", "mset", "a", "1", "b"]),
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
}

/// Every row Redis 7.0 also has must carry Redis's arity and flags, so
/// COMMAND INFO says what Redis says and the dispatcher's arity check
/// matches Redis's.
#[test]
fn rows_match_redis_metadata() {
    let mut wrong = Vec::new();
    let mut check = |full: String, cmd: &rizzler::commands::Command| {
        let Some(doc) = meta::redis_doc(&full) else {
            return;
        };
        if doc.arity != cmd.arity {
            wrong.push(format!("{full}: arity {} (Redis {})", cmd.arity, doc.arity));
        }
        let ours: Vec<&str> = flags::NAMES
            .iter()
            .filter(|(bit, _)| cmd.flags & bit != 0)
            .map(|(_, n)| *n)
            .collect();
        let theirs: Vec<&str> = flags::NAMES
            .iter()
            .map(|(_, n)| *n)
            .filter(|n| doc.flags.contains(n))
            .collect();
        if ours != theirs {
            wrong.push(format!("{full}: flags {ours:?} (Redis {theirs:?})"));
        }
        let (first, last, step) = meta::legacy_range(doc.specs);
        let ours = (cmd.keys.0.into(), cmd.keys.1.into(), cmd.keys.2.into());
        if ours != (first, last, step) {
            wrong.push(format!(
                "{full}: keys {ours:?} (Redis {:?})",
                (first, last, step)
            ));
        }
    };
    for cmd in all() {
        check(cmd.name.to_string(), cmd);
        for sub in cmd.subcommands {
            check(format!("{}|{}", cmd.name, sub.name), sub);
        }
    }
    assert!(
        wrong.is_empty(),
        "rows differ from Redis 7.0:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn config_from_args_matches_config_set_rules() {
    let c = Config::from_args(
        [
            "--maxmemory",
            "2mb",
            "--maxmemory-policy",
            "allkeys-lru",
            "--save",
            "900",
            "1",
        ]
        .map(String::from),
    )
    .unwrap();
    assert_eq!(c.maxmemory, 2 << 20);
    assert_eq!(c.maxmemory_policy.name(), "allkeys-lru");
    assert_eq!(c.save, "900 1");
    assert!(Config::from_args(["--save", "900"].map(String::from)).is_err());
}
