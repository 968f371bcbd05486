//! What happens after every command: the store's journal, drained once.
//!
//! [`after_command`] is called by `call()` after each command and by the
//! cron after each active-expiry step. It reads the journal's events in
//! order and feeds every consumer from that one pass:
//!
//! - the change counter (`rdb_changes_since_last_save`), counted per
//!   element as Redis counts `server.dirty`;
//! - the propagation stream: keys expired or evicted become `DEL`s, a
//!   handler's [`Event::Propagate`] operations keep their place, and the
//!   command itself comes last, as received or as its handler rewrote it,
//!   and only if it changed something. One command's operations form one
//!   unit (Redis wraps a unit of several in MULTI/EXEC when it writes the
//!   AOF or feeds replicas);
//! - keyspace notifications ([`crate::notify`]), published to the
//!   subscriber table;
//! - the [`Observer`]s: whatever registered to see key events and units
//!   (the replay test today; the AOF and replicas with persistence and
//!   replication);
//! - WATCH: every key event marks the key's watchers
//!   (`State::touch_watched`);
//! - inside EXEC, the events and operations of its commands are gathered
//!   and delivered as one unit ([`begin_transaction`]).
//!
//! Blocked clients' ready keys, client-side caching's invalidations and
//! eviction's accounting hook in here too, as observers or as a line in this function; none of them needs
//! a command handler or a backend to change.

use std::cell::RefCell;
use std::rc::Rc;

use crate::resp::Args;
use crate::server::State;
use crate::store::{Bytes, Event, KeyChange, Op, Rewrite, Store};

/// What one command or one cron step propagates.
#[derive(Clone, Copy, Debug)]
pub struct Unit<'a> {
    pub ops: &'a [Op],
    /// Whether the operations are one command's effect, to be applied
    /// together (an AOF or a replica wraps several in MULTI/EXEC, as Redis
    /// does). The cron's active-expiry DELs are not: each stands alone.
    pub atomic: bool,
}

/// A consumer of what commands do.
pub trait Observer {
    /// The key events of one command (or cron step), in order, and the
    /// unit it propagates (no operations when it propagates nothing).
    fn observe(&mut self, events: &[Event], unit: Unit);

    /// Whether it has stopped reading (the AOF turned off): it is dropped
    /// when the next observer registers.
    fn retired(&self) -> bool {
        false
    }
}

/// Records every propagated unit and event (tests, and a model of what an
/// AOF writer receives).
#[derive(Debug, Default, Clone)]
pub struct Recorder {
    pub units: Rc<RefCell<Vec<Vec<Op>>>>,
    pub events: Rc<RefCell<Vec<Event>>>,
}

impl Observer for Recorder {
    fn observe(&mut self, events: &[Event], unit: Unit) {
        self.events.borrow_mut().extend_from_slice(events);
        if !unit.ops.is_empty() {
            self.units.borrow_mut().push(unit.ops.to_vec());
        }
    }
}

/// Registers an observer; from now on events are recorded and the
/// propagation stream is built.
pub fn observe(store: &mut Store, state: &mut State, observer: Box<dyn Observer>) {
    state.observers.retain(|o| !o.retired());
    state.observers.push(observer);
    store.journal.propagating = true;
    sync_recording(store, state);
}

/// Turns event recording on while anything reads events: an observer, or
/// keyspace notifications (CONFIG SET notify-keyspace-events calls this).
pub fn sync_recording(store: &mut Store, state: &State) {
    let flags = state.config.notify_keyspace_events;
    let notify = flags & (crate::notify::KEYSPACE | crate::notify::KEYEVENT) != 0;
    store.journal.recording = !state.observers.is_empty()
        || notify
        || !state.watches.is_empty()
        || !state.blocking.is_empty()
        || state.tracking.active();
    store.journal.record_misses = notify && flags & crate::notify::KEY_MISS != 0;
}

/// Drains the journal after a command (`args`, run by the client with slab
/// key `client`) or, with `None`, after a cron step.
#[inline]
pub fn after_command(store: &mut Store, state: &mut State, command: Option<(usize, &Args)>) {
    let journal = &mut store.journal;
    // A read, or a write nobody observes: only the counter moves.
    if journal.events.is_empty() && journal.rewrite == Rewrite::AsReceived {
        state.changes_since_save += journal.changes;
        journal.changes = 0;
        journal.replied_at = None;
        return;
    }
    drain(store, state, command);
}

#[cold]
fn drain(store: &mut Store, state: &mut State, command: Option<(usize, &Args)>) {
    let journal = &mut store.journal;
    let changes = journal.total_changes();
    state.changes_since_save += changes;
    journal.changes = 0;
    let rewrite = std::mem::take(&mut journal.rewrite);
    let replied_at = journal.replied_at.take();
    if !journal.recording {
        return;
    }
    let unit = if journal.propagating {
        // The command propagates against the database its client has
        // selected once it has run (as Redis uses c->db after the call).
        let db = command
            .and_then(|(c, _)| state.clients.get(c))
            .map_or(0, |c| c.db);
        let args = command.map(|(_, args)| args);
        propagation(&journal.events, rewrite, db, args, changes)
    } else {
        Vec::new()
    };
    let unit = Unit {
        ops: &unit,
        atomic: command.is_some(),
    };
    crate::notify::publish(state, &journal.events, replied_at);
    if !state.watches.is_empty() {
        touch_watched(state, &journal.events, &store.dbs);
    }
    crate::blocking::note_changes(state, &journal.events);
    if state.tracking.active() {
        crate::tracking::invalidate(state, &journal.events);
    }
    match &mut state.transaction {
        // Inside EXEC: gathered, delivered as one unit at its end.
        Some(tx) => {
            tx.events.extend_from_slice(&journal.events);
            tx.ops.extend_from_slice(unit.ops);
        }
        None => deliver(state, &journal.events, unit),
    }
    journal.events.clear();
    // The last watch may have gone: stop recording if nothing reads.
    sync_recording(store, state);
}

fn deliver(state: &mut State, events: &[Event], unit: Unit) {
    if state.observers.is_empty() {
        return;
    }
    let mut observers = std::mem::take(&mut state.observers);
    for o in &mut observers {
        o.observe(events, unit);
    }
    state.observers = observers;
}

/// WATCH: every key event marks the key's watchers; a flush or a swap
/// marks every watcher in the databases concerned.
fn touch_watched(state: &mut State, events: &[Event], dbs: &[crate::store::Db]) {
    let now = state.now_ms();
    // After a swap, what a database holds now is what replaced its keys.
    let in_db = |db: usize, key: &[u8]| {
        dbs.get(db)
            .and_then(|d| d.get_raw(key))
            .map(|e| e.is_expired(now))
    };
    for event in events {
        match event {
            Event::Key(k) if k.change != KeyChange::Missed => {
                let gone = matches!(
                    k.change,
                    KeyChange::Deleted | KeyChange::Expired | KeyChange::Evicted
                );
                state.touch_watched(k.db, &k.key, gone);
            }
            Event::Flushed { db, .. } => state.touch_watched_db(*db, false, in_db),
            // SWAPDB of a database with itself changes nothing, as in Redis.
            Event::Swapped { a, b } if a == b => {}
            Event::Swapped { a, b } => {
                state.touch_watched_db(Some(*a), true, in_db);
                state.touch_watched_db(Some(*b), true, in_db);
            }
            _ => {}
        }
    }
}

/// What EXEC's commands did, gathered into one unit.
#[derive(Debug, Default)]
pub struct Transaction {
    pub events: Vec<Event>,
    pub ops: Vec<Op>,
}

/// EXEC begins running its queue: what the commands do is gathered.
pub fn begin_transaction(state: &mut State) {
    state.transaction = Some(Transaction::default());
}

/// EXEC has run its queue: its events and operations go to the
/// observers as one atomic unit (an AOF or a replica wraps it in
/// MULTI/EXEC, as Redis propagates a transaction).
pub fn end_transaction(state: &mut State) {
    let Some(tx) = state.transaction.take() else {
        return;
    };
    if tx.events.is_empty() && tx.ops.is_empty() {
        return;
    }
    let unit = Unit {
        ops: &tx.ops,
        atomic: true,
    };
    deliver(state, &tx.events, unit);
}

/// The unit of operations a command propagates: keys it found expired as
/// DELs and its handler's extra operations, in the order they happened,
/// then the command itself if it changed anything.
fn propagation(
    events: &[Event],
    rewrite: Rewrite,
    db: usize,
    args: Option<&Args>,
    changes: u64,
) -> Vec<Op> {
    let mut unit = Vec::new();
    for event in events {
        match event {
            Event::Key(k) if matches!(k.change, KeyChange::Expired | KeyChange::Evicted) => {
                unit.push(Op {
                    db: k.db,
                    argv: vec![Bytes::from(&b"DEL"[..]), k.key.clone()],
                });
            }
            Event::Propagate(op) => unit.push(op.clone()),
            _ => {}
        }
    }
    match (rewrite, args) {
        (Rewrite::As(argv), _) => unit.push(Op { db, argv }),
        (Rewrite::AsReceived, Some(args)) if changes > 0 => unit.push(Op::new(db, args.iter())),
        (Rewrite::Always, Some(args)) => unit.push(Op::new(db, args.iter())),
        _ => {}
    }
    unit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::KeyEvent;

    /// A handler's own operations keep their place among the expired keys'
    /// DELs; preventing propagation drops only the command itself.
    #[test]
    fn also_propagated_ops_keep_their_order() {
        let expired = |key: &[u8]| {
            Event::Key(KeyEvent {
                db: 1,
                key: key.into(),
                change: KeyChange::Expired,
                name: "expired",
                changes: 0,
                created: false,
                bytes: 0,
            })
        };
        let mut journal = crate::store::Journal {
            recording: true,
            propagating: true,
            ..Default::default()
        };
        journal.events.push(expired(b"a"));
        journal.also_propagate(0, [&b"LPOP"[..], b"l"]);
        journal.events.push(expired(b"b"));
        journal.prevent_propagation();
        let unit = propagation(&journal.events, journal.rewrite.clone(), 0, None, 1);
        let text: Vec<String> = unit
            .iter()
            .map(|op| {
                let argv: Vec<&str> = op
                    .argv
                    .iter()
                    .map(|a| std::str::from_utf8(a).unwrap_or("?"))
                    .collect();
                format!("{} {}", op.db, argv.join(" "))
            })
            .collect();
        assert_eq!(text, ["1 DEL a", "0 LPOP l", "1 DEL b"]);
    }
}
