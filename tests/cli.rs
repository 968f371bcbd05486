//! The real `redis-cli` against rizzler: one-shot commands, RESP3 mode,
//! and an interactive session on a pseudo-terminal, where redis-cli builds
//! its help and typing hints from COMMAND DOCS at start-up (a malformed
//! reply makes it abort). Needs redis-cli on PATH or in $REDIS_CLI; without
//! it the test fails rather than skips (CI installs redis-tools).

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn cli_bin() -> String {
    let bin = std::env::var("REDIS_CLI").unwrap_or_else(|_| "redis-cli".into());
    match Command::new(&bin).arg("--version").output() {
        Ok(out) if out.status.success() => bin,
        _ => panic!(
            "cannot run {bin}: these tests need redis-cli 7 (apt-get install redis-tools), or REDIS_CLI=/path/to/redis-cli"
        ),
    }
}

/// Runs `redis-cli -p PORT args…` with no terminal (raw output).
fn cli(port: u16, args: &[&str]) -> Output {
    Command::new(cli_bin())
        .args(["-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run redis-cli")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn one_shot_commands() {
    let server = common::rizzler("epoll", &[]);
    let port = server.port;
    assert_eq!(stdout(&cli(port, &["PING"])), "PONG\n");
    assert_eq!(stdout(&cli(port, &["SET", "k", "hello world"])), "OK\n");
    assert_eq!(stdout(&cli(port, &["GET", "k"])), "hello world\n");
    assert_eq!(stdout(&cli(port, &["DBSIZE"])), "1\n");
    assert_eq!(stdout(&cli(port, &["-n", "3", "DBSIZE"])), "0\n");
    assert_eq!(
        stdout(&cli(port, &["CONFIG", "GET", "maxmemory-policy"])),
        "maxmemory-policy\nnoeviction\n"
    );
    let err = cli(port, &["SELECT", "99"]);
    // redis-cli prints errors with a blank line after them.
    assert_eq!(stdout(&err), "ERR DB index is out of range\n\n");
    let info = stdout(&cli(port, &["INFO", "server"]));
    assert!(info.contains("redis_version:7.0.15"), "{info}");
    assert!(info.contains("io_backend:epoll"), "{info}");
    assert!(info.contains(&format!("tcp_port:{port}")), "{info}");
    let list = stdout(&cli(port, &["CLIENT", "LIST"]));
    assert!(list.contains(" cmd=client|list "), "{list}");
    // RESP3 mode: HELLO 3 first; redis-cli prints a map's pairs on one line.
    assert_eq!(
        stdout(&cli(port, &["-3", "CONFIG", "GET", "hz"])),
        "hz 10\n"
    );
    let hello = stdout(&cli(port, &["-3", "HELLO"]));
    assert!(hello.contains("proto 3\n"), "{hello}");
    // Input from stdin, several commands in one session.
    let mut child = Command::new(cli_bin())
        .args(["-p", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run redis-cli");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"CLIENT SETNAME piped\nCLIENT GETNAME\nECHO done\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(stdout(&out), "OK\npiped\ndone\n");
}

#[test]
fn shutdown_from_redis_cli_stops_the_server() {
    let mut server = common::rizzler("epoll", &[]);
    let out = cli(server.port, &["SHUTDOWN", "NOSAVE"]);
    assert_eq!(
        stdout(&out),
        "",
        "redis-cli treats the closed connection as success"
    );
    let status = server.wait_exit(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "rizzler exits cleanly: {status:?}"
    );
}

/// A pseudo-terminal pair: the master side for the test, the slave side as
/// the child's terminal.
fn open_pty() -> (File, OwnedFd) {
    // SAFETY: plain libc calls on descriptors this function owns; every
    // result is checked before use.
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(master >= 0, "posix_openpt");
        // Other tests spawn processes concurrently: keep the pty to ours.
        libc::fcntl(master, libc::F_SETFD, libc::FD_CLOEXEC);
        assert_eq!(libc::grantpt(master), 0, "grantpt");
        assert_eq!(libc::unlockpt(master), 0, "unlockpt");
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(master, name.as_mut_ptr(), name.len()), 0);
        let slave = libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        assert!(slave >= 0, "open pty slave");
        // A wide terminal, so linenoise has room for the hints.
        let ws = libc::winsize {
            ws_row: 50,
            ws_col: 250,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        libc::ioctl(slave, libc::TIOCSWINSZ, &ws);
        (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave))
    }
}

/// An interactive redis-cli on a pseudo-terminal.
struct Terminal {
    master: File,
    child: std::process::Child,
    seen: Vec<u8>,
}

impl Terminal {
    fn start(port: u16) -> Terminal {
        let (master, slave) = open_pty();
        let child = Command::new(cli_bin())
            .args(["-p", &port.to_string()])
            .env("TERM", "xterm")
            .env("HOME", std::env::temp_dir())
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .spawn()
            .expect("run redis-cli");
        Terminal {
            master,
            child,
            seen: Vec::new(),
        }
    }

    /// Reads until `want` has appeared in the output since the last call,
    /// answering linenoise's cursor-position queries on the way.
    fn expect(&mut self, want: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let text = String::from_utf8_lossy(&self.seen).into_owned();
            if let Some(at) = text.find(want) {
                let upto = at + want.len();
                let shown = text[..upto].to_string();
                self.seen.drain(..text[..upto].len());
                return shown;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "redis-cli never showed {want:?}; it showed: {text:?}"
            );
            let mut pfd = libc::pollfd {
                fd: self.master.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd for the duration of the call.
            let ready = unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(200) as i32) };
            if ready <= 0 {
                if let Ok(Some(status)) = self.child.try_wait() {
                    panic!("redis-cli exited ({status}); it showed: {text:?}");
                }
                continue;
            }
            let mut buf = [0u8; 4096];
            let n = self.master.read(&mut buf).unwrap_or(0);
            if n == 0 {
                panic!("redis-cli closed its terminal; it showed: {text:?}");
            }
            let chunk = &buf[..n];
            // linenoise asks where the cursor is; any answer will do.
            let queries = chunk.windows(4).filter(|w| w == b"\x1b[6n").count();
            for _ in 0..queries {
                self.master.write_all(b"\x1b[1;1R").unwrap();
            }
            self.seen.extend_from_slice(chunk);
        }
    }

    fn type_keys(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).unwrap();
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn interactive_session_has_help_and_hints() {
    let server = common::rizzler("epoll", &[]);
    let prompt = format!("127.0.0.1:{}> ", server.port);
    let mut term = Terminal::start(server.port);
    let wait = Duration::from_secs(10);
    term.expect(&prompt, wait);
    // Hints come from COMMAND DOCS' argument trees.
    term.type_keys("set ");
    term.expect(
        "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]",
        wait,
    );
    term.type_keys("\x15"); // Ctrl-U clears the line.
    term.type_keys("client kill ");
    term.expect("[SKIPME yes/no]", wait);
    term.type_keys("\x15");
    term.type_keys("help config get\r");
    term.expect("summary:", wait);
    term.expect("Get the values of configuration parameters", wait);
    term.expect("group:", wait);
    // Type only at a prompt: between lines the terminal is not in raw mode
    // and would mangle the input.
    term.expect(&prompt, wait);
    term.type_keys("ping\r");
    term.expect("PONG", wait);
    term.expect(&prompt, wait);
    term.type_keys("quit\r");
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = term.child.try_wait() {
            assert!(status.success(), "redis-cli exit: {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("redis-cli did not exit after quit");
}
