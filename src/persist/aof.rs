//! The append-only file, laid out as Redis 7.0 lays it out (multi-part).
//!
//! `dir/appendonlydir/` holds a base file (a snapshot: RDB, or commands),
//! incremental files of commands appended since, and a manifest naming
//! them in order:
//!
//! ```text
//! file appendonly.aof.1.base.rdb seq 1 type b
//! file appendonly.aof.1.incr.aof seq 1 type i
//! ```
//!
//! The commands are the write path's propagation stream: the AOF is one
//! more [`Observer`], turning each unit into RESP (SELECT when the database
//! changes, MULTI/EXEC around a unit of several operations) in a buffer.
//! The backends call [`flush`] at the end of every batch, before any reply
//! of that batch is handed to the kernel, so a client never hears of a
//! write the AOF has not got:
//!
//! - `appendfsync always`: the batch's bytes are written and fdatasync'ed
//!   before its replies go; every client of the batch shares that one
//!   fsync (group commit). A failed write or fsync stops the server, as
//!   Redis does, rather than answer for data it may not have.
//! - `everysec`: written at once, fsynced by a background thread once a
//!   second, so a power loss costs about a second.
//! - `no`: written at once, fsynced when the kernel likes.
//!
//! A failed write under everysec or no keeps the bytes, refuses writes
//! with `-MISCONF` and tries again until it succeeds.
//!
//! BGREWRITEAOF opens a new incremental file at once (later commands go
//! there), then writes a new base with the background snapshot machinery
//! and, when it is done, a manifest that drops the old base and the old
//! incremental files. A crash at any point leaves a manifest whose files
//! are all there.

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::LoadError;
use crate::effects::{Observer, Unit};
use crate::server::{Server, State};
use crate::store::{Event, Store};

/// Redis's manifest name suffix and file kinds.
const MANIFEST_SUFFIX: &str = ".manifest";

/// How `appendfsync` asks the AOF to be synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    Always,
    EverySec,
    No,
}

impl Fsync {
    pub fn parse(v: &str) -> Fsync {
        match v {
            "always" => Fsync::Always,
            "no" => Fsync::No,
            _ => Fsync::EverySec,
        }
    }
}

/// The files of one AOF, in order (the manifest).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The base file's name and sequence number.
    pub base: Option<(String, u64)>,
    /// The incremental files, oldest first, with their sequence numbers.
    pub incrs: Vec<(String, u64)>,
}

impl Manifest {
    /// Reads a manifest: `file <name> seq <n> type <b|h|i>` lines. History
    /// files (`h`) are ones a rewrite left behind: not loaded.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split(' ').collect();
            let bad = || format!("invalid manifest line {}: {line:?}", n + 1);
            if !words.len().is_multiple_of(2) {
                return Err(bad());
            }
            let (mut name, mut seq, mut kind) = (None, None, None);
            for pair in words.chunks(2) {
                match pair[0] {
                    "file" => name = Some(pair[1].to_string()),
                    "seq" => seq = pair[1].parse::<u64>().ok(),
                    "type" => kind = Some(pair[1]),
                    _ => {}
                }
            }
            let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
                return Err(bad());
            };
            if name.contains('/') || name.is_empty() {
                return Err(bad());
            }
            match kind {
                "b" if m.base.is_none() => m.base = Some((name, seq)),
                "b" => return Err(format!("more than one base file (line {})", n + 1)),
                "i" => {
                    if m.incrs.last().is_some_and(|(_, s)| *s >= seq) {
                        return Err(format!("incremental files out of order (line {})", n + 1));
                    }
                    m.incrs.push((name, seq));
                }
                "h" => {}
                _ => return Err(bad()),
            }
        }
        if m.base.is_none() && m.incrs.is_empty() {
            return Err("the manifest lists no files".into());
        }
        Ok(m)
    }

    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Some((name, seq)) = &self.base {
            text.push_str(&format!("file {name} seq {seq} type b\n"));
        }
        for (name, seq) in &self.incrs {
            text.push_str(&format!("file {name} seq {seq} type i\n"));
        }
        text
    }

    fn next_incr_seq(&self) -> u64 {
        self.incrs.last().map_or(1, |(_, s)| s + 1)
    }

    fn next_base_seq(&self) -> u64 {
        self.base.as_ref().map_or(1, |(_, s)| s + 1)
    }
}

/// Commands waiting for the end of the batch, shared between the observer
/// and [`Aof`].
#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    /// The database the file's last SELECT chose.
    db: Option<usize>,
    /// The AOF was turned off: the feed stops.
    closed: bool,
}

/// The AOF's [`Observer`]: the propagation stream as RESP.
struct Feed(Rc<RefCell<Pending>>);

impl Observer for Feed {
    fn retired(&self) -> bool {
        self.0.borrow().closed
    }

    fn observe(&mut self, _events: &[Event], unit: Unit) {
        let p = &mut *self.0.borrow_mut();
        if unit.ops.is_empty() || p.closed {
            return;
        }
        let wrap = unit.atomic && unit.ops.len() > 1;
        if wrap {
            command(&mut p.buf, [&b"MULTI"[..]]);
        }
        for op in unit.ops {
            if p.db != Some(op.db) {
                let db = op.db.to_string();
                command(&mut p.buf, [&b"SELECT"[..], db.as_bytes()]);
                p.db = Some(op.db);
            }
            command(&mut p.buf, op.argv.iter().map(|a| &a[..]));
        }
        if wrap {
            command(&mut p.buf, [&b"EXEC"[..]]);
        }
    }
}

/// Appends one command in RESP.
fn command<'a>(out: &mut Vec<u8>, argv: impl IntoIterator<Item = &'a [u8]> + Clone) {
    let n = argv.clone().into_iter().count();
    out.extend_from_slice(format!("*{n}\r\n").as_bytes());
    for a in argv {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// The background fsync of `everysec`.
struct Syncer {
    tx: Sender<Arc<File>>,
    busy: Arc<AtomicBool>,
    error: Arc<Mutex<Option<String>>>,
}

impl Syncer {
    fn spawn() -> std::io::Result<Syncer> {
        let (tx, rx) = mpsc::channel::<Arc<File>>();
        let busy = Arc::new(AtomicBool::new(false));
        let error = Arc::new(Mutex::new(None));
        let (b, e) = (busy.clone(), error.clone());
        std::thread::Builder::new()
            .name("rizzler-fsync".into())
            .spawn(move || {
                for file in rx {
                    let result = file.sync_data();
                    if let Ok(mut slot) = e.lock() {
                        *slot = result.err().map(|e| e.to_string());
                    }
                    b.store(false, Ordering::Release);
                }
            })?;
        Ok(Syncer { tx, busy, error })
    }
}

/// The open AOF.
pub struct Aof {
    /// `dir/appenddirname`.
    dir: PathBuf,
    /// `appendfilename`: the files' prefix.
    prefix: String,
    pub manifest: Manifest,
    /// The sequence number the next base file takes.
    next_base_seq: u64,
    /// The incremental file being appended to.
    file: Arc<File>,
    /// Its length as far as writes succeeded.
    size: u64,
    pending: Rc<RefCell<Pending>>,
    syncer: Option<Syncer>,
    last_fsync: Instant,
    /// `aof_last_write_status`: the last write's error, if it failed.
    pub write_error: Option<String>,
    last_error_log: Option<Instant>,
    /// The rewrite in progress: the manifest it will install.
    pub rewriting: Option<Manifest>,
    pub rewrites: u64,
    pub last_rewrite_ok: bool,
    pub last_rewrite_secs: i64,
    pub rewrite_started: Option<Instant>,
    pub rewrite_scheduled: bool,
    /// The base's size at the last rewrite (INFO `aof_base_size`).
    pub base_size: u64,
}

fn io_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

impl Aof {
    fn incr_name(&self, seq: u64) -> String {
        format!("{}.{seq}.incr.aof", self.prefix)
    }

    fn base_name(&self, seq: u64) -> String {
        format!("{}.{seq}.base.rdb", self.prefix)
    }

    fn manifest_path(&self) -> PathBuf {
        self.dir.join(format!("{}{MANIFEST_SUFFIX}", self.prefix))
    }

    /// Writes the manifest atomically: a temporary file, fsync, rename,
    /// fsync of the directory.
    fn write_manifest(&self, m: &Manifest) -> Result<(), String> {
        let path = self.manifest_path();
        let tmp = self
            .dir
            .join(format!("temp-{}{MANIFEST_SUFFIX}", self.prefix));
        let fail = |what: &str, e: std::io::Error| {
            format!("can't {what} {}: {}", tmp.display(), io_text(&e))
        };
        let mut f = File::create(&tmp).map_err(|e| fail("create", e))?;
        f.write_all(m.render().as_bytes())
            .map_err(|e| fail("write", e))?;
        f.sync_all().map_err(|e| fail("fsync", e))?;
        std::fs::rename(&tmp, &path).map_err(|e| fail("rename", e))?;
        sync_dir(&self.dir)
    }

    /// Opens incremental file `name` for appending. A `fresh` one starts
    /// empty: a file of that name that no manifest lists (left by a
    /// rewrite that never finished) must not bring its old commands along.
    fn open_incr(dir: &Path, name: &str, fresh: bool) -> Result<(Arc<File>, u64), String> {
        let path = dir.join(name);
        if fresh {
            File::create(&path)
                .map_err(|e| format!("can't create {}: {}", path.display(), io_text(&e)))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("can't open {}: {}", path.display(), io_text(&e)))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok((Arc::new(file), size))
    }
}

fn sync_dir(dir: &Path) -> Result<(), String> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("can't fsync {}: {}", dir.display(), io_text(&e)))
}

/// `dir/appenddirname`.
fn aof_dir(state: &State) -> PathBuf {
    Path::new(&state.config.dir).join(&state.config.appenddirname)
}

/// Appends the batch's commands to the file (and fsyncs them under
/// `always`). Called by the backends after every batch, before its
/// replies are sent.
pub fn flush(state: &mut State) {
    let Some(aof) = state.aof.as_mut() else {
        return;
    };
    let policy = Fsync::parse(&state.config.appendfsync);
    let mut pending = aof.pending.borrow_mut();
    if !pending.buf.is_empty() {
        if aof.write_error.is_some()
            && aof
                .last_error_log
                .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            // Failing: retry once a second, not on every batch.
            return;
        }
        match (&*aof.file).write_all(&pending.buf) {
            Ok(()) => {
                aof.size += pending.buf.len() as u64;
                pending.buf.clear();
                if aof.write_error.take().is_some() {
                    tracing::warn!("AOF write error looks solved, Redis can write again.");
                }
            }
            Err(e) => {
                let why = io_text(&e);
                if policy == Fsync::Always {
                    tracing::error!("Can't recover from AOF write error when the AOF fsync policy is 'always' ({why}). Exiting...");
                    std::process::exit(1);
                }
                // Cut any partial command off, and keep the bytes for the
                // next try.
                let _ = aof.file.set_len(aof.size);
                tracing::warn!("Error writing to the AOF file: {why}");
                aof.write_error = Some(why);
                aof.last_error_log = Some(Instant::now());
                return;
            }
        }
        if policy == Fsync::Always {
            if let Err(e) = aof.file.sync_data() {
                tracing::error!("Can't persist AOF for fsync error when the AOF fsync policy is 'always': {}. Exiting...", io_text(&e));
                std::process::exit(1);
            }
            aof.last_fsync = Instant::now();
        }
    }
    drop(pending);
    if policy == Fsync::EverySec && aof.last_fsync.elapsed() >= Duration::from_secs(1) {
        if let Some(s) = &aof.syncer {
            if !s.busy.swap(true, Ordering::AcqRel) {
                let _ = s.tx.send(aof.file.clone());
                aof.last_fsync = Instant::now();
            }
        }
    }
}

/// Whether writes are refused because the AOF cannot be written (or its
/// background fsync failed): the error text, if so.
pub fn write_error(state: &State) -> Option<String> {
    let aof = state.aof.as_ref()?;
    if let Some(e) = &aof.write_error {
        return Some(e.clone());
    }
    let s = aof.syncer.as_ref()?;
    s.error.lock().ok()?.clone()
}

/// Makes sure everything written is on disk (SHUTDOWN).
pub fn sync_now(state: &mut State) {
    flush(state);
    if let Some(aof) = &state.aof {
        tracing::info!("Calling fsync() on the AOF file.");
        if let Err(e) = aof.file.sync_data() {
            tracing::warn!("Fail to fsync the AOF file: {}.", io_text(&e));
        }
    }
}

/// Starts the AOF at boot (`appendonly yes`): loads what the manifest
/// lists, or creates an empty AOF if there is none. Either way the AOF is
/// then open and fed by the propagation stream.
pub fn open_at_boot(server: &mut Server) -> Result<(), String> {
    let dir = aof_dir(&server.state);
    let prefix = server.state.config.appendfilename.clone();
    let manifest_path = dir.join(format!("{prefix}{MANIFEST_SUFFIX}"));
    let manifest = match std::fs::read_to_string(&manifest_path) {
        Ok(text) => Some(
            Manifest::parse(&text)
                .map_err(|e| format!("Bad AOF manifest {}: {e}", manifest_path.display()))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("can't read {}: {e}", manifest_path.display())),
    };
    match manifest {
        Some(m) => {
            // The files are checked (and a truncated tail cut) now; their
            // contents load in the loop while clients get -LOADING, and
            // the AOF opens for appending when they are in.
            let replay = prepare(&dir, &m)?;
            server.state.persistence.aof_load = Some(Box::new(Replay {
                files: replay.1,
                pos: 0,
                session: None,
                started: Instant::now(),
                then: Reopen {
                    dir,
                    prefix,
                    manifest: m,
                },
            }));
            if let Some(base) = replay.0 {
                super::snapshot::start_loading(server, base.0, base.1, true)?;
            }
        }
        None => {
            // No AOF yet: an empty base and a first incremental file, as
            // Redis creates them on a start with appendonly yes.
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("can't create {}: {}", dir.display(), io_text(&e)))?;
            let m = Manifest {
                base: None,
                incrs: vec![(format!("{prefix}.1.incr.aof"), 1)],
            };
            let (file, size) = Aof::open_incr(&dir, &m.incrs[0].0, true)?;
            let Server { store, state } = server;
            install(store, state, dir, prefix, m, file, size)?;
            write_first_base(server)?;
        }
    }
    Ok(())
}

fn install(
    store: &mut Store,
    state: &mut State,
    dir: PathBuf,
    prefix: String,
    manifest: Manifest,
    file: Arc<File>,
    size: u64,
) -> Result<(), String> {
    let pending = Rc::new(RefCell::new(Pending::default()));
    let syncer = Syncer::spawn().map_err(|e| format!("can't start the fsync thread: {e}"))?;
    state.aof = Some(Aof {
        dir,
        prefix,
        next_base_seq: manifest.next_base_seq(),
        manifest,
        file,
        size,
        pending: pending.clone(),
        syncer: Some(syncer),
        last_fsync: Instant::now(),
        write_error: None,
        last_error_log: None,
        rewriting: None,
        rewrites: 0,
        last_rewrite_ok: true,
        last_rewrite_secs: -1,
        rewrite_started: None,
        rewrite_scheduled: false,
        base_size: 0,
    });
    crate::effects::observe(store, state, Box::new(Feed(pending)));
    Ok(())
}

/// CONFIG SET appendonly yes: opens a new AOF and writes its base in the
/// background (after a background save in progress, if any).
pub fn start(store: &mut Store, state: &mut State) -> Result<(), String> {
    let dir = aof_dir(state);
    let prefix = state.config.appendfilename.clone();
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("can't create {}: {}", dir.display(), io_text(&e)))?;
    // An earlier AOF there is replaced: its sequence numbers go on, so no
    // file it lists is overwritten before the new manifest replaces it.
    let old = std::fs::read_to_string(dir.join(format!("{prefix}{MANIFEST_SUFFIX}")))
        .ok()
        .and_then(|t| Manifest::parse(&t).ok())
        .unwrap_or_default();
    let seq = old.next_incr_seq();
    let manifest = Manifest {
        base: None,
        incrs: vec![(format!("{prefix}.{seq}.incr.aof"), seq)],
    };
    let (file, size) = Aof::open_incr(&dir, &manifest.incrs[0].0, true)?;
    install(store, state, dir, prefix, manifest, file, size)?;
    if let Some(aof) = state.aof.as_mut() {
        aof.next_base_seq = old.next_base_seq();
        // A save running, or a transaction (whose earlier commands reach
        // the AOF only at its end): the cron starts the rewrite after.
        if state.persistence.saving.is_some() || state.transaction.is_some() {
            aof.rewrite_scheduled = true;
            return Ok(());
        }
    }
    let started = start_rewrite(store, state);
    if started.is_err() {
        close(state);
    }
    started
}

/// Closes the AOF: its feed stops and nothing more is written.
fn close(state: &mut State) {
    if let Some(aof) = state.aof.take() {
        aof.pending.borrow_mut().closed = true;
    }
}

/// CONFIG SET appendonly no: the AOF is synced and closed.
pub fn stop(store: &mut Store, state: &mut State) {
    sync_now(state);
    if state.aof.as_ref().is_some_and(|a| a.rewriting.is_some()) {
        super::snapshot::abandon(store, state);
    }
    close(state);
}

/// The first base, in the foreground: the AOF is created at start-up as
/// Redis creates it, `appendonly.aof.1.base.rdb` and
/// `appendonly.aof.1.incr.aof`.
fn write_first_base(server: &mut Server) -> Result<(), String> {
    let Server { store, state } = server;
    let (path, name, seq) = {
        let aof = state.aof.as_mut().ok_or("the AOF is off")?;
        let seq = aof.next_base_seq;
        aof.next_base_seq += 1;
        let name = aof.base_name(seq);
        (aof.dir.join(&name), name, seq)
    };
    let bytes = super::snapshot::write_aof_base_now(store, state, &path)?;
    let aof = state.aof.as_mut().ok_or("the AOF is off")?;
    aof.manifest.base = Some((name, seq));
    aof.base_size = bytes;
    aof.write_manifest(&aof.manifest)
}

/// BGREWRITEAOF: a new incremental file now, a new base in the
/// background.
pub fn start_rewrite(store: &mut Store, state: &mut State) -> Result<(), String> {
    flush(state);
    let Some(aof) = state.aof.as_mut() else {
        return Err("the AOF is off".into());
    };
    if !aof.pending.borrow().buf.is_empty() {
        // Writes are failing: those commands belong before the new base,
        // in the old file, and are not there yet.
        return Err("the AOF has commands it cannot write yet".into());
    }
    let seq = aof.manifest.next_incr_seq();
    let name = aof.incr_name(seq);
    let (file, size) = Aof::open_incr(&aof.dir, &name, true)?;
    // The new file replays from a fresh client on database 0.
    aof.pending.borrow_mut().db = None;
    if let Err(e) = aof.file.sync_data() {
        tracing::warn!("Fail to fsync the AOF file: {}.", io_text(&e));
    }
    let mut now = aof.manifest.clone();
    now.incrs.push((name.clone(), seq));
    // The first rewrite (the AOF just turned on) has no base to list yet:
    // the manifest appears when the base is written, so a crash before
    // that leaves no AOF rather than one without its data.
    if now.base.is_some() {
        aof.write_manifest(&now)?;
    }
    aof.manifest = now;
    (aof.file, aof.size) = (file, size);
    let base_seq = aof.next_base_seq;
    aof.next_base_seq += 1;
    let base = aof.base_name(base_seq);
    let after = Manifest {
        base: Some((base.clone(), base_seq)),
        incrs: vec![(name, seq)],
    };
    aof.rewriting = Some(after);
    aof.rewrite_started = Some(Instant::now());
    let path = aof.dir.join(&base);
    if let Err(e) = super::snapshot::start_aof_base(store, state, &path) {
        if let Some(aof) = state.aof.as_mut() {
            aof.rewriting = None;
            aof.rewrite_started = None;
            aof.last_rewrite_ok = false;
        }
        return Err(e);
    }
    tracing::info!("Background append only file rewriting started");
    Ok(())
}

/// The rewrite's base is written (or failed): on success the manifest
/// switches to it and the files it replaces go.
pub fn rewrite_done(state: &mut State, result: Result<u64, String>) {
    let Some(aof) = state.aof.as_mut() else {
        return;
    };
    let Some(mut after) = aof.rewriting.take() else {
        return;
    };
    aof.last_rewrite_secs = aof
        .rewrite_started
        .take()
        .map_or(-1, |t| t.elapsed().as_secs() as i64);
    let result = result.and_then(|bytes| {
        // Incremental files opened during the rewrite stay.
        let first_kept = after.incrs[0].1;
        after.incrs = aof
            .manifest
            .incrs
            .iter()
            .filter(|(_, s)| *s >= first_kept)
            .cloned()
            .collect();
        aof.write_manifest(&after)?;
        Ok(bytes)
    });
    match result {
        Ok(bytes) => {
            let old = std::mem::replace(&mut aof.manifest, after);
            let kept: Vec<&String> = aof.manifest.incrs.iter().map(|(n, _)| n).collect();
            let gone = old.base.iter().chain(old.incrs.iter()).map(|(n, _)| n);
            for name in gone.filter(|n| !kept.contains(n)) {
                let _ = std::fs::remove_file(aof.dir.join(name));
            }
            aof.rewrites += 1;
            aof.last_rewrite_ok = true;
            aof.base_size = bytes;
            tracing::info!("Background AOF rewrite finished successfully");
        }
        Err(why) => {
            aof.last_rewrite_ok = false;
            tracing::warn!("Background AOF rewrite failed: {why}");
            // Without a base the AOF is not usable yet: try again.
            if aof.manifest.base.is_none() {
                aof.rewrite_scheduled = true;
            }
        }
    }
}

/// An AOF being loaded at boot: its command files, run a slice at a
/// time by the loop ([`replay_step`]), then the AOF reopens.
pub struct Replay {
    /// Files of commands still to run, with their paths, each already cut
    /// to its whole commands.
    files: std::collections::VecDeque<(PathBuf, Vec<u8>)>,
    /// Where the first file's next command starts.
    pos: usize,
    /// The loading client and its session, while commands run.
    session: Option<crate::net::session::Session>,
    started: Instant,
    then: Reopen,
}

/// What opens the AOF for appending once its files are loaded.
struct Reopen {
    dir: PathBuf,
    prefix: String,
    manifest: Manifest,
}

/// Reads and checks the files a manifest lists: the base if it is a
/// snapshot (returned with its path, to load like one) and every file of
/// commands, cut to their whole commands. A truncated last file is cut on
/// disk too, with a warning (Redis's `aof-load-truncated yes`); anything
/// else wrong stops the start-up, naming the file and the offset.
type Prepared = (
    Option<(PathBuf, Vec<u8>)>,
    std::collections::VecDeque<(PathBuf, Vec<u8>)>,
);

fn prepare(dir: &Path, m: &Manifest) -> Result<Prepared, String> {
    let mut snapshot = None;
    let mut files = std::collections::VecDeque::new();
    if let Some((name, _)) = &m.base {
        let path = dir.join(name);
        let data =
            std::fs::read(&path).map_err(|e| format!("can't read {}: {e}", path.display()))?;
        if data.starts_with(b"REDIS") {
            snapshot = Some((path, data));
        } else {
            let data = checked(&path, data, false)?;
            files.push_back((path, data));
        }
    }
    let last = m.incrs.len().saturating_sub(1);
    for (i, (name, _)) in m.incrs.iter().enumerate() {
        let path = dir.join(name);
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            // Redis tolerates a missing last file (created lazily).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && i == last => continue,
            Err(e) => return Err(format!("can't read {}: {e}", path.display())),
        };
        let data = checked(&path, data, i == last)?;
        files.push_back((path, data));
    }
    Ok((snapshot, files))
}

/// Where the commands of an AOF end: the end of the last whole command
/// outside an unfinished MULTI. `Err` for bytes that are no command.
pub fn scan_commands(
    data: &[u8],
    known: impl Fn(&[u8]) -> bool,
) -> Result<(usize, bool), LoadError> {
    let mut parser = crate::resp::Parser::new(usize::MAX);
    let (mut pos, mut valid) = (0, 0);
    let mut multi_at = None;
    while pos < data.len() {
        if data[pos] != b'*' {
            return Err(LoadError::at(
                pos,
                "Bad file format reading the append only file",
            ));
        }
        match parser.parse(&data[pos..]) {
            Ok(crate::resp::Parsed::Command(n)) => {
                let args = parser.args(&data[pos..]);
                let name = if args.is_empty() {
                    &b""[..]
                } else {
                    args.get(0)
                };
                if !known(name) {
                    let name = String::from_utf8_lossy(name);
                    let why = format!("Unknown command '{name}' reading the append only file");
                    return Err(LoadError::at(pos, why));
                }
                if name.eq_ignore_ascii_case(b"multi") {
                    multi_at = Some(pos);
                } else if name.eq_ignore_ascii_case(b"exec") {
                    multi_at = None;
                }
                pos += n;
                if multi_at.is_none() {
                    valid = pos;
                }
            }
            Ok(crate::resp::Parsed::Incomplete { .. }) => return Ok((valid, true)),
            Err(_) => {
                return Err(LoadError::at(
                    pos,
                    "Bad file format reading the append only file",
                ))
            }
        }
    }
    Ok((valid, multi_at.is_some()))
}

/// One file of commands, checked: every command whole and known. `last`:
/// a truncated tail is cut (with a warning, and on disk) rather than
/// refused.
fn checked(path: &Path, mut data: Vec<u8>, last: bool) -> Result<Vec<u8>, String> {
    let known = |name: &[u8]| crate::commands::find(name).is_some();
    let (valid, truncated) =
        scan_commands(&data, known).map_err(|e| format!("Bad AOF file {} {e}", path.display()))?;
    if truncated {
        if !last {
            return Err(format!(
                "Bad AOF file {}: truncated at byte {valid} (only the last file may be)",
                path.display()
            ));
        }
        tracing::warn!(
            "!!! Warning: short read while loading the AOF file {}!!! AOF loaded anyway because aof-load-truncated is enabled; truncated at byte {valid} of {}",
            path.display(),
            data.len()
        );
        if let Err(e) = OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| f.set_len(valid as u64))
        {
            return Err(format!("can't truncate {}: {e}", path.display()));
        }
        data.truncate(valid);
    }
    Ok(data)
}

/// A slice of an AOF load: runs about a megabyte of commands through the
/// ordinary command path, as a client that may do anything, replies
/// dropped. When the files are done, the AOF opens for appending. Returns
/// whether the load goes on. A file that does not run whole stops the
/// server: starting with part of the data would lose the rest.
pub fn replay_step(server: &mut Server) -> bool {
    let Some(mut r) = server.state.persistence.aof_load.take() else {
        return false;
    };
    let client = match &r.session {
        Some(s) => s.client,
        None => {
            let client = server
                .state
                .add_client("aof-loader".into(), String::new(), -1);
            let c = &mut server.state.clients[client];
            c.authenticated = true;
            // Redis's AOF client has no user: ACLs do not apply.
            c.user = std::rc::Rc::new(crate::acl::User::superuser());
            // What the files hold was accepted once: no memory limit, no
            // MISCONF, no -LOADING.
            c.aof_loader = true;
            // The stream carries its own DELs for expired keys.
            server.store.expire_on_access = false;
            r.session = Some(crate::net::session::Session::new(client, usize::MAX));
            client
        }
    };
    let start = Instant::now();
    while let Some((path, data)) = r.files.front() {
        if r.pos == data.len() {
            if server.state.clients[client].multi.is_some() {
                fail(&format!(
                    "Bad AOF file {}: a MULTI without EXEC",
                    path.display()
                ));
            }
            r.files.pop_front();
            r.pos = 0;
            continue;
        }
        let mut end = r.pos;
        let mut parser = crate::resp::Parser::new(usize::MAX);
        while end < data.len() && end - r.pos < (1 << 20) {
            match parser.parse(&data[end..]) {
                Ok(crate::resp::Parsed::Command(n)) => end += n,
                _ => break,
            }
        }
        let session = r.session.as_mut().expect("set above");
        let (used, _) = session.process(server, &data[r.pos..end]);
        server.state.clients[client].out.take_bytes();
        if used == 0 {
            fail(&format!(
                "Bad AOF file {}: stopped at byte {}",
                path.display(),
                r.pos
            ));
        }
        r.pos += used;
        if start.elapsed() >= Duration::from_millis(1) {
            server.state.persistence.aof_load = Some(r);
            return true;
        }
    }
    server.store.expire_on_access = true;
    server.state.remove_client(client);
    let keys = server.store.total_keys();
    tracing::info!(
        "DB loaded from append only file: {keys} keys in {:.3} seconds",
        r.started.elapsed().as_secs_f64()
    );
    if let Err(why) = reopen(server, r.then) {
        fail(&why);
    }
    false
}

fn fail(why: &str) -> ! {
    tracing::error!("{why}; refusing to serve a partial dataset");
    std::process::exit(1);
}

/// Opens the last incremental file for appending and starts feeding it.
fn reopen(server: &mut Server, then: Reopen) -> Result<(), String> {
    let Reopen {
        dir,
        prefix,
        mut manifest,
    } = then;
    let (name, seq) = manifest.incrs.last().cloned().unwrap_or_else(|| {
        let seq = manifest.next_incr_seq();
        (format!("{prefix}.{seq}.incr.aof"), seq)
    });
    let fresh = manifest.incrs.last().is_none_or(|(n, _)| *n != name);
    if manifest.incrs.is_empty() {
        manifest.incrs.push((name.clone(), seq));
    }
    let (file, size) = Aof::open_incr(&dir, &name, fresh)?;
    let Server { store, state } = server;
    install(store, state, dir, prefix, manifest.clone(), file, size)?;
    let aof = state.aof.as_ref().expect("installed");
    aof.write_manifest(&manifest)
}

/// INFO persistence's AOF fields beyond the common ones.
pub fn info_sizes(state: &State) -> Option<(u64, u64, usize)> {
    let aof = state.aof.as_ref()?;
    let pending = aof.pending.borrow().buf.len();
    Some((aof.size, aof.base_size, pending))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_round_trip_and_refuse_nonsense() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.render(), text);
        assert_eq!((m.next_base_seq(), m.next_incr_seq()), (2, 3));
        for bad in [
            "",
            "file a seq 1",
            "file a seq x type i",
            "file ../a seq 1 type i",
            "file a seq 2 type i\nfile b seq 1 type i",
            "file a seq 1 type b\nfile b seq 2 type b",
        ] {
            assert!(Manifest::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn scanning_finds_the_last_whole_command() {
        let set = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
        let scan = |data: &[u8]| scan_commands(data, |n| n != b"NOPE");
        assert_eq!(scan(set).unwrap(), (set.len(), false));
        let mut cut = set.to_vec();
        cut.extend_from_slice(&set[..10]);
        assert_eq!(scan(&cut).unwrap(), (set.len(), true));
        let mut multi = set.to_vec();
        multi.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n");
        multi.extend_from_slice(set);
        assert_eq!(scan(&multi).unwrap(), (set.len(), true));
        multi.extend_from_slice(b"*1\r\n$4\r\nEXEC\r\n");
        assert_eq!(scan(&multi).unwrap(), (multi.len(), false));
        let mut bad = set.to_vec();
        bad.extend_from_slice(b"garbage");
        assert_eq!(scan(&bad).unwrap_err().offset, set.len());
        let mut unknown = set.to_vec();
        unknown.extend_from_slice(b"*1\r\n$4\r\nNOPE\r\n");
        let e = scan(&unknown).unwrap_err();
        assert_eq!(
            (e.offset, e.reason.as_str()),
            (
                set.len(),
                "Unknown command 'NOPE' reading the append only file"
            )
        );
    }
}
