//! CLIENT PAUSE and CLIENT UNPAUSE (Redis's `pauseClients` and its
//! `BLOCKED_POSTPONE` clients).
//!
//! While a pause holds, a command it covers (every command for `ALL`;
//! for `WRITE`, writes and the commands that may replicate, EXEC of a
//! transaction holding them included) is not run: its client is
//! postponed with a copy of the command and runs nothing more, as a
//! blocked client does. When the pause ends (its deadline, which the
//! backends wake for, or CLIENT UNPAUSE), the postponed clients run their
//! commands again from the start, checks included, in the order they
//! arrived. A pause keeps the dataset still: keys whose time has passed
//! read as missing but stay until it ends, and neither active expiry nor
//! eviction runs.

use std::collections::VecDeque;

use crate::commands::{flags, Command, Ctx};
use crate::resp::{Args, OwnedArgs};
use crate::server::State;
use crate::store::Store;

/// What a pause covers; `All` is the more restrictive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    Write,
    All,
}

/// The pause in force, and who waits for its end.
#[derive(Debug, Default)]
pub struct Pause {
    mode: Option<Mode>,
    /// Unix ms.
    end_ms: u64,
    /// Postponed clients (slab key, id), in arrival order.
    postponed: VecDeque<(usize, u64)>,
    /// Clients whose pause ended, to run again.
    ready: VecDeque<(usize, u64)>,
}

impl Pause {
    pub fn mode(&self) -> Option<Mode> {
        self.mode
    }

    /// When the backend must wake to end the pause.
    pub fn deadline(&self) -> Option<u64> {
        // The pause ends once its time is past (Redis compares with <).
        self.mode.map(|_| self.end_ms + 1)
    }

    /// Clients waiting for the pause to end.
    pub fn postponed(&self) -> usize {
        self.postponed.len()
    }

    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }
}

/// Whether `cmd` counts as a write for CLIENT PAUSE WRITE (Redis's
/// `is_may_replicate_command`).
fn may_replicate(cmd: &Command, client: &crate::server::Client) -> bool {
    cmd.flags & flags::WRITE != 0
        || crate::commands::may_replicate(cmd)
        || (cmd.name == "exec" && client.multi.as_ref().is_some_and(|m| m.may_replicate()))
}

/// CLIENT PAUSE: pauses until `end_ms` (the later of this and a pause in
/// force) with the more restrictive of `mode` and the one in force.
pub fn pause(store: &mut Store, state: &mut State, mode: Mode, end_ms: u64) {
    let p = &mut state.pause;
    p.mode = Some(p.mode.map_or(mode, |m| m.max(mode)));
    p.end_ms = p.end_ms.max(end_ms);
    store.expiry_paused = true;
}

/// CLIENT UNPAUSE, or the deadline passed: every postponed client is
/// queued to run again.
pub fn unpause(store: &mut Store, state: &mut State) {
    let p = &mut state.pause;
    if p.mode.take().is_none() {
        return;
    }
    p.end_ms = 0;
    let waiting = std::mem::take(&mut p.postponed);
    p.ready.extend(waiting);
    store.expiry_paused = false;
}

/// Ends the pause if its deadline has passed; whether one still holds.
pub fn check_deadline(store: &mut Store, state: &mut State, now_ms: u64) -> bool {
    if state.pause.mode.is_some() && state.pause.end_ms < now_ms {
        unpause(store, state);
    }
    state.pause.mode.is_some()
}

/// Whether the pause in force holds back `cmd` from the running client.
pub fn holds(ctx: &mut Ctx, cmd: &'static Command) -> bool {
    if ctx.state.pause.mode.is_none() || ctx.me().aof_loader {
        return false;
    }
    if !check_deadline(ctx.store, ctx.state, ctx.now_ms) {
        return false;
    }
    match ctx.state.pause.mode {
        Some(Mode::All) => true,
        Some(Mode::Write) => may_replicate(cmd, &ctx.state.clients[ctx.client]),
        None => false,
    }
}

/// Postpones the running client's command until the pause ends.
pub fn postpone(ctx: &mut Ctx, args: &Args) {
    let me = ctx.client;
    let client = &mut ctx.state.clients[me];
    client.postponed = Some(OwnedArgs::copy(args));
    let id = client.id;
    ctx.state.pause.postponed.push_back((me, id));
}

/// Forgets a client that leaves while postponed.
pub fn forget(state: &mut State, client: usize) {
    state.pause.postponed.retain(|&(c, _)| c != client);
    state.pause.ready.retain(|&(c, _)| c != client);
}

/// Runs the commands of the clients whose pause ended, in order, each as
/// if it had just arrived, and lets each go on with its input.
pub fn resume_ready(store: &mut Store, state: &mut State, now_ms: u64) {
    while let Some((client, id)) = state.pause.ready.pop_front() {
        let Some(args) = state
            .clients
            .get_mut(client)
            .filter(|c| c.id == id)
            .and_then(|c| c.postponed.take())
        else {
            continue;
        };
        let mut ctx = Ctx {
            store,
            state,
            client,
            now_ms,
        };
        crate::commands::execute(&mut ctx, args.args());
        // Postponed again by a newer pause: it keeps waiting.
        if state
            .clients
            .get(client)
            .is_some_and(|c| c.postponed.is_none())
        {
            state.resume(client);
        }
    }
}

/// The backends' timer: blocked clients' timeouts and the pause's end.
pub fn timeouts(store: &mut Store, state: &mut State, now_ms: u64) {
    crate::blocking::expire(state, now_ms);
    check_deadline(store, state, now_ms);
    resume_ready(store, state, now_ms);
}

/// When the backends' timer must next fire.
pub fn next_deadline(state: &State) -> Option<u64> {
    match (state.blocking.next_deadline(), state.pause.deadline()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
