//! MEMORY (Redis's `object.c` memory command): what a key costs, and what
//! the server's memory is made of.
//!
//! The totals come from the counting allocator (`crate::alloc`), so they
//! are exact. A key's size is an estimate from its value's shape, as
//! Redis's `objectComputeSize` is: the entry, the key and the value's own
//! buffers, with the elements of a collection sampled (five by default,
//! every one with SAMPLES 0) and scaled to the whole.

use std::mem::size_of;

use super::flags::*;
use super::info::MemoryFigures;
use super::server::help_reply;
use super::{int_arg, is, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::resp::Args;
use crate::store::Entry;

pub const COMMANDS: &[Command] = &[Command::new("memory", -2, 0, super::container)
    .doc(
        "server",
        "4.0.0",
        "A container for memory diagnostics commands",
    )
    .complexity("Depends on subcommand.")
    .subcommands(&[
        Command::new("doctor", 2, 0, doctor).doc(
            "server",
            "4.0.0",
            "Outputs memory problems report",
        ),
        Command::new("help", 2, LOADING | STALE, help).doc(
            "server",
            "4.0.0",
            "Show helpful text about the different subcommands",
        ),
        Command::new("malloc-stats", 2, 0, malloc_stats)
            .doc("server", "4.0.0", "Show allocator internal stats")
            .complexity("Depends on how much memory is allocated, could be slow"),
        Command::new("purge", 2, 0, purge)
            .doc("server", "4.0.0", "Ask the allocator to release memory")
            .complexity("Depends on how much memory is allocated, could be slow"),
        Command::new("stats", 2, 0, stats).doc("server", "4.0.0", "Show memory usage details"),
        Command::new("usage", -3, READONLY, usage)
            .keys(2, 2, 1)
            .doc("server", "4.0.0", "Estimate the memory usage of a key")
            .complexity("O(N) where N is the number of samples."),
    ])];

/// Redis's `OBJ_COMPUTE_SIZE_DEF_SAMPLES`.
const DEFAULT_SAMPLES: usize = 5;

fn usage(ctx: &mut Ctx, args: Args) -> CmdResult {
    let mut samples = DEFAULT_SAMPLES;
    let mut i = 3;
    while i < args.len() {
        if !(is(args.get(i), "samples") && i + 1 < args.len()) {
            return Err(CmdError::Syntax);
        }
        let n = int_arg(args.get(i + 1))?;
        samples = match n {
            0 => usize::MAX,
            n if n < 0 => return Err(CmdError::Syntax),
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        i += 2;
    }
    // Like Redis, the table as it is: no expiry, no keyspace hit.
    let size = ctx.store.dbs[ctx.db_index()]
        .get_raw(args.get(2))
        .map(|e| entry_size(e, samples));
    match size {
        Some(n) => ctx.out().int(n as i64),
        None => ctx.out().null(),
    }
    Ok(())
}

/// What one key costs: its slot, its key's and value's buffers.
pub fn entry_size(entry: &Entry, samples: usize) -> usize {
    // The slot, the index's 4-byte slot number with its control byte.
    size_of::<Option<Entry>>() + 5 + entry.key.heap_size() + entry.value.heap_size(samples)
}

fn stats(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let m = MemoryFigures::now(ctx.store, ctx.state);
    let dbs: Vec<(usize, usize, usize)> = ctx
        .store
        .dbs
        .iter()
        .enumerate()
        .filter(|(_, db)| !db.is_empty())
        .map(|(i, db)| {
            (
                i,
                db.len() * (size_of::<Option<Entry>>() + 5),
                db.expires_len() * 4,
            )
        })
        .collect();
    let per_key = m
        .used
        .saturating_sub(m.startup)
        .checked_div(m.keys)
        .unwrap_or(0);
    let frag = m.fragmentation();
    let frag_bytes = m.rss as i64 - m.used as i64;
    let dataset_pct = MemoryFigures::percent(m.dataset, m.used.saturating_sub(m.startup));
    // Redis's fields in Redis's order; the databases go where `Dbs` is.
    let fields = [
        ("peak.allocated", Stat::Int(m.peak as i64)),
        ("total.allocated", Stat::Int(m.used as i64)),
        ("startup.allocated", Stat::Int(m.startup as i64)),
        ("replication.backlog", Stat::Int(0)),
        ("clients.slaves", Stat::Int(0)),
        ("clients.normal", Stat::Int(m.clients as i64)),
        ("cluster.links", Stat::Int(0)),
        ("aof.buffer", Stat::Int(0)),
        ("lua.caches", Stat::Int(0)),
        ("functions.caches", Stat::Int(0)),
        ("", Stat::Dbs),
        ("overhead.total", Stat::Int(m.overhead as i64)),
        ("keys.count", Stat::Int(m.keys as i64)),
        ("keys.bytes-per-key", Stat::Int(per_key as i64)),
        ("dataset.bytes", Stat::Int(m.dataset as i64)),
        ("dataset.percentage", Stat::Double(dataset_pct)),
        (
            "peak.percentage",
            Stat::Double(MemoryFigures::percent(m.used, m.peak)),
        ),
        ("allocator.allocated", Stat::Int(m.used as i64)),
        ("allocator.active", Stat::Int(m.used as i64)),
        ("allocator.resident", Stat::Int(m.rss as i64)),
        ("allocator-fragmentation.ratio", Stat::Double(1.0)),
        ("allocator-fragmentation.bytes", Stat::Int(0)),
        ("allocator-rss.ratio", Stat::Double(frag)),
        ("allocator-rss.bytes", Stat::Int(frag_bytes)),
        ("rss-overhead.ratio", Stat::Double(1.0)),
        ("rss-overhead.bytes", Stat::Int(0)),
        ("fragmentation", Stat::Double(frag)),
        ("fragmentation.bytes", Stat::Int(frag_bytes)),
    ];
    let out = ctx.out();
    out.map(fields.len() - 1 + dbs.len());
    for (name, stat) in fields {
        match stat {
            Stat::Int(n) => {
                out.bulk(name.as_bytes());
                out.int(n);
            }
            Stat::Double(x) => {
                out.bulk(name.as_bytes());
                out.double(x);
            }
            Stat::Dbs => {
                for &(i, main, expires) in &dbs {
                    out.bulk(format!("db.{i}").as_bytes());
                    out.map(3);
                    out.bulk(b"overhead.hashtable.main");
                    out.int(main as i64);
                    out.bulk(b"overhead.hashtable.expires");
                    out.int(expires as i64);
                    out.bulk(b"overhead.hashtable.slot-to-keys");
                    out.int(0);
                }
            }
        }
    }
    Ok(())
}

/// One value of MEMORY STATS.
enum Stat {
    Int(i64),
    Double(f64),
    /// The per-database maps.
    Dbs,
}

/// Redis's `getMemoryDoctorReport`, with the checks that apply to what
/// rizzler has (no replicas, no scripts yet).
fn doctor(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let m = MemoryFigures::now(ctx.store, ctx.state);
    let mut issues = Vec::new();
    let empty = m.used < 5 << 20;
    if !empty {
        if m.peak as f64 / m.used as f64 > 1.5 {
            issues.push(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n".to_string());
        }
        if m.fragmentation() > 1.4 && m.rss.saturating_sub(m.used) > 10 << 20 {
            issues.push(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"libc\".\n\n".to_string());
        }
        let clients = ctx.state.clients.len().max(1) as u64;
        if m.clients / clients > 200 << 10 {
            issues.push(" * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n".to_string());
        }
    }
    let text = if empty {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".to_string()
    } else if issues.is_empty() {
        "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".to_string()
    } else {
        let mut s =
            "Sam, I detected a few issues in this Redis instance memory implants:\n\n".to_string();
        for issue in issues {
            s.push_str(&issue);
        }
        s.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
        s
    };
    ctx.out().verbatim(text.as_bytes());
    Ok(())
}

fn malloc_stats(ctx: &mut Ctx, _args: Args) -> CmdResult {
    // What Redis answers when built without jemalloc, as rizzler is.
    ctx.out()
        .bulk(b"Stats not supported for the current allocator");
    Ok(())
}

fn purge(ctx: &mut Ctx, _args: Args) -> CmdResult {
    ctx.out().ok();
    Ok(())
}

fn help(ctx: &mut Ctx, _args: Args) -> CmdResult {
    help_reply(
        ctx.out(),
        "memory",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
    Ok(())
}
