//! Set commands (Redis's `t_set.c`): the seed's SADD SREM SMEMBERS
//! SISMEMBER SCARD.
//!
//! Sets keep Redis 7.0's two encodings (see [`Set`]): while small and
//! all-integer they are a sorted array, so SMEMBERS answers in numeric order
//! exactly as Redis's intset does; after that, a hash set whose order, as
//! in Redis, is arbitrary. A set is never left empty in the keyspace.

use super::flags::*;
use super::{Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::resp::Args;
use crate::store::{Set, Value};

pub const COMMANDS: &[Command] = &[
    Command::new("sadd", -3, WRITE | DENYOOM | FAST, sadd)
        .keys(1, 1, 1)
        .doc("set", "1.0.0", "Add one or more members to a set")
        .complexity("O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
    Command::new("srem", -3, WRITE | FAST, srem)
        .keys(1, 1, 1)
        .doc("set", "1.0.0", "Remove one or more members from a set")
        .complexity("O(N) where N is the number of members to be removed."),
    Command::new("smembers", 2, READONLY, smembers)
        .keys(1, 1, 1)
        .doc("set", "1.0.0", "Get all the members in a set")
        .complexity("O(N) where N is the set cardinality."),
    Command::new("sismember", 3, READONLY | FAST, sismember)
        .keys(1, 1, 1)
        .doc("set", "1.0.0", "Determine if a given value is a member of a set"),
    Command::new("scard", 2, READONLY | FAST, scard)
        .keys(1, 1, 1)
        .doc("set", "1.0.0", "Get the number of members in a set"),
];

/// The set in `value`, or WRONGTYPE.
fn as_set(value: Option<&Value>) -> Result<Option<&Set>, CmdError> {
    match value {
        None => Ok(None),
        Some(Value::Set(set)) => Ok(Some(set)),
        Some(_) => Err(CmdError::WrongType),
    }
}

fn sadd(ctx: &mut Ctx, args: Args) -> CmdResult {
    let mut db = ctx.db();
    let mut value = db.modify_or_create(args.get(1), "sadd", || Value::Set(Set::default()));
    let Value::Set(set) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    let added = args.tail(2).iter().filter(|m| set.insert(m)).count();
    value.changed(added as u64);
    drop(value);
    ctx.out().int(added as i64);
    Ok(())
}

fn srem(ctx: &mut Ctx, args: Args) -> CmdResult {
    let mut db = ctx.db();
    let Some(mut value) = db.modify(args.get(1), "srem") else {
        ctx.out().int(0);
        return Ok(());
    };
    let Value::Set(set) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    let removed = args.tail(2).iter().filter(|m| set.remove(m)).count();
    // Dropping the guard records the change, and deletes an emptied set.
    value.changed(removed as u64);
    drop(value);
    ctx.out().int(removed as i64);
    Ok(())
}

fn smembers(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (value, out) = ctx.read(args.get(1));
    match as_set(value)? {
        None => out.set(0),
        Some(Set::Ints(ints)) => {
            out.set(ints.len());
            for &n in ints.iter() {
                out.bulk_int(n);
            }
        }
        Some(Set::Table(table)) => {
            out.set(table.len());
            for member in table.iter() {
                out.bulk(member);
            }
        }
    }
    Ok(())
}

fn sismember(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (value, out) = ctx.read(args.get(1));
    let found = as_set(value)?.is_some_and(|set| set.contains(args.get(2)));
    out.int(found as i64);
    Ok(())
}

fn scard(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (value, out) = ctx.read(args.get(1));
    let len = as_set(value)?.map_or(0, |set| set.len());
    out.int(len as i64);
    Ok(())
}
