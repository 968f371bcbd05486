//! Sorted set commands (Redis's `t_zset.c`).
//!
//! The structure is [`ZSet`]: the order of (score, member) with ranks, and
//! an index from member to score once the set outgrows Redis's listpack
//! limits. Ranges by rank, score and lex are all found as ranks
//! ([`ZSet::count_while`]) and read forwards or backwards from there.
//!
//! Replies follow Redis 7.0: scores as `%.17g`, WITHSCORES flat in RESP2
//! and as `[member, score]` pairs in RESP3. Lex ranges assume, as Redis
//! documents, that every member has the same score.

use std::collections::HashMap;

use super::flags::*;
use super::{
    double_arg, int_arg, is, mpop_args, positive_arg, rand_count_args, random_picks, random_source,
    strtod_whole, Command, Ctx,
};
use crate::blocking::{deadline_arg, Wants};
use crate::error::{CmdError, CmdResult};
use crate::resp::{format_int, parse_i64, Args, Proto, Reply};
use crate::store::{Bytes, DbMut, Item, Set, Value, ZSet};

pub const COMMANDS: &[Command] = &[
    Command::new("zadd", -4, WRITE | DENYOOM | FAST, zadd)
        .keys(1, 1, 1)
        .doc("sorted_set", "1.2.0", "Add one or more members to a sorted set, or update its score if it already exists")
        .complexity("O(log(N)) for each item added, where N is the number of elements in the sorted set."),
    Command::new("zincrby", 4, WRITE | DENYOOM | FAST, zincrby)
        .keys(1, 1, 1)
        .doc("sorted_set", "1.2.0", "Increment the score of a member in a sorted set")
        .complexity("O(log(N)) where N is the number of elements in the sorted set."),
    Command::new("zrem", -3, WRITE | FAST, zrem)
        .keys(1, 1, 1)
        .doc("sorted_set", "1.2.0", "Remove one or more members from a sorted set")
        .complexity("O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed."),
    Command::new("zscore", 3, READONLY | FAST, zscore)
        .keys(1, 1, 1)
        .doc("sorted_set", "1.2.0", "Get the score associated with the given member in a sorted set"),
    Command::new("zmscore", -3, READONLY | FAST, zmscore)
        .keys(1, 1, 1)
        .doc("sorted_set", "6.2.0", "Get the score associated with the given members in a sorted set")
        .complexity("O(N) where N is the number of members being requested."),
    Command::new("zcard", 2, READONLY | FAST, zcard)
        .keys(1, 1, 1)
        .doc("sorted_set", "1.2.0", "Get the number of members in a sorted set"),
    Command::new("zcount", 4, READONLY | FAST, zcount)
        .keys(1, 1, 1)
        .doc("sorted_set", "2.0.0", "Count the members in a sorted set with scores within the given values")
        .complexity("O(log(N)) with N being the number of elements in the sorted set."),
    Command::new("zlexcount", 4, READONLY | FAST, zlexcount)
        .keys(1, 1, 1)
        .doc("sorted_set", "2.8.9", "Count the number of members in a sorted set between a given lexicographical range")
        .complexity("O(log(N)) with N being the number of elements in the sorted set."),
    Command::new("zrange", -4, READONLY, zrange)
        .keys(1, 1, 1)
        .doc("sorted_set", "1.2.0", "Return a range of members in a sorted set")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned."),
    Command::new("zrangebyscore", -4, READONLY, zrangebyscore)
        .keys(1, 1, 1)
        .doc("sorted_set", "1.0.5", "Return a range of members in a sorted set, by score")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N))."),
    Command::new("zrevrangebyscore", -4, READONLY, zrevrangebyscore)
        .keys(1, 1, 1)
        .doc("sorted_set", "2.2.0", "Return a range of members in a sorted set, by score, with scores ordered from high to low")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N))."),
    Command::new("zrangebylex", -4, READONLY, zrangebylex)
        .keys(1, 1, 1)
        .doc("sorted_set", "2.8.9", "Return a range of members in a sorted set, by lexicographical range")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N))."),
    Command::new("zrevrangebylex", -4, READONLY, zrevrangebylex)
        .keys(1, 1, 1)
        .doc("sorted_set", "2.8.9", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N))."),
    Command::new("zrevrange", -4, READONLY, zrevrange)
        .keys(1, 1, 1)
        .doc("sorted_set", "1.2.0", "Return a range of members in a sorted set, by index, with scores ordered from high to low")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned."),
    Command::new("zrangestore", -5, WRITE | DENYOOM, zrangestore)
        .keys(1, 2, 1)
        .doc("sorted_set", "6.2.0", "Store a range of members from sorted set into another key")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key."),
    Command::new("zrank", 3, READONLY | FAST, zrank)
        .keys(1, 1, 1)
        .doc("sorted_set", "2.0.0", "Determine the index of a member in a sorted set")
        .complexity("O(log(N))"),
    Command::new("zrevrank", 3, READONLY | FAST, zrevrank)
        .keys(1, 1, 1)
        .doc("sorted_set", "2.0.0", "Determine the index of a member in a sorted set, with scores ordered from high to low")
        .complexity("O(log(N))"),
    Command::new("zpopmin", -2, WRITE | FAST, zpopmin)
        .keys(1, 1, 1)
        .doc("sorted_set", "5.0.0", "Remove and return members with the lowest scores in a sorted set")
        .complexity("O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped."),
    Command::new("zpopmax", -2, WRITE | FAST, zpopmax)
        .keys(1, 1, 1)
        .doc("sorted_set", "5.0.0", "Remove and return members with the highest scores in a sorted set")
        .complexity("O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped."),
    Command::new("zmpop", -4, WRITE, zmpop)
        .doc("sorted_set", "7.0.0", "Remove and return members with scores in a sorted set")
        .complexity("O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped."),
    Command::new("zrandmember", -2, READONLY, zrandmember)
        .keys(1, 1, 1)
        .doc("sorted_set", "6.2.0", "Get one or multiple random elements from a sorted set")
        .complexity("O(N) where N is the number of elements returned"),
    Command::new("zremrangebyrank", 4, WRITE, zremrangebyrank)
        .keys(1, 1, 1)
        .doc("sorted_set", "2.0.0", "Remove all members in a sorted set within the given indexes")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
    Command::new("zremrangebyscore", 4, WRITE, zremrangebyscore)
        .keys(1, 1, 1)
        .doc("sorted_set", "1.2.0", "Remove all members in a sorted set within the given scores")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
    Command::new("zremrangebylex", 4, WRITE, zremrangebylex)
        .keys(1, 1, 1)
        .doc("sorted_set", "2.8.9", "Remove all members in a sorted set between the given lexicographical range")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
    Command::new("zunion", -3, READONLY, zunion)
        .doc("sorted_set", "6.2.0", "Add multiple sorted sets")
        .complexity("O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."),
    Command::new("zinter", -3, READONLY, zinter)
        .doc("sorted_set", "6.2.0", "Intersect multiple sorted sets")
        .complexity("O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set."),
    Command::new("zdiff", -3, READONLY, zdiff)
        .doc("sorted_set", "6.2.0", "Subtract multiple sorted sets")
        .complexity("O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set."),
    Command::new("zunionstore", -4, WRITE | DENYOOM, zunionstore)
        .keys(1, 1, 1)
        .doc("sorted_set", "2.0.0", "Add multiple sorted sets and store the resulting sorted set in a new key")
        .complexity("O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."),
    Command::new("zinterstore", -4, WRITE | DENYOOM, zinterstore)
        .keys(1, 1, 1)
        .doc("sorted_set", "2.0.0", "Intersect multiple sorted sets and store the resulting sorted set in a new key")
        .complexity("O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set."),
    Command::new("zdiffstore", -4, WRITE | DENYOOM, zdiffstore)
        .keys(1, 1, 1)
        .doc("sorted_set", "6.2.0", "Subtract multiple sorted sets and store the resulting sorted set in a new key")
        .complexity("O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set."),
    Command::new("zintercard", -3, READONLY, zintercard)
        .doc("sorted_set", "7.0.0", "Intersect multiple sorted sets and return the cardinality of the result")
        .complexity("O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets."),
    Command::new("bzpopmin", -3, WRITE | NOSCRIPT | FAST | BLOCKING, bzpopmin)
        .keys(1, -2, 1)
        .doc("sorted_set", "5.0.0", "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available")
        .complexity("O(log(N)) with N being the number of elements in the sorted set."),
    Command::new("bzpopmax", -3, WRITE | NOSCRIPT | FAST | BLOCKING, bzpopmax)
        .keys(1, -2, 1)
        .doc("sorted_set", "5.0.0", "Remove and return the member with the highest score from one or more sorted sets, or block until one is available")
        .complexity("O(log(N)) with N being the number of elements in the sorted set."),
    Command::new("bzmpop", -5, WRITE | BLOCKING, bzmpop)
        .doc("sorted_set", "7.0.0", "Remove and return members with scores in a sorted set or block until one is available")
        .complexity("O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped."),
];

pub(super) fn as_zset(value: Option<&Value>) -> Result<Option<&ZSet>, CmdError> {
    match value {
        None => Ok(None),
        Some(Value::Zset(z)) => Ok(Some(z)),
        Some(_) => Err(CmdError::WrongType),
    }
}

fn not_float_range() -> CmdError {
    CmdError::err("ERR min or max is not a float")
}

fn not_lex_range() -> CmdError {
    CmdError::err("ERR min or max not valid string range item")
}

/// A score range (Redis's `zrangespec`): `(` before a bound excludes it.
#[derive(Clone, Copy)]
struct Scores {
    min: f64,
    min_ex: bool,
    max: f64,
    max_ex: bool,
}

impl Scores {
    fn parse(min: &[u8], max: &[u8]) -> Result<Scores, CmdError> {
        let bound = |arg: &[u8]| {
            let (text, ex) = match arg.strip_prefix(b"(") {
                Some(rest) => (rest, true),
                None => (arg, false),
            };
            match strtod_whole(text) {
                Some(v) if !v.is_nan() => Ok((v, ex)),
                _ => Err(not_float_range()),
            }
        };
        let (min, min_ex) = bound(min)?;
        let (max, max_ex) = bound(max)?;
        Ok(Scores {
            min,
            min_ex,
            max,
            max_ex,
        })
    }

    fn above_min(&self, item: &Item) -> bool {
        if self.min_ex {
            item.score > self.min
        } else {
            item.score >= self.min
        }
    }

    fn below_max(&self, item: &Item) -> bool {
        if self.max_ex {
            item.score < self.max
        } else {
            item.score <= self.max
        }
    }
}

/// One end of a lex range: `-` and `+` are below and above every member.
#[derive(Clone, Copy)]
enum Lex<'a> {
    Min,
    Max,
    Incl(&'a [u8]),
    Excl(&'a [u8]),
}

impl<'a> Lex<'a> {
    fn parse(arg: &'a [u8]) -> Result<Lex<'a>, CmdError> {
        match arg {
            b"-" => Ok(Lex::Min),
            b"+" => Ok(Lex::Max),
            [b'(', rest @ ..] => Ok(Lex::Excl(rest)),
            [b'[', rest @ ..] => Ok(Lex::Incl(rest)),
            _ => Err(not_lex_range()),
        }
    }

    fn at_least(self, member: &[u8]) -> bool {
        match self {
            Lex::Min => true,
            Lex::Max => false,
            Lex::Incl(m) => member >= m,
            Lex::Excl(m) => member > m,
        }
    }

    fn at_most(self, member: &[u8]) -> bool {
        match self {
            Lex::Min => false,
            Lex::Max => true,
            Lex::Incl(m) => member <= m,
            Lex::Excl(m) => member < m,
        }
    }
}

/// What a range command selects.
#[derive(Clone, Copy)]
enum By<'a> {
    Rank(i64, i64),
    Score(Scores),
    Lex(Lex<'a>, Lex<'a>),
}

impl By<'_> {
    /// Whether an item is above the range's lower end, and below its upper
    /// end (ranks have no such test).
    fn above_min(&self, item: &Item) -> bool {
        match self {
            By::Rank(..) => true,
            By::Score(s) => s.above_min(item),
            By::Lex(min, _) => min.at_least(&item.member),
        }
    }

    fn below_max(&self, item: &Item) -> bool {
        match self {
            By::Rank(..) => true,
            By::Score(s) => s.below_max(item),
            By::Lex(_, max) => max.at_most(&item.member),
        }
    }

    /// How many items are in range (ZCOUNT, ZLEXCOUNT).
    fn count(&self, z: &ZSet) -> usize {
        let below = z.count_while(|i| !self.above_min(i));
        z.count_while(|i| self.below_max(i)).saturating_sub(below)
    }

    /// The ranks `start..end` a rank range covers, Redis's clamping applied.
    fn ranks(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
        let len = len as i64;
        let start = if start < 0 {
            (start + len).max(0)
        } else {
            start
        };
        let end = if end < 0 { end + len } else { end };
        if start > end || start >= len {
            return None;
        }
        Some((start as usize, end.min(len - 1) as usize + 1))
    }

    /// The items selected, in reply order. A negative `limit` is no limit,
    /// a negative `offset` selects nothing (Redis skips forever).
    fn select<'z>(&self, z: &'z ZSet, rev: bool, offset: i64, limit: i64) -> Vec<&'z Item> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let Ok(offset) = usize::try_from(offset) else {
            return Vec::new();
        };
        let len = z.len();
        match (*self, rev) {
            (By::Rank(start, end), _) => {
                let Some((start, end)) = By::ranks(start, end, len) else {
                    return Vec::new();
                };
                if rev {
                    z.iter_down_from(len - 1 - start)
                        .take(end - start)
                        .collect()
                } else {
                    z.iter_from(start).take(end - start).collect()
                }
            }
            (_, false) => {
                let first = z.count_while(|i| !self.above_min(i));
                z.iter_from(first.saturating_add(offset))
                    .take_while(|i| self.below_max(i))
                    .take(limit)
                    .collect()
            }
            (_, true) => {
                let top = z.count_while(|i| self.below_max(i));
                if offset >= top {
                    return Vec::new();
                }
                z.iter_down_from(top - 1 - offset)
                    .take_while(|i| self.above_min(i))
                    .take(limit)
                    .collect()
            }
        }
    }
}

/// Members, with their scores if asked: flat in RESP2, `[member, score]`
/// pairs in RESP3.
fn reply_items<'a>(
    out: &mut Reply,
    len: usize,
    items: impl Iterator<Item = &'a Item>,
    scores: bool,
) {
    let pairs = scores && out.proto == Proto::Resp3;
    out.array(if scores && !pairs { len * 2 } else { len });
    for item in items {
        if pairs {
            out.array(2);
        }
        out.bulk(&item.member);
        if scores {
            out.double(item.score);
        }
    }
}

/// A new sorted set of `items`, in the encoding Redis would give it.
pub(super) fn collect<'a>(items: impl IntoIterator<Item = (&'a [u8], f64)>) -> ZSet {
    let mut z = ZSet::default();
    for (member, score) in items {
        z.insert(member, score);
    }
    z
}

/// The STORE forms: `result` replaces `dst` (and its TTL), or an empty
/// result deletes it. Redis replies first, then announces.
fn store(db: &mut DbMut<'_>, out: &mut Reply, dst: &[u8], result: ZSet, name: &'static str) {
    db.journal().after_reply();
    let len = result.len();
    if len > 0 {
        db.set(dst, Value::Zset(Box::new(result)), None, name);
    } else {
        db.delete(dst);
    }
    out.int(len as i64);
}

fn zadd(ctx: &mut Ctx, args: Args) -> CmdResult {
    add(ctx, args, false)
}

fn zincrby(ctx: &mut Ctx, args: Args) -> CmdResult {
    add(ctx, args, true)
}

/// ZADD and ZINCRBY (Redis's `zaddGenericCommand`): options, then
/// score/member pairs. Every score is read before anything changes.
pub(super) fn add(ctx: &mut Ctx, args: Args, mut incr: bool) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt, mut ch) = (false, false, false, false, false);
    let mut at = 2;
    while at < args.len() {
        let opt = args.get(at);
        if is(opt, "nx") {
            nx = true;
        } else if is(opt, "xx") {
            xx = true;
        } else if is(opt, "ch") {
            ch = true;
        } else if is(opt, "incr") {
            incr = true;
        } else if is(opt, "gt") {
            gt = true;
        } else if is(opt, "lt") {
            lt = true;
        } else {
            break;
        }
        at += 1;
    }
    let pairs = args.len() - at;
    if pairs == 0 || !pairs.is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    if nx && xx {
        return Err(CmdError::err(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (gt || lt) && nx || gt && lt {
        return Err(CmdError::err(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if incr && pairs > 2 {
        return Err(CmdError::err(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let scores = (at..args.len())
        .step_by(2)
        .map(|i| double_arg(args.get(i)).ok_or(CmdError::NotFloat))
        .collect::<Result<Vec<f64>, _>>()?;
    // Redis replies, then notifies.
    ctx.journal().after_reply();
    let key = args.get(1);
    let name = if incr { "zincr" } else { "zadd" };
    let (mut db, out) = ctx.db_out();
    let value = if xx {
        db.modify(key, name)
    } else {
        Some(db.modify_or_create(key, name, || Value::Zset(Box::default())))
    };
    let Some(mut value) = value else {
        match incr {
            true => out.null(),
            false => out.int(0),
        }
        return Ok(());
    };
    let Value::Zset(z) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    let (mut added, mut updated, mut processed, mut last) = (0, 0, 0, 0.0);
    let mut nan = false;
    for (j, &score) in scores.iter().enumerate() {
        let member = args.get(at + 1 + 2 * j);
        match z.score(member) {
            Some(_) if nx => {}
            Some(current) => {
                let new = if incr { score + current } else { score };
                if new.is_nan() {
                    nan = true;
                    break;
                }
                if lt && new >= current || gt && new <= current {
                    continue;
                }
                (processed, last) = (processed + 1, new);
                if new != current {
                    z.insert(member, new);
                    updated += 1;
                }
            }
            None if xx => {}
            None => {
                z.insert(member, score);
                (added, processed, last) = (added + 1, processed + 1, score);
            }
        }
    }
    value.changed(added + updated);
    drop(value);
    if nan {
        return Err(CmdError::err("ERR resulting score is not a number (NaN)"));
    }
    match (incr, processed > 0) {
        (true, true) => out.double(last),
        (true, false) => out.null(),
        (false, _) => out.int((if ch { added + updated } else { added }) as i64),
    }
    Ok(())
}

fn zrem(ctx: &mut Ctx, args: Args) -> CmdResult {
    let mut db = ctx.db();
    let Some(mut value) = db.modify(args.get(1), "zrem") else {
        ctx.out().int(0);
        return Ok(());
    };
    let Value::Zset(z) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    let removed = args
        .tail(2)
        .iter()
        .filter(|m| z.remove(m).is_some())
        .count();
    value.changed(removed as u64);
    drop(value);
    ctx.out().int(removed as i64);
    Ok(())
}

fn zscore(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (value, out) = ctx.read(args.get(1));
    match as_zset(value)?.and_then(|z| z.score(args.get(2))) {
        Some(score) => out.double(score),
        None => out.null(),
    }
    Ok(())
}

fn zmscore(ctx: &mut Ctx, args: Args) -> CmdResult {
    per_member(ctx, args, |out, score| out.double(score), Reply::null)
}

/// One reply per member named from the third argument on (ZMSCORE,
/// GEOPOS, GEOHASH): `found` writes a present member's from its score,
/// `missing` an absent one's (a missing key has no members).
pub(super) fn per_member(
    ctx: &mut Ctx,
    args: Args,
    found: impl Fn(&mut Reply, f64),
    missing: impl Fn(&mut Reply),
) -> CmdResult {
    let (value, out) = ctx.read(args.get(1));
    let z = as_zset(value)?;
    let members = args.tail(2);
    out.array(members.len());
    for member in members.iter() {
        match z.and_then(|z| z.score(member)) {
            Some(score) => found(out, score),
            None => missing(out),
        }
    }
    Ok(())
}

fn zcard(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (value, out) = ctx.read(args.get(1));
    let len = as_zset(value)?.map_or(0, ZSet::len);
    out.int(len as i64);
    Ok(())
}

fn zcount(ctx: &mut Ctx, args: Args) -> CmdResult {
    let by = By::Score(Scores::parse(args.get(2), args.get(3))?);
    count(ctx, args, by)
}

fn zlexcount(ctx: &mut Ctx, args: Args) -> CmdResult {
    let min = Lex::parse(args.get(2)).map_err(|_| not_lex_range())?;
    let max = Lex::parse(args.get(3))?;
    count(ctx, args, By::Lex(min, max))
}

fn count(ctx: &mut Ctx, args: Args, by: By) -> CmdResult {
    let (value, out) = ctx.read(args.get(1));
    let n = as_zset(value)?.map_or(0, |z| by.count(z));
    out.int(n as i64);
    Ok(())
}

fn zrank(ctx: &mut Ctx, args: Args) -> CmdResult {
    rank(ctx, args, false)
}

fn zrevrank(ctx: &mut Ctx, args: Args) -> CmdResult {
    rank(ctx, args, true)
}

fn rank(ctx: &mut Ctx, args: Args, rev: bool) -> CmdResult {
    let (value, out) = ctx.read(args.get(1));
    let Some(z) = as_zset(value)? else {
        out.null();
        return Ok(());
    };
    match z.rank(args.get(2)) {
        Some(r) if rev => out.int((z.len() - 1 - r) as i64),
        Some(r) => out.int(r as i64),
        None => out.null(),
    }
    Ok(())
}

/// The kind of range a ZRANGE form reads, when the command fixes it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rank,
    Score,
    Lex,
}

fn zrange(ctx: &mut Ctx, args: Args) -> CmdResult {
    range(ctx, args, false, None, None)
}

fn zrangestore(ctx: &mut Ctx, args: Args) -> CmdResult {
    range(ctx, args, true, None, None)
}

fn zrevrange(ctx: &mut Ctx, args: Args) -> CmdResult {
    range(ctx, args, false, Some(Kind::Rank), Some(true))
}

fn zrangebyscore(ctx: &mut Ctx, args: Args) -> CmdResult {
    range(ctx, args, false, Some(Kind::Score), Some(false))
}

fn zrevrangebyscore(ctx: &mut Ctx, args: Args) -> CmdResult {
    range(ctx, args, false, Some(Kind::Score), Some(true))
}

fn zrangebylex(ctx: &mut Ctx, args: Args) -> CmdResult {
    range(ctx, args, false, Some(Kind::Lex), Some(false))
}

fn zrevrangebylex(ctx: &mut Ctx, args: Args) -> CmdResult {
    range(ctx, args, false, Some(Kind::Lex), Some(true))
}

/// Every ZRANGE form and ZRANGESTORE (Redis's `zrangeGenericCommand`):
/// `<src> <min> <max>` then options, which the older commands restrict by
/// fixing the kind and the direction.
fn range(
    ctx: &mut Ctx,
    args: Args,
    store_it: bool,
    kind: Option<Kind>,
    rev: Option<bool>,
) -> CmdResult {
    let src = if store_it { 2 } else { 1 };
    let (mut kind_opt, mut rev_opt) = (kind, rev);
    let (mut scores, mut offset, mut limit) = (false, 0, -1);
    let mut j = src + 3;
    while j < args.len() {
        let arg = args.get(j);
        let left = args.len() - j - 1;
        if !store_it && is(arg, "withscores") {
            scores = true;
        } else if is(arg, "limit") && left >= 2 {
            offset = int_arg(args.get(j + 1))?;
            limit = int_arg(args.get(j + 2))?;
            j += 2;
        } else if rev_opt.is_none() && is(arg, "rev") {
            rev_opt = Some(true);
        } else if kind_opt.is_none() && is(arg, "bylex") {
            kind_opt = Some(Kind::Lex);
        } else if kind_opt.is_none() && is(arg, "byscore") {
            kind_opt = Some(Kind::Score);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let kind = kind_opt.unwrap_or(Kind::Rank);
    let rev = rev_opt.unwrap_or(false);
    if limit != -1 && kind == Kind::Rank {
        return Err(CmdError::err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if scores && kind == Kind::Lex {
        return Err(CmdError::err(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    // The reverse forms take the range as max, min.
    let (mut lo, mut hi) = (args.get(src + 1), args.get(src + 2));
    if rev && kind != Kind::Rank {
        (lo, hi) = (hi, lo);
    }
    let by = match kind {
        Kind::Rank => By::Rank(int_arg(lo)?, int_arg(hi)?),
        Kind::Score => By::Score(Scores::parse(lo, hi)?),
        Kind::Lex => match (Lex::parse(lo), Lex::parse(hi)) {
            (Ok(min), Ok(max)) => By::Lex(min, max),
            _ => return Err(not_lex_range()),
        },
    };
    let (mut db, out) = ctx.db_out();
    if store_it {
        let result = match db.read(args.get(src)) {
            None => ZSet::default(),
            Some(Value::Zset(z)) => {
                let items = by.select(z, rev, offset, limit);
                collect(items.into_iter().map(|i| (&*i.member, i.score)))
            }
            Some(_) => return Err(CmdError::WrongType),
        };
        store(&mut db, out, args.get(1), result, "zrangestore");
        return Ok(());
    }
    match as_zset(db.read(args.get(src)))? {
        None => out.array(0),
        Some(z) => {
            let items = by.select(z, rev, offset, limit);
            reply_items(out, items.len(), items.into_iter(), scores)
        }
    }
    Ok(())
}

fn zremrangebyrank(ctx: &mut Ctx, args: Args) -> CmdResult {
    let by = By::Rank(int_arg(args.get(2))?, int_arg(args.get(3))?);
    remove_range(ctx, args, by, "zremrangebyrank")
}

fn zremrangebyscore(ctx: &mut Ctx, args: Args) -> CmdResult {
    let by = By::Score(Scores::parse(args.get(2), args.get(3))?);
    remove_range(ctx, args, by, "zremrangebyscore")
}

fn zremrangebylex(ctx: &mut Ctx, args: Args) -> CmdResult {
    let by = match (Lex::parse(args.get(2)), Lex::parse(args.get(3))) {
        (Ok(min), Ok(max)) => By::Lex(min, max),
        _ => return Err(not_lex_range()),
    };
    remove_range(ctx, args, by, "zremrangebylex")
}

fn remove_range(ctx: &mut Ctx, args: Args, by: By, name: &'static str) -> CmdResult {
    let mut db = ctx.db();
    let Some(mut value) = db.modify(args.get(1), name) else {
        ctx.out().int(0);
        return Ok(());
    };
    let Value::Zset(z) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    let (start, end) = match by {
        By::Rank(start, end) => By::ranks(start, end, z.len()).unwrap_or((0, 0)),
        _ => (
            z.count_while(|i| !by.above_min(i)),
            z.count_while(|i| by.below_max(i)),
        ),
    };
    let removed = z.remove_ranks(start, end).len();
    value.changed(removed as u64);
    drop(value);
    ctx.out().int(removed as i64);
    Ok(())
}

/// Takes `n` items from the low end (or the high end, highest first).
fn pop_items(z: &mut ZSet, n: usize, max: bool) -> Vec<Item> {
    let n = n.min(z.len());
    if max {
        let len = z.len();
        let mut items = z.remove_ranks(len - n, len);
        items.reverse();
        items
    } else {
        z.remove_ranks(0, n)
    }
}

fn zpopmin(ctx: &mut Ctx, args: Args) -> CmdResult {
    pop(ctx, args, false)
}

fn zpopmax(ctx: &mut Ctx, args: Args) -> CmdResult {
    pop(ctx, args, true)
}

fn side_name(max: bool) -> &'static str {
    if max {
        "zpopmax"
    } else {
        "zpopmin"
    }
}

/// ZPOPMIN and ZPOPMAX: a flat array, or `[member, score]` pairs for a
/// COUNT in RESP3. Redis announces the pop before its reply and the
/// emptied set's deletion after it.
fn pop(ctx: &mut Ctx, args: Args, max: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match args.len() {
        3 => Some(positive_arg(args.get(2))?),
        _ => None,
    };
    let (mut db, out) = ctx.db_out();
    let Some(mut value) = db.modify(args.get(1), side_name(max)) else {
        out.array(0);
        return Ok(());
    };
    let Value::Zset(z) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    let items = pop_items(z, count.unwrap_or(1), max);
    value.changed(items.len() as u64);
    value.reply_before_delete();
    drop(value);
    let scores_paired = count.is_some();
    if scores_paired && out.proto == Proto::Resp3 {
        reply_items(out, items.len(), items.iter(), true);
    } else {
        out.array(items.len() * 2);
        for item in &items {
            out.bulk(&item.member);
            out.double(item.score);
        }
    }
    Ok(())
}

fn min_max(arg: &[u8]) -> Result<bool, CmdError> {
    if is(arg, "min") {
        Ok(false)
    } else if is(arg, "max") {
        Ok(true)
    } else {
        Err(CmdError::Syntax)
    }
}

/// ZMPOP numkeys key… MIN|MAX [COUNT n]: pops from the first non-empty
/// key.
fn zmpop(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (keys, max, count) = mpop_args(&args, 1, min_max)?;
    if !pop_first(ctx, &args, keys, max, Some(count))? {
        ctx.out().null_array();
    }
    Ok(())
}

/// Pops from the first of `keys` (argument indexes) that holds a sorted
/// set: BZPOPMIN's [key, member, score], or with a count ZMPOP's [key,
/// [[member, score]…]]. It propagates as the ZPOPMIN or ZPOPMAX it
/// amounted to, as Redis does. False when no key held one.
fn pop_first(
    ctx: &mut Ctx,
    args: &Args,
    keys: std::ops::Range<usize>,
    max: bool,
    count: Option<usize>,
) -> Result<bool, CmdError> {
    let (mut db, out) = ctx.db_out();
    for key in keys.map(|i| args.get(i)) {
        let Some(mut value) = db.modify(key, side_name(max)) else {
            continue;
        };
        let Value::Zset(z) = &mut *value else {
            return Err(CmdError::WrongType);
        };
        let items = pop_items(z, count.unwrap_or(1), max);
        value.changed(items.len() as u64);
        value.reply_before_delete();
        drop(value);
        out.array(if count.is_some() { 2 } else { 3 });
        out.bulk(key);
        match count {
            Some(_) => reply_nested(out, &items),
            None => {
                out.bulk(&items[0].member);
                out.double(items[0].score);
            }
        }
        let mut digits = [0; 20];
        let n = format_int(&mut digits, items.len() as i64);
        let name = side_name(max).to_ascii_uppercase();
        match count {
            Some(_) => db.journal().rewrite([name.as_bytes(), key, n]),
            None => db.journal().rewrite([name.as_bytes(), key]),
        }
        return Ok(true);
    }
    Ok(false)
}

fn bzpopmin(ctx: &mut Ctx, args: Args) -> CmdResult {
    blocking_pop(ctx, args, false)
}

fn bzpopmax(ctx: &mut Ctx, args: Args) -> CmdResult {
    blocking_pop(ctx, args, true)
}

/// BZPOPMIN and BZPOPMAX key [key ...] timeout.
fn blocking_pop(ctx: &mut Ctx, args: Args, max: bool) -> CmdResult {
    let deadline = deadline_arg(args.get(args.len() - 1), ctx.now_ms)?;
    let keys = 1..args.len() - 1;
    if !pop_first(ctx, &args, keys.clone(), max, None)? {
        ctx.wait_or_give_up(&args, Wants::Zset, keys, deadline);
    }
    Ok(())
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count].
fn bzmpop(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (keys, max, count) = mpop_args(&args, 2, min_max)?;
    let deadline = deadline_arg(args.get(1), ctx.now_ms)?;
    if !pop_first(ctx, &args, keys.clone(), max, Some(count))? {
        ctx.wait_or_give_up(&args, Wants::Zset, keys, deadline);
    }
    Ok(())
}

/// `[member, score]` pairs in either protocol (ZMPOP's form).
fn reply_nested(out: &mut Reply, items: &[Item]) {
    out.array(items.len());
    for item in items {
        out.array(2);
        out.bulk(&item.member);
        out.double(item.score);
    }
}

/// ZRANDMEMBER key [count [WITHSCORES]]: distinct members for a positive
/// count (the whole set, highest first, when it asks for as many), that many
/// with repeats for a negative one.
fn zrandmember(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (count, scores) = rand_count_args(&args, "withscores")?;
    let (mut db, out) = ctx.db_out();
    let size = |v: &Value| match v {
        Value::Zset(z) => Some(z.len()),
        _ => None,
    };
    let Some(len) = random_source(&mut db, out, args.get(1), count, size)? else {
        return Ok(());
    };
    let picks = random_picks(&mut db, len, count, true);
    // Looked up again, uncounted: the random numbers needed the database.
    let Some(Value::Zset(z)) = db.entry(args.get(1)).map(|e| &e.value) else {
        return Ok(());
    };
    let len = picks.len();
    let mut items = picks.filter_map(|r| z.get(r));
    match count {
        None => {
            if let Some(item) = items.next() {
                out.bulk(&item.member);
            }
        }
        // Every position is below the length: none is skipped.
        Some(_) => reply_items(out, len, items, scores),
    }
    Ok(())
}

/// A ZUNION/ZINTER/ZDIFF input: a sorted set, or a set whose members all
/// score 1.
#[derive(Clone, Copy)]
enum Source<'a> {
    Zset(&'a ZSet),
    Set(&'a Set),
}

impl Source<'_> {
    fn len(&self) -> usize {
        match self {
            Source::Zset(z) => z.len(),
            Source::Set(s) => s.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Zset(z) => z.score(member),
            Source::Set(s) => s.contains(member).then_some(1.0),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            Source::Zset(z) => z.iter().for_each(|i| f(&i.member, i.score)),
            Source::Set(s) => s.for_each(|m| f(m, 1.0)),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Redis's `zunionInterAggregate`: a sum of opposite infinities is 0.
    fn apply(self, target: &mut f64, value: f64) {
        match self {
            Aggregate::Sum => {
                *target += value;
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => {
                if value < *target {
                    *target = value;
                }
            }
            Aggregate::Max => {
                if value > *target {
                    *target = value;
                }
            }
        }
    }
}

fn zunion(ctx: &mut Ctx, args: Args) -> CmdResult {
    set_op(ctx, args, None, SetOp::Union, "zunion")
}

fn zinter(ctx: &mut Ctx, args: Args) -> CmdResult {
    set_op(ctx, args, None, SetOp::Inter, "zinter")
}

fn zdiff(ctx: &mut Ctx, args: Args) -> CmdResult {
    set_op(ctx, args, None, SetOp::Diff, "zdiff")
}

fn zintercard(ctx: &mut Ctx, args: Args) -> CmdResult {
    set_op(ctx, args, None, SetOp::Inter, "zintercard")
}

fn zunionstore(ctx: &mut Ctx, args: Args) -> CmdResult {
    set_op(ctx, args, Some(1), SetOp::Union, "zunionstore")
}

fn zinterstore(ctx: &mut Ctx, args: Args) -> CmdResult {
    set_op(ctx, args, Some(1), SetOp::Inter, "zinterstore")
}

fn zdiffstore(ctx: &mut Ctx, args: Args) -> CmdResult {
    set_op(ctx, args, Some(1), SetOp::Diff, "zdiffstore")
}

/// ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD (Redis's
/// `zunionInterDiffGenericCommand`): the keys are read and type-checked
/// before the options are.
fn set_op(
    ctx: &mut Ctx,
    args: Args,
    dst: Option<usize>,
    op: SetOp,
    name: &'static str,
) -> CmdResult {
    let card_only = name == "zintercard";
    let numkeys_at = if dst.is_some() { 2 } else { 1 };
    let n = int_arg(args.get(numkeys_at))?;
    if n < 1 {
        return Err(CmdError::Custom(
            format!("ERR at least 1 input key is needed for '{name}' command").into_bytes(),
        ));
    }
    if n > (args.len() - numkeys_at - 1) as i64 {
        return Err(CmdError::Syntax);
    }
    let n = n as usize;
    let keys: Vec<&[u8]> = (numkeys_at + 1..numkeys_at + 1 + n)
        .map(|i| args.get(i))
        .collect();
    let (mut db, out) = ctx.db_out();
    let values = db
        .read_all(&keys, |v| matches!(v, Value::Zset(_) | Value::Set(_)))
        .ok_or(CmdError::WrongType)?;
    let mut sources: Vec<(Option<Source>, f64)> = values
        .into_iter()
        .map(|v| {
            let source = match v {
                Some(Value::Zset(z)) => Some(Source::Zset(z)),
                Some(Value::Set(s)) => Some(Source::Set(s)),
                _ => None,
            };
            (source, 1.0)
        })
        .collect();
    let (mut aggregate, mut scores, mut limit) = (Aggregate::Sum, false, 0usize);
    let mut j = numkeys_at + 1 + n;
    while j < args.len() {
        let left = args.len() - j;
        let arg = args.get(j);
        if op != SetOp::Diff && !card_only && left > n && is(arg, "weights") {
            for (i, source) in sources.iter_mut().enumerate() {
                source.1 = double_arg(args.get(j + 1 + i))
                    .ok_or_else(|| CmdError::err("ERR weight value is not a float"))?;
            }
            j += n + 1;
        } else if op != SetOp::Diff && !card_only && left >= 2 && is(arg, "aggregate") {
            let how = args.get(j + 1);
            aggregate = if is(how, "sum") {
                Aggregate::Sum
            } else if is(how, "min") {
                Aggregate::Min
            } else if is(how, "max") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if dst.is_none() && !card_only && is(arg, "withscores") {
            scores = true;
            j += 1;
        } else if card_only && left >= 2 && is(arg, "limit") {
            limit = match parse_i64(args.get(j + 1)) {
                Some(l) if l >= 0 => l as usize,
                _ => return Err(CmdError::err("ERR LIMIT can't be negative")),
            };
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let len_of = |s: &(Option<Source>, f64)| s.0.map_or(0, |s| s.len());
    if op != SetOp::Diff {
        // Smallest first, as Redis orders its inputs.
        sources.sort_by_key(len_of);
    }
    let result = match op {
        SetOp::Inter if card_only => {
            let n = inter(&sources, aggregate, limit, |_, _| {});
            out.int(n as i64);
            return Ok(());
        }
        SetOp::Inter => {
            let mut found = Vec::new();
            inter(&sources, aggregate, 0, |m, s| {
                found.push((Bytes::from(m), s))
            });
            collect(found.iter().map(|(m, s)| (&**m, *s)))
        }
        SetOp::Union => union(&sources, aggregate),
        SetOp::Diff => diff(&sources),
    };
    drop(sources);
    match dst {
        Some(d) => store(&mut db, out, args.get(d), result, name),
        None => reply_items(out, result.len(), result.iter(), scores),
    }
    Ok(())
}

/// The members of every source, with aggregated scores, passed to `found`
/// (in the smallest source's order); how many, stopping at `limit` (0 is
/// no limit).
fn inter(
    sources: &[(Option<Source>, f64)],
    aggregate: Aggregate,
    limit: usize,
    mut found: impl FnMut(&[u8], f64),
) -> usize {
    let Some((Some(first), weight)) = sources.first() else {
        return 0;
    };
    if sources.iter().any(|s| s.0.is_none()) {
        return 0;
    }
    let mut count = 0;
    first.for_each(|member, score| {
        if limit > 0 && count >= limit {
            return;
        }
        let mut total = weight * score;
        if total.is_nan() {
            total = 0.0;
        }
        for (source, w) in &sources[1..] {
            match source.and_then(|s| s.score(member)) {
                Some(s) => aggregate.apply(&mut total, s * w),
                None => return,
            }
        }
        count += 1;
        found(member, total);
    });
    count
}

fn union(sources: &[(Option<Source>, f64)], aggregate: Aggregate) -> ZSet {
    let mut totals: HashMap<Bytes, f64> = HashMap::new();
    for (source, weight) in sources {
        let Some(source) = source else { continue };
        source.for_each(|member, score| {
            let mut score = weight * score;
            if score.is_nan() {
                score = 0.0;
            }
            match totals.get_mut(member) {
                Some(total) => aggregate.apply(total, score),
                None => {
                    totals.insert(member.into(), score);
                }
            }
        });
    }
    collect(totals.iter().map(|(m, s)| (&**m, *s)))
}

/// The first source's members that no other source has, with its scores.
fn diff(sources: &[(Option<Source>, f64)]) -> ZSet {
    let Some((Some(first), _)) = sources.first() else {
        return ZSet::default();
    };
    let mut kept = Vec::new();
    first.for_each(|member, score| {
        let elsewhere = sources[1..]
            .iter()
            .any(|(s, _)| s.is_some_and(|s| s.score(member).is_some()));
        if !elsewhere {
            kept.push((Bytes::from(member), score));
        }
    });
    collect(kept.iter().map(|(m, s)| (&**m, *s)))
}
