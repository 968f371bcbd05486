//! Taking snapshots: SAVE, BGSAVE without fork, save points, and loading
//! the file back at boot.
//!
//! A save is a [`Save`]: it freezes the keyspace (see
//! [`crate::store::Frozen`]: every database remembers which entries the
//! save still needs, and anything about to change one hands it over first),
//! then serializes it a slice at a time from the event loop, between
//! batches of commands. The bytes go to a writer thread in chunks through
//! a small bounded channel, so the loop never waits on the disk; when the
//! channel is full the save simply pauses. The writer writes a temporary
//! file, fsyncs it, renames it over the old snapshot and fsyncs the
//! directory: a crash at any moment leaves the old file or the new one,
//! both whole.
//!
//! SAVE runs the same code to the end before it answers, as Redis's SAVE
//! blocks. Redis forks instead; what this design costs is one copy of each
//! value changed during the save (at its first change), where Redis's
//! copy-on-write copies every 4 KiB page touched.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::time::{Duration, Instant};

use super::{Encoder, Format, LoadError, Loaded, Meta};
use crate::server::State;
use crate::store::Store;

/// Bytes serialized before they are handed to the writer.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight between the loop and the writer.
const IN_FLIGHT: usize = 8;
/// How long one slice of a background save may run on the loop.
const SLICE: Duration = Duration::from_micros(100);
/// Entries serialized between two looks at the clock.
const GROUP: usize = 32;
/// Redis's `CONFIG_BGSAVE_RETRY_DELAY`: after a failed background save,
/// save points wait this long before trying again.
const RETRY_DELAY_SECS: u64 = 5;

/// The persistence state INFO reports, and the save in progress.
#[derive(Default)]
pub struct Persistence {
    pub saving: Option<Save>,
    /// The load at boot, while it runs: a snapshot (or an AOF's base) ...
    pub loading: Option<Loading>,
    /// ... and an AOF's commands.
    pub aof_load: Option<Box<super::aof::Replay>>,
    /// BGSAVE SCHEDULE asked for a save while another ran.
    pub scheduled: bool,
    pub last_bgsave_ok: bool,
    /// How long the last background save took, in seconds (-1: none yet).
    pub last_bgsave_secs: i64,
    /// Unix seconds of the last background save attempt.
    pub last_try: u64,
    pub saves: u64,
    pub loaded_keys: u64,
    pub loaded_expired: u64,
}

impl Persistence {
    /// Whether the dataset is still loading (clients get -LOADING).
    pub fn is_loading(&self) -> bool {
        self.loading.is_some() || self.aof_load.is_some()
    }

    pub fn new() -> Persistence {
        Persistence {
            last_bgsave_ok: true,
            last_bgsave_secs: -1,
            ..Default::default()
        }
    }
}

/// Where a snapshot goes: `dir/dbfilename`, or the format's own name.
pub fn snapshot_path(state: &State) -> PathBuf {
    let c = &state.config;
    Path::new(&c.dir).join(c.effective_dbfilename())
}

/// One snapshot being written.
pub struct Save {
    encoder: Box<dyn Encoder>,
    out: Vec<u8>,
    /// The database being serialized, by its number at the start.
    origin: usize,
    in_db: bool,
    databases: usize,
    serialized: bool,
    /// The commit mark is queued (in `writer.held` until sent).
    committing: bool,
    /// Everything, the commit mark included, is with the writer.
    handed_over: bool,
    writer: Writer,
    started: Instant,
    /// `rdb_changes_since_last_save` when the save started: what remains
    /// once it succeeds is what changed during it.
    changes_at_start: u64,
    keys_total: u64,
    keys_done: u64,
    /// What the file is for.
    purpose: Purpose,
}

/// What a [`Save`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    /// The snapshot (`dbfilename`).
    Snapshot,
    /// An AOF rewrite's new base.
    AofBase,
}

impl Save {
    /// Freezes the keyspace and starts the writer on `path`.
    fn start(
        store: &mut Store,
        state: &State,
        path: &Path,
        format: Format,
        purpose: Purpose,
    ) -> Result<Save, String> {
        let writer = Writer::spawn(path)?;
        let meta = Meta {
            created: crate::util::now_ms() / 1000,
            used_memory: crate::alloc::allocated(),
            aof_base: purpose == Purpose::AofBase,
            functions: state
                .scripting
                .functions
                .libraries
                .values()
                .map(|l| l.code.clone())
                .collect(),
        };
        let mut encoder = format.persister().encoder(&meta);
        let mut out = Vec::with_capacity(CHUNK);
        encoder.header(&mut out);
        store.freeze();
        Ok(Save {
            encoder,
            out,
            origin: 0,
            in_db: false,
            databases: store.dbs.len(),
            serialized: false,
            committing: false,
            handed_over: false,
            writer,
            started: Instant::now(),
            changes_at_start: state.changes_since_save,
            keys_total: store.total_keys() as u64,
            keys_done: 0,
            purpose,
        })
    }

    /// Serializes for about `slice` (forever with `None`), handing chunks
    /// to the writer until its channel is full. Returns whether everything
    /// has been serialized and handed over.
    fn step(&mut self, store: &mut Store, slice: Option<Duration>) -> bool {
        let start = Instant::now();
        loop {
            if !self.writer.send_held(slice.is_none()) {
                return false;
            }
            // Nothing is held now: a queued commit mark has gone (or the
            // writer failed, and says why when asked).
            if self.committing || self.writer.tx.is_none() {
                self.handed_over = true;
                return true;
            }
            if self.serialized {
                // The empty chunk is the commit mark.
                self.writer.held = Some(Vec::new());
                self.committing = true;
                continue;
            }
            self.serialize(store);
            if self.out.len() >= CHUNK || self.serialized {
                let chunk = std::mem::replace(&mut self.out, Vec::with_capacity(CHUNK));
                self.encoder.flushed(&chunk);
                self.writer.held = Some(chunk);
            }
            if slice.is_some_and(|s| start.elapsed() >= s) {
                return false;
            }
        }
    }

    /// Serializes up to [`GROUP`] entries.
    fn serialize(&mut self, store: &mut Store) {
        let mut budget = GROUP;
        while budget > 0 && !self.serialized {
            if self.origin == self.databases {
                self.encoder.end(&mut self.out);
                self.serialized = true;
                return;
            }
            let origin = self.origin;
            let Some(db) = store
                .dbs
                .iter_mut()
                .find(|d| d.frozen().is_some_and(|f| f.origin == origin))
            else {
                // Empty at the start, or finished.
                self.origin += 1;
                continue;
            };
            if !self.in_db {
                let f = db.frozen().expect("found by its marks");
                let (keys, expires) = (f.keys, f.expires);
                self.encoder.begin_db(&mut self.out, origin, keys, expires);
                self.in_db = true;
            }
            let (encoder, out, count) = (&mut self.encoder, &mut self.out, &mut self.keys_done);
            let done = db.save_step(&mut budget, |key, value, at| {
                *count += 1;
                encoder.entry(out, key, value, at)
            });
            if done {
                db.thaw();
                self.encoder.end_db(&mut self.out);
                self.in_db = false;
                self.origin += 1;
            }
        }
    }

    /// Keys written, keys to write, and seconds since the start (INFO).
    pub fn progress(&self) -> (u64, u64, i64) {
        let secs = self.started.elapsed().as_secs() as i64;
        (self.keys_done, self.keys_total, secs)
    }

    /// Stops serializing: the writer removes its temporary file.
    fn abandon(self, store: &mut Store, state: &mut State) {
        store.thaw();
        drop(self.writer);
        if self.purpose == Purpose::AofBase {
            super::aof::rewrite_done(state, Err("abandoned".into()));
        }
    }
}

/// The thread that writes one snapshot file.
struct Writer {
    tx: Option<SyncSender<Vec<u8>>>,
    /// A chunk the channel had no room for yet.
    held: Option<Vec<u8>>,
    done: Receiver<Result<u64, String>>,
}

impl Writer {
    fn spawn(path: &Path) -> Result<Writer, String> {
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(IN_FLIGHT);
        let (done_tx, done) = mpsc::channel();
        let path = path.to_path_buf();
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        // One name per save: an abandoned save's thread may still be
        // writing (then removing) its file while the next one starts.
        static SAVES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SAVES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!("temp-{}-{n}.rizzler-save", std::process::id()));
        std::thread::Builder::new()
            .name("rizzler-save".into())
            .spawn(move || {
                let result = write_file(&tmp, &path, &dir, rx);
                if result.is_err() {
                    let _ = std::fs::remove_file(&tmp);
                }
                let _ = done_tx.send(result);
            })
            .map_err(|e| format!("can't start the save thread: {e}"))?;
        Ok(Writer {
            tx: Some(tx),
            held: None,
            done,
        })
    }

    /// Hands the held chunk over; whether the channel took it. With
    /// `wait`, waits for room (SAVE).
    fn send_held(&mut self, wait: bool) -> bool {
        let (Some(chunk), Some(tx)) = (self.held.take(), self.tx.as_ref()) else {
            return true;
        };
        if wait {
            // A writer that stopped (an error) reports it when finished.
            let _ = tx.send(chunk);
            return true;
        }
        match tx.try_send(chunk) {
            Ok(()) => true,
            Err(TrySendError::Disconnected(_)) => {
                // The writer failed; it says why when asked.
                self.tx = None;
                true
            }
            Err(TrySendError::Full(chunk)) => {
                self.held = Some(chunk);
                false
            }
        }
    }
}

/// The writer thread's work: chunks to `tmp` until the empty chunk that
/// commits, then fsync, rename over `path`, fsync the directory. Returns
/// the bytes written. A channel closed without the commit is an abandoned
/// save: the temporary file goes, the old snapshot stays.
fn write_file(tmp: &Path, path: &Path, dir: &Path, rx: Receiver<Vec<u8>>) -> Result<u64, String> {
    let fail = |what: &str, e: std::io::Error| format!("{what} {}: {e}", tmp.display());
    let mut file = File::create(tmp).map_err(|e| fail("can't create", e))?;
    let mut written = 0u64;
    let mut committed = false;
    for chunk in rx {
        if chunk.is_empty() {
            committed = true;
            break;
        }
        file.write_all(&chunk).map_err(|e| fail("can't write", e))?;
        written += chunk.len() as u64;
    }
    if !committed {
        return Err("abandoned".into());
    }
    file.sync_all().map_err(|e| fail("can't fsync", e))?;
    drop(file);
    std::fs::rename(tmp, path).map_err(|e| fail("can't rename", e))?;
    File::open(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    })
    .and_then(|d| d.sync_all())
    .map_err(|e| format!("can't fsync the directory of {}: {e}", path.display()))?;
    Ok(written)
}

/// BGSAVE: starts a background save.
pub fn bgsave(store: &mut Store, state: &mut State) -> Result<(), String> {
    let path = snapshot_path(state);
    let format = state.config.snapshot_format;
    state.persistence.last_try = crate::util::now_ms() / 1000;
    match Save::start(store, state, &path, format, Purpose::Snapshot) {
        Ok(save) => {
            tracing::info!("Background saving started");
            state.persistence.saving = Some(save);
            Ok(())
        }
        Err(why) => {
            tracing::warn!("Can't save in background: {why}");
            state.persistence.last_bgsave_ok = false;
            Err(why)
        }
    }
}

/// Starts writing an AOF rewrite's base (always RDB, as Redis's
/// `aof-use-rdb-preamble yes`) in the background.
pub fn start_aof_base(store: &mut Store, state: &mut State, path: &Path) -> Result<(), String> {
    let save = Save::start(store, state, path, Format::Rdb, Purpose::AofBase)?;
    state.persistence.saving = Some(save);
    Ok(())
}

/// SAVE (and the save on shutdown): the whole snapshot before returning.
/// A background save in progress is the caller's to refuse or abandon.
pub fn save_now(store: &mut Store, state: &mut State) -> Result<(), String> {
    let path = snapshot_path(state);
    let format = state.config.snapshot_format;
    state.persistence.saves += 1;
    match write_now(store, state, &path, format, Purpose::Snapshot) {
        Ok(_) => {
            tracing::info!("DB saved on disk");
            state.changes_since_save = 0;
            state.lastsave = crate::util::now_ms() / 1000;
            state.persistence.last_bgsave_ok = true;
            Ok(())
        }
        Err(why) => {
            tracing::warn!("Failed saving the DB: {why}");
            Err(why)
        }
    }
}

/// Writes a whole file in the foreground (a background save in progress
/// is dropped first: one freeze at a time). Returns the bytes written.
fn write_now(
    store: &mut Store,
    state: &mut State,
    path: &Path,
    format: Format,
    purpose: Purpose,
) -> Result<u64, String> {
    abandon(store, state);
    let mut save = Save::start(store, state, path, format, purpose)?;
    while !save.step(store, None) {}
    save.writer
        .done
        .recv()
        .unwrap_or_else(|_| Err("the save thread stopped".into()))
}

/// Writes an AOF base file in the foreground (the first one, when the AOF
/// is created at start-up). Returns its size.
pub fn write_aof_base_now(
    store: &mut Store,
    state: &mut State,
    path: &Path,
) -> Result<u64, String> {
    write_now(store, state, path, Format::Rdb, Purpose::AofBase)
}

/// Stops a background save without finishing it (SHUTDOWN, FLUSHALL
/// with save points, which then saves in the foreground).
pub fn abandon(store: &mut Store, state: &mut State) {
    if let Some(save) = state.persistence.saving.take() {
        tracing::info!("Background saving abandoned");
        save.abandon(store, state);
    }
}

/// What must happen before the server exits (SHUTDOWN, SIGTERM): a
/// background save is dropped, and the final snapshot is written if save
/// points are configured (or `save` says so: `Some(true)` for SAVE,
/// `Some(false)` for NOSAVE). A failed save stops the shutdown unless
/// `force`, as in Redis: returns whether the server may exit.
#[must_use]
pub fn prepare_shutdown(
    store: &mut Store,
    state: &mut State,
    save: Option<bool>,
    force: bool,
) -> bool {
    let first_base = state
        .aof
        .as_ref()
        .is_some_and(|a| a.manifest.base.is_none());
    if first_base {
        if !force {
            tracing::warn!("Writing initial AOF, can't exit.");
            return false;
        }
        tracing::warn!("Writing initial AOF. Exit anyway.");
    }
    if state.persistence.saving.is_some() {
        tracing::warn!("There is a background save in progress. Dropping it!");
        abandon(store, state);
    }
    super::aof::sync_now(state);
    if save.unwrap_or(!state.config.save.is_empty()) {
        tracing::info!("Saving the final snapshot before exiting.");
        if save_now(store, state).is_err() {
            if force {
                tracing::warn!("Error trying to save the DB. Exit anyway.");
            } else {
                tracing::warn!("Error trying to save the DB, can't exit.");
                return false;
            }
        }
    }
    true
}

/// DEBUG RELOAD's second half: loads the snapshot file into the store
/// (emptied first unless NOFLUSH; keys already there are replaced with
/// MERGE, an error without).
pub fn reload(store: &mut Store, state: &mut State, merge: bool) -> Result<(), String> {
    let path = snapshot_path(state);
    let data = std::fs::read(&path).map_err(|e| format!("can't read {}: {e}", path.display()))?;
    load_into(store, state, &data, Format::sniff(&data), merge, false)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The loop's share of persistence, run between batches: a slice of the
/// background save, its end, and the save points. Returns how soon the
/// loop should call again (`None`: nothing to do until the next tick).
pub fn background(server: &mut crate::server::Server) -> Option<Duration> {
    let crate::server::Server { store, state } = &mut *server;
    if state.persistence.loading.is_some() {
        let more = load_step(store, state) || state.persistence.aof_load.is_some();
        return more.then_some(Duration::ZERO);
    }
    if state.persistence.aof_load.is_some() {
        return super::aof::replay_step(server).then_some(Duration::ZERO);
    }
    let crate::server::Server { store, state } = server;
    let save = state.persistence.saving.as_mut()?;
    if !save.handed_over && !save.step(store, Some(SLICE)) {
        // Waiting for room in the writer's channel: no hurry.
        return Some(if save.writer.held.is_some() {
            Duration::from_millis(1)
        } else {
            Duration::ZERO
        });
    }
    let result = match save.writer.done.try_recv() {
        Ok(r) => r,
        Err(TryRecvError::Empty) => return Some(Duration::from_millis(1)),
        Err(TryRecvError::Disconnected) => Err("the save thread stopped".into()),
    };
    let save = state.persistence.saving.take().expect("looked at above");
    // A writer that failed early leaves databases unserialized: their
    // marks go, or later writes would keep copying for nobody.
    store.thaw();
    if save.purpose == Purpose::AofBase {
        super::aof::rewrite_done(state, result);
        after_background(store, state);
        return None;
    }
    let p = &mut state.persistence;
    p.last_bgsave_secs = save.started.elapsed().as_secs() as i64;
    match result {
        Ok(bytes) => {
            tracing::info!(
                "Background saving terminated with success ({bytes} bytes in {:.3} s)",
                save.started.elapsed().as_secs_f64()
            );
            p.last_bgsave_ok = true;
            state.lastsave = crate::util::now_ms() / 1000;
            state.changes_since_save = state
                .changes_since_save
                .saturating_sub(save.changes_at_start);
        }
        Err(why) => {
            tracing::warn!("Background saving error: {why}");
            p.last_bgsave_ok = false;
        }
    }
    p.saves += 1;
    after_background(store, state);
    None
}

/// A background job ended: start what waited for it.
fn after_background(store: &mut Store, state: &mut State) {
    if std::mem::take(&mut state.persistence.scheduled) {
        let _ = bgsave(store, state);
    } else if state
        .aof
        .as_mut()
        .is_some_and(|a| std::mem::take(&mut a.rewrite_scheduled))
    {
        let _ = super::aof::start_rewrite(store, state);
    }
}

/// The save points (`save 3600 1 300 100 …`), checked by the cron: a
/// background save starts when one is due, as in Redis's `serverCron`.
pub fn check_save_points(store: &mut Store, state: &mut State) {
    let p = &state.persistence;
    if p.saving.is_some() || p.is_loading() {
        return;
    }
    // What BGSAVE or BGREWRITEAOF scheduled (inside EXEC, or while the
    // other ran) starts as soon as nothing runs.
    if state.persistence.scheduled || state.aof.as_ref().is_some_and(|a| a.rewrite_scheduled) {
        after_background(store, state);
        return;
    }
    if state.config.save.is_empty() {
        return;
    }
    let now = crate::util::now_ms() / 1000;
    let p = &state.persistence;
    let may_retry = p.last_bgsave_ok || now.saturating_sub(p.last_try) > RETRY_DELAY_SECS;
    let points: Vec<u64> = state
        .config
        .save
        .split(' ')
        .filter_map(|n| n.parse().ok())
        .collect();
    let due = points.chunks(2).find(|p| {
        let [secs, changes] = p else { return false };
        state.changes_since_save >= *changes && now.saturating_sub(state.lastsave) > *secs
    });
    if let (Some(point), true) = (due, may_retry) {
        tracing::info!("{} changes in {} seconds. Saving...", point[1], point[0]);
        let _ = bgsave(store, state);
    }
}

/// Why writes are refused, if they are: the last background save failed
/// (`stop-writes-on-bgsave-error`, with save points configured), or the
/// AOF cannot be written.
pub fn writes_refused(state: &State) -> Option<crate::error::CmdError> {
    use crate::error::CmdError;
    let c = &state.config;
    if c.stop_writes_on_bgsave_error && !c.save.is_empty() && !state.persistence.last_bgsave_ok {
        return Some(CmdError::MisconfRdb);
    }
    let why = super::aof::write_error(state)?;
    Some(CmdError::Custom(
        format!("MISCONF Errors writing to the AOF file: {why}").into_bytes(),
    ))
}

/// Starts loading the snapshot at boot, if there is one: a thread parses
/// the file and hands keys over in batches, which the loop inserts a slice
/// at a time ([`background`]) while clients get `-LOADING`, as Redis
/// answers them during its load. A file that cannot be read whole stops
/// the server with its name and the offset: starting empty by mistake
/// would lose the data at the next save.
pub fn load_at_boot(server: &mut crate::server::Server) -> Result<(), String> {
    let path = snapshot_path(&server.state);
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("can't read {}: {e}", path.display())),
    };
    start_loading(server, path, data, false)
}

/// Starts loading a snapshot file's `data` in the background (the boot's
/// snapshot, or an AOF's base, which keeps keys whose time has passed:
/// the commands after it may still act on them).
pub fn start_loading(
    server: &mut crate::server::Server,
    path: PathBuf,
    data: Vec<u8>,
    keep_expired: bool,
) -> Result<(), String> {
    let format = Format::sniff(&data);
    super::load_functions(&mut server.state, &data, format, super::Libraries::Flush)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let databases = server.store.dbs.len();
    let (tx, rx) = mpsc::sync_channel::<Batch>(4);
    let bytes = data.len() as u64;
    std::thread::Builder::new()
        .name("rizzler-load".into())
        .spawn(move || parse_batches(&data, format, databases, &tx))
        .map_err(|e| format!("can't start the loading thread: {e}"))?;
    tracing::info!(
        "Loading {} ({} format, {bytes} bytes)",
        path.display(),
        format.persister().name()
    );
    server.state.persistence.loading = Some(Loading {
        rx,
        path,
        format,
        keep_expired,
        started: Instant::now(),
        started_unix: crate::util::now_ms() / 1000,
        bytes,
        keys: 0,
        expired: 0,
        last_report: Instant::now(),
    });
    Ok(())
}

/// Keys read from a file, handed from the loading thread to the loop.
enum Batch {
    Keys(Vec<Loaded>),
    Done,
    Failed(LoadError),
}

const LOAD_BATCH: usize = 1024;

fn parse_batches(data: &[u8], format: Format, databases: usize, tx: &SyncSender<Batch>) {
    let mut batch = Vec::with_capacity(LOAD_BATCH);
    let result = format.persister().load(data, &mut |l: Loaded| {
        if l.db >= databases {
            return Err(format!(
                "database {} is out of range (databases is {databases})",
                l.db
            ));
        }
        batch.push(l);
        if batch.len() == LOAD_BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(LOAD_BATCH));
            tx.send(Batch::Keys(full))
                .map_err(|_| "the server stopped".to_string())?;
        }
        Ok(())
    });
    let _ = tx.send(Batch::Keys(batch));
    let _ = tx.send(match result {
        Ok(()) => Batch::Done,
        Err(e) => Batch::Failed(e),
    });
}

/// A load in progress (INFO `loading:1`).
pub struct Loading {
    rx: Receiver<Batch>,
    path: PathBuf,
    format: Format,
    keep_expired: bool,
    started: Instant,
    pub started_unix: u64,
    pub bytes: u64,
    pub keys: u64,
    expired: u64,
    last_report: Instant,
}

/// A slice of the load: inserts batches for about [`SLICE`]. Returns
/// whether the load goes on.
fn load_step(store: &mut Store, state: &mut State) -> bool {
    let now = state.now_ms();
    let start = Instant::now();
    let Some(l) = state.persistence.loading.as_mut() else {
        return false;
    };
    let fail = |l: &Loading, why: &str| -> ! {
        tracing::error!(
            "Bad snapshot {} ({} format) {why}; refusing to serve a partial dataset",
            l.path.display(),
            l.format.persister().name()
        );
        std::process::exit(1);
    };
    loop {
        let batch = match l.rx.try_recv() {
            Ok(b) => b,
            Err(TryRecvError::Empty) => return true,
            Err(TryRecvError::Disconnected) => fail(l, "the loading thread stopped"),
        };
        match batch {
            Batch::Keys(keys) => {
                for k in keys {
                    if let Some(n) = k.db_keys_hint {
                        store.reserve(k.db, n as usize);
                    }
                    if !l.keep_expired && k.expire_at.is_some_and(|at| at < now) {
                        l.expired += 1;
                        continue;
                    }
                    let key = String::from_utf8_lossy(&k.key).into_owned();
                    if !store.load_entry(k.db, k.key, k.value, k.expire_at, now, false) {
                        fail(l, &format!("key {key:?} appears twice"));
                    }
                    l.keys += 1;
                }
                if l.last_report.elapsed() >= Duration::from_secs(2) {
                    l.last_report = Instant::now();
                    tracing::info!("Loading {}: {} keys so far", l.path.display(), l.keys);
                }
            }
            Batch::Done => break,
            Batch::Failed(e) => fail(l, &e.to_string()),
        }
        if start.elapsed() >= SLICE * 4 {
            return true;
        }
    }
    let l = state.persistence.loading.take().expect("looked at above");
    tracing::info!(
        "DB loaded from disk: {} keys ({} already expired, skipped) from {} in {:.3} seconds",
        l.keys,
        l.expired,
        l.path.display(),
        l.started.elapsed().as_secs_f64()
    );
    let p = &mut state.persistence;
    (p.loaded_keys, p.loaded_expired) = (l.keys, l.expired);
    false
}

/// Fills the (empty) store from a snapshot: keys whose time has passed
/// are skipped, as a Redis master skips them. Returns the keys loaded and
/// those skipped as expired.
pub fn load_into(
    store: &mut Store,
    state: &mut State,
    data: &[u8],
    format: Format,
    merge: bool,
    keep_expired: bool,
) -> Result<(u64, u64), LoadError> {
    let now = state.now_ms();
    let databases = store.dbs.len();
    let (mut keys, mut expired) = (0u64, 0u64);
    let mut last_report = Instant::now();
    let mut each = |l: Loaded| -> Result<(), String> {
        if l.db >= databases {
            return Err(format!(
                "database {} is out of range (databases is {databases})",
                l.db
            ));
        }
        if !keep_expired && l.expire_at.is_some_and(|at| at < now) {
            expired += 1;
            return Ok(());
        }
        if !store.load_entry(l.db, l.key, l.value, l.expire_at, now, merge) {
            return Err("a key appears twice".into());
        }
        keys += 1;
        if keys.is_multiple_of(1 << 16) && last_report.elapsed() >= Duration::from_secs(2) {
            last_report = Instant::now();
            tracing::info!("Loading: {keys} keys so far");
        }
        Ok(())
    };
    format.persister().load(data, &mut each)?;
    // DEBUG RELOAD drops the libraries itself unless NOFLUSH; with MERGE
    // the file's replace those of the same name, as Redis's ALLOW_DUP.
    let libraries = if merge {
        super::Libraries::Replace
    } else {
        super::Libraries::Keep
    };
    super::load_functions(state, data, format, libraries)?;
    let p = &mut state.persistence;
    (p.loaded_keys, p.loaded_expired) = (keys, expired);
    Ok((keys, expired))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::store::{digest, Store};
    use crate::testing::Harness;

    /// Commands that touch keys every way the store can change one: in
    /// place, replaced, removed, renamed, moved, expired, created, and whole
    /// databases flushed and swapped.
    fn command(op: u8, a: u8, b: u8) -> Vec<String> {
        let k = |n: u8| format!("k{}", n % 24);
        let words: Vec<String> = match op % 12 {
            0 => vec!["set".into(), k(a), b.to_string()],
            1 => vec!["rpush".into(), format!("l{}", a % 6), b.to_string()],
            2 => vec!["del".into(), k(a)],
            3 => vec!["sadd".into(), format!("s{}", a % 6), (b % 40).to_string()],
            4 => vec![
                "hset".into(),
                format!("h{}", a % 6),
                b.to_string(),
                a.to_string(),
            ],
            5 => vec![
                "zadd".into(),
                format!("z{}", a % 6),
                b.to_string(),
                a.to_string(),
            ],
            6 => vec!["rename".into(), k(a), k(b)],
            7 => vec!["move".into(), k(a), (b % 3).to_string()],
            8 => vec!["pexpire".into(), k(a), "1".into()],
            9 => vec!["flushdb".into()],
            10 => vec!["swapdb".into(), "0".into(), (b % 3).to_string()],
            _ => vec!["select".into(), (a % 3).to_string()],
        };
        words
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever runs while a save is under way, the save sees the
        /// keyspace of the moment it started.
        #[test]
        fn a_background_save_keeps_its_point_in_time(
            setup in proptest::collection::vec((any::<u8>(), any::<u8>(), any::<u8>()), 0..120),
            during in proptest::collection::vec((any::<u8>(), any::<u8>(), any::<u8>(), 0..4usize), 0..200),
        ) {
            let mut h = Harness::new();
            for (op, a, b) in setup {
                let words = command(op, a, b);
                h.run(&words.iter().map(String::as_str).collect::<Vec<_>>());
            }
            h.run(&["select", "0"]);
            let dbs = h.server.store.dbs.len();
            let expected = digest::dataset(&h.server.store.dbs);
            h.server.store.freeze();
            let mut copy = Store::new(dbs);
            let mut origin = 0;
            let mut step = |store: &mut Store, copy: &mut Store, budget: usize| {
                let mut budget = budget;
                while budget > 0 && origin < dbs {
                    let Some(db) = store.dbs.iter_mut().find(|d| d.frozen().is_some_and(|f| f.origin == origin)) else {
                        origin += 1;
                        continue;
                    };
                    let done = db.save_step(&mut budget, |key, value, at| {
                        assert!(copy.load_entry(origin, key.into(), value.clone(), at, 0, false), "saved twice");
                    });
                    if done {
                        db.thaw();
                        origin += 1;
                    }
                }
            };
            for (op, a, b, budget) in during {
                // Time stands still for expiry: the point is the writes.
                let words = command(op, a, b);
                h.run(&words.iter().map(String::as_str).collect::<Vec<_>>());
                step(&mut h.server.store, &mut copy, budget);
            }
            step(&mut h.server.store, &mut copy, usize::MAX);
            prop_assert_eq!(digest::hex(&digest::dataset(&copy.dbs)), digest::hex(&expected));
        }
    }
}
