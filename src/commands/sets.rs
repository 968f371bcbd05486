//! Set commands (Redis's `t_set.c`): SADD SREM SMEMBERS SISMEMBER
//! SMISMEMBER SCARD SMOVE SPOP SRANDMEMBER SINTER SINTERCARD SUNION SDIFF
//! and the STORE forms.
//!
//! Sets keep Redis 7.0's two encodings (see [`Set`]): while small and
//! all-integer they are a sorted array, so SMEMBERS answers in numeric order
//! exactly as Redis's intset does; after that, a hash set whose order, as
//! in Redis, is arbitrary. A set is never left empty in the keyspace.

use super::flags::*;
use super::{is, positive_arg, random_picks, random_source, ranged_arg, Command, Ctx, Picks};
use crate::error::{CmdError, CmdResult};
use crate::resp::{parse_i64, Args};
use crate::store::{Bytes, DbMut, Set, Value};

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
    Command::new("smismember", -3, READONLY | FAST, smismember)
        .keys(1, 1, 1)
        .doc("set", "6.2.0", "Returns the membership associated with the given elements for a set")
        .complexity("O(N) where N is the number of elements being checked for membership"),
    Command::new("spop", -2, WRITE | FAST, spop)
        .keys(1, 1, 1)
        .doc("set", "1.0.0", "Remove and return one or multiple random members from a set")
        .complexity("Without the count argument O(1), otherwise O(N) where N is the value of the passed count."),
    Command::new("srandmember", -2, READONLY, srandmember)
        .keys(1, 1, 1)
        .doc("set", "1.0.0", "Get one or multiple random members from a set")
        .complexity("Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count."),
    Command::new("smove", 4, WRITE | FAST, smove)
        .keys(1, 2, 1)
        .doc("set", "1.0.0", "Move a member from one set to another"),
    Command::new("sinter", -2, READONLY, sinter)
        .keys(1, -1, 1)
        .doc("set", "1.0.0", "Intersect multiple sets")
        .complexity("O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
    Command::new("sintercard", -3, READONLY, sintercard)
        .doc("set", "7.0.0", "Intersect multiple sets and return the cardinality of the result")
        .complexity("O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
    Command::new("sinterstore", -3, WRITE | DENYOOM, sinterstore)
        .keys(1, -1, 1)
        .doc("set", "1.0.0", "Intersect multiple sets and store the resulting set in a key")
        .complexity("O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
    Command::new("sunion", -2, READONLY, sunion)
        .keys(1, -1, 1)
        .doc("set", "1.0.0", "Add multiple sets")
        .complexity("O(N) where N is the total number of elements in all given sets."),
    Command::new("sunionstore", -3, WRITE | DENYOOM, sunionstore)
        .keys(1, -1, 1)
        .doc("set", "1.0.0", "Add multiple sets and store the resulting set in a key")
        .complexity("O(N) where N is the total number of elements in all given sets."),
    Command::new("sdiff", -2, READONLY, sdiff)
        .keys(1, -1, 1)
        .doc("set", "1.0.0", "Subtract multiple sets")
        .complexity("O(N) where N is the total number of elements in all given sets."),
    Command::new("sdiffstore", -3, WRITE | DENYOOM, sdiffstore)
        .keys(1, -1, 1)
        .doc("set", "1.0.0", "Subtract multiple sets and store the resulting set in a key")
        .complexity("O(N) where N is the total number of elements in all given sets."),
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

fn smismember(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (value, out) = ctx.read(args.get(1));
    let set = as_set(value)?;
    let members = args.tail(2);
    out.array(members.len());
    for member in members.iter() {
        out.int(set.is_some_and(|s| s.contains(member)) as i64);
    }
    Ok(())
}

/// SMOVE: both keys' types are checked before anything moves; moving
/// within one set changes nothing.
fn smove(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (src, dst, member) = (args.get(1), args.get(2), args.get(3));
    let mut db = ctx.db();
    let src_type = db.entry(src).map(|e| matches!(e.value, Value::Set(_)));
    let dst_type = db.entry(dst).map(|e| matches!(e.value, Value::Set(_)));
    let moved = match (src_type, dst_type) {
        (None, _) => false,
        (Some(false), _) | (_, Some(false)) => return Err(CmdError::WrongType),
        _ if src == dst => db.entry(src).is_some_and(|e| match &e.value {
            Value::Set(set) => set.contains(member),
            _ => false,
        }),
        _ => {
            let removed = match db.modify(src, "srem") {
                Some(mut value) => {
                    let removed = match &mut *value {
                        Value::Set(set) => set.remove(member),
                        _ => false,
                    };
                    value.changed(removed as u64);
                    removed
                }
                None => false,
            };
            if removed {
                let mut value = db.modify_or_create(dst, "sadd", || Value::Set(Set::default()));
                let added = match &mut *value {
                    Value::Set(set) => set.insert(member),
                    _ => false,
                };
                value.changed(added as u64);
            }
            removed
        }
    };
    ctx.out().int(moved as i64);
    Ok(())
}

/// The sets at `keys` for an intersection, union or difference: `None`
/// for a missing key (an empty set); WRONGTYPE for any other type, even
/// after a missing key, as Redis checks them all.
fn sets_at<'a>(
    db: &'a mut crate::store::DbMut<'_>,
    keys: &[&[u8]],
) -> Result<Vec<Option<&'a Set>>, CmdError> {
    let values = db
        .read_all(keys, |v| matches!(v, Value::Set(_)))
        .ok_or(CmdError::WrongType)?;
    Ok(values
        .into_iter()
        .map(|value| match value {
            Some(Value::Set(set)) => Some(set),
            _ => None,
        })
        .collect())
}

/// What SINTER, SUNION and SDIFF compute.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// The result of `op` over `sets`, built as Redis builds it: members are
/// added to a new set (an intset while possible), so the answer comes in
/// that set's order. An intersection walks the smallest set.
fn compute(op: Op, sets: &[Option<&Set>], limit: usize) -> Set {
    let mut result = Set::default();
    match op {
        Op::Inter => {
            if sets.iter().any(Option::is_none) {
                return result;
            }
            let present: Vec<&Set> = sets.iter().flatten().copied().collect();
            let Some(smallest) = present.iter().min_by_key(|s| s.len()) else {
                return result;
            };
            smallest.for_each(|m| {
                if result.len() < limit && present.iter().all(|s| s.contains(m)) {
                    result.insert(m);
                }
            });
        }
        Op::Union => {
            for set in sets.iter().flatten() {
                set.for_each(|m| {
                    result.insert(m);
                });
            }
        }
        Op::Diff => {
            if let Some(Some(first)) = sets.first() {
                first.for_each(|m| {
                    if !sets[1..].iter().flatten().any(|s| s.contains(m)) {
                        result.insert(m);
                    }
                });
            }
        }
    }
    result
}

fn sinter(ctx: &mut Ctx, args: Args) -> CmdResult {
    reply_op(ctx, args, Op::Inter)
}

fn sunion(ctx: &mut Ctx, args: Args) -> CmdResult {
    reply_op(ctx, args, Op::Union)
}

fn sdiff(ctx: &mut Ctx, args: Args) -> CmdResult {
    reply_op(ctx, args, Op::Diff)
}

/// SINTER, SUNION, SDIFF: the result as a set reply.
fn reply_op(ctx: &mut Ctx, args: Args, op: Op) -> CmdResult {
    let keys: Vec<&[u8]> = args.tail(1).iter().collect();
    let (mut db, out) = ctx.db_out();
    let sets = sets_at(&mut db, &keys)?;
    let result = compute(op, &sets, usize::MAX);
    out.set(result.len());
    result.for_each(|m| out.bulk(m));
    Ok(())
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit].
fn sintercard(ctx: &mut Ctx, args: Args) -> CmdResult {
    let numkeys = ranged_arg(args.get(1), 1, "ERR numkeys should be greater than 0")? as usize;
    if numkeys > args.len() - 2 {
        return Err(CmdError::err(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let mut limit = 0;
    let mut i = 2 + numkeys;
    while i < args.len() {
        if is(args.get(i), "limit") && i + 1 < args.len() {
            limit = ranged_arg(args.get(i + 1), 0, "ERR LIMIT can't be negative")? as usize;
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let keys: Vec<&[u8]> = (2..2 + numkeys).map(|i| args.get(i)).collect();
    let (mut db, out) = ctx.db_out();
    let sets = sets_at(&mut db, &keys)?;
    let limit = if limit == 0 { usize::MAX } else { limit };
    out.int(compute(Op::Inter, &sets, limit).len() as i64);
    Ok(())
}

fn sinterstore(ctx: &mut Ctx, args: Args) -> CmdResult {
    store_op(ctx, args, Op::Inter, "sinterstore")
}

fn sunionstore(ctx: &mut Ctx, args: Args) -> CmdResult {
    store_op(ctx, args, Op::Union, "sunionstore")
}

fn sdiffstore(ctx: &mut Ctx, args: Args) -> CmdResult {
    store_op(ctx, args, Op::Diff, "sdiffstore")
}

/// The STORE forms: the result replaces `destination` (its TTL too), or
/// an empty result deletes it. Redis replies before it announces the
/// store, and, except for an intersection with a missing key, before the
/// deletion.
fn store_op(ctx: &mut Ctx, args: Args, op: Op, name: &'static str) -> CmdResult {
    let dst = args.get(1);
    let keys: Vec<&[u8]> = args.tail(2).iter().collect();
    let (mut db, out) = ctx.db_out();
    let sets = sets_at(&mut db, &keys)?;
    let result = compute(op, &sets, usize::MAX);
    let len = result.len();
    let early = op == Op::Inter && sets.iter().any(Option::is_none);
    if !early {
        db.journal().after_reply();
    }
    if len > 0 {
        db.set(dst, Value::Set(result), None, name);
    } else {
        db.delete(dst);
    }
    out.int(len as i64);
    Ok(())
}

/// `count` distinct positions below `len`, at random, in O(count): by
/// rejection while they are few, by a partial Fisher-Yates shuffle of
/// all positions when they are most of them.
fn distinct_positions(db: &mut DbMut<'_>, len: usize, count: usize) -> Vec<usize> {
    let count = count.min(len);
    if count * 4 < len {
        let mut chosen = std::collections::HashSet::with_capacity(count);
        let mut picks = Vec::with_capacity(count);
        while picks.len() < count {
            let i = db.random_below(len);
            if chosen.insert(i) {
                picks.push(i);
            }
        }
        return picks;
    }
    let mut all: Vec<usize> = (0..len).collect();
    for i in 0..count {
        let j = i + db.random_below(len - i);
        all.swap(i, j);
    }
    all.truncate(count);
    all
}

/// SPOP key [count]. Each member taken propagates as its own SREM, as
/// Redis does, and a pop of the whole set as DEL. Redis announces `spop`
/// before its reply and the emptied set's deletion after it. A member is
/// picked in O(1) (a random position), so a pop costs O(count).
fn spop(ctx: &mut Ctx, args: Args) -> CmdResult {
    let count = match args.len() {
        2 => None,
        3 => Some(positive_arg(args.get(2))?),
        _ => return Err(CmdError::Syntax),
    };
    let key = args.get(1);
    let db_index = ctx.db_index();
    let (mut db, out) = ctx.db_out();
    let len = match db.entry(key).map(|e| &e.value) {
        None => {
            match count {
                None => out.null(),
                Some(_) => out.set(0),
            }
            return Ok(());
        }
        Some(Value::Set(set)) => set.len(),
        Some(_) => return Err(CmdError::WrongType),
    };
    if count == Some(0) {
        out.set(0);
        return Ok(());
    }
    let whole = count.is_some_and(|n| n >= len);
    let picks = if whole {
        Vec::new()
    } else {
        distinct_positions(&mut db, len, count.unwrap_or(1))
    };
    let taken: Vec<Bytes> = match db.entry(key).map(|e| &e.value) {
        Some(Value::Set(set)) if whole => set.members(),
        Some(Value::Set(set)) => picks.iter().filter_map(|&i| set.nth(i)).collect(),
        _ => Vec::new(),
    };
    if let Some(mut value) = db.modify(key, "spop") {
        if let Value::Set(set) = &mut *value {
            for m in &taken {
                set.remove(m);
            }
        }
        value.changed(taken.len() as u64);
        value.reply_before_delete();
    }
    let journal = db.journal();
    if whole {
        journal.rewrite([&b"DEL"[..], key]);
    } else {
        for m in &taken {
            journal.also_propagate(db_index, [&b"SREM"[..], key, m]);
        }
        journal.prevent_propagation();
    }
    match count {
        None => out.bulk(&taken[0]),
        Some(_) => {
            out.set(taken.len());
            for m in &taken {
                out.bulk(m);
            }
        }
    }
    Ok(())
}

/// SRANDMEMBER key [count]: a positive count gives distinct members (the
/// whole set, in its order, when it asks for as many), a negative one
/// that many with repeats.
fn srandmember(ctx: &mut Ctx, args: Args) -> CmdResult {
    let count = match args.len() {
        2 => None,
        3 => Some(match parse_i64(args.get(2)) {
            Some(i64::MIN) => {
                return Err(CmdError::err(
                    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                ))
            }
            Some(n) => n,
            None => return Err(CmdError::NotInteger),
        }),
        _ => return Err(CmdError::Syntax),
    };
    let (mut db, out) = ctx.db_out();
    let size = |v: &Value| match v {
        Value::Set(set) => Some(set.len()),
        _ => None,
    };
    let Some(len) = random_source(&mut db, out, args.get(1), count, size)? else {
        return Ok(());
    };
    // A count below the set's size asks for distinct members, drawn in
    // O(count); anything else as ZRANDMEMBER and HRANDFIELD draw.
    let picks = match count {
        Some(n) if n > 1 && (n as usize) < len => {
            Picks::listed(distinct_positions(&mut db, len, n as usize))
        }
        _ => random_picks(&mut db, len, count, false),
    };
    // Looked up again, uncounted: the random numbers needed the database.
    let Some(Value::Set(set)) = db.entry(args.get(1)).map(|e| &e.value) else {
        return Ok(());
    };
    let n = picks.len();
    let mut chosen = picks.filter_map(|i| set.nth(i));
    match count {
        None => {
            if let Some(m) = chosen.next() {
                out.bulk(&m);
            }
        }
        Some(_) => {
            out.array(n);
            for m in chosen {
                out.bulk(&m);
            }
        }
    }
    Ok(())
}
