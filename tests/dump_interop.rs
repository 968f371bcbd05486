//! DUMP payloads cross between redis-server 7.0 and rizzler both ways.
//!
//! For every type and encoding: build the value on redis-server, DUMP it
//! there, RESTORE it into rizzler, DUMP it from rizzler, RESTORE that into
//! redis-server under a second key. DEBUG DIGEST-VALUE of the original,
//! of rizzler's copy and of the round-tripped key must be equal, and so
//! must OBJECT ENCODING; where the encoding iterates in a defined order
//! the two payloads must be byte-identical too.

mod common;

use redis::Connection;

fn run(c: &mut Connection, args: &[Vec<u8>]) -> redis::Value {
    let mut cmd = redis::cmd(std::str::from_utf8(&args[0]).expect("name"));
    for a in &args[1..] {
        cmd.arg(&a[..]);
    }
    cmd.query(c)
        .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(&args[0])))
}

fn dump(c: &mut Connection, key: &str) -> Vec<u8> {
    redis::cmd("DUMP").arg(key).query(c).expect("DUMP")
}

fn restore(c: &mut Connection, key: &str, payload: &[u8]) {
    let _: () = redis::cmd("RESTORE")
        .arg(key)
        .arg(0)
        .arg(payload)
        .arg("REPLACE")
        .query(c)
        .unwrap_or_else(|e| panic!("RESTORE {key}: {e}"));
}

fn digest(c: &mut Connection, key: &str) -> String {
    let v: Vec<String> = redis::cmd("DEBUG")
        .arg("DIGEST-VALUE")
        .arg(key)
        .query(c)
        .expect("DIGEST-VALUE");
    v.into_iter().next().expect("one digest")
}

fn encoding(c: &mut Connection, key: &str) -> String {
    redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query(c)
        .expect("OBJECT ENCODING")
}

fn words(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// A command as its arguments.
type Argv = Vec<Vec<u8>>;

/// (what, the commands that build key `k`, whether the bytes must match).
fn cases() -> Vec<(&'static str, Vec<Argv>, bool)> {
    let many = |cmd: &str, n: usize, f: &dyn Fn(usize) -> Vec<String>| {
        let mut v = vec![cmd.as_bytes().to_vec(), b"k".to_vec()];
        for i in 0..n {
            v.extend(f(i).into_iter().map(String::into_bytes));
        }
        vec![v]
    };
    vec![
        ("int string", vec![words(&["SET", "k", "-42"])], true),
        ("embstr", vec![words(&["SET", "k", "hello"])], true),
        (
            "binary string",
            vec![vec![b"SET".to_vec(), b"k".to_vec(), (0..=255).collect()]],
            true,
        ),
        (
            "LZF string",
            vec![vec![
                b"SET".to_vec(),
                b"k".to_vec(),
                b"0123456789".repeat(50),
            ]],
            true,
        ),
        (
            "list",
            vec![words(&["RPUSH", "k", "a", "1", "-70000", ""])],
            true,
        ),
        (
            "list of many nodes",
            many("RPUSH", 3000, &|i| vec![format!("item:{i}")]),
            true,
        ),
        (
            "intset",
            vec![words(&["SADD", "k", "3", "-1", "100000"])],
            true,
        ),
        ("set", vec![words(&["SADD", "k", "a", "b", "c"])], false),
        (
            "big set",
            many("SADD", 1000, &|i| vec![format!("m{i}")]),
            false,
        ),
        (
            "listpack hash",
            vec![words(&["HSET", "k", "f", "v", "n", "1"])],
            true,
        ),
        (
            "hashtable hash",
            many("HSET", 300, &|i| vec![format!("f{i}"), format!("v{i}")]),
            false,
        ),
        (
            "listpack zset",
            vec![words(&["ZADD", "k", "1", "a", "2.5", "b", "-inf", "c"])],
            true,
        ),
        (
            "skiplist zset",
            many("ZADD", 500, &|i| {
                vec![format!("{}", i as f64 / 3.0), format!("m{i}")]
            }),
            true,
        ),
        (
            "geo",
            vec![words(&[
                "GEOADD",
                "k",
                "13.361389",
                "38.115556",
                "Palermo",
                "15.087269",
                "37.502669",
                "Catania",
            ])],
            true,
        ),
    ]
}

#[test]
fn payloads_cross_both_ways() {
    let redis = common::redis_server();
    let rizzler = common::rizzler(common::backends()[0], &[]);
    let mut r = redis.client();
    let mut z = rizzler.client();
    for (what, setup, same_bytes) in cases() {
        run(&mut r, &words(&["DEL", "k", "k2"]));
        for cmd in &setup {
            run(&mut r, cmd);
        }
        let from_redis = dump(&mut r, "k");
        restore(&mut z, "k", &from_redis);
        let from_rizzler = dump(&mut z, "k");
        restore(&mut r, "k2", &from_rizzler);
        let original = digest(&mut r, "k");
        assert_eq!(digest(&mut z, "k"), original, "{what}: rizzler's copy");
        assert_eq!(digest(&mut r, "k2"), original, "{what}: the round trip");
        assert_eq!(
            encoding(&mut z, "k"),
            encoding(&mut r, "k"),
            "{what}: encoding in rizzler"
        );
        assert_eq!(
            encoding(&mut r, "k2"),
            encoding(&mut r, "k"),
            "{what}: encoding back in redis"
        );
        if same_bytes {
            assert_eq!(from_rizzler, from_redis, "{what}: payload bytes");
        }
        // Values built in rizzler itself go the other way too.
        run(&mut z, &words(&["DEL", "k3"]));
        for cmd in &setup {
            let mut cmd = cmd.clone();
            cmd[1] = b"k3".to_vec();
            run(&mut z, &cmd);
        }
        let built = dump(&mut z, "k3");
        restore(&mut r, "k3", &built);
        assert_eq!(digest(&mut r, "k3"), original, "{what}: built in rizzler");
        if same_bytes {
            assert_eq!(built, from_redis, "{what}: payload of rizzler's own value");
        }
    }
}
