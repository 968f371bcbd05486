//! Server commands (Redis's `server.c`, `db.c` admin parts, `config.c`).

use super::flags::*;
use super::{Command, Ctx};
use crate::error::CmdResult;
use crate::resp::Args;

pub const COMMANDS: &[Command] = &[
    // Minimal for now: the differential runner needs it. ASYNC/SYNC to come.
    Command::new("flushall", -1, WRITE, flushall).doc(
        "server",
        "1.0.0",
        "Removes all keys from all databases.",
    ),
];

fn flushall(ctx: &mut Ctx, _args: Args) -> CmdResult {
    for db in &mut ctx.store.dbs {
        db.clear();
    }
    ctx.out.ok();
    Ok(())
}
