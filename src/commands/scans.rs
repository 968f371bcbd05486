//! HSCAN, SSCAN and ZSCAN (Redis's `scanGenericCommand` on a value).
//!
//! A collection in its small encoding (listpack, intset) is answered whole
//! with cursor 0, in its order, as Redis does. A large one is walked by a
//! cursor that is a position in hash order: each element's position is a
//! fixed 64-bit hash of it, a call returns the COUNT elements of lowest
//! position at or after the cursor, and the next cursor is just past the
//! last. An element present for the whole iteration is returned exactly
//! once however the collection changes between calls, a stronger promise
//! than Redis's (at least once). The price: a call reads the whole
//! collection to find its batch, O(N) where Redis's is O(COUNT), so a full
//! iteration of a large collection is O(N²/COUNT).

use std::hash::{DefaultHasher, Hasher};

use super::flags::*;
use super::keys::{parse_cursor, parse_scan_opts};
use super::{Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::resp::{format_double, Args};
use crate::store::{glob_match, Hash, Set, Value};

pub const COMMANDS: &[Command] = &[
    Command::new("hscan", -3, READONLY, hscan)
        .keys(1, 1, 1)
        .doc("hash", "2.8.0", "Incrementally iterate hash fields and associated values")
        .complexity("O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.."),
    Command::new("sscan", -3, READONLY, sscan)
        .keys(1, 1, 1)
        .doc("set", "2.8.0", "Incrementally iterate Set elements")
        .complexity("O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.."),
    Command::new("zscan", -3, READONLY, zscan)
        .keys(1, 1, 1)
        .doc("sorted_set", "2.8.0", "Incrementally iterate sorted sets elements and associated scores")
        .complexity("O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.."),
];

fn hscan(ctx: &mut Ctx, args: Args) -> CmdResult {
    scan(ctx, args, "hash")
}

fn sscan(ctx: &mut Ctx, args: Args) -> CmdResult {
    scan(ctx, args, "set")
}

fn zscan(ctx: &mut Ctx, args: Args) -> CmdResult {
    scan(ctx, args, "zset")
}

/// An element's place in a large collection's scan order (never 0, which
/// starts and ends an iteration).
fn position(element: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    h.write(element);
    h.finish().max(1)
}

/// Redis's order: the cursor, the key (an empty reply if missing, the
/// type), then the options.
fn scan(ctx: &mut Ctx, args: Args, kind: &str) -> CmdResult {
    let cursor = parse_cursor(args.get(2))?;
    let (value, out) = ctx.read(args.get(1));
    let Some(value) = value else {
        out.array(2);
        out.bulk(b"0");
        out.array(0);
        return Ok(());
    };
    if value.type_name() != kind {
        return Err(CmdError::WrongType);
    }
    let opts = parse_scan_opts(&args, 3, false)?;
    // (element, its value or score for hashes and sorted sets)
    let mut all: Vec<(&[u8], Option<Vec<u8>>)> = Vec::new();
    let small = match value {
        Value::Set(s @ Set::Ints(_)) => {
            s.for_each(|m| all.push((&[], Some(m.to_vec()))));
            true
        }
        Value::Set(Set::Table(t)) => {
            all.extend(t.iter().map(|m| (&**m, None)));
            false
        }
        Value::Hash(h) => {
            all.extend(h.iter().map(|(f, v)| (f, Some(v.to_vec()))));
            matches!(h, Hash::Pairs(_))
        }
        Value::Zset(z) => {
            all.extend(
                z.iter()
                    .map(|i| (&*i.member, Some(format_double(i.score).into_bytes()))),
            );
            z.is_listpack()
        }
        _ => return Err(CmdError::WrongType),
    };
    let (batch, next) = if small {
        (all, 0)
    } else {
        next_batch(all, cursor, opts.count)
    };
    let matches = |e: &[u8]| opts.pattern.is_none_or(|p| glob_match(p, e, false));
    let mut elements: Vec<&[u8]> = Vec::new();
    for (element, extra) in &batch {
        // An intset's members are the integers' text.
        let (element, extra) = match (kind, extra) {
            ("set", Some(text)) => (&text[..], None),
            _ => (*element, extra.as_deref()),
        };
        if matches(element) {
            elements.push(element);
            elements.extend(extra);
        }
    }
    out.array(2);
    out.bulk(next.to_string().as_bytes());
    out.bulks(elements.into_iter());
    Ok(())
}

/// The elements at or after `cursor` in position order, the `count`
/// lowest (and any sharing the last one's position); the next cursor, 0
/// when none are left.
fn next_batch<T>(all: Vec<(&[u8], T)>, cursor: u64, count: usize) -> (Vec<(&[u8], T)>, u64) {
    let mut ahead: Vec<(u64, (&[u8], T))> = all
        .into_iter()
        .map(|e| (position(e.0), e))
        .filter(|(p, _)| *p >= cursor)
        .collect();
    if ahead.len() <= count {
        return (ahead.into_iter().map(|(_, e)| e).collect(), 0);
    }
    ahead.select_nth_unstable_by_key(count - 1, |(p, _)| *p);
    let last = ahead[count - 1].0;
    let batch = ahead
        .into_iter()
        .filter(|(p, _)| *p <= last)
        .map(|(_, e)| e)
        .collect();
    (batch, last.checked_add(1).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every element is returned exactly once across a full iteration,
    /// whatever the COUNT.
    #[test]
    fn a_full_iteration_returns_each_element_once() {
        let names: Vec<Vec<u8>> = (0..1000).map(|i| format!("e{i}").into_bytes()).collect();
        for count in [1, 7, 10, 999, 5000] {
            let mut seen = Vec::new();
            let mut cursor = 0;
            loop {
                let all: Vec<(&[u8], ())> = names.iter().map(|n| (&n[..], ())).collect();
                let (batch, next) = next_batch(all, cursor, count);
                assert!(batch.len() <= count.max(1) || next == 0);
                seen.extend(batch.into_iter().map(|(e, _)| e.to_vec()));
                if next == 0 {
                    break;
                }
                cursor = next;
            }
            seen.sort();
            let mut want = names.clone();
            want.sort();
            assert_eq!(seen, want, "count {count}");
        }
    }
}
