//! List commands (Redis's `t_list.c`): LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP
//! LMPOP LRANGE LLEN LINDEX LSET LINSERT LREM LTRIM LPOS LMOVE RPOPLPUSH,
//! and the blocking BLPOP BRPOP BLMPOP BLMOVE BRPOPLPUSH (see
//! [`crate::blocking`]).
//!
//! A list is a `VecDeque` of elements; Redis 7.0 always reports its
//! encoding as `quicklist`. A list is never left empty in the keyspace: the
//! pop that takes its last element deletes the key.

use std::collections::VecDeque;

use super::flags::*;
use super::{int_arg, is, mpop_args, positive_arg, ranged_arg, Command, Ctx};
use crate::blocking::{deadline_arg, Wants};
use crate::error::{CmdError, CmdResult};
use crate::resp::Args;
use crate::store::{Bytes, Value};

pub const COMMANDS: &[Command] = &[
    Command::new("lpush", -3, WRITE | DENYOOM | FAST, lpush)
        .keys(1, 1, 1)
        .doc("list", "1.0.0", "Prepend one or multiple elements to a list")
        .complexity("O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
    Command::new("rpush", -3, WRITE | DENYOOM | FAST, rpush)
        .keys(1, 1, 1)
        .doc("list", "1.0.0", "Append one or multiple elements to a list")
        .complexity("O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
    Command::new("lpushx", -3, WRITE | DENYOOM | FAST, lpushx)
        .keys(1, 1, 1)
        .doc("list", "2.2.0", "Prepend an element to a list, only if the list exists")
        .complexity("O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
    Command::new("rpushx", -3, WRITE | DENYOOM | FAST, rpushx)
        .keys(1, 1, 1)
        .doc("list", "2.2.0", "Append an element to a list, only if the list exists")
        .complexity("O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
    Command::new("linsert", 5, WRITE | DENYOOM, linsert)
        .keys(1, 1, 1)
        .doc("list", "2.2.0", "Insert an element before or after another element in a list")
        .complexity("O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N)."),
    Command::new("lrem", 4, WRITE, lrem)
        .keys(1, 1, 1)
        .doc("list", "1.0.0", "Remove elements from a list")
        .complexity("O(N+M) where N is the length of the list and M is the number of elements removed."),
    Command::new("ltrim", 4, WRITE, ltrim)
        .keys(1, 1, 1)
        .doc("list", "1.0.0", "Trim a list to the specified range")
        .complexity("O(N) where N is the number of elements to be removed by the operation."),
    Command::new("lpos", -3, READONLY, lpos)
        .keys(1, 1, 1)
        .doc("list", "6.0.6", "Return the index of matching elements on a list")
        .complexity("O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time."),
    Command::new("lmove", 5, WRITE | DENYOOM, lmove)
        .keys(1, 2, 1)
        .doc("list", "6.2.0", "Pop an element from a list, push it to another list and return it"),
    Command::new("rpoplpush", 3, WRITE | DENYOOM, rpoplpush)
        .keys(1, 2, 1)
        .doc("list", "1.2.0", "Remove the last element in a list, prepend it to another list and return it"),
    Command::new("lmpop", -4, WRITE, lmpop)
        .doc("list", "7.0.0", "Pop elements from a list")
        .complexity("O(N+M) where N is the number of provided keys and M is the number of elements returned."),
    Command::new("lpop", -2, WRITE | FAST, lpop)
        .keys(1, 1, 1)
        .doc("list", "1.0.0", "Remove and get the first elements in a list")
        .complexity("O(N) where N is the number of elements returned"),
    Command::new("rpop", -2, WRITE | FAST, rpop)
        .keys(1, 1, 1)
        .doc("list", "1.0.0", "Remove and get the last elements in a list")
        .complexity("O(N) where N is the number of elements returned"),
    Command::new("lrange", 4, READONLY, lrange)
        .keys(1, 1, 1)
        .doc("list", "1.0.0", "Get a range of elements from a list")
        .complexity("O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range."),
    Command::new("llen", 2, READONLY | FAST, llen)
        .keys(1, 1, 1)
        .doc("list", "1.0.0", "Get the length of a list"),
    Command::new("lindex", 3, READONLY, lindex)
        .keys(1, 1, 1)
        .doc("list", "1.0.0", "Get an element from a list by its index")
        .complexity("O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1)."),
    Command::new("lset", 4, WRITE | DENYOOM, lset)
        .keys(1, 1, 1)
        .doc("list", "1.0.0", "Set the value of an element in a list by its index")
        .complexity("O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1)."),
    Command::new("blpop", -3, WRITE | NOSCRIPT | BLOCKING, blpop)
        .keys(1, -2, 1)
        .doc("list", "2.0.0", "Remove and get the first element in a list, or block until one is available")
        .complexity("O(N) where N is the number of provided keys."),
    Command::new("brpop", -3, WRITE | NOSCRIPT | BLOCKING, brpop)
        .keys(1, -2, 1)
        .doc("list", "2.0.0", "Remove and get the last element in a list, or block until one is available")
        .complexity("O(N) where N is the number of provided keys."),
    Command::new("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, blmove)
        .keys(1, 2, 1)
        .doc("list", "6.2.0", "Pop an element from a list, push it to another list and return it; or block until one is available"),
    Command::new("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, brpoplpush)
        .keys(1, 2, 1)
        .doc("list", "2.2.0", "Pop an element from a list, push it to another list and return it; or block until one is available"),
    Command::new("blmpop", -5, WRITE | BLOCKING, blmpop)
        .doc("list", "7.0.0", "Pop elements from a list, or block until one is available")
        .complexity("O(N+M) where N is the number of provided keys and M is the number of elements returned."),
];

type List = VecDeque<Bytes>;

/// Which end of the list a push or pop works on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Head,
    Tail,
}

/// The list in `value`, or WRONGTYPE.
fn as_list(value: Option<&Value>) -> Result<Option<&List>, CmdError> {
    match value {
        None => Ok(None),
        Some(Value::List(list)) => Ok(Some(list)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The element position `index` names (negative counts from the tail), if
/// it is inside a list of `len` elements.
fn list_index(len: usize, index: i64) -> Option<usize> {
    let index = if index < 0 {
        index.checked_add(len as i64)?
    } else {
        index
    };
    (0..len as i64).contains(&index).then_some(index as usize)
}

/// The inclusive element range `start..=stop` selects in a list of `len`
/// elements, clamped as LRANGE does; `None` when it selects nothing.
fn list_range(len: usize, start: i64, stop: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        start.saturating_add(len)
    } else {
        start
    }
    .max(0);
    let stop = if stop < 0 {
        stop.saturating_add(len)
    } else {
        stop
    };
    if start > stop || start >= len {
        return None;
    }
    Some((start as usize, stop.min(len - 1) as usize))
}

fn lpush(ctx: &mut Ctx, args: Args) -> CmdResult {
    push(ctx, args, End::Head, true)
}

fn rpush(ctx: &mut Ctx, args: Args) -> CmdResult {
    push(ctx, args, End::Tail, true)
}

fn lpushx(ctx: &mut Ctx, args: Args) -> CmdResult {
    push(ctx, args, End::Head, false)
}

fn rpushx(ctx: &mut Ctx, args: Args) -> CmdResult {
    push(ctx, args, End::Tail, false)
}

fn push_name(end: End) -> &'static str {
    match end {
        End::Head => "lpush",
        End::Tail => "rpush",
    }
}

/// LPUSH and RPUSH, and with `create` false LPUSHX and RPUSHX, which
/// answer 0 for a missing key.
fn push(ctx: &mut Ctx, args: Args, end: End, create: bool) -> CmdResult {
    // Redis replies, then notifies.
    ctx.journal().after_reply();
    let name = push_name(end);
    let (mut db, out) = ctx.db_out();
    let value = if create {
        Some(db.modify_or_create(args.get(1), name, || Value::List(List::new())))
    } else {
        db.modify(args.get(1), name)
    };
    let Some(mut value) = value else {
        out.int(0);
        return Ok(());
    };
    let Value::List(list) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    let elements = args.tail(2);
    for element in elements.iter() {
        match end {
            End::Head => list.push_front(element.into()),
            End::Tail => list.push_back(element.into()),
        }
    }
    let len = list.len();
    value.changed(elements.len() as u64);
    drop(value);
    out.int(len as i64);
    Ok(())
}

fn lpop(ctx: &mut Ctx, args: Args) -> CmdResult {
    pop(ctx, args, End::Head)
}

fn rpop(ctx: &mut Ctx, args: Args) -> CmdResult {
    pop(ctx, args, End::Tail)
}

/// LPOP/RPOP `key [count]`. Without a count the answer is one element (or a
/// null); with one it is an array (or a null array for a missing key).
fn pop(ctx: &mut Ctx, args: Args, end: End) -> CmdResult {
    // Redis replies, then notifies.
    ctx.journal().after_reply();
    let count = match args.len() {
        2 => None,
        3 => Some(positive_arg(args.get(2))?),
        _ => {
            return Err(CmdError::arity(match end {
                End::Head => "lpop",
                End::Tail => "rpop",
            }))
        }
    };
    let name = match end {
        End::Head => "lpop",
        End::Tail => "rpop",
    };
    let (mut db, out) = ctx.db_out();
    let Some(mut value) = db.modify(args.get(1), name) else {
        match count {
            None => out.null(),
            Some(_) => out.null_array(),
        }
        return Ok(());
    };
    let Value::List(list) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    let take_one = |list: &mut List| match end {
        End::Head => list.pop_front(),
        End::Tail => list.pop_back(),
    };
    let popped = match count {
        None => match take_one(list) {
            Some(element) => {
                out.bulk(&element);
                1
            }
            // An empty list is never stored; answer as for a missing key.
            None => {
                out.null();
                0
            }
        },
        Some(n) => {
            let n = n.min(list.len());
            out.array(n);
            for _ in 0..n {
                if let Some(element) = take_one(list) {
                    out.bulk(&element);
                }
            }
            n
        }
    };
    // Dropping the guard records the pop, and deletes the list if emptied.
    value.changed(popped as u64);
    Ok(())
}

fn lrange(ctx: &mut Ctx, args: Args) -> CmdResult {
    // Redis parses the indexes before it looks the key up.
    let start = int_arg(args.get(2))?;
    let stop = int_arg(args.get(3))?;
    let (value, out) = ctx.read(args.get(1));
    let Some(list) = as_list(value)? else {
        out.array(0);
        return Ok(());
    };
    match list_range(list.len(), start, stop) {
        Some((first, last)) => {
            out.array(last - first + 1);
            for element in list.range(first..=last) {
                out.bulk(element);
            }
        }
        None => out.array(0),
    }
    Ok(())
}

fn llen(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (value, out) = ctx.read(args.get(1));
    let len = as_list(value)?.map_or(0, |list| list.len());
    out.int(len as i64);
    Ok(())
}

fn lindex(ctx: &mut Ctx, args: Args) -> CmdResult {
    // Here the key comes first: a missing key answers null whatever the index.
    let (value, out) = ctx.read(args.get(1));
    let Some(list) = as_list(value)? else {
        out.null();
        return Ok(());
    };
    let index = int_arg(args.get(2))?;
    match list_index(list.len(), index).and_then(|i| list.get(i)) {
        Some(element) => out.bulk(element),
        None => out.null(),
    }
    Ok(())
}

fn lset(ctx: &mut Ctx, args: Args) -> CmdResult {
    // Redis replies, then notifies.
    ctx.journal().after_reply();
    let mut db = ctx.db();
    let Some(mut value) = db.modify(args.get(1), "lset") else {
        return Err(CmdError::NoSuchKey);
    };
    let Value::List(list) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    let index = int_arg(args.get(2))?;
    let slot = list_index(list.len(), index)
        .and_then(|i| list.get_mut(i))
        .ok_or(CmdError::IndexOutOfRange)?;
    *slot = args.get(3).into();
    value.changed(1);
    drop(value);
    ctx.out().ok();
    Ok(())
}

fn linsert(ctx: &mut Ctx, args: Args) -> CmdResult {
    let before = match args.get(2) {
        w if is(w, "before") => true,
        w if is(w, "after") => false,
        _ => return Err(CmdError::Syntax),
    };
    let (pivot, element) = (args.get(3), args.get(4));
    let mut db = ctx.db();
    let Some(mut value) = db.modify(args.get(1), "linsert") else {
        ctx.out().int(0);
        return Ok(());
    };
    let Value::List(list) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    let Some(at) = list.iter().position(|e| &**e == pivot) else {
        drop(value);
        ctx.out().int(-1);
        return Ok(());
    };
    list.insert(if before { at } else { at + 1 }, element.into());
    let len = list.len();
    value.changed(1);
    drop(value);
    ctx.out().int(len as i64);
    Ok(())
}

/// LREM: `count` > 0 removes that many from the head on, < 0 from the
/// tail, 0 every match.
fn lrem(ctx: &mut Ctx, args: Args) -> CmdResult {
    let count = int_arg(args.get(2))?;
    let element = args.get(3);
    let mut db = ctx.db();
    let Some(mut value) = db.modify(args.get(1), "lrem") else {
        ctx.out().int(0);
        return Ok(());
    };
    let Value::List(list) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs() as usize
    };
    let mut removed = 0;
    if count == 0 {
        let before = list.len();
        list.retain(|e| &**e != element);
        removed = before - list.len();
    } else if count > 0 {
        let mut i = 0;
        while i < list.len() && removed < limit {
            if &*list[i] == element {
                list.remove(i);
                removed += 1;
            } else {
                i += 1;
            }
        }
    } else {
        let mut i = list.len();
        while i > 0 && removed < limit {
            i -= 1;
            if &*list[i] == element {
                list.remove(i);
                removed += 1;
            }
        }
    }
    // Dropping the guard records the removals, and deletes an emptied list.
    value.changed(removed as u64);
    drop(value);
    ctx.out().int(removed as i64);
    Ok(())
}

/// LTRIM: Redis announces `ltrim` whenever the list exists, even if
/// nothing went, and counts the elements removed.
fn ltrim(ctx: &mut Ctx, args: Args) -> CmdResult {
    let start = int_arg(args.get(2))?;
    let end = int_arg(args.get(3))?;
    let mut db = ctx.db();
    let Some(mut value) = db.modify(args.get(1), "ltrim") else {
        ctx.out().ok();
        return Ok(());
    };
    let Value::List(list) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    let len = list.len() as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end };
    let (head, tail) = if start > end || start >= len {
        (len, 0)
    } else {
        (start, len - end.min(len - 1) - 1)
    };
    list.drain(..head as usize);
    list.truncate(list.len() - tail as usize);
    value.changed((head + tail) as u64);
    value.uncounted();
    drop(value);
    ctx.out().ok();
    Ok(())
}

/// LPOS key element [RANK r] [COUNT n] [MAXLEN m].
fn lpos(ctx: &mut Ctx, args: Args) -> CmdResult {
    let element = args.get(2);
    let (mut rank, mut count, mut maxlen) = (1i64, None, 0usize);
    let mut i = 3;
    while i < args.len() {
        let opt = args.get(i);
        let more = i + 1 < args.len();
        if is(opt, "rank") && more {
            rank = int_arg(args.get(i + 1))?;
            if rank == 0 {
                return Err(CmdError::err(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if is(opt, "count") && more {
            count = Some(ranged_arg(args.get(i + 1), 0, "ERR COUNT can't be negative")? as usize);
        } else if is(opt, "maxlen") && more {
            maxlen = ranged_arg(args.get(i + 1), 0, "ERR MAXLEN can't be negative")? as usize;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let (value, out) = ctx.read(args.get(1));
    let Some(list) = as_list(value)? else {
        match count {
            Some(_) => out.array(0),
            None => out.null(),
        }
        return Ok(());
    };
    let len = list.len();
    let from_tail = rank < 0;
    // Redis 7.0 negates RANK in a C long: the most negative one stays
    // negative, and every match then qualifies, the first from the tail
    // included, as with RANK -1.
    let skip = if rank == i64::MIN {
        0
    } else {
        rank.unsigned_abs() - 1
    };
    let scanned = if maxlen == 0 { len } else { maxlen.min(len) };
    let order: Box<dyn Iterator<Item = usize>> = if from_tail {
        Box::new((0..len).rev().take(scanned))
    } else {
        Box::new((0..len).take(scanned))
    };
    let wanted = match count {
        Some(0) => usize::MAX,
        Some(n) => n,
        None => 1,
    };
    let found: Vec<usize> = order
        .filter(|&i| &*list[i] == element)
        .skip(skip.min(usize::MAX as u64) as usize)
        .take(wanted)
        .collect();
    match count {
        Some(_) => {
            out.array(found.len());
            for i in found {
                out.int(i as i64);
            }
        }
        None => match found.first() {
            Some(&i) => out.int(i as i64),
            None => out.null(),
        },
    }
    Ok(())
}

fn end_arg(arg: &[u8]) -> Result<End, CmdError> {
    if is(arg, "left") {
        Ok(End::Head)
    } else if is(arg, "right") {
        Ok(End::Tail)
    } else {
        Err(CmdError::Syntax)
    }
}

fn lmove(ctx: &mut Ctx, args: Args) -> CmdResult {
    let from = end_arg(args.get(3))?;
    let to = end_arg(args.get(4))?;
    move_element(ctx, args.get(1), args.get(2), from, to)
}

fn rpoplpush(ctx: &mut Ctx, args: Args) -> CmdResult {
    move_element(ctx, args.get(1), args.get(2), End::Tail, End::Head)
}

/// LMOVE and RPOPLPUSH. As in Redis: the destination's push is announced
/// before the reply, the source's pop after it, and the whole counts as
/// one change. The element is copied, pushed, then popped, so moving
/// within one list (a rotation) needs no special case.
fn move_element(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: End, to: End) -> CmdResult {
    let mut db = ctx.db();
    let element = match db.entry(src).map(|e| &e.value) {
        None => {
            ctx.out().null();
            return Ok(());
        }
        Some(Value::List(list)) => match from {
            End::Head => list.front(),
            End::Tail => list.back(),
        }
        .cloned(),
        Some(_) => return Err(CmdError::WrongType),
    };
    let Some(element) = element else {
        ctx.out().null();
        return Ok(());
    };
    if db
        .entry(dst)
        .is_some_and(|e| !matches!(e.value, Value::List(_)))
    {
        return Err(CmdError::WrongType);
    }
    let mut pushed = db.modify_or_create(dst, push_name(to), || Value::List(List::new()));
    if let Value::List(list) = &mut *pushed {
        match to {
            End::Head => list.push_front(element.clone()),
            End::Tail => list.push_back(element.clone()),
        }
    }
    pushed.changed(1);
    drop(pushed);
    // Redis replies, then announces the pop.
    db.journal().after_reply();
    let pop_name = match from {
        End::Head => "lpop",
        End::Tail => "rpop",
    };
    if let Some(mut popped) = db.modify(src, pop_name) {
        if let Value::List(list) = &mut *popped {
            match from {
                End::Head => list.pop_front(),
                End::Tail => list.pop_back(),
            };
        }
        popped.uncounted();
    }
    ctx.out().bulk(&element);
    Ok(())
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: pops from the
/// first key holding a list, answering [key, elements].
fn lmpop(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (keys, from, count) = mpop_args(&args, 1, end_arg)?;
    if !pop_first(ctx, &args, keys, from, Some(count))? {
        ctx.out().null_array();
    }
    Ok(())
}

/// Pops from the first of `keys` (argument indexes) that holds a list:
/// one element answered as [key, element], or with a count as [key,
/// [elements]]. It propagates as the LPOP or RPOP it amounted to, as Redis
/// does for LMPOP and the blocking pops. False when every key was empty.
fn pop_first(
    ctx: &mut Ctx,
    args: &Args,
    keys: std::ops::Range<usize>,
    from: End,
    count: Option<usize>,
) -> Result<bool, CmdError> {
    // Redis replies, then notifies.
    ctx.journal().after_reply();
    let name = match from {
        End::Head => "lpop",
        End::Tail => "rpop",
    };
    let (mut db, out) = ctx.db_out();
    for key in keys.map(|i| args.get(i)) {
        let Some(mut value) = db.modify(key, name) else {
            continue;
        };
        let Value::List(list) = &mut *value else {
            return Err(CmdError::WrongType);
        };
        let n = count.unwrap_or(1).min(list.len());
        out.array(2);
        out.bulk(key);
        if count.is_some() {
            out.array(n);
        }
        for _ in 0..n {
            let element = match from {
                End::Head => list.pop_front(),
                End::Tail => list.pop_back(),
            };
            if let Some(element) = element {
                out.bulk(&element);
            }
        }
        value.changed(n as u64);
        drop(value);
        let mut digits = [0; 20];
        let n = crate::resp::format_int(&mut digits, n as i64);
        let upper = name.to_ascii_uppercase();
        match count {
            Some(_) => db.journal().rewrite([upper.as_bytes(), key, n]),
            None => db.journal().rewrite([upper.as_bytes(), key]),
        }
        return Ok(true);
    }
    Ok(false)
}

fn blpop(ctx: &mut Ctx, args: Args) -> CmdResult {
    blocking_pop(ctx, args, End::Head)
}

fn brpop(ctx: &mut Ctx, args: Args) -> CmdResult {
    blocking_pop(ctx, args, End::Tail)
}

/// BLPOP and BRPOP key [key ...] timeout.
fn blocking_pop(ctx: &mut Ctx, args: Args, from: End) -> CmdResult {
    let deadline = deadline_arg(args.get(args.len() - 1), ctx.now_ms)?;
    let keys = 1..args.len() - 1;
    if !pop_first(ctx, &args, keys.clone(), from, None)? {
        ctx.wait_or_give_up(&args, Wants::List, keys, deadline);
    }
    Ok(())
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count].
fn blmpop(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (keys, from, count) = mpop_args(&args, 2, end_arg)?;
    let deadline = deadline_arg(args.get(1), ctx.now_ms)?;
    if !pop_first(ctx, &args, keys.clone(), from, Some(count))? {
        ctx.wait_or_give_up(&args, Wants::List, keys, deadline);
    }
    Ok(())
}

fn blmove(ctx: &mut Ctx, args: Args) -> CmdResult {
    let from = end_arg(args.get(3))?;
    let to = end_arg(args.get(4))?;
    let deadline = deadline_arg(args.get(5), ctx.now_ms)?;
    blocking_move(ctx, args, from, to, deadline)
}

fn brpoplpush(ctx: &mut Ctx, args: Args) -> CmdResult {
    let deadline = deadline_arg(args.get(3), ctx.now_ms)?;
    blocking_move(ctx, args, End::Tail, End::Head, deadline)
}

/// BLMOVE and BRPOPLPUSH: LMOVE at once when the source holds a list
/// (propagated as LMOVE or RPOPLPUSH), a wait on the source otherwise.
fn blocking_move(ctx: &mut Ctx, args: Args, from: End, to: End, deadline: u64) -> CmdResult {
    let (src, dst) = (args.get(1), args.get(2));
    let found = match ctx.db().entry(src).map(|e| &e.value) {
        Some(Value::List(_)) => true,
        Some(_) => return Err(CmdError::WrongType),
        None => false,
    };
    match found {
        true => {}
        false if ctx.may_block() => {
            ctx.block(&args, Wants::List, 1..2, deadline);
            return Ok(());
        }
        false => {
            ctx.out().null();
            return Ok(());
        }
    }
    move_element(ctx, src, dst, from, to)?;
    match args.len() {
        6 => ctx
            .journal()
            .rewrite([&b"LMOVE"[..], src, dst, args.get(3), args.get(4)]),
        _ => ctx.journal().rewrite([&b"RPOPLPUSH"[..], src, dst]),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_counts_from_either_end() {
        assert_eq!(list_index(3, 0), Some(0));
        assert_eq!(list_index(3, 2), Some(2));
        assert_eq!(list_index(3, 3), None);
        assert_eq!(list_index(3, -1), Some(2));
        assert_eq!(list_index(3, -3), Some(0));
        assert_eq!(list_index(3, -4), None);
        assert_eq!(list_index(3, i64::MIN), None);
        assert_eq!(list_index(3, i64::MAX), None);
    }

    #[test]
    fn range_clamps_like_lrange() {
        assert_eq!(list_range(3, 0, -1), Some((0, 2)));
        assert_eq!(list_range(3, -100, 100), Some((0, 2)));
        assert_eq!(list_range(3, 2, 1), None);
        assert_eq!(list_range(3, 3, 10), None);
        assert_eq!(list_range(3, -1, -2), None);
        assert_eq!(list_range(3, -5, -3), Some((0, 0)));
        assert_eq!(list_range(3, -5, -4), None);
        assert_eq!(list_range(3, i64::MIN, i64::MAX), Some((0, 2)));
        assert_eq!(list_range(0, 0, -1), None);
    }
}
