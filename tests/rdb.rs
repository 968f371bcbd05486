//! RDB interoperability with Debian's redis-server 7.0: a dump.rdb that
//! Redis saved loads into rizzler's store with the same DEBUG DIGEST and
//! encodings, and a file rizzler writes passes redis-check-rdb and loads
//! into redis-server with the same digest and encodings. Needs
//! redis-server and redis-check-rdb (REDIS_SERVER / REDIS_CHECK_RDB name
//! other binaries); without them these tests fail, never skip.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use rizzler::persist::rdb;
use rizzler::store::{digest, Store, Value};
use rizzler::testing::Harness;

type Args = Vec<Vec<u8>>;

fn cmd(args: &[&[u8]]) -> Args {
    args.iter().map(|a| a.to_vec()).collect()
}

/// A command with a prefix and many generated arguments.
fn many(prefix: &[&str], rest: impl IntoIterator<Item = String>) -> Args {
    prefix
        .iter()
        .map(|a| a.as_bytes().to_vec())
        .chain(rest.into_iter().map(String::into_bytes))
        .collect()
}

/// Pseudo-random bytes (incompressible), deterministic.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

const FAR: u64 = 4_000_000_000_000; // year 2096, in ms

/// Every type in every encoding, in several databases, some with TTLs.
fn script() -> Vec<Args> {
    let mut s = Vec::new();
    // Strings: integers at every encoding edge, non-canonical integers,
    // the embstr/raw edge, compressible and incompressible long strings,
    // binary data.
    let ints = [
        "0",
        "127",
        "-128",
        "128",
        "-129",
        "32767",
        "-32768",
        "32768",
        "2147483647",
        "-2147483648",
        "2147483648",
        "-2147483649",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "007",
        "-0",
        "+1",
        " 1",
        "1.5",
        "",
    ];
    for (i, v) in ints.iter().enumerate() {
        s.push(cmd(&[b"SET", format!("int:{i}").as_bytes(), v.as_bytes()]));
    }
    s.push(cmd(&[b"SET", b"embstr44", &[b'x'; 44]]));
    s.push(cmd(&[b"SET", b"raw45", &[b'x'; 45]]));
    s.push(cmd(&[b"SET", b"lzf", &[b'a'; 100]]));
    s.push(cmd(&[
        b"SET",
        b"text",
        "the quick brown fox jumps over the lazy dog; "
            .repeat(40)
            .as_bytes(),
    ]));
    s.push(cmd(&[b"SET", b"noise", &noise(300, 7)]));
    s.push(cmd(&[
        b"SET",
        b"big",
        "xyz0123456789".repeat(5000).as_bytes(),
    ]));
    s.push(cmd(&[b"SET", b"bin\0key\xff", b"\0\x01\x02\xff\r\n\0"]));
    s.push(cmd(&[b"SET", b"21chars", b"aaaaaaaaaaaaaaaaaaaaa"]));
    // Lists: small, many elements (several nodes), elements larger than a
    // node, integers of every listpack width.
    s.push(cmd(&[
        b"RPUSH",
        b"list:small",
        b"a",
        b"b",
        b"",
        b"1",
        b"-5",
    ]));
    s.push(many(
        &["RPUSH", "list:big"],
        (0..10_000).map(|i| {
            if i % 3 == 0 {
                format!("e{i}")
            } else {
                i.to_string()
            }
        }),
    ));
    let mut long = vec![b"RPUSH".to_vec(), b"list:long".to_vec()];
    for i in 0..6u64 {
        long.push(noise(10_000, i + 1));
        long.push(format!("short{i}").into_bytes());
        long.push(vec![b'r'; 9000]);
    }
    s.push(long);
    s.push(many(
        &["RPUSH", "list:ints"],
        [
            "100",
            "5000",
            "-4096",
            "4095",
            "-4097",
            "32767",
            "100000",
            "-8388608",
            "8388608",
            "3000000000",
            "9223372036854775807",
            "-9223372036854775808",
            "-1",
            "007",
        ]
        .map(String::from),
    ));
    // Sets: intsets of each width, the 512 edge, hash tables.
    s.push(many(
        &["SADD", "set:int16"],
        ["1", "2", "3", "-5"].map(String::from),
    ));
    s.push(many(
        &["SADD", "set:int32"],
        ["1", "100000"].map(String::from),
    ));
    s.push(many(
        &["SADD", "set:int64"],
        ["-1", "5000000000", "9223372036854775807"].map(String::from),
    ));
    s.push(many(
        &["SADD", "set:512"],
        (0..512).map(|i| (i * 7).to_string()),
    ));
    s.push(many(&["SADD", "set:513"], (0..513).map(|i| i.to_string())));
    s.push(many(
        &["SADD", "set:strs"],
        ["a", "b", "c", ""].map(String::from),
    ));
    s.push(many(
        &["SADD", "set:mixed"],
        ["1", "2", "x", "007"].map(String::from),
    ));
    s.push(many(
        &["SADD", "set:big"],
        (0..3000).map(|i| format!("member:{i}")),
    ));
    // Hashes: listpack (integers, the 64-byte edge), hash tables (a long
    // value, many fields).
    s.push(many(
        &["HSET", "hash:small"],
        ["f1", "v1", "f2", "2", "3", "-3", "f4", ""].map(String::from),
    ));
    s.push(cmd(&[b"HSET", b"hash:64", b"f", &[b'v'; 64], b"g", b"1"]));
    s.push(cmd(&[b"HSET", b"hash:65", b"f", &[b'v'; 65], b"g", b"1"]));
    s.push(many(
        &["HSET", "hash:big"],
        (0..600).flat_map(|i| [format!("field{i}"), format!("value{i}")]),
    ));
    s.push(many(
        &["HSET", "hash:512"],
        (0..512).flat_map(|i| [i.to_string(), (i * 3).to_string()]),
    ));
    // Sorted sets: listpack with special scores (-0 becomes 0 there), the
    // 128 edge, skip lists with -0 and infinities, a long member.
    s.push(many(
        &["ZADD", "zset:small"],
        [
            "1",
            "a",
            "2.5",
            "b",
            "-1",
            "c",
            "inf",
            "d",
            "-inf",
            "e",
            "0",
            "f",
            "-0",
            "g",
            "1e300",
            "h",
            "4611686018427387904",
            "i",
            "1e-300",
            "j",
            "4611686018427387905",
            "k",
            "0.1",
            "l",
            "123456789",
            "m",
        ]
        .map(String::from),
    ));
    s.push(many(
        &["ZADD", "zset:128"],
        (0..128).flat_map(|i| [format!("{}", i as f64 / 4.0), format!("m{i}")]),
    ));
    let mut big = many(
        &["ZADD", "zset:big"],
        (0..300).flat_map(|i| [format!("{}", i as f64 / 3.0), format!("m{i}")]),
    );
    big.extend(["-0", "negzero", "inf", "top", "-inf", "bottom"].map(|a| a.as_bytes().to_vec()));
    s.push(big);
    s.push(cmd(&[
        b"ZADD",
        b"zset:long",
        b"1",
        &[b'y'; 65],
        b"-0",
        b"nz",
        b"2",
        b"b",
    ]));
    // Streams: one node and many (split by entries and by bytes), entries
    // with and without the master's fields, tombstones from XDEL and an
    // exact trim, an emptied stream, groups with pending entries.
    s.push(cmd(&[b"XADD", b"st:small", b"1-1", b"f", b"v"]));
    s.push(cmd(&[b"XADD", b"st:small", b"1-2", b"f", b"-7", b"g", b""]));
    s.push(cmd(&[b"XADD", b"st:small", b"2-*", b"f", b"123456789012"]));
    s.push(cmd(&[
        b"XSETID",
        b"st:small",
        b"5-5",
        b"ENTRIESADDED",
        b"10",
        b"MAXDELETEDID",
        b"1-3",
    ]));
    for i in 1..=250u32 {
        let id = format!("{}-{}", 1000 + i / 7, i);
        let v = if i % 50 == 0 {
            "x".repeat(3000)
        } else {
            i.to_string()
        };
        s.push(cmd(&[
            b"XADD",
            b"st:big",
            id.as_bytes(),
            b"field",
            v.as_bytes(),
        ]));
    }
    s.push(cmd(&[
        b"XDEL",
        b"st:big",
        b"1000-3",
        b"1010-71",
        b"1035-250",
    ]));
    s.push(cmd(&[b"XTRIM", b"st:big", b"MAXLEN", b"230"]));
    s.push(cmd(&[b"XADD", b"st:empty", b"1-1", b"f", b"v"]));
    s.push(cmd(&[b"XDEL", b"st:empty", b"1-1"]));
    s.push(cmd(&[
        b"XGROUP",
        b"CREATE",
        b"st:mk",
        b"g",
        b"$",
        b"MKSTREAM",
    ]));
    s.push(cmd(&[b"XGROUP", b"CREATE", b"st:big", b"g1", b"0"]));
    s.push(cmd(&[
        b"XGROUP",
        b"CREATE",
        b"st:big",
        b"g2",
        b"$",
        b"ENTRIESREAD",
        b"5",
    ]));
    s.push(cmd(&[
        b"XREADGROUP",
        b"GROUP",
        b"g1",
        b"alice",
        b"COUNT",
        b"3",
        b"STREAMS",
        b"st:big",
        b">",
    ]));
    s.push(cmd(&[
        b"XREADGROUP",
        b"GROUP",
        b"g1",
        b"bob",
        b"COUNT",
        b"2",
        b"STREAMS",
        b"st:big",
        b">",
    ]));
    s.push(cmd(&[b"XACK", b"st:big", b"g1", b"1003-22"]));
    s.push(cmd(&[
        b"XGROUP",
        b"CREATECONSUMER",
        b"st:big",
        b"g2",
        b"carol",
    ]));
    // TTLs.
    let far = FAR.to_string();
    s.push(cmd(&[b"SET", b"ttl:str", b"v", b"PXAT", far.as_bytes()]));
    s.push(cmd(&[b"HSET", b"ttl:hash", b"a", b"b"]));
    s.push(cmd(&[
        b"PEXPIREAT",
        b"ttl:hash",
        (FAR + 1).to_string().as_bytes(),
    ]));
    s.push(cmd(&[b"RPUSH", b"ttl:list", b"x"]));
    s.push(cmd(&[b"PEXPIRE", b"ttl:list", b"100000000"]));
    // Other databases.
    s.push(cmd(&[b"SELECT", b"1"]));
    s.push(cmd(&[b"SET", b"a", b"b"]));
    s.push(many(&["SADD", "s"], ["1", "x"].map(String::from)));
    s.push(cmd(&[b"SELECT", b"15"]));
    s.push(cmd(&[b"RPUSH", b"l", b"1"]));
    s.push(cmd(&[b"ZADD", b"z", b"1", b"a"]));
    s.push(cmd(&[b"SELECT", b"0"]));
    s
}

/// How many keys the script leaves.
fn script_keys() -> usize {
    let mut h = Harness::new();
    run_on_rizzler(&mut h, &script());
    let n = h.server.store.total_keys();
    assert!(n > 50, "the script makes {n} keys");
    n
}

fn run_on_redis(conn: &mut common::Conn, script: &[Args]) {
    for args in script {
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let reply = conn.cmd(&refs);
        assert_ne!(
            reply[0],
            b'-',
            "redis refused {}: {}",
            common::show(&args[0]),
            common::show(&reply)
        );
    }
}

fn run_on_rizzler(h: &mut Harness, script: &[Args]) {
    for args in script {
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let reply = h.raw(&rizzler::resp::encode_request(&refs));
        assert_ne!(
            reply[0],
            b'-',
            "rizzler refused {}: {}",
            common::show(&args[0]),
            common::show(&reply)
        );
    }
}

/// A status, bulk or integer reply's text.
fn text(reply: &[u8]) -> String {
    let s = String::from_utf8_lossy(reply).into_owned();
    let s = s.trim_end_matches("\r\n");
    match s.as_bytes().first() {
        Some(b'$') => s.split_once("\r\n").map_or("", |(_, b)| b).to_string(),
        Some(b'+' | b':') => s[1..].to_string(),
        _ => panic!("unexpected reply {s:?}"),
    }
}

fn bulk_body(frame: &[u8]) -> Vec<u8> {
    let start = frame.iter().position(|&b| b == b'\n').map_or(0, |p| p + 1);
    frame[start..frame.len() - 2].to_vec()
}

fn redis_digest(conn: &mut common::Conn) -> String {
    text(&conn.cmd(&[b"DEBUG", b"DIGEST"]))
}

/// For every key of every database: (db, key, OBJECT ENCODING,
/// PEXPIRETIME).
fn redis_keys(conn: &mut common::Conn) -> Vec<(usize, Vec<u8>, String, i64)> {
    let mut all = Vec::new();
    for db in 0..16 {
        conn.cmd(&[b"SELECT", db.to_string().as_bytes()]);
        for frame in common::elements(&conn.cmd(&[b"KEYS", b"*"])) {
            let key = bulk_body(&frame);
            let enc = text(&conn.cmd(&[b"OBJECT", b"ENCODING", &key]));
            let ttl: i64 = text(&conn.cmd(&[b"PEXPIRETIME", &key]))
                .parse()
                .expect("int");
            all.push((db, key, enc, ttl));
        }
    }
    conn.cmd(&[b"SELECT", b"0"]);
    all.sort();
    all
}

fn rizzler_keys(store: &Store) -> Vec<(usize, Vec<u8>, String, i64)> {
    let mut all = Vec::new();
    for (db, d) in store.dbs.iter().enumerate() {
        for e in d.entries() {
            let ttl = e.expire_at().map_or(-1, |t| t as i64);
            all.push((db, e.key.to_vec(), e.value.encoding().to_string(), ttl));
        }
    }
    all.sort();
    all
}

fn load_file(path: &Path) -> Store {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut store = Store::new(16);
    let now = rizzler::util::now_ms();
    let summary = rdb::load(&data, |l| {
        if l.db >= 16 {
            return Err(format!("database {} out of range", l.db));
        }
        store
            .db(l.db, now)
            .set(&l.key, l.value, l.expire_at_ms, "restore");
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(summary.checksum.is_some(), "Redis checksums its files");
    assert!(
        summary
            .aux
            .iter()
            .any(|(k, v)| &**k == b"redis-ver" && v.starts_with(b"7.0")),
        "the file comes from Redis 7.0"
    );
    store
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rizzler-rdb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn save(conn: &mut common::Conn) {
    assert_eq!(text(&conn.cmd(&[b"SAVE"])), "OK");
}

/// Redis saves, rizzler loads: the same digest and, at Redis's default
/// limits, the same encodings and expiry times.
#[test]
fn redis_files_load_into_rizzler() {
    let script = script();
    let configs: [&[&str]; 3] = [
        &[],
        // Compressed quicklist nodes are saved as LZF blobs.
        &["--list-compress-depth", "1"],
        // No LZF at all; listpacks larger than rizzler's limits.
        &[
            "--rdbcompression",
            "no",
            "--hash-max-listpack-entries",
            "1024",
            "--zset-max-listpack-entries",
            "1000",
            "--set-max-intset-entries",
            "2000",
            "--list-max-listpack-size",
            "5",
        ],
    ];
    for (i, config) in configs.iter().enumerate() {
        let redis = common::redis_server_with(config);
        let mut conn = redis.conn();
        run_on_redis(&mut conn, &script);
        save(&mut conn);
        let store = load_file(&common::redis_dir(redis.port).join("dump.rdb"));
        assert_eq!(store.total_keys(), script_keys());
        assert_eq!(
            digest::hex(&digest::dataset(&store.dbs)),
            redis_digest(&mut conn),
            "digest after loading Redis's file (config {config:?})"
        );
        if i == 0 {
            assert_eq!(rizzler_keys(&store), redis_keys(&mut conn));
        } else {
            let strip = |v: Vec<(usize, Vec<u8>, String, i64)>| {
                v.into_iter()
                    .map(|(d, k, _, t)| (d, k, t))
                    .collect::<Vec<_>>()
            };
            assert_eq!(strip(rizzler_keys(&store)), strip(redis_keys(&mut conn)));
        }
    }
}

/// Rizzler saves, Redis loads: redis-check-rdb accepts the file, and
/// redis-server loads it with rizzler's digest, encodings and expiry
/// times.
#[test]
fn rizzler_files_load_into_redis() {
    let script = script();
    let mut h = Harness::new();
    run_on_rizzler(&mut h, &script);
    let dir = temp_dir("write");
    let data = rdb::dump(
        &h.server.store.dbs,
        &[
            ("redis-ver", b"7.0.15"),
            ("redis-bits", b"64"),
            (
                "ctime",
                rizzler::util::now_ms()
                    .div_euclid(1000)
                    .to_string()
                    .as_bytes(),
            ),
            ("used-mem", b"1000000"),
            ("aof-base", b"0"),
        ],
    );
    let path = dir.join("dump.rdb");
    std::fs::write(&path, &data).expect("write dump.rdb");

    let check = std::env::var("REDIS_CHECK_RDB").unwrap_or_else(|_| "redis-check-rdb".into());
    let out = Command::new(&check).arg(&path).output().unwrap_or_else(|e| {
        panic!("cannot run {check} ({e}): install redis-tools/redis-server 7.0, or set REDIS_CHECK_RDB")
    });
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && log.contains("RDB looks OK"),
        "redis-check-rdb: {log}"
    );

    let dir_arg = dir.to_string_lossy().into_owned();
    let redis = common::redis_server_with(&["--dir", &dir_arg, "--dbfilename", "dump.rdb"]);
    let mut conn = redis.conn();
    assert_eq!(
        redis_digest(&mut conn),
        digest::hex(&digest::dataset(&h.server.store.dbs)),
        "Redis's digest after loading rizzler's file"
    );
    assert_eq!(redis_keys(&mut conn), rizzler_keys(&h.server.store));

    // Redis saves what it loaded; rizzler reads it back unchanged.
    save(&mut conn);
    let back = load_file(&path);
    assert_eq!(
        digest::dataset(&back.dbs),
        digest::dataset(&h.server.store.dbs)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file Redis refuses, rizzler refuses too, with the offset.
#[test]
fn corrupt_files_are_refused_with_an_offset() {
    let mut h = Harness::new();
    run_on_rizzler(&mut h, &script());
    let data = rdb::dump(&h.server.store.dbs, &[]);
    let mut bad = data.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x40;
    let err = rdb::load(&bad, |_| Ok(())).expect_err("corrupt");
    assert!(err.to_string().starts_with("Bad RDB at byte "), "{err}");
    let err = rdb::load(&data[..data.len() - 3], |_| Ok(())).expect_err("truncated");
    assert!(err.offset <= data.len());
    // The whole file is fine, and every value survives DUMP's path.
    let mut n = 0;
    rdb::load(&data, |l| {
        let mut one = Vec::new();
        rdb::write_value(&mut one, &l.value);
        let back = rdb::read_value(&one).map_err(|e| e.to_string())?;
        let (mut a, mut b) = (digest::Digest::default(), digest::Digest::default());
        digest::mix_value(&mut a, &l.value, false);
        digest::mix_value(&mut b, &back, false);
        assert_eq!(a, b);
        assert!(!matches!(back, Value::Str(_)) || back.encoding() == l.value.encoding());
        n += 1;
        Ok(())
    })
    .expect("loads");
    assert_eq!(n, h.server.store.total_keys());
}

/// Small files Redis 7.0 saved (also the fuzzer's seeds): default
/// settings, compressed quicklist nodes of 4 entries, and no compression
/// nor checksum.
#[test]
fn saved_seed_files_load() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/rdb");
    for (name, checksummed) in [
        ("seed1.rdb", true),
        ("seed2.rdb", true),
        ("seed3.rdb", false),
    ] {
        let data = std::fs::read(dir.join(name)).expect("seed file");
        let mut keys = Vec::new();
        let summary = rdb::load(&data, |l| {
            keys.push((l.db, l.key.to_vec(), l.value.encoding()));
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(summary.checksum.is_some(), checksummed, "{name}");
        assert_eq!(summary.end, data.len());
        assert_eq!(keys.len(), 14, "{name}");
        keys.sort();
        let find = |k: &[u8]| keys.iter().find(|(_, key, _)| key == k).map(|e| e.2);
        assert_eq!(find(b"si"), Some("intset"));
        assert_eq!(find(b"hh"), Some("hashtable"));
        assert_eq!(find(b"zz"), Some("skiplist"));
        assert_eq!(find(b"z"), Some("listpack"));
        assert!(keys.iter().any(|(db, key, _)| *db == 2 && key == b"a"));
    }
}

/// A file Redis 7.0 saved with streams (stream-node-max-entries 3, so
/// two nodes; tombstones; a group whose counters are unknown, a NOACK
/// consumer, an XCLAIM FORCE entry; an emptied stream; a stream made by
/// MKSTREAM): also a fuzzer seed.
#[test]
fn saved_stream_seed_loads() {
    use rizzler::store::StreamId;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/rdb/seed4.rdb");
    let data = std::fs::read(path).expect("seed file");
    let mut streams = Vec::new();
    rdb::load(&data, |l| {
        if let Value::Stream(s) = l.value {
            streams.push((l.key.to_vec(), s));
        }
        Ok(())
    })
    .expect("loads");
    streams.sort_by(|a, b| a.0.cmp(&b.0));
    let names: Vec<&[u8]> = streams.iter().map(|s| &s.0[..]).collect();
    assert_eq!(names, [&b"s1"[..], b"s2", b"s3"]);
    let s1 = &streams[0].1;
    assert_eq!((s1.len, s1.node_count(), s1.rax_nodes()), (3, 2, 6));
    assert_eq!(s1.last_id, StreamId::new(4, 1));
    assert_eq!(s1.max_deleted, StreamId::new(4, 1));
    assert_eq!(s1.entries_added, 5);
    let ids: Vec<StreamId> = s1
        .range(StreamId::MIN, StreamId::MAX, false)
        .map(|e| e.id)
        .collect();
    assert_eq!(
        ids,
        [
            StreamId::new(1, 1),
            StreamId::new(2, 1),
            StreamId::new(3, 1)
        ]
    );
    let g = &s1.groups[&b"g"[..]];
    assert_eq!(g.entries_read, -1);
    assert_eq!(g.pel.len(), 2);
    assert_eq!(g.pel[&StreamId::new(2, 1)].delivery_count, 3);
    assert_eq!(&*g.pel[&StreamId::new(2, 1)].consumer, b"carol");
    assert_eq!(g.consumers.len(), 3);
    assert_eq!(s1.groups[&b"g2"[..]].entries_read, 2);
    assert_eq!((streams[1].1.len, streams[1].1.entries_added), (0, 1));
    assert!(streams[2].1.groups.contains_key(&b"g"[..]));
}
