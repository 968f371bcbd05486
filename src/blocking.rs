//! Clients blocked on keys (Redis's `blocked.c`): BLPOP, BRPOP, BLMOVE,
//! BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP.
//!
//! A blocking command that finds no data parks its client here with a copy
//! of its arguments ([`crate::commands::Ctx::block`]); the client's session
//! runs nothing more until it is answered, so what it pipelined after waits
//! in its input. The write path's key events say which watched keys
//! changed (`effects` calls [`note_changes`]); once the command that
//! changed them has finished (after EXEC, for a transaction), each ready
//! key's waiters are served first come, first served, by running their
//! command again through `call()`: its reply goes to the waiter, and its
//! propagation is the non-blocking command it became (LPOP, LMOVE,
//! ZPOPMIN…), exactly as when it finds data at once. A waiter whose key
//! holds the wrong type, or ran out, stays where it is.
//!
//! Timeouts are kept in deadline order; the backend wakes for the earliest
//! ([`Blocking::next_deadline`]), so a timeout is kept to the millisecond,
//! not to the cron's tick. A client that disconnects, is killed or is
//! unblocked by CLIENT UNBLOCK leaves no trace here.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::ops::Range;

use crate::commands::{Command, Ctx};
use crate::resp::{Args, OwnedArgs};
use crate::server::{Request, Running, State};
use crate::store::{Bytes, Event, KeyChange, Store, Value};

/// The kind of value a waiter pops from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wants {
    List,
    Zset,
    /// XREAD and XREADGROUP: new entries in a stream.
    Stream,
}

impl Wants {
    fn accepts(self, value: &Value) -> bool {
        matches!(
            (self, value),
            (Wants::List, Value::List(_))
                | (Wants::Zset, Value::Zset(_))
                | (Wants::Stream, Value::Stream(_))
        )
    }
}

/// A blocked client's command, kept to run again.
#[derive(Debug)]
pub struct Blocked {
    pub wants: Wants,
    pub db: usize,
    pub keys: Vec<Bytes>,
    /// Unix ms; 0 waits forever.
    pub deadline: u64,
    pub cmd: &'static Command,
    args: OwnedArgs,
}

impl Blocked {
    pub fn new(
        cmd: &'static Command,
        args: &Args,
        wants: Wants,
        db: usize,
        keys: Range<usize>,
        deadline: u64,
    ) -> Blocked {
        Blocked {
            wants,
            db,
            keys: {
                // Each key once (BLPOP k k 0 waits in one queue).
                let mut seen = HashSet::new();
                keys.map(|i| args.get(i))
                    .filter(|k| seen.insert(*k))
                    .map(Bytes::from)
                    .collect()
            },
            deadline,
            cmd,
            args: OwnedArgs::copy(args),
        }
    }
}

/// Who waits for what.
#[derive(Debug, Default)]
pub struct Blocking {
    /// Waiters per (database, key), in arrival order.
    waiting: HashMap<(usize, Bytes), VecDeque<usize>>,
    /// (deadline, client) of the waiters that have one.
    deadlines: BTreeSet<(u64, usize)>,
    /// Keys with waiters that changed since they were last served, in
    /// order, and the same as a set (a write of many keys stays linear).
    ready: VecDeque<(usize, Bytes)>,
    ready_set: HashSet<(usize, Bytes)>,
    count: usize,
    /// The waiter whose command is running again, and whether it found
    /// nothing and stays blocked.
    rerun: Option<usize>,
    still_blocked: bool,
}

impl Blocking {
    /// INFO's `blocked_clients`.
    pub fn count(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// When the backend must next wake to time a waiter out.
    pub fn next_deadline(&self) -> Option<u64> {
        self.deadlines.first().map(|&(at, _)| at)
    }

    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    fn mark_ready(&mut self, db: usize, key: &[u8]) {
        let id = (db, Bytes::from(key));
        if self.waiting.contains_key(&id) && self.ready_set.insert(id.clone()) {
            self.ready.push_back(id);
        }
    }
}

impl Ctx<'_> {
    /// Whether a blocking command may block here: not inside EXEC, where
    /// it answers as if it had timed out.
    pub fn may_block(&self) -> bool {
        self.state.transaction.is_none()
    }

    /// Parks the calling client until one of `keys` (argument indexes)
    /// holds what it `wants`, or `deadline` (Unix ms, 0 for never) passes.
    /// The handler writes no reply. Called again while its command is
    /// re-run and still finds nothing, it leaves the client where it was.
    pub fn block(&mut self, args: &Args, wants: Wants, keys: Range<usize>, deadline: u64) {
        let me = self.client;
        if self.state.blocking.rerun == Some(me) {
            self.state.blocking.still_blocked = true;
            return;
        }
        let Some(cmd) = crate::commands::find(args.get(0)) else {
            return;
        };
        let db = self.db_index();
        let blocked = Blocked::new(cmd, args, wants, db, keys, deadline);
        let blocking = &mut self.state.blocking;
        for key in &blocked.keys {
            blocking
                .waiting
                .entry((db, key.clone()))
                .or_default()
                .push_back(me);
        }
        if deadline > 0 {
            blocking.deadlines.insert((deadline, me));
        }
        blocking.count += 1;
        self.state.clients[me].blocked = Some(Box::new(blocked));
        crate::effects::sync_recording(self.store, self.state);
    }

    /// Blocks on `keys`, or where blocking is not allowed (inside EXEC)
    /// answers as a timeout does: the common end of every blocking pop
    /// that found nothing.
    pub fn wait_or_give_up(
        &mut self,
        args: &Args,
        wants: Wants,
        keys: Range<usize>,
        deadline: u64,
    ) {
        if self.may_block() {
            self.block(args, wants, keys, deadline);
        } else {
            self.out().null_array();
        }
    }

    /// Whether the running command is a blocked one run again because a
    /// key it waits on changed.
    pub fn rerunning(&self) -> bool {
        self.state.blocking.rerun == Some(self.client)
    }

    /// Whether the running command left its client blocked (it is not
    /// counted as a call until it is answered, as in Redis).
    pub fn blocked_now(&self) -> bool {
        self.state.blocking.still_blocked
            || self
                .state
                .clients
                .get(self.client)
                .is_some_and(|c| c.blocked.is_some())
    }
}

impl State {
    /// Removes `client` from every queue; its command, if it was blocked.
    pub fn unblock(&mut self, client: usize) -> Option<Box<Blocked>> {
        let blocked = self.clients.get_mut(client)?.blocked.take()?;
        self.forget_waiter(client, &blocked);
        Some(blocked)
    }

    fn forget_waiter(&mut self, client: usize, blocked: &Blocked) {
        let blocking = &mut self.blocking;
        for key in &blocked.keys {
            let id = (blocked.db, key.clone());
            if let Some(queue) = blocking.waiting.get_mut(&id) {
                queue.retain(|&c| c != client);
                if queue.is_empty() {
                    blocking.waiting.remove(&id);
                }
            }
        }
        blocking.deadlines.remove(&(blocked.deadline, client));
        blocking.count -= 1;
    }

    /// Answers a blocked client as a timeout does (a null array), or with
    /// CLIENT UNBLOCK's error, and lets its session go on.
    pub fn unblock_with(&mut self, client: usize, error: Option<&[u8]>) -> bool {
        let Some(blocked) = self.unblock(client) else {
            return false;
        };
        let stats = self.stats.command(blocked.cmd);
        stats.calls += 1;
        if error.is_some() {
            stats.failed_calls += 1;
        }
        self.stats.commands_processed += 1;
        if let Some(c) = self.clients.get_mut(client) {
            match error {
                _ if c.reply == crate::server::ReplyMode::Off => {}
                Some(message) => c.out.error(message),
                None => c.out.null_array(),
            }
        }
        self.resume(client);
        true
    }

    /// An unblocked client has a reply to send and input to go on with.
    pub(crate) fn resume(&mut self, client: usize) {
        self.output_added(client);
        self.requests.push(Request::Resume(client));
    }
}

/// Marks the keys with waiters that `events` changed (the write path's
/// key events; a SWAPDB makes every waited-on key of both databases a
/// candidate).
pub fn note_changes(state: &mut State, events: &[Event]) {
    if state.blocking.is_empty() {
        return;
    }
    for event in events {
        match event {
            Event::Key(k) if k.change == KeyChange::Changed => {
                state.blocking.mark_ready(k.db, &k.key);
            }
            // A deleted key answers its XREADGROUP waiters (Redis's
            // `unblockDeletedStreamReadgroupClients`).
            Event::Key(k)
                if matches!(
                    k.change,
                    KeyChange::Deleted | KeyChange::Expired | KeyChange::Evicted
                ) =>
            {
                state.blocking.mark_ready(k.db, &k.key);
            }
            Event::Swapped { a, b } => {
                let keys: Vec<(usize, Bytes)> = state
                    .blocking
                    .waiting
                    .keys()
                    .filter(|(db, _)| db == a || db == b)
                    .cloned()
                    .collect();
                for (db, key) in keys {
                    state.blocking.mark_ready(db, &key);
                }
            }
            _ => {}
        }
    }
}

/// Serves the waiters of every ready key, first come first served, while
/// the key holds what they want. Runs after a command has finished (never
/// inside EXEC); what serving changes can make more keys ready.
pub fn serve_ready(store: &mut Store, state: &mut State, now_ms: u64) {
    // In the order the keys became ready.
    while let Some((db, key)) = state.blocking.ready.pop_front() {
        state.blocking.ready_set.remove(&(db, key.clone()));
        let waiters: Vec<usize> = state
            .blocking
            .waiting
            .get(&(db, key.clone()))
            .map(|q| q.iter().copied().collect())
            .unwrap_or_default();
        for client in waiters {
            // A killed client is on its way out: it takes nothing.
            let (wants, group_read) = match state.clients.get(client).filter(|c| !c.closing) {
                Some(c) => match &c.blocked {
                    Some(b) => (b.wants, b.cmd.name == "xreadgroup"),
                    None => continue,
                },
                None => continue,
            };
            let value = store.dbs[db]
                .get_raw(&key)
                .filter(|e| !e.is_expired(now_ms))
                .map(|e| &e.value);
            // A list waiter skips a sorted set, and the other way round,
            // without holding up those behind it. An XREADGROUP waiter
            // whose stream is gone (deleted, or replaced by another type)
            // runs again to be told so.
            let serve = match value {
                Some(v) => wants.accepts(v) || (group_read && !matches!(v, Value::Stream(_))),
                None => group_read,
            };
            if serve {
                rerun(store, state, client, now_ms);
            }
        }
    }
}

/// Runs a waiter's command again, as the waiter.
fn rerun(store: &mut Store, state: &mut State, client: usize, now_ms: u64) {
    let Some(blocked) = state.clients[client].blocked.take() else {
        return;
    };
    state.blocking.rerun = Some(client);
    state.blocking.still_blocked = false;
    let start = state.clients[client].out.mark();
    let running = state.running.replace(Running {
        client,
        reply_start: start,
        after_reply: false,
    });
    let mut ctx = Ctx {
        store,
        state,
        client,
        now_ms,
    };
    crate::commands::call(&mut ctx, blocked.cmd, blocked.args.args());
    state.running = running;
    state.blocking.rerun = None;
    // CLIENT REPLY OFF holds for an answer that comes late too.
    if let Some(c) = state.clients.get_mut(client) {
        if c.reply == crate::server::ReplyMode::Off {
            c.out.discard_since(start);
        }
    }
    if std::mem::take(&mut state.blocking.still_blocked) {
        state.clients[client].blocked = Some(blocked);
        return;
    }
    state.forget_waiter(client, &blocked);
    state.resume(client);
}

/// Times out every waiter whose deadline has passed.
pub fn expire(state: &mut State, now_ms: u64) {
    while let Some(&(at, client)) = state.blocking.deadlines.first() {
        if at > now_ms {
            break;
        }
        if !state.unblock_with(client, None) {
            state.blocking.deadlines.remove(&(at, client));
        }
    }
}

/// A blocking command's timeout argument (Redis's
/// `getTimeoutFromObjectOrReply` in seconds): the deadline in Unix ms, 0
/// for none.
pub fn deadline_arg(arg: &[u8], now_ms: u64) -> Result<u64, crate::error::CmdError> {
    use crate::error::CmdError;
    // Read as Redis reads it, a long double: 1e400 is a number.
    if crate::ldouble::LongDouble::parse(arg).is_none() {
        return Err(CmdError::err("ERR timeout is not a float or out of range"));
    }
    let seconds = crate::commands::strtod_whole(arg).unwrap_or(f64::INFINITY);
    let ms = (seconds * 1000.0).ceil();
    // C converts what does not fit a long long to its minimum: negative.
    if !(0.0..9.2e18).contains(&ms) {
        return Err(CmdError::err("ERR timeout is negative"));
    }
    let ms = ms as u64;
    Ok(if ms == 0 {
        0
    } else {
        now_ms.saturating_add(ms)
    })
}
