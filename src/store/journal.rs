//! What the store records as it changes.
//!
//! Every change to the keyspace goes through [`super::DbMut`] or
//! [`super::Store`], and each one leaves an [`Event`] here: which key, in
//! which database, what happened, and how much it counts towards the change
//! counter (Redis's `server.dirty`). Handlers can also ask for an operation
//! to be propagated at this point in the stream ([`Event::Propagate`]) or
//! for their own command to propagate differently ([`Journal::rewrite`]).
//!
//! The journal is drained once after every command by `call()`
//! (`crate::effects`), and after every active-expiry step by the cron, so
//! whatever needs to know what changed (the change counter, the
//! propagation stream, and later WATCH, blocked clients, keyspace
//! notifications, eviction) reads it in one place, in the order it
//! happened.

use super::value::Bytes;

/// What happened to a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyChange {
    /// Written: created, overwritten or changed in place, or its TTL set or
    /// cleared.
    Changed,
    /// Removed by a command (DEL, an emptied collection, an expiry in the
    /// past, the source of RENAME or MOVE).
    Deleted,
    /// Removed because its time had passed, found on access or by the
    /// active expiry cycle.
    Expired,
    /// Removed to free memory (maxmemory).
    Evicted,
    /// Looked up by a read and not there (Redis's `keymiss`); recorded
    /// only while `Journal::record_misses` asks for it. Changes nothing.
    Missed,
}

/// One key's event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyEvent {
    pub db: usize,
    pub key: Bytes,
    pub change: KeyChange,
    /// The event's name as Redis's keyspace notifications spell it: `set`,
    /// `lpush`, `expire`, `del`, `rename_from`, `expired`, …
    pub name: &'static str,
    /// What this adds to the change counter: elements for collection
    /// commands (SADD of three new members is 3), 1 for most writes, 0 for
    /// a removal that another event already counts (RENAME's source).
    pub changes: u64,
    /// Whether the write created the key.
    pub created: bool,
    /// The allocator's net change across the operation, in bytes: exact for
    /// removals and replacements; for a change in place it also includes
    /// whatever the handler allocated while it held the value.
    pub bytes: i64,
}

/// An operation for the propagation stream: a command and the database it
/// applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op {
    pub db: usize,
    pub argv: Vec<Bytes>,
}

impl Op {
    pub fn new<'a>(db: usize, argv: impl IntoIterator<Item = &'a [u8]>) -> Op {
        Op {
            db,
            argv: argv.into_iter().map(Bytes::from).collect(),
        }
    }
}

/// Everything the journal records, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Key(KeyEvent),
    /// A database was emptied: `Some(db)` for FLUSHDB, `None` for every
    /// database (FLUSHALL). `changes` is what it adds to the change counter.
    Flushed {
        db: Option<usize>,
        keys: u64,
        changes: u64,
    },
    /// SWAPDB.
    Swapped {
        a: usize,
        b: usize,
    },
    /// An operation to propagate at this point (Redis's `alsoPropagate`),
    /// before the command's own.
    Propagate(Op),
}

impl Event {
    /// What the event adds to the change counter.
    pub fn changes(&self) -> u64 {
        match self {
            Event::Key(k) => k.changes,
            Event::Flushed { changes, .. } => *changes,
            Event::Swapped { .. } => 1,
            Event::Propagate(_) => 0,
        }
    }
}

/// How the running command propagates, when a handler decided it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Rewrite {
    /// As received, if it changed anything (the default).
    #[default]
    AsReceived,
    /// As received, even if it changed nothing (Redis's
    /// `forceCommandPropagation`: FLUSHALL of an empty dataset).
    Always,
    /// As this command instead (Redis's `rewriteClientCommandVector`).
    As(Vec<Bytes>),
    /// Not at all (Redis's `preventCommandPropagation`).
    Nothing,
}

/// The store's record of the command being run.
#[derive(Debug, Default)]
pub struct Journal {
    /// What happened, in order, while `recording`.
    pub events: Vec<Event>,
    /// What the changes not recorded as events add to the change counter.
    pub changes: u64,
    /// How the running command propagates.
    pub rewrite: Rewrite,
    /// Whether anything reads the events (an observer, and later WATCH,
    /// blocked clients, keyspace notifications). While nothing does, a
    /// change only adds to `changes`: a pipelined SET does not pay for an
    /// event nobody reads.
    pub recording: bool,
    /// Whether anything consumes the propagation stream; while nothing
    /// does, handlers skip building rewritten commands.
    pub propagating: bool,
    /// Whether reads that find no key record a [`KeyChange::Missed`] event
    /// (keyspace notifications with the `m` class).
    pub record_misses: bool,
    /// Where the events that follow the command's reply begin (see
    /// [`Journal::after_reply`]); `None` when they all precede it.
    pub replied_at: Option<usize>,
}

impl Journal {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.changes == 0
            && self.rewrite == Rewrite::AsReceived
            && self.replied_at.is_none()
    }

    /// Records a change worth `changes` to the change counter: the event
    /// `make` builds when events are being recorded, the count otherwise.
    #[inline]
    pub fn note(&mut self, changes: u64, make: impl FnOnce() -> Event) {
        if self.recording {
            self.events.push(make());
        } else {
            self.changes += changes;
        }
    }

    /// Marks that the running command's reply comes before the events
    /// recorded from now on, as Redis's handler for it replies first and
    /// notifies after (LPUSH, LPOP, HSET, GETDEL, …): a client subscribed
    /// to its own keys' events receives them in that order. (Keys found
    /// expired are always announced first.)
    pub fn after_reply(&mut self) {
        if self.recording {
            self.replied_at.get_or_insert(self.events.len());
        }
    }

    /// Propagates the running command as `argv` instead of as received.
    pub fn rewrite<'a>(&mut self, argv: impl IntoIterator<Item = &'a [u8]>) {
        if self.propagating {
            self.rewrite = Rewrite::As(argv.into_iter().map(Bytes::from).collect());
        }
    }

    /// Propagates `argv` at this point of the stream, before the command's
    /// own propagation.
    pub fn also_propagate<'a>(&mut self, db: usize, argv: impl IntoIterator<Item = &'a [u8]>) {
        if self.propagating {
            self.events.push(Event::Propagate(Op::new(db, argv)));
        }
    }

    /// The change counter's increment for what is recorded so far.
    pub fn total_changes(&self) -> u64 {
        self.changes + self.events.iter().map(Event::changes).sum::<u64>()
    }

    /// Propagates the running command as received even if it changed
    /// nothing.
    pub fn force_propagation(&mut self) {
        self.rewrite = Rewrite::Always;
    }

    /// Keeps the running command out of the propagation stream.
    pub fn prevent_propagation(&mut self) {
        self.rewrite = Rewrite::Nothing;
    }
}

/// Keyspace counters INFO reports (Redis's `stat_keyspace_hits`, …), kept
/// by the store because its lookups are what count them.
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyspaceStats {
    pub hits: u64,
    pub misses: u64,
    pub expired: u64,
    pub evicted: u64,
}
