//! String commands (Redis's `t_string.c`).

use super::flags::*;
use super::{as_str, int_arg, is, keyword, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::ldouble::{incr_by_float, LdError};
use crate::resp::{format_int, parse_i64, Args};
use crate::store::{Bytes, Str, Value};

const fn string(name: &'static str, arity: i32, flags: u32, handler: super::Handler) -> Command {
    Command::new(name, arity, flags, handler).keys(1, 1, 1)
}

pub const COMMANDS: &[Command] = &[
    string("get", 2, READONLY | FAST, get).doc("string", "1.0.0", "Get the value of a key"),
    string("set", -3, WRITE | DENYOOM, set).doc("string", "1.0.0", "Set the string value of a key"),
    string("setnx", 3, WRITE | DENYOOM | FAST, setnx).doc(
        "string",
        "1.0.0",
        "Set the value of a key, only if the key does not exist",
    ),
    string("setex", 4, WRITE | DENYOOM, setex).doc(
        "string",
        "2.0.0",
        "Set the value and expiration of a key",
    ),
    string("psetex", 4, WRITE | DENYOOM, psetex).doc(
        "string",
        "2.6.0",
        "Set the value and expiration in milliseconds of a key",
    ),
    string("getset", 3, WRITE | DENYOOM | FAST, getset).doc(
        "string",
        "1.0.0",
        "Set the string value of a key and return its old value",
    ),
    string("getdel", 2, WRITE | FAST, getdel).doc(
        "string",
        "6.2.0",
        "Get the value of a key and delete the key",
    ),
    string("getex", -2, WRITE | FAST, getex).doc(
        "string",
        "6.2.0",
        "Get the value of a key and optionally set its expiration",
    ),
    Command::new("mget", -2, READONLY | FAST, mget)
        .keys(1, -1, 1)
        .doc("string", "1.0.0", "Get the values of all the given keys")
        .complexity("O(N) where N is the number of keys to retrieve."),
    Command::new("mset", -3, WRITE | DENYOOM, mset)
        .keys(1, -1, 2)
        .doc("string", "1.0.1", "Set multiple keys to multiple values")
        .complexity("O(N) where N is the number of keys to set."),
    Command::new("msetnx", -3, WRITE | DENYOOM, msetnx)
        .keys(1, -1, 2)
        .doc(
            "string",
            "1.0.1",
            "Set multiple keys to multiple values, only if none of the keys exist",
        )
        .complexity("O(N) where N is the number of keys to set."),
    string("append", 3, WRITE | DENYOOM | FAST, append).doc(
        "string",
        "2.0.0",
        "Append a value to a key",
    )
        .complexity(
            "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.",
        ),
    string("strlen", 2, READONLY | FAST, strlen).doc(
        "string",
        "2.2.0",
        "Get the length of the value stored in a key",
    ),
    string("getrange", 4, READONLY, getrange)
        .doc(
            "string",
            "2.4.0",
            "Get a substring of the string stored at a key",
        )
        .complexity(
            "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.",
        ),
    string("substr", 4, READONLY, getrange)
        .doc(
            "string",
            "1.0.0",
            "Get a substring of the string stored at a key",
        )
        .complexity(
            "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.",
        ),
    string("setrange", 4, WRITE | DENYOOM, setrange).doc(
        "string",
        "2.2.0",
        "Overwrite part of a string at key starting at the specified offset",
    )
        .complexity(
            "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.",
        ),
    string("incr", 2, WRITE | DENYOOM | FAST, incr).doc(
        "string",
        "1.0.0",
        "Increment the integer value of a key by one",
    ),
    string("decr", 2, WRITE | DENYOOM | FAST, decr).doc(
        "string",
        "1.0.0",
        "Decrement the integer value of a key by one",
    ),
    string("incrby", 3, WRITE | DENYOOM | FAST, incrby).doc(
        "string",
        "1.0.0",
        "Increment the integer value of a key by the given amount",
    ),
    string("decrby", 3, WRITE | DENYOOM | FAST, decrby).doc(
        "string",
        "1.0.0",
        "Decrement the integer value of a key by the given number",
    ),
    string("incrbyfloat", 3, WRITE | DENYOOM | FAST, incrbyfloat).doc(
        "string",
        "2.6.0",
        "Increment the float value of a key by the given amount",
    ),
    Command::new("lcs", -3, READONLY, lcs)
        .keys(1, 2, 1)
        .doc("string", "7.0.0", "Find longest common substring")
        .complexity("O(N*M) where N and M are the lengths of s1 and s2, respectively"),
];

// ---------------------------------------------------------------- operations

/// The string in `value`: `None` when absent, WRONGTYPE for other types.
fn string_of(value: Option<&Value>) -> Result<Option<&[u8]>, CmdError> {
    value.map(as_str).transpose()
}

/// Which expiry option SET or GETEX carries.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ttl {
    /// Relative seconds (EX), milliseconds (PX); absolute seconds (EXAT),
    /// milliseconds (PXAT).
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// Parsed SET / GETEX options.
#[derive(Default, Debug)]
struct SetOptions<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    persist: bool,
    ttl: Option<(Ttl, &'a [u8])>,
}

/// Redis's `parseExtendedStringArgumentsOrReply`: the same rules for which
/// options combine, so the same inputs are syntax errors. `for_set` selects
/// SET's options (NX XX GET KEEPTTL) over GETEX's (PERSIST).
fn parse_set_options<'a>(
    args: &Args<'a>,
    from: usize,
    for_set: bool,
) -> Result<SetOptions<'a>, CmdError> {
    let mut o = SetOptions::default();
    let mut i = from;
    while i < args.len() {
        let opt = args.get(i);
        let next = (i + 1 < args.len()).then(|| args.get(i + 1));
        let has_ttl = o.ttl.is_some();
        let ttl_kind = o.ttl.map(|(k, _)| k);
        if is(opt, "nx") && !o.xx && for_set {
            o.nx = true;
        } else if is(opt, "xx") && !o.nx && for_set {
            o.xx = true;
        } else if is(opt, "get") && for_set {
            o.get = true;
        } else if is(opt, "keepttl") && !o.persist && !has_ttl && for_set {
            o.keep_ttl = true;
        } else if is(opt, "persist") && !for_set && !has_ttl && !o.keep_ttl {
            o.persist = true;
        } else if let (Some(kind), Some(value)) = (ttl_option(opt), next) {
            // Each expiry option excludes the others, except itself repeated.
            if o.keep_ttl || o.persist || ttl_kind.is_some_and(|k| k != kind) {
                return Err(CmdError::Syntax);
            }
            o.ttl = Some((kind, value));
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(o)
}

fn ttl_option(opt: &[u8]) -> Option<Ttl> {
    let options = [
        ("ex", Ttl::Ex),
        ("px", Ttl::Px),
        ("exat", Ttl::ExAt),
        ("pxat", Ttl::PxAt),
    ];
    keyword(opt, &options)
}

/// Redis's `getExpireMillisecondsOrReply`: the absolute expiry in ms.
fn expire_at(kind: Ttl, value: &[u8], now: u64, command: &'static str) -> Result<u64, CmdError> {
    let n = int_arg(value)?;
    let seconds = matches!(kind, Ttl::Ex | Ttl::ExAt);
    if n <= 0 || (seconds && n > i64::MAX / 1000) {
        return Err(CmdError::InvalidExpire(command));
    }
    let ms = if seconds { n * 1000 } else { n };
    let at = match kind {
        Ttl::Ex | Ttl::Px => ms.checked_add(now as i64),
        Ttl::ExAt | Ttl::PxAt => Some(ms),
    };
    match at {
        Some(at) if at > 0 => Ok(at as u64),
        _ => Err(CmdError::InvalidExpire(command)),
    }
}

/// Shared by SET, SETEX, PSETEX and GETSET: stores `value` as `o` says and
/// answers. Returns the expiry it set, `None` when NX or XX stopped it, so
/// the caller can say how it propagates.
fn set_generic(
    ctx: &mut Ctx,
    key: &[u8],
    value: &[u8],
    o: &SetOptions,
    command: &'static str,
) -> Result<Option<Option<u64>>, CmdError> {
    let now = ctx.now_ms;
    let expire = o
        .ttl
        .map(|(kind, v)| expire_at(kind, v, now, command))
        .transpose()?;
    let (mut db, out) = ctx.db_out();
    // GET reads the old value as a read command would (counted).
    let old = if o.get {
        // Redis replies with it before it sets and notifies.
        db.journal().after_reply();
        string_of(db.read(key))?.map(<[u8]>::to_vec)
    } else {
        None
    };
    // A plain SET needs no lookup of its own: `DbMut::set` finds the key once.
    let found = (o.nx || o.xx) && db.contains(key);
    if (o.nx && found) || (o.xx && !found) {
        match old {
            Some(v) if o.get => out.bulk(&v),
            _ => out.null(),
        }
        return Ok(None);
    }
    if o.keep_ttl {
        db.set_keep_ttl(key, Value::str(value), "set");
    } else {
        db.set(key, Value::str(value), expire, "set");
    }
    if expire.is_some() {
        db.note(key, "expire");
    }
    if o.get {
        match old {
            Some(v) => out.bulk(&v),
            None => out.null(),
        }
    } else {
        out.ok();
    }
    Ok(Some(expire))
}

/// A SET with a relative expiry (EX, PX, EXAT, SETEX, …) propagates as
/// `SET key value PXAT <ms>`, so a replica or an AOF replayed later
/// expires the key at the same moment.
fn propagate_pxat(ctx: &mut Ctx, key: &[u8], value: &[u8], at: u64) {
    let mut digits = [0; 20];
    let at = format_int(&mut digits, at as i64);
    ctx.journal()
        .rewrite([&b"SET"[..], key, value, b"PXAT", at]);
}

// ------------------------------------------------------------------ commands

fn get(ctx: &mut Ctx, args: Args) -> CmdResult {
    match ctx.read(args.get(1)) {
        (Some(v), out) => out.bulk(as_str(v)?),
        (None, out) => out.null(),
    }
    Ok(())
}

fn set(ctx: &mut Ctx, args: Args) -> CmdResult {
    let o = parse_set_options(&args, 3, true)?;
    let (key, value) = (args.get(1), args.get(2));
    match set_generic(ctx, key, value, &o, "set")? {
        Some(Some(at)) => propagate_pxat(ctx, key, value, at),
        // GET is for the caller only: Redis propagates SET without it.
        Some(None) if o.get => {
            let kept = args
                .iter()
                .enumerate()
                .filter(|&(i, a)| i < 3 || !is(a, "get"))
                .map(|(_, a)| a);
            ctx.journal().rewrite(kept);
        }
        _ => {}
    }
    Ok(())
}

fn setnx(ctx: &mut Ctx, args: Args) -> CmdResult {
    let mut db = ctx.db();
    let stored = !db.contains(args.get(1));
    if stored {
        db.set(args.get(1), Value::str(args.get(2)), None, "set");
    }
    ctx.out().int(stored as i64);
    Ok(())
}

fn setex(ctx: &mut Ctx, args: Args) -> CmdResult {
    set_with_ttl(ctx, args, Ttl::Ex, "setex")
}

fn psetex(ctx: &mut Ctx, args: Args) -> CmdResult {
    set_with_ttl(ctx, args, Ttl::Px, "psetex")
}

/// SETEX and PSETEX: `key ttl value`.
fn set_with_ttl(ctx: &mut Ctx, args: Args, kind: Ttl, command: &'static str) -> CmdResult {
    let o = SetOptions {
        ttl: Some((kind, args.get(2))),
        ..SetOptions::default()
    };
    let (key, value) = (args.get(1), args.get(3));
    if let Some(Some(at)) = set_generic(ctx, key, value, &o, command)? {
        propagate_pxat(ctx, key, value, at);
    }
    Ok(())
}

fn getset(ctx: &mut Ctx, args: Args) -> CmdResult {
    let o = SetOptions {
        get: true,
        ..SetOptions::default()
    };
    let (key, value) = (args.get(1), args.get(2));
    set_generic(ctx, key, value, &o, "getset")?;
    ctx.journal().rewrite([&b"SET"[..], key, value]);
    Ok(())
}

fn getdel(ctx: &mut Ctx, args: Args) -> CmdResult {
    // Redis replies, then notifies.
    ctx.journal().after_reply();
    let key = args.get(1);
    let (mut db, out) = ctx.db_out();
    match string_of(db.read(key))? {
        Some(v) => {
            out.bulk(v);
            db.delete(key);
            ctx.journal().rewrite([&b"DEL"[..], key]);
        }
        None => out.null(),
    }
    Ok(())
}

/// GETEX never propagates as itself: as PEXPIREAT, DEL or PERSIST, after
/// what it did.
fn getex(ctx: &mut Ctx, args: Args) -> CmdResult {
    // Redis replies, then notifies.
    ctx.journal().after_reply();
    let o = parse_set_options(&args, 2, false)?;
    let (key, now) = (args.get(1), ctx.now_ms);
    let (mut db, out) = ctx.db_out();
    let Some(value) = string_of(db.read(key))? else {
        out.null();
        return Ok(());
    };
    let expire = o
        .ttl
        .map(|(kind, v)| expire_at(kind, v, now, "getex").map(|at| (kind, at)))
        .transpose()?;
    out.bulk(value);
    let mut digits = [0; 20];
    match expire {
        // An absolute time already past deletes the key, as Redis does.
        Some((Ttl::ExAt | Ttl::PxAt, at)) if db.already_expired(at as i64) => {
            db.delete(key);
            ctx.journal().rewrite([&b"DEL"[..], key]);
        }
        Some((_, at)) => {
            db.set_expire(key, at);
            let at = format_int(&mut digits, at as i64);
            ctx.journal().rewrite([&b"PEXPIREAT"[..], key, at]);
        }
        None if o.persist && db.persist(key) => {
            ctx.journal().rewrite([&b"PERSIST"[..], key]);
        }
        None => {}
    }
    Ok(())
}

fn mget(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (mut db, out) = ctx.db_out();
    out.array(args.len() - 1);
    for key in args.tail(1).iter() {
        match db.read(key) {
            Some(Value::Str(s)) => out.bulk(&s.data),
            _ => out.null(),
        }
    }
    Ok(())
}

/// MSET and MSETNX: `key value` pairs after the name, all stored at once.
/// With `only_new`, nothing is stored if any key exists.
fn set_pairs(ctx: &mut Ctx, args: &Args, name: &str, only_new: bool) -> Result<bool, CmdError> {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::arity(name));
    }
    let mut db = ctx.db();
    let keys = (1..args.len()).step_by(2);
    if only_new && keys.clone().any(|i| db.contains(args.get(i))) {
        return Ok(false);
    }
    for i in keys {
        db.set(args.get(i), Value::str(args.get(i + 1)), None, "set");
    }
    Ok(true)
}

fn mset(ctx: &mut Ctx, args: Args) -> CmdResult {
    set_pairs(ctx, &args, "mset", false)?;
    ctx.out().ok();
    Ok(())
}

fn msetnx(ctx: &mut Ctx, args: Args) -> CmdResult {
    let stored = set_pairs(ctx, &args, "msetnx", true)?;
    ctx.out().int(stored as i64);
    Ok(())
}

fn append(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (key, tail) = (args.get(1), args.get(2));
    let max = ctx.state.config.proto_max_bulk_len;
    let mut db = ctx.db();
    let mut value = db.modify_or_create(key, "append", || Value::str(Bytes::new()));
    let created = value.created();
    let Value::Str(s) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    if created {
        // A new key holds the argument as SET would store it.
        s.data = tail.into();
    } else {
        check_length(max, s.data.len(), tail.len())?;
        s.data.extend_from_slice(tail);
        s.raw = true;
    }
    let len = s.data.len();
    value.changed(1);
    drop(value);
    ctx.out().int(len as i64);
    Ok(())
}

/// The string's total length would pass `proto-max-bulk-len`.
fn check_length(max: usize, len: usize, extra: usize) -> CmdResult {
    match len.checked_add(extra) {
        Some(total) if total <= max => Ok(()),
        _ => Err(CmdError::StringTooLong),
    }
}

fn strlen(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (value, out) = ctx.read(args.get(1));
    let len = string_of(value)?.map_or(0, <[u8]>::len);
    out.int(len as i64);
    Ok(())
}

fn getrange(ctx: &mut Ctx, args: Args) -> CmdResult {
    let start = int_arg(args.get(2))?;
    let end = int_arg(args.get(3))?;
    let (value, out) = ctx.read(args.get(1));
    let s = string_of(value)?.unwrap_or_default();
    match substring(s.len() as i64, start, end) {
        Some((from, to)) => out.bulk(&s[from..=to]),
        None => out.bulk(b""),
    }
    Ok(())
}

/// GETRANGE's index rules: negative indexes count from the end, both ends
/// are clamped, and an empty range is `None`.
fn substring(len: i64, mut start: i64, mut end: i64) -> Option<(usize, usize)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0).min(len - 1);
    (len > 0 && start <= end).then_some((start as usize, end as usize))
}

fn setrange(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (key, patch) = (args.get(1), args.get(3));
    let offset = int_arg(args.get(2))?;
    if offset < 0 {
        return Err(CmdError::OutOfRange);
    }
    let offset = usize::try_from(offset).map_err(|_| CmdError::StringTooLong)?;
    let max = ctx.state.config.proto_max_bulk_len;
    let mut db = ctx.db();
    let current = string_of(db.entry(key).map(|e| &e.value))?.map(<[u8]>::len);
    if patch.is_empty() {
        ctx.out().int(current.unwrap_or(0) as i64);
        return Ok(());
    }
    check_length(max, offset, patch.len())?;
    let end = offset + patch.len();
    let mut value = db.modify_or_create(key, "setrange", || Value::str(Bytes::new()));
    let Value::Str(s) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    s.data.grow_to(end, 0);
    s.data[offset..end].copy_from_slice(patch);
    s.raw = true;
    let len = s.data.len();
    value.changed(1);
    drop(value);
    ctx.out().int(len as i64);
    Ok(())
}

/// INCR and friends: parse the stored integer, add, store (keeping the
/// TTL), reply.
fn incr_by(ctx: &mut Ctx, key: &[u8], by: i64) -> CmdResult {
    let mut db = ctx.db();
    let current = match string_of(db.entry(key).map(|e| &e.value))? {
        Some(v) => parse_i64(v).ok_or(CmdError::NotInteger)?,
        None => 0,
    };
    let next = current.checked_add(by).ok_or(CmdError::Overflow)?;
    let mut digits = [0; 20];
    let data = format_int(&mut digits, next).into();
    db.set_keep_ttl(key, Value::Str(Str { data, raw: false }), "incrby");
    ctx.out().int(next);
    Ok(())
}

fn incr(ctx: &mut Ctx, args: Args) -> CmdResult {
    incr_by(ctx, args.get(1), 1)
}

fn decr(ctx: &mut Ctx, args: Args) -> CmdResult {
    incr_by(ctx, args.get(1), -1)
}

fn incrby(ctx: &mut Ctx, args: Args) -> CmdResult {
    let by = int_arg(args.get(2))?;
    incr_by(ctx, args.get(1), by)
}

fn decrby(ctx: &mut Ctx, args: Args) -> CmdResult {
    let by = int_arg(args.get(2))?;
    let by = by.checked_neg().ok_or(CmdError::DecrementOverflow)?;
    incr_by(ctx, args.get(1), by)
}

/// INCRBYFLOAT propagates as `SET key <result> KEEPTTL`: replaying the
/// addition elsewhere could round differently.
fn incrbyfloat(ctx: &mut Ctx, args: Args) -> CmdResult {
    let key = args.get(1);
    let (mut db, out) = ctx.db_out();
    // A missing key counts as 0, as in Redis.
    let current = string_of(db.entry(key).map(|e| &e.value))?.unwrap_or(b"0");
    let text = incr_by_float(current, args.get(2)).map_err(|e| match e {
        LdError::NotFloat => CmdError::NotFloat,
        LdError::NanOrInf => CmdError::IncrFloatNanOrInf,
    })?;
    out.bulk(&text);
    db.set_keep_ttl(key, Value::str(&text[..]), "incrbyfloat");
    ctx.journal().rewrite([&b"SET"[..], key, &text, b"KEEPTTL"]);
    Ok(())
}

/// LCS's options.
#[derive(Default)]
struct LcsOptions {
    len: bool,
    idx: bool,
    with_match_len: bool,
    min_match_len: u64,
}

fn lcs_options(args: &Args) -> Result<LcsOptions, CmdError> {
    let mut o = LcsOptions::default();
    let mut j = 3;
    while j < args.len() {
        let opt = args.get(j);
        if is(opt, "idx") {
            o.idx = true;
        } else if is(opt, "len") {
            o.len = true;
        } else if is(opt, "withmatchlen") {
            o.with_match_len = true;
        } else if is(opt, "minmatchlen") && j + 1 < args.len() {
            o.min_match_len = int_arg(args.get(j + 1))?.max(0) as u64;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if o.len && o.idx {
        return Err(CmdError::LcsIdxLen);
    }
    Ok(o)
}

/// One common run LCS IDX reports: the ranges in both strings, inclusive.
struct Match {
    a: (usize, usize),
    b: (usize, usize),
}

/// The longest common subsequence of `a` and `b` by the textbook table,
/// as Redis builds it: its length, the subsequence, and its runs from the
/// end backwards (Redis's walk, which picks among equal choices as it
/// does). The table is refused past `max` bytes, as Redis refuses it past
/// `proto-max-bulk-len`.
fn longest_common(a: &[u8], b: &[u8], max: usize) -> Result<(Vec<u8>, Vec<Match>), CmdError> {
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return Err(CmdError::LcsTooLong);
    }
    let width = b.len() + 1;
    let cells = (a.len() + 1) as u64 * width as u64;
    if cells.saturating_mul(4) > max as u64 {
        return Err(CmdError::LcsMemory);
    }
    let mut table: Vec<u32> = Vec::new();
    table
        .try_reserve_exact(cells as usize)
        .map_err(|_| CmdError::LcsAllocFailed)?;
    table.resize(cells as usize, 0);
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    let mut left = table[a.len() * width + b.len()] as usize;
    let mut common = vec![0u8; left];
    let mut matches = Vec::new();
    let (mut i, mut j) = (a.len(), b.len());
    // The run being walked: its start and end in `a`, then in `b`.
    let mut run: Option<Match> = None;
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            common[left - 1] = a[i - 1];
            match &mut run {
                None => {
                    run = Some(Match {
                        a: (i - 1, i - 1),
                        b: (j - 1, j - 1),
                    })
                }
                // Contiguous: extend it backwards.
                Some(r) if r.a.0 == i && r.b.0 == j => {
                    r.a.0 -= 1;
                    r.b.0 -= 1;
                }
                Some(_) => emit = true,
            }
            if run.as_ref().is_some_and(|r| r.a.0 == 0 || r.b.0 == 0) {
                emit = true;
            }
            left -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * width + j] > table[i * width + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = run.is_some();
        }
        if emit {
            if let Some(r) = run.take() {
                matches.push(r);
            }
        }
    }
    Ok((common, matches))
}

fn lcs(ctx: &mut Ctx, args: Args) -> CmdResult {
    let max = ctx.state.config.proto_max_bulk_len;
    let (mut db, out) = ctx.db_out();
    let keys = [args.get(1), args.get(2)];
    let values = db.read_all(&keys, |_| true).unwrap_or_default();
    // Missing keys read as empty strings; any other type refuses both.
    let mut strings = [&b""[..]; 2];
    for (s, v) in strings.iter_mut().zip(values.iter()) {
        if let Some(v) = v {
            *s = as_str(v).map_err(|_| CmdError::LcsNotStrings)?;
        }
    }
    let o = lcs_options(&args)?;
    let (common, matches) = longest_common(strings[0], strings[1], max)?;
    if o.idx {
        let kept: Vec<&Match> = matches
            .iter()
            .filter(|m| (m.a.1 - m.a.0 + 1) as u64 >= o.min_match_len)
            .collect();
        out.map(2);
        out.bulk(b"matches");
        out.array(kept.len());
        for m in kept {
            out.array(2 + usize::from(o.with_match_len));
            for (from, to) in [m.a, m.b] {
                out.array(2);
                out.int(from as i64);
                out.int(to as i64);
            }
            if o.with_match_len {
                out.int((m.a.1 - m.a.0 + 1) as i64);
            }
        }
        out.bulk(b"len");
        out.int(common.len() as i64);
    } else if o.len {
        out.int(common.len() as i64);
    } else {
        out.bulk(&common);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_rules() {
        assert_eq!(substring(5, 0, -1), Some((0, 4)));
        assert_eq!(substring(5, -3, -1), Some((2, 4)));
        assert_eq!(substring(5, -1, -3), None);
        assert_eq!(substring(5, 3, 100), Some((3, 4)));
        assert_eq!(substring(0, 0, -1), None);
        assert_eq!(substring(5, 10, 20), None);
    }
}
