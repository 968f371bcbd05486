//! Persistence on the real binary, on every backend: snapshots (JSON and
//! RDB) and the AOF survive restarts with the same DEBUG DIGEST; files move
//! between rizzler and Debian's redis-server 7.0 both ways; a background
//! save keeps its point in time under writes; kill -9 loses nothing
//! acknowledged under `appendfsync always`; a full disk gives MISCONF and
//! recovers; damaged files refuse to start, naming the file and offset.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Conn, ServerProc};

fn text(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply).into_owned()
}

fn field(c: &mut Conn, section: &str, name: &str) -> String {
    let info = text(&c.line(&format!("INFO {section}")));
    info.split("\r\n")
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {name} in INFO {section}"))
        .to_string()
}

fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn digest(c: &mut Conn) -> String {
    text(&c.line("DEBUG DIGEST"))
}

fn ok(c: &mut Conn, line: &str) {
    let reply = c.line(line);
    assert!(!reply.starts_with(b"-"), "{line}: {}", text(&reply));
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rizzler-persist-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Every type, in small and large encodings, binary data, TTLs, two
/// databases.
fn fill(c: &mut Conn) {
    for line in [
        "SET str hello",
        "SET int 12345",
        "SET neg -7",
        "SET big 123456789012345678901234567890",
        "SET ttl v PX 500000",
        "RPUSH list a b c 1 2 3",
        "SADD ints 1 2 3 -5 100000",
        "SADD words x y z",
        "HSET small f1 v1 f2 2",
        "ZADD zs 1 a 2.5 b -inf c inf d",
        "EXPIRE zs 86400",
        "SELECT 3",
        "SET in3 three",
        "LPUSH l3 q",
        "SELECT 0",
    ] {
        ok(c, line);
    }
    c.cmd(&[b"SET", b"bin\x00\xff", b"\x00\x01\xfe\xff\r\n"]);
    c.cmd(&[b"SET", b"long", &b"abcdefgh".repeat(100)]);
    let mut big_hash: Vec<Vec<u8>> = vec![b"HSET".to_vec(), b"bighash".to_vec()];
    let mut big_zset: Vec<Vec<u8>> = vec![b"ZADD".to_vec(), b"bigz".to_vec()];
    let mut big_set: Vec<Vec<u8>> = vec![b"SADD".to_vec(), b"bigset".to_vec()];
    let mut big_list: Vec<Vec<u8>> = vec![b"RPUSH".to_vec(), b"biglist".to_vec()];
    for i in 0..600 {
        big_hash.push(format!("field{i}").into_bytes());
        big_hash.push(format!("value{i}").into_bytes());
        big_zset.push(format!("{}.25", i % 97).into_bytes());
        big_zset.push(format!("m{i}").into_bytes());
        big_set.push(format!("member{i}").into_bytes());
        big_list.push(format!("element-{i}-{}", "x".repeat(i % 50)).into_bytes());
    }
    for cmd in [big_hash, big_zset, big_set, big_list] {
        let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
        let reply = c.cmd(&args);
        assert!(!reply.starts_with(b"-"), "{}", text(&reply));
    }
}

/// A small tmpfs of `size` mounted on a fresh directory, unmounted when the
/// guard goes. Fails (never skips) where mounting is not allowed: CI runs
/// as root.
fn tmpfs(name: &str, size: &str) -> (PathBuf, Unmount) {
    let mount = scratch(name);
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(&mount)
        .status()
        .expect("run mount");
    assert!(
        status.success(),
        "this test needs to mount a tmpfs (root, CAP_SYS_ADMIN)"
    );
    (mount.clone(), Unmount(mount))
}

struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Connects to a server that is starting (and may be loading), as soon
/// as it listens.
fn connect_early(port: u16, child: &mut std::process::Child) -> Conn {
    loop {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            drop(s);
            return Conn::open(port);
        }
        assert!(child.try_wait().unwrap().is_none(), "rizzler exited");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn start(io: &str, dir: &Path, extra: &[&str]) -> ServerProc {
    let mut args = vec!["--dir", dir.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    common::rizzler(io, &args)
}

/// SHUTDOWN: the server exits; the connection just closes.
fn shutdown(server: &mut ServerProc, how: &str) {
    let mut c = server.conn();
    c.send(
        &common::split(how)
            .iter()
            .map(Vec::as_slice)
            .collect::<Vec<_>>(),
    );
    let _ = c.read_until_close(Duration::from_secs(10));
    assert!(
        server.wait_exit(Duration::from_secs(10)).is_some(),
        "{how}: still running"
    );
}

#[test]
fn snapshots_survive_restarts_in_both_formats() {
    for io in common::backends() {
        for format in ["json", "rdb"] {
            let dir = scratch(&format!("snap-{io}-{format}"));
            let mut server = start(io, &dir, &["--snapshot-format", format]);
            let mut c = server.conn();
            fill(&mut c);
            let before = digest(&mut c);
            ok(&mut c, "SAVE");
            let file = if format == "json" {
                "db.json"
            } else {
                "dump.rdb"
            };
            assert!(dir.join(file).exists(), "{io} {format}: no {file}");
            shutdown(&mut server, "SHUTDOWN NOSAVE");
            let server = start(io, &dir, &["--snapshot-format", format]);
            let mut c = server.conn();
            assert_eq!(digest(&mut c), before, "{io} {format}");
            assert_eq!(
                text(&c.line("PTTL ttl"))
                    .trim_start_matches(':')
                    .trim()
                    .parse::<i64>()
                    .map(|t| t > 400_000),
                Ok(true)
            );
            // DEBUG RELOAD saves and loads back the same data.
            ok(&mut c, "DEBUG RELOAD");
            assert_eq!(digest(&mut c), before, "{io} {format} after DEBUG RELOAD");
            assert_eq!(
                text(&c.line("OBJECT ENCODING bighash")),
                "$9\r\nhashtable\r\n"
            );
            assert_eq!(text(&c.line("OBJECT ENCODING small")), "$8\r\nlistpack\r\n");
        }
    }
}

#[test]
fn sigterm_and_shutdown_save_when_save_points_are_set() {
    for io in common::backends() {
        let dir = scratch(&format!("term-{io}"));
        let mut server = start(io, &dir, &["--save", "3600 1"]);
        let mut c = server.conn();
        fill(&mut c);
        let before = digest(&mut c);
        server.signal(libc::SIGTERM);
        assert!(server.wait_exit(Duration::from_secs(10)).is_some());
        let mut server = start(io, &dir, &["--save", "3600 1"]);
        let mut c = server.conn();
        assert_eq!(digest(&mut c), before, "{io}: SIGTERM saved");
        ok(&mut c, "SET after restart");
        let after = digest(&mut c);
        shutdown(&mut server, "SHUTDOWN");
        let server = start(io, &dir, &[]);
        assert_eq!(digest(&mut server.conn()), after, "{io}: SHUTDOWN saved");
    }
}

/// A dump.rdb written by rizzler loads in redis-server and passes
/// redis-check-rdb; one written by redis-server loads in rizzler. The
/// digests agree both ways.
#[test]
fn rdb_files_move_between_rizzler_and_redis() {
    for io in common::backends() {
        let dir = scratch(&format!("rdb-interop-{io}"));
        let server = start(io, &dir, &["--snapshot-format", "rdb"]);
        let mut c = server.conn();
        fill(&mut c);
        let ours = digest(&mut c);
        ok(&mut c, "SAVE");
        let check = Command::new("redis-check-rdb")
            .arg(dir.join("dump.rdb"))
            .output()
            .expect("redis-check-rdb (apt-get install redis-tools)");
        assert!(
            check.status.success(),
            "redis-check-rdb: {}",
            text(&check.stdout)
        );
        let redis = common::redis_server_with(&[
            "--dir",
            dir.to_str().unwrap(),
            "--dbfilename",
            "dump.rdb",
        ]);
        let mut r = redis.conn();
        assert_eq!(
            digest(&mut r),
            ours,
            "{io}: redis-server loaded rizzler's dump.rdb"
        );

        // And back: redis-server writes, rizzler reads.
        ok(&mut r, "SET written-by redis");
        ok(&mut r, "SAVE");
        let theirs = digest(&mut r);
        drop(redis);
        let back = start(io, &dir, &["--dbfilename", "dump.rdb"]);
        assert_eq!(
            digest(&mut back.conn()),
            theirs,
            "{io}: rizzler loaded redis's dump.rdb"
        );
    }
}

/// BGSAVE while writes change, delete, rename and add keys: the file holds
/// the keyspace of the moment BGSAVE ran.
#[test]
fn a_background_save_is_a_point_in_time() {
    for io in common::backends() {
        let dir = scratch(&format!("bgsave-{io}"));
        let server = start(io, &dir, &[]);
        let mut c = server.conn();
        // Enough keys that the save takes many slices.
        let mut batch = Vec::new();
        for i in 0..200_000 {
            batch.extend_from_slice(
                format!(
                    "*3\r\n$3\r\nSET\r\n${}\r\nkey:{i}\r\n$5\r\nvalue\r\n",
                    format!("key:{i}").len()
                )
                .as_bytes(),
            );
        }
        c.send_raw(&batch);
        let _ = c.read_frames(200_000);
        fill(&mut c);
        let before = digest(&mut c);
        // BGSAVE and a storm of writes in one pipeline.
        let mut storm = b"*1\r\n$6\r\nBGSAVE\r\n".to_vec();
        for i in 0..20_000 {
            let cmd = match i % 5 {
                0 => format!("SET key:{} changed", i * 7),
                1 => format!("DEL key:{}", i * 3),
                2 => format!("RENAME key:{} renamed:{i}", i * 11 + 1),
                3 => format!("SET new:{i} x"),
                _ => format!("RPUSH biglist more{i}"),
            };
            let words = common::split(&cmd);
            storm.extend_from_slice(format!("*{}\r\n", words.len()).as_bytes());
            for w in words {
                storm.extend_from_slice(format!("${}\r\n", w.len()).as_bytes());
                storm.extend_from_slice(&w);
                storm.extend_from_slice(b"\r\n");
            }
        }
        storm.extend_from_slice(b"*1\r\n$8\r\nFLUSHALL\r\n");
        c.send_raw(&storm);
        let replies = c.read_frames(20_002);
        assert!(
            text(&replies).starts_with("+Background saving started"),
            "{}",
            &text(&replies)[..60]
        );
        eventually("the save to finish", || {
            field(&mut c, "persistence", "rdb_bgsave_in_progress") == "0"
        });
        assert_eq!(field(&mut c, "persistence", "rdb_last_bgsave_status"), "ok");
        drop(server);
        let again = start(io, &dir, &[]);
        assert_eq!(digest(&mut again.conn()), before, "{io}");
    }
}

#[test]
fn the_aof_survives_restarts_and_rewrites() {
    for io in common::backends() {
        let dir = scratch(&format!("aof-{io}"));
        let aof = ["--appendonly", "yes"];
        let server = start(io, &dir, &aof);
        let mut c = server.conn();
        fill(&mut c);
        for line in [
            "MULTI",
            "INCR counter",
            "LPUSH list tx",
            "EXEC",
            "SELECT 5",
            "SET five 5",
            "SELECT 0",
        ] {
            c.line(line);
        }
        let before = digest(&mut c);
        drop(server); // kill -9
        let manifest = dir.join("appendonlydir/appendonly.aof.manifest");
        let check = Command::new("redis-check-aof")
            .arg(&manifest)
            .output()
            .expect("redis-check-aof");
        assert!(
            check.status.success(),
            "redis-check-aof: {}",
            text(&check.stdout)
        );

        let server = start(io, &dir, &aof);
        let mut c = server.conn();
        assert_eq!(digest(&mut c), before, "{io}: after a restart");
        // The rewrite starts a new file while database 7 is selected: the
        // new file must say so again.
        ok(&mut c, "SELECT 7");
        ok(&mut c, "SET seven 7");
        assert_eq!(
            text(&c.line("BGREWRITEAOF")),
            "+Background append only file rewriting started\r\n"
        );
        ok(&mut c, "SET seven-after 7");
        ok(&mut c, "SELECT 0");
        ok(&mut c, "SET after rewrite");
        eventually("the rewrite", || {
            field(&mut c, "persistence", "aof_rewrite_in_progress") == "0"
        });
        assert_eq!(
            field(&mut c, "persistence", "aof_last_bgrewrite_status"),
            "ok"
        );
        ok(&mut c, "SET after2 rewrite");
        let before = digest(&mut c);
        let listed = std::fs::read_to_string(&manifest).unwrap();
        assert!(listed.contains("appendonly.aof.2.base.rdb"), "{listed}");
        drop(server);
        let server = start(io, &dir, &aof);
        let mut c = server.conn();
        assert_eq!(
            digest(&mut c),
            before,
            "{io}: after a rewrite and a restart"
        );
        drop(server);

        // redis-server reads rizzler's AOF directory.
        let redis =
            common::redis_server_with(&["--dir", dir.to_str().unwrap(), "--appendonly", "yes"]);
        let mut r = redis.conn();
        assert_eq!(
            digest(&mut r),
            before,
            "{io}: redis-server loaded rizzler's AOF"
        );
        // And rizzler reads redis-server's.
        ok(&mut r, "SET written-by redis");
        ok(&mut r, "BGREWRITEAOF");
        eventually("redis's rewrite", || {
            field(&mut r, "persistence", "aof_rewrite_in_progress") == "0"
        });
        ok(&mut r, "RPUSH list from-redis");
        let theirs = digest(&mut r);
        drop(redis);
        let server = start(io, &dir, &aof);
        assert_eq!(
            digest(&mut server.conn()),
            theirs,
            "{io}: rizzler loaded redis's AOF"
        );
    }
}

#[test]
fn a_truncated_aof_tail_is_cut_and_corruption_refuses_to_start() {
    let io = common::backends()[0];
    let dir = scratch("aof-damage");
    let aof = ["--appendonly", "yes"];
    let server = start(io, &dir, &aof);
    let mut c = server.conn();
    ok(&mut c, "SET a 1");
    ok(&mut c, "SET b 2");
    let before = digest(&mut c);
    drop(server);
    let incr = dir.join("appendonlydir/appendonly.aof.1.incr.aof");
    let good = std::fs::read(&incr).unwrap();
    let mut cut = good.clone();
    cut.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1");
    std::fs::write(&incr, &cut).unwrap();
    let server = start(io, &dir, &aof);
    assert_eq!(
        digest(&mut server.conn()),
        before,
        "the partial command is dropped"
    );
    drop(server);
    assert_eq!(std::fs::read(&incr).unwrap(), good, "and cut off the file");

    let mut bad = good.clone();
    let at = good.len() / 2;
    bad[at] = b'#';
    std::fs::write(&incr, &bad).unwrap();
    let port = common::free_port();
    let out = common::rizzler_command(
        io,
        port,
        &["--dir", dir.to_str().unwrap(), "--appendonly", "yes"],
    )
    .output()
    .expect("run rizzler");
    let err = text(&out.stderr);
    assert!(!out.status.success(), "started on a corrupt AOF");
    assert!(
        err.contains("appendonly.aof.1.incr.aof") && err.contains("at byte"),
        "{err}"
    );
}

/// Clients that connect while a large snapshot loads get -LOADING (INFO
/// works and says `loading:1`), then the data.
#[test]
fn clients_get_loading_while_the_snapshot_loads() {
    let io = common::backends()[0];
    let dir = scratch("loading");
    let mut json = String::from("{\"format\":\"rizzler\",\"version\":1,\"databases\":{\"0\":[\n");
    let n = 400_000;
    for i in 0..n {
        let sep = if i + 1 < n { "," } else { "" };
        json.push_str(&format!(
            "{{\"key\":\"k{i}\",\"type\":\"string\",\"value\":\"v{i}\"}}{sep}\n"
        ));
    }
    json.push_str("]}}\n");
    std::fs::write(dir.join("db.json"), json).unwrap();
    let port = common::free_port();
    let mut child = common::rizzler_command(io, port, &["--dir", dir.to_str().unwrap()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start rizzler");
    let mut c = connect_early(port, &mut child);
    let (mut loading, mut info_loading) = (0, false);
    loop {
        let reply = text(&c.line("GET k399999"));
        if reply == "-LOADING Redis is loading the dataset in memory\r\n" {
            loading += 1;
            info_loading |= field(&mut c, "persistence", "loading") == "1";
            continue;
        }
        assert_eq!(reply, "$7\r\nv399999\r\n");
        break;
    }
    assert!(
        loading > 0 && info_loading,
        "never saw the load ({loading} LOADING replies)"
    );
    assert_eq!(text(&c.line("DBSIZE")), ":400000\r\n");
    assert_eq!(
        field(&mut c, "persistence", "rdb_last_load_keys_loaded"),
        "400000"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// The same while an AOF's commands replay: -LOADING, then the data,
/// then the AOF takes new writes.
#[test]
fn clients_get_loading_while_the_aof_replays() {
    let io = common::backends()[0];
    let dir = scratch("aof-loading");
    let aof = dir.join("appendonlydir");
    std::fs::create_dir_all(&aof).unwrap();
    std::fs::write(
        aof.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    let n = 300_000;
    let mut commands = Vec::new();
    for i in 0..n {
        commands.extend_from_slice(&rizzler::resp::encode_request(&[
            b"SET",
            format!("k{i}").as_bytes(),
            format!("v{i}").as_bytes(),
        ]));
    }
    std::fs::write(aof.join("appendonly.aof.1.incr.aof"), commands).unwrap();
    let args = ["--dir", dir.to_str().unwrap(), "--appendonly", "yes"];
    let port = common::free_port();
    let mut child = common::rizzler_command(io, port, &args)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start rizzler");
    let mut c = connect_early(port, &mut child);
    let mut loading = 0;
    loop {
        let reply = text(&c.line("GET k299999"));
        if reply.starts_with("-LOADING") {
            loading += 1;
            continue;
        }
        assert_eq!(reply, "$7\r\nv299999\r\n");
        break;
    }
    assert!(loading > 0, "never saw the load");
    assert_eq!(text(&c.line("DBSIZE")), ":300000\r\n");
    ok(&mut c, "SET after load");
    let before = digest(&mut c);
    let _ = child.kill();
    let _ = child.wait();
    let server = start(io, &dir, &["--appendonly", "yes"]);
    assert_eq!(digest(&mut server.conn()), before);
}

#[test]
fn damaged_snapshots_refuse_to_start() {
    let io = common::backends()[0];
    for format in ["json", "rdb"] {
        let dir = scratch(&format!("damaged-{format}"));
        let server = start(io, &dir, &["--snapshot-format", format]);
        let mut c = server.conn();
        fill(&mut c);
        ok(&mut c, "SAVE");
        drop(server);
        let file = dir.join(if format == "json" {
            "db.json"
        } else {
            "dump.rdb"
        });
        let good = std::fs::read(&file).unwrap();
        let truncated = good[..good.len() * 2 / 3].to_vec();
        let mut flipped = good.clone();
        // RDB's checksum catches any flipped bit; JSON has none (it is
        // meant to be edited), so its damage must break the syntax.
        if format == "json" {
            flipped[good.len() / 2] = 0xff;
        } else {
            flipped[good.len() / 2] ^= 0x20;
        }
        for (what, bytes) in [("truncated", truncated), ("bit-flipped", flipped)] {
            std::fs::write(&file, &bytes).unwrap();
            let port = common::free_port();
            let out = common::rizzler_command(
                io,
                port,
                &["--dir", dir.to_str().unwrap(), "--snapshot-format", format],
            )
            .output()
            .expect("run rizzler");
            let err = text(&out.stderr);
            assert!(!out.status.success(), "{format} {what}: started anyway");
            assert!(
                err.contains(file.file_name().unwrap().to_str().unwrap()) && err.contains("byte"),
                "{format} {what}: {err}"
            );
        }
    }
}

/// A failed background save refuses writes (and PING) with MISCONF while
/// save points are set, and the next good save lifts it.
#[test]
fn a_failed_background_save_refuses_writes_until_a_save_succeeds() {
    for io in common::backends() {
        let dir = scratch(&format!("misconf-{io}"));
        let server = start(io, &dir, &["--save", "3600 1"]);
        let mut c = server.conn();
        ok(&mut c, "SET k v");
        // The directory goes away under the server.
        std::fs::remove_dir_all(&dir).unwrap();
        ok(&mut c, "BGSAVE");
        eventually("the save to fail", || {
            field(&mut c, "persistence", "rdb_last_bgsave_status") == "err"
        });
        let refused = text(&c.line("SET k2 v"));
        assert!(
            refused.starts_with("-MISCONF Redis is configured to save RDB snapshots"),
            "{refused}"
        );
        assert!(text(&c.line("PING")).starts_with("-MISCONF"));
        assert_eq!(text(&c.line("GET k")), "$1\r\nv\r\n", "reads still work");
        std::fs::create_dir_all(&dir).unwrap();
        ok(&mut c, "BGSAVE");
        eventually("the save to succeed", || {
            field(&mut c, "persistence", "rdb_last_bgsave_status") == "ok"
        });
        ok(&mut c, "SET k2 v");
    }
}

/// A small tmpfs fills up: a SAVE fails with an error, BGSAVE fails into
/// MISCONF, AOF appends fail into MISCONF (everysec) with nothing
/// acknowledged lost, and everything recovers when space returns.
#[test]
fn a_full_disk_is_refused_not_lost() {
    let io = common::backends()[0];
    let (mount, _unmount) = tmpfs("fulldisk", "4m");
    // Room to give back later.
    std::fs::write(mount.join("ballast"), vec![0u8; 1 << 20]).unwrap();
    let args = [
        "--save",
        "3600 1",
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
    ];
    let server = start(io, &mount, &args);
    let mut c = server.conn();
    // Fill the disk through the AOF until writes are refused.
    let value = "x".repeat(64 * 1024);
    let mut acknowledged = Vec::new();
    let mut refused = None;
    for i in 0..200 {
        let reply = c.cmd(&[b"SET", format!("k{i}").as_bytes(), value.as_bytes()]);
        if reply.starts_with(b"+OK") {
            acknowledged.push(i);
        } else {
            refused = Some(text(&reply));
            break;
        }
    }
    let refused = refused.expect("a 4 MiB disk never filled");
    assert!(
        refused.starts_with("-MISCONF Errors writing to the AOF file: No space left on device"),
        "{refused}"
    );
    assert!(
        text(&c.line("GET k0")).starts_with("$65536"),
        "reads still work"
    );
    assert!(
        text(&c.line("SAVE")).starts_with("-ERR"),
        "SAVE on a full disk"
    );
    assert!(
        !mount.read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("temp-")),
        "a failed save leaves no temporary file"
    );
    // Space returns: the AOF catches up and writes are accepted again.
    std::fs::remove_file(mount.join("ballast")).unwrap();
    eventually("the AOF to catch up", || {
        field(&mut c, "persistence", "aof_last_write_status") == "ok"
    });
    ok(&mut c, "SET after returned");
    drop(server);
    // Nothing acknowledged was lost.
    let server = start(io, &mount, &args);
    let mut c = server.conn();
    for i in &acknowledged {
        assert_eq!(
            text(&c.line(&format!("STRLEN k{i}"))),
            ":65536\r\n",
            "k{i} lost"
        );
    }
    assert_eq!(text(&c.line("GET after")), "$8\r\nreturned\r\n");
}

/// BGSAVE on a full tmpfs: the save fails (its temporary file goes),
/// writes get MISCONF, and the next save after space returns lifts it.
#[test]
fn a_background_save_on_a_full_disk_refuses_writes_until_space_returns() {
    let io = common::backends()[0];
    let (mount, _unmount) = tmpfs("fullsave", "1m");
    std::fs::write(mount.join("ballast"), vec![0u8; 900 << 10]).unwrap();
    let server = start(io, &mount, &["--save", "3600 1"]);
    let mut c = server.conn();
    for i in 0..40 {
        c.cmd(&[b"SET", format!("k{i}").as_bytes(), &[b'x'; 16 << 10]]);
    }
    let before = digest(&mut c);
    ok(&mut c, "BGSAVE");
    eventually("the save to fail", || {
        field(&mut c, "persistence", "rdb_last_bgsave_status") == "err"
    });
    assert!(text(&c.line("SET more 1")).starts_with("-MISCONF"));
    let leftovers: Vec<_> = mount
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "ballast")
        .collect();
    assert!(leftovers.is_empty(), "a failed save left {leftovers:?}");
    std::fs::remove_file(mount.join("ballast")).unwrap();
    ok(&mut c, "BGSAVE");
    eventually("the save to succeed", || {
        field(&mut c, "persistence", "rdb_last_bgsave_status") == "ok"
    });
    ok(&mut c, "SET more 1");
    drop(server);
    let server = start(io, &mount, &[]);
    assert_eq!(
        digest(&mut server.conn()),
        before,
        "the saved snapshot loads"
    );
}

/// Under `appendfsync always` a write the AOF cannot take is never
/// acknowledged: the server stops (as Redis does), and every write it did
/// acknowledge is there after a restart, the partial tail cut off.
#[test]
fn a_full_disk_under_appendfsync_always_stops_the_server() {
    let io = common::backends()[0];
    let (mount, _unmount) = tmpfs("fullalways", "2m");
    let args = ["--appendonly", "yes", "--appendfsync", "always"];
    let mut server = start(io, &mount, &args);
    let mut c = server.conn();
    let value = vec![b'x'; 64 * 1024];
    let mut acknowledged = Vec::new();
    use std::io::{Read, Write};
    for i in 0..100 {
        let request = rizzler::resp::encode_request(&[b"SET", format!("k{i}").as_bytes(), &value]);
        if c.stream.write_all(&request).is_err() {
            break;
        }
        let mut reply = [0u8; 5];
        match c.stream.read_exact(&mut reply) {
            Ok(()) => {
                assert_eq!(&reply, b"+OK\r\n", "only OK or nothing");
                acknowledged.push(i);
            }
            Err(_) => break,
        }
    }
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("the server stopped");
    assert!(!status.success(), "exit status {status}");
    assert!(!acknowledged.is_empty() && acknowledged.len() < 100);
    // Room again: the restart cuts the partial command and has every
    // acknowledged write.
    for entry in mount.read_dir().unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let _ = std::fs::remove_file(path);
        }
    }
    let server = start(io, &mount, &args);
    let mut c = server.conn();
    for i in &acknowledged {
        assert_eq!(
            text(&c.line(&format!("STRLEN k{i}"))),
            ":65536\r\n",
            "k{i} lost"
        );
    }
}

/// kill -9 under a stream of writes with `appendfsync always`, many times:
/// every acknowledged write is there after the restart.
#[test]
fn kill_9_loses_no_acknowledged_write_with_appendfsync_always() {
    let rounds: usize = std::env::var("RIZZLER_CRASH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(6);
    for io in common::backends() {
        let dir = scratch(&format!("crash-{io}"));
        let args = ["--appendonly", "yes", "--appendfsync", "always"];
        let mut next = 0u64;
        for round in 0..rounds {
            let server = start(io, &dir, &args);
            let port = server.port;
            // Writers on two connections until the kill.
            let writer = std::thread::spawn(move || {
                let mut acked = Vec::new();
                let mut c = Conn::open(port);
                let _ = c.stream.set_read_timeout(Some(Duration::from_secs(2)));
                for i in next.. {
                    c.send(&[b"SET", format!("w{i}").as_bytes(), b"v"]);
                    let mut buf = [0u8; 5];
                    use std::io::Read;
                    match c.stream.read_exact(&mut buf) {
                        Ok(()) if &buf == b"+OK\r\n" => acked.push(i),
                        _ => break,
                    }
                }
                acked
            });
            std::thread::sleep(Duration::from_millis(50 + 37 * round as u64 % 150));
            drop(server); // SIGKILL
            let acked = writer.join().unwrap();
            assert!(!acked.is_empty(), "round {round}: nothing written");
            next = acked.last().unwrap() + 1;
            let server = start(io, &dir, &args);
            let mut c = server.conn();
            for i in acked.iter().rev().take(2000) {
                assert_eq!(
                    text(&c.line(&format!("EXISTS w{i}"))),
                    ":1\r\n",
                    "{io} round {round}: w{i} acknowledged then lost"
                );
            }
        }
    }
}

/// kill -9 in the middle of BGSAVE and of BGREWRITEAOF, at several
/// points: the previous snapshot, or the AOF as it was before the rewrite
/// plus every acknowledged write, loads.
#[test]
fn kill_9_during_a_background_save_or_rewrite_keeps_the_previous_files() {
    let io = common::backends()[0];
    for (round, delay_ms) in [0u64, 3, 10, 30].into_iter().enumerate() {
        let dir = scratch(&format!("kill-save-{round}"));
        let server = start(io, &dir, &[]);
        let mut c = server.conn();
        let mut batch = Vec::new();
        for i in 0..100_000 {
            batch.extend_from_slice(&rizzler::resp::encode_request(&[
                b"SET",
                format!("k{i}").as_bytes(),
                b"v",
            ]));
        }
        c.send_raw(&batch);
        let _ = c.read_frames(100_000);
        ok(&mut c, "SAVE");
        let saved = digest(&mut c);
        ok(&mut c, "SET changed after-save");
        ok(&mut c, "BGSAVE");
        std::thread::sleep(Duration::from_millis(delay_ms));
        drop(server); // SIGKILL, most likely mid-save
        let server = start(io, &dir, &[]);
        let now = digest(&mut server.conn());
        // The save either finished (it may, given time) or left the old file.
        let finished = text(&server.conn().line("EXISTS changed")) == ":1\r\n";
        if !finished {
            assert_eq!(
                now, saved,
                "round {round}: the previous snapshot did not load"
            );
        }
    }
    for (round, delay_ms) in [0u64, 3, 10, 30].into_iter().enumerate() {
        let dir = scratch(&format!("kill-rewrite-{round}"));
        let args = ["--appendonly", "yes", "--appendfsync", "always"];
        let server = start(io, &dir, &args);
        let mut c = server.conn();
        let mut batch = Vec::new();
        for i in 0..100_000 {
            batch.extend_from_slice(&rizzler::resp::encode_request(&[
                b"SET",
                format!("k{i}").as_bytes(),
                b"v",
            ]));
        }
        c.send_raw(&batch);
        let _ = c.read_frames(100_000);
        ok(&mut c, "BGREWRITEAOF");
        ok(&mut c, "SET during rewrite");
        let before = digest(&mut c);
        std::thread::sleep(Duration::from_millis(delay_ms));
        drop(server); // SIGKILL
        let server = start(io, &dir, &args);
        assert_eq!(
            digest(&mut server.conn()),
            before,
            "round {round}: acknowledged writes lost"
        );
    }
}
