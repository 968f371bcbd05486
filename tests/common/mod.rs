//! Test support: start real servers (rizzler and redis-server) on spare
//! ports, talk raw RESP to them, and run differential scripts.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The I/O backends the suite runs against: epoll always, io_uring when
/// this kernel allows it (probed once; when it doesn't, the suite says so
/// loudly and runs epoll only, unless `RIZZLER_REQUIRE_URING=1` makes that
/// a failure). `RIZZLER_TEST_IO=epoll` (or `uring`) narrows it to one.
pub fn backends() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = vec!["epoll"];
    if uring_available() {
        all.push("uring");
    }
    match std::env::var("RIZZLER_TEST_IO") {
        Ok(only) => all.into_iter().filter(|b| *b == only).collect(),
        Err(_) => all,
    }
}

/// Whether io_uring can serve here; prints why not, once per test binary.
pub fn uring_available() -> bool {
    static PROBED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PROBED.get_or_init(|| match rizzler::net::uring::probe() {
        Ok(()) => true,
        Err(why) => {
            if std::env::var("RIZZLER_REQUIRE_URING").is_ok_and(|v| v == "1") {
                panic!("RIZZLER_REQUIRE_URING=1 but io_uring is unavailable: {why}");
            }
            eprintln!("SKIPPING the io_uring backend in this run: {why}");
            false
        }
    })
}

/// A server process, killed when dropped.
pub struct ServerProc {
    pub port: u16,
    child: Child,
    /// Where stderr goes, for servers started by [`rizzler_logged`].
    log: Option<std::path::PathBuf>,
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(path) = &self.log {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl ServerProc {
    pub fn conn(&self) -> Conn {
        Conn::open(self.port)
    }
    pub fn client(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .and_then(|c| c.get_connection())
            .expect("redis client connects")
    }
    /// Sends a signal (SIGTERM, SIGINT) to the server.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
    /// What the server logged so far ([`rizzler_logged`] only).
    pub fn log(&self) -> String {
        self.log
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default()
    }
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    l.local_addr().expect("local addr").port()
}

fn wait_ready(port: u16, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before serving: {status}");
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            // Listening; wait for the dataset too (both servers answer
            // -LOADING meanwhile).
            let mut c = Conn::open(port);
            while Instant::now() < deadline {
                let info = c.line("INFO persistence");
                if !String::from_utf8_lossy(&info).contains("loading:1") {
                    return;
                }
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("{what} exited while loading: {status}");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} did not start serving on port {port}");
}

/// An integer field of an INFO section, read through the `redis` client.
pub fn info_field(c: &mut redis::Connection, section: &str, field: &str) -> u64 {
    let text: String = redis::cmd("INFO").arg(section).query(c).expect("INFO");
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
}

/// Starts the rizzler binary on a spare loopback port.
pub fn rizzler(io: &str, extra: &[&str]) -> ServerProc {
    let port = free_port();
    spawn_ready(rizzler_command(io, port, extra), port)
}

/// Starts `cmd` (a rizzler serving on `port`) at the test's log level and
/// waits until it serves.
fn spawn_ready(mut cmd: Command, port: u16) -> ServerProc {
    cmd.env(
        "RIZZLER_LOG",
        std::env::var("RIZZLER_LOG").unwrap_or_else(|_| "warn".into()),
    );
    let mut child = cmd.spawn().expect("start rizzler");
    wait_ready(port, &mut child, "rizzler");
    ServerProc {
        port,
        child,
        log: None,
    }
}

/// The directory [`rizzler_command`] gives the server on `port` (its
/// snapshot files go there).
pub fn rizzler_dir(port: u16) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("rizzler-test-{port}"))
}

/// Loopback, `port`, backend `io`: how every test server listens.
pub fn listen_args(io: &str, port: u16) -> [String; 6] {
    [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--io",
        io,
    ]
    .map(String::from)
}

/// The command line [`rizzler`] runs: persistence off and a fresh
/// directory of its own, unless `extra` says otherwise (later options win).
pub fn rizzler_command(io: &str, port: u16, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rizzler"));
    cmd.args(listen_args(io, port))
        .args(["--save", "", "--enable-debug-command", "yes"]);
    if !extra.contains(&"--dir") {
        let dir = rizzler_dir(port);
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::create_dir_all(&dir);
        cmd.arg("--dir").arg(dir);
    }
    cmd.args(extra).stdin(Stdio::null());
    cmd
}

/// [`rizzler`] reading `conf` first (`rizzler FILE --port N …`).
pub fn rizzler_with_file(io: &str, conf: &std::path::Path, extra: &[&str]) -> ServerProc {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rizzler"));
    cmd.arg(conf)
        .args(listen_args(io, port))
        .args(extra)
        .stdin(Stdio::null());
    spawn_ready(cmd, port)
}

/// Like [`rizzler`], at log level info with its output kept for
/// [`ServerProc::log`], and with extra environment variables.
pub fn rizzler_logged(io: &str, extra: &[&str], env: &[(&str, &str)]) -> ServerProc {
    let port = free_port();
    let path = std::env::temp_dir().join(format!("rizzler-test-{port}.log"));
    let file = std::fs::File::create(&path).expect("create log file");
    let file2 = file.try_clone().expect("clone log file");
    let mut cmd = rizzler_command(io, port, extra);
    cmd.env("RIZZLER_LOG", "info")
        .envs(env.iter().copied())
        .stdout(file)
        .stderr(file2);
    let mut child = cmd.spawn().expect("start rizzler");
    wait_ready(port, &mut child, "rizzler");
    ServerProc {
        port,
        child,
        log: Some(path),
    }
}

/// Resident memory of a process, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// How many file descriptors a process holds.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// Starts Debian's redis-server on a spare port, with persistence off.
/// `REDIS_SERVER` names the binary; without one the differential suite
/// fails, never skips: .ci/run installs it.
pub fn redis_server() -> ServerProc {
    redis_server_with(&[])
}

/// The directory [`redis_server_with`] gives the server on `port`.
pub fn redis_dir(port: u16) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("rizzler-redis-{port}"))
}

/// [`redis_server`] with more options, which override the defaults
/// (`--appendonly yes`, …).
pub fn redis_server_with(extra: &[&str]) -> ServerProc {
    let bin = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
    let port = free_port();
    let dir = redis_dir(port);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    let child = Command::new(&bin)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            // rizzler always serves DEBUG SLEEP / SET-ACTIVE-EXPIRE; Redis
            // refuses DEBUG unless told otherwise.
            "--enable-debug-command",
            "yes",
        ])
        .arg("--dir")
        .arg(&dir)
        .args(extra)
        .stdout(Stdio::null())
        .stdin(Stdio::null())
        .spawn();
    let mut child = child.unwrap_or_else(|e| {
        panic!("cannot start {bin} ({e}): the differential tests need redis-server 7.0 (apt-get install redis-server), or REDIS_SERVER=/path/to/redis-server")
    });
    wait_ready(port, &mut child, "redis-server");
    ServerProc {
        port,
        child,
        log: None,
    }
}

/// A raw RESP connection.
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    pub fn send(&mut self, args: &[&[u8]]) {
        self.send_raw(&encode(args));
    }

    /// Sends a command and returns its raw reply.
    pub fn cmd(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send(args);
        self.read_reply()
    }

    /// Sends an inline-syntax line (`SET k "a b"`) as a multibulk command.
    pub fn line(&mut self, line: &str) -> Vec<u8> {
        let args = split(line);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        self.cmd(&refs)
    }

    /// Reads exactly one reply, raw.
    pub fn read_reply(&mut self) -> Vec<u8> {
        loop {
            if let Some(n) = reply_len(&self.buf) {
                return self.buf.drain(..n).collect();
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!(
                    "connection closed while waiting for a reply; got so far: {}",
                    show(&self.buf)
                ),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => panic!("read failed ({e}); got so far: {}", show(&self.buf)),
            }
        }
    }

    /// Reads `n` replies (or pushes), raw and concatenated.
    pub fn read_frames(&mut self, n: usize) -> Vec<u8> {
        (0..n).flat_map(|_| self.read_reply()).collect()
    }

    /// Whatever arrives beyond what was read, until `wait` passes with
    /// nothing new.
    pub fn read_extra(&mut self, wait: Duration) -> Vec<u8> {
        self.stream.set_read_timeout(Some(wait)).expect("timeout");
        let mut chunk = [0u8; 64 * 1024];
        while let Ok(n @ 1..) = self.stream.read(&mut chunk) {
            self.buf.extend_from_slice(&chunk[..n]);
        }
        self.stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        std::mem::take(&mut self.buf)
    }

    /// Reads until the peer closes or `idle` passes with nothing new.
    pub fn read_until_close(&mut self, idle: Duration) -> (Vec<u8>, bool) {
        self.stream.set_read_timeout(Some(idle)).expect("timeout");
        let mut closed = false;
        loop {
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    closed = true;
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        self.stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        (std::mem::take(&mut self.buf), closed)
    }
}

/// RESP multibulk encoding of a command.
pub use rizzler::resp::encode_request as encode;

/// Splits a line the way redis-cli and inline commands do.
pub fn split(line: &str) -> Vec<Vec<u8>> {
    let mut scratch = Vec::new();
    let mut spans = Vec::new();
    rizzler::resp::split_args(line.as_bytes(), &mut scratch, &mut spans)
        .unwrap_or_else(|e| panic!("bad test line {line:?}: {e:?}"));
    spans.into_iter().map(|r| scratch[r].to_vec()).collect()
}

/// Length of the first complete RESP2/RESP3 reply in `buf`.
pub fn reply_len(buf: &[u8]) -> Option<usize> {
    frame_end(buf, 0)
}

fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| from + p)
}

fn frame_end(buf: &[u8], at: usize) -> Option<usize> {
    let tag = *buf.get(at)?;
    let eol = line_end(buf, at + 1)?;
    let head = std::str::from_utf8(&buf[at + 1..eol]).ok()?;
    let after = eol + 2;
    match tag {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Some(after),
        b'$' | b'=' | b'!' => {
            let n: i64 = head.parse().ok()?;
            if n < 0 {
                return Some(after);
            }
            let end = after + n as usize + 2;
            (buf.len() >= end).then_some(end)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n: i64 = head.parse().ok()?;
            let items = if matches!(tag, b'%' | b'|') { 2 * n } else { n };
            let mut pos = after;
            for _ in 0..items.max(0) {
                pos = frame_end(buf, pos)?;
            }
            Some(pos)
        }
        _ => panic!("not a RESP reply: {}", show(&buf[at..])),
    }
}

/// The elements of an aggregate reply, each raw.
pub fn elements(reply: &[u8]) -> Vec<Vec<u8>> {
    let eol = line_end(reply, 1).expect("header");
    let n: i64 = std::str::from_utf8(&reply[1..eol])
        .expect("utf8")
        .parse()
        .unwrap_or(0);
    let n = if matches!(reply[0], b'%' | b'|') {
        2 * n
    } else {
        n
    };
    let mut pos = eol + 2;
    let mut out = Vec::new();
    for _ in 0..n.max(0) {
        let end = frame_end(reply, pos).expect("element");
        out.push(reply[pos..end].to_vec());
        pos = end;
    }
    out
}

/// Bytes shown with escapes, for failure messages.
pub fn show(bytes: &[u8]) -> String {
    let s: String = bytes
        .iter()
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect();
    if s.len() > 600 {
        format!("{}… ({} bytes)", &s[..600], bytes.len())
    } else {
        s
    }
}

/// A differential script: the same lines to both servers, replies compared
/// byte for byte. See tests/diff/README.md for the syntax.
pub fn run_script(path: &Path, redis_port: u16, rizzler_port: u16) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("read script");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut main = (Conn::open(redis_port), Conn::open(rizzler_port));
    for c in [&mut main.0, &mut main.1] {
        assert_eq!(c.line("FLUSHALL"), b"+OK\r\n", "FLUSHALL before {name}");
    }
    // `@name` connections, opened on first use.
    let mut named: std::collections::HashMap<String, (Conn, Conn)> = Default::default();
    let mut failures = Vec::new();
    // `!delta` baselines: field -> (redis's value, rizzler's value).
    let mut deltas: std::collections::HashMap<String, (i64, i64)> = Default::default();
    for (no, raw_line) in text.lines().enumerate() {
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{name}:{}: {line}", no + 1);
        let (pair, line) = match line.strip_prefix('@') {
            Some(rest) => {
                let (conn, rest) = rest.split_once(' ').unwrap_or((rest, ""));
                let pair = named
                    .entry(conn.to_string())
                    .or_insert_with(|| (Conn::open(redis_port), Conn::open(rizzler_port)));
                (pair, rest.trim())
            }
            None => (&mut main, line),
        };
        let (a, b) = (&mut pair.0, &mut pair.1);
        let (directive, rest) = match line.strip_prefix('!') {
            Some(d) => d.split_once(' ').unwrap_or((d, "")),
            None => ("", line),
        };
        match directive {
            "sleep" => {
                std::thread::sleep(Duration::from_millis(rest.parse().expect("!sleep MS")));
                continue;
            }
            // Pushes that arrive with no command sent: N of them, or with
            // N = 0, whatever arrives until the connection is quiet for a
            // moment.
            "recv" => {
                let n: usize = rest.parse().expect("!recv N");
                let (ra, rb) = if n == 0 {
                    let wait = Duration::from_millis(50);
                    (a.read_extra(wait), b.read_extra(wait))
                } else {
                    (a.read_frames(n), b.read_frames(n))
                };
                if ra != rb {
                    failures.push(format!(
                        "{at}\n  redis:   {}\n  rizzler: {}",
                        show(&ra),
                        show(&rb)
                    ));
                }
                continue;
            }
            "raw" => {
                // One double-quoted string of bytes; both servers' whole
                // answers until they close (or go quiet) are compared.
                let bytes = split(rest).concat();
                let mut ra = Conn::open(redis_port);
                let mut rb = Conn::open(rizzler_port);
                ra.send_raw(&bytes);
                rb.send_raw(&bytes);
                // Both wait out their idle time at once.
                let idle = Duration::from_millis(300);
                let redis_side = std::thread::spawn(move || ra.read_until_close(idle));
                let (gb, cb) = rb.read_until_close(idle);
                let (ga, ca) = redis_side.join().expect("reader thread");
                if ga != gb || ca != cb {
                    failures.push(format!(
                        "{at}\n  redis:   {} (closed: {ca})\n  rizzler: {} (closed: {cb})",
                        show(&ga),
                        show(&gb)
                    ));
                }
                continue;
            }
            _ => {}
        }
        // `!info PREFIX CMD`, `!delta FIELD CMD` and `!frames N CMD` name
        // a field first.
        let (field, rest) = match directive {
            "info" | "delta" | "frames" => rest.split_once(' ').unwrap_or((rest, "")),
            _ => ("", rest),
        };
        let args = split(rest);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        let frames = if directive == "frames" {
            field.parse().expect("!frames N CMD")
        } else {
            1
        };
        a.send(&refs);
        b.send(&refs);
        let ra = a.read_frames(frames);
        let rb = b.read_frames(frames);
        let same = match directive {
            // INFO lines starting with PREFIX, as a set, timings left out.
            "info" => {
                let (la, lb) = (info_lines(&ra, field), info_lines(&rb, field));
                // Section headers count, so an unknown section (no lines
                // at all) fails rather than compares nothing.
                !la.is_empty() && la == lb
            }
            // How much an INFO counter moved since the last `!delta` of it
            // (the first one only sets the baseline).
            "delta" => {
                let now = (info_number(&ra, field), info_number(&rb, field));
                assert!(now.0 >= 0 && now.1 >= 0, "{at}: no field {field}");
                let before = deltas.insert(field.to_string(), now);
                before.is_none_or(|(x, y)| now.0 - x == now.1 - y)
            }
            "" | "frames" => ra == rb,
            // Unordered aggregates: same header, same multiset of elements.
            "sort" => ra[..1] == rb[..1] && sorted(elements(&ra)) == sorted(elements(&rb)),
            // Unordered maps / flat pair lists.
            "sortpairs" => {
                ra[..1] == rb[..1] && sorted(pairs(elements(&ra))) == sorted(pairs(elements(&rb)))
            }
            // Only the reply's type (values differ by nature: TIME, INFO).
            "type" => ra.first() == rb.first(),
            // Replies are sent but not compared (set-up with random output).
            "ignore" => true,
            // An ACL LOG reply: entries compared without their age and with
            // only the stable fields of their client info.
            "acllog" => acl_log_view(&ra) == acl_log_view(&rb),
            other => panic!("{at}: unknown directive !{other}"),
        };
        if !same {
            failures.push(format!(
                "{at}\n  redis:   {}\n  rizzler: {}",
                show(&ra),
                show(&rb)
            ));
        }
    }
    // A named connection left with unread pushes means a `!frames` or
    // `!recv` count in the script is wrong: the comparisons after it were
    // misaligned.
    for (conn, (ra, rb)) in &mut named {
        let wait = Duration::from_millis(50);
        let (la, lb) = (ra.read_extra(wait), rb.read_extra(wait));
        if !la.is_empty() || !lb.is_empty() {
            failures.push(format!(
                "{name}: unread at the end on @{conn}\n  redis:   {}\n  rizzler: {}",
                show(&la),
                show(&lb)
            ));
        }
    }
    failures
}

/// An ACL LOG reply as comparable text: each entry's fields, `age-seconds`
/// left out and `client-info` cut to the fields that do not vary by
/// connection (`name`, `db`, `flags`, `cmd`, `user`).
fn acl_log_view(reply: &[u8]) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
    if !matches!(reply.first(), Some(b'*')) {
        return vec![vec![(reply.to_vec(), Vec::new())]];
    }
    elements(reply)
        .into_iter()
        .map(|entry| {
            pairs(elements(&entry))
                .into_iter()
                .filter(|(k, _)| !k.ends_with(b"age-seconds\r\n"))
                .map(|(k, v)| {
                    if !k.ends_with(b"client-info\r\n") {
                        return (k, v);
                    }
                    let text = String::from_utf8_lossy(&v).into_owned();
                    let kept: Vec<&str> = text
                        .split([' ', '\n', '\r'])
                        .filter(|f| {
                            ["name=", "db=", "flags=", "cmd=", "user="]
                                .iter()
                                .any(|p| f.starts_with(p))
                        })
                        .collect();
                    (k, kept.join(" ").into_bytes())
                })
                .collect()
        })
        .collect()
}

/// The section headers of an INFO reply and its lines that start with
/// `prefix`, sorted, with the timings (`usec=…,usec_per_call=…,`) that
/// differ by nature removed.
fn info_lines(reply: &[u8], prefix: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(reply);
    let mut lines: Vec<String> = text
        .split("\r\n")
        .filter(|l| l.starts_with(prefix) || l.starts_with("# "))
        .map(|l| {
            let mut fields: Vec<&str> = l.split(',').collect();
            fields.retain(|f| !f.starts_with("usec=") && !f.starts_with("usec_per_call="));
            fields.join(",")
        })
        .collect();
    lines.sort();
    lines
}

/// The integer value of `field:` in an INFO reply (-1 when absent).
fn info_number(reply: &[u8], field: &str) -> i64 {
    let text = String::from_utf8_lossy(reply);
    text.split("\r\n")
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn pairs(v: Vec<Vec<u8>>) -> Vec<(Vec<u8>, Vec<u8>)> {
    v.chunks(2)
        .map(|c| (c[0].clone(), c.get(1).cloned().unwrap_or_default()))
        .collect()
}
