//! Hash commands (Redis's `t_hash.c`): HSET HMSET HSETNX HGET HMGET HDEL
//! HKEYS HVALS HGETALL HEXISTS HLEN HSTRLEN HINCRBY HINCRBYFLOAT.
//!
//! Hashes keep Redis 7.0's two encodings (see [`Hash`]): while small they
//! are an insertion-ordered pair list, so HGETALL/HKEYS/HVALS answer in the
//! order Redis's listpack does (an update keeps a field's place, a delete
//! closes the gap); after that, a hash map whose order, as in Redis, is
//! arbitrary. A hash is never left empty in the keyspace.

use super::flags::*;
use super::{int_arg, rand_count_args, random_picks, random_source, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::ldouble::LongDouble;
use crate::resp::{format_int, parse_i64, Args, Proto};
use crate::store::{Hash, Value};

pub const COMMANDS: &[Command] = &[
    Command::new("hset", -4, WRITE | DENYOOM | FAST, hset)
        .keys(1, 1, 1)
        .doc("hash", "2.0.0", "Set the string value of a hash field")
        .complexity("O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs."),
    Command::new("hmset", -4, WRITE | DENYOOM | FAST, hmset)
        .keys(1, 1, 1)
        .doc("hash", "2.0.0", "Set multiple hash fields to multiple values")
        .complexity("O(N) where N is the number of fields being set."),
    Command::new("hsetnx", 4, WRITE | DENYOOM | FAST, hsetnx)
        .keys(1, 1, 1)
        .doc("hash", "2.0.0", "Set the value of a hash field, only if the field does not exist"),
    Command::new("hmget", -3, READONLY | FAST, hmget)
        .keys(1, 1, 1)
        .doc("hash", "2.0.0", "Get the values of all the given hash fields")
        .complexity("O(N) where N is the number of fields being requested."),
    Command::new("hstrlen", 3, READONLY | FAST, hstrlen)
        .keys(1, 1, 1)
        .doc("hash", "3.2.0", "Get the length of the value of a hash field"),
    Command::new("hincrby", 4, WRITE | DENYOOM | FAST, hincrby)
        .keys(1, 1, 1)
        .doc("hash", "2.0.0", "Increment the integer value of a hash field by the given number"),
    Command::new("hincrbyfloat", 4, WRITE | DENYOOM | FAST, hincrbyfloat)
        .keys(1, 1, 1)
        .doc("hash", "2.6.0", "Increment the float value of a hash field by the given amount"),
    Command::new("hget", 3, READONLY | FAST, hget)
        .keys(1, 1, 1)
        .doc("hash", "2.0.0", "Get the value of a hash field"),
    Command::new("hdel", -3, WRITE | FAST, hdel)
        .keys(1, 1, 1)
        .doc("hash", "2.0.0", "Delete one or more hash fields")
        .complexity("O(N) where N is the number of fields to be removed."),
    Command::new("hkeys", 2, READONLY, hkeys)
        .keys(1, 1, 1)
        .doc("hash", "2.0.0", "Get all the fields in a hash")
        .complexity("O(N) where N is the size of the hash."),
    Command::new("hvals", 2, READONLY, hvals)
        .keys(1, 1, 1)
        .doc("hash", "2.0.0", "Get all the values in a hash")
        .complexity("O(N) where N is the size of the hash."),
    Command::new("hgetall", 2, READONLY, hgetall)
        .keys(1, 1, 1)
        .doc("hash", "2.0.0", "Get all the fields and values in a hash")
        .complexity("O(N) where N is the size of the hash."),
    Command::new("hexists", 3, READONLY | FAST, hexists)
        .keys(1, 1, 1)
        .doc("hash", "2.0.0", "Determine if a hash field exists"),
    Command::new("hlen", 2, READONLY | FAST, hlen)
        .keys(1, 1, 1)
        .doc("hash", "2.0.0", "Get the number of fields in a hash"),
    Command::new("hrandfield", -2, READONLY, hrandfield)
        .keys(1, 1, 1)
        .doc("hash", "6.2.0", "Get one or multiple random fields from a hash")
        .complexity("O(N) where N is the number of fields returned"),
];

/// The hash in `value`, or WRONGTYPE.
fn as_hash(value: Option<&Value>) -> Result<Option<&Hash>, CmdError> {
    match value {
        None => Ok(None),
        Some(Value::Hash(hash)) => Ok(Some(hash)),
        Some(_) => Err(CmdError::WrongType),
    }
}

fn hset(ctx: &mut Ctx, args: Args) -> CmdResult {
    let created = set_pairs(ctx, &args, "hset")?;
    ctx.out().int(created);
    Ok(())
}

/// HMSET: HSET answering OK.
fn hmset(ctx: &mut Ctx, args: Args) -> CmdResult {
    set_pairs(ctx, &args, "hmset")?;
    ctx.out().ok();
    Ok(())
}

/// HSET and HMSET: sets every pair; returns how many fields were new.
fn set_pairs(ctx: &mut Ctx, args: &Args, command: &str) -> Result<i64, CmdError> {
    // Redis replies, then notifies.
    ctx.journal().after_reply();
    // Fields and values come in pairs; Redis answers an odd count with the
    // arity error, before it looks at the key.
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::arity(command));
    }
    let mut db = ctx.db();
    let mut value = db.modify_or_create(args.get(1), "hset", || Value::Hash(Hash::default()));
    let Value::Hash(hash) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    let pairs = args.tail(2);
    let mut created = 0;
    for i in (0..pairs.len()).step_by(2) {
        created += hash.insert(pairs.get(i), pairs.get(i + 1)) as i64;
    }
    // Redis counts every field written, new or not.
    value.changed((pairs.len() / 2) as u64);
    Ok(created)
}

fn hsetnx(ctx: &mut Ctx, args: Args) -> CmdResult {
    // Redis replies, then notifies.
    ctx.journal().after_reply();
    let (field, new) = (args.get(2), args.get(3));
    let mut db = ctx.db();
    let mut value = db.modify_or_create(args.get(1), "hset", || Value::Hash(Hash::default()));
    let Value::Hash(hash) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    let set = hash.get(field).is_none() && hash.insert(field, new);
    value.changed(set as u64);
    drop(value);
    ctx.out().int(set as i64);
    Ok(())
}

fn hmget(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (value, out) = ctx.read(args.get(1));
    let hash = as_hash(value)?;
    let fields = args.tail(2);
    out.array(fields.len());
    for field in fields.iter() {
        match hash.and_then(|h| h.get(field)) {
            Some(v) => out.bulk(v),
            None => out.null(),
        }
    }
    Ok(())
}

fn hstrlen(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (value, out) = ctx.read(args.get(1));
    let len = as_hash(value)?
        .and_then(|h| h.get(args.get(2)))
        .map_or(0, <[u8]>::len);
    out.int(len as i64);
    Ok(())
}

fn hincrby(ctx: &mut Ctx, args: Args) -> CmdResult {
    // Redis replies, then notifies.
    ctx.journal().after_reply();
    let by = int_arg(args.get(3))?;
    let field = args.get(2);
    let mut db = ctx.db();
    let mut value = db.modify_or_create(args.get(1), "hincrby", || Value::Hash(Hash::default()));
    let Value::Hash(hash) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    let current = match hash.get(field) {
        Some(v) => parse_i64(v).ok_or_else(|| CmdError::err("ERR hash value is not an integer"))?,
        None => 0,
    };
    let next = current.checked_add(by).ok_or(CmdError::Overflow)?;
    let mut digits = [0; 20];
    hash.insert(field, format_int(&mut digits, next));
    value.changed(1);
    drop(value);
    ctx.out().int(next);
    Ok(())
}

/// HINCRBYFLOAT propagates as `HSET key field <result>`: replaying the
/// addition elsewhere could round differently.
fn hincrbyfloat(ctx: &mut Ctx, args: Args) -> CmdResult {
    // Redis replies, then notifies.
    ctx.journal().after_reply();
    let by = LongDouble::parse(args.get(3)).ok_or(CmdError::NotFloat)?;
    if !by.is_finite() {
        return Err(CmdError::err("ERR value is NaN or Infinity"));
    }
    let (key, field) = (args.get(1), args.get(2));
    let mut db = ctx.db();
    let mut value = db.modify_or_create(key, "hincrbyfloat", || Value::Hash(Hash::default()));
    let Value::Hash(hash) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    let current = match hash.get(field) {
        Some(v) => {
            LongDouble::parse(v).ok_or_else(|| CmdError::err("ERR hash value is not a float"))?
        }
        None => LongDouble::zero(false),
    };
    let text = (current + by)
        .to_human()
        .ok_or(CmdError::IncrFloatNanOrInf)?;
    hash.insert(field, &text);
    value.changed(1);
    drop(value);
    ctx.out().bulk(&text);
    ctx.journal().rewrite([&b"HSET"[..], key, field, &text]);
    Ok(())
}

fn hget(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (value, out) = ctx.read(args.get(1));
    match as_hash(value)?.and_then(|hash| hash.get(args.get(2))) {
        Some(v) => out.bulk(v),
        None => out.null(),
    }
    Ok(())
}

fn hdel(ctx: &mut Ctx, args: Args) -> CmdResult {
    let mut db = ctx.db();
    let Some(mut value) = db.modify(args.get(1), "hdel") else {
        ctx.out().int(0);
        return Ok(());
    };
    let Value::Hash(hash) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    let deleted = args.tail(2).iter().filter(|f| hash.remove(f)).count();
    // Dropping the guard records the change, and deletes an emptied hash.
    value.changed(deleted as u64);
    drop(value);
    ctx.out().int(deleted as i64);
    Ok(())
}

/// What HKEYS, HVALS and HGETALL list.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Fields,
    Values,
    Both,
}

fn hkeys(ctx: &mut Ctx, args: Args) -> CmdResult {
    get_all(ctx, args, Part::Fields)
}

fn hvals(ctx: &mut Ctx, args: Args) -> CmdResult {
    get_all(ctx, args, Part::Values)
}

fn hgetall(ctx: &mut Ctx, args: Args) -> CmdResult {
    get_all(ctx, args, Part::Both)
}

/// HGETALL answers a map (a flat array in RESP2); HKEYS and HVALS an array.
fn get_all(ctx: &mut Ctx, args: Args, part: Part) -> CmdResult {
    let (value, out) = ctx.read(args.get(1));
    let hash = as_hash(value)?;
    let len = hash.as_ref().map_or(0, |h| h.len());
    match part {
        Part::Both => out.map(len),
        Part::Fields | Part::Values => out.array(len),
    }
    let Some(hash) = hash else {
        return Ok(());
    };
    for (field, value) in hash.iter() {
        if part != Part::Values {
            out.bulk(field);
        }
        if part != Part::Fields {
            out.bulk(value);
        }
    }
    Ok(())
}

fn hexists(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (value, out) = ctx.read(args.get(1));
    let found = as_hash(value)?.is_some_and(|hash| hash.get(args.get(2)).is_some());
    out.int(found as i64);
    Ok(())
}

fn hlen(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (value, out) = ctx.read(args.get(1));
    let len = as_hash(value)?.map_or(0, |hash| hash.len());
    out.int(len as i64);
    Ok(())
}

/// HRANDFIELD key [count [WITHVALUES]]: distinct fields for a positive
/// count (the whole hash, in its order, when it asks for as many), that
/// many with repeats for a negative one.
fn hrandfield(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (count, values) = rand_count_args(&args, "withvalues")?;
    let (mut db, out) = ctx.db_out();
    let size = |v: &Value| match v {
        Value::Hash(h) => Some(h.len()),
        _ => None,
    };
    let Some(len) = random_source(&mut db, out, args.get(1), count, size)? else {
        return Ok(());
    };
    let picks = random_picks(&mut db, len, count, false);
    // Looked up again, uncounted: the random numbers needed the database.
    let Some(Value::Hash(hash)) = db.entry(args.get(1)).map(|e| &e.value) else {
        return Ok(());
    };
    let pairs: Vec<(&[u8], &[u8])> = hash.iter().collect();
    let len = picks.len();
    let mut picked = picks.filter_map(|i| pairs.get(i));
    if count.is_none() {
        if let Some((field, _)) = picked.next() {
            out.bulk(field);
        }
        return Ok(());
    }
    let nested = values && out.proto == Proto::Resp3;
    out.array(if values && !nested { len * 2 } else { len });
    for (field, value) in picked {
        if nested {
            out.array(2);
        }
        out.bulk(field);
        if values {
            out.bulk(value);
        }
    }
    Ok(())
}
