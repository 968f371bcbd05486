//! rizzler's propagation stream against Redis's own.
//!
//! The same commands go to a redis-server that writes an AOF and to
//! rizzler with an observer. What rizzler propagates, written out the way
//! Redis's AOF writer writes it (a SELECT when the database changes, MULTI
//! and EXEC around a unit of several operations), must equal Redis's
//! incremental AOF command for command: the same rewrites (SET … PXAT,
//! PEXPIREAT, DEL for an expired key, SET … KEEPTTL, …), in the same
//! order. Times computed from the clock are compared to the second.

mod common;

use std::time::Duration;

use rizzler::testing::Harness;

/// One line per command; `!sleep MS` waits (on both sides). Active
/// expiry is off, so a key whose time has passed goes when a command meets
/// it, on both servers.
const SCRIPT: &str = "
debug set-active-expire 0
set a 1
set a 2 NX
SET b v EX 100
set b2 v px 100000 get
set c v get
setex d 100 v
psetex e 100000 v
getset a 3
getdel a
getdel a
getex b PERSIST
getex b PERSIST
getex b EX 50
getex b2 PXAT 1
mset x 1 y 2
msetnx x 1 z 2
incr n
incrbyfloat n 1.5
incrbyfloat n abc
append s hello
setrange s 0 J
expire s 100
pexpire s 100000 XX
expireat s 4000000000
pexpireat s 4000000000123
persist s
expire s -1
rpush l a b c
lpop l 2
rpop l
lset l 0 z
rpush l2 a b a c a
lpushx l2 x
rpushx nol2 x
linsert l2 before b y
linsert l2 after nope y
lrem l2 -1 a
lrem l2 0 a
ltrim l2 1 -1
ltrim l2 5 1
lmove l2 l3 LEFT RIGHT
rpoplpush l3 l3
rpoplpush l3 l2
lmpop 2 nolist l2 RIGHT COUNT 2
lmpop 1 l3 LEFT COUNT 9
sadd set a b
srem set a b
sadd s1 1 2 3
sadd s2 2 3 x
smove s1 s2 1
smove s1 s2 nope
smove s1 s3 2
sinterstore s4 s1 s2
sunionstore s4 s1 s2
sdiffstore s4 s2 s1
sdiffstore s4 s1 s1
sinterstore s4 s1 nokey
hset h f v g w
hmset h a 1 b 2
hsetnx h a 9
hsetnx h c 3
hincrby h a 5
hincrby h f 1
hincrbyfloat h b 0.25
hincrbyfloat h f 1
hdel h f
del h nokey
rename x x2
renamenx y x2
copy x2 x3
move x3 1
zadd z 1 a 2 b 3 c
zadd z xx ch 5 a
zadd z incr 1 b
zadd z nx 9 b
zincrby z 2 c
zrem z nope
zrem z a
zpopmin z
zadd z 1 a 2 b 3 c 4 d
zpopmax z 2
zmpop 2 noz z MIN COUNT 5
zadd z 1 a 2 b 3 c 4 d 5 e
zremrangebyrank z 0 0
zremrangebyscore z 2 2
zremrangebyscore z 100 200
zadd zl 0 a 0 b 0 c
zremrangebylex zl - [a
zrangestore z2 z 0 -1
zrangestore z2 z 10 20
zunionstore z3 2 z zl
zinterstore z3 2 z z2 weights 2 1
zdiffstore z3 2 z z2
geoadd g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
geoadd g nx ch 1 1 Palermo 2 2 x
geoadd g xx 13.361389 38.115556 Palermo
geoadd g CH XX 13.361389 38.115556 Palermo
georadius g 15 37 200 km store g2
georadius g 15 37 200 km storedist g2
georadiusbymember g Palermo 200 km store g3
geosearchstore g4 g frommember Palermo bybox 400 400 km storedist
geosearchstore g4 g fromlonlat 0 0 byradius 1 m
georadius nokey 0 0 1 km store g3
restore rk 0 \"\\x00\\x04v361\\x0a\\x00\\x33\\x25\\x48\\x70\\x79\\x16\\x36\\x69\"
restore rk 100000 \"\\x00\\x04v361\\x0a\\x00\\x33\\x25\\x48\\x70\\x79\\x16\\x36\\x69\" replace
restore rk 4000000000000 \"\\x00\\x04v361\\x0a\\x00\\x33\\x25\\x48\\x70\\x79\\x16\\x36\\x69\" replace absttl
restore rk 1 \"\\x00\\x04v361\\x0a\\x00\\x33\\x25\\x48\\x70\\x79\\x16\\x36\\x69\" replace absttl
restore rk 1 \"\\x00\\x04v361\\x0a\\x00\\x33\\x25\\x48\\x70\\x79\\x16\\x36\\x69\" absttl
restore rk 0 \"\\x00\\x04v361\\x0a\\x00\\x33\\x25\\x48\\x70\\x79\\x16\\x36\\x69\" idletime 5
sort l2 store sorted
sort l2 alpha limit 0 1 store sorted
sort nolist store sorted
rpush bl a b
blpop nobl bl 0
brpop bl 0
rpush bl a b c
blmove bl bl2 left right 0
brpoplpush bl bl2 0
blmpop 0 1 bl left count 5
zadd bz 1 a 2 b 3 c
bzpopmin bz 0
bzpopmax bz 0
bzmpop 0 1 bz min count 3
xadd st 1-1 f v
xadd st 1-* f v
xadd st maxlen ~ 1 2-1 f v
xadd st minid ~ 0 2-2 f v
xadd st nomkstream 3-1 f v
xadd nost nomkstream 3-1 f v
xtrim st maxlen ~ 0
xtrim st maxlen 3
xtrim st minid 2-1
xdel st 2-1 9-9
xgroup create st g 0
xgroup create st2 g $ mkstream
xadd st 4-1 f v
xadd st 4-2 f v
xreadgroup group g c count 1 streams st >
xreadgroup group g c2 noack streams st >
xreadgroup group g c streams st 0
xack st g 4-1
xclaim st g c3 0 4-1 4-2
xadd st 5-1 f v
xreadgroup group g c streams st >
xclaim st g c3 0 5-1 justid lastid 9-9
xclaim st g c3 0 lastid 9-10
xautoclaim st g c4 0 0
xdel st 5-1
xautoclaim st g c4 0 0
xgroup setid st g 0 entriesread 0
xgroup createconsumer st g c9
xgroup delconsumer st g c9
xgroup destroy st g
xsetid st 10-1 entriesadded 50
multi
set tx1 1
incr tx1
get tx1
lpush tx1 x
rpush txl a
exec
multi
get tx1
exec
select 1
set one 1
swapdb 0 1
flushdb
select 0
set gone v px 1
!sleep 20
get gone
set gone2 v px 1
!sleep 20
lpush gone2 a
flushall
";

/// Splits an AOF (RESP arrays of bulk strings) into commands.
fn parse_aof(mut data: &[u8]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let line = |d: &mut &[u8]| -> String {
        let end = d.windows(2).position(|w| w == b"\r\n").expect("CRLF");
        let l = String::from_utf8_lossy(&d[..end]).into_owned();
        *d = &d[end + 2..];
        l
    };
    while !data.is_empty() {
        let n: usize = line(&mut data)[1..].parse().expect("*N");
        let mut argv = Vec::new();
        for _ in 0..n {
            let len: usize = line(&mut data)[1..].parse().expect("$N");
            argv.push(String::from_utf8_lossy(&data[..len]).into_owned());
            data = &data[len + 2..];
        }
        out.push(argv);
    }
    out
}

/// Times near now (a PXAT or PEXPIREAT computed from the clock) to the
/// second, so the two servers' milliseconds do not matter.
fn mask(argv: &mut [String]) {
    let now = rizzler::util::now_ms() as i64;
    for a in argv.iter_mut() {
        if let Ok(ms) = a.parse::<i64>() {
            if (ms - now).abs() < 3_600_000 {
                *a = format!("~{}s", (ms - now + 500) / 1000);
            }
        }
    }
}

#[test]
fn the_stream_is_what_redis_writes_to_its_aof() {
    let redis = common::redis_server_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let mut conn = redis.conn();
    let mut h = Harness::new();
    let recorder = h.record();

    for line in SCRIPT.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(ms) = line.strip_prefix("!sleep ") {
            std::thread::sleep(Duration::from_millis(ms.parse().expect("ms")));
            continue;
        }
        let args = common::split(line);
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let from_redis = conn.cmd(&refs);
        let from_rizzler = h.raw(&rizzler::resp::encode_request(&refs));
        assert_eq!(
            common::show(&from_redis),
            common::show(&from_rizzler),
            "replies to {line}"
        );
    }

    // rizzler's units, written as Redis's AOF writer writes them.
    let mut ours: Vec<Vec<String>> = Vec::new();
    let mut selected: Option<usize> = None;
    let mut emit = |db: usize, argv: Vec<String>, ours: &mut Vec<Vec<String>>| {
        if selected != Some(db) {
            ours.push(vec!["SELECT".into(), db.to_string()]);
            selected = Some(db);
        }
        ours.push(argv);
    };
    for unit in recorder.units.borrow().iter() {
        let text = |op: &rizzler::store::Op| -> Vec<String> {
            op.argv
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        };
        if unit.len() > 1 {
            emit(unit[0].db, vec!["MULTI".into()], &mut ours);
        }
        for op in unit {
            emit(op.db, text(op), &mut ours);
        }
        if unit.len() > 1 {
            ours.push(vec!["EXEC".into()]);
        }
    }

    let dir = common::redis_dir(redis.port).join("appendonlydir");
    let incr = std::fs::read_dir(&dir)
        .expect("appendonlydir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .expect("an incremental AOF");
    let mut theirs = parse_aof(&std::fs::read(&incr).expect("read AOF"));
    for argv in theirs.iter_mut().chain(ours.iter_mut()) {
        mask(argv);
    }
    assert!(
        theirs.len() > 40,
        "Redis's AOF has {} commands",
        theirs.len()
    );
    for (i, (t, o)) in theirs.iter().zip(&ours).enumerate() {
        assert_eq!(t, o, "command {i} of the stream");
    }
    assert_eq!(
        theirs.len(),
        ours.len(),
        "stream lengths\nredis:   {theirs:?}\nrizzler: {ours:?}"
    );
}
