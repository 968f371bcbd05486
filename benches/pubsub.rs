//! Pub/sub fan-out, side by side: redis-server, rizzler on io_uring and
//! rizzler on epoll, started by this program on spare ports and measured
//! interleaved, several rounds, medians.
//!
//! For each shape (1, 10, 100, 1000 channel subscribers; 10 pattern
//! subscribers) two runs per server:
//!
//! - throughput: one publisher pipelines PUBLISH as fast as the subscribers
//!   keep up (it never runs more than `--lag` messages ahead of the
//!   slowest); reported as messages delivered per second, and the
//!   server's CPU time per delivered message;
//! - latency: the publisher sends one PUBLISH per millisecond (per 10 ms at
//!   1000 subscribers: about 100,000 deliveries a second at most, far from
//!   saturation); every delivery's publish-to-delivery time (the payload
//!   carries the send time) gives p50 and p99.
//!
//! Servers are pinned to CPU 1 and this client to CPU 0 (when there are
//! two). Run: `scripts/pubsub_bench.sh [--seconds S] [--rounds R]`.

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHANNEL: &str = "bench:channel";
const PATTERN: &str = "bench:*";
/// Latency samples from the first moments of a run are left out.
const WARMUP_NS: u64 = 200_000_000;
/// Payload: the send time in nanoseconds, 20 digits, padded.
const PAYLOAD: usize = 32;

struct Server {
    name: &'static str,
    port: u16,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Clone, Copy)]
struct Shape {
    subscribers: usize,
    patterns: bool,
}

impl Shape {
    fn label(&self) -> String {
        if self.patterns {
            format!("{} pattern subs", self.subscribers)
        } else {
            format!("{} subscribers", self.subscribers)
        }
    }

    /// Bytes of one delivered message.
    fn frame_len(&self) -> usize {
        let bulk = |s: usize| format!("${s}\r\n").len() + s + 2;
        if self.patterns {
            4 + bulk(8) + bulk(PATTERN.len()) + bulk(CHANNEL.len()) + bulk(PAYLOAD)
        } else {
            4 + bulk(7) + bulk(CHANNEL.len()) + bulk(PAYLOAD)
        }
    }
}

struct Options {
    seconds: f64,
    rounds: usize,
    pipeline: usize,
    lag: u64,
    shapes: Vec<Shape>,
}

fn main() {
    let opts = parse_args();
    raise_fd_limit();
    let pin = std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2;
    if pin {
        pin_to_cpu(0);
    }
    let servers = [
        start("redis", pin, redis_cmd),
        start("rizzler-uring", pin, |p| rizzler_cmd(p, "uring")),
        start("rizzler-epoll", pin, |p| rizzler_cmd(p, "epoll")),
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "pub/sub fan-out: {}s per run, {} rounds interleaved, publisher pipeline {}, payload {PAYLOAD} B{}",
        opts.seconds,
        opts.rounds,
        opts.pipeline,
        if pin { ", servers on CPU 1, client on CPU 0" } else { "" }
    );
    let mut rows = Vec::new();
    for shape in &opts.shapes {
        // Per server: deliveries/s, CPU µs per delivery, p50 ms, p99 ms.
        let mut samples: Vec<Vec<[f64; 4]>> = vec![Vec::new(); servers.len()];
        for round in 0..opts.rounds {
            for (i, s) in servers.iter().enumerate() {
                let (rate, cpu) = rt.block_on(throughput(s, *shape, &opts));
                settle(s.port);
                let (p50, p99) = rt.block_on(latency(s, *shape, &opts));
                settle(s.port);
                eprintln!(
                    "  {} round {}: {:<14} {:>12.0} msg/s {:>6.3} us/msg  p50 {:.3} ms  p99 {:.3} ms",
                    shape.label(),
                    round + 1,
                    s.name,
                    rate,
                    cpu,
                    p50,
                    p99
                );
                samples[i].push([rate, cpu, p50, p99]);
            }
        }
        let medians: Vec<[f64; 4]> = samples
            .iter()
            .map(|runs| std::array::from_fn(|k| median(runs.iter().map(|r| r[k]).collect())))
            .collect();
        rows.push((shape.label(), medians));
    }
    println!(
        "\n| shape | server | delivered msg/s | ×redis | server CPU µs/msg | p50 ms | p99 ms | p99 ×redis |\n|---|---|---:|---:|---:|---:|---:|---:|"
    );
    for (label, medians) in &rows {
        let redis = medians[0];
        for (s, m) in servers.iter().zip(medians) {
            println!(
                "| {label} | {} | {:.0} | {:.2} | {:.3} | {:.3} | {:.3} | {:.2} |",
                s.name,
                m[0],
                m[0] / redis[0],
                m[1],
                m[2],
                m[3],
                m[3] / redis[3]
            );
        }
    }
}

fn parse_args() -> Options {
    let mut opts = Options {
        seconds: 3.0,
        rounds: 3,
        pipeline: 32,
        lag: 2000,
        shapes: vec![
            Shape {
                subscribers: 1,
                patterns: false,
            },
            Shape {
                subscribers: 10,
                patterns: false,
            },
            Shape {
                subscribers: 100,
                patterns: false,
            },
            Shape {
                subscribers: 1000,
                patterns: false,
            },
            Shape {
                subscribers: 10,
                patterns: true,
            },
        ],
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--seconds" => opts.seconds = value.parse().expect("--seconds S"),
            "--rounds" => opts.rounds = value.parse().expect("--rounds N"),
            "--pipeline" => opts.pipeline = value.parse().expect("--pipeline N"),
            "--lag" => opts.lag = value.parse().expect("--lag N"),
            "--subscribers" => {
                opts.shapes = value
                    .split(',')
                    .map(|n| Shape {
                        subscribers: n.parse().expect("--subscribers 1,10,100"),
                        patterns: false,
                    })
                    .collect()
            }
            // `cargo bench` passes this to every bench target.
            "--bench" => {
                i += 1;
                continue;
            }
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    opts
}

/// One throughput run: deliveries per second over the window, and the
/// server's CPU time per delivery.
async fn throughput(server: &Server, shape: Shape, opts: &Options) -> (f64, f64) {
    let delivered = Rc::new(Cell::new(0u64));
    let stop = Rc::new(Cell::new(false));
    let local = tokio::task::LocalSet::new();
    let subs = subscribe_all(server.port, shape);
    let frame = shape.frame_len() as u64;
    for stream in subs {
        let (delivered, stop) = (delivered.clone(), stop.clone());
        local.spawn_local(async move {
            let mut stream = stream;
            let mut buf = vec![0u8; 256 * 1024];
            let mut partial = 0u64;
            while !stop.get() {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        partial += n as u64;
                        delivered.set(delivered.get() + partial / frame);
                        partial %= frame;
                    }
                }
            }
        });
    }
    let n = shape.subscribers as u64;
    let (pipeline, lag, seconds) = (opts.pipeline, opts.lag, opts.seconds);
    let port = server.port;
    let pid = server.child.id();
    let result = local
        .run_until(async move {
            let mut publisher = connect(port).await;
            let batch: Vec<u8> = (0..pipeline).flat_map(|_| publish_cmd(0)).collect();
            let mut replies = vec![0u8; 64 * 1024];
            let mut published = 0u64;
            let warmup = Instant::now() + Duration::from_millis(500);
            let mut window: Option<(Instant, u64, f64)> = None;
            loop {
                let now = Instant::now();
                if window.is_none() && now >= warmup {
                    window = Some((now, delivered.get(), cpu_seconds(pid)));
                }
                if let Some((start, _, _)) = window {
                    if now.duration_since(start).as_secs_f64() >= seconds {
                        break;
                    }
                }
                // Never run more than `lag` messages ahead of the
                // subscribers (on average), so no buffer grows unbounded.
                if published * n > delivered.get() + lag * n {
                    tokio::task::yield_now().await;
                    continue;
                }
                publisher.write_all(&batch).await.expect("publish");
                let mut got = 0;
                while got < pipeline {
                    let r = publisher.read(&mut replies).await.expect("replies");
                    assert!(r > 0, "publisher connection closed");
                    got += replies[..r].iter().filter(|&&b| b == b'\n').count();
                }
                published += pipeline as u64;
            }
            let (start, d0, cpu0) = window.expect("measured");
            let elapsed = start.elapsed().as_secs_f64();
            let d = delivered.get() - d0;
            let cpu = cpu_seconds(pid) - cpu0;
            stop.set(true);
            (d as f64 / elapsed, cpu * 1e6 / d.max(1) as f64)
        })
        .await;
    drop(local);
    result
}

/// One latency run: one PUBLISH per millisecond, or fewer so that
/// deliveries stay near 100,000 a second; p50 and p99 of every
/// delivery's publish-to-delivery time, in ms.
async fn latency(server: &Server, shape: Shape, opts: &Options) -> (f64, f64) {
    let samples = Rc::new(std::cell::RefCell::new(Vec::<u64>::new()));
    let stop = Rc::new(Cell::new(false));
    let local = tokio::task::LocalSet::new();
    let frame = shape.frame_len();
    let base = Instant::now();
    for stream in subscribe_all(server.port, shape) {
        let (samples, stop) = (samples.clone(), stop.clone());
        local.spawn_local(async move {
            let mut stream = stream;
            let mut buf = vec![0u8; 64 * 1024];
            let mut pending: Vec<u8> = Vec::new();
            while !stop.get() {
                let n = match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let now = base.elapsed().as_nanos() as u64;
                pending.extend_from_slice(&buf[..n]);
                let warm = now > WARMUP_NS;
                let whole = pending.len() / frame * frame;
                let mut s = samples.borrow_mut();
                for msg in pending[..whole].chunks(frame) {
                    let sent = &msg[frame - 2 - PAYLOAD..frame - 2 - PAYLOAD + 20];
                    let sent: u64 = std::str::from_utf8(sent)
                        .ok()
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(now);
                    if warm {
                        s.push(now.saturating_sub(sent));
                    }
                }
                pending.drain(..whole);
            }
        });
    }
    let port = server.port;
    let seconds = opts.seconds;
    let subscribers = shape.subscribers;
    local
        .run_until(async move {
            let publisher = connect(port).await;
            let (mut rd, mut wr) = publisher.into_split();
            let reader = tokio::task::spawn_local(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n @ 1..) = rd.read(&mut buf).await {
                    let _ = n;
                }
            });
            let every = Duration::from_micros((10 * subscribers as u64).max(1000));
            let mut tick = tokio::time::interval(every);
            let end = Instant::now() + Duration::from_secs_f64(seconds.min(2.0) + 0.2);
            while Instant::now() < end {
                tick.tick().await;
                let now = base.elapsed().as_nanos() as u64;
                wr.write_all(&publish_cmd(now)).await.expect("publish");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            stop.set(true);
            reader.abort();
        })
        .await;
    drop(local);
    let mut s = samples.take();
    s.sort_unstable();
    let pct = |p: f64| {
        if s.is_empty() {
            return f64::NAN;
        }
        s[((s.len() as f64 * p) as usize).min(s.len() - 1)] as f64 / 1e6
    };
    (pct(0.50), pct(0.99))
}

/// Waits until the server has let go of the last run's connections (and
/// whatever output it held for them), so one run does not pay for the
/// previous one.
fn settle(port: u16) {
    let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        c.write_all(b"INFO clients\r\n").expect("INFO");
        let mut buf = vec![0u8; 4096];
        let n = c.read(&mut buf).expect("INFO reply");
        let text = String::from_utf8_lossy(&buf[..n]);
        let clients = text
            .lines()
            .find_map(|l| l.strip_prefix("connected_clients:"))
            .and_then(|v| v.trim().parse::<u32>().ok());
        if clients == Some(1) || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
}

fn publish_cmd(ns: u64) -> Vec<u8> {
    let mut payload = format!("{ns:020}").into_bytes();
    payload.resize(PAYLOAD, b'.');
    let mut cmd = format!(
        "*3\r\n$7\r\nPUBLISH\r\n${}\r\n{CHANNEL}\r\n${PAYLOAD}\r\n",
        CHANNEL.len()
    )
    .into_bytes();
    cmd.extend_from_slice(&payload);
    cmd.extend_from_slice(b"\r\n");
    cmd
}

/// Connects `shape.subscribers` clients and subscribes each (blocking, so
/// every subscription is confirmed before the publisher starts).
fn subscribe_all(port: u16, shape: Shape) -> Vec<tokio::net::TcpStream> {
    (0..shape.subscribers)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            s.set_nodelay(true).expect("nodelay");
            let (cmd, name) = if shape.patterns {
                ("PSUBSCRIBE", PATTERN)
            } else {
                ("SUBSCRIBE", CHANNEL)
            };
            s.write_all(format!("{cmd} {name}\r\n").as_bytes())
                .expect("subscribe");
            let confirm = format!(
                "*3\r\n${}\r\n{}\r\n${}\r\n{name}\r\n:1\r\n",
                cmd.len(),
                cmd.to_lowercase(),
                name.len()
            );
            let mut got = vec![0u8; confirm.len()];
            s.read_exact(&mut got).expect("confirmation");
            assert_eq!(got, confirm.as_bytes());
            s.set_nonblocking(true).expect("nonblocking");
            tokio::net::TcpStream::from_std(s).expect("tokio stream")
        })
        .collect()
}

async fn connect(port: u16) -> tokio::net::TcpStream {
    let s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s
}

fn start(name: &'static str, pin: bool, argv: impl Fn(u16) -> Vec<String>) -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("spare port")
        .port();
    let mut args = argv(port);
    if pin {
        args.splice(0..0, ["taskset".into(), "-c".into(), "1".into()]);
    }
    let child = Command::new(&args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {name}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{name} did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server { name, port, child }
}

fn redis_cmd(port: u16) -> Vec<String> {
    let bin = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
    [
        &bin,
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--client-output-buffer-limit",
        "pubsub 0 0 0",
    ]
    .map(String::from)
    .to_vec()
}

fn rizzler_cmd(port: u16, io: &str) -> Vec<String> {
    [
        env!("CARGO_BIN_EXE_rizzler"),
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--io",
        io,
        "--client-output-buffer-limit",
        "pubsub 0 0 0",
    ]
    .map(String::from)
    .to_vec()
}

/// User + system CPU seconds of a process, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15; `after` starts at field 3.
    // SAFETY: sysconf has no memory effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn pin_to_cpu(cpu: usize) {
    // SAFETY: cpu_set_t is plain data; sched_setaffinity reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// 1000 subscribers need more descriptors than the usual soft limit.
fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit read and write the struct we pass.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}
