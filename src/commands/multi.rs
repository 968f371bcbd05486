//! Transactions (Redis's `multi.c`): MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Between MULTI and EXEC a client's commands are checked as usual
//! (`process`), then queued instead of run; a command refused while
//! queueing dooms the transaction (EXECABORT). EXEC runs the queue through
//! `call()`, like any command, and the write path delivers what the
//! commands changed as one unit (`effects`), so an AOF or a replica
//! applies them together. WATCH is one more consumer of key events: any
//! change to a watched key, its expiry included, marks its watchers
//! (`crate::server::Watches`).

use super::flags::*;
use super::{Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::resp::{Args, OwnedArgs};

const TX: u32 = NOSCRIPT | LOADING | STALE;

pub const COMMANDS: &[Command] = &[
    Command::new("multi", 1, TX | FAST | ALLOW_BUSY, multi).doc(
        "transactions",
        "1.2.0",
        "Mark the start of a transaction block",
    ),
    Command::new("exec", 1, TX | SKIP_SLOWLOG, exec)
        .doc(
            "transactions",
            "1.2.0",
            "Execute all commands issued after MULTI",
        )
        .complexity("Depends on commands in the transaction"),
    Command::new("discard", 1, TX | FAST | ALLOW_BUSY, discard)
        .doc(
            "transactions",
            "2.0.0",
            "Discard all commands issued after MULTI",
        )
        .complexity("O(N), when N is the number of queued commands"),
    Command::new("watch", -2, TX | FAST | ALLOW_BUSY, watch)
        .keys(1, -1, 1)
        .doc(
            "transactions",
            "2.2.0",
            "Watch the given keys to determine execution of the MULTI/EXEC block",
        )
        .complexity("O(1) for every key."),
    Command::new("unwatch", 1, TX | FAST | ALLOW_BUSY, unwatch).doc(
        "transactions",
        "2.2.0",
        "Forget about all watched keys",
    ),
];

/// A queued command: its row and a copy of its arguments.
#[derive(Debug)]
pub struct Queued {
    cmd: &'static Command,
    args: OwnedArgs,
}

/// A transaction being queued.
#[derive(Debug, Default)]
pub struct Multi {
    pub queued: Vec<Queued>,
    /// A command was refused while queueing: EXEC aborts.
    pub doomed: bool,
}

impl Multi {
    /// Whether a queued command may grow the dataset (EXEC is refused
    /// over maxmemory then).
    pub fn denies_oom(&self) -> bool {
        self.queued.iter().any(|q| q.cmd.flags & DENYOOM != 0)
    }

    /// Whether every queued command may run while the dataset loads.
    pub fn runs_while_loading(&self) -> bool {
        self.queued.iter().all(|q| q.cmd.flags & LOADING != 0)
    }

    /// Whether a queued command writes (EXEC counts as a write then).
    pub fn writes(&self) -> bool {
        self.queued.iter().any(|q| q.cmd.flags & WRITE != 0)
    }

    /// Whether a queued command writes or may replicate (CLIENT PAUSE
    /// WRITE holds such an EXEC back).
    pub fn may_replicate(&self) -> bool {
        self.queued
            .iter()
            .any(|q| q.cmd.flags & (WRITE | super::flags::MAY_REPLICATE) != 0)
    }

    /// Queues a command (its arguments copied).
    pub fn queue(&mut self, cmd: &'static Command, args: &Args) {
        self.queued.push(Queued {
            cmd,
            args: OwnedArgs::copy(args),
        });
    }
}

/// Whether `cmd` runs at once inside MULTI rather than being queued.
pub fn runs_in_multi(cmd: &Command) -> bool {
    matches!(
        cmd.name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

fn multi(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let me = ctx.me();
    if me.multi.is_some() {
        return Err(CmdError::err("ERR MULTI calls can not be nested"));
    }
    me.multi = Some(Multi::default());
    ctx.out().ok();
    Ok(())
}

fn discard(ctx: &mut Ctx, _args: Args) -> CmdResult {
    if ctx.me().multi.is_none() {
        return Err(CmdError::err("ERR DISCARD without MULTI"));
    }
    end_transaction(ctx);
    ctx.out().ok();
    Ok(())
}

/// Leaves MULTI and forgets every watched key (Redis's
/// `discardTransaction`).
pub fn end_transaction(ctx: &mut Ctx) {
    let me = ctx.client;
    ctx.state.clients[me].multi = None;
    ctx.state.unwatch_all(me);
}

fn exec(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let me = ctx.client;
    let Some(multi) = ctx.me().multi.take() else {
        return Err(CmdError::err("ERR EXEC without MULTI"));
    };
    // A watched key whose time passed since WATCH counts as changed.
    let now = ctx.now_ms;
    let expired = ctx.state.watched_key_expired(me, |db, key| {
        ctx.store.dbs[db]
            .get_raw(key)
            .is_some_and(|e| e.is_expired(now))
    });
    let touched = ctx.state.clients[me].watch_touched || expired;
    end_transaction(ctx);
    if multi.doomed {
        return Err(CmdError::ExecAbort);
    }
    if touched {
        ctx.out().null_array();
        return Ok(());
    }
    // Where EXEC's own reply begins (CLIENT REPLY OFF drops from there),
    // kept while the queued commands' replies move the mark.
    let exec_start = ctx.state.running.map(|r| r.reply_start);
    ctx.out().array(multi.queued.len());
    crate::effects::begin_transaction(ctx.state);
    for q in &multi.queued {
        // A push for this client goes among the array's elements, before
        // the reply of the command that caused it.
        let here = ctx.out().mark();
        if let Some(running) = ctx.state.running.as_mut().filter(|r| r.client == me) {
            running.reply_start = here;
        }
        // The user's rules may have changed since the command was queued.
        let user = ctx.me().user.clone();
        let args = q.args.args();
        if let Err(denied) = user.check(q.cmd, &args) {
            let full = crate::acl::all_rows()[crate::acl::row_id(q.cmd)]
                .resolved
                .full_name();
            let (reason, object) = super::acl::denial_object(denied, full.as_bytes(), &args);
            super::acl::log_denial(ctx, reason, crate::acl::LogContext::Multi, object, None);
            super::reply_error(ctx, &CmdError::noperm_at_exec(denied));
            continue;
        }
        super::call(ctx, q.cmd, args);
    }
    crate::effects::end_transaction(ctx.state);
    if let (Some(running), Some(start)) = (ctx.state.running.as_mut(), exec_start) {
        running.reply_start = start;
    }
    Ok(())
}

fn watch(ctx: &mut Ctx, args: Args) -> CmdResult {
    if ctx.me().multi.is_some() {
        return Err(CmdError::err("ERR WATCH inside MULTI is not allowed"));
    }
    let (me, db, now) = (ctx.client, ctx.db_index(), ctx.now_ms);
    // No point in watching once a watched key has changed.
    if !ctx.me().watch_touched {
        for key in args.tail(1).iter() {
            let entry = ctx.store.dbs[db].get_raw(key);
            let expired = entry.is_some_and(|e| e.is_expired(now));
            let exists = entry.is_some();
            ctx.state.watch(me, db, key, exists, expired);
        }
        crate::effects::sync_recording(ctx.store, ctx.state);
    }
    ctx.out().ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let me = ctx.client;
    ctx.state.unwatch_all(me);
    ctx.out().ok();
    Ok(())
}
