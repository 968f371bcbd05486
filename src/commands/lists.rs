//! List commands (Redis's `t_list.c`): the seed's LPUSH RPUSH LPOP RPOP
//! LRANGE LLEN LINDEX LSET.
//!
//! A list is a `VecDeque` of elements; Redis 7.0 always reports its
//! encoding as `quicklist`. A list is never left empty in the keyspace: the
//! pop that takes its last element deletes the key.

use std::collections::VecDeque;

use super::flags::*;
use super::{int_arg, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::resp::{parse_i64, Args};
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

/// LPOP/RPOP's count: Redis parses it with `getPositiveLongFromObjectOrReply`,
/// so a non-integer gets the same "must be positive" error as a negative.
fn pop_count(arg: &[u8]) -> Result<usize, CmdError> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n as usize),
        _ => Err(CmdError::MustBePositive),
    }
}

fn lpush(ctx: &mut Ctx, args: Args) -> CmdResult {
    push(ctx, args, End::Head)
}

fn rpush(ctx: &mut Ctx, args: Args) -> CmdResult {
    push(ctx, args, End::Tail)
}

fn push(ctx: &mut Ctx, args: Args, end: End) -> CmdResult {
    // Redis replies, then notifies.
    ctx.journal().after_reply();
    let name = match end {
        End::Head => "lpush",
        End::Tail => "rpush",
    };
    let mut db = ctx.db();
    let mut value = db.modify_or_create(args.get(1), name, || Value::List(List::new()));
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
    ctx.out().int(len as i64);
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
        3 => Some(pop_count(args.get(2))?),
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
