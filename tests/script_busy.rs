//! Scripts that run long (Redis's busy scripts), against redis-server 7.0
//! and both backends: past busy-reply-threshold the other clients are
//! served, and answered `-BUSY` except for what may stop the script or the
//! server; SCRIPT KILL and FUNCTION KILL stop a script that has not
//! written, not one that has; SHUTDOWN NOSAVE ends the server under it.
//! Each scenario's transcript must equal Redis's byte for byte.

mod common;

use std::time::{Duration, Instant};

use common::{backends, redis_server, rizzler, show, Conn, ServerProc};

/// The threshold the scenarios run with, in milliseconds.
const THRESHOLD: &str = "50";

/// Replies of one scenario, in order, printable.
#[derive(Default)]
struct Transcript(Vec<String>);

impl Transcript {
    fn note(&mut self, what: &str, reply: &[u8]) {
        self.0.push(format!("{what} -> {}", show(reply)));
    }
}

/// Sends PING from `c` until the answer is no longer PONG, i.e. the
/// script has timed out; returns that answer.
fn wait_busy(c: &mut Conn) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = c.line("PING");
        if reply != b"+PONG\r\n" || Instant::now() > deadline {
            return reply;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sets the threshold low, has one client run `command` (a script that
/// runs long) and another wait until it is answered -BUSY, noting that
/// answer. Returns the two connections.
fn start_busy(port: u16, command: &[&[u8]], t: &mut Transcript) -> (Conn, Conn) {
    let mut admin = Conn::open(port);
    admin.line(&format!("CONFIG SET busy-reply-threshold {THRESHOLD}"));
    let mut runner = Conn::open(port);
    // Before the threshold the server is simply inside the script: a
    // client that connects meanwhile waits, as with Redis.
    runner.send(command);
    let mut other = Conn::open(port);
    t.note("PING", &wait_busy(&mut other));
    (runner, other)
}

/// A script that loops, stopped by SCRIPT KILL, with the commands that may
/// and may not run under it.
fn eval_killed(port: u16) -> Vec<String> {
    let mut t = Transcript::default();
    Conn::open(port).line("SET k v");
    let script: &[u8] = b"local i = 0 while true do i = i + 1 end";
    let (mut runner, mut other) = start_busy(port, &[b"EVAL", script, b"0"], &mut t);
    for line in [
        "GET k",
        "FUNCTION KILL",
        "FUNCTION STATS",
        "SHUTDOWN",
        "SHUTDOWN SAVE",
        "AUTH nobody secret",
        "CLIENT ID",
        "NOSUCHCOMMAND",
        "GET",
        "WATCH k",
        "UNWATCH",
        "MULTI",
        "SET k w",
        "EXEC",
    ] {
        t.note(line, &other.line(line));
    }
    // A pipeline is answered whole, and a connection made under the
    // script is served too.
    let mut late = Conn::open(port);
    late.send_raw(b"PING\r\nGET k\r\n");
    t.note("late pipeline", &late.read_frames(2));
    t.note("SCRIPT KILL", &other.line("SCRIPT KILL"));
    t.note("EVAL", &runner.read_reply());
    t.note("SCRIPT KILL again", &other.line("SCRIPT KILL"));
    t.note("GET k after", &other.line("GET k"));
    t.note("runner goes on", &runner.line("PING"));
    t.0
}

/// A script that catches the kill with pcall is stopped all the same.
fn eval_pcall_killed(port: u16) -> Vec<String> {
    let mut t = Transcript::default();
    let script: &[u8] = b"while true do pcall(function() while true do end end) end";
    let (mut runner, mut other) = start_busy(port, &[b"EVAL", script, b"0"], &mut t);
    t.note("SCRIPT KILL", &other.line("SCRIPT KILL"));
    t.note("EVAL", &runner.read_reply());
    t.0
}

/// A function: FUNCTION KILL's turn, FUNCTION STATS shows it.
fn function_killed(port: u16) -> Vec<String> {
    let mut t = Transcript::default();
    let lib = b"#!lua name=busy\nredis.register_function('spin', function() while true do end end)";
    t.note(
        "FUNCTION LOAD",
        &Conn::open(port).cmd(&[b"FUNCTION", b"LOAD", lib]),
    );
    let (mut runner, mut other) = start_busy(port, &[b"FCALL", b"spin", b"0"], &mut t);
    t.note("SCRIPT KILL", &other.line("SCRIPT KILL"));
    let stats = other.line("FUNCTION STATS");
    // The running time differs from run to run.
    let stats = show(&stats);
    let at = stats.find("duration_ms").map_or(stats.len(), |i| i + 11);
    let digits = stats[at..]
        .trim_start_matches("\\r\\n:")
        .trim_start_matches(|c: char| c.is_ascii_digit());
    t.0.push(format!("FUNCTION STATS -> {}<ms>{digits}", &stats[..at]));
    t.note("FUNCTION KILL", &other.line("FUNCTION KILL"));
    t.note("FCALL", &runner.read_reply());
    t.note("FUNCTION KILL again", &other.line("FUNCTION KILL"));
    t.0
}

/// A script that wrote cannot be killed; SHUTDOWN NOSAVE ends the server,
/// and the script's write is not saved anywhere.
fn dirty_then_shutdown(server: &mut ServerProc) -> Vec<String> {
    let port = server.port;
    let mut t = Transcript::default();
    let script: &[u8] = b"redis.call('SET', 'x', '1') while true do end";
    let (mut runner, mut other) = start_busy(port, &[b"EVAL", script, b"0"], &mut t);
    t.note("SCRIPT KILL", &other.line("SCRIPT KILL"));
    t.note("SHUTDOWN", &other.line("SHUTDOWN"));
    other.send_raw(b"SHUTDOWN NOSAVE\r\n");
    let (reply, closed) = other.read_until_close(Duration::from_secs(10));
    t.note("SHUTDOWN NOSAVE (closed)", &reply);
    t.0.push(format!("closed: {closed}"));
    let (reply, closed) = runner.read_until_close(Duration::from_secs(10));
    t.note("EVAL (closed)", &reply);
    t.0.push(format!("closed: {closed}"));
    let exited = server.wait_exit(Duration::from_secs(10));
    t.0.push(format!("exited: {:?}", exited.map(|s| s.code())));
    t.0
}

/// A scenario run against the server on a port.
type Scenario = fn(u16) -> Vec<String>;

fn compare(name: &str, redis: &[String], ours: &[String], io: &str) {
    assert_eq!(
        redis, ours,
        "{name} on {io}: rizzler's transcript differs from redis-server's"
    );
}

#[test]
fn busy_scripts_match_redis() {
    let scenarios: [(&str, Scenario); 3] = [
        ("eval_killed", eval_killed),
        ("eval_pcall_killed", eval_pcall_killed),
        ("function_killed", function_killed),
    ];
    let redis = redis_server();
    let expected: Vec<Vec<String>> = scenarios.iter().map(|(_, f)| f(redis.port)).collect();
    drop(redis);
    let mut redis = redis_server();
    let expected_dirty = dirty_then_shutdown(&mut redis);
    for io in backends() {
        let ours = rizzler(io, &[]);
        for ((name, f), expected) in scenarios.iter().zip(&expected) {
            compare(name, expected, &f(ours.port), io);
        }
        drop(ours);
        let mut ours = rizzler(io, &[]);
        compare(
            "dirty_then_shutdown",
            &expected_dirty,
            &dirty_then_shutdown(&mut ours),
            io,
        );
    }
}
