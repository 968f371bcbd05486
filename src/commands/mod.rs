//! The command table and dispatch.
//!
//! Every command is one [`Command`] row in its family's file (`strings.rs`,
//! `keys.rs`, …): name, arity in Redis's sign convention (`-2` means "at
//! least two", counting the name), flags, key positions, docs and handler.
//! [`execute`] checks the name, subcommand and arity once, centrally, with
//! Redis's exact errors, then calls the handler. COMMAND and COMMAND DOCS
//! are generated from the same rows.
//!
//! Handlers are thin: they parse their arguments, call operations on the
//! store, and write the reply. They return `Err(CmdError)` before writing
//! anything, and the dispatcher writes the error.

pub mod args;
mod connection;
mod hashes;
mod info;
mod keys;
mod lists;
pub mod meta;
#[rustfmt::skip]
mod redis_docs;
mod server;
mod sets;
mod strings;

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::error::{CmdError, CmdResult};
use crate::resp::{Args, Reply};
use crate::server::State;
use crate::store::{Db, Store};

pub use args::*;

/// What a handler gets: the keyspace, the rest of the server, the caller's
/// reply buffer and selected database, and the time of this batch.
pub struct Ctx<'a> {
    pub store: &'a mut Store,
    pub state: &'a mut State,
    pub out: &'a mut Reply,
    /// Slab key of the calling client in `state.clients`.
    pub client: usize,
    pub db: usize,
    pub now_ms: u64,
}

impl Ctx<'_> {
    /// The selected database.
    pub fn db(&mut self) -> &mut Db {
        &mut self.store.dbs[self.db]
    }
}

pub type Handler = fn(&mut Ctx, Args) -> CmdResult;

/// Command flags, as COMMAND INFO reports them.
pub mod flags {
    pub const WRITE: u32 = 1;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const FAST: u32 = 1 << 9;
    pub const NO_AUTH: u32 = 1 << 10;
    pub const NO_MULTI: u32 = 1 << 11;
    pub const ALLOW_BUSY: u32 = 1 << 12;
    pub const SENTINEL: u32 = 1 << 13;
    pub const SKIP_MONITOR: u32 = 1 << 14;
    pub const SKIP_SLOWLOG: u32 = 1 << 15;
    pub const NO_MANDATORY_KEYS: u32 = 1 << 16;
    pub const NO_ASYNC_LOADING: u32 = 1 << 17;
    pub const MOVABLE_KEYS: u32 = 1 << 18;

    /// Names in COMMAND INFO's order (Redis's `addReplyFlagsForCommand`).
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (MOVABLE_KEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// One row of the command table.
pub struct Command {
    /// Lower-case name (for subcommands, the subcommand's own name).
    pub name: &'static str,
    pub arity: i32,
    pub flags: u32,
    /// First key, last key (negative counts from the end), step; zeros when
    /// the command takes no keys.
    pub keys: (i32, i32, i32),
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub complexity: &'static str,
    pub handler: Handler,
    pub subcommands: &'static [Command],
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Command").field("name", &self.name).finish()
    }
}

impl Command {
    /// A row with the common defaults; families fill in the rest.
    pub const fn new(name: &'static str, arity: i32, flags: u32, handler: Handler) -> Command {
        Command {
            name,
            arity,
            flags,
            keys: (0, 0, 0),
            group: "generic",
            summary: "",
            since: "1.0.0",
            complexity: "O(1)",
            handler,
            subcommands: &[],
        }
    }
    pub const fn keys(mut self, first: i32, last: i32, step: i32) -> Command {
        self.keys = (first, last, step);
        self
    }
    pub const fn doc(
        mut self,
        group: &'static str,
        since: &'static str,
        summary: &'static str,
    ) -> Command {
        self.group = group;
        self.since = since;
        self.summary = summary;
        self
    }
    pub const fn complexity(mut self, complexity: &'static str) -> Command {
        self.complexity = complexity;
        self
    }
    pub const fn subcommands(mut self, subs: &'static [Command]) -> Command {
        self.subcommands = subs;
        self
    }

    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = self.arity as i64;
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    pub fn find_subcommand(&self, name: &[u8]) -> Option<&'static Command> {
        self.subcommands
            .iter()
            .find(|c| c.name.as_bytes().eq_ignore_ascii_case(name))
    }
}

/// Every family's rows.
fn families() -> impl Iterator<Item = &'static Command> {
    [
        connection::COMMANDS,
        server::COMMANDS,
        keys::COMMANDS,
        strings::COMMANDS,
        lists::COMMANDS,
        sets::COMMANDS,
        hashes::COMMANDS,
    ]
    .into_iter()
    .flatten()
}

fn table() -> &'static HashMap<&'static str, &'static Command> {
    static TABLE: OnceLock<HashMap<&'static str, &'static Command>> = OnceLock::new();
    TABLE.get_or_init(|| families().map(|c| (c.name, c)).collect())
}

/// All top-level commands, sorted by name.
pub fn all() -> Vec<&'static Command> {
    let mut v: Vec<_> = table().values().copied().collect();
    v.sort_by_key(|c| c.name);
    v
}

/// Looks a command up by name, in any case.
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    let mut lower = [0u8; 32];
    if name.len() > lower.len() {
        return None;
    }
    for (d, s) in lower.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    let lower = std::str::from_utf8(&lower[..name.len()]).ok()?;
    table().get(lower).copied()
}

/// What the connection must do after a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    Continue,
    /// Send what is pending, then close (QUIT).
    Close,
}

/// Resolves the command row for `args`, checking the subcommand and arity.
pub fn resolve(args: &Args) -> Result<&'static Command, CmdError> {
    let name = args.get(0);
    let Some(cmd) = lookup(name) else {
        return Err(CmdError::unknown_command(name, args.tail(1).iter()));
    };
    if cmd.subcommands.is_empty() || args.len() < 2 {
        if !cmd.arity_ok(args.len()) {
            return Err(CmdError::arity(cmd.name));
        }
        return Ok(cmd);
    }
    let Some(sub) = cmd.find_subcommand(args.get(1)) else {
        return Err(CmdError::unknown_subcommand(
            args.get(1),
            &String::from_utf8_lossy(name),
        ));
    };
    if !sub.arity_ok(args.len()) {
        return Err(CmdError::arity(&format!("{}|{}", cmd.name, sub.name)));
    }
    Ok(sub)
}

/// Runs one command and writes its reply (or error) into `ctx.out`.
pub fn execute(ctx: &mut Ctx, args: Args) -> After {
    debug_assert!(!args.is_empty());
    // QUIT is answered here, before the table, as Redis 7.0 does.
    if args.get(0).eq_ignore_ascii_case(b"quit") {
        ctx.out.ok();
        return After::Close;
    }
    let result = resolve(&args).and_then(|cmd| {
        let client = &mut ctx.state.clients[ctx.client];
        if !client.authenticated && cmd.flags & flags::NO_AUTH == 0 {
            return Err(CmdError::NoAuth);
        }
        client.last_cmd = Some(cmd);
        ctx.state.stats.commands_processed += 1;
        (cmd.handler)(ctx, args)
    });
    if let Err(e) = result {
        ctx.state.stats.count_error(e.message());
        ctx.out.error(e.message());
    }
    if ctx.state.clients[ctx.client].closing {
        After::Close
    } else {
        After::Continue
    }
}
