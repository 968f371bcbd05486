//! Keyspace commands (Redis's `db.c`): deleting, testing, listing,
//! scanning, renaming, copying and moving keys. The expiry commands live in
//! `expire.rs`.
//!
//! Lookups follow Redis's two kinds: a read lookup (EXISTS, TYPE, TOUCH, the
//! source of COPY) counts a keyspace hit or miss; a write lookup (DEL,
//! RENAME, MOVE) does not. Both expire a key whose time has passed first.

use super::flags::*;
use super::{int32_arg, int_arg, is, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::resp::Args;
use crate::store::{glob_match, Bytes};

pub const COMMANDS: &[Command] = &[
    Command::new("del", -2, WRITE, del).keys(1, -1, 1).doc("generic", "1.0.0", "Delete a key").complexity("O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1)."),
    Command::new("unlink", -2, WRITE | FAST, unlink).keys(1, -1, 1).doc("generic", "4.0.0", "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.").complexity("O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of."),
    Command::new("exists", -2, READONLY | FAST, exists).keys(1, -1, 1).doc("generic", "1.0.0", "Determine if a key exists").complexity("O(N) where N is the number of keys to check."),
    Command::new("type", 2, READONLY | FAST, type_).keys(1, 1, 1).doc("generic", "1.0.0", "Determine the type stored at key"),
    Command::new("touch", -2, READONLY | FAST, touch).keys(1, -1, 1).doc("generic", "3.2.1", "Alters the last access time of a key(s). Returns the number of existing keys specified.").complexity("O(N) where N is the number of keys that will be touched."),
    Command::new("keys", 2, READONLY, keys).doc("generic", "1.0.0", "Find all keys matching the given pattern").complexity("O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length."),
    Command::new("scan", -2, READONLY, scan).doc("generic", "2.8.0", "Incrementally iterate the keys space").complexity("O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection."),
    Command::new("randomkey", 1, READONLY, randomkey).doc("generic", "1.0.0", "Return a random key from the keyspace"),
    Command::new("rename", 3, WRITE, rename).keys(1, 2, 1).doc("generic", "1.0.0", "Rename a key"),
    Command::new("renamenx", 3, WRITE | FAST, renamenx).keys(1, 2, 1).doc("generic", "1.0.0", "Rename a key, only if the new key does not exist"),
    Command::new("copy", -3, WRITE | DENYOOM, copy).keys(1, 2, 1).doc("generic", "6.2.0", "Copy a key").complexity("O(N) worst case for collections, where N is the number of nested items. O(1) for string values."),
    Command::new("move", 3, WRITE | FAST, move_).keys(1, 1, 1).doc("generic", "1.0.0", "Move a key to another database"),
];

/// SCAN's COUNT when none is given.
const SCAN_DEFAULT_COUNT: usize = 10;

fn del(ctx: &mut Ctx, args: Args) -> CmdResult {
    delete_keys(ctx, args)
}

/// UNLINK frees values in the background in Redis; here freeing happens
/// inline, so it is DEL under another name.
fn unlink(ctx: &mut Ctx, args: Args) -> CmdResult {
    delete_keys(ctx, args)
}

fn delete_keys(ctx: &mut Ctx, args: Args) -> CmdResult {
    let mut db = ctx.db();
    let deleted = args.tail(1).iter().filter(|key| db.delete(key)).count();
    ctx.out().int(deleted as i64);
    Ok(())
}

fn exists(ctx: &mut Ctx, args: Args) -> CmdResult {
    count_live(ctx, args, false)
}

fn type_(ctx: &mut Ctx, args: Args) -> CmdResult {
    let name = ctx.db().peek(args.get(1)).map(|e| e.value.type_name());
    ctx.out().simple(name.unwrap_or("none").as_bytes());
    Ok(())
}

fn touch(ctx: &mut Ctx, args: Args) -> CmdResult {
    count_live(ctx, args, true)
}

/// EXISTS and TOUCH: how many of the keys are live (a key named twice
/// counts twice, as in Redis), each a counted lookup; TOUCH also refreshes
/// their access times.
fn count_live(ctx: &mut Ctx, args: Args, touch: bool) -> CmdResult {
    let mut db = ctx.db();
    let mut count = 0;
    for key in args.tail(1).iter() {
        let found = if touch {
            db.read_entry(key).is_some()
        } else {
            db.peek(key).is_some()
        };
        count += found as i64;
    }
    ctx.out().int(count);
    Ok(())
}

fn keys(ctx: &mut Ctx, args: Args) -> CmdResult {
    let pattern = args.get(1);
    // `*` alone skips matching, which is also the only pattern that lists
    // the key "" (see glob_match).
    let all = pattern == b"*";
    let (db, out) = ctx.db_out();
    // Expired keys are skipped, not removed, as Redis's KEYS does.
    let found: Vec<&[u8]> = db
        .iter()
        .map(|e| &*e.key)
        .filter(|k| all || glob_match(pattern, k, false))
        .collect();
    out.bulks(found.into_iter());
    Ok(())
}

/// SCAN's options.
pub(super) struct ScanOpts<'a> {
    pub count: usize,
    pub pattern: Option<&'a [u8]>,
    pub type_name: Option<&'a [u8]>,
}

/// SCAN's options from argument `from` on; TYPE only for the keyspace.
pub(super) fn parse_scan_opts<'a>(
    args: &Args<'a>,
    from: usize,
    keyspace: bool,
) -> Result<ScanOpts<'a>, CmdError> {
    let mut opts = ScanOpts {
        count: SCAN_DEFAULT_COUNT,
        pattern: None,
        type_name: None,
    };
    let mut i = from;
    while i < args.len() {
        // Every option takes a value; one without it is a syntax error.
        if i + 1 >= args.len() {
            return Err(CmdError::Syntax);
        }
        let (opt, value) = (args.get(i), args.get(i + 1));
        if is(opt, "count") {
            let n = int_arg(value)?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            opts.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if is(opt, "match") {
            // `*` matches everything, so it is the same as no pattern.
            opts.pattern = (value != b"*").then_some(value);
        } else if keyspace && is(opt, "type") {
            opts.type_name = Some(value);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(opts)
}

/// A SCAN cursor as Redis reads it with `strtoul(…, 10)`: no leading space,
/// an optional sign (a minus wraps around, so `-1` is the largest cursor),
/// digits, nothing after them; the empty string is cursor 0. C stops at the
/// first NUL, so we do too.
pub fn parse_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    let s = arg.split(|&c| c == 0).next().unwrap_or_default();
    if s.is_empty() {
        return Ok(0);
    }
    let (negative, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(CmdError::InvalidCursor);
    }
    let mut n: u64 = 0;
    for &d in digits {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .ok_or(CmdError::InvalidCursor)?;
    }
    Ok(if negative { n.wrapping_neg() } else { n })
}

fn scan(ctx: &mut Ctx, args: Args) -> CmdResult {
    let cursor = parse_cursor(args.get(1))?;
    let opts = parse_scan_opts(&args, 2, true)?;
    let (mut db, out) = ctx.db_out();
    let mut found: Vec<Bytes> = Vec::new();
    // The slot cursor gives SCAN's guarantee: a key present for the whole
    // scan is returned whatever happens to the table between calls. Then
    // Redis's filters, in its order: the pattern; the type, read with a
    // counted lookup (which expires a key whose time has passed, and reads
    // it as type "none"); then keys whose time has passed go.
    let next = db.scan(cursor, opts.count, |entry| {
        if opts
            .pattern
            .is_none_or(|p| glob_match(p, &entry.key, false))
        {
            found.push(entry.key.clone());
        }
    });
    if let Some(t) = opts.type_name {
        found.retain(|key| {
            let name = db.peek(key).map_or("none", |e| e.value.type_name());
            t.eq_ignore_ascii_case(name.as_bytes())
        });
    }
    found.retain(|key| !db.expire_if_needed(key));
    out.array(2);
    out.bulk(next.to_string().as_bytes());
    out.bulks(found.iter().map(|k| &**k));
    Ok(())
}

fn randomkey(ctx: &mut Ctx, _args: Args) -> CmdResult {
    match ctx.db().random_key() {
        Some(key) => ctx.out().bulk(&key),
        None => ctx.out().null(),
    }
    Ok(())
}

fn rename(ctx: &mut Ctx, args: Args) -> CmdResult {
    rename_generic(ctx, args, false)
}

fn renamenx(ctx: &mut Ctx, args: Args) -> CmdResult {
    rename_generic(ctx, args, true)
}

fn rename_generic(ctx: &mut Ctx, args: Args, nx: bool) -> CmdResult {
    let (src, dst) = (args.get(1), args.get(2));
    let mut db = ctx.db();
    if !db.contains(src) {
        return Err(CmdError::NoSuchKey);
    }
    // Renaming a key to itself only checks that it exists.
    let renamed = if src == dst || (nx && db.contains(dst)) {
        false
    } else {
        let (value, ttl) = db.take(src, "rename_from").ok_or(CmdError::NoSuchKey)?;
        // `set` replaces any value (and TTL) dst had.
        db.set(dst, value, ttl, "rename_to");
        true
    };
    if nx {
        ctx.out().int(renamed as i64);
    } else {
        ctx.out().ok();
    }
    Ok(())
}

/// A target database index for MOVE and COPY, checked against the
/// configured count.
fn target_db(ctx: &Ctx, arg: &[u8]) -> Result<usize, CmdError> {
    let id = int32_arg(arg)?;
    usize::try_from(id)
        .ok()
        .filter(|&id| id < ctx.store.dbs.len())
        .ok_or(CmdError::DbIndexOutOfRange)
}

fn move_(ctx: &mut Ctx, args: Args) -> CmdResult {
    let key = args.get(1);
    let dst = target_db(ctx, args.get(2))?;
    let src = ctx.db_index();
    if dst == src {
        return Err(CmdError::SameObject);
    }
    let now = ctx.now_ms;
    let movable = ctx.store.db(src, now).contains(key) && !ctx.store.db(dst, now).contains(key);
    let moved = match movable.then(|| ctx.store.db(src, now).take(key, "move_from")) {
        Some(Some((value, ttl))) => {
            ctx.store.db(dst, now).set(key, value, ttl, "move_to");
            true
        }
        _ => false,
    };
    ctx.out().int(moved as i64);
    Ok(())
}

fn copy(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (src, dst) = (args.get(1), args.get(2));
    let mut replace = false;
    let src_db = ctx.db_index();
    let mut dst_db = src_db;
    let mut i = 3;
    while i < args.len() {
        let opt = args.get(i);
        if is(opt, "replace") {
            replace = true;
        } else if is(opt, "db") && i + 1 < args.len() {
            dst_db = target_db(ctx, args.get(i + 1))?;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if dst_db == src_db && src == dst {
        return Err(CmdError::SameObject);
    }
    let now = ctx.now_ms;
    // The source is a read lookup: counted, and its access time refreshed.
    let found = ctx.store.db(src_db, now).read_entry(src).is_some();
    // The target lookup also expires a stale dst, even under REPLACE.
    if !found || (ctx.store.db(dst_db, now).contains(dst) && !replace) {
        ctx.out().int(0);
        return Ok(());
    }
    // Cloned only now that the copy will happen.
    let Some((value, expire_at)) = ctx.store.dbs[src_db]
        .get_raw(src)
        .map(|e| (e.value.clone(), e.expire_at()))
    else {
        ctx.out().int(0);
        return Ok(());
    };
    ctx.store
        .db(dst_db, now)
        .set(dst, value, expire_at, "copy_to");
    ctx.out().int(1);
    Ok(())
}
