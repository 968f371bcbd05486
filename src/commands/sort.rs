//! SORT and SORT_RO (Redis's `sort.c`): the elements of a list, set or
//! sorted set, ordered numerically or with ALPHA, by themselves or BY the
//! values of other keys, cut with LIMIT, answered as they are or as the
//! values GET fetches, or stored as a list with STORE.

use std::cmp::Ordering;

use super::flags::*;
use super::{int_arg, is, strtod_erange, strtod_whole, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::resp::Args;
use crate::store::{Bytes, DbMut, Value};

const COMPLEXITY: &str = "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).";

pub const COMMANDS: &[Command] = &[
    Command::new("sort", -2, WRITE | DENYOOM, sort)
        .keys(1, 1, 1)
        .doc(
            "generic",
            "1.0.0",
            "Sort the elements in a list, set or sorted set",
        )
        .complexity(COMPLEXITY),
    Command::new("sort_ro", -2, READONLY, sort_ro)
        .keys(1, 1, 1)
        .doc(
            "generic",
            "7.0.0",
            "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
        )
        .complexity(COMPLEXITY),
];

fn sort(ctx: &mut Ctx, args: Args) -> CmdResult {
    sort_generic(ctx, args, false)
}

fn sort_ro(ctx: &mut Ctx, args: Args) -> CmdResult {
    sort_generic(ctx, args, true)
}

/// What the options asked for.
struct Options<'a> {
    desc: bool,
    alpha: bool,
    limit: (i64, i64),
    store: Option<&'a [u8]>,
    by: Option<&'a [u8]>,
    /// BY a pattern without `*`: keep the stored order.
    dont_sort: bool,
    gets: Vec<&'a [u8]>,
}

fn parse<'a>(args: &Args<'a>, readonly: bool) -> Result<Options<'a>, CmdError> {
    let mut o = Options {
        desc: false,
        alpha: false,
        limit: (0, -1),
        store: None,
        by: None,
        dont_sort: false,
        gets: Vec::new(),
    };
    let mut j = 2;
    while j < args.len() {
        let (arg, left) = (args.get(j), args.len() - j - 1);
        if is(arg, "asc") {
            o.desc = false;
        } else if is(arg, "desc") {
            o.desc = true;
        } else if is(arg, "alpha") {
            o.alpha = true;
        } else if is(arg, "limit") && left >= 2 {
            o.limit = (int_arg(args.get(j + 1))?, int_arg(args.get(j + 2))?);
            j += 2;
        } else if !readonly && is(arg, "store") && left >= 1 {
            o.store = Some(args.get(j + 1));
            j += 1;
        } else if is(arg, "by") && left >= 1 {
            let pattern = args.get(j + 1);
            o.by = Some(pattern);
            o.dont_sort = !pattern.contains(&b'*');
            j += 1;
        } else if is(arg, "get") && left >= 1 {
            o.gets.push(args.get(j + 1));
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// Redis's `lookupKeyByPattern`: `#` is the element itself; otherwise the
/// first `*` is replaced by it, and `key->field` reads a hash field. A
/// pattern without `*`, a missing key or one of another type is nothing.
fn by_pattern(db: &mut DbMut<'_>, pattern: &[u8], element: &[u8]) -> Option<Bytes> {
    if pattern == b"#" {
        return Some(element.into());
    }
    let star = pattern.iter().position(|&c| c == b'*')?;
    let rest = &pattern[star + 1..];
    let arrow = rest
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&at| at + 2 < rest.len());
    let (suffix, field) = match arrow {
        Some(at) => (&rest[..at], Some(&rest[at + 2..])),
        None => (rest, None),
    };
    let key = [&pattern[..star], element, suffix].concat();
    match (db.read(&key)?, field) {
        (Value::Hash(h), Some(field)) => h.get(field).map(Bytes::from),
        (Value::Str(s), None) => Some(s.data.clone()),
        _ => None,
    }
}

/// One element to sort, with what it sorts by.
struct Entry {
    element: Bytes,
    score: f64,
    by: Option<Bytes>,
}

fn sort_generic(ctx: &mut Ctx, args: Args, readonly: bool) -> CmdResult {
    let mut o = parse(&args, readonly)?;
    let in_script = ctx.in_script();
    let (mut db, out) = ctx.db_out();
    let (elements, is_set): (Vec<Bytes>, bool) = match db.read(args.get(1)) {
        None => (Vec::new(), false),
        Some(Value::List(l)) => (l.iter().cloned().collect(), false),
        Some(Value::Set(s)) => (s.members(), true),
        Some(Value::Zset(z)) => (z.iter().map(|i| i.member.clone()).collect(), false),
        Some(_) => return Err(CmdError::WrongType),
    };
    // A set has no order of its own: sorted (ALPHA) when stored or asked
    // by a script, so what is stored, propagated or computed on does not
    // depend on hash order.
    if o.dont_sort && is_set && (o.store.is_some() || in_script) {
        (o.dont_sort, o.alpha, o.by) = (false, true, None);
    }
    let len = elements.len() as i64;
    let start = o.limit.0.clamp(0, len);
    let count = o.limit.1.clamp(-1, len);
    let (start, end) = match (start, count) {
        (s, _) if s >= len => (len - 1, len - 2),
        (s, c) if c < 0 => (s, len - 1),
        (s, c) => (s, (s + c - 1).min(len - 1)),
    };
    let mut entries: Vec<Entry> = elements
        .into_iter()
        .map(|element| Entry {
            element,
            score: 0.0,
            by: None,
        })
        .collect();
    if o.dont_sort {
        if o.desc && !is_set {
            entries.reverse();
        }
    } else {
        let mut bad_score = false;
        for e in &mut entries {
            let by = match o.by {
                Some(pattern) => match by_pattern(&mut db, pattern, &e.element) {
                    Some(v) => v,
                    None => continue,
                },
                None => e.element.clone(),
            };
            if o.alpha {
                if o.by.is_some() {
                    e.by = Some(by);
                }
            } else {
                match strtod_whole(&by) {
                    Some(score) if !score.is_nan() && !strtod_erange(&by, score) => e.score = score,
                    _ => bad_score = true,
                }
            }
        }
        let compare = |a: &Entry, b: &Entry| -> Ordering {
            let ord = if !o.alpha {
                a.score
                    .partial_cmp(&b.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| a.element.cmp(&b.element))
            } else if o.by.is_some() {
                // Elements whose BY key is missing come first.
                a.by.cmp(&b.by)
            } else {
                a.element.cmp(&b.element)
            };
            if o.desc {
                ord.reverse()
            } else {
                ord
            }
        };
        entries.sort_by(compare);
        if bad_score {
            return Err(CmdError::err(
                "ERR One or more scores can't be converted into double",
            ));
        }
    }
    let range = if end >= start {
        &entries[start as usize..=end as usize]
    } else {
        &[][..]
    };
    // Each element answers as itself, or as what each GET fetches.
    let mut results: Vec<Option<Bytes>> = Vec::new();
    for e in range {
        if o.gets.is_empty() {
            results.push(Some(e.element.clone()));
        }
        for pattern in &o.gets {
            results.push(by_pattern(&mut db, pattern, &e.element));
        }
    }
    match o.store {
        None => {
            out.array(results.len());
            for r in &results {
                match r {
                    Some(v) => out.bulk(v),
                    None => out.null(),
                }
            }
        }
        Some(dst) => {
            // Redis replies, then announces the store.
            db.journal().after_reply();
            let n = results.len();
            if n > 0 {
                let list = results.into_iter().map(|r| r.unwrap_or_default()).collect();
                db.set_counted(dst, Value::List(list), "sortstore", n as u64);
            } else {
                db.delete(dst);
            }
            out.int(n as i64);
        }
    }
    Ok(())
}
