//! Configuration: redis-server style flags (`--port 6380 --bind 127.0.0.1`)
//! and the parameters CONFIG GET / CONFIG SET expose.
//!
//! Every parameter is one row of [`PARAMS`]: its name, how to read it, how
//! to set it, and whether CONFIG SET may change it at run time. The
//! command-line parser and CONFIG use the same rows, so a parameter is added
//! in one place. Parsing and the error texts follow Redis 7.0's `config.c`
//! (`numericParseString`, `memtoull`, the enum and bool setters), because
//! clients and tools see those texts in CONFIG SET's error replies.

use std::fmt;

use crate::resp::{parse_i64, DEFAULT_MAX_BULK, INLINE_MAX};

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
    /// Refuse clients from outside loopback while `default` has no
    /// password (Redis's protected mode, on by default).
    pub protected_mode: bool,
    /// Seconds between TCP keepalive probes on client sockets (0: off).
    pub tcp_keepalive: u64,
    /// The listening sockets' accept queue.
    pub tcp_backlog: i32,
    /// The effective `hz`: what CONFIG SET asked for, clamped to 1..=500.
    pub hz: u64,
    pub proto_max_bulk_len: usize,
    /// The longest a sparse HyperLogLog gets (header included) before it
    /// turns dense.
    pub hll_sparse_max_bytes: usize,
    pub client_query_buffer_limit: usize,
    pub maxmemory: u64,
    pub maxmemory_policy: crate::evict::Policy,
    /// Keys each eviction round samples per database.
    pub maxmemory_samples: usize,
    /// Keys the client-side caching table remembers before it invalidates
    /// some early (0: no limit).
    pub tracking_table_max_keys: usize,
    /// `busy-reply-threshold` (alias `lua-time-limit`), in milliseconds.
    pub busy_reply_threshold: i64,
    /// How long eviction may run per command (0..=100, see `evict.rs`).
    pub maxmemory_eviction_tenacity: u32,
    pub lfu_log_factor: u32,
    /// Minutes for the LFU counter to lose one.
    pub lfu_decay_time: u32,
    pub requirepass: String,
    /// `aclfile`: where ACL LOAD and ACL SAVE read and write users; empty
    /// for none.
    pub aclfile: String,
    /// `acllog-max-len`: ACL LOG keeps this many entries.
    pub acllog_max_len: u64,
    /// `acl-pubsub-default`: new users may use every channel
    /// (`allchannels`) or none (`resetchannels`, Redis 7.0's default).
    pub acl_pubsub_all: bool,
    /// The config file's `user` directives, each its words after `user`,
    /// applied at start-up.
    pub users: Vec<Vec<String>>,
    /// Save points, normalised the way CONFIG GET prints them
    /// (`"3600 1 300 100"`); empty when saving is off.
    pub save: String,
    pub appendonly: bool,
    pub appendfsync: String,
    pub appendfilename: String,
    pub appenddirname: String,
    pub dir: String,
    /// Empty: the snapshot format's own name (`db.json`, `dump.rdb`).
    pub dbfilename: String,
    pub snapshot_format: crate::persist::Format,
    pub stop_writes_on_bgsave_error: bool,
    pub loglevel: String,
    pub daemonize: bool,
    /// Where the process id is written at start-up (empty: nowhere).
    pub pidfile: String,
    /// Raise the cron's frequency with the number of clients (Redis's
    /// `dynamic-hz`: doubled while there are over 200 clients per tick).
    pub dynamic_hz: bool,
    /// Who may run DEBUG: `no` (Redis 7.0's default), `yes`, or `local`
    /// (loopback clients).
    pub enable_debug_command: String,
    pub logfile: String,
    /// FLUSHALL / FLUSHDB without SYNC or ASYNC free in the background.
    pub lazyfree_lazy_user_flush: bool,
    /// `client-output-buffer-limit`, per [`crate::server::ClientClass`].
    pub output_limits: [OutputLimit; 3],
    /// `notify-keyspace-events` as flag bits ([`crate::notify`]).
    pub notify_keyspace_events: u32,
    /// When collections leave their compact encodings.
    pub encodings: crate::store::encoding::Limits,
    /// `list-max-listpack-size` and `list-compress-depth`: kept and
    /// reported; a list is one structure whatever they say (and Redis 7.0
    /// reports every list as `quicklist`).
    pub list_max_listpack_size: i64,
    pub list_compress_depth: i64,
    /// The file the configuration was read from (CONFIG REWRITE, INFO's
    /// `config_file`).
    pub config_file: Option<std::path::PathBuf>,
}

/// One class's `client-output-buffer-limit`: a client whose unsent output
/// reaches `hard` bytes, or stays at `soft` bytes or more for longer than
/// `soft_seconds`, is closed. Zero turns a limit off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

/// Redis's defaults: none for normal clients, 256mb/64mb/60 for
/// replicas, 32mb/8mb/60 for pub/sub clients.
const OUTPUT_LIMITS: [OutputLimit; 3] = [
    OutputLimit {
        hard: 0,
        soft: 0,
        soft_seconds: 0,
    },
    OutputLimit {
        hard: 256 << 20,
        soft: 64 << 20,
        soft_seconds: 60,
    },
    OutputLimit {
        hard: 32 << 20,
        soft: 8 << 20,
        soft_seconds: 60,
    },
];

/// The class names CONFIG GET prints, in order.
const OUTPUT_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// Redis's `updateClientOutputBufferLimit`: groups of `class hard soft
/// seconds`, all valid or none applied.
fn parse_output_limits(c: &mut Config, v: &str) -> Result<(), BadValue> {
    let words: Vec<&str> = v.split_whitespace().collect();
    if !words.len().is_multiple_of(4) {
        return Err(BadValue(
            "Wrong number of arguments in buffer limit configuration.".into(),
        ));
    }
    let mut limits = c.output_limits;
    for group in words.chunks(4) {
        let class = match group[0].to_ascii_lowercase().as_str() {
            "normal" => 0,
            "slave" | "replica" => 1,
            "pubsub" => 2,
            _ => {
                return Err(BadValue(
                    "Invalid client class specified in buffer limit configuration.".into(),
                ))
            }
        };
        let bad = || {
            BadValue(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into(),
            )
        };
        let hard = parse_memory(group[1]).map_err(|_| bad())?;
        let soft = parse_memory(group[2]).map_err(|_| bad())?;
        let seconds = strtoll_whole(group[3])
            .filter(|s| *s >= 0)
            .ok_or_else(bad)?;
        limits[class] = OutputLimit {
            hard,
            soft,
            soft_seconds: seconds as u64,
        };
    }
    c.output_limits = limits;
    Ok(())
}

fn format_output_limits(c: &Config) -> String {
    let parts: Vec<String> = OUTPUT_CLASSES
        .iter()
        .zip(&c.output_limits)
        .map(|(name, l)| format!("{name} {} {} {}", l.hard, l.soft, l.soft_seconds))
        .collect();
    parts.join(" ")
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
            protected_mode: true,
            tcp_keepalive: 300,
            tcp_backlog: 511,
            hz: 10,
            proto_max_bulk_len: DEFAULT_MAX_BULK,
            hll_sparse_max_bytes: 3000,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            maxmemory: 0,
            maxmemory_policy: crate::evict::Policy::NoEviction,
            maxmemory_samples: 5,
            tracking_table_max_keys: 1_000_000,
            busy_reply_threshold: 5000,
            maxmemory_eviction_tenacity: 10,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            requirepass: String::new(),
            aclfile: String::new(),
            acllog_max_len: 128,
            acl_pubsub_all: false,
            users: Vec::new(),
            // Redis's default save points.
            save: "3600 1 300 100 60 10000".into(),
            appendonly: false,
            appendfsync: "everysec".into(),
            appendfilename: "appendonly.aof".into(),
            appenddirname: "appendonlydir".into(),
            dir: ".".into(),
            dbfilename: String::new(),
            snapshot_format: crate::persist::Format::Json,
            stop_writes_on_bgsave_error: true,
            loglevel: "notice".into(),
            daemonize: false,
            pidfile: String::new(),
            dynamic_hz: true,
            enable_debug_command: "no".into(),
            logfile: String::new(),
            lazyfree_lazy_user_flush: false,
            output_limits: OUTPUT_LIMITS,
            notify_keyspace_events: 0,
            encodings: Default::default(),
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            config_file: None,
        }
    }
}

impl Config {
    /// The snapshot's file name: `dbfilename`, or the format's default.
    pub fn effective_dbfilename(&self) -> &str {
        if self.dbfilename.is_empty() {
            self.snapshot_format.persister().default_file()
        } else {
            &self.dbfilename
        }
    }

    /// Whether `maxmemory-policy` is one of the LFU policies (OBJECT FREQ
    /// works, OBJECT IDLETIME refuses).
    pub fn lfu_policy(&self) -> bool {
        self.maxmemory_policy.is_lfu()
    }

    /// How keys' access clocks tick under this policy.
    pub fn clock(&self) -> crate::store::Clock {
        if self.lfu_policy() {
            crate::store::Clock::Lfu {
                log_factor: self.lfu_log_factor,
                decay_minutes: self.lfu_decay_time,
            }
        } else {
            crate::store::Clock::Lru
        }
    }
}

/// Why a value was refused: the text after `CONFIG SET failed (possibly
/// related to argument '…') - `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue(pub String);

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type Getter = fn(&Config) -> String;
type Setter = fn(&mut Config, &str) -> Result<(), BadValue>;

/// Whether CONFIG SET may change a parameter at run time. Every parameter
/// can be given on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Mutable,
    /// Fixed after start-up (`can't set immutable config`).
    Immutable,
    /// Redis's PROTECTED_CONFIG with `enable-protected-configs no`, its
    /// default: paths the server writes to (`can't set protected config`).
    Protected,
}

/// One configuration parameter.
pub struct Param {
    pub name: &'static str,
    /// The older name Redis still accepts (`hash-max-ziplist-entries`),
    /// or "".
    pub alias: &'static str,
    pub get: Getter,
    pub set: Setter,
    pub access: Access,
}

/// Redis's `memtoull`: digits and an optional unit (`b`, `k`, `kb`, `m`,
/// `mb`, `g`, `gb`, any case). Like `strtoull`, too many digits saturate
/// and the multiplication wraps.
pub fn parse_memory(v: &str) -> Result<u64, BadValue> {
    let bad = || BadValue("argument must be a memory value".into());
    let digits_end = v
        .bytes()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(v.len());
    let (digits, unit) = v.split_at(digits_end);
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return Err(bad()),
    };
    if digits.len() >= 128 {
        return Err(bad());
    }
    let n = digits.bytes().fold(0u64, |acc, c| {
        acc.checked_mul(10)
            .and_then(|a| a.checked_add(u64::from(c - b'0')))
            .unwrap_or(u64::MAX)
    });
    Ok(n.wrapping_mul(mul))
}

/// An integer parameter: Redis's `string2ll` and its bounds message.
fn int_in(v: &str, min: i64, max: i64) -> Result<i64, BadValue> {
    let n = parse_i64(v.as_bytes())
        .ok_or_else(|| BadValue("argument couldn't be parsed into an integer".into()))?;
    if n < min || n > max {
        return Err(between(min, max));
    }
    Ok(n)
}

/// A memory parameter between `min` and `max` bytes.
fn memory_in(v: &str, min: u64, max: u64) -> Result<u64, BadValue> {
    let n = parse_memory(v)?;
    if n < min || n > max {
        return Err(between(min, max));
    }
    Ok(n)
}

fn between(min: impl fmt::Display, max: impl fmt::Display) -> BadValue {
    BadValue(format!(
        "argument must be between {min} and {max} inclusive"
    ))
}

fn yes_no(v: &str) -> Result<bool, BadValue> {
    match v.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(BadValue("argument must be 'yes' or 'no'".into())),
    }
}

fn yes_no_str(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

/// An enum parameter: one of `allowed`, any case, listed in Redis's order
/// in the error.
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

/// Redis's `setConfigSaveOption`: pairs of seconds (≥ 1) and changes (≥ 0),
/// split on single spaces as Redis splits multi-argument values.
fn parse_save(v: &str) -> Result<String, BadValue> {
    if v.is_empty() {
        return Ok(String::new());
    }
    let bad = || BadValue("Invalid save parameters".into());
    let parts: Vec<&str> = v.split(' ').collect();
    if parts.len() % 2 == 1 {
        return Err(bad());
    }
    let mut out = Vec::with_capacity(parts.len());
    for (i, p) in parts.iter().enumerate() {
        let n = strtoll_whole(p).ok_or_else(bad)?;
        if (i % 2 == 0 && n < 1) || (i % 2 == 1 && n < 0) {
            return Err(bad());
        }
        out.push(n.to_string());
    }
    Ok(out.join(" "))
}

/// C's `strtoll(s, &end, 10)` with `*end == '\0'` required: leading spaces
/// and a sign allowed, an empty string is 0, overflow saturates.
fn strtoll_whole(s: &str) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if digits.is_empty() {
        // strtoll consumed nothing: end points at the start, which is only
        // the terminator when the whole string was empty.
        return s.is_empty().then_some(0);
    }
    let v = digits.bytes().fold(0i128, |acc, c| {
        (acc * 10 + i128::from(c - b'0')).min(i128::from(i64::MAX) + 1)
    });
    let v = if neg { -v } else { v };
    Some(v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

macro_rules! param {
    ($name:literal, $access:ident, |$c:ident| $get:expr, |$sc:ident, $v:ident| $set:expr) => {
        param!($name | "", $access, |$c| $get, |$sc, $v| $set)
    };
    ($name:literal | $alias:literal, $access:ident, |$c:ident| $get:expr, |$sc:ident, $v:ident| $set:expr) => {
        Param {
            name: $name,
            alias: $alias,
            get: |$c| $get,
            set: |$sc, $v| $set,
            access: Access::$access,
        }
    };
}

/// Every parameter, in the order CONFIG GET * lists them.
pub static PARAMS: &[Param] = &[
    param!("port", Immutable, |c| c.port.to_string(), |c, v| {
        c.port = int_in(v, 0, 65535)? as u16;
        Ok(())
    }),
    param!("bind", Immutable, |c| c.bind.join(" "), |c, v| {
        c.bind = v.split_whitespace().map(str::to_string).collect();
        Ok(())
    }),
    param!(
        "io-backend",
        Immutable,
        |c| match c.io {
            IoMode::Auto => "auto",
            IoMode::Uring => "uring",
            IoMode::Epoll => "epoll",
        }
        .into(),
        |c, v| {
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
        Immutable,
        |c| c.databases.to_string(),
        |c, v| {
            // Redis allows up to INT_MAX; each database costs memory up front
            // here, so rizzler stops at a million.
            c.databases = int_in(v, 1, 1_000_000)? as usize;
            Ok(())
        }
    ),
    param!(
        "maxclients",
        Mutable,
        |c| c.maxclients.to_string(),
        |c, v| {
            c.maxclients = int_in(v, 1, u32::MAX.into())? as usize;
            Ok(())
        }
    ),
    param!(
        "protected-mode",
        Mutable,
        |c| yes_no_str(c.protected_mode),
        |c, v| {
            c.protected_mode = yes_no(v)?;
            Ok(())
        }
    ),
    param!(
        "tcp-keepalive",
        Mutable,
        |c| c.tcp_keepalive.to_string(),
        |c, v| {
            c.tcp_keepalive = int_in(v, 0, i32::MAX.into())? as u64;
            Ok(())
        }
    ),
    param!(
        "tcp-backlog",
        Immutable,
        |c| c.tcp_backlog.to_string(),
        |c, v| {
            c.tcp_backlog = int_in(v, 0, i32::MAX.into())? as i32;
            Ok(())
        }
    ),
    param!("timeout", Mutable, |c| c.timeout.to_string(), |c, v| {
        c.timeout = int_in(v, 0, i32::MAX.into())? as u64;
        Ok(())
    }),
    param!(
        "dynamic-hz",
        Mutable,
        |c| yes_no_str(c.dynamic_hz),
        |c, v| {
            c.dynamic_hz = yes_no(v)?;
            Ok(())
        }
    ),
    param!("pidfile", Immutable, |c| c.pidfile.clone(), |c, v| {
        c.pidfile = v.to_string();
        Ok(())
    }),
    param!(
        "enable-debug-command",
        Immutable,
        |c| c.enable_debug_command.clone(),
        |c, v| {
            c.enable_debug_command = one_of(v, &["no", "yes", "local"])?;
            Ok(())
        }
    ),
    param!("hz", Mutable, |c| c.hz.to_string(), |c, v| {
        // Redis accepts any non-negative int and clamps it when applying.
        c.hz = int_in(v, 0, i32::MAX.into())?.clamp(1, 500) as u64;
        Ok(())
    }),
    param!(
        "proto-max-bulk-len",
        Mutable,
        |c| c.proto_max_bulk_len.to_string(),
        |c, v| {
            c.proto_max_bulk_len = memory_in(v, 1024 * 1024, i64::MAX as u64)? as usize;
            Ok(())
        }
    ),
    param!(
        "hll-sparse-max-bytes",
        Mutable,
        |c| c.hll_sparse_max_bytes.to_string(),
        |c, v| {
            c.hll_sparse_max_bytes = memory_in(v, 0, i64::MAX as u64)? as usize;
            Ok(())
        }
    ),
    param!(
        "client-query-buffer-limit",
        Mutable,
        |c| c.client_query_buffer_limit.to_string(),
        |c, v| {
            let n = memory_in(v, 1024 * 1024, i64::MAX as u64)?;
            c.client_query_buffer_limit = (n as usize).max(INLINE_MAX);
            Ok(())
        }
    ),
    param!("maxmemory", Mutable, |c| c.maxmemory.to_string(), |c, v| {
        c.maxmemory = parse_memory(v)?;
        Ok(())
    }),
    param!(
        "maxmemory-policy",
        Mutable,
        |c| c.maxmemory_policy.name().into(),
        |c, v| {
            let names = crate::evict::Policy::ALL.map(crate::evict::Policy::name);
            let name = one_of(v, &names)?;
            c.maxmemory_policy =
                crate::evict::Policy::from_name(&name).unwrap_or(crate::evict::Policy::NoEviction);
            Ok(())
        }
    ),
    param!(
        "busy-reply-threshold" | "lua-time-limit",
        Mutable,
        |c| c.busy_reply_threshold.to_string(),
        |c, v| {
            c.busy_reply_threshold = int_in(v, 0, i64::MAX)?;
            Ok(())
        }
    ),
    param!(
        "maxmemory-samples",
        Mutable,
        |c| c.maxmemory_samples.to_string(),
        |c, v| {
            c.maxmemory_samples = int_in(v, 1, i32::MAX.into())? as usize;
            Ok(())
        }
    ),
    param!(
        "tracking-table-max-keys",
        Mutable,
        |c| c.tracking_table_max_keys.to_string(),
        |c, v| {
            c.tracking_table_max_keys = int_in(v, 0, i64::MAX)? as usize;
            Ok(())
        }
    ),
    param!(
        "maxmemory-eviction-tenacity",
        Mutable,
        |c| c.maxmemory_eviction_tenacity.to_string(),
        |c, v| {
            c.maxmemory_eviction_tenacity = int_in(v, 0, 100)? as u32;
            Ok(())
        }
    ),
    param!(
        "lfu-log-factor",
        Mutable,
        |c| c.lfu_log_factor.to_string(),
        |c, v| {
            c.lfu_log_factor = int_in(v, 0, i32::MAX.into())? as u32;
            Ok(())
        }
    ),
    param!(
        "lfu-decay-time",
        Mutable,
        |c| c.lfu_decay_time.to_string(),
        |c, v| {
            c.lfu_decay_time = int_in(v, 0, i32::MAX.into())? as u32;
            Ok(())
        }
    ),
    param!("requirepass", Mutable, |c| c.requirepass.clone(), |c, v| {
        c.requirepass = v.to_string();
        Ok(())
    }),
    param!("aclfile", Immutable, |c| c.aclfile.clone(), |c, v| {
        c.aclfile = v.to_string();
        Ok(())
    }),
    param!(
        "acllog-max-len",
        Mutable,
        |c| c.acllog_max_len.to_string(),
        |c, v| {
            c.acllog_max_len = int_in(v, 0, i64::MAX)? as u64;
            Ok(())
        }
    ),
    param!(
        "acl-pubsub-default",
        Mutable,
        |c| if c.acl_pubsub_all {
            "allchannels"
        } else {
            "resetchannels"
        }
        .into(),
        |c, v| {
            c.acl_pubsub_all = one_of(v, &["allchannels", "resetchannels"])? == "allchannels";
            Ok(())
        }
    ),
    param!("save", Mutable, |c| c.save.clone(), |c, v| {
        c.save = parse_save(v)?;
        Ok(())
    }),
    param!(
        "appendonly",
        Mutable,
        |c| yes_no_str(c.appendonly),
        |c, v| {
            c.appendonly = yes_no(v)?;
            Ok(())
        }
    ),
    param!("appendfsync", Mutable, |c| c.appendfsync.clone(), |c, v| {
        c.appendfsync = one_of(v, &["everysec", "always", "no"])?;
        Ok(())
    }),
    param!(
        "appendfilename",
        Immutable,
        |c| c.appendfilename.clone(),
        |c, v| {
            if v.is_empty() || v.contains('/') || v.contains(' ') {
                return Err(BadValue(
                    "appendfilename can't be a path, just a filename".into(),
                ));
            }
            c.appendfilename = v.to_string();
            Ok(())
        }
    ),
    param!(
        "appenddirname",
        Immutable,
        |c| c.appenddirname.clone(),
        |c, v| {
            if v.is_empty() || v.contains('/') {
                return Err(BadValue(
                    "appenddirname can't be a path, just a dirname".into(),
                ));
            }
            c.appenddirname = v.to_string();
            Ok(())
        }
    ),
    param!("dir", Protected, |c| c.dir.clone(), |c, v| {
        // Redis chdir()s and reports strerror on failure; rizzler keeps the
        // working directory and stores the absolute path instead.
        let path = std::fs::canonicalize(v).map_err(|e| BadValue(os_error_text(&e)))?;
        if !path.is_dir() {
            return Err(BadValue("Not a directory".into()));
        }
        c.dir = path.to_string_lossy().into_owned();
        Ok(())
    }),
    param!(
        "snapshot-format",
        Mutable,
        |c| c.snapshot_format.persister().name().into(),
        |c, v| {
            c.snapshot_format = crate::persist::Format::parse(v).ok_or_else(|| {
                BadValue("argument(s) must be one of the following: json, rdb".into())
            })?;
            Ok(())
        }
    ),
    param!(
        "stop-writes-on-bgsave-error",
        Mutable,
        |c| yes_no_str(c.stop_writes_on_bgsave_error),
        |c, v| {
            c.stop_writes_on_bgsave_error = yes_no(v)?;
            Ok(())
        }
    ),
    param!(
        "dbfilename",
        Protected,
        |c| c.effective_dbfilename().into(),
        |c, v| {
            if v.contains('/') {
                return Err(BadValue(
                    "dbfilename can't be a path, just a filename".into(),
                ));
            }
            c.dbfilename = v.to_string();
            Ok(())
        }
    ),
    param!("loglevel", Mutable, |c| c.loglevel.clone(), |c, v| {
        c.loglevel = one_of(v, &["debug", "verbose", "notice", "warning"])?;
        Ok(())
    }),
    param!(
        "daemonize",
        Immutable,
        |c| yes_no_str(c.daemonize),
        |c, v| {
            if yes_no(v)? {
                return Err(BadValue(
                    "daemonize is not supported; run rizzler under a supervisor".into(),
                ));
            }
            c.daemonize = false;
            Ok(())
        }
    ),
    param!("logfile", Immutable, |c| c.logfile.clone(), |c, v| {
        c.logfile = v.to_string();
        Ok(())
    }),
    param!(
        "lazyfree-lazy-user-flush",
        Mutable,
        |c| yes_no_str(c.lazyfree_lazy_user_flush),
        |c, v| {
            c.lazyfree_lazy_user_flush = yes_no(v)?;
            Ok(())
        }
    ),
    Param {
        name: "client-output-buffer-limit",
        alias: "",
        get: format_output_limits,
        set: parse_output_limits,
        access: Access::Mutable,
    },
    param!(
        "notify-keyspace-events",
        Mutable,
        |c| crate::notify::flags_to_string(c.notify_keyspace_events),
        |c, v| {
            c.notify_keyspace_events = crate::notify::parse_flags(v).ok_or_else(|| {
                BadValue("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into())
            })?;
            Ok(())
        }
    ),
    param!(
        "hash-max-listpack-entries" | "hash-max-ziplist-entries",
        Mutable,
        |c| c.encodings.hash_entries.to_string(),
        |c, v| {
            c.encodings.hash_entries = int_in(v, 0, i64::MAX)? as usize;
            Ok(())
        }
    ),
    param!(
        "hash-max-listpack-value" | "hash-max-ziplist-value",
        Mutable,
        |c| c.encodings.hash_value.to_string(),
        |c, v| {
            c.encodings.hash_value = memory_in(v, 0, i64::MAX as u64)? as usize;
            Ok(())
        }
    ),
    param!(
        "set-max-intset-entries",
        Mutable,
        |c| c.encodings.set_intset_entries.to_string(),
        |c, v| {
            c.encodings.set_intset_entries = int_in(v, 0, i64::MAX)? as usize;
            Ok(())
        }
    ),
    param!(
        "zset-max-listpack-entries" | "zset-max-ziplist-entries",
        Mutable,
        |c| c.encodings.zset_entries.to_string(),
        |c, v| {
            c.encodings.zset_entries = int_in(v, 0, i64::MAX)? as usize;
            Ok(())
        }
    ),
    param!(
        "zset-max-listpack-value" | "zset-max-ziplist-value",
        Mutable,
        |c| c.encodings.zset_value.to_string(),
        |c, v| {
            c.encodings.zset_value = memory_in(v, 0, i64::MAX as u64)? as usize;
            Ok(())
        }
    ),
    param!(
        "stream-node-max-entries",
        Mutable,
        |c| c.encodings.stream_node_entries.to_string(),
        |c, v| {
            c.encodings.stream_node_entries = int_in(v, 0, i64::MAX)? as u64;
            Ok(())
        }
    ),
    param!(
        "stream-node-max-bytes",
        Mutable,
        |c| c.encodings.stream_node_bytes.to_string(),
        |c, v| {
            c.encodings.stream_node_bytes = memory_in(v, 0, i64::MAX as u64)?;
            Ok(())
        }
    ),
    param!(
        "list-max-listpack-size" | "list-max-ziplist-size",
        Mutable,
        |c| c.list_max_listpack_size.to_string(),
        |c, v| {
            c.list_max_listpack_size = int_in(v, i32::MIN.into(), i32::MAX.into())?;
            Ok(())
        }
    ),
    param!(
        "list-compress-depth",
        Mutable,
        |c| c.list_compress_depth.to_string(),
        |c, v| {
            c.list_compress_depth = int_in(v, 0, i32::MAX.into())?;
            Ok(())
        }
    ),
];

/// `strerror`'s text for an I/O error, without Rust's " (os error N)".
pub fn os_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// The parameter called `name`, in any case.
pub fn find_param(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| {
        p.name.eq_ignore_ascii_case(name)
            || (!p.alias.is_empty() && p.alias.eq_ignore_ascii_case(name))
    })
}

impl Config {
    /// Parses redis-server style arguments: `--name value [value …]`.
    /// `--io` is accepted as a short name for `--io-backend`.
    ///
    /// A first argument that is not an option names a config file
    /// (`rizzler /etc/rizzler.conf --port 6380`): it is read first and the
    /// options override it, as redis-server does.
    pub fn from_args<I: IntoIterator<Item = String>>(args: I) -> Result<Config, String> {
        let mut config = Config::default();
        let args: Vec<String> = args.into_iter().collect();
        let mut i = 0;
        if let Some(path) = args.first().filter(|a| !a.starts_with("--")) {
            crate::config_file::load(std::path::Path::new(path), &mut config)?;
            i = 1;
        }
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
            (param.set)(&mut config, &values.join(" "))
                .map_err(|e| format!("bad value for '--{name}': {e}"))?;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units_follow_memtoull() {
        assert_eq!(parse_memory("1gb"), Ok(1 << 30));
        assert_eq!(parse_memory("1GB"), Ok(1 << 30));
        assert_eq!(parse_memory("5k"), Ok(5000));
        assert_eq!(parse_memory("1KB"), Ok(1024));
        assert_eq!(parse_memory(""), Ok(0));
        assert!(parse_memory("-1").is_err());
        assert!(parse_memory("1 gb").is_err());
        assert!(parse_memory("1tb").is_err());
    }

    #[test]
    fn save_points_are_validated_and_normalised() {
        assert_eq!(parse_save("3600 1 300 100"), Ok("3600 1 300 100".into()));
        assert_eq!(parse_save(""), Ok(String::new()));
        assert_eq!(parse_save("+3600 01"), Ok("3600 1".into()));
        for bad in ["100", "0 1", "100 -1", "a b", "  3600   1  ", "1 2 3"] {
            assert!(parse_save(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn command_line_sets_immutable_parameters() {
        let c =
            Config::from_args(["--port", "7000", "--databases", "4"].map(String::from)).unwrap();
        assert_eq!((c.port, c.databases), (7000, 4));
        let c = Config::from_args(["--save", ""].map(String::from)).unwrap();
        assert_eq!(c.save, "");
        assert!(Config::from_args(["--hz", "x"].map(String::from)).is_err());
    }
}
