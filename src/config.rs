//! Configuration: redis-server style flags (`--port 6380 --bind 127.0.0.1`)
//! and the parameters CONFIG GET / CONFIG SET expose.
//!
//! Every parameter is one row of [`PARAMS`]: its name, how to read it and
//! how to set it. The command-line parser and CONFIG use the same rows, so a
//! parameter is added in one place.

use std::fmt;

use crate::resp::{DEFAULT_MAX_BULK, INLINE_MAX};

/// Which I/O backend serves connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoMode {
    /// io_uring when the kernel allows it, epoll otherwise.
    Auto,
    Uring,
    Epoll,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub port: u16,
    pub bind: Vec<String>,
    pub io: IoMode,
    pub databases: usize,
    pub maxclients: usize,
    pub timeout: u64,
    pub hz: u64,
    pub proto_max_bulk_len: usize,
    pub client_query_buffer_limit: usize,
    pub maxmemory: u64,
    pub maxmemory_policy: String,
    pub requirepass: String,
    pub save: String,
    pub appendonly: bool,
    pub appendfsync: String,
    pub dir: String,
    pub dbfilename: String,
    pub loglevel: String,
    pub daemonize: bool,
    pub logfile: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["0.0.0.0".into()],
            io: IoMode::Auto,
            databases: crate::store::DEFAULT_DATABASES,
            maxclients: 10000,
            timeout: 0,
            hz: 10,
            proto_max_bulk_len: DEFAULT_MAX_BULK,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            maxmemory: 0,
            maxmemory_policy: "noeviction".into(),
            requirepass: String::new(),
            save: String::new(),
            appendonly: false,
            appendfsync: "everysec".into(),
            dir: ".".into(),
            dbfilename: "dump.rdb".into(),
            loglevel: "notice".into(),
            daemonize: false,
            logfile: String::new(),
        }
    }
}

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue(pub String);

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type Getter = fn(&Config) -> String;
type Setter = fn(&mut Config, &str) -> Result<(), BadValue>;

/// One configuration parameter.
pub struct Param {
    pub name: &'static str,
    pub get: Getter,
    /// `None` for parameters fixed at start-up (CONFIG SET refuses them).
    pub set: Option<Setter>,
    /// Settable on the command line even when CONFIG SET refuses it.
    pub startup: Setter,
}

fn parse_num<T: std::str::FromStr>(v: &str) -> Result<T, BadValue> {
    v.parse()
        .map_err(|_| BadValue("argument couldn't be parsed into an integer".into()))
}

/// Redis's memory units: `1gb`, `100mb`, `5k`.
pub fn parse_memory(v: &str) -> Result<u64, BadValue> {
    let lower = v.to_ascii_lowercase();
    let (digits, mult) = [
        ("gb", 1u64 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suffix, m)| lower.strip_suffix(suffix).map(|d| (d.to_string(), *m)))
    .unwrap_or((lower.clone(), 1));
    let n: u64 = digits
        .parse()
        .map_err(|_| BadValue("argument must be a memory value".into()))?;
    n.checked_mul(mult)
        .ok_or_else(|| BadValue("argument must be a memory value".into()))
}

fn yes_no(v: &str) -> Result<bool, BadValue> {
    match v.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(BadValue("argument must be 'yes' or 'no'".into())),
    }
}

fn one_of(v: &str, allowed: &[&str]) -> Result<String, BadValue> {
    let lower = v.to_ascii_lowercase();
    if allowed.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(BadValue(
            "argument(s) must be one of the following: ".to_string() + &allowed.join(", "),
        ))
    }
}

fn fixed(_: &mut Config, _: &str) -> Result<(), BadValue> {
    Err(BadValue("can't set immutable config".into()))
}

macro_rules! param {
    ($name:literal, |$c:ident| $get:expr, settable |$sc:ident, $v:ident| $set:expr) => {
        Param {
            name: $name,
            get: |$c| $get,
            set: Some(|$sc, $v| $set),
            startup: |$sc, $v| $set,
        }
    };
    ($name:literal, |$c:ident| $get:expr, startup |$sc:ident, $v:ident| $set:expr) => {
        Param {
            name: $name,
            get: |$c| $get,
            set: None,
            startup: |$sc, $v| $set,
        }
    };
}

/// Every parameter, in the order CONFIG GET * lists them.
pub static PARAMS: &[Param] = &[
    param!(
        "port",
        |c| c.port.to_string(),
        startup | c,
        v | {
            c.port = parse_num(v)?;
            Ok(())
        }
    ),
    param!(
        "bind",
        |c| c.bind.join(" "),
        startup | c,
        v | {
            c.bind = v.split_whitespace().map(str::to_string).collect();
            Ok(())
        }
    ),
    param!(
        "io-backend",
        |c| match c.io {
            IoMode::Auto => "auto",
            IoMode::Uring => "uring",
            IoMode::Epoll => "epoll",
        }
        .into(),
        startup | c,
        v | {
            c.io = match v.to_ascii_lowercase().as_str() {
                "auto" => IoMode::Auto,
                "uring" | "io_uring" | "io-uring" => IoMode::Uring,
                "epoll" | "tokio" => IoMode::Epoll,
                _ => {
                    return Err(BadValue(
                        "argument must be one of: auto, uring, epoll".into(),
                    ))
                }
            };
            Ok(())
        }
    ),
    param!(
        "databases",
        |c| c.databases.to_string(),
        startup | c,
        v | {
            let n: usize = parse_num(v)?;
            if n == 0 || n > 1_000_000 {
                return Err(BadValue(
                    "argument must be between 1 and 1000000 inclusive".into(),
                ));
            }
            c.databases = n;
            Ok(())
        }
    ),
    param!(
        "maxclients",
        |c| c.maxclients.to_string(),
        settable | c,
        v | {
            c.maxclients = parse_num(v)?;
            Ok(())
        }
    ),
    param!(
        "timeout",
        |c| c.timeout.to_string(),
        settable | c,
        v | {
            c.timeout = parse_num(v)?;
            Ok(())
        }
    ),
    param!(
        "hz",
        |c| c.hz.to_string(),
        settable | c,
        v | {
            let n: i64 = parse_num(v)?;
            c.hz = n.clamp(1, 500) as u64;
            Ok(())
        }
    ),
    param!(
        "proto-max-bulk-len",
        |c| c.proto_max_bulk_len.to_string(),
        settable | c,
        v | {
            let n = parse_memory(v)?;
            if n < 1024 * 1024 {
                return Err(BadValue(
                    "argument must be a memory value bigger than 1mb".into(),
                ));
            }
            c.proto_max_bulk_len = n as usize;
            Ok(())
        }
    ),
    param!(
        "client-query-buffer-limit",
        |c| c.client_query_buffer_limit.to_string(),
        settable | c,
        v | {
            let n = parse_memory(v)?;
            if n < 1024 * 1024 {
                return Err(BadValue(
                    "argument must be a memory value bigger than 1mb".into(),
                ));
            }
            c.client_query_buffer_limit = (n as usize).max(INLINE_MAX);
            Ok(())
        }
    ),
    param!(
        "maxmemory",
        |c| c.maxmemory.to_string(),
        settable | c,
        v | {
            c.maxmemory = parse_memory(v)?;
            Ok(())
        }
    ),
    param!(
        "maxmemory-policy",
        |c| c.maxmemory_policy.clone(),
        settable | c,
        v | {
            c.maxmemory_policy = one_of(
                v,
                &[
                    "volatile-lru",
                    "allkeys-lru",
                    "volatile-lfu",
                    "allkeys-lfu",
                    "volatile-random",
                    "allkeys-random",
                    "volatile-ttl",
                    "noeviction",
                ],
            )?;
            Ok(())
        }
    ),
    param!(
        "requirepass",
        |c| c.requirepass.clone(),
        settable | c,
        v | {
            c.requirepass = v.to_string();
            Ok(())
        }
    ),
    param!(
        "save",
        |c| c.save.clone(),
        settable | c,
        v | {
            c.save = v.to_string();
            Ok(())
        }
    ),
    param!(
        "appendonly",
        |c| if c.appendonly { "yes" } else { "no" }.into(),
        settable | c,
        v | {
            c.appendonly = yes_no(v)?;
            Ok(())
        }
    ),
    param!(
        "appendfsync",
        |c| c.appendfsync.clone(),
        settable | c,
        v | {
            c.appendfsync = one_of(v, &["always", "everysec", "no"])?;
            Ok(())
        }
    ),
    param!(
        "dir",
        |c| c.dir.clone(),
        settable | c,
        v | {
            c.dir = v.to_string();
            Ok(())
        }
    ),
    param!(
        "dbfilename",
        |c| c.dbfilename.clone(),
        settable | c,
        v | {
            c.dbfilename = v.to_string();
            Ok(())
        }
    ),
    param!(
        "loglevel",
        |c| c.loglevel.clone(),
        settable | c,
        v | {
            c.loglevel = one_of(v, &["debug", "verbose", "notice", "warning", "nothing"])?;
            Ok(())
        }
    ),
    param!(
        "daemonize",
        |c| if c.daemonize { "yes" } else { "no" }.into(),
        startup | c,
        v | {
            if yes_no(v)? {
                return Err(BadValue(
                    "daemonize is not supported; run rizzler under a supervisor".into(),
                ));
            }
            c.daemonize = false;
            Ok(())
        }
    ),
    param!(
        "logfile",
        |c| c.logfile.clone(),
        startup | c,
        v | {
            c.logfile = v.to_string();
            Ok(())
        }
    ),
];

pub fn find_param(name: &str) -> Option<&'static Param> {
    let _ = fixed;
    PARAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

impl Config {
    /// Parses redis-server style arguments: `--name value [value …]`.
    /// `--io` is accepted as a short name for `--io-backend`.
    pub fn from_args<I: IntoIterator<Item = String>>(args: I) -> Result<Config, String> {
        let mut config = Config::default();
        let args: Vec<String> = args.into_iter().collect();
        let mut i = 0;
        while i < args.len() {
            let Some(name) = args[i].strip_prefix("--") else {
                return Err(format!(
                    "unexpected argument '{}': options look like --port 6380",
                    args[i]
                ));
            };
            if name == "help" || name == "version" {
                return Err(name.to_string());
            }
            let name = if name == "io" { "io-backend" } else { name };
            let mut values = Vec::new();
            i += 1;
            while i < args.len() && !args[i].starts_with("--") {
                values.push(args[i].clone());
                i += 1;
            }
            let Some(param) = find_param(name) else {
                return Err(format!("unknown option '--{name}'"));
            };
            (param.startup)(&mut config, &values.join(" "))
                .map_err(|e| format!("bad value for '--{name}': {e}"))?;
        }
        Ok(config)
    }
}
