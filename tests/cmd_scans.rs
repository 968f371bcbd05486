//! HSCAN, SSCAN and ZSCAN over large collections, without sockets: the
//! cursor walks every element exactly once, whatever happens to the
//! collection between calls. (Small encodings, answered whole, are
//! compared with redis-server in tests/diff/scans.redis.)

use std::collections::BTreeMap;

use rizzler::testing::Harness;

/// Parses a SCAN reply: (next cursor, elements).
fn parse(reply: &[u8]) -> (u64, Vec<String>) {
    let text = String::from_utf8_lossy(reply).into_owned();
    let lines: Vec<&str> = text.split("\r\n").collect();
    // *2, $n, cursor, *m, then $len/value pairs.
    let cursor = lines[2].parse().expect("a cursor");
    let elements = lines[4..]
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| c[1].to_string())
        .collect();
    (cursor, elements)
}

/// Runs a full iteration with `scan`, calling `between` after each call;
/// returns how often each element was returned.
fn iterate(
    h: &mut Harness,
    cmd: &str,
    key: &str,
    count: &str,
    mut between: impl FnMut(&mut Harness, usize),
) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    let mut cursor = 0u64;
    for call in 0.. {
        let c = cursor.to_string();
        let (next, elements) = parse(&h.run(&[cmd, key, &c, "COUNT", count]));
        let step = if cmd == "SSCAN" { 1 } else { 2 };
        for e in elements.iter().step_by(step) {
            *seen.entry(e.clone()).or_insert(0) += 1;
        }
        between(h, call);
        if next == 0 {
            break;
        }
        assert!(call < 100_000, "the iteration does not end");
        cursor = next;
    }
    seen
}

#[test]
fn large_collections_are_walked_exactly_once() {
    for (cmd, add) in [("SSCAN", "SADD"), ("HSCAN", "HSET"), ("ZSCAN", "ZADD")] {
        let mut h = Harness::new();
        for i in 0..2000 {
            let m = format!("m{i}");
            match add {
                "SADD" => h.run(&["SADD", "c", &m]),
                "HSET" => h.run(&["HSET", "c", &m, "v"]),
                _ => h.run(&["ZADD", "c", &i.to_string(), &m]),
            };
        }
        assert_ne!(h.encoding("c"), Some("listpack"));
        // Elements added and removed between calls, some far past the
        // table's size at the start (it grows meanwhile).
        let seen = iterate(&mut h, cmd, "c", "17", |h, call| {
            let fresh = format!("new{call}");
            match add {
                "SADD" => h.run(&["SADD", "c", &fresh]),
                "HSET" => h.run(&["HSET", "c", &fresh, "v"]),
                _ => h.run(&["ZADD", "c", "0", &fresh]),
            };
            let gone = format!("m{}", 1000 + call);
            match add {
                "SADD" => h.run(&["SREM", "c", &gone]),
                "HSET" => h.run(&["HDEL", "c", &gone]),
                _ => h.run(&["ZREM", "c", &gone]),
            };
        });
        for i in 0..1000 {
            assert_eq!(seen.get(&format!("m{i}")), Some(&1), "{cmd}: m{i}");
        }
        assert!(
            seen.values().all(|&n| n == 1),
            "{cmd}: an element came twice"
        );
    }
}

#[test]
fn match_filters_after_counting() {
    let mut h = Harness::new();
    for i in 0..1000 {
        h.run(&["SADD", "s", &format!("k{i}")]);
    }
    let (_, elements) = parse(&h.run(&["SSCAN", "s", "0", "COUNT", "100", "MATCH", "k1*"]));
    assert!(elements.len() < 100);
    assert!(elements.iter().all(|e| e.starts_with("k1")));
}
