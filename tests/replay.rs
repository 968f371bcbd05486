//! The propagation stream reproduces the dataset.
//!
//! A property test runs long random sequences of every write command that
//! exists (with relative and absolute expiries, lazy expiry on reads,
//! active expiry, FLUSHDB/FLUSHALL, SELECT/MOVE/COPY DB/SWAPDB, and
//! commands that fail) on one server whose clock jumps about; then it feeds
//! what that server propagated into a fresh server, later, as an AOF is
//! loaded or a replica follows: with expiry on access off, so that keys
//! leave only by the stream's DELs. Both must hold the same keys, values and
//! expiry times, and give the same DEBUG DIGEST. This is the property the
//! AOF and replication stand on: whatever a command did, its propagation
//! does again, whenever it is replayed.

use proptest::prelude::*;
use rizzler::store::{Db, Hash, Op, Set, Value};
use rizzler::testing::Harness;

const KEYS: &[&str] = &["a", "b", "c", "d"];
const DBS: usize = 3;
const START_MS: u64 = 1_700_000_000_000;

/// One step of a sequence: a command, or the clock moving, or a cron tick.
#[derive(Clone, Debug)]
enum Step {
    Cmd(Vec<String>),
    /// The clock moves forward this many milliseconds.
    Wait(u64),
    /// The cron runs (active expiry).
    Cron,
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(KEYS).prop_map(str::to_string)
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(&["x", "yy", "", "10", "-3", "1.5", "42"][..])
            .prop_map(str::to_string),
        (0..5u32).prop_map(|n| "v".repeat(n as usize * 7)),
    ]
}

fn score() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["0", "1", "-2", "1.5", "-0", "inf", "-inf", "x"][..])
}

fn small() -> impl Strategy<Value = String> {
    (-2i64..60).prop_map(|n| n.to_string())
}

/// SET-family expiry options, relative and absolute, some in the past.
fn ttl_opt() -> impl Strategy<Value = Vec<String>> {
    let now = START_MS as i64;
    prop_oneof![
        Just(vec![]),
        (1..40i64).prop_map(|n| vec!["PX".into(), n.to_string()]),
        (1..3i64).prop_map(|n| vec!["EX".into(), n.to_string()]),
        (-100..400i64).prop_map(move |n| vec!["PXAT".into(), (now + n).to_string()]),
        Just(vec!["KEEPTTL".into()]),
    ]
}

fn cond_opt() -> impl Strategy<Value = Vec<String>> {
    const OPTS: &[&[&str]] = &[&[], &["NX"], &["XX"], &["GT"], &["LT"], &["GET"]];
    prop::sample::select(OPTS).prop_map(|v| v.iter().map(|s| s.to_string()).collect())
}

fn cmd(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

fn command() -> impl Strategy<Value = Vec<String>> {
    let now = START_MS as i64;
    prop_oneof![
        // Strings.
        (key(), value(), ttl_opt(), cond_opt()).prop_map(|(k, v, t, c)| {
            let mut a = cmd(&["SET", &k, &v]);
            a.extend(t);
            // SET takes NX, XX and GET; GT/LT make a syntax error (a
            // failed write, which must propagate nothing).
            a.extend(c);
            a
        }),
        (key(), value()).prop_map(|(k, v)| cmd(&["SETNX", &k, &v])),
        (key(), 1..3i64, value()).prop_map(|(k, s, v)| cmd(&["SETEX", &k, &s.to_string(), &v])),
        (key(), 1..50i64, value()).prop_map(|(k, s, v)| cmd(&["PSETEX", &k, &s.to_string(), &v])),
        (key(), value()).prop_map(|(k, v)| cmd(&["GETSET", &k, &v])),
        key().prop_map(|k| cmd(&["GETDEL", &k])),
        (
            key(),
            prop_oneof![
                Just(vec![]),
                Just(vec!["PERSIST".to_string()]),
                (1..40i64).prop_map(|n| vec!["PX".to_string(), n.to_string()]),
                (-100..300i64).prop_map(move |n| vec!["PXAT".to_string(), (now + n).to_string()]),
                (-2..2i64)
                    .prop_map(move |n| vec!["EXAT".to_string(), (now / 1000 + n).to_string()]),
            ]
        )
            .prop_map(|(k, o)| {
                let mut a = cmd(&["GETEX", &k]);
                a.extend(o);
                a
            }),
        (key(), value(), key(), value())
            .prop_map(|(k1, v1, k2, v2)| cmd(&["MSET", &k1, &v1, &k2, &v2])),
        (key(), value(), key(), value())
            .prop_map(|(k1, v1, k2, v2)| cmd(&["MSETNX", &k1, &v1, &k2, &v2])),
        (key(), value()).prop_map(|(k, v)| cmd(&["APPEND", &k, &v])),
        (key(), 0..40i64, value()).prop_map(|(k, o, v)| cmd(&["SETRANGE", &k, &o.to_string(), &v])),
        key().prop_map(|k| cmd(&["INCR", &k])),
        key().prop_map(|k| cmd(&["DECR", &k])),
        (key(), small()).prop_map(|(k, n)| cmd(&["INCRBY", &k, &n])),
        (key(), small()).prop_map(|(k, n)| cmd(&["DECRBY", &k, &n])),
        (
            key(),
            prop::sample::select(&["0.1", "1.5", "-2", "3e2", "abc"][..])
        )
            .prop_map(|(k, n)| cmd(&["INCRBYFLOAT", &k, n])),
        // Keys.
        (key(), key()).prop_map(|(a, b)| cmd(&["DEL", &a, &b])),
        key().prop_map(|k| cmd(&["UNLINK", &k])),
        (key(), key()).prop_map(|(a, b)| cmd(&["RENAME", &a, &b])),
        (key(), key()).prop_map(|(a, b)| cmd(&["RENAMENX", &a, &b])),
        (key(), key(), 0..DBS, any::<bool>()).prop_map(|(a, b, db, replace)| {
            let mut c = cmd(&["COPY", &a, &b, "DB", &db.to_string()]);
            if replace {
                c.push("REPLACE".into());
            }
            c
        }),
        (key(), 0..DBS).prop_map(|(k, db)| cmd(&["MOVE", &k, &db.to_string()])),
        // Expiry.
        (
            prop::sample::select(&["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"][..]),
            key(),
            -5..80i64,
            prop::sample::select(&["", "NX", "XX", "GT", "LT"][..]),
        )
            .prop_map(move |(c, k, n, opt)| {
                let when = match c {
                    "EXPIRE" => (n / 20).to_string(),
                    "PEXPIRE" => n.to_string(),
                    "EXPIREAT" => (now / 1000 + n / 20).to_string(),
                    _ => (now + n * 5).to_string(),
                };
                let mut a = cmd(&[c, &k, &when]);
                if !opt.is_empty() {
                    a.push(opt.to_string());
                }
                a
            }),
        key().prop_map(|k| cmd(&["PERSIST", &k])),
        // Lists, sets, hashes.
        (
            prop::sample::select(&["LPUSH", "RPUSH"][..]),
            key(),
            value(),
            value()
        )
            .prop_map(|(c, k, a, b)| cmd(&[c, &k, &a, &b])),
        (
            prop::sample::select(&["LPOP", "RPOP"][..]),
            key(),
            prop::option::of(0..4u32)
        )
            .prop_map(|(c, k, n)| {
                let mut a = cmd(&[c, &k]);
                if let Some(n) = n {
                    a.push(n.to_string());
                }
                a
            }),
        (key(), -3..3i64, value()).prop_map(|(k, i, v)| cmd(&["LSET", &k, &i.to_string(), &v])),
        (key(), value()).prop_map(|(k, v)| cmd(&["RPUSHX", &k, &v])),
        (key(), value(), value()).prop_map(|(k, p, v)| cmd(&["LINSERT", &k, "AFTER", &p, &v])),
        (key(), -2..3i64, value()).prop_map(|(k, n, v)| cmd(&["LREM", &k, &n.to_string(), &v])),
        (key(), -3..3i64, -3..3i64).prop_map(|(k, a, b)| cmd(&[
            "LTRIM",
            &k,
            &a.to_string(),
            &b.to_string()
        ])),
        (key(), key()).prop_map(|(a, b)| cmd(&["LMOVE", &a, &b, "LEFT", "RIGHT"])),
        (key(), key()).prop_map(|(a, b)| cmd(&["RPOPLPUSH", &a, &b])),
        (key(), key(), 1..4u32).prop_map(|(a, b, n)| cmd(&[
            "LMPOP",
            "2",
            &a,
            &b,
            "LEFT",
            "COUNT",
            &n.to_string()
        ])),
        (key(), value(), value()).prop_map(|(k, a, b)| cmd(&["SADD", &k, &a, &b])),
        (key(), value(), value()).prop_map(|(k, a, b)| cmd(&["SREM", &k, &a, &b])),
        (key(), key(), value()).prop_map(|(a, b, m)| cmd(&["SMOVE", &a, &b, &m])),
        key().prop_map(|k| cmd(&["SPOP", &k])),
        (key(), 0..4u32).prop_map(|(k, n)| cmd(&["SPOP", &k, &n.to_string()])),
        (
            prop::sample::select(&["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"][..]),
            key(),
            key(),
            key()
        )
            .prop_map(|(c, d, a, b)| cmd(&[c, &d, &a, &b])),
        (key(), value(), value(), value())
            .prop_map(|(k, f, v, g)| cmd(&["HSET", &k, &f, &v, &g, &v])),
        (key(), value()).prop_map(|(k, f)| cmd(&["HDEL", &k, &f])),
        (key(), value(), value()).prop_map(|(k, f, v)| cmd(&["HSETNX", &k, &f, &v])),
        (key(), value(), -3..3i64).prop_map(|(k, f, n)| cmd(&["HINCRBY", &k, &f, &n.to_string()])),
        (key(), value()).prop_map(|(k, f)| cmd(&["HINCRBYFLOAT", &k, &f, "0.1"])),
        // Sorted sets.
        (
            key(),
            prop::sample::select(&["", "NX", "XX", "GT", "LT", "CH", "INCR"][..]),
            score(),
            value()
        )
            .prop_map(|(k, o, s, m)| {
                let mut a = cmd(&["ZADD", &k]);
                if !o.is_empty() {
                    a.push(o.to_string());
                }
                a.extend([s.to_string(), m]);
                a
            }),
        (key(), score(), value(), score(), value())
            .prop_map(|(k, s, m, t, n)| cmd(&["ZADD", &k, s, &m, t, &n])),
        (key(), score(), value()).prop_map(|(k, s, m)| cmd(&["ZINCRBY", &k, s, &m])),
        (key(), value(), value()).prop_map(|(k, a, b)| cmd(&["ZREM", &k, &a, &b])),
        (
            prop::sample::select(&["ZPOPMIN", "ZPOPMAX"][..]),
            key(),
            0..3u32
        )
            .prop_map(|(c, k, n)| cmd(&[c, &k, &n.to_string()])),
        (key(), key()).prop_map(|(a, b)| cmd(&["ZMPOP", "2", &a, &b, "MAX", "COUNT", "2"])),
        (key(), -2..2i64).prop_map(|(k, n)| cmd(&["ZREMRANGEBYRANK", &k, "0", &n.to_string()])),
        (key(), score()).prop_map(|(k, s)| cmd(&["ZREMRANGEBYSCORE", &k, "-inf", s])),
        key().prop_map(|k| cmd(&["ZREMRANGEBYLEX", &k, "-", "[m"])),
        (key(), key()).prop_map(|(d, s)| cmd(&["ZRANGESTORE", &d, &s, "1", "-1"])),
        (key(), key()).prop_map(|(s, d)| cmd(&["SORT", &s, "ALPHA", "STORE", &d])),
        (
            prop::sample::select(&["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"][..]),
            key(),
            key(),
            key()
        )
            .prop_map(|(c, d, a, b)| cmd(&[c, &d, "2", &a, &b])),
        // Databases.
        (0..DBS).prop_map(|db| cmd(&["SELECT", &db.to_string()])),
        (0..DBS, 0..DBS).prop_map(|(a, b)| cmd(&["SWAPDB", &a.to_string(), &b.to_string()])),
        Just(cmd(&["FLUSHDB"])),
        // Scripts propagate their effects (Redis 7), as one unit: random
        // values are replayed as written, a SELECT inside stays inside, an
        // error halfway keeps what ran before it.
        (key(), key(), value()).prop_map(|(a, b, v)| cmd(&[
            "EVAL",
            "redis.call('set', KEYS[1], ARGV[1]) redis.call('expire', KEYS[1], 100) return redis.call('incr', KEYS[2])",
            "2", &a, &b, &v,
        ])),
        key().prop_map(|k| cmd(&[
            "EVAL",
            "return redis.call('set', KEYS[1], tostring(math.random()))",
            "1", &k,
        ])),
        (key(), 0..DBS).prop_map(|(k, db)| cmd(&[
            "EVAL",
            "redis.call('select', ARGV[1]) redis.call('rpush', KEYS[1], 'x') return redis.call('incr', KEYS[1])",
            "1", &k, &db.to_string(),
        ])),
        Just(cmd(&[
            "FUNCTION", "LOAD", "REPLACE",
            "#!lua name=replaylib\nredis.register_function('bump', function(keys, args) return redis.call('hincrby', keys[1], 'n', 1) end)",
        ])),
        key().prop_map(|k| cmd(&["FCALL", "bump", "1", &k])),
        // Transactions: whatever a random MULTI ... EXEC ran replays as one unit.
        Just(cmd(&["MULTI"])),
        Just(cmd(&["EXEC"])),
        Just(cmd(&["DISCARD"])),
        Just(cmd(&["FLUSHALL"])),
        // Reads: each may find a key whose time has passed and delete it.
        key().prop_map(|k| cmd(&["GET", &k])),
        (key(), key()).prop_map(|(a, b)| cmd(&["EXISTS", &a, &b])),
        key().prop_map(|k| cmd(&["TTL", &k])),
        key().prop_map(|k| cmd(&["LLEN", &k])),
        Just(cmd(&["SCAN", "0", "COUNT", "100"])),
        Just(cmd(&["RANDOMKEY"])),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        12 => command().prop_map(Step::Cmd),
        3 => (0..30u64).prop_map(Step::Wait),
        1 => Just(Step::Cron),
    ]
}

/// A server with a small number of databases at a frozen time.
fn server() -> Harness {
    let config = rizzler::config::Config {
        databases: DBS,
        ..Default::default()
    };
    let mut h = Harness::with_config(config);
    h.set_time(START_MS);
    h
}

/// Every live key of every database, in a canonical form.
fn snapshot(h: &Harness) -> Vec<String> {
    let now = h.server.state.now_ms();
    let mut out = Vec::new();
    for (i, db) in h.server.store.dbs.iter().enumerate() {
        out.extend(db.iter(now).map(|e| {
            format!(
                "{i} {:?} {} {:?}",
                e.key,
                canonical(&e.value),
                e.expire_at().unwrap_or(0)
            )
        }));
    }
    out.sort();
    out
}

fn canonical(value: &Value) -> String {
    match value {
        Value::Str(s) => format!("str {:?}", s.data),
        Value::List(l) => format!("list {l:?}"),
        Value::Set(s) => {
            let mut m: Vec<Vec<u8>> = match s {
                Set::Ints(v) => v.iter().map(|n| n.to_string().into_bytes()).collect(),
                Set::Table(t) => t.iter().map(|m| m.to_vec()).collect(),
            };
            m.sort();
            format!("set {m:?}")
        }
        Value::Hash(h) => {
            let mut m: Vec<(Vec<u8>, Vec<u8>)> = match h {
                Hash::Pairs(p) => p.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect(),
                Hash::Table(t) => t.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect(),
            };
            m.sort();
            format!("hash {m:?}")
        }
        Value::Zset(z) => {
            let items: Vec<(String, Vec<u8>)> = z
                .iter()
                .map(|i| (format!("{:?}", i.score), i.member.to_vec()))
                .collect();
            format!("zset {items:?}")
        }
        Value::Stream(st) => {
            use rizzler::store::StreamId;
            let entries: Vec<String> = st
                .range(StreamId::MIN, StreamId::MAX, false)
                .map(|e| {
                    let pairs: Vec<(&[u8], &[u8])> = e.fields().collect();
                    format!("{:?} {pairs:?}", e.id)
                })
                .collect();
            let meta = (st.last_id, st.first_id, st.max_deleted, st.entries_added);
            format!("stream {entries:?} {meta:?} {:?}", st.groups)
        }
    }
}

fn digest(dbs: &[Db]) -> String {
    rizzler::store::digest::hex(&rizzler::store::digest::dataset(dbs))
}

/// Runs `steps` on a server that propagates, replays what it propagated
/// on a fresh one, and compares them.
fn check(steps: &[Step]) -> Result<(), TestCaseError> {
    let mut a = server();
    let recorder = a.record();
    let mut stream: Vec<Op> = Vec::new();
    let mut now = START_MS;
    for step in steps {
        match step {
            Step::Cmd(argv) => {
                let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
                a.run(&argv);
            }
            Step::Wait(ms) => {
                now += ms;
                a.set_time(now);
            }
            Step::Cron => rizzler::server::cron(&mut a.server.store, &mut a.server.state),
        }
        stream.extend(recorder.units.borrow_mut().drain(..).flatten());
    }

    // Replayed an hour later: a relative time propagated as such would
    // show, and so would an expiry decided again by the replay's clock.
    let mut b = server();
    b.set_time(now + 3_600_000);
    b.server.store.expire_on_access = false;
    let mut selected = 0;
    for op in &stream {
        if op.db != selected {
            b.run(&["SELECT", &op.db.to_string()]);
            selected = op.db;
        }
        let argv: Vec<&[u8]> = op.argv.iter().map(|a| &**a).collect();
        let reply = b.raw(&rizzler::resp::encode_request(&argv));
        prop_assert!(
            !reply.starts_with(b"-"),
            "replaying {:?} failed: {}",
            op,
            String::from_utf8_lossy(&reply)
        );
    }
    b.set_time(now);
    prop_assert_eq!(snapshot(&a), snapshot(&b));
    prop_assert_eq!(digest(&a.server.store.dbs), digest(&b.server.store.dbs));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn the_propagated_stream_rebuilds_the_dataset(steps in prop::collection::vec(step(), 1..250)) {
        check(&steps)?;
    }
}

/// The rewrites Redis 7.0 makes, one by one: what each command propagates.
#[test]
fn commands_propagate_as_redis_rewrites_them() {
    let at = START_MS;
    let cases: &[(&[&str], &[&[&str]])] = &[
        (&["SET", "k", "v"], &[&["SET", "k", "v"]]),
        (
            &["SET", "k", "v", "EX", "10"],
            &[&["SET", "k", "v", "PXAT", "1700000010000"]],
        ),
        (
            &["SET", "k", "v", "PX", "10", "GET"],
            &[&["SET", "k", "v", "PXAT", "1700000000010"]],
        ),
        (&["SET", "k", "v", "GET", "XX"], &[&["SET", "k", "v", "XX"]]),
        (&["SET", "k", "v", "NX"], &[]),
        (
            &["SETEX", "k", "5", "v"],
            &[&["SET", "k", "v", "PXAT", "1700000005000"]],
        ),
        (
            &["PSETEX", "k", "5", "v"],
            &[&["SET", "k", "v", "PXAT", "1700000000005"]],
        ),
        (&["GETSET", "k", "w"], &[&["SET", "k", "w"]]),
        (
            &["EXPIRE", "k", "100", "NX"],
            &[&["PEXPIREAT", "k", "1700000100000", "NX"]],
        ),
        (
            &["PEXPIRE", "k", "100"],
            &[&["PEXPIREAT", "k", "1700000000100"]],
        ),
        (
            &["EXPIREAT", "k", "1800000000"],
            &[&["PEXPIREAT", "k", "1800000000000"]],
        ),
        (
            &["PEXPIREAT", "k", "1800000000001"],
            &[&["PEXPIREAT", "k", "1800000000001"]],
        ),
        (&["GETEX", "k", "PERSIST"], &[&["PERSIST", "k"]]),
        (&["GETEX", "k", "PERSIST"], &[]),
        (
            &["GETEX", "k", "EX", "1"],
            &[&["PEXPIREAT", "k", "1700000001000"]],
        ),
        (&["GETEX", "k"], &[]),
        (
            &["INCRBYFLOAT", "n", "1.5"],
            &[&["SET", "n", "1.5", "KEEPTTL"]],
        ),
        (&["INCRBYFLOAT", "n", "x"], &[]),
        (&["GETDEL", "n"], &[&["DEL", "n"]]),
        (&["GETEX", "k", "PXAT", "1"], &[&["DEL", "k"]]),
        (
            &["SET", "k", "v", "PXAT", "1700000000001"],
            &[&["SET", "k", "v", "PXAT", "1700000000001"]],
        ),
        // The key is found expired on access: DEL first, then the command.
        (&["LPUSH", "k", "a"], &[&["DEL", "k"], &["LPUSH", "k", "a"]]),
        (&["EXPIRE", "k", "-1"], &[&["DEL", "k"]]),
        (&["DEL", "nokey"], &[]),
        (&["GET", "k"], &[]),
        (&["FLUSHALL"], &[&["FLUSHALL"]]),
        (&["FLUSHDB", "ASYNC"], &[&["FLUSHDB", "ASYNC"]]),
    ];
    let mut h = server();
    let recorder = h.record();
    for (i, (argv, want)) in cases.iter().enumerate() {
        // The PXAT of one millisecond ago has passed by the LPUSH.
        h.set_time(at + if i >= 21 { 5 } else { 0 });
        h.run(argv);
        let got: Vec<Vec<String>> = recorder
            .units
            .borrow_mut()
            .drain(..)
            .flatten()
            .map(|op| {
                op.argv
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect()
            })
            .collect();
        let want: Vec<Vec<String>> = want
            .iter()
            .map(|op| op.iter().map(|s| s.to_string()).collect())
            .collect();
        assert_eq!(got, want, "{argv:?}");
    }
}
