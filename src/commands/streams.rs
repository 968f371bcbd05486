//! Stream commands (Redis's `t_stream.c`): XADD XRANGE XREVRANGE XLEN
//! XDEL XTRIM XREAD XSETID, and the consumer groups' XGROUP XREADGROUP XACK
//! XPENDING XCLAIM XAUTOCLAIM, with XINFO.
//!
//! The structure is [`Stream`]. XREAD and XREADGROUP with BLOCK wait
//! through [`crate::blocking`] like the blocking pops: run again when a key
//! they wait on changes, they answer if there is something new. What
//! XREADGROUP, XCLAIM and XAUTOCLAIM do to a group propagates as Redis
//! 7.0 propagates it: one `XCLAIM … FORCE JUSTID LASTID` per pending entry
//! created or moved, `XGROUP SETID … ENTRIESREAD` for a NOACK read, and
//! never the command itself. XADD propagates the ID it generated, and an
//! approximate trim (`~`) as the exact one it amounted to.

use super::flags::*;
use super::{int_arg, is, Command, Ctx};
use crate::blocking::Wants;
use crate::error::{CmdError, CmdResult, StreamError as SE};
use crate::resp::{parse_i64, Args, OwnedArgs, Proto, Reply};
use crate::store::stream::{
    AddError, EntryRef, Group, Stream, StreamId, Trim, ENTRIES_READ_INVALID,
};
use crate::store::{Bytes, Value};

const GROUP: &str = "stream";

pub const COMMANDS: &[Command] = &[
    Command::new("xadd", -5, WRITE | DENYOOM | FAST, xadd)
        .keys(1, 1, 1)
        .doc(GROUP, "5.0.0", "Appends a new entry to a stream")
        .complexity("O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted."),
    Command::new("xrange", -4, READONLY, xrange)
        .keys(1, 1, 1)
        .doc(GROUP, "5.0.0", "Return a range of elements in a stream, with IDs matching the specified IDs interval")
        .complexity("O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1)."),
    Command::new("xrevrange", -4, READONLY, xrevrange)
        .keys(1, 1, 1)
        .doc(GROUP, "5.0.0", "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE")
        .complexity("O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1)."),
    Command::new("xlen", 2, READONLY | FAST, xlen)
        .keys(1, 1, 1)
        .doc(GROUP, "5.0.0", "Return the number of entries in a stream")
        .complexity("O(1)"),
    Command::new("xdel", -3, WRITE | FAST, xdel)
        .keys(1, 1, 1)
        .doc(GROUP, "5.0.0", "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.")
        .complexity("O(1) for each single item to delete in the stream, regardless of the stream size."),
    Command::new("xtrim", -4, WRITE, xtrim)
        .keys(1, 1, 1)
        .doc(GROUP, "5.0.0", "Trims the stream to (approximately if '~' is passed) a certain size")
        .complexity("O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation."),
    Command::new("xread", -4, READONLY | BLOCKING, xread)
        .doc(GROUP, "5.0.0", "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.")
        .complexity("For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data."),
    Command::new("xreadgroup", -7, WRITE | BLOCKING, xread)
        .doc(GROUP, "5.0.0", "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.")
        .complexity("For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data."),
    Command::new("xack", -4, WRITE | FAST, xack)
        .keys(1, 1, 1)
        .doc(GROUP, "5.0.0", "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.")
        .complexity("O(1) for each message ID processed."),
    Command::new("xpending", -3, READONLY, xpending)
        .keys(1, 1, 1)
        .doc(GROUP, "5.0.0", "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.")
        .complexity("O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer."),
    Command::new("xclaim", -6, WRITE | FAST, xclaim)
        .keys(1, 1, 1)
        .doc(GROUP, "5.0.0", "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.")
        .complexity("O(log N) with N being the number of messages in the PEL of the consumer group."),
    Command::new("xautoclaim", -6, WRITE | FAST, xautoclaim)
        .keys(1, 1, 1)
        .doc(GROUP, "6.2.0", "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.")
        .complexity("O(1) if COUNT is small."),
    Command::new("xsetid", -3, WRITE | DENYOOM | FAST, xsetid)
        .keys(1, 1, 1)
        .doc(GROUP, "5.0.0", "An internal command for replicating stream values")
        .complexity("O(1)"),
    Command::new("xgroup", -2, 0, super::container)
        .doc(GROUP, "5.0.0", "A container for consumer groups commands")
        .complexity("Depends on subcommand.")
        .subcommands(&[
            Command::new("create", -5, WRITE | DENYOOM, xgroup)
                .keys(2, 2, 1)
                .doc(GROUP, "5.0.0", "Create a consumer group.")
                .complexity("O(1)"),
            Command::new("createconsumer", 5, WRITE | DENYOOM, xgroup)
                .keys(2, 2, 1)
                .doc(GROUP, "6.2.0", "Create a consumer in a consumer group.")
                .complexity("O(1)"),
            Command::new("delconsumer", 5, WRITE, xgroup)
                .keys(2, 2, 1)
                .doc(GROUP, "5.0.0", "Delete a consumer from a consumer group.")
                .complexity("O(1)"),
            Command::new("destroy", 4, WRITE, xgroup)
                .keys(2, 2, 1)
                .doc(GROUP, "5.0.0", "Destroy a consumer group.")
                .complexity("O(N) where N is the number of entries in the group's pending entries list (PEL)."),
            Command::new("help", 2, LOADING | STALE, xgroup)
                .doc(GROUP, "5.0.0", "Show helpful text about the different subcommands")
                .complexity("O(1)"),
            Command::new("setid", -5, WRITE, xgroup)
                .keys(2, 2, 1)
                .doc(GROUP, "5.0.0", "Set a consumer group to an arbitrary last delivered ID value.")
                .complexity("O(1)"),
        ]),
    Command::new("xinfo", -2, 0, super::container)
        .doc(GROUP, "5.0.0", "A container for stream introspection commands")
        .complexity("Depends on subcommand.")
        .subcommands(&[
            Command::new("consumers", 4, READONLY, xinfo)
                .keys(2, 2, 1)
                .doc(GROUP, "5.0.0", "List the consumers in a consumer group")
                .complexity("O(1)"),
            Command::new("groups", 3, READONLY, xinfo)
                .keys(2, 2, 1)
                .doc(GROUP, "5.0.0", "List the consumer groups of a stream")
                .complexity("O(1)"),
            Command::new("help", 2, LOADING | STALE, xinfo)
                .doc(GROUP, "5.0.0", "Show helpful text about the different subcommands")
                .complexity("O(1)"),
            Command::new("stream", -3, READONLY, xinfo)
                .keys(2, 2, 1)
                .doc(GROUP, "5.0.0", "Get information about a stream")
                .complexity("O(1)"),
        ]),
];

/// Entries XREAD BLOCK serves at once when it gave no COUNT (Redis's
/// `XREAD_BLOCKED_DEFAULT_COUNT`).
const BLOCKED_DEFAULT_COUNT: u64 = 1000;

// ------------------------------------------------------------ arguments

/// Redis's `string2ull`: a strict integer, or failing that what C's
/// `strtoull` accepts in full (leading blanks, a sign, a negative number
/// wrapping around).
fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(n) = parse_i64(s) {
        return u64::try_from(n).ok();
    }
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let digits = &s[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Redis's `streamGenericParseIDOrReply`: `ms-seq`, `ms` (the sequence
/// then `missing_seq`), `-` and `+` unless `strict`, and with `auto_seq`
/// `ms-*` (returned with `false` for "sequence given").
fn parse_id_full(
    arg: &[u8],
    missing_seq: u64,
    strict: bool,
    auto_seq: bool,
) -> Result<(StreamId, bool), CmdError> {
    let invalid = CmdError::Stream(SE::InvalidId);
    if arg.len() > 127 {
        return Err(invalid);
    }
    // C reads the argument as a string: it ends at a NUL.
    let arg = arg.split(|&c| c == 0).next().unwrap_or_default();
    if strict && (arg == b"-" || arg == b"+") {
        return Err(invalid);
    }
    if arg == b"-" {
        return Ok((StreamId::MIN, true));
    }
    if arg == b"+" {
        return Ok((StreamId::MAX, true));
    }
    let (ms, seq) = match arg.iter().position(|&c| c == b'-') {
        Some(at) => (&arg[..at], Some(&arg[at + 1..])),
        None => (arg, None),
    };
    let ms = string2ull(ms).ok_or_else(|| invalid.clone())?;
    match seq {
        Some(b"*") if auto_seq => Ok((StreamId::new(ms, 0), false)),
        Some(seq) => {
            let seq = string2ull(seq).ok_or(invalid)?;
            Ok((StreamId::new(ms, seq), true))
        }
        None => Ok((StreamId::new(ms, missing_seq), true)),
    }
}

/// An ID where `-` and `+` are refused (`streamParseStrictIDOrReply`).
fn strict_id(arg: &[u8]) -> Result<StreamId, CmdError> {
    parse_id_full(arg, 0, true, false).map(|(id, _)| id)
}

/// An ID where `-` and `+` are allowed (`streamParseIDOrReply`).
fn loose_id(arg: &[u8]) -> Result<StreamId, CmdError> {
    parse_id_full(arg, 0, false, false).map(|(id, _)| id)
}

/// An interval bound (`streamParseIntervalIDOrReply`), `(` making it
/// exclusive: the start moves up one, the end down one.
fn interval_id(arg: &[u8], missing_seq: u64, start: bool) -> Result<StreamId, CmdError> {
    if arg.len() > 1 && arg[0] == b'(' {
        let id = parse_id_full(&arg[1..], missing_seq, true, false)?.0;
        return if start {
            id.incr().ok_or(CmdError::Stream(SE::InvalidStart))
        } else {
            id.decr().ok_or(CmdError::Stream(SE::InvalidEnd))
        };
    }
    Ok(parse_id_full(arg, missing_seq, false, false)?.0)
}

/// `<ms>-<seq>` into `buf`.
fn id_text(id: StreamId, buf: &mut [u8; 41]) -> &[u8] {
    fn put(mut n: u64, buf: &mut [u8; 41], at: &mut usize) {
        loop {
            *at -= 1;
            buf[*at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
    }
    let mut at = buf.len();
    put(id.seq, buf, &mut at);
    at -= 1;
    buf[at] = b'-';
    put(id.ms, buf, &mut at);
    &buf[at..]
}

fn reply_id(out: &mut Reply, id: StreamId) {
    out.bulk(id_text(id, &mut [0; 41]));
}

/// One entry: `[id, [field, value, …]]`.
fn reply_entry(out: &mut Reply, entry: &EntryRef) {
    out.array(2);
    reply_id(out, entry.id);
    out.array(entry.num_fields() * 2);
    for (field, value) in entry.fields() {
        out.bulk(field);
        out.bulk(value);
    }
}

fn as_stream(value: Option<&Value>) -> Result<Option<&Stream>, CmdError> {
    match value {
        None => Ok(None),
        Some(Value::Stream(s)) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

fn stream_mut(value: &mut Value) -> Result<&mut Stream, CmdError> {
    match value {
        Value::Stream(s) => Ok(s),
        _ => Err(CmdError::WrongType),
    }
}

fn int_or(arg: &[u8], error: SE) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or(CmdError::Stream(error))
}

// ------------------------------------------------------------ XADD, XTRIM

/// XADD's and XTRIM's options (`streamAddTrimArgs`).
struct TrimArgs {
    trim: Option<Trim>,
    approx: bool,
    limit: u64,
    /// The argument index of the MAXLEN count or MINID ID.
    trim_at: usize,
    nomkstream: bool,
    /// XADD's ID: (ID, sequence given), `None` for `*`.
    id: Option<(StreamId, bool)>,
    /// Where XADD's ID is.
    id_at: usize,
}

/// `streamParseAddOrTrimArgsOrReply`.
fn trim_args(ctx: &mut Ctx, args: &Args, xadd: bool) -> Result<TrimArgs, CmdError> {
    let mut t = TrimArgs {
        trim: None,
        approx: false,
        limit: 0,
        trim_at: 0,
        nomkstream: false,
        id: None,
        id_at: args.len(),
    };
    let mut limit_given = false;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = args.get(i);
        if xadd && opt == b"*" {
            break;
        } else if (is(opt, "maxlen") || is(opt, "minid")) && more > 0 {
            if t.trim.is_some() {
                return Err(CmdError::Stream(SE::MaxlenMinid));
            }
            t.approx = false;
            let next = args.get(i + 1);
            if more >= 2 && next == b"~" {
                t.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let value = args.get(i + 1);
            t.trim = Some(if is(opt, "maxlen") {
                let n = int_arg(value)?;
                if n < 0 {
                    return Err(CmdError::Stream(SE::MaxlenNegative));
                }
                Trim::MaxLen(n as u64)
            } else {
                Trim::MinId(strict_id(value)?)
            });
            i += 1;
            t.trim_at = i;
        } else if is(opt, "limit") && more > 0 {
            let n = int_arg(args.get(i + 1))?;
            if n < 0 {
                return Err(CmdError::Stream(SE::LimitNegative));
            }
            t.limit = n as u64;
            limit_given = true;
            i += 1;
        } else if xadd && is(opt, "nomkstream") {
            t.nomkstream = true;
        } else if xadd {
            t.id = Some(parse_id_full(opt, 0, true, true)?);
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    t.id_at = i;
    if t.limit > 0 && t.trim.is_none() {
        return Err(CmdError::Stream(SE::LimitNoStrategy));
    }
    if !xadd && t.trim.is_none() {
        return Err(CmdError::Stream(SE::XtrimNoStrategy));
    }
    if ctx.me().aof_loader {
        // A replayed stream trims exactly what its writer trimmed.
        t.limit = 0;
    } else if limit_given {
        if !t.approx {
            return Err(CmdError::Stream(SE::LimitNoApprox));
        }
    } else if t.approx {
        let entries = crate::store::encoding::limits().stream_node_entries;
        t.limit = entries.saturating_mul(100);
        if t.limit == 0 {
            t.limit = 10_000;
        }
        t.limit = t.limit.min(1_000_000);
    } else {
        t.limit = 0;
    }
    Ok(t)
}

/// How an approximate trim propagates: `= <length>` or `= <first ID>`
/// (Redis's `streamRewriteTrimArgument`).
fn rewrite_trim(argv: &mut [Vec<u8>], t: &TrimArgs, stream: &Stream) {
    argv[t.trim_at - 1] = b"=".to_vec();
    argv[t.trim_at] = match t.trim {
        Some(Trim::MaxLen(_)) => stream.len.to_string().into_bytes(),
        _ => stream
            .first_entry_id(true)
            .unwrap_or(StreamId::MAX)
            .to_bytes(),
    };
}

fn xadd(ctx: &mut Ctx, args: Args) -> CmdResult {
    let t = trim_args(ctx, &args, true)?;
    let fields_at = t.id_at + 1;
    if args.len() < fields_at + 2 || (args.len() - fields_at) % 2 == 1 {
        return Err(CmdError::arity("xadd"));
    }
    if let Some((id, true)) = t.id {
        if id.is_zero() {
            return Err(CmdError::Stream(SE::IdZero));
        }
    }
    let key = args.get(1);
    let now = ctx.now_ms;
    // Redis replies, then notifies.
    ctx.journal().after_reply();
    let (mut db, out) = ctx.db_out();
    match db.entry(key).map(|e| &e.value) {
        Some(Value::Stream(_)) => {}
        Some(_) => return Err(CmdError::WrongType),
        None if t.nomkstream => {
            out.null();
            return Ok(());
        }
        None => {}
    }
    let mut value = db.modify_or_create(key, "xadd", || Value::Stream(Box::default()));
    let stream = stream_mut(&mut value)?;
    if stream.last_id == StreamId::MAX {
        return Err(CmdError::Stream(SE::Exhausted));
    }
    let last = stream.last_id;
    let id = match t.id {
        Some((id, true)) => id,
        Some((id, false)) if id.ms == last.ms => {
            // Redis fails here without saying why, and reports a stale
            // errno: the "too large" error.
            if last.seq == u64::MAX {
                return Err(CmdError::Stream(SE::TooLarge));
            }
            StreamId::new(last.ms, last.seq + 1)
        }
        Some((id, false)) => id,
        None if now > last.ms => StreamId::new(now, 0),
        None => last.incr().unwrap_or(StreamId::MIN),
    };
    let pairs: Vec<&[u8]> = args.tail(fields_at).iter().collect();
    match stream.append(id, &pairs) {
        Ok(()) => {}
        Err(AddError::TooSmall) => return Err(CmdError::Stream(SE::IdTooSmall)),
        Err(AddError::TooLarge) => return Err(CmdError::Stream(SE::TooLarge)),
    }
    reply_id(out, id);
    value.changed(1);
    drop(value);
    let mut argv: Option<Vec<Vec<u8>>> = None;
    if let Some(how) = t.trim {
        if let Some(mut value) = db.modify(key, "xtrim") {
            if let Value::Stream(stream) = &mut *value {
                let trimmed = stream.trim(how, t.approx, t.limit);
                if t.approx {
                    let all = argv.get_or_insert_with(|| args.iter().map(<[u8]>::to_vec).collect());
                    rewrite_trim(all, &t, stream);
                }
                if trimmed > 0 {
                    value.uncounted();
                }
            }
        }
    }
    if !matches!(t.id, Some((_, true))) {
        let all = argv.get_or_insert_with(|| args.iter().map(<[u8]>::to_vec).collect());
        all[t.id_at] = id.to_bytes();
    }
    if let Some(argv) = argv {
        db.journal().rewrite(argv.iter().map(Vec::as_slice));
    }
    Ok(())
}

fn xtrim(ctx: &mut Ctx, args: Args) -> CmdResult {
    let t = trim_args(ctx, &args, false)?;
    let key = args.get(1);
    let (mut db, out) = ctx.db_out();
    let Some(mut value) = db.modify(key, "xtrim") else {
        out.int(0);
        return Ok(());
    };
    let stream = stream_mut(&mut value)?;
    let Some(how) = t.trim else {
        return Err(CmdError::Stream(SE::XtrimNoStrategy));
    };
    let trimmed = stream.trim(how, t.approx, t.limit);
    let mut argv = None;
    if trimmed > 0 && t.approx {
        let mut all: Vec<Vec<u8>> = args.iter().map(<[u8]>::to_vec).collect();
        rewrite_trim(&mut all, &t, stream);
        argv = Some(all);
    }
    value.changed(trimmed);
    drop(value);
    if let Some(argv) = argv {
        db.journal().rewrite(argv.iter().map(Vec::as_slice));
    }
    out.int(trimmed as i64);
    Ok(())
}

// ------------------------------------------------------------ reads

fn xrange(ctx: &mut Ctx, args: Args) -> CmdResult {
    range(ctx, args, false)
}

fn xrevrange(ctx: &mut Ctx, args: Args) -> CmdResult {
    range(ctx, args, true)
}

/// XRANGE key start end [COUNT n] and XREVRANGE key end start [COUNT n].
fn range(ctx: &mut Ctx, args: Args, rev: bool) -> CmdResult {
    let (start_arg, end_arg) = if rev {
        (args.get(3), args.get(2))
    } else {
        (args.get(2), args.get(3))
    };
    let start = interval_id(start_arg, 0, true)?;
    let end = interval_id(end_arg, u64::MAX, false)?;
    let mut count: i64 = -1;
    let mut j = 4;
    while j < args.len() {
        if is(args.get(j), "count") && j + 1 < args.len() {
            count = int_arg(args.get(j + 1))?.max(0);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let (value, out) = ctx.read(args.get(1));
    let Some(stream) = as_stream(value)? else {
        out.array(0);
        return Ok(());
    };
    if count == 0 {
        out.null_array();
        return Ok(());
    }
    let limit = if count < 0 {
        usize::MAX
    } else {
        count as usize
    };
    let at = out.defer();
    let mut n = 0;
    for entry in stream.range(start, end, rev).take(limit) {
        reply_entry(out, &entry);
        n += 1;
    }
    fill_array(out, at, n);
    Ok(())
}

/// Writes the header of an array begun at `at`.
fn fill_array(out: &mut Reply, at: crate::resp::Deferred, len: usize) {
    out.fill_array(at, len);
}

fn xlen(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (value, out) = ctx.read(args.get(1));
    let len = as_stream(value)?.map_or(0, |s| s.len);
    out.int(len as i64);
    Ok(())
}

fn xdel(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (mut db, out) = ctx.db_out();
    let key = args.get(1);
    match db.entry(key).map(|e| &e.value) {
        None => {
            out.int(0);
            return Ok(());
        }
        Some(Value::Stream(_)) => {}
        Some(_) => return Err(CmdError::WrongType),
    }
    let ids = args
        .tail(2)
        .iter()
        .map(strict_id)
        .collect::<Result<Vec<_>, _>>()?;
    let Some(mut value) = db.modify(key, "xdel") else {
        out.int(0);
        return Ok(());
    };
    let stream = stream_mut(&mut value)?;
    let mut deleted = 0;
    let mut first = false;
    for id in ids {
        if stream.delete(id) {
            first |= id == stream.first_id;
            if id > stream.max_deleted {
                stream.max_deleted = id;
            }
            deleted += 1;
        }
    }
    if deleted > 0 {
        if stream.len == 0 {
            stream.first_id = StreamId::MIN;
        } else if first {
            stream.refresh_first_id();
        }
    }
    value.changed(deleted);
    drop(value);
    out.int(deleted as i64);
    Ok(())
}

/// XREAD's and XREADGROUP's parsed options.
struct ReadArgs<'a> {
    /// BLOCK's timeout in ms, if given.
    block: Option<u64>,
    count: u64,
    /// Index of the first key, and how many streams.
    keys_at: usize,
    streams: usize,
    group: Option<(&'a [u8], &'a [u8])>,
    noack: bool,
}

fn read_args<'a>(
    args: &Args<'a>,
    group_cmd: bool,
    in_script: bool,
) -> Result<ReadArgs<'a>, CmdError> {
    let mut r = ReadArgs {
        block: None,
        count: 0,
        keys_at: 0,
        streams: 0,
        group: None,
        noack: false,
    };
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - i - 1;
        let opt = args.get(i);
        if is(opt, "block") && more > 0 {
            if in_script {
                // No sense blocking in a script; Redis says so rather
                // than answering as if timed out.
                let mut text = b"ERR ".to_vec();
                text.extend_from_slice(args.get(0));
                text.extend_from_slice(b" command is not allowed with BLOCK option from scripts");
                return Err(CmdError::Custom(text));
            }
            i += 1;
            let ms = parse_i64(args.get(i)).ok_or(CmdError::TimeoutNotInteger)?;
            if ms < 0 {
                return Err(CmdError::TimeoutNegative);
            }
            r.block = Some(ms as u64);
        } else if is(opt, "count") && more > 0 {
            i += 1;
            r.count = int_arg(args.get(i))?.max(0) as u64;
        } else if is(opt, "streams") && more > 0 {
            r.keys_at = i + 1;
            let n = args.len() - r.keys_at;
            if !n.is_multiple_of(2) {
                return Err(CmdError::Stream(SE::Unbalanced));
            }
            r.streams = n / 2;
            break;
        } else if is(opt, "group") && more >= 2 {
            if !group_cmd {
                return Err(CmdError::Stream(SE::GroupInXread));
            }
            r.group = Some((args.get(i + 1), args.get(i + 2)));
            i += 2;
        } else if is(opt, "noack") {
            if !group_cmd {
                return Err(CmdError::Stream(SE::NoackInXread));
            }
            r.noack = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if r.keys_at == 0 {
        return Err(CmdError::Syntax);
    }
    if group_cmd && r.group.is_none() {
        return Err(CmdError::Stream(SE::MissingGroup));
    }
    Ok(r)
}

/// An XREAD ID: after this one; `>` (MAX) for a group's new entries.
fn read_id(arg: &[u8], stream: Option<&Stream>, group: bool) -> Result<StreamId, CmdError> {
    if arg == b"$" {
        if group {
            return Err(CmdError::Stream(SE::DollarInGroup));
        }
        return Ok(stream.map_or(StreamId::MIN, |s| s.last_id));
    }
    if arg == b">" {
        if !group {
            return Err(CmdError::Stream(SE::GreaterInXread));
        }
        return Ok(StreamId::MAX);
    }
    strict_id(arg)
}

/// XREAD [COUNT n] [BLOCK ms] STREAMS key … id …, and XREADGROUP GROUP g c
/// [COUNT n] [BLOCK ms] [NOACK] STREAMS key … id ….
fn xread(ctx: &mut Ctx, args: Args) -> CmdResult {
    let group_cmd = args.get(0).len() == 10;
    let r = read_args(&args, group_cmd, ctx.in_script())?;
    let rerun = ctx.rerunning();
    let mut ids = Vec::with_capacity(r.streams);
    for i in 0..r.streams {
        let key = args.get(r.keys_at + i);
        let (value, _) = ctx.read(key);
        if rerun && r.group.is_some() && !matches!(value, Some(Value::Stream(_))) {
            return Err(CmdError::Stream(SE::KeyGone));
        }
        let stream = as_stream(value)?;
        if let Some((group, _)) = r.group {
            if !stream.is_some_and(|s| s.groups.contains_key(group)) {
                if rerun {
                    return Err(CmdError::Stream(SE::GroupGone));
                }
                return Err(CmdError::nogroup_key(
                    key,
                    group,
                    " in XREADGROUP with GROUP option",
                ));
            }
        }
        ids.push(read_id(
            args.get(r.keys_at + r.streams + i),
            stream,
            r.group.is_some(),
        )?);
    }
    let count = if rerun && r.count == 0 {
        BLOCKED_DEFAULT_COUNT
    } else {
        r.count
    };
    // Which streams have something to give.
    let mut serve = Vec::new();
    for (i, &after) in ids.iter().enumerate() {
        let key = args.get(r.keys_at + i);
        let Some(Value::Stream(s)) = ctx.read(key).0 else {
            continue;
        };
        match r.group {
            Some((group, _)) => {
                if after != StreamId::MAX {
                    serve.push((i, after, true));
                } else if s.len > 0 {
                    let last = s.groups.get(group).map_or(StreamId::MAX, |g| g.last_id);
                    if s.last_valid_id().is_some_and(|max| max > last) {
                        serve.push((i, last, false));
                    }
                }
            }
            None => {
                if s.len > 0 && s.last_valid_id().is_some_and(|max| max > after) {
                    serve.push((i, after, false));
                }
            }
        }
    }
    if serve.is_empty() {
        if let Some(ms) = r.block {
            if ctx.may_block() {
                let deadline = if ms == 0 {
                    0
                } else {
                    ctx.now_ms.saturating_add(ms)
                };
                // `$` waits for what comes after the last ID now.
                let mut argv: Vec<Vec<u8>> = args.iter().map(<[u8]>::to_vec).collect();
                for (i, id) in ids.iter().enumerate() {
                    let at = r.keys_at + r.streams + i;
                    if argv[at] == b"$" {
                        argv[at] = id.to_bytes();
                    }
                }
                let owned = OwnedArgs::from_vecs(&argv);
                let keys = r.keys_at..r.keys_at + r.streams;
                ctx.block(&owned.args(), Wants::Stream, keys, deadline);
                return Ok(());
            }
        }
        ctx.out().null_array();
        return Ok(());
    }
    let resp3 = ctx.out().proto == Proto::Resp3;
    if resp3 {
        ctx.out().map(serve.len());
    } else {
        ctx.out().array(serve.len());
    }
    for (i, after, history) in serve {
        let key = args.get(r.keys_at + i);
        if !resp3 {
            ctx.out().array(2);
        }
        ctx.out().bulk(key);
        match r.group {
            None => {
                let (value, out) = ctx.read(key);
                if let Ok(Some(s)) = as_stream(value) {
                    let start = after.incr().unwrap_or(StreamId::MAX);
                    let limit = if count == 0 {
                        usize::MAX
                    } else {
                        count as usize
                    };
                    let at = out.defer();
                    let mut n = 0;
                    for entry in s.range(start, StreamId::MAX, false).take(limit) {
                        reply_entry(out, &entry);
                        n += 1;
                    }
                    fill_array(out, at, n);
                }
            }
            Some((group, consumer)) => {
                group_read(ctx, key, group, consumer, after, history, count, r.noack)?;
            }
        }
    }
    ctx.journal().prevent_propagation();
    Ok(())
}

/// What a group read changes, to propagate once the stream is put back.
enum Prop {
    Xclaim(StreamId, Bytes, u64, u64, StreamId),
    SetId(StreamId, i64),
    CreateConsumer,
}

/// Serves one stream to a consumer of `group`: its pending history from
/// `after` on (`history`), or the entries after the group's last one.
#[allow(clippy::too_many_arguments)]
fn group_read(
    ctx: &mut Ctx,
    key: &[u8],
    group_name: &[u8],
    consumer: &[u8],
    after: StreamId,
    history: bool,
    count: u64,
    noack: bool,
) -> CmdResult {
    let now = ctx.now_ms;
    let db_index = ctx.db_index();
    let mut props = Vec::new();
    let (mut db, out) = ctx.db_out();
    let Some(mut value) = db.modify(key, "") else {
        out.array(0);
        return Ok(());
    };
    let stream = stream_mut(&mut value)?;
    let mut groups = std::mem::take(&mut stream.groups);
    let stream: &Stream = stream;
    let mut changes = 1;
    let mut created = false;
    if let Some(group) = groups.get_mut(group_name) {
        if seen(group, consumer, now) {
            created = true;
            if noack {
                props.push(Prop::CreateConsumer);
            }
        }
        let limit = if count == 0 {
            usize::MAX
        } else {
            count as usize
        };
        let start = after.incr().unwrap_or(StreamId::MAX);
        let at = out.defer();
        let mut n = 0;
        if history {
            let pending: Vec<StreamId> = group
                .consumers
                .get(consumer)
                .map(|c| c.pel.range(start..).take(limit).copied().collect())
                .unwrap_or_default();
            for id in pending {
                match stream.get(id) {
                    Some(entry) => {
                        reply_entry(out, &entry);
                        if let Some(nack) = group.pel.get_mut(&id) {
                            nack.delivery_time = now;
                            nack.delivery_count = nack.delivery_count.wrapping_add(1);
                        }
                    }
                    None => {
                        out.array(2);
                        reply_id(out, id);
                        out.null_array();
                    }
                }
                n += 1;
            }
        } else {
            let mut moved = false;
            for entry in stream.range(start, StreamId::MAX, false).take(limit) {
                if entry.id > group.last_id {
                    stream.advance_group(group, entry.id);
                    moved = true;
                }
                reply_entry(out, &entry);
                n += 1;
                if !noack {
                    group.assign(entry.id, consumer, now, 1);
                    changes += 1;
                    props.push(Prop::Xclaim(
                        entry.id,
                        Bytes::from(consumer),
                        now,
                        1,
                        group.last_id,
                    ));
                }
            }
            if noack && moved {
                props.push(Prop::SetId(group.last_id, group.entries_read));
            }
        }
        fill_array(out, at, n);
    }
    let stream = stream_mut(&mut value)?;
    stream.groups = groups;
    value.changed(changes);
    drop(value);
    if created {
        db.note(key, "xgroup-createconsumer");
    }
    let journal = db.journal();
    for p in props {
        match p {
            Prop::Xclaim(id, consumer, time, count, last) => {
                propagate_xclaim(
                    journal,
                    db_index,
                    key,
                    group_name,
                    &consumer,
                    &id.to_bytes(),
                    time,
                    count,
                    last,
                );
            }
            Prop::SetId(last, read) => {
                propagate_setid(journal, db_index, key, group_name, last, read)
            }
            Prop::CreateConsumer => journal.also_propagate(
                db_index,
                [&b"XGROUP"[..], b"CREATECONSUMER", key, group_name, consumer],
            ),
        }
    }
    Ok(())
}

/// Redis's `streamPropagateXCLAIM`.
#[allow(clippy::too_many_arguments)]
fn propagate_xclaim(
    journal: &mut crate::store::Journal,
    db: usize,
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    id: &[u8],
    time: u64,
    count: u64,
    last: StreamId,
) {
    if !journal.propagating {
        return;
    }
    let time = time.to_string();
    let count = count.to_string();
    let last = last.to_bytes();
    journal.also_propagate(
        db,
        [
            &b"XCLAIM"[..],
            key,
            group,
            consumer,
            b"0",
            id,
            b"TIME",
            time.as_bytes(),
            b"RETRYCOUNT",
            count.as_bytes(),
            b"FORCE",
            b"JUSTID",
            b"LASTID",
            &last,
        ],
    );
}

/// Redis's `streamPropagateGroupID`.
fn propagate_setid(
    journal: &mut crate::store::Journal,
    db: usize,
    key: &[u8],
    group: &[u8],
    last: StreamId,
    entries_read: i64,
) {
    if !journal.propagating {
        return;
    }
    let last = last.to_bytes();
    let read = entries_read.to_string();
    journal.also_propagate(
        db,
        [
            &b"XGROUP"[..],
            b"SETID",
            key,
            group,
            &last,
            b"ENTRIESREAD",
            read.as_bytes(),
        ],
    );
}

// ------------------------------------------------------------ groups

fn xgroup_help(out: &mut Reply) {
    super::server::help_reply(
        out,
        "xgroup",
        &[
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
        ],
    );
}

/// XGROUP CREATE | SETID | DESTROY | CREATECONSUMER | DELCONSUMER | HELP,
/// checked in Redis's order.
fn xgroup(ctx: &mut Ctx, args: Args) -> CmdResult {
    let sub = args.get(1);
    let syntax = || CmdError::subcommand_syntax(sub, "xgroup");
    let now = ctx.now_ms;
    let mut mkstream = false;
    let mut entries_read = ENTRIES_READ_INVALID;
    let mut exists = false;
    let mut has_group = false;
    if args.len() >= 4 {
        let create = is(sub, "create");
        let setid = is(sub, "setid");
        let mut i = 5;
        while i < args.len() {
            if create && is(args.get(i), "mkstream") {
                mkstream = true;
                i += 1;
            } else if (create || setid) && is(args.get(i), "entriesread") && i + 1 < args.len() {
                entries_read = int_arg(args.get(i + 1))?;
                if entries_read < 0 && entries_read != ENTRIES_READ_INVALID {
                    return Err(CmdError::Stream(SE::EntriesRead));
                }
                i += 2;
            } else {
                return Err(syntax());
            }
        }
        let mut db = ctx.db();
        let stream = as_stream(db.entry(args.get(2)).map(|e| &e.value))?;
        exists = stream.is_some();
        has_group = stream.is_some_and(|s| s.groups.contains_key(args.get(3)));
        if !mkstream {
            if !exists {
                return Err(CmdError::Stream(SE::KeyMustExist));
            }
            if !has_group && (setid || is(sub, "createconsumer") || is(sub, "delconsumer")) {
                return Err(CmdError::nogroup_for_key(args.get(3), args.get(2)));
            }
        }
    }
    let n = args.len();
    if n == 2 && is(sub, "help") {
        xgroup_help(ctx.out());
        return Ok(());
    }
    if n < 4 {
        return Err(syntax());
    }
    let (key, name) = (args.get(2), args.get(3));
    if is(sub, "create") && (5..=8).contains(&n) {
        let id = if args.get(4) == b"$" {
            None
        } else {
            Some(strict_id(args.get(4))?)
        };
        let (mut db, out) = ctx.db_out();
        if !exists {
            db.set_counted(key, Value::Stream(Box::default()), "", 0);
        }
        if has_group {
            return Err(CmdError::Stream(SE::BusyGroup));
        }
        let Some(mut value) = db.modify(key, "xgroup-create") else {
            return Err(CmdError::Stream(SE::KeyMustExist));
        };
        let stream = stream_mut(&mut value)?;
        let id = id.unwrap_or(stream.last_id);
        stream
            .groups
            .insert(Bytes::from(name), Group::new(id, entries_read));
        value.changed(1);
        drop(value);
        out.ok();
        return Ok(());
    }
    if is(sub, "setid") && (n == 5 || n == 7) {
        let (mut db, out) = ctx.db_out();
        let Some(mut value) = db.modify(key, "xgroup-setid") else {
            return Err(CmdError::Stream(SE::KeyMustExist));
        };
        let stream = stream_mut(&mut value)?;
        let id = if args.get(4) == b"$" {
            stream.last_id
        } else {
            loose_id(args.get(4))?
        };
        if let Some(g) = stream.groups.get_mut(name) {
            g.last_id = id;
            g.entries_read = entries_read;
        }
        value.changed(1);
        drop(value);
        out.ok();
        return Ok(());
    }
    if is(sub, "destroy") && n == 4 {
        let (mut db, out) = ctx.db_out();
        if !has_group {
            out.int(0);
            return Ok(());
        }
        if let Some(mut value) = db.modify(key, "xgroup-destroy") {
            if let Ok(stream) = stream_mut(&mut value) {
                stream.groups.remove(name);
            }
            value.changed(1);
        }
        out.int(1);
        return Ok(());
    }
    if is(sub, "createconsumer") && n == 5 {
        let (mut db, out) = ctx.db_out();
        let mut created = false;
        if let Some(mut value) = db.modify(key, "xgroup-createconsumer") {
            if let Ok(stream) = stream_mut(&mut value) {
                if let Some(g) = stream.groups.get_mut(name) {
                    created = g.consumer_or_create(args.get(4), now);
                }
            }
            value.changed(created as u64);
        }
        out.int(created as i64);
        return Ok(());
    }
    if is(sub, "delconsumer") && n == 5 {
        let (mut db, out) = ctx.db_out();
        let mut pending = 0;
        if let Some(mut value) = db.modify(key, "xgroup-delconsumer") {
            let mut found = false;
            if let Ok(stream) = stream_mut(&mut value) {
                if let Some(g) = stream.groups.get_mut(name) {
                    if let Some(p) = g.delete_consumer(args.get(4)) {
                        pending = p;
                        found = true;
                    }
                }
            }
            value.changed(found as u64);
        }
        out.int(pending as i64);
        return Ok(());
    }
    Err(syntax())
}

fn xsetid(ctx: &mut Ctx, args: Args) -> CmdResult {
    let id = strict_id(args.get(2))?;
    let mut entries_added: i64 = -1;
    let mut max_deleted = StreamId::MIN;
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = args.get(i);
        if is(opt, "entriesadded") && more > 0 {
            entries_added = int_arg(args.get(i + 1))?;
            if entries_added < 0 {
                return Err(CmdError::Stream(SE::EntriesAddedNegative));
            }
            i += 2;
        } else if is(opt, "maxdeletedid") && more > 0 {
            max_deleted = strict_id(args.get(i + 1))?;
            if id < max_deleted {
                return Err(CmdError::Stream(SE::SetidBelowMaxDeleted));
            }
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let (mut db, out) = ctx.db_out();
    let Some(mut value) = db.modify(args.get(1), "xsetid") else {
        return Err(CmdError::NoSuchKey);
    };
    let stream = stream_mut(&mut value)?;
    if stream.len > 0 {
        if stream.last_valid_id().is_some_and(|max| id < max) {
            return Err(CmdError::Stream(SE::SetidBelowTop));
        }
        if entries_added != -1 && stream.len > entries_added as u64 {
            return Err(CmdError::Stream(SE::SetidBelowLength));
        }
    }
    stream.last_id = id;
    if entries_added != -1 {
        stream.entries_added = entries_added as u64;
    }
    if !max_deleted.is_zero() {
        stream.max_deleted = max_deleted;
    }
    value.changed(1);
    drop(value);
    out.ok();
    Ok(())
}

fn xack(ctx: &mut Ctx, args: Args) -> CmdResult {
    let key = args.get(1);
    if !has_group(ctx, key, args.get(2))? {
        ctx.out().int(0);
        return Ok(());
    }
    let ids = args
        .tail(3)
        .iter()
        .map(strict_id)
        .collect::<Result<Vec<_>, _>>()?;
    let (mut db, out) = ctx.db_out();
    let mut acked = 0;
    if let Some(mut value) = db.modify(key, "") {
        if let Ok(stream) = stream_mut(&mut value) {
            if let Some(g) = stream.groups.get_mut(args.get(2)) {
                acked = ids.into_iter().filter(|&id| g.ack(id)).count();
            }
        }
        value.changed(acked as u64);
    }
    out.int(acked as i64);
    Ok(())
}

fn xpending(ctx: &mut Ctx, args: Args) -> CmdResult {
    let n = args.len();
    let summary = n == 3;
    if n != 3 && !(6..=9).contains(&n) {
        return Err(CmdError::Syntax);
    }
    let (mut start, mut end, mut count, mut min_idle) = (StreamId::MIN, StreamId::MAX, 0i64, 0i64);
    let mut consumer = None;
    if n >= 6 {
        let mut at = 3;
        if is(args.get(3), "idle") {
            min_idle = int_arg(args.get(4))?;
            if n < 8 {
                return Err(CmdError::Syntax);
            }
            at += 2;
        }
        count = int_arg(args.get(at + 2))?.max(0);
        start = interval_id(args.get(at), 0, true)?;
        end = interval_id(args.get(at + 1), u64::MAX, false)?;
        if at + 3 < n {
            consumer = Some(args.get(at + 3));
        }
    }
    let now = ctx.now_ms as i64;
    let (key, name) = (args.get(1), args.get(2));
    let (value, out) = ctx.read(key);
    let stream = as_stream(value)?;
    let Some(group) = stream.and_then(|s| s.groups.get(name)) else {
        return Err(CmdError::nogroup_key(key, name, ""));
    };
    if summary {
        out.array(4);
        out.int(group.pel.len() as i64);
        let (Some(first), Some(last)) = (group.pel.keys().next(), group.pel.keys().next_back())
        else {
            out.null();
            out.null();
            out.null_array();
            return Ok(());
        };
        reply_id(out, *first);
        reply_id(out, *last);
        let busy: Vec<_> = group
            .consumers
            .iter()
            .filter(|(_, c)| !c.pel.is_empty())
            .collect();
        out.array(busy.len());
        for (name, c) in busy {
            out.array(2);
            out.bulk(name);
            out.bulk_int(c.pel.len() as i64);
        }
        return Ok(());
    }
    let ids: Box<dyn Iterator<Item = StreamId>> = match consumer {
        Some(c) => match group.consumers.get(c) {
            Some(c) if start <= end => Box::new(c.pel.range(start..=end).copied()),
            Some(_) => Box::new(std::iter::empty()),
            None => {
                out.array(0);
                return Ok(());
            }
        },
        None if start <= end => Box::new(group.pel.range(start..=end).map(|(id, _)| *id)),
        None => Box::new(std::iter::empty()),
    };
    let at = out.defer();
    let mut len = 0;
    for id in ids {
        if count == 0 {
            break;
        }
        let Some(nack) = group.pel.get(&id) else {
            continue;
        };
        let idle = now.wrapping_sub(nack.delivery_time as i64);
        if min_idle != 0 && idle < min_idle {
            continue;
        }
        count -= 1;
        len += 1;
        out.array(4);
        reply_id(out, id);
        out.bulk(&nack.consumer);
        out.int(idle.max(0));
        out.int(nack.delivery_count as i64);
    }
    fill_array(out, at, len);
    Ok(())
}

fn xclaim(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (key, name, consumer) = (args.get(1), args.get(2), args.get(3));
    if !has_group(ctx, key, name)? {
        return Err(CmdError::nogroup_key(key, name, ""));
    }
    let min_idle = int_or(args.get(4), SE::MinIdleXclaim)?.max(0);
    let mut ids = Vec::new();
    let mut j = 5;
    while j < args.len() {
        match strict_id(args.get(j)) {
            Ok(id) => ids.push((id, j)),
            Err(_) => break,
        }
        j += 1;
    }
    let now = ctx.now_ms as i64;
    let (mut force, mut justid) = (false, false);
    let mut retry: i64 = -1;
    let mut time: i64 = -1;
    let mut last_id = StreamId::MIN;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let opt = args.get(j);
        if is(opt, "force") {
            force = true;
        } else if is(opt, "justid") {
            justid = true;
        } else if is(opt, "idle") && more > 0 {
            j += 1;
            time = now.wrapping_sub(int_or(args.get(j), SE::IdleXclaim)?);
        } else if is(opt, "time") && more > 0 {
            j += 1;
            time = int_or(args.get(j), SE::TimeXclaim)?;
        } else if is(opt, "retrycount") && more > 0 {
            j += 1;
            retry = int_or(args.get(j), SE::RetrycountXclaim)?;
        } else if is(opt, "lastid") && more > 0 {
            j += 1;
            last_id = strict_id(args.get(j))?;
        } else {
            return Err(CmdError::xclaim_option(opt));
        }
        j += 1;
    }
    let time = if time < 0 || time > now { now } else { time } as u64;
    let db_index = ctx.db_index();
    let mut props: Vec<Prop> = Vec::new();
    let mut prop_ids: Vec<usize> = Vec::new();
    let (mut db, out) = ctx.db_out();
    let Some(mut value) = db.modify(key, "") else {
        return Err(CmdError::nogroup_key(key, name, ""));
    };
    let stream = stream_mut(&mut value)?;
    let mut groups = std::mem::take(&mut stream.groups);
    let stream: &Stream = stream;
    let mut changes = 0;
    let mut created = false;
    let mut setid = None;
    if let Some(group) = groups.get_mut(name) {
        let mut propagate_last = false;
        if last_id > group.last_id {
            group.last_id = last_id;
            propagate_last = true;
        }
        let at = out.defer();
        let mut len = 0;
        let mut have_consumer = false;
        for (id, arg) in ids {
            let entry = stream.get(id);
            let Some(entry) = entry else {
                if let Some(nack) = group.pel.get(&id) {
                    props.push(Prop::Xclaim(
                        id,
                        nack.consumer.clone(),
                        nack.delivery_time,
                        nack.delivery_count,
                        group.last_id,
                    ));
                    prop_ids.push(arg);
                    propagate_last = false;
                    changes += 1;
                    group.ack(id);
                }
                continue;
            };
            let existing = group
                .pel
                .get(&id)
                .map(|n| (n.delivery_time, n.delivery_count));
            let (old_time, old_count, forced) = match existing {
                Some((t, c)) => (t, c, false),
                // A forced pending entry starts as delivered once.
                None if force => (now as u64, 1, true),
                None => continue,
            };
            if !forced && min_idle > 0 && now.wrapping_sub(old_time as i64) < min_idle {
                continue;
            }
            if !have_consumer {
                have_consumer = true;
                created = seen(group, consumer, now.max(0) as u64);
            }
            let count = if retry >= 0 {
                retry as u64
            } else if !justid {
                old_count.wrapping_add(1)
            } else {
                old_count
            };
            group.assign(id, consumer, time, count);
            if justid {
                reply_id(out, id);
            } else {
                reply_entry(out, &entry);
            }
            len += 1;
            props.push(Prop::Xclaim(
                id,
                Bytes::from(consumer),
                time,
                count,
                group.last_id,
            ));
            prop_ids.push(arg);
            propagate_last = false;
            changes += 1;
        }
        if propagate_last {
            setid = Some((group.last_id, group.entries_read));
            changes += 1;
        }
        fill_array(out, at, len);
    }
    let stream = stream_mut(&mut value)?;
    stream.groups = groups;
    value.changed(changes);
    drop(value);
    if created {
        db.note(key, "xgroup-createconsumer");
    }
    let journal = db.journal();
    for (p, arg) in props.into_iter().zip(prop_ids) {
        if let Prop::Xclaim(_, who, time, count, last) = p {
            propagate_xclaim(
                journal,
                db_index,
                key,
                name,
                &who,
                args.get(arg),
                time,
                count,
                last,
            );
        }
    }
    if let Some((last, read)) = setid {
        propagate_setid(journal, db_index, key, name, last, read);
    }
    journal.prevent_propagation();
    Ok(())
}

/// Redis's consumer lookup for a command that acts as it: its seen time
/// refreshed, or it is created; whether it was created.
fn seen(group: &mut Group, consumer: &[u8], now: u64) -> bool {
    if group.consumer_or_create(consumer, now) {
        return true;
    }
    if let Some(c) = group.consumers.get_mut(consumer) {
        c.seen_time = now;
    }
    false
}

/// Whether `key` holds a stream with the group `name` (WRONGTYPE for
/// another type), looked up as a read.
fn has_group(ctx: &mut Ctx, key: &[u8], name: &[u8]) -> Result<bool, CmdError> {
    Ok(as_stream(ctx.read(key).0)?.is_some_and(|s| s.groups.contains_key(name)))
}

fn xautoclaim(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (key, name, consumer) = (args.get(1), args.get(2), args.get(3));
    let min_idle = int_or(args.get(4), SE::MinIdleXautoclaim)?.max(0);
    let start = interval_id(args.get(5), 0, true)?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let opt = args.get(j);
        if is(opt, "count") && more > 0 {
            let max = i64::MAX / 16;
            count = match parse_i64(args.get(j + 1)) {
                Some(n) if (1..=max).contains(&n) => n,
                _ => return Err(CmdError::Stream(SE::CountPositive)),
            };
            j += 1;
        } else if is(opt, "justid") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if !has_group(ctx, key, name)? {
        return Err(CmdError::nogroup_key(key, name, ""));
    }
    let now = ctx.now_ms as i64;
    let db_index = ctx.db_index();
    let mut props: Vec<Prop> = Vec::new();
    let (mut db, out) = ctx.db_out();
    let Some(mut value) = db.modify(key, "") else {
        return Err(CmdError::nogroup_key(key, name, ""));
    };
    let stream = stream_mut(&mut value)?;
    let mut groups = std::mem::take(&mut stream.groups);
    let stream: &Stream = stream;
    let mut changes = 0;
    let mut created = false;
    if let Some(group) = groups.get_mut(name) {
        let mut attempts = count.saturating_mul(10);
        let mut cursor = Some(start);
        let mut deleted = Vec::new();
        out.array(3);
        let next_at = out.defer();
        let at = out.defer();
        let mut len = 0;
        let mut have_consumer = false;
        loop {
            if attempts == 0 {
                break;
            }
            attempts -= 1;
            if count == 0 {
                break;
            }
            let Some(from) = cursor else {
                break;
            };
            let Some((&id, nack)) = group.pel.range(from..).next() else {
                cursor = None;
                break;
            };
            cursor = id.incr();
            let entry = stream.get(id);
            let Some(entry) = entry else {
                props.push(Prop::Xclaim(
                    id,
                    nack.consumer.clone(),
                    nack.delivery_time,
                    nack.delivery_count,
                    group.last_id,
                ));
                changes += 1;
                group.ack(id);
                deleted.push(id);
                count -= 1;
                continue;
            };
            if min_idle > 0 && now.wrapping_sub(nack.delivery_time as i64) < min_idle {
                continue;
            }
            let old_count = nack.delivery_count;
            if !have_consumer {
                have_consumer = true;
                created = seen(group, consumer, now.max(0) as u64);
            }
            let new_count = if justid {
                old_count
            } else {
                old_count.wrapping_add(1)
            };
            group.assign(id, consumer, now as u64, new_count);
            if justid {
                reply_id(out, id);
            } else {
                reply_entry(out, &entry);
            }
            len += 1;
            count -= 1;
            props.push(Prop::Xclaim(
                id,
                Bytes::from(consumer),
                now as u64,
                new_count,
                group.last_id,
            ));
            changes += 1;
        }
        let next = cursor
            .and_then(|from| group.pel.range(from..).next().map(|(id, _)| *id))
            .unwrap_or(StreamId::MIN);
        fill_array(out, at, len);
        let mut tmp = Reply::new(out.proto);
        reply_id(&mut tmp, next);
        out.insert_at(next_at, &tmp.take_bytes());
        out.array(deleted.len());
        for id in deleted {
            reply_id(out, id);
        }
    }
    let stream = stream_mut(&mut value)?;
    stream.groups = groups;
    value.changed(changes);
    drop(value);
    if created {
        db.note(key, "xgroup-createconsumer");
    }
    let journal = db.journal();
    for p in props {
        if let Prop::Xclaim(id, who, time, count, last) = p {
            propagate_xclaim(
                journal,
                db_index,
                key,
                name,
                &who,
                &id.to_bytes(),
                time,
                count,
                last,
            );
        }
    }
    journal.prevent_propagation();
    Ok(())
}

// ------------------------------------------------------------ XINFO

fn xinfo(ctx: &mut Ctx, args: Args) -> CmdResult {
    let sub = args.get(1);
    if is(sub, "help") {
        if args.len() != 2 {
            return Err(CmdError::subcommand_syntax(sub, "xinfo"));
        }
        super::server::help_reply(
            ctx.out(),
            "xinfo",
            &[
                "CONSUMERS <key> <groupname>",
                "    Show consumers of <groupname>.",
                "GROUPS <key>",
                "    Show the stream consumer groups.",
                "STREAM <key> [FULL [COUNT <count>]",
                "    Show information about the stream.",
            ],
        );
        return Ok(());
    }
    if args.len() < 3 {
        return Err(CmdError::subcommand_syntax(sub, "xinfo"));
    }
    let key = args.get(2);
    let now = ctx.now_ms as i64;
    let (value, out) = ctx.read(key);
    let Some(stream) = as_stream(value)? else {
        return Err(CmdError::NoSuchKey);
    };
    if is(sub, "consumers") && args.len() == 4 {
        let Some(group) = stream.groups.get(args.get(3)) else {
            return Err(CmdError::nogroup_for_key(args.get(3), key));
        };
        out.array(group.consumers.len());
        for (name, c) in &group.consumers {
            out.map(3);
            out.bulk(b"name");
            out.bulk(name);
            out.bulk(b"pending");
            out.int(c.pel.len() as i64);
            out.bulk(b"idle");
            out.int(now.wrapping_sub(c.seen_time as i64).max(0));
        }
        return Ok(());
    }
    if is(sub, "groups") && args.len() == 3 {
        out.array(stream.groups.len());
        for (name, g) in &stream.groups {
            out.map(6);
            out.bulk(b"name");
            out.bulk(name);
            out.bulk(b"consumers");
            out.int(g.consumers.len() as i64);
            out.bulk(b"pending");
            out.int(g.pel.len() as i64);
            out.bulk(b"last-delivered-id");
            reply_id(out, g.last_id);
            reply_group_counters(out, stream, g);
        }
        return Ok(());
    }
    if is(sub, "stream") {
        return xinfo_stream(out, stream, &args);
    }
    Err(CmdError::subcommand_syntax(sub, "xinfo"))
}

/// A group's `entries-read` and `lag` pairs.
fn reply_group_counters(out: &mut Reply, stream: &Stream, g: &Group) {
    out.bulk(b"entries-read");
    if g.entries_read != ENTRIES_READ_INVALID {
        out.int(g.entries_read);
    } else {
        out.null();
    }
    out.bulk(b"lag");
    match stream.lag(g) {
        Some(lag) => out.int(lag),
        None => out.null(),
    }
}

fn xinfo_stream(out: &mut Reply, s: &Stream, args: &Args) -> CmdResult {
    let sub = args.get(1);
    let opts = args.len() - 3;
    let mut count: i64 = 10;
    let full = opts > 0;
    if full {
        if (opts != 1 && opts != 3) || !is(args.get(3), "full") {
            return Err(CmdError::subcommand_syntax(sub, "xinfo"));
        }
        if opts == 3 {
            if !is(args.get(4), "count") {
                return Err(CmdError::subcommand_syntax(sub, "xinfo"));
            }
            count = int_arg(args.get(5))?;
            if count < 0 {
                count = 10;
            }
        }
    }
    out.map(if full { 9 } else { 10 });
    out.bulk(b"length");
    out.int(s.len as i64);
    out.bulk(b"radix-tree-keys");
    out.int(s.node_count() as i64);
    out.bulk(b"radix-tree-nodes");
    out.int(s.rax_nodes() as i64);
    out.bulk(b"last-generated-id");
    reply_id(out, s.last_id);
    out.bulk(b"max-deleted-entry-id");
    reply_id(out, s.max_deleted);
    out.bulk(b"entries-added");
    out.int(s.entries_added as i64);
    out.bulk(b"recorded-first-entry-id");
    reply_id(out, s.first_id);
    if !full {
        out.bulk(b"groups");
        out.int(s.groups.len() as i64);
        out.bulk(b"first-entry");
        match s.range(StreamId::MIN, StreamId::MAX, false).next() {
            Some(e) => reply_entry(out, &e),
            None => out.null(),
        }
        out.bulk(b"last-entry");
        match s.range(StreamId::MIN, StreamId::MAX, true).next() {
            Some(e) => reply_entry(out, &e),
            None => out.null(),
        }
        return Ok(());
    }
    let limit = if count == 0 {
        usize::MAX
    } else {
        count as usize
    };
    out.bulk(b"entries");
    let at = out.defer();
    let mut n = 0;
    for e in s.range(StreamId::MIN, StreamId::MAX, false).take(limit) {
        reply_entry(out, &e);
        n += 1;
    }
    fill_array(out, at, n);
    out.bulk(b"groups");
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(7);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"last-delivered-id");
        reply_id(out, g.last_id);
        reply_group_counters(out, s, g);
        out.bulk(b"pel-count");
        out.int(g.pel.len() as i64);
        out.bulk(b"pending");
        let pending: Vec<_> = g.pel.iter().take(limit).collect();
        out.array(pending.len());
        for (id, nack) in pending {
            out.array(4);
            reply_id(out, *id);
            out.bulk(&nack.consumer);
            out.int(nack.delivery_time as i64);
            out.int(nack.delivery_count as i64);
        }
        out.bulk(b"consumers");
        out.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            out.map(4);
            out.bulk(b"name");
            out.bulk(cname);
            out.bulk(b"seen-time");
            out.int(c.seen_time as i64);
            out.bulk(b"pel-count");
            out.int(c.pel.len() as i64);
            out.bulk(b"pending");
            let ids: Vec<_> = c.pel.iter().take(limit).collect();
            out.array(ids.len());
            for id in ids {
                out.array(3);
                reply_id(out, *id);
                let nack = g.pel.get(id);
                out.int(nack.map_or(0, |n| n.delivery_time as i64));
                out.int(nack.map_or(0, |n| n.delivery_count as i64));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_as_redis_reads_them() {
        let p = |s: &str| parse_id_full(s.as_bytes(), 0, false, true).ok();
        assert_eq!(p("1-2"), Some((StreamId::new(1, 2), true)));
        assert_eq!(p("5"), Some((StreamId::new(5, 0), true)));
        assert_eq!(p("5-*"), Some((StreamId::new(5, 0), false)));
        assert_eq!(p("-"), Some((StreamId::MIN, true)));
        assert_eq!(p("+"), Some((StreamId::MAX, true)));
        assert_eq!(p("-1"), None);
        // A strict negative number is refused, not wrapped.
        assert_eq!(p("1--1"), None);
        assert_eq!(p("1-+2"), Some((StreamId::new(1, 2), true)));
        assert_eq!(p(" 7-08"), Some((StreamId::new(7, 8), true)));
        assert_eq!(p("18446744073709551616"), None);
        assert_eq!(p(""), None);
        assert_eq!(p("a"), None);
        let mut buf = [0; 41];
        assert_eq!(
            id_text(StreamId::MAX, &mut buf),
            b"18446744073709551615-18446744073709551615"
        );
        assert_eq!(id_text(StreamId::new(0, 0), &mut buf), b"0-0");
    }
}
