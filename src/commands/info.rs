//! INFO's text: Redis 7.0's sections and field names, so redis-cli, INFO
//! parsers and exporters read rizzler as they read Redis.
//!
//! Fields for machinery rizzler does not have (replication, forks, Lua,
//! active defrag, cluster) are present with the values an idle Redis
//! without that machinery reports, because tools look fields up by name.
//! `used_memory` is the counting allocator's exact figure (`crate::alloc`);
//! `used_memory_rss` is the resident set from `/proc`.

use std::fmt::Write;

use crate::alloc::allocated;
use crate::server::State;
use crate::store::Store;

/// The Redis version rizzler is compatible with, reported where clients
/// read a server version (INFO `redis_version`, HELLO `version`). Client
/// libraries gate features on it, so it names the protocol rizzler speaks;
/// rizzler's own version is INFO's `rizzler_version`.
pub const REDIS_VERSION: &str = "7.0.15";

/// The sections, in the order INFO prints them.
const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// The sections `all` adds to the default ones.
const NOT_DEFAULT: &[&str] = &["commandstats", "latencystats"];

fn default_sections() -> impl Iterator<Item = String> {
    SECTIONS
        .iter()
        .filter(|s| !NOT_DEFAULT.contains(s))
        .map(|s| s.to_string())
}

/// Which sections a request selects (Redis's `genInfoSectionDict`): none
/// given means the defaults; `all`, `everything` and `default` add theirs;
/// names match in any case; unknown names select nothing.
pub struct Selection {
    all: bool,
    names: Vec<String>,
}

impl Selection {
    pub fn parse<'a>(args: impl Iterator<Item = &'a [u8]>) -> Selection {
        let mut sel = Selection {
            all: false,
            names: Vec::new(),
        };
        let mut any = false;
        for arg in args {
            any = true;
            let name = String::from_utf8_lossy(arg).to_ascii_lowercase();
            match name.as_str() {
                "all" | "everything" => sel.all = true,
                "default" => sel.names.extend(default_sections()),
                // Redis's default list calls the modules section module_list.
                "module_list" => sel.names.push("modules".into()),
                _ => sel.names.push(name),
            }
        }
        if !any {
            sel.names.extend(default_sections());
        }
        sel
    }

    fn has(&self, section: &str) -> bool {
        self.all || self.names.iter().any(|n| n == section)
    }
}

/// What INFO reports about the caller and the machine, gathered outside the
/// store borrow.
pub struct Context {
    pub now_ms: u64,
}

/// The whole INFO reply text for `sel`.
pub fn render(store: &Store, state: &State, sel: &Selection, ctx: &Context) -> String {
    let mut out = String::new();
    for &section in SECTIONS {
        if !sel.has(section) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        match section {
            "server" => server(&mut out, state, ctx),
            "clients" => clients(&mut out, state),
            "memory" => memory(&mut out, store, state),
            "persistence" => persistence(&mut out, state),
            "stats" => stats(&mut out, store, state),
            "replication" => replication(&mut out, state),
            "cpu" => cpu(&mut out),
            "modules" => out.push_str("# Modules\r\n"),
            "commandstats" => commandstats(&mut out, state),
            "errorstats" => errorstats(&mut out, state),
            // Per-command latency histograms are not kept (yet).
            "latencystats" => out.push_str("# Latencystats\r\n"),
            "cluster" => out.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
            "keyspace" => keyspace(&mut out, store, ctx),
            _ => {}
        }
    }
    out
}

/// `name:value\r\n` lines.
macro_rules! fields {
    ($out:expr, $($name:literal => $value:expr),* $(,)?) => {
        $( let _ = write!($out, concat!($name, ":{}\r\n"), $value); )*
    };
}

fn server(out: &mut String, state: &State, ctx: &Context) {
    let uptime = ctx.now_ms.saturating_sub(state.stats.start_ms) / 1000;
    let (sysname, release, machine) = uname();
    let config_file = state
        .config
        .config_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let executable = std::env::current_exe()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.push_str("# Server\r\n");
    fields!(out,
        "redis_version" => REDIS_VERSION,
        "redis_git_sha1" => "00000000",
        "redis_git_dirty" => 0,
        "redis_build_id" => "0",
        "redis_mode" => "standalone",
        "os" => format!("{sysname} {release} {machine}"),
        "arch_bits" => usize::BITS,
        "monotonic_clock" => "POSIX clock_gettime",
        "multiplexing_api" => state.io_backend,
        "atomicvar_api" => "c11-builtin",
        "gcc_version" => "0.0.0",
        "process_id" => std::process::id(),
        "process_supervised" => "no",
        "run_id" => state.run_id,
        "tcp_port" => state.config.port,
        "server_time_usec" => crate::util::now_us(),
        "uptime_in_seconds" => uptime,
        "uptime_in_days" => uptime / 86400,
        "hz" => state.hz(),
        "configured_hz" => state.config.hz,
        "lru_clock" => (ctx.now_ms / 1000) & ((1 << 24) - 1),
        "executable" => executable,
        "config_file" => config_file,
        "io_threads_active" => 0,
        "rizzler_version" => env!("CARGO_PKG_VERSION"),
        "io_backend" => state.io_backend,
    );
}

fn live_clients(state: &State) -> impl Iterator<Item = &crate::server::Client> {
    state.clients.iter().map(|(_, c)| c).filter(|c| !c.closing)
}

fn clients(out: &mut String, state: &State) {
    let max_out = live_clients(state)
        .map(|c| c.output_memory())
        .max()
        .unwrap_or(0);
    out.push_str("# Clients\r\n");
    fields!(out,
        "connected_clients" => live_clients(state).count(),
        "cluster_connections" => 0,
        "maxclients" => state.config.maxclients,
        "client_recent_max_input_buffer" => 0,
        "client_recent_max_output_buffer" => max_out,
        // Redis counts the clients CLIENT PAUSE postponed too.
        "blocked_clients" => state.blocking.count() + state.pause.postponed(),
        "tracking_clients" => state.tracking.clients(),
        "clients_in_timeout_table" => 0,
    );
}

/// Redis's `bytesToHuman`.
pub fn bytes_to_human(n: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (1 << 10, "K"),
        (1 << 20, "M"),
        (1 << 30, "G"),
        (1 << 40, "T"),
        (1 << 50, "P"),
    ];
    if n < 1024 {
        return format!("{n}B");
    }
    for (i, &(size, unit)) in UNITS.iter().enumerate() {
        let next = UNITS.get(i + 1).map_or(1u64 << 60, |u| u.0);
        if n < next {
            return format!("{:.2}{unit}", n as f64 / size as f64);
        }
    }
    format!("{n}B")
}

fn total_system_memory() -> u64 {
    crate::util::proc_kib_field("/proc/meminfo", "MemTotal:")
}

/// What the memory figures are made of, shared by INFO memory and MEMORY
/// STATS.
pub struct MemoryFigures {
    pub used: u64,
    pub rss: u64,
    pub peak: u64,
    pub startup: u64,
    /// Reply buffers of normal clients.
    pub clients: u64,
    /// Everything that is not the dataset: start-up memory and clients.
    pub overhead: u64,
    pub dataset: u64,
    pub keys: u64,
}

impl MemoryFigures {
    pub fn now(store: &Store, state: &State) -> MemoryFigures {
        let used = allocated();
        let rss = crate::util::rss_bytes();
        let clients: u64 = live_clients(state)
            .map(|c| (c.out.buf.capacity() - c.out.buf.len() + c.output_memory()) as u64)
            .sum();
        let startup = state.startup_memory;
        let overhead = startup + clients;
        MemoryFigures {
            used,
            rss,
            peak: state.peak_memory.max(used),
            startup,
            clients,
            overhead,
            dataset: used.saturating_sub(overhead),
            keys: store.total_keys() as u64,
        }
    }

    /// RSS over allocated bytes, as Redis's `mem_fragmentation_ratio`.
    pub fn fragmentation(&self) -> f64 {
        if self.used == 0 {
            0.0
        } else {
            self.rss as f64 / self.used as f64
        }
    }

    pub fn percent(part: u64, whole: u64) -> f64 {
        if whole == 0 {
            0.0
        } else {
            part as f64 * 100.0 / whole as f64
        }
    }
}

fn memory(out: &mut String, store: &Store, state: &State) {
    let m = MemoryFigures::now(store, state);
    let total = total_system_memory();
    let pct = MemoryFigures::percent;
    let scripting = &state.scripting;
    let (vm_eval, vm_functions) = (scripting.memory(), scripting.functions.memory());
    let vm_total = vm_eval + vm_functions;
    out.push_str("# Memory\r\n");
    fields!(out,
        "used_memory" => m.used,
        "used_memory_human" => bytes_to_human(m.used),
        "used_memory_rss" => m.rss,
        "used_memory_rss_human" => bytes_to_human(m.rss),
        "used_memory_peak" => m.peak,
        "used_memory_peak_human" => bytes_to_human(m.peak),
        "used_memory_peak_perc" => format!("{:.2}%", pct(m.used, m.peak)),
        "used_memory_overhead" => m.overhead,
        "used_memory_startup" => m.startup,
        "used_memory_dataset" => m.dataset,
        "used_memory_dataset_perc" => format!("{:.2}%", pct(m.dataset, m.used.saturating_sub(m.startup))),
        "allocator_allocated" => m.used,
        "allocator_active" => m.used,
        "allocator_resident" => m.rss,
        "total_system_memory" => total,
        "total_system_memory_human" => bytes_to_human(total),
        "used_memory_lua" => vm_eval,
        "used_memory_vm_eval" => vm_eval,
        "used_memory_lua_human" => bytes_to_human(vm_eval as u64),
        "used_memory_scripts_eval" => 0,
        "number_of_cached_scripts" => scripting.cached(),
        "number_of_functions" => scripting.functions.function_count(),
        "number_of_libraries" => scripting.functions.libraries.len(),
        "used_memory_vm_functions" => vm_functions,
        "used_memory_vm_total" => vm_total,
        "used_memory_vm_total_human" => bytes_to_human(vm_total as u64),
        "used_memory_functions" => 0,
        "used_memory_scripts" => 0,
        "used_memory_scripts_human" => "0B",
        "maxmemory" => state.config.maxmemory,
        "maxmemory_human" => bytes_to_human(state.config.maxmemory),
        "maxmemory_policy" => state.config.maxmemory_policy.name(),
        "allocator_frag_ratio" => "1.00",
        "allocator_frag_bytes" => 0,
        "allocator_rss_ratio" => format!("{:.2}", m.fragmentation()),
        "allocator_rss_bytes" => m.rss as i64 - m.used as i64,
        "rss_overhead_ratio" => "1.00",
        "rss_overhead_bytes" => 0,
        "mem_fragmentation_ratio" => format!("{:.2}", m.fragmentation()),
        "mem_fragmentation_bytes" => m.rss as i64 - m.used as i64,
        "mem_not_counted_for_evict" => crate::evict::not_counted(store, state),
        "mem_replication_backlog" => 0,
        "mem_total_replication_buffers" => 0,
        "mem_clients_slaves" => 0,
        "mem_clients_normal" => m.clients,
        "mem_cluster_links" => 0,
        "mem_aof_buffer" => crate::persist::aof::info_sizes(state).map_or(0, |(_, _, b)| b),
        "mem_allocator" => "libc",
        "active_defrag_running" => 0,
        "lazyfree_pending_objects" => 0,
        "lazyfreed_objects" => 0,
    );
}

fn persistence(out: &mut String, state: &State) {
    out.push_str("# Persistence\r\n");
    let p = &state.persistence;
    let saving = p.saving.as_ref();
    let (processed, total, secs) = saving.map_or((0, 0, -1), |s| s.progress());
    let status = |ok: bool| if ok { "ok" } else { "err" };
    let aof = state.aof.as_ref();
    let rewriting = aof.and_then(|a| a.rewrite_started);
    fields!(out,
        "loading" => u8::from(p.is_loading()),
        "async_loading" => 0,
        "current_cow_peak" => 0,
        "current_cow_size" => 0,
        "current_cow_size_age" => 0,
        "current_fork_perc" => "0.00",
        "current_save_keys_processed" => processed,
        "current_save_keys_total" => total,
        "rdb_changes_since_last_save" => state.changes_since_save,
        "rdb_bgsave_in_progress" => u8::from(saving.is_some()),
        "rdb_last_save_time" => state.lastsave,
        "rdb_last_bgsave_status" => status(p.last_bgsave_ok),
        "rdb_last_bgsave_time_sec" => p.last_bgsave_secs,
        "rdb_current_bgsave_time_sec" => secs,
        "rdb_saves" => p.saves,
        "rdb_last_cow_size" => 0,
        "rdb_last_load_keys_expired" => p.loaded_expired,
        "rdb_last_load_keys_loaded" => p.loaded_keys,
        "aof_enabled" => u8::from(aof.is_some()),
        "aof_rewrite_in_progress" => u8::from(rewriting.is_some()),
        "aof_rewrite_scheduled" => u8::from(aof.is_some_and(|a| a.rewrite_scheduled)),
        "aof_last_rewrite_time_sec" => aof.map_or(-1, |a| a.last_rewrite_secs),
        "aof_current_rewrite_time_sec" => rewriting.map_or(-1, |t| t.elapsed().as_secs() as i64),
        "aof_last_bgrewrite_status" => status(aof.is_none_or(|a| a.last_rewrite_ok)),
        "aof_rewrites" => aof.map_or(0, |a| a.rewrites),
        "aof_rewrites_consecutive_failures" => 0,
        "aof_last_write_status" => status(crate::persist::aof::write_error(state).is_none()),
        "aof_last_cow_size" => 0,
        "module_fork_in_progress" => 0,
        "module_fork_last_cow_size" => 0,
    );
    if let Some(l) = &p.loading {
        fields!(out,
            "loading_start_time" => l.started_unix,
            "loading_total_bytes" => l.bytes,
            "loading_loaded_keys" => l.keys,
        );
    }
    if let Some((size, base, buffered)) = crate::persist::aof::info_sizes(state) {
        fields!(out,
            "aof_current_size" => size + base,
            "aof_base_size" => base,
            "aof_pending_rewrite" => 0,
            "aof_buffer_length" => buffered,
            "aof_pending_bio_fsync" => 0,
            "aof_delayed_fsync" => 0,
        );
    }
}

fn stats(out: &mut String, store: &Store, state: &State) {
    let s = &state.stats;
    let keyspace = &store.stats;
    let pubsub = state.pubsub.sizes();
    out.push_str("# Stats\r\n");
    fields!(out,
        "total_connections_received" => s.connections_received,
        "total_commands_processed" => s.commands_processed,
        "instantaneous_ops_per_sec" => s.inst.ops_per_sec(),
        "total_net_input_bytes" => s.net_input_bytes,
        "total_net_output_bytes" => s.net_output_bytes,
        "total_net_repl_input_bytes" => 0,
        "total_net_repl_output_bytes" => 0,
        "instantaneous_input_kbps" => format!("{:.2}", s.inst.input_bytes_per_sec() as f64 / 1024.0),
        "instantaneous_output_kbps" => format!("{:.2}", s.inst.output_bytes_per_sec() as f64 / 1024.0),
        "instantaneous_input_repl_kbps" => "0.00",
        "instantaneous_output_repl_kbps" => "0.00",
        "rejected_connections" => s.rejected_connections,
        "sync_full" => 0,
        "sync_partial_ok" => 0,
        "sync_partial_err" => 0,
        "expired_keys" => keyspace.expired,
        "expired_stale_perc" => "0.00",
        "expired_time_cap_reached_count" => 0,
        "expire_cycle_cpu_milliseconds" => 0,
        "evicted_keys" => keyspace.evicted,
        "evicted_clients" => 0,
        "total_eviction_exceeded_time" => 0,
        "current_eviction_exceeded_time" => 0,
        "keyspace_hits" => keyspace.hits,
        "keyspace_misses" => keyspace.misses,
        "pubsub_channels" => pubsub.0,
        "pubsub_patterns" => pubsub.1,
        "pubsubshard_channels" => pubsub.2,
        "latest_fork_usec" => 0,
        "total_forks" => 0,
        "migrate_cached_sockets" => 0,
        "slave_expires_tracked_keys" => 0,
        "active_defrag_hits" => 0,
        "active_defrag_misses" => 0,
        "active_defrag_key_hits" => 0,
        "active_defrag_key_misses" => 0,
        "total_active_defrag_time" => 0,
        "current_active_defrag_time" => 0,
        "tracking_total_keys" => state.tracking.total_keys(),
        "tracking_total_items" => state.tracking.total_items(),
        "tracking_total_prefixes" => state.tracking.total_prefixes(),
        "unexpected_error_replies" => 0,
        "total_error_replies" => s.error_replies,
        "dump_payload_sanitizations" => 0,
        "total_reads_processed" => 0,
        "total_writes_processed" => 0,
        "io_threaded_reads_processed" => 0,
        "io_threaded_writes_processed" => 0,
        "reply_buffer_shrinks" => 0,
        "reply_buffer_expands" => 0,
    );
}

fn replication(out: &mut String, state: &State) {
    out.push_str("# Replication\r\n");
    fields!(out,
        "role" => "master",
        "connected_slaves" => 0,
        "master_failover_state" => "no-failover",
        "master_replid" => state.replid,
        "master_replid2" => "0000000000000000000000000000000000000000",
        "master_repl_offset" => 0,
        "second_repl_offset" => -1,
        "repl_backlog_active" => 0,
        "repl_backlog_size" => 1048576,
        "repl_backlog_first_byte_offset" => 0,
        "repl_backlog_histlen" => 0,
    );
}

/// User and system CPU time of a process or thread, and of its waited-for
/// children, in clock ticks, from a `/proc/.../stat` file (fields 14-17).
/// Read from /proc rather than getrusage so this file needs no `unsafe`.
fn cpu_ticks(path: &str) -> [u64; 4] {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    // The command name, field 2, may hold spaces: count from its ')'.
    let fields: Vec<u64> = text
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .skip(11)
                .take(4)
                .filter_map(|f| f.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    [0, 1, 2, 3].map(|i| fields.get(i).copied().unwrap_or(0))
}

/// `sec.usec` of a CPU time in clock ticks (100 a second on Linux), as
/// Redis prints a `getrusage` time.
fn tv(ticks: u64) -> String {
    format!("{}.{:06}", ticks / 100, (ticks % 100) * 10_000)
}

fn cpu(out: &mut String) {
    let [utime, stime, child_utime, child_stime] = cpu_ticks("/proc/self/stat");
    // Commands run on the thread that answers INFO: the event loop's.
    let [main_utime, main_stime, ..] = cpu_ticks("/proc/thread-self/stat");
    out.push_str("# CPU\r\n");
    fields!(out,
        "used_cpu_sys" => tv(stime),
        "used_cpu_user" => tv(utime),
        "used_cpu_sys_children" => tv(child_stime),
        "used_cpu_user_children" => tv(child_utime),
        "used_cpu_sys_main_thread" => tv(main_stime),
        "used_cpu_user_main_thread" => tv(main_utime),
    );
}

/// Redis's `getSafeInfoString`: `#`, `:` and line breaks would break the
/// `field:value` format.
fn safe_info_string(s: &[u8]) -> String {
    String::from_utf8_lossy(s)
        .chars()
        .map(|c| match c {
            '#' | ':' | '\r' | '\n' => '_',
            c => c,
        })
        .collect()
}

fn commandstats(out: &mut String, state: &State) {
    out.push_str("# Commandstats\r\n");
    // Redis lists them in its command dict's order; sorted is as good and
    // stable.
    let mut rows: Vec<(String, &crate::server::CommandStats)> = state
        .stats
        .commands
        .iter()
        .filter(|r| r.calls > 0 || r.failed_calls > 0 || r.rejected_calls > 0)
        .map(|r| (super::meta::resolve_row(r.cmd).full_name(), r))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, r) in rows {
        let usec = r.usec();
        let per_call = if r.calls == 0 {
            0.0
        } else {
            usec as f32 / r.calls as f32
        };
        let _ = write!(
            out,
            "cmdstat_{}:calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}\r\n",
            safe_info_string(name.as_bytes()),
            r.calls,
            usec,
            r.rejected_calls,
            r.failed_calls
        );
    }
}

fn errorstats(out: &mut String, state: &State) {
    out.push_str("# Errorstats\r\n");
    for (code, count) in &state.stats.errors {
        let _ = write!(
            out,
            "errorstat_{}:count={count}\r\n",
            safe_info_string(code)
        );
    }
}

fn keyspace(out: &mut String, store: &Store, ctx: &Context) {
    out.push_str("# Keyspace\r\n");
    for (i, db) in store.dbs.iter().enumerate() {
        let (keys, expires) = (db.len(), db.expires_len());
        if keys > 0 || expires > 0 {
            let _ = write!(
                out,
                "db{i}:keys={keys},expires={expires},avg_ttl={}\r\n",
                db.avg_ttl(ctx.now_ms)
            );
        }
    }
}

/// `uname`'s system name, release and machine, from /proc (no `unsafe`).
fn uname() -> (String, String, String) {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let sysname = read("/proc/sys/kernel/ostype");
    let sysname = if sysname.is_empty() {
        "Linux".to_string()
    } else {
        sysname
    };
    (
        sysname,
        read("/proc/sys/kernel/osrelease"),
        std::env::consts::ARCH.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_to_human_matches_redis() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1024), "1.00K");
        assert_eq!(bytes_to_human(1560576), "1.49M");
        assert_eq!(bytes_to_human(25276510208), "23.54G");
    }

    #[test]
    fn selection_follows_redis() {
        let none = Selection::parse(std::iter::empty());
        assert!(none.has("server") && none.has("keyspace"));
        let one = Selection::parse([&b"KEYSPACE"[..]].into_iter());
        assert!(one.has("keyspace") && !one.has("server"));
        let unknown = Selection::parse([&b"nosuch"[..]].into_iter());
        assert!(SECTIONS.iter().all(|s| !unknown.has(s)));
        let all = Selection::parse([&b"all"[..]].into_iter());
        assert!(SECTIONS.iter().all(|s| all.has(s)));
    }
}
