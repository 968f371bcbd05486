//! RDB files, format version 10, as Redis 7.0 writes and reads them.
//!
//! A file is `REDIS0010`, then a sequence of opcodes and keys, then the
//! EOF opcode and a CRC-64 of everything before it:
//!
//! ```text
//! AUX key value ...            (250, two strings)
//! SELECTDB n  RESIZEDB k e     (254 len, 251 len len)
//! [EXPIRETIME_MS t] type key value ...
//! EOF crc64                    (255, 8 bytes little-endian)
//! ```
//!
//! Writing is streaming-friendly: every writer appends to a `Vec<u8>` the
//! caller flushes when it likes; the caller keeps the running [`crc64`]
//! of what it flushed and hands it to [`write_end`].
//!
//! Values are written in the encoding Redis 7.0 would use for the same
//! rizzler value, so redis-server loads them with the same OBJECT
//! ENCODING. Loading ([`load`], [`read_value`]) reads every type Redis 7.0
//! reads except streams and module values (refused with a reason naming
//! them), and builds each value through the store's own insertion code,
//! so its encoding is the one rizzler would have built.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;

use super::lzf;
use super::packed::{self, Elem, ListpackWriter};
use crate::commands::strtod_whole;
use crate::resp::{format_g17, format_int, parse_i64};
use crate::store::encoding::limits;
use crate::store::stream::Group;
use crate::store::{Bytes, Db, Hash, Set, Str, Stream, StreamId, Value, ZSet};

pub use super::crc64::crc64;

/// The format version written (and the newest read).
pub const RDB_VERSION: u16 = 10;

// Value types (rdb.h `RDB_TYPE_*`).
const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_ZSET: u8 = 3;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;
const TYPE_MODULE: u8 = 6;
const TYPE_MODULE_2: u8 = 7;
const TYPE_HASH_ZIPMAP: u8 = 9;
const TYPE_LIST_ZIPLIST: u8 = 10;
const TYPE_SET_INTSET: u8 = 11;
const TYPE_ZSET_ZIPLIST: u8 = 12;
const TYPE_HASH_ZIPLIST: u8 = 13;
const TYPE_LIST_QUICKLIST: u8 = 14;
const TYPE_STREAM_LISTPACKS: u8 = 15;
const TYPE_HASH_LISTPACK: u8 = 16;
const TYPE_ZSET_LISTPACK: u8 = 17;
const TYPE_LIST_QUICKLIST_2: u8 = 18;
const TYPE_STREAM_LISTPACKS_2: u8 = 19;

// Opcodes (rdb.h `RDB_OPCODE_*`).
const OP_FUNCTION2: u8 = 245;
const OP_FUNCTION: u8 = 246;
const OP_MODULE_AUX: u8 = 247;
const OP_IDLE: u8 = 248;
const OP_FREQ: u8 = 249;
const OP_AUX: u8 = 250;
const OP_RESIZEDB: u8 = 251;
const OP_EXPIRETIME_MS: u8 = 252;
const OP_EXPIRETIME: u8 = 253;
const OP_SELECTDB: u8 = 254;
const OP_EOF: u8 = 255;

// Length encodings (the two high bits of the first byte).
const LEN_6BIT: u8 = 0;
const LEN_14BIT: u8 = 1;
const LEN_32BIT: u8 = 0x80;
const LEN_64BIT: u8 = 0x81;
const LEN_ENCVAL: u8 = 3;
// Special string encodings, after `LEN_ENCVAL`.
const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

// Quicklist node containers.
const QUICKLIST_PLAIN: u64 = 1;
const QUICKLIST_PACKED: u64 = 2;
/// Redis's default `list-max-listpack-size -2`: listpack nodes up to 8 KiB.
const QUICKLIST_NODE_BYTES: usize = 8192;
/// Quicklist's estimate of an entry's overhead when deciding whether it
/// fits a node (`SIZE_ESTIMATE_OVERHEAD`).
const QUICKLIST_ENTRY_OVERHEAD: usize = 8;
/// Elements this large get a node of their own, stored plain
/// (quicklist's `packed_threshold`, 1 GiB).
const QUICKLIST_PLAIN_THRESHOLD: usize = 1 << 30;

/// A file (or value) Redis would refuse, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbError {
    /// The byte offset where the problem was found.
    pub offset: usize,
    pub reason: String,
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bad RDB at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for RdbError {}

// ---------------------------------------------------------------- writing

/// `rdbSaveLen`.
fn write_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8 | LEN_6BIT << 6);
    } else if len < 1 << 14 {
        out.push((len >> 8) as u8 | LEN_14BIT << 6);
        out.push(len as u8);
    } else if let Ok(len) = u32::try_from(len) {
        out.push(LEN_32BIT);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(LEN_64BIT);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// `rdbSaveRawString`: an integer encoding when `s` is a canonical
/// integer that fits 32 bits, else LZF when longer than 20 bytes and
/// compression saves at least four, else verbatim.
fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(v) = parse_i64(s) {
            if let Ok(v) = i8::try_from(v) {
                out.extend_from_slice(&[LEN_ENCVAL << 6 | ENC_INT8, v as u8]);
                return;
            } else if let Ok(v) = i16::try_from(v) {
                out.push(LEN_ENCVAL << 6 | ENC_INT16);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            } else if let Ok(v) = i32::try_from(v) {
                out.push(LEN_ENCVAL << 6 | ENC_INT32);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            }
        }
    }
    if s.len() > 20 {
        if let Some(packed) = lzf::compress(s, s.len() - 4) {
            out.push(LEN_ENCVAL << 6 | ENC_LZF);
            write_len(out, packed.len() as u64);
            write_len(out, s.len() as u64);
            out.extend_from_slice(&packed);
            return;
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// The magic and version, then one AUX field per `(key, value)`. Redis
/// writes `redis-ver`, `redis-bits`, `ctime`, `used-mem` and `aof-base`;
/// numbers are passed as their decimal text and written with the integer
/// encodings, as Redis does.
pub fn write_header(out: &mut Vec<u8>, aux: &[(&str, &[u8])]) {
    out.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
    for (key, value) in aux {
        write_aux(out, key, value);
    }
}

/// One AUX field.
pub fn write_aux(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    out.push(OP_AUX);
    write_string(out, key.as_bytes());
    write_string(out, value);
}

/// Starts database `db`, with its key and TTL counts as the resize hint.
pub fn write_select_db(out: &mut Vec<u8>, db: usize, keys: usize, expires: usize) {
    out.push(OP_SELECTDB);
    write_len(out, db as u64);
    out.push(OP_RESIZEDB);
    write_len(out, keys as u64);
    write_len(out, expires as u64);
}

/// One key: its expiry time (Unix ms) if it has one, then its value
/// (never an empty collection: the store holds none, and Redis refuses an
/// empty intset).
pub fn write_entry(out: &mut Vec<u8>, key: &[u8], value: &Value, expire_at_ms: Option<u64>) {
    if let Some(at) = expire_at_ms {
        out.push(OP_EXPIRETIME_MS);
        out.extend_from_slice(&at.to_le_bytes());
    }
    write_type(out, value);
    write_string(out, key);
    write_payload(out, value);
}

/// A value's type byte then its payload: a key's value in a file, and
/// the body of a DUMP payload.
pub fn write_value(out: &mut Vec<u8>, value: &Value) {
    write_type(out, value);
    write_payload(out, value);
}

fn write_type(out: &mut Vec<u8>, value: &Value) {
    out.push(match value {
        Value::Str(_) => TYPE_STRING,
        Value::List(_) => TYPE_LIST_QUICKLIST_2,
        Value::Set(Set::Ints(_)) => TYPE_SET_INTSET,
        Value::Set(Set::Table(_)) => TYPE_SET,
        Value::Hash(Hash::Pairs(_)) => TYPE_HASH_LISTPACK,
        Value::Hash(Hash::Table(_)) => TYPE_HASH,
        Value::Zset(z) if z.is_listpack() => TYPE_ZSET_LISTPACK,
        Value::Zset(_) => TYPE_ZSET_2,
        Value::Stream(_) => TYPE_STREAM_LISTPACKS_2,
    });
}

fn write_payload(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Str(s) => write_string(out, &s.data),
        Value::List(list) => write_quicklist(out, list),
        Value::Set(Set::Ints(ints)) => write_string(out, &packed::intset(ints)),
        Value::Set(Set::Table(members)) => {
            write_len(out, members.len() as u64);
            for m in members.iter() {
                write_string(out, m);
            }
        }
        Value::Hash(Hash::Pairs(pairs)) => {
            let mut lp = ListpackWriter::default();
            for (f, v) in pairs {
                lp.push(f);
                lp.push(v);
            }
            write_string(out, &lp.finish());
        }
        Value::Hash(hash @ Hash::Table(_)) => {
            write_len(out, hash.len() as u64);
            for (f, v) in hash.iter() {
                write_string(out, f);
                write_string(out, v);
            }
        }
        Value::Zset(z) if z.is_listpack() => {
            let mut lp = ListpackWriter::default();
            for item in z.iter() {
                lp.push(&item.member);
                match score_as_int(item.score) {
                    Some(n) => lp.push_int(n),
                    None => lp.push(score_text(item.score).as_bytes()),
                }
            }
            write_string(out, &lp.finish());
        }
        Value::Zset(z) => {
            write_len(out, z.len() as u64);
            // Highest first, as Redis does (walking its skip list back).
            let last = z.len().saturating_sub(1);
            for item in z.iter_down_from(last) {
                write_string(out, &item.member);
                out.extend_from_slice(&item.score.to_le_bytes());
            }
        }
        Value::Stream(s) => write_stream(out, s),
    }
}

/// A stream as Redis 7.0's `RDB_TYPE_STREAM_LISTPACKS_2`: each node as
/// the listpack Redis would hold (master entry, then every entry with its
/// flags, ID deltas and lp-count), the metadata, then the groups with
/// their PELs and consumers.
fn write_stream(out: &mut Vec<u8>, s: &Stream) {
    write_len(out, s.node_count() as u64);
    s.for_each_node(|master, fields, node| {
        write_string(out, &master.encode());
        let mut lp = ListpackWriter::default();
        lp.push_int(i64::from(node.live()));
        lp.push_int(i64::from(node.deleted()));
        lp.push_int(fields.len() as i64);
        for f in fields {
            lp.push(f);
        }
        lp.push_int(0);
        for (id, deleted, same, entry) in node.entries() {
            let flags = i64::from(deleted) | if same { 2 } else { 0 };
            lp.push_int(flags);
            lp.push_int(id.ms.wrapping_sub(master.ms) as i64);
            lp.push_int(id.seq.wrapping_sub(master.seq) as i64);
            let n = entry.num_fields();
            if !same {
                lp.push_int(n as i64);
            }
            for (f, v) in entry.fields() {
                if !same {
                    lp.push(f);
                }
                lp.push(v);
            }
            let lp_count = 3 + n + if same { 0 } else { n + 1 };
            lp.push_int(lp_count as i64);
        }
        write_string(out, &lp.finish());
    });
    write_len(out, s.len);
    for id in [s.last_id, s.first_id, s.max_deleted] {
        write_len(out, id.ms);
        write_len(out, id.seq);
    }
    write_len(out, s.entries_added);
    write_len(out, s.groups.len() as u64);
    for (name, g) in &s.groups {
        write_string(out, name);
        write_len(out, g.last_id.ms);
        write_len(out, g.last_id.seq);
        write_len(out, g.entries_read as u64);
        write_len(out, g.pel.len() as u64);
        for (id, nack) in &g.pel {
            out.extend_from_slice(&id.encode());
            out.extend_from_slice(&nack.delivery_time.to_le_bytes());
            write_len(out, nack.delivery_count);
        }
        write_len(out, g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            write_string(out, cname);
            out.extend_from_slice(&c.seen_time.to_le_bytes());
            write_len(out, c.pel.len() as u64);
            for id in &c.pel {
                out.extend_from_slice(&id.encode());
            }
        }
    }
}

/// An integer element of a stream listpack (Redis reads them with
/// `lpGetInteger`, which also takes a string holding one).
fn lp_int(e: Option<&Elem>) -> std::result::Result<i64, &'static str> {
    match e {
        Some(Elem::Int(n)) => Ok(*n),
        Some(Elem::Str(s)) => parse_i64(s).ok_or("stream listpack: integer expected"),
        None => Err("stream listpack ends inside an entry"),
    }
}

/// One stream node's listpack, validated as Redis's
/// `streamValidateListpackIntegrity` checks it, into the stream.
fn read_stream_node(
    s: &mut Stream,
    master: StreamId,
    elems: &[Elem],
) -> std::result::Result<(), &'static str> {
    let mut it = elems.iter();
    let mut next = || it.next();
    let live = lp_int(next())?;
    let deleted = lp_int(next())?;
    let nfields = lp_int(next())?;
    if !(0..=elems.len() as i64).contains(&nfields) {
        return Err("stream listpack: bad master field count");
    }
    let mut owned: Vec<Bytes> = Vec::new();
    for _ in 0..nfields {
        owned.push(
            next()
                .ok_or("stream listpack ends in the master entry")?
                .to_bytes(),
        );
    }
    if lp_int(next())? != 0 {
        return Err("stream listpack: master entry not terminated");
    }
    let mut raw: Vec<(StreamId, bool, Vec<Bytes>)> = Vec::new();
    while let Some(first) = next() {
        let flags = lp_int(Some(first))?;
        let ms = lp_int(next())?;
        let seq = lp_int(next())?;
        let id = StreamId::new(
            master.ms.wrapping_add(ms as u64),
            master.seq.wrapping_add(seq as u64),
        );
        let same = flags & 2 != 0;
        let n = if same { nfields } else { lp_int(next())? };
        if !(0..=elems.len() as i64).contains(&n) {
            return Err("stream listpack: bad field count");
        }
        let mut pairs = Vec::with_capacity(n as usize * 2);
        let mut master = owned.iter();
        for _ in 0..n {
            if same {
                pairs.push(master.next().cloned().unwrap_or_default());
            } else {
                pairs.push(next().ok_or("stream listpack ends in an entry")?.to_bytes());
            }
            pairs.push(next().ok_or("stream listpack ends in an entry")?.to_bytes());
        }
        let lp_count = lp_int(next())?;
        if lp_count != 3 + n + if same { 0 } else { n + 1 } {
            return Err("stream listpack: lp-count does not match the entry");
        }
        raw.push((id, flags & 1 != 0, pairs));
    }
    let dead = raw.iter().filter(|e| e.1).count() as i64;
    if dead != deleted || raw.len() as i64 - dead != live {
        return Err("stream listpack: entry counts do not match");
    }
    let fields: Vec<&[u8]> = owned.iter().map(|f| &f[..]).collect();
    let entries: Vec<(StreamId, bool, Vec<&[u8]>)> = raw
        .iter()
        .map(|(id, d, pairs)| (*id, *d, pairs.iter().map(|p| &p[..]).collect()))
        .collect();
    s.load_node(master, &fields, &entries)
}

/// `rdbLoadObject` for RDB_TYPE_STREAM_LISTPACKS (15) and _2 (19).
fn read_stream(cur: &mut Cursor, kind: u8) -> Result<Value> {
    let mut s = Stream::new();
    let nodes = cur.count(2)?;
    for _ in 0..nodes {
        let at = cur.pos;
        let key = cur.string()?;
        let master = StreamId::decode(&key)
            .filter(|_| key.len() == 16)
            .ok_or_else(|| at_err(at, "stream node key is not the size of a stream ID"))?;
        let at = cur.pos;
        let lp = cur.string()?;
        let elems = packed::listpack_entries(&lp).map_err(|e| at_err(at, e))?;
        if elems.is_empty() {
            return Err(at_err(at, "empty listpack inside stream"));
        }
        read_stream_node(&mut s, master, &elems).map_err(|e| at_err(at, e))?;
    }
    let at = cur.pos;
    let len = cur.length()?;
    if len != s.len {
        return Err(at_err(at, "stream length does not match its entries"));
    }
    s.last_id = StreamId::new(cur.length()?, cur.length()?);
    if kind == TYPE_STREAM_LISTPACKS_2 {
        s.first_id = StreamId::new(cur.length()?, cur.length()?);
        s.max_deleted = StreamId::new(cur.length()?, cur.length()?);
        s.entries_added = cur.length()?;
    } else {
        s.entries_added = s.len;
        s.first_id = s.first_entry_id(false).unwrap_or(StreamId::MIN);
    }
    if s.last_valid_id().is_some_and(|max| max > s.last_id) {
        return Err(at_err(at, "stream last ID below its entries"));
    }
    let groups = cur.count(3)?;
    for _ in 0..groups {
        let at = cur.pos;
        let name = cur.bytes()?;
        let last = StreamId::new(cur.length()?, cur.length()?);
        let read = if kind == TYPE_STREAM_LISTPACKS_2 {
            cur.length()? as i64
        } else {
            s.estimate_distance(last)
        };
        if s.groups.contains_key(&name) {
            return Err(at_err(at, "duplicated consumer group name"));
        }
        let mut g = Group::new(last, read);
        let pel = cur.count(17)?;
        let mut nacks = std::collections::BTreeMap::new();
        for _ in 0..pel {
            let at = cur.pos;
            let id = StreamId::decode(&cur.array::<16>()?).unwrap_or_default();
            let time = u64::from_le_bytes(cur.array()?);
            let count = cur.length()?;
            if nacks.insert(id, (time, count, false)).is_some() {
                return Err(at_err(at, "duplicated global PEL entry"));
            }
        }
        let consumers = cur.count(10)?;
        for _ in 0..consumers {
            let at = cur.pos;
            let cname = cur.bytes()?;
            let seen = u64::from_le_bytes(cur.array()?);
            if !g.consumer_or_create(&cname, seen) {
                return Err(at_err(at, "duplicate stream consumer"));
            }
            let owned = cur.count(16)?;
            for _ in 0..owned {
                let at = cur.pos;
                let id = StreamId::decode(&cur.array::<16>()?).unwrap_or_default();
                let Some(nack) = nacks.get_mut(&id).filter(|n| !n.2) else {
                    return Err(at_err(at, "consumer PEL entry not in the group PEL"));
                };
                nack.2 = true;
                g.assign(id, &cname, nack.0, nack.1);
            }
        }
        if nacks.values().any(|n| !n.2) {
            return Err(at_err(at, "group PEL entry without a consumer"));
        }
        s.groups.insert(name, g);
    }
    Ok(Value::Stream(Box::new(s)))
}

/// Redis's `double2ll`: a score a listpack stores as an integer (`-0`
/// included, as 0).
fn score_as_int(d: f64) -> Option<i64> {
    const HALF: f64 = (i64::MAX / 2) as f64;
    if !(-HALF..=HALF).contains(&d) {
        return None;
    }
    let n = d as i64;
    (n as f64 == d).then_some(n)
}

/// Redis's `d2string` for a score that is not a small integer.
fn score_text(d: f64) -> String {
    if d.is_infinite() {
        if d > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format_g17(d)
    }
}

/// A list as quicklist nodes: listpacks filled as Redis's
/// `_quicklistNodeAllowInsert` fills them at the default size limit.
fn write_quicklist(out: &mut Vec<u8>, list: &VecDeque<Bytes>) {
    enum Node<'a> {
        Packed(ListpackWriter),
        Plain(&'a [u8]),
    }
    let mut nodes: Vec<Node> = Vec::new();
    for e in list {
        if e.len() >= QUICKLIST_PLAIN_THRESHOLD {
            nodes.push(Node::Plain(e));
            continue;
        }
        match nodes.last_mut() {
            Some(Node::Packed(lp))
                if lp.total_bytes() + e.len() + QUICKLIST_ENTRY_OVERHEAD
                    <= QUICKLIST_NODE_BYTES =>
            {
                lp.push(e)
            }
            _ => {
                let mut lp = ListpackWriter::default();
                lp.push(e);
                nodes.push(Node::Packed(lp));
            }
        }
    }
    write_len(out, nodes.len() as u64);
    for node in nodes {
        match node {
            Node::Packed(lp) => {
                write_len(out, QUICKLIST_PACKED);
                write_string(out, &lp.finish());
            }
            Node::Plain(e) => {
                write_len(out, QUICKLIST_PLAIN);
                write_string(out, e);
            }
        }
    }
}

/// Ends the file: the EOF opcode and the checksum. `crc_so_far` is the
/// [`crc64`] of every byte of the file already flushed out of `out` (0
/// when `out` holds the whole file); the checksum covers those, what
/// `out` holds now and the EOF byte. Returns the checksum written.
pub fn write_end(out: &mut Vec<u8>, crc_so_far: u64) -> u64 {
    out.push(OP_EOF);
    let crc = crc64(crc_so_far, out);
    out.extend_from_slice(&crc.to_le_bytes());
    crc
}

/// A whole file for `dbs` (every key, expired ones included, as Redis's
/// SAVE writes them), in one buffer.
pub fn dump(dbs: &[Db], aux: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    write_header(&mut out, aux);
    for (index, db) in dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        write_select_db(&mut out, index, db.len(), db.expires_len());
        for entry in db.entries() {
            write_entry(&mut out, &entry.key, &entry.value, entry.expire_at());
        }
    }
    write_end(&mut out, 0);
    out
}

// ---------------------------------------------------------------- reading

/// One key read from a file.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub db: usize,
    pub key: Bytes,
    pub value: Value,
    /// Unix time in ms (0 for a time before 1970).
    pub expire_at_ms: Option<u64>,
    /// The LRU idle time in seconds (files saved under an LRU policy).
    pub idle_secs: Option<u64>,
    /// The LFU counter (files saved under an LFU policy).
    pub freq: Option<u8>,
    /// On the first key after a RESIZEDB: how many keys its database
    /// says it holds (a hint, capped by the bytes left in the file), so
    /// the caller can size its table once instead of growing it.
    pub db_keys_hint: Option<u64>,
}

/// What a successful load saw besides the keys.
#[derive(Debug, Clone, Default)]
pub struct LoadSummary {
    pub version: u16,
    /// The AUX fields, in file order.
    pub aux: Vec<(Bytes, Bytes)>,
    /// Keys handed to the callback.
    pub keys: u64,
    /// Empty collections skipped (Redis skips them with a warning).
    pub empty_keys_skipped: u64,
    /// The checksum the file carries; `None` for a version without one
    /// or a file saved with checksums off (a zero checksum).
    pub checksum: Option<u64>,
    /// Where the RDB part ends (an AOF with an RDB preamble goes on).
    pub end: usize,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

type Result<T> = std::result::Result<T, RdbError>;

/// A length field: a plain length or a special string encoding.
enum Len {
    Plain(u64),
    Encoded(u8),
}

impl<'a> Cursor<'a> {
    fn err(&self, reason: impl Into<String>) -> RdbError {
        RdbError {
            offset: self.pos,
            reason: reason.into(),
        }
    }

    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let bytes = self
            .data
            .get(self.pos..)
            .and_then(|rest| rest.get(..n))
            .ok_or_else(|| self.err("unexpected end of file"))?;
        self.pos += n;
        Ok(bytes)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn len_field(&mut self) -> Result<Len> {
        let first = self.u8()?;
        Ok(match first >> 6 {
            LEN_ENCVAL => Len::Encoded(first & 0x3f),
            LEN_6BIT => Len::Plain(u64::from(first & 0x3f)),
            LEN_14BIT => Len::Plain(u64::from(first & 0x3f) << 8 | u64::from(self.u8()?)),
            _ if first == LEN_32BIT => Len::Plain(u64::from(u32::from_be_bytes(self.array()?))),
            _ if first == LEN_64BIT => Len::Plain(u64::from_be_bytes(self.array()?)),
            _ => {
                self.pos -= 1;
                return Err(self.err(format!("unknown length encoding 0x{first:02x}")));
            }
        })
    }

    /// A length (a count or a size), never a special encoding.
    fn length(&mut self) -> Result<u64> {
        match self.len_field()? {
            Len::Plain(n) => Ok(n),
            Len::Encoded(_) => {
                self.pos -= 1;
                Err(self.err("a string encoding where a length belongs"))
            }
        }
    }

    /// A count of things that each take at least `min_bytes` bytes in
    /// the file: refused when the rest of the file cannot hold them, so a
    /// count can size an allocation.
    fn count(&mut self, min_bytes: usize) -> Result<usize> {
        let at = self.pos;
        let n = self.length()?;
        match usize::try_from(n) {
            Ok(n) if n.saturating_mul(min_bytes) <= self.remaining() => Ok(n),
            _ => Err(RdbError {
                offset: at,
                reason: format!("count {n} larger than the rest of the file"),
            }),
        }
    }

    /// `rdbGenericLoadStringObject`: a string in any of its encodings.
    fn string(&mut self) -> Result<Cow<'a, [u8]>> {
        let at = self.pos;
        match self.len_field()? {
            Len::Plain(n) => {
                let n = usize::try_from(n).map_err(|_| self.err("string length too large"))?;
                Ok(Cow::Borrowed(self.take(n)?))
            }
            Len::Encoded(enc) => {
                let v = match enc {
                    ENC_INT8 => i64::from(i8::from_le_bytes(self.array()?)),
                    ENC_INT16 => i64::from(i16::from_le_bytes(self.array()?)),
                    ENC_INT32 => i64::from(i32::from_le_bytes(self.array()?)),
                    ENC_LZF => {
                        let clen = self.length()?;
                        let len = self.length()?;
                        let clen =
                            usize::try_from(clen).map_err(|_| self.err("LZF length too large"))?;
                        let len =
                            usize::try_from(len).map_err(|_| self.err("LZF length too large"))?;
                        let start = self.pos;
                        let packed = self.take(clen)?;
                        return lzf::decompress(packed, len).map(Cow::Owned).map_err(|e| {
                            RdbError {
                                offset: start,
                                reason: format!("invalid LZF compressed string: {e}"),
                            }
                        });
                    }
                    _ => {
                        return Err(RdbError {
                            offset: at,
                            reason: format!("unknown string encoding {enc}"),
                        })
                    }
                };
                Ok(Cow::Owned(format_int(&mut [0; 20], v).to_vec()))
            }
        }
    }

    fn bytes(&mut self) -> Result<Bytes> {
        Ok(match self.string()? {
            Cow::Borrowed(b) => Bytes::from(b),
            Cow::Owned(v) => Bytes::from(v),
        })
    }

    /// `rdbLoadDoubleValue`: the text form of old sorted sets.
    fn text_double(&mut self) -> Result<f64> {
        match self.u8()? {
            255 => Ok(f64::NEG_INFINITY),
            254 => Ok(f64::INFINITY),
            253 => Ok(f64::NAN),
            n => {
                let text = self.take(usize::from(n))?;
                strtod_whole(text).ok_or_else(|| self.err("invalid score"))
            }
        }
    }
}

/// Loads a whole file, handing each key to `on_key` as it is read (the
/// caller inserts it, checks its database index and duplicate keys, drops
/// expired keys if it is a master, and may show progress). An error from
/// `on_key` stops the load and is returned with the key's offset.
///
/// Checks the magic, the version (1 to [`RDB_VERSION`]), every value, and
/// the checksum at the end (after the keys were handed over, as Redis
/// does; a zero checksum means "not computed" and is accepted).
pub fn load(
    data: &[u8],
    mut on_key: impl FnMut(Loaded) -> std::result::Result<(), String>,
) -> Result<LoadSummary> {
    let mut cur = Cursor { data, pos: 0 };
    let magic = cur.take(9).map_err(|_| RdbError {
        offset: 0,
        reason: "too short to be an RDB file".into(),
    })?;
    if &magic[..5] != b"REDIS" {
        return Err(RdbError {
            offset: 0,
            reason: "wrong signature (not an RDB file)".into(),
        });
    }
    let version = std::str::from_utf8(&magic[5..])
        .ok()
        .filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<u16>().ok())
        .filter(|&v| v >= 1)
        .ok_or_else(|| RdbError {
            offset: 5,
            reason: "invalid RDB format version".into(),
        })?;
    if version > RDB_VERSION {
        return Err(RdbError {
            offset: 5,
            reason: format!(
                "RDB format version {version} is newer than this server reads ({RDB_VERSION})"
            ),
        });
    }
    let mut resize_hint = None;
    let mut summary = LoadSummary {
        version,
        ..LoadSummary::default()
    };
    let mut db = 0usize;
    let (mut expire, mut idle, mut freq) = (None, None, None);
    loop {
        let op_at = cur.pos;
        let op = cur.u8()?;
        match op {
            OP_EXPIRETIME_MS => {
                let at = i64::from_le_bytes(cur.array()?);
                expire = Some(at.max(0) as u64);
            }
            OP_EXPIRETIME => {
                let at = i32::from_le_bytes(cur.array()?);
                expire = Some(i64::from(at).max(0) as u64 * 1000);
            }
            OP_FREQ => freq = Some(cur.u8()?),
            OP_IDLE => idle = Some(cur.length()?),
            OP_EOF => break,
            OP_SELECTDB => {
                let n = cur.length()?;
                db = usize::try_from(n).map_err(|_| RdbError {
                    offset: op_at,
                    reason: format!("database index {n} out of range"),
                })?;
            }
            OP_RESIZEDB => {
                let keys = cur.length()?;
                cur.length()?;
                // A key takes at least three bytes: a bigger claim lies.
                let left = (cur.data.len() - cur.pos) as u64 / 3;
                resize_hint = Some(keys.min(left));
            }
            OP_AUX => {
                let key = cur.bytes()?;
                let value = cur.bytes()?;
                summary.aux.push((key, value));
            }
            OP_MODULE_AUX => {
                return Err(RdbError {
                    offset: op_at,
                    reason: "module auxiliary data (opcode 247) is not supported".into(),
                })
            }
            // Function libraries: read by [`functions`] before the keys.
            OP_FUNCTION2 => {
                cur.string()?;
            }
            OP_FUNCTION => {
                return Err(RdbError {
                    offset: op_at,
                    reason: "pre-release functions format (opcode 246) is not supported".into(),
                })
            }
            kind => {
                let key = cur.bytes()?;
                let value = read_object(&mut cur, kind, op_at)?;
                let (expire_at_ms, idle_secs, freq) = (expire.take(), idle.take(), freq.take());
                let Some(value) = value else {
                    summary.empty_keys_skipped += 1;
                    continue;
                };
                on_key(Loaded {
                    db,
                    key,
                    value,
                    expire_at_ms,
                    idle_secs,
                    freq,
                    db_keys_hint: resize_hint.take(),
                })
                .map_err(|reason| RdbError {
                    offset: op_at,
                    reason,
                })?;
                summary.keys += 1;
            }
        }
    }
    if version >= 5 {
        let body = cur.pos;
        let stored = u64::from_le_bytes(cur.array()?);
        if stored != 0 {
            let computed = crc64(0, &data[..body]);
            if stored != computed {
                return Err(RdbError {
                    offset: body,
                    reason: format!(
                        "checksum mismatch (file says {stored:016x}, its content gives {computed:016x})"
                    ),
                });
            }
            summary.checksum = Some(stored);
        }
    }
    summary.end = cur.pos;
    Ok(summary)
}

/// Writes a function library (`RDB_OPCODE_FUNCTION2` and its code), as
/// Redis 7.0 writes each library before the databases.
pub fn write_function(out: &mut Vec<u8>, code: &[u8]) {
    out.push(OP_FUNCTION2);
    write_string(out, code);
}

/// The function libraries' code in an RDB file (or a FUNCTION DUMP
/// payload's body): read from the head of the file, where Redis writes
/// them, after the header's AUX fields. `data` starts at the first opcode.
pub fn functions(data: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut cur = Cursor { data, pos: 0 };
    let mut found = Vec::new();
    while cur.remaining() > 0 {
        match data[cur.pos] {
            OP_AUX => {
                cur.u8()?;
                cur.bytes()?;
                cur.bytes()?;
            }
            OP_FUNCTION2 => {
                cur.u8()?;
                found.push(cur.string()?.into_owned());
            }
            _ => break,
        }
    }
    Ok(found)
}

/// Where the AUX fields and function libraries at the head of `data` end.
pub fn functions_end(data: &[u8]) -> usize {
    let mut cur = Cursor { data, pos: 0 };
    while cur.remaining() > 0 {
        let at = cur.pos;
        let ok = match data[at] {
            OP_AUX => cur
                .u8()
                .and_then(|_| cur.bytes())
                .and_then(|_| cur.bytes())
                .is_ok(),
            OP_FUNCTION2 => cur.u8().and_then(|_| cur.string()).is_ok(),
            _ => false,
        };
        if !ok {
            return at;
        }
    }
    cur.pos
}

/// A value's type byte and payload (a DUMP payload without its version
/// and checksum footer), which must be all of `data`.
pub fn read_value(data: &[u8]) -> Result<Value> {
    let mut cur = Cursor { data, pos: 0 };
    let kind = cur.u8()?;
    let value = read_object(&mut cur, kind, 0)?.ok_or_else(|| RdbError {
        offset: 0,
        reason: "empty collection".into(),
    })?;
    if cur.remaining() != 0 {
        return Err(cur.err("trailing bytes after the value"));
    }
    Ok(value)
}

/// DUMP's payload (Redis's `createDumpPayload`): the value's type byte and
/// body, the RDB version (2 bytes) and a CRC-64 of all that (8 bytes),
/// both little-endian.
pub fn dump_payload(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_value(&mut out, value);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Why RESTORE refused a payload.
#[derive(Debug, PartialEq, Eq)]
pub enum PayloadError {
    /// Too short, from a newer RDB version, or its checksum is wrong
    /// (Redis's `verifyDumpPayload`).
    Footer,
    /// The footer is right but the value is not one Redis would load.
    Value(RdbError),
}

/// RESTORE's reading of a payload. As Redis does, the value is read from
/// the start of the whole payload and whatever follows it is not looked
/// at: only the footer's version and checksum are.
pub fn restore_payload(payload: &[u8]) -> std::result::Result<Value, PayloadError> {
    restore_payload_checked(payload, true)
}

/// [`restore_payload`], with the CRC64 left unchecked when `checksum` is
/// false (DEBUG SET-SKIP-CHECKSUM-VALIDATION 1; the version still is).
pub fn restore_payload_checked(
    payload: &[u8],
    checksum: bool,
) -> std::result::Result<Value, PayloadError> {
    let len = payload.len();
    if len < 10 {
        return Err(PayloadError::Footer);
    }
    let footer = &payload[len - 10..];
    if u16::from_le_bytes([footer[0], footer[1]]) > RDB_VERSION {
        return Err(PayloadError::Footer);
    }
    if checksum && crc64(0, &payload[..len - 8]).to_le_bytes() != footer[2..] {
        return Err(PayloadError::Footer);
    }
    let mut cur = Cursor {
        data: payload,
        pos: 0,
    };
    let kind = cur.u8().map_err(PayloadError::Value)?;
    read_object(&mut cur, kind, 0)
        .map_err(PayloadError::Value)?
        .ok_or_else(|| PayloadError::Value(at_err(0, "empty collection")))
}

/// `rdbLoadObject`: the value of type `kind`; `None` for an empty
/// collection (which Redis skips).
fn read_object(cur: &mut Cursor, kind: u8, type_at: usize) -> Result<Option<Value>> {
    let refuse = |what: &str| RdbError {
        offset: type_at,
        reason: format!("{what} (RDB type {kind}) are not supported yet"),
    };
    let value = match kind {
        TYPE_STRING => Value::Str(Str {
            data: cur.bytes()?,
            raw: false,
        }),
        TYPE_LIST => {
            let n = cur.count(1)?;
            let mut list = VecDeque::with_capacity(n);
            for _ in 0..n {
                list.push_back(cur.bytes()?);
            }
            Value::List(list)
        }
        TYPE_SET => {
            let n = cur.count(1)?;
            let mut set = Set::default();
            for _ in 0..n {
                let at = cur.pos;
                if !set.insert(&cur.string()?) {
                    return Err(at_err(at, "duplicate set member"));
                }
            }
            Value::Set(set)
        }
        TYPE_ZSET | TYPE_ZSET_2 => {
            let min = if kind == TYPE_ZSET { 2 } else { 9 };
            let n = cur.count(min)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                let at = cur.pos;
                let member = cur.bytes()?;
                let score = if kind == TYPE_ZSET {
                    cur.text_double()?
                } else {
                    f64::from_le_bytes(cur.array()?)
                };
                if score.is_nan() {
                    return Err(at_err(at, "sorted set member with a NaN score"));
                }
                items.push((at, member, score));
            }
            // Redis loads into a skip list and converts after: a set within
            // the listpack limits becomes one, others keep exact scores.
            let limits = limits();
            let small = n <= limits.zset_entries
                && items.iter().all(|(_, m, _)| m.len() <= limits.zset_value);
            let mut z = if small {
                ZSet::default()
            } else {
                ZSet::indexed()
            };
            // Files list the highest first: inserting lowest first is the
            // sorted set's fast path.
            for (at, member, score) in items.into_iter().rev() {
                if z.insert(&member, score).is_some() {
                    return Err(at_err(at, "duplicate sorted set member"));
                }
            }
            Value::Zset(Box::new(z))
        }
        TYPE_HASH => {
            let n = cur.count(2)?;
            let mut hash = Hash::default();
            for _ in 0..n {
                let at = cur.pos;
                let field = cur.string()?;
                let value = cur.string()?;
                if !hash.insert(&field, &value) {
                    return Err(at_err(at, "duplicate hash field"));
                }
            }
            Value::Hash(hash)
        }
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            let nodes = cur.count(2)?;
            let mut list = VecDeque::new();
            for _ in 0..nodes {
                let container = if kind == TYPE_LIST_QUICKLIST_2 {
                    cur.length()?
                } else {
                    QUICKLIST_PACKED
                };
                let at = cur.pos;
                let blob = cur.string()?;
                if blob.is_empty() {
                    return Err(at_err(at, "empty quicklist node"));
                }
                match container {
                    QUICKLIST_PLAIN => list.push_back(Bytes::from(blob.into_owned())),
                    QUICKLIST_PACKED => {
                        let entries = if kind == TYPE_LIST_QUICKLIST_2 {
                            packed::listpack_entries(&blob)
                        } else {
                            packed::ziplist_entries(&blob)
                        }
                        .map_err(|e| at_err(at, format!("quicklist node: {e}")))?;
                        list.extend(entries.into_iter().map(Elem::to_bytes));
                    }
                    _ => {
                        return Err(at_err(
                            at,
                            format!("unknown quicklist container {container}"),
                        ))
                    }
                }
            }
            Value::List(list)
        }
        TYPE_HASH_ZIPMAP | TYPE_LIST_ZIPLIST | TYPE_SET_INTSET | TYPE_ZSET_ZIPLIST
        | TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK | TYPE_ZSET_LISTPACK => {
            let at = cur.pos;
            let blob = cur.string()?;
            read_blob(kind, &blob).map_err(|e| at_err(at, e))?
        }
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 => read_stream(cur, kind)?,
        TYPE_MODULE | TYPE_MODULE_2 => return Err(refuse("module values")),
        _ => {
            return Err(RdbError {
                offset: type_at,
                reason: format!("unknown value type {kind}"),
            })
        }
    };
    Ok((!value.is_empty_collection()).then_some(value))
}

fn at_err(offset: usize, reason: impl Into<String>) -> RdbError {
    RdbError {
        offset,
        reason: reason.into(),
    }
}

/// The values stored as one packed blob.
fn read_blob(kind: u8, blob: &[u8]) -> std::result::Result<Value, String> {
    let list_entries = |entries: Vec<Elem>| entries.into_iter().map(Elem::to_bytes).collect();
    Ok(match kind {
        TYPE_LIST_ZIPLIST => Value::List(list_entries(packed::ziplist_entries(blob)?)),
        TYPE_SET_INTSET => {
            let mut set = Set::default();
            for v in packed::intset_values(blob)? {
                set.insert(format_int(&mut [0; 20], v));
            }
            Value::Set(set)
        }
        TYPE_HASH_ZIPMAP => {
            let mut hash = Hash::default();
            for (f, v) in packed::zipmap_pairs(blob)? {
                if !hash.insert(f, v) {
                    return Err("zipmap with a duplicate field".into());
                }
            }
            Value::Hash(hash)
        }
        TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK => {
            let entries = if kind == TYPE_HASH_LISTPACK {
                packed::listpack_entries(blob)?
            } else {
                packed::ziplist_entries(blob)?
            };
            if entries.len() % 2 != 0 {
                return Err("hash with an odd number of entries".into());
            }
            let mut hash = Hash::default();
            for pair in entries.chunks_exact(2) {
                if !hash.insert(&pair[0].to_bytes(), &pair[1].to_bytes()) {
                    return Err("hash with a duplicate field".into());
                }
            }
            Value::Hash(hash)
        }
        TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => {
            let entries = if kind == TYPE_ZSET_LISTPACK {
                packed::listpack_entries(blob)?
            } else {
                packed::ziplist_entries(blob)?
            };
            if entries.len() % 2 != 0 {
                return Err("sorted set with an odd number of entries".into());
            }
            let mut z = if entries.len() / 2 > limits().zset_entries {
                ZSet::indexed()
            } else {
                ZSet::default()
            };
            for pair in entries.chunks_exact(2) {
                let score = match pair[1] {
                    Elem::Int(n) => n as f64,
                    Elem::Str(s) => strtod_whole(s)
                        .filter(|s| !s.is_nan())
                        .ok_or("sorted set with an invalid score")?,
                };
                if z.insert(&pair[0].to_bytes(), score).is_some() {
                    return Err("sorted set with a duplicate member".into());
                }
            }
            Value::Zset(Box::new(z))
        }
        _ => return Err(format!("unknown value type {kind}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::digest::{mix_value, Digest};
    use proptest::prelude::*;

    fn string_bytes(s: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_string(&mut out, s);
        out
    }

    fn read_string(b: &[u8]) -> Vec<u8> {
        let mut cur = Cursor { data: b, pos: 0 };
        let s = cur.string().expect("valid string").into_owned();
        assert_eq!(cur.pos, b.len());
        s
    }

    #[test]
    fn strings_pick_redis_encodings() {
        assert_eq!(string_bytes(b"12"), [0xc0, 12]);
        assert_eq!(string_bytes(b"-129"), [0xc1, 0x7f, 0xff]);
        assert_eq!(string_bytes(b"2147483647"), [0xc2, 0xff, 0xff, 0xff, 0x7f]);
        // Too big for 32 bits, not canonical, or empty: verbatim.
        assert_eq!(string_bytes(b"2147483648")[0], 10);
        assert_eq!(string_bytes(b"012"), [3, b'0', b'1', b'2']);
        assert_eq!(string_bytes(b"-0"), [2, b'-', b'0']);
        assert_eq!(string_bytes(b""), [0]);
        let long = vec![b'a'; 100];
        let b = string_bytes(&long);
        assert_eq!(b[0], 0xc3);
        assert!(b.len() < 20);
        for s in [
            &b"12"[..],
            b"-129",
            b"2147483647",
            b"-2147483648",
            b"",
            &long,
        ] {
            assert_eq!(read_string(&string_bytes(s)), s);
        }
        // Lengths of every size.
        for n in [63, 64, 16383, 16384, 70000] {
            let s: Vec<u8> = (0..n).map(|i| (i * 7919 % 251) as u8).collect();
            assert_eq!(read_string(&string_bytes(&s)), s);
        }
    }

    #[test]
    fn lengths_round_trip() {
        for n in [
            0,
            63,
            64,
            16383,
            16384,
            u32::MAX as u64,
            u32::MAX as u64 + 1,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            write_len(&mut out, n);
            let mut cur = Cursor { data: &out, pos: 0 };
            assert!(matches!(cur.len_field(), Ok(Len::Plain(m)) if m == n));
        }
    }

    fn file(entries: &[(&[u8], &Value, Option<u64>)]) -> Vec<u8> {
        let mut out = Vec::new();
        write_header(&mut out, &[("redis-ver", b"7.0.15"), ("redis-bits", b"64")]);
        write_select_db(&mut out, 0, entries.len(), 0);
        for (k, v, e) in entries {
            write_entry(&mut out, k, v, *e);
        }
        write_end(&mut out, 0);
        out
    }

    fn load_all(data: &[u8]) -> Result<(Vec<Loaded>, LoadSummary)> {
        let mut keys = Vec::new();
        let summary = load(data, |l| {
            keys.push(l);
            Ok(())
        })?;
        Ok((keys, summary))
    }

    #[test]
    fn header_aux_and_checksum() {
        let v = Value::str(b"hello");
        let data = file(&[(b"k", &v, Some(1_700_000_000_123))]);
        assert_eq!(&data[..9], b"REDIS0010");
        let (keys, summary) = load_all(&data).expect("loads");
        assert_eq!(summary.version, 10);
        assert_eq!(summary.aux.len(), 2);
        assert_eq!(&*summary.aux[1].1, b"64");
        assert_eq!(summary.keys, 1);
        assert_eq!(summary.end, data.len());
        let body = data.len() - 8;
        assert_eq!(summary.checksum, Some(crc64(0, &data[..body])));
        assert_eq!(keys[0].expire_at_ms, Some(1_700_000_000_123));
        assert_eq!(&*keys[0].key, b"k");
        // A zeroed checksum is "not computed": accepted.
        let mut unchecked = data.clone();
        unchecked[body..].fill(0);
        assert_eq!(load_all(&unchecked).map(|(_, s)| s.checksum), Ok(None));
    }

    /// `write_end` with a running crc over flushed chunks gives the same
    /// file as writing it whole.
    #[test]
    fn write_end_continues_the_flushed_crc() {
        let whole = file(&[
            (b"a", &Value::str(b"1"), None),
            (b"b", &Value::str(b"x"), None),
        ]);
        let mut flushed = Vec::new();
        let mut crc = 0;
        let mut out = Vec::new();
        write_header(&mut out, &[("redis-ver", b"7.0.15"), ("redis-bits", b"64")]);
        write_select_db(&mut out, 0, 2, 0);
        crc = crc64(crc, &out);
        flushed.append(&mut out);
        write_entry(&mut out, b"a", &Value::str(b"1"), None);
        crc = crc64(crc, &out);
        flushed.append(&mut out);
        write_entry(&mut out, b"b", &Value::str(b"x"), None);
        let written = write_end(&mut out, crc);
        flushed.append(&mut out);
        assert_eq!(flushed, whole);
        assert_eq!(written.to_le_bytes(), whole[whole.len() - 8..]);
    }

    #[test]
    fn versions_and_signatures() {
        let mut data = file(&[]);
        assert!(load_all(&data).is_ok());
        data[5..9].copy_from_slice(b"0011");
        let e = load_all(&data).expect_err("too new");
        assert!(e.reason.contains("newer"), "{e}");
        data[5..9].copy_from_slice(b"0000");
        assert!(load_all(&data).is_err());
        data[..5].copy_from_slice(b"REDIX");
        assert_eq!(load_all(&data).expect_err("bad magic").offset, 0);
        assert!(load_all(b"RED").is_err());
        // Version 4 had no checksum: EOF ends the file.
        assert!(load_all(b"REDIS0004\xff").is_ok());
        let e = RdbError {
            offset: 1234,
            reason: "x".into(),
        };
        assert_eq!(e.to_string(), "Bad RDB at byte 1234: x");
    }

    fn raw_file(body: &[u8]) -> Vec<u8> {
        let mut out = b"REDIS0010".to_vec();
        out.extend_from_slice(body);
        write_end(&mut out, 0);
        out
    }

    #[test]
    fn empty_collections_are_skipped_and_unsupported_types_refused() {
        // A SET with no members, then a listpack hash with none.
        let mut body = vec![TYPE_SET, 1, b'e', 0];
        body.extend_from_slice(&[TYPE_HASH_LISTPACK, 1, b'h', 7, 7, 0, 0, 0, 0, 0, 0xff]);
        body.extend_from_slice(&[TYPE_STRING, 1, b'k', 1, b'v']);
        let (keys, summary) = load_all(&raw_file(&body)).expect("loads");
        assert_eq!(keys.len(), 1);
        assert_eq!(summary.empty_keys_skipped, 2);
        let e = load_all(&raw_file(&[TYPE_MODULE_2, 1, b'k', 0])).expect_err("refused");
        assert!(e.reason.contains("module") && e.reason.contains('7'), "{e}");
        assert_eq!(e.offset, 9);
        let e = load_all(&raw_file(&[8, 1, b'k', 0])).expect_err("refused");
        assert!(e.reason.contains("unknown value type 8"), "{e}");
    }

    #[test]
    fn duplicates_are_refused() {
        let body = [TYPE_SET, 1, b's', 2, 1, b'a', 1, b'a'];
        assert!(load_all(&raw_file(&body)).is_err());
        let body = [TYPE_HASH, 1, b'h', 2, 1, b'a', 0, 1, b'a', 0];
        assert!(load_all(&raw_file(&body)).is_err());
        let mut lp = ListpackWriter::default();
        for e in [&b"m"[..], b"1", b"m", b"2"] {
            lp.push(e);
        }
        let mut body = vec![TYPE_ZSET_LISTPACK, 1, b'z'];
        write_string(&mut body, &lp.finish());
        assert!(load_all(&raw_file(&body)).is_err());
    }

    #[test]
    fn counts_beyond_the_file_are_refused_without_allocating() {
        let mut body = vec![TYPE_LIST, 1, b'l'];
        write_len(&mut body, u64::MAX / 2);
        assert!(load_all(&raw_file(&body)).is_err());
        let mut body = vec![TYPE_STRING, 1, b's', 0xc3];
        write_len(&mut body, 2);
        write_len(&mut body, u64::MAX / 2);
        body.extend_from_slice(&[0, 1]);
        assert!(load_all(&raw_file(&body)).is_err());
    }

    #[test]
    fn legacy_types_load() {
        // Type 1 (linked list), type 3 (text scores), a ziplist list.
        let mut body = vec![TYPE_LIST, 1, b'l', 2, 1, b'a', 0xc0, 5];
        body.extend_from_slice(&[TYPE_ZSET, 1, b'z', 3, 1, b'a', 3, b'1', b'.', b'5']);
        body.extend_from_slice(&[1, b'b', 254, 1, b'c', 255]);
        let (keys, _) = load_all(&raw_file(&body)).expect("loads");
        match &keys[0].value {
            Value::List(l) => assert_eq!(
                l.iter().map(|e| e.to_vec()).collect::<Vec<_>>(),
                [b"a".to_vec(), b"5".to_vec()]
            ),
            other => panic!("{other:?}"),
        }
        match &keys[1].value {
            Value::Zset(z) => {
                assert_eq!(z.score(b"a"), Some(1.5));
                assert_eq!(z.score(b"b"), Some(f64::INFINITY));
                assert_eq!(z.score(b"c"), Some(f64::NEG_INFINITY));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn read_value_is_write_value_inverse() {
        let mut h = Hash::default();
        h.insert(b"f", b"v");
        let v = Value::Hash(h);
        let mut out = Vec::new();
        write_value(&mut out, &v);
        let back = read_value(&out).expect("reads");
        assert_eq!(digest(&back), digest(&v));
        out.push(0);
        assert!(read_value(&out).is_err());
        assert!(read_value(&[TYPE_SET, 0]).is_err());
    }

    /// Redis 7.0 stores an element of 1 GiB or more as a plain node.
    #[test]
    fn plain_quicklist_nodes_load() {
        let mut lp = ListpackWriter::default();
        lp.push(b"a");
        let mut out = vec![TYPE_LIST_QUICKLIST_2, 3, 2];
        write_string(&mut out, &lp.finish());
        let plain_at = out.len();
        out.push(1);
        write_string(&mut out, b"plain element");
        out.push(2);
        let mut lp = ListpackWriter::default();
        lp.push(b"7");
        write_string(&mut out, &lp.finish());
        match read_value(&out) {
            Ok(Value::List(l)) => assert_eq!(
                l.iter().map(|e| e.to_vec()).collect::<Vec<_>>(),
                [b"a".to_vec(), b"plain element".to_vec(), b"7".to_vec()]
            ),
            other => panic!("{other:?}"),
        }
        out[plain_at] = 3;
        let e = read_value(&out).expect_err("unknown container");
        assert!(e.reason.contains("container"), "{e}");
    }

    #[test]
    fn quicklist_nodes_hold_about_8k() {
        let list: VecDeque<Bytes> = (0..2000)
            .map(|i| Bytes::from(format!("element-{i}").into_bytes()))
            .collect();
        let mut out = Vec::new();
        write_value(&mut out, &Value::List(list.clone()));
        let mut cur = Cursor { data: &out, pos: 1 };
        let nodes = cur.length().expect("node count");
        // 2000 elements of ~14 bytes: about 30 KB, so four 8 KB nodes.
        assert!((3..=6).contains(&nodes), "{nodes} nodes");
        for _ in 0..nodes {
            assert_eq!(cur.length().ok(), Some(QUICKLIST_PACKED));
            let lp = cur.string().expect("node");
            assert!(lp.len() <= QUICKLIST_NODE_BYTES);
        }
        match read_value(&out) {
            Ok(Value::List(back)) => assert_eq!(back, list),
            other => panic!("{other:?}"),
        }
    }

    fn digest(v: &Value) -> Digest {
        let mut d = Digest::default();
        mix_value(&mut d, v, false);
        d
    }

    fn member() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => (-1000i64..1000).prop_map(|n| n.to_string().into_bytes()),
            1 => any::<i64>().prop_map(|n| n.to_string().into_bytes()),
            4 => "[a-z]{0,12}".prop_map(String::into_bytes),
            1 => proptest::collection::vec(any::<u8>(), 0..90),
            1 => (60usize..200).prop_map(|n| vec![b'q'; n]),
        ]
    }

    fn score() -> impl Strategy<Value = f64> {
        prop_oneof![
            (-100i32..100).prop_map(f64::from),
            any::<f64>().prop_filter("no NaN", |f| !f.is_nan()),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(1e300),
            Just(4.611_686_018_427_388e18),
        ]
    }

    /// Values of every type in every encoding: sizes on both sides of the
    /// limits, long members that force the general encodings.
    fn value() -> impl Strategy<Value = Value> {
        let sizes = prop_oneof![0usize..20, 100usize..700];
        prop_oneof![
            member().prop_map(Value::str),
            (0usize..3000, 1usize..40).prop_map(|(n, w)| {
                Value::List(
                    (0..n)
                        .map(|i| Bytes::from(format!("{i:0>w$}").into_bytes()))
                        .collect(),
                )
            }),
            proptest::collection::vec(member(), 0..50)
                .prop_map(|ms| { Value::List(ms.into_iter().map(Bytes::from).collect()) }),
            (sizes.clone(), any::<bool>(), any::<i64>()).prop_map(|(n, ints, seed)| {
                let mut s = Set::default();
                for i in 0..n as i64 {
                    let m = if ints {
                        (seed.wrapping_mul(i + 1) >> 8).to_string()
                    } else {
                        format!("m{i}")
                    };
                    s.insert(m.as_bytes());
                }
                Value::Set(s)
            }),
            proptest::collection::vec((member(), member()), 0..30).prop_map(|pairs| {
                let mut h = Hash::default();
                for (f, v) in pairs {
                    h.insert(&f, &v);
                }
                Value::Hash(h)
            }),
            sizes.clone().prop_map(|n| {
                let mut h = Hash::default();
                for i in 0..n {
                    h.insert(format!("f{i}").as_bytes(), i.to_string().as_bytes());
                }
                Value::Hash(h)
            }),
            proptest::collection::vec((member(), score()), 0..40).prop_map(|items| {
                let mut z = ZSet::default();
                for (m, s) in items {
                    z.insert(&m, s);
                }
                Value::Zset(Box::new(z))
            }),
            (sizes, proptest::collection::vec(score(), 1..10)).prop_map(|(n, scores)| {
                let mut z = ZSet::default();
                for i in 0..n {
                    z.insert(format!("m{i}").as_bytes(), scores[i % scores.len()]);
                }
                Value::Zset(Box::new(z))
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn values_round_trip(v in value(), ttl in proptest::option::of(any::<u32>())) {
            // The store never holds an empty collection (and a file
            // cannot: Redis refuses an empty intset).
            prop_assume!(!v.is_empty_collection());
            let data = file(&[(b"key", &v, ttl.map(u64::from))]);
            let (keys, _) = load_all(&data).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(keys.len(), 1);
            let back = &keys[0];
            prop_assert_eq!(digest(&back.value), digest(&v));
            prop_assert_eq!(back.value.encoding(), v.encoding());
            prop_assert_eq!(back.expire_at_ms, ttl.map(u64::from));
            // DUMP's path gives the same.
            let mut out = Vec::new();
            write_value(&mut out, &v);
            let again = read_value(&out).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(digest(&again), digest(&v));
        }

        /// Any cut or any flipped bit gives an error or a load, never a
        /// panic; a flipped bit in a checksummed file is caught.
        #[test]
        fn corruption_is_an_error(v in value(), cut in any::<prop::sample::Index>(), bit in any::<prop::sample::Index>()) {
            prop_assume!(!v.is_empty_collection());
            let data = file(&[(b"key", &v, Some(5))]);
            let at = cut.index(data.len());
            prop_assert!(load_all(&data[..at]).is_err());
            let mut flipped = data.clone();
            let b = bit.index(data.len() * 8);
            flipped[b / 8] ^= 1 << (b % 8);
            prop_assert!(load_all(&flipped).is_err());
        }
    }
}
