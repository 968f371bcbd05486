//! Server commands (Redis's `server.c`, `db.c` admin parts, `config.c`,
//! `object.c`, `debug.c`): keyspace administration, INFO, CONFIG, COMMAND
//! introspection, OBJECT, DEBUG, TIME, LASTSAVE and SHUTDOWN.
//!
//! INFO's text lives in `info.rs` and COMMAND's replies in `meta.rs`; the
//! handlers here parse arguments and pick what to write.

use super::flags::*;
use super::info::{self, Selection};
use super::meta::{self, ListFilter};
use super::{is, Command, Ctx};
use crate::config::{find_param, Access, Param, PARAMS};
use crate::error::{CmdError, CmdResult};
use crate::persist::snapshot;
use crate::resp::{Args, Reply};
use crate::server::{Request, State};
use crate::store::{digest, glob_match, Value};
use crate::util::now_us;

const STATS: u32 = LOADING | STALE;
const ADMIN_CMD: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

pub const COMMANDS: &[Command] = &[
    Command::new("swapdb", 3, WRITE | FAST, swapdb)
        .doc("server", "4.0.0", "Swaps two Redis databases")
        .complexity("O(N) where N is the count of clients watching or blocking on keys from both databases."),
    Command::new("dbsize", 1, READONLY | FAST, dbsize)
        .doc("server", "1.0.0", "Return the number of keys in the selected database"),
    Command::new("flushdb", -1, WRITE, flushdb)
        .doc("server", "1.0.0", "Remove all keys from the current database")
        .complexity("O(N) where N is the number of keys in the selected database"),
    Command::new("flushall", -1, WRITE, flushall)
        .doc("server", "1.0.0", "Remove all keys from all databases")
        .complexity("O(N) where N is the total number of keys in all databases"),
    Command::new("info", -1, STATS, info)
        .doc("server", "1.0.0", "Get information and statistics about the server"),
    Command::new("config", -2, 0, super::container)
        .doc("server", "2.0.0", "A container for server configuration commands")
        .complexity("Depends on subcommand.")
        .subcommands(&[
            Command::new("get", -3, ADMIN_CMD, config_get)
                .doc("server", "2.0.0", "Get the values of configuration parameters")
                .complexity("O(N) when N is the number of configuration parameters provided"),
            Command::new("set", -4, ADMIN_CMD, config_set)
                .doc("server", "2.0.0", "Set configuration parameters to the given values")
                .complexity("O(N) when N is the number of configuration parameters provided"),
            Command::new("resetstat", 2, ADMIN_CMD, config_resetstat)
                .doc("server", "2.0.0", "Reset the stats returned by INFO"),
            Command::new("rewrite", 2, ADMIN_CMD, config_rewrite)
                .doc("server", "2.8.0", "Rewrite the configuration file with the in memory configuration"),
            Command::new("help", 2, STATS, config_help)
                .doc("server", "5.0.0", "Show helpful text about the different subcommands"),
        ]),
    Command::new("time", 1, STATS | FAST, time)
        .doc("server", "2.6.0", "Return the current server time"),
    Command::new("save", 1, ADMIN | NOSCRIPT | NO_MULTI | NO_ASYNC_LOADING, save)
        .doc("server", "1.0.0", "Synchronously save the dataset to disk")
        .complexity("O(N) where N is the total number of keys in all databases"),
    Command::new("bgsave", -1, ADMIN | NOSCRIPT | NO_ASYNC_LOADING, bgsave)
        .doc("server", "1.0.0", "Asynchronously save the dataset to disk")
        .complexity("O(1)"),
    Command::new("bgrewriteaof", 1, ADMIN | NOSCRIPT | NO_ASYNC_LOADING, bgrewriteaof)
        .doc("server", "1.0.0", "Asynchronously rewrite the append-only file")
        .complexity("O(1)"),
    Command::new("lastsave", 1, STATS | FAST, lastsave)
        .doc("server", "1.0.0", "Get the UNIX time stamp of the last successful save to disk"),
    Command::new("shutdown", -1, ADMIN_CMD | NO_MULTI | ALLOW_BUSY, shutdown)
        .doc("server", "1.0.0", "Synchronously save the dataset to disk and then shut down the server")
        .complexity("O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)"),
    Command::new("object", -2, 0, super::container)
        .doc("generic", "2.2.3", "A container for object introspection commands")
        .complexity("Depends on subcommand.")
        .subcommands(&[
            Command::new("encoding", 3, READONLY, object_encoding)
                .keys(2, 2, 1)
                .doc("generic", "2.2.3", "Inspect the internal encoding of a Redis object"),
            Command::new("freq", 3, READONLY, object_freq)
                .keys(2, 2, 1)
                .doc("generic", "4.0.0", "Get the logarithmic access frequency counter of a Redis object"),
            Command::new("idletime", 3, READONLY, object_idletime)
                .keys(2, 2, 1)
                .doc("generic", "2.2.3", "Get the time since a Redis object was last accessed"),
            Command::new("refcount", 3, READONLY, object_refcount)
                .keys(2, 2, 1)
                .doc("generic", "2.2.3", "Get the number of references to the value of the key"),
            Command::new("help", 2, STATS, object_help)
                .doc("generic", "6.2.0", "Show helpful text about the different subcommands"),
        ]),
    Command::new("debug", -2, ADMIN_CMD, debug)
        .doc("server", "1.0.0", "A container for debugging commands")
        .complexity("Depends on subcommand."),
    Command::new("command", -1, STATS, command)
        .doc("server", "2.8.13", "Get array of Redis command details")
        .complexity("O(N) where N is the total number of Redis commands")
        .subcommands(&[
            Command::new("count", 2, STATS, command_count)
                .doc("server", "2.8.13", "Get total number of Redis commands"),
            Command::new("docs", -2, STATS, command_docs)
                .doc("server", "7.0.0", "Get array of specific Redis command documentation")
                .complexity("O(N) where N is the number of commands to look up"),
            Command::new("getkeys", -4, STATS, command_getkeys)
                .doc("server", "2.8.13", "Extract keys given a full Redis command")
                .complexity("O(N) where N is the number of arguments to the command"),
            Command::new("getkeysandflags", -4, STATS, command_getkeysandflags)
                .doc("server", "7.0.0", "Extract keys and access flags given a full Redis command")
                .complexity("O(N) where N is the number of arguments to the command"),
            Command::new("help", 2, STATS, command_help)
                .doc("server", "5.0.0", "Show helpful text about the different subcommands"),
            Command::new("info", -2, STATS, command_info)
                .doc("server", "2.8.13", "Get array of specific Redis command details, or all when no argument is given.")
                .complexity("O(N) where N is the number of commands to look up"),
            Command::new("list", -2, STATS, command_list)
                .doc("server", "7.0.0", "Get an array of Redis command names")
                .complexity("O(N) where N is the total number of Redis commands"),
        ]),
];

/// Redis's `addReplyHelp`: a title line, the given lines, then HELP.
pub fn help_reply(out: &mut Reply, container: &str, lines: &[&str]) {
    out.array(lines.len() + 3);
    out.simple(
        format!(
            "{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            container.to_ascii_uppercase()
        )
        .as_bytes(),
    );
    for line in lines {
        out.simple(line.as_bytes());
    }
    out.simple(b"HELP");
    out.simple(b"    Prints this help.");
}

/// Redis's `getIntFromObjectOrReply` with a custom message: the value must
/// be an integer within `int`.
fn int32_or(arg: &[u8], err: CmdError) -> Result<i64, CmdError> {
    match crate::resp::parse_i64(arg) {
        Some(n) if i32::try_from(n).is_ok() => Ok(n),
        _ => Err(err),
    }
}

fn swapdb(ctx: &mut Ctx, args: Args) -> CmdResult {
    let a = int32_or(args.get(1), CmdError::SwapdbFirstIndex)?;
    let b = int32_or(args.get(2), CmdError::SwapdbSecondIndex)?;
    let n = ctx.store.dbs.len() as i64;
    if !(0..n).contains(&a) || !(0..n).contains(&b) {
        return Err(CmdError::DbIndexOutOfRange);
    }
    ctx.store.swap(a as usize, b as usize);
    ctx.out().ok();
    Ok(())
}

fn dbsize(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let n = ctx.store.dbs[ctx.db_index()].len();
    ctx.out().int(n as i64);
    Ok(())
}

/// FLUSHDB / FLUSHALL's `[ASYNC|SYNC]` (Redis's `getFlushCommandFlags`):
/// whether to free in the background.
fn flush_mode(ctx: &Ctx, args: &Args) -> Result<bool, CmdError> {
    match args.len() {
        1 => Ok(ctx.state.config.lazyfree_lazy_user_flush),
        2 if is(args.get(1), "sync") => Ok(false),
        2 if is(args.get(1), "async") => Ok(true),
        _ => Err(CmdError::Syntax),
    }
}

fn flushdb(ctx: &mut Ctx, args: Args) -> CmdResult {
    let lazy = flush_mode(ctx, &args)?;
    ctx.db().flush(lazy);
    // Propagated even when there was nothing to remove, as in Redis.
    ctx.journal().force_propagation();
    ctx.out().ok();
    Ok(())
}

fn flushall(ctx: &mut Ctx, args: Args) -> CmdResult {
    let lazy = flush_mode(ctx, &args)?;
    ctx.store.flush_all(lazy);
    ctx.journal().force_propagation();
    // With save points, Redis replaces the snapshot with the empty
    // dataset at once (a background save in progress is dropped), so a
    // restart does not bring the flushed keys back.
    if !ctx.state.config.save.is_empty() {
        snapshot::abandon(ctx.store, ctx.state);
        let _ = snapshot::save_now(ctx.store, ctx.state);
    }
    ctx.out().ok();
    Ok(())
}

fn info(ctx: &mut Ctx, args: Args) -> CmdResult {
    let sel = Selection::parse(args.tail(1).iter());
    let text = info::render(
        ctx.store,
        ctx.state,
        &sel,
        &info::Context { now_ms: ctx.now_ms },
    );
    ctx.out().verbatim(text.as_bytes());
    Ok(())
}

fn config_get(ctx: &mut Ctx, args: Args) -> CmdResult {
    let mut matches: Vec<(&[u8], &'static Param)> = Vec::new();
    let seen = |m: &[(&[u8], &Param)], p: &Param| m.iter().any(|(_, q)| std::ptr::eq(*q, p));
    for pattern in args.tail(2).iter() {
        if pattern.iter().any(|c| b"[*?".contains(c)) {
            for p in PARAMS {
                // A parameter once, under its name or else its alias.
                let name = [p.name, p.alias]
                    .into_iter()
                    .find(|n| !n.is_empty() && glob_match(pattern, n.as_bytes(), true));
                if let Some(name) = name.filter(|_| !seen(&matches, p)) {
                    matches.push((name.as_bytes(), p));
                }
            }
        } else if let Some(p) = std::str::from_utf8(pattern).ok().and_then(find_param) {
            // An exact name answers under the caller's spelling, as in Redis.
            if !seen(&matches, p) {
                matches.push((pattern, p));
            }
        }
    }
    let State {
        config, clients, ..
    } = &mut *ctx.state;
    let out = &mut clients[ctx.client].out;
    out.map(matches.len());
    for (name, p) in matches {
        out.bulk(name);
        out.bulk((p.get)(config).as_bytes());
    }
    Ok(())
}

fn config_set(ctx: &mut Ctx, args: Args) -> CmdResult {
    if args.len() % 2 == 1 {
        return Err(CmdError::Syntax);
    }
    // Check every name first; the first problem is the one reported.
    let mut chosen: Vec<(&'static Param, &[u8])> = Vec::new();
    for i in (2..args.len()).step_by(2) {
        let name = args.get(i);
        let param = std::str::from_utf8(name)
            .ok()
            .and_then(find_param)
            .ok_or_else(|| CmdError::config_set_unknown(name))?;
        match param.access {
            Access::Immutable => {
                return Err(CmdError::config_set_failed(
                    name,
                    "can't set immutable config",
                ))
            }
            Access::Protected => {
                return Err(CmdError::config_set_failed(
                    name,
                    "can't set protected config",
                ))
            }
            Access::Mutable => {}
        }
        if chosen.iter().any(|(p, _)| std::ptr::eq(*p, param)) {
            return Err(CmdError::config_set_failed(name, "duplicate parameter"));
        }
        chosen.push((param, args.get(i + 1)));
    }
    // All or nothing: apply to a copy, keep it only if every value is good.
    let mut config = ctx.state.config.clone();
    let chosen_names: Vec<&str> = chosen.iter().map(|(p, _)| p.name).collect();
    for (param, value) in chosen {
        (param.set)(&mut config, &String::from_utf8_lossy(value))
            .map_err(|e| CmdError::config_set_failed(param.name.as_bytes(), &e.0))?;
    }
    let aof_was = ctx.state.config.appendonly;
    let maxmemory_was = ctx.state.config.maxmemory;
    let new_password = chosen_names.contains(&"requirepass");
    ctx.state.config = config;
    ctx.state.apply_config(ctx.store);
    if new_password {
        crate::acl::apply_requirepass(ctx.state);
    }
    let maxmemory = ctx.state.config.maxmemory;
    if maxmemory != maxmemory_was && maxmemory > 0 {
        // Redis's updateMaxmemory: a limit below what is used evicts now.
        let used = crate::alloc::allocated();
        if used > maxmemory {
            tracing::warn!("WARNING: the new maxmemory value set via CONFIG SET ({maxmemory}) is smaller than the current memory usage ({used}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.");
        }
        crate::evict::perform(ctx.store, ctx.state, ctx.now_ms);
    }
    if ctx.state.config.appendonly != aof_was {
        // Turning the AOF on writes it whole first (Redis's
        // startAppendOnly); off closes it.
        let result = if aof_was {
            crate::persist::aof::stop(ctx.store, ctx.state);
            Ok(())
        } else {
            crate::persist::aof::start(ctx.store, ctx.state)
        };
        if let Err(why) = result {
            ctx.state.config.appendonly = aof_was;
            return Err(CmdError::config_set_failed(b"appendonly", &why));
        }
    }
    crate::effects::sync_recording(ctx.store, ctx.state);
    ctx.out().ok();
    Ok(())
}

fn config_resetstat(ctx: &mut Ctx, _args: Args) -> CmdResult {
    ctx.state.stats.reset();
    ctx.store.stats = Default::default();
    ctx.state.peak_memory = crate::alloc::allocated();
    ctx.out().ok();
    Ok(())
}

fn config_rewrite(ctx: &mut Ctx, _args: Args) -> CmdResult {
    // Started without a file, there is nothing to rewrite (as in Redis).
    if ctx.state.config.config_file.is_none() {
        return Err(CmdError::ConfigNoFile);
    }
    crate::config_file::rewrite(&ctx.state.config).map_err(|why| {
        tracing::warn!("CONFIG REWRITE failed: {why}");
        CmdError::config_rewrite_failed(&why)
    })?;
    tracing::info!("CONFIG REWRITE executed with success.");
    ctx.out().ok();
    Ok(())
}

fn config_help(ctx: &mut Ctx, _args: Args) -> CmdResult {
    help_reply(
        ctx.out(),
        "config",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
    Ok(())
}

fn time(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let us = now_us();
    ctx.out().array(2);
    ctx.out().bulk_int((us / 1_000_000) as i64);
    ctx.out().bulk_int((us % 1_000_000) as i64);
    Ok(())
}

fn lastsave(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let lastsave = ctx.state.lastsave as i64;
    ctx.out().int(lastsave);
    Ok(())
}

fn save(ctx: &mut Ctx, _args: Args) -> CmdResult {
    if ctx.state.persistence.saving.is_some() {
        return Err(CmdError::BgsaveInProgress);
    }
    snapshot::save_now(ctx.store, ctx.state).map_err(|_| CmdError::Err)?;
    ctx.out().ok();
    Ok(())
}

fn bgsave(ctx: &mut Ctx, args: Args) -> CmdResult {
    let schedule = match args.len() {
        1 => false,
        2 if is(args.get(1), "schedule") => true,
        _ => return Err(CmdError::Syntax),
    };
    let rewriting = ctx
        .state
        .aof
        .as_ref()
        .is_some_and(|a| a.rewriting.is_some());
    if ctx.state.persistence.saving.is_some() && !rewriting {
        return Err(CmdError::BgsaveInProgress);
    }
    // One background job at a time: after an AOF rewrite if asked (or
    // inside EXEC), as Redis schedules it after its other child.
    if rewriting || ctx.state.transaction.is_some() {
        if !schedule && ctx.state.transaction.is_none() {
            return Err(CmdError::BgsaveBusy);
        }
        ctx.state.persistence.scheduled = true;
        ctx.out().simple(b"Background saving scheduled");
        return Ok(());
    }
    snapshot::bgsave(ctx.store, ctx.state).map_err(|_| CmdError::Err)?;
    ctx.out().simple(b"Background saving started");
    Ok(())
}

fn bgrewriteaof(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let Some(aof) = ctx.state.aof.as_mut() else {
        // Redis with appendonly no writes a one-off AOF here; rizzler
        // rewrites only the AOF it keeps.
        return Err(CmdError::AofOff);
    };
    if aof.rewriting.is_some() {
        return Err(CmdError::AofRewriteInProgress);
    }
    if ctx.state.persistence.saving.is_some() || ctx.state.transaction.is_some() {
        aof.rewrite_scheduled = true;
        ctx.out()
            .simple(b"Background append only file rewriting scheduled");
        return Ok(());
    }
    crate::persist::aof::start_rewrite(ctx.store, ctx.state).map_err(|_| CmdError::Err)?;
    ctx.out()
        .simple(b"Background append only file rewriting started");
    Ok(())
}

fn shutdown(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (mut nosave, mut save, mut now, mut force, mut abort) = (false, false, false, false, false);
    for arg in args.tail(1).iter() {
        if is(arg, "nosave") {
            nosave = true;
        } else if is(arg, "save") {
            save = true;
        } else if is(arg, "now") {
            now = true;
        } else if is(arg, "force") {
            force = true;
        } else if is(arg, "abort") {
            abort = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if (abort && (nosave || save || now || force)) || (nosave && save) {
        return Err(CmdError::Syntax);
    }
    if abort {
        // Shutdown is immediate (nothing to wait for: no replicas), so
        // there is never one to abort.
        return Err(CmdError::NoShutdown);
    }
    // Under a script that runs long, only SHUTDOWN NOSAVE: a save would
    // capture half of the script's effects.
    let busy = ctx.state.scripting.busy();
    if let Some(busy) = busy.clone().filter(|_| !nosave) {
        return Err(busy);
    }
    // Redis answers nothing on success: the connection closes as the
    // server exits.
    tracing::warn!("User requested shutdown...");
    let save = if nosave {
        Some(false)
    } else {
        save.then_some(true)
    };
    if !snapshot::prepare_shutdown(ctx.store, ctx.state, save, force) {
        return Err(CmdError::ShutdownFailed);
    }
    if busy.is_some() {
        // The script never returns to the loop: exit from here, as Redis
        // does, with the AOF already flushed by the preparation and the
        // script's unfinished effects never written.
        tracing::warn!("Redis is now ready to exit, bye bye...");
        std::process::exit(0);
    }
    ctx.state.shutdown = true;
    ctx.state.requests.push(Request::Shutdown);
    Ok(())
}

/// OBJECT's key lookup: expires the key if due but leaves its access time
/// alone, and counts a keyspace hit or miss, as Redis's
/// `objectCommandLookup` does.
fn object_value<T>(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&Value, u32) -> T) -> Option<T> {
    ctx.db().peek(key).map(|e| f(&e.value, e.access))
}

fn object_encoding(ctx: &mut Ctx, args: Args) -> CmdResult {
    match object_value(ctx, args.get(2), |v, _| v.encoding()) {
        Some(enc) => ctx.out().bulk(enc.as_bytes()),
        None => ctx.out().null(),
    }
    Ok(())
}

/// Redis's `OBJ_SHARED_INTEGERS`: integer strings below this share one
/// immortal object, whose refcount OBJECT reports as `INT_MAX`.
const SHARED_INTEGERS: i64 = 10000;

fn object_refcount(ctx: &mut Ctx, args: Args) -> CmdResult {
    // Redis stops sharing integers when maxmemory evicts by LRU or LFU,
    // since each value then needs its own access clock.
    let config = &ctx.state.config;
    let sharing =
        config.maxmemory == 0 || !(config.maxmemory_policy.is_lru() || config.lfu_policy());
    let refcount = object_value(ctx, args.get(2), |v, _| match v {
        Value::Str(s)
            if sharing
                && v.encoding() == "int"
                && crate::resp::parse_i64(&s.data)
                    .is_some_and(|n| (0..SHARED_INTEGERS).contains(&n)) =>
        {
            i64::from(i32::MAX)
        }
        _ => 1,
    });
    match refcount {
        Some(n) => ctx.out().int(n),
        None => ctx.out().null(),
    }
    Ok(())
}

fn object_idletime(ctx: &mut Ctx, args: Args) -> CmdResult {
    let Some(access) = object_value(ctx, args.get(2), |_, access| access) else {
        ctx.out().null();
        return Ok(());
    };
    if ctx.state.config.lfu_policy() {
        return Err(CmdError::ObjectIdleLfu);
    }
    let idle_ms = crate::store::Clock::idle_ms(access, ctx.now_ms);
    ctx.out().int((idle_ms / 1000) as i64);
    Ok(())
}

fn object_freq(ctx: &mut Ctx, args: Args) -> CmdResult {
    let Some(access) = object_value(ctx, args.get(2), |_, access| access) else {
        ctx.out().null();
        return Ok(());
    };
    if !ctx.state.config.lfu_policy() {
        return Err(CmdError::ObjectFreqNoLfu);
    }
    let freq = ctx.store.clock.frequency(access, ctx.now_ms);
    ctx.out().int(i64::from(freq));
    Ok(())
}

fn object_help(ctx: &mut Ctx, _args: Args) -> CmdResult {
    help_reply(
        ctx.out(),
        "object",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
    Ok(())
}

/// C's `strtod` on the longest numeric prefix (DEBUG SLEEP's parser): junk
/// parses as 0.
fn strtod_prefix(arg: &[u8]) -> f64 {
    // A number is never longer than this; bounding it keeps the prefix
    // search cheap whatever the argument.
    let s = String::from_utf8_lossy(&arg[..arg.len().min(64)]);
    let s = s.trim_start();
    (1..=s.len())
        .rev()
        .filter(|&end| s.is_char_boundary(end))
        .find_map(|end| {
            let head = &s[..end];
            head.parse::<f64>().ok()
        })
        .unwrap_or(0.0)
}

/// C's `atoi`: optional spaces and sign, then digits; junk parses as 0.
fn atoi(arg: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(arg);
    let s = s.trim_start();
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = rest
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |acc, c| {
            acc.wrapping_mul(10).wrapping_add(i64::from(c - b'0'))
        });
    if neg {
        n.wrapping_neg()
    } else {
        n
    }
}

fn debug(ctx: &mut Ctx, args: Args) -> CmdResult {
    let sub = args.get(1);
    if is(sub, "help") && args.len() == 2 {
        help_reply(
            ctx.out(),
            "debug",
            &[
                "CHANGE-REPL-ID",
                "    Change the replication IDs of the instance.",
                "    Dangerous: should be used only for testing the replication subsystem.",
                "DIGEST",
                "    Output a hex signature representing the current DB content.",
                "DIGEST-VALUE <key> [<key> ...]",
                "    Output a hex signature of the values of all the specified keys.",
                "ERROR <string>",
                "    Return a Redis protocol error with <string> as message. Useful for clients",
                "    unit tests to simulate Redis errors.",
                "LOG <message>",
                "    Write <message> to the server log.",
                "OBJECT <key>",
                "    Show low level info about `key` and associated value.",
                "PAUSE-CRON <0|1>",
                "    Stop periodic cron job processing.",
                "POPULATE <count> [<prefix>] [<size>]",
                "    Create <count> string keys named key:<num>. If <prefix> is specified then",
                "    it is used instead of the 'key' prefix. These are not propagated to",
                "    replicas. Cluster slots are not respected so keys not belonging to the",
                "    current node can be created in cluster mode.",
                "PROTOCOL <type>",
                "    Reply with a test value of the specified type. <type> can be: string,",
                "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
                "    true, false.",
                "RELOAD [option ...]",
                "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
                "    * MERGE: conflicting keys will be loaded from RDB.",
                "    * NOFLUSH: the existing database will not be removed before load, but",
                "      conflicting keys will generate an exception and kill the server.",
                "    * NOSAVE: the database will be loaded from an existing RDB file.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Setting it to 0 disables expiring keys in background when they are not",
                "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
                "    default.",
                "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
                "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
            ],
        );
    } else if is(sub, "sleep") && args.len() == 3 {
        // Redis blocks its event loop here, and tests use it for exactly
        // that; a negative or absurd value sleeps not at all.
        let secs = strtod_prefix(args.get(2));
        if let Ok(d) = std::time::Duration::try_from_secs_f64(secs) {
            std::thread::sleep(d);
        }
        ctx.out().ok();
    } else if is(sub, "digest") && args.len() == 2 {
        let hex = digest::hex(&digest::dataset(&ctx.store.dbs));
        ctx.out().simple(hex.as_bytes());
    } else if is(sub, "digest-value") {
        // Keys are read as the table holds them, logically expired or
        // not, as Redis's debug command does; a missing key is all zeros.
        let db = &ctx.store.dbs[ctx.db_index()];
        let digests: Vec<String> = args
            .tail(2)
            .iter()
            .map(|key| {
                let mut d = digest::Digest::default();
                if let Some(e) = db.get_raw(key) {
                    digest::mix_value(&mut d, &e.value, e.expire_at().is_some());
                }
                digest::hex(&d)
            })
            .collect();
        let out = ctx.out();
        out.array(digests.len());
        for d in digests {
            out.simple(d.as_bytes());
        }
    } else if is(sub, "reload") {
        debug_reload(ctx, &args)?;
    } else if is(sub, "set-active-expire") && args.len() == 3 {
        ctx.state.active_expire = atoi(args.get(2)) != 0;
        ctx.out().ok();
    } else if is(sub, "object") && args.len() == 3 {
        debug_object(ctx, args.get(2))?;
    } else if is(sub, "populate") && (3..=5).contains(&args.len()) {
        debug_populate(ctx, &args)?;
    } else if is(sub, "protocol") && args.len() == 3 {
        debug_protocol(ctx, args.get(2))?;
    } else if is(sub, "error") && args.len() == 3 {
        // Any text, as an error line: newlines become spaces.
        let text: Vec<u8> = args
            .get(2)
            .iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
            .collect();
        ctx.out().error(&text);
    } else if is(sub, "log") && args.len() == 3 {
        tracing::warn!("DEBUG LOG: {}", String::from_utf8_lossy(args.get(2)));
        ctx.out().ok();
    } else if is(sub, "change-repl-id") && args.len() == 2 {
        tracing::warn!("Changing replication IDs after receiving DEBUG change-repl-id");
        ctx.state.replid = ctx.store.rng.hex(40);
        ctx.out().ok();
    } else if is(sub, "pause-cron") && args.len() == 3 {
        ctx.state.cron_paused = atoi(args.get(2)) != 0;
        ctx.out().ok();
    } else if is(sub, "set-skip-checksum-validation") && args.len() == 3 {
        ctx.state.skip_checksum_validation = atoi(args.get(2)) != 0;
        ctx.out().ok();
    } else if is(sub, "set-disable-deny-scripts") && args.len() == 3 {
        ctx.state.scripting.allow_noscript = atoi(args.get(2)) != 0;
        ctx.out().ok();
    } else if is(sub, "aof-flush-sleep") && args.len() == 3 {
        // Knobs of Redis internals rizzler does not have: accepted, as
        // Redis's tests set them.
        ctx.out().ok();
    } else if is(sub, "quicklist-packed-threshold") && args.len() == 3 {
        let size = std::str::from_utf8(args.get(2))
            .ok()
            .and_then(|v| crate::config::parse_memory(v).ok());
        match size {
            // 0 restores the default; Redis's limit is 4 GB less 1 MB.
            Some(n) if n <= (1 << 32) - (1 << 20) => ctx.out().ok(),
            _ => return Err(CmdError::DebugPackedThreshold),
        }
    } else if is(sub, "replybuffer") && args.len() == 4 {
        let (what, value) = (args.get(2), args.get(3));
        if is(what, "peak-reset-time") {
            if !is(value, "never") && !is(value, "reset") {
                super::int_arg(value)?;
            }
        } else if !is(what, "resizing") {
            return Err(CmdError::subcommand_syntax(sub, "debug"));
        }
        ctx.out().ok();
    } else if is(sub, "stringmatch-test") && args.len() == 2 {
        ctx.out()
            .simple(b"Apparently Redis did not crash: test passed");
    } else {
        return Err(CmdError::subcommand_syntax(sub, "debug"));
    }
    Ok(())
}

/// DEBUG OBJECT key: Redis's line, with rizzler's encoding, the value's
/// RDB length and its access clock.
fn debug_object(ctx: &mut Ctx, key: &[u8]) -> CmdResult {
    let now = ctx.now_ms;
    let lfu = ctx.state.config.lfu_policy();
    let db = ctx.db_index();
    let Some(e) = ctx.store.dbs[db].get_raw(key) else {
        return Err(CmdError::NoSuchKey);
    };
    let mut rdb = Vec::new();
    crate::persist::rdb::write_value(&mut rdb, &e.value);
    // Redis's 24-bit clock in seconds (LFU keeps other data there; its
    // idle time then means nothing, as in Redis).
    let idle_ms = if lfu {
        0
    } else {
        crate::store::Clock::idle_ms(e.access, now)
    };
    let lru = (now.saturating_sub(idle_ms) / 1000) & ((1 << 24) - 1);
    let line = format!(
        "Value at:{:p} refcount:1 encoding:{} serializedlength:{} lru:{lru} lru_seconds_idle:{}",
        &e.value as *const Value,
        e.value.encoding(),
        // Redis counts the type byte apart from the value.
        rdb.len().saturating_sub(1),
        idle_ms / 1000,
    );
    ctx.out().simple(line.as_bytes());
    Ok(())
}

/// DEBUG POPULATE count [prefix] [size]: `prefix:N` → `value:N` (cut or
/// zero-padded to `size`), skipping keys that exist. Like Redis, it
/// announces only the new keys and propagates nothing.
fn debug_populate(ctx: &mut Ctx, args: &Args) -> CmdResult {
    // Redis's getPositiveLongFromObjectOrReply: one error for both.
    let positive = |a: &[u8]| match crate::resp::parse_i64(a) {
        Some(n) if n >= 0 => Ok(n as u64),
        _ => Err(CmdError::MustBePositive),
    };
    let count = positive(args.get(2))?;
    let size = if args.len() == 5 {
        Some(positive(args.get(4))? as usize)
    } else {
        None
    };
    if size.is_some_and(|s| s as u64 > ctx.state.config.proto_max_bulk_len as u64) {
        return Err(CmdError::StringTooLong);
    }
    let prefix = if args.len() >= 4 { args.get(3) } else { b"key" };
    let mut db = ctx.db();
    for j in 0..count {
        let mut key = prefix.to_vec();
        key.extend_from_slice(format!(":{j}").as_bytes());
        if db.contains(&key) {
            continue;
        }
        let mut value = format!("value:{j}").into_bytes();
        if let Some(size) = size {
            value.resize(size, 0);
        }
        db.set_counted(&key, Value::str(value), "", 0);
    }
    ctx.out().ok();
    Ok(())
}

/// DEBUG PROTOCOL type: one reply of each RESP type, as Redis sends them.
fn debug_protocol(ctx: &mut Ctx, name: &[u8]) -> CmdResult {
    let resp3 = ctx.out().is_resp3();
    let out = ctx.out();
    match () {
        _ if is(name, "string") => out.bulk(b"Hello World"),
        _ if is(name, "integer") => out.int(12345),
        // Redis's fixed test value, not pi.
        #[allow(clippy::approx_constant)]
        _ if is(name, "double") => out.double(3.141),
        _ if is(name, "bignum") => {
            let n = b"1234567999999999999999999999999999999";
            if resp3 {
                out.buf.push(b'(');
                out.buf.extend_from_slice(n);
                out.buf.extend_from_slice(b"\r\n");
            } else {
                out.bulk(n);
            }
        }
        _ if is(name, "null") => out.null(),
        _ if is(name, "array") || is(name, "set") => {
            if is(name, "set") {
                out.set(3);
            } else {
                out.array(3);
            }
            for j in 0..3 {
                out.int(j);
            }
        }
        _ if is(name, "map") => {
            out.map(3);
            for j in 0..3 {
                out.int(j);
                out.boolean(j == 1);
            }
        }
        _ if is(name, "attrib") => {
            if resp3 {
                out.buf.extend_from_slice(b"|1\r\n");
                out.bulk(b"key-popularity");
                out.array(2);
                out.bulk(b"key:123");
                out.int(90);
            }
            out.bulk(b"Some real reply following the attribute");
        }
        _ if is(name, "push") => {
            if !resp3 {
                return Err(CmdError::DebugPushResp2);
            }
            out.push(2);
            out.bulk(b"server-cpu-usage");
            out.int(42);
            out.bulk(b"Some real reply following the push reply");
        }
        _ if is(name, "true") => out.boolean(true),
        _ if is(name, "false") => out.boolean(false),
        _ if is(name, "verbatim") => out.verbatim(b"This is a verbatim\nstring"),
        _ => return Err(CmdError::DebugProtocolType),
    }
    Ok(())
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty, load the file
/// back.
fn debug_reload(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut flush, mut save, mut merge) = (true, true, false);
    for opt in args.tail(2).iter() {
        if is(opt, "merge") {
            merge = true;
        } else if is(opt, "noflush") {
            flush = false;
        } else if is(opt, "nosave") {
            save = false;
        } else {
            return Err(CmdError::DebugReloadOptions);
        }
    }
    if save {
        snapshot::save_now(ctx.store, ctx.state).map_err(|_| CmdError::Err)?;
    }
    if flush {
        snapshot::abandon(ctx.store, ctx.state);
        ctx.store
            .dbs
            .iter_mut()
            .for_each(|db| *db = Default::default());
        // The libraries come back from an RDB file (a JSON snapshot does
        // not hold them, so they stay).
        if ctx.state.config.snapshot_format == crate::persist::Format::Rdb {
            ctx.state.scripting.functions.flush();
        }
    }
    snapshot::reload(ctx.store, ctx.state, merge).map_err(|_| CmdError::DebugReloadFailed)?;
    ctx.out().ok();
    Ok(())
}

fn command(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let all = super::all();
    ctx.out().array(all.len());
    for cmd in all {
        meta::write_info(ctx.out(), &meta::Resolved { cmd, parent: None });
    }
    Ok(())
}

fn command_count(ctx: &mut Ctx, _args: Args) -> CmdResult {
    ctx.out().int(super::all().len() as i64);
    Ok(())
}

fn command_info(ctx: &mut Ctx, args: Args) -> CmdResult {
    if args.len() == 2 {
        return command(ctx, args);
    }
    ctx.out().array(args.len() - 2);
    for name in args.tail(2).iter() {
        match meta::lookup_full(name) {
            Some(r) => meta::write_info(ctx.out(), &r),
            None => ctx.out().null(),
        }
    }
    Ok(())
}

fn command_docs(ctx: &mut Ctx, args: Args) -> CmdResult {
    let found: Vec<meta::Resolved> = if args.len() == 2 {
        super::all()
            .into_iter()
            .map(|cmd| meta::Resolved { cmd, parent: None })
            .collect()
    } else {
        args.tail(2).iter().filter_map(meta::lookup_full).collect()
    };
    ctx.out().map(found.len());
    for r in &found {
        ctx.out().bulk(r.full_name().as_bytes());
        meta::write_docs(ctx.out(), r);
    }
    Ok(())
}

fn command_list(ctx: &mut Ctx, args: Args) -> CmdResult {
    let mut filter = ListFilter::All;
    let mut i = 2;
    while i < args.len() {
        // FILTERBY must be followed by exactly a type and a value.
        if !(is(args.get(i), "filterby") && args.len() - 1 - i == 2) {
            return Err(CmdError::Syntax);
        }
        let (kind, value) = (args.get(i + 1), args.get(i + 2));
        filter = if is(kind, "module") {
            ListFilter::Module
        } else if is(kind, "aclcat") {
            ListFilter::AclCat(value)
        } else if is(kind, "pattern") {
            ListFilter::Pattern(value)
        } else {
            return Err(CmdError::Syntax);
        };
        i += 3;
    }
    let names = meta::list(&filter);
    ctx.out().array(names.len());
    for name in names {
        ctx.out().bulk(name.as_bytes());
    }
    Ok(())
}

fn command_getkeys(ctx: &mut Ctx, args: Args) -> CmdResult {
    let target = args.tail(2);
    let keys = meta::get_keys(&target)?;
    ctx.out().array(keys.len());
    for (pos, _) in keys {
        ctx.out().bulk(target.get(pos));
    }
    Ok(())
}

fn command_getkeysandflags(ctx: &mut Ctx, args: Args) -> CmdResult {
    let target = args.tail(2);
    let keys = meta::get_keys(&target)?;
    ctx.out().array(keys.len());
    for (pos, key_flags) in keys {
        ctx.out().array(2);
        ctx.out().bulk(target.get(pos));
        ctx.out().set(key_flags.len());
        for f in key_flags {
            ctx.out().simple(f.as_bytes());
        }
    }
    Ok(())
}

fn command_help(ctx: &mut Ctx, _args: Args) -> CmdResult {
    help_reply(
        ctx.out(),
        "command",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
    Ok(())
}
