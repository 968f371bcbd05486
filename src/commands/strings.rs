//! String commands (Redis's `t_string.c`).

use super::flags::*;
use super::{as_str, Command, Ctx};
use crate::error::CmdResult;
use crate::resp::Args;
use crate::store::Value;

pub const COMMANDS: &[Command] = &[
    Command::new("get", 2, READONLY | FAST, get).keys(1, 1, 1).doc("string", "1.0.0", "Returns the string value of a key."),
    Command::new("set", -3, WRITE | DENYOOM, set).keys(1, 1, 1).doc("string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist."),
];

fn get(ctx: &mut Ctx, args: Args) -> CmdResult {
    match ctx.store.dbs[ctx.db].get(args.get(1), ctx.now_ms) {
        Some(v) => ctx.out.bulk(as_str(v)?),
        None => ctx.out.null(),
    }
    Ok(())
}

fn set(ctx: &mut Ctx, args: Args) -> CmdResult {
    let now = ctx.now_ms;
    ctx.db()
        .set(args.get(1), Value::str(args.get(2)), None, now);
    ctx.out.ok();
    Ok(())
}
