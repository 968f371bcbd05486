//! The JSON snapshot, `db.json`: the seed's default format.
//!
//! One JSON document, one key per line, so `jq` reads it and `diff` shows
//! what changed between two snapshots:
//!
//! ```text
//! {"format":"rizzler","version":1,"created":1764619026,
//! "databases":{
//! "0":[
//! {"key":"greeting","type":"string","value":"hello"},
//! {"key":"queue","type":"list","value":["a","b"],"expire_at":1767225600000},
//! {"key":"tags","type":"set","value":["x","y"]},
//! {"key":"user:1","type":"hash","value":[["name","Ada"],["age","36"]]},
//! {"key":"board","type":"zset","value":[["ada",1.5],["bob","inf"]]},
//! {"key":{"base64":"AP8="},"type":"string","value":{"base64":"3q2+7w=="}}
//! ]}}
//! ```
//!
//! - A key, value, member or field that is valid UTF-8 is a JSON string;
//!   any other bytes are `{"base64":"…"}` (standard alphabet, padded), so
//!   every value round-trips exactly.
//! - `expire_at` is the absolute expiry in Unix milliseconds, absent for a
//!   key without a TTL.
//! - Scores are JSON numbers printed with 17 significant digits (exact for
//!   every double), or the strings `"inf"` and `"-inf"`.
//! - Lists keep their order; sets, hashes and sorted sets are written in
//!   the store's order (sorted sets by score).
//!
//! The loader reads the document with a small parser of its own, one entry
//! at a time, so loading needs the file and one entry in memory, not a tree
//! of the whole document.

use super::{Encoder, LoadError, Loaded, Meta, Persister};
use crate::resp::format_g17;
use crate::store::stream::Group;
use crate::store::{Hash, Set, Stream, StreamId, Value, ZSet};

/// The JSON format.
pub struct Json;

impl Persister for Json {
    fn name(&self) -> &'static str {
        "json"
    }

    fn default_file(&self) -> &'static str {
        "db.json"
    }

    fn encoder(&self, meta: &Meta) -> Box<dyn Encoder> {
        Box::new(JsonEncoder {
            created: meta.created,
            first_db: true,
            first_key: true,
        })
    }

    fn load(
        &self,
        data: &[u8],
        each: &mut dyn FnMut(Loaded) -> Result<(), String>,
    ) -> Result<(), LoadError> {
        load(data, each)
    }
}

struct JsonEncoder {
    created: u64,
    first_db: bool,
    first_key: bool,
}

impl Encoder for JsonEncoder {
    fn header(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(
            format!(
                "{{\"format\":\"rizzler\",\"version\":1,\"created\":{},\n\"databases\":{{",
                self.created
            )
            .as_bytes(),
        );
    }

    fn begin_db(&mut self, out: &mut Vec<u8>, db: usize, _keys: usize, _expires: usize) {
        if !self.first_db {
            out.push(b',');
        }
        self.first_db = false;
        self.first_key = true;
        out.extend_from_slice(format!("\n\"{db}\":[").as_bytes());
    }

    fn entry(&mut self, out: &mut Vec<u8>, key: &[u8], value: &Value, expire_at: Option<u64>) {
        if !self.first_key {
            out.push(b',');
        }
        self.first_key = false;
        out.extend_from_slice(b"\n{\"key\":");
        string(out, key);
        out.extend_from_slice(b",\"type\":\"");
        out.extend_from_slice(value.type_name().as_bytes());
        out.extend_from_slice(b"\",\"value\":");
        write_value(out, value);
        if let Some(at) = expire_at {
            out.extend_from_slice(format!(",\"expire_at\":{at}").as_bytes());
        }
        out.push(b'}');
    }

    fn end_db(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\n]");
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"}}\n");
    }
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Str(s) => string(out, &s.data),
        Value::List(list) => array(out, list.iter(), |out, e| string(out, e)),
        Value::Set(set) => {
            out.push(b'[');
            let mut first = true;
            set.for_each(|m| {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                string(out, m);
            });
            out.push(b']');
        }
        Value::Hash(hash) => array(out, hash.iter(), |out, (f, v)| {
            out.push(b'[');
            string(out, f);
            out.push(b',');
            string(out, v);
            out.push(b']');
        }),
        Value::Zset(z) => array(out, z.iter(), |out, item| {
            out.push(b'[');
            string(out, &item.member);
            out.push(b',');
            score(out, item.score);
            out.push(b']');
        }),
        Value::Stream(s) => write_stream(out, s),
    }
}

/// A stream: its nodes as they are (master ID, master fields, every entry
/// with its tombstone flag), so that a reload keeps the node boundaries
/// approximate trims depend on; then the metadata and the groups.
fn write_stream(out: &mut Vec<u8>, s: &Stream) {
    let id = |out: &mut Vec<u8>, id: StreamId| string(out, &id.to_bytes());
    out.extend_from_slice(b"{\"nodes\":[");
    let mut first = true;
    s.for_each_node(|master, fields, node| {
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        out.push(b'[');
        id(out, master);
        out.push(b',');
        array(out, fields.iter(), |out, f| string(out, f));
        out.push(b',');
        array(out, node.entries(), |out, (eid, deleted, _, entry)| {
            out.push(b'[');
            id(out, eid);
            out.push(b',');
            array(out, entry.fields().flat_map(|(f, v)| [f, v]), |out, b| {
                string(out, b)
            });
            out.extend_from_slice(if deleted { b",1]" } else { b",0]" });
        });
        out.push(b']');
    });
    out.extend_from_slice(b"],\"last_id\":");
    id(out, s.last_id);
    out.extend_from_slice(b",\"first_id\":");
    id(out, s.first_id);
    out.extend_from_slice(b",\"max_deleted\":");
    id(out, s.max_deleted);
    out.extend_from_slice(format!(",\"entries_added\":{},\"groups\":", s.entries_added).as_bytes());
    array(out, s.groups.iter(), |out, (name, g)| {
        out.extend_from_slice(b"{\"name\":");
        string(out, name);
        out.extend_from_slice(b",\"last_id\":");
        id(out, g.last_id);
        out.extend_from_slice(format!(",\"entries_read\":{},\"pel\":", g.entries_read).as_bytes());
        array(out, g.pel.iter(), |out, (pid, nack)| {
            out.push(b'[');
            id(out, *pid);
            out.push(b',');
            string(out, &nack.consumer);
            out.extend_from_slice(
                format!(",{},{}]", nack.delivery_time, nack.delivery_count).as_bytes(),
            );
        });
        out.extend_from_slice(b",\"consumers\":");
        array(out, g.consumers.iter(), |out, (cname, c)| {
            out.push(b'[');
            string(out, cname);
            out.extend_from_slice(format!(",{}]", c.seen_time).as_bytes());
        });
        out.push(b'}');
    });
    out.push(b'}');
}

/// A stream ID in its `ms-seq` text.
fn stream_id(j: J) -> Option<StreamId> {
    let text = bytes(j)?;
    let text = std::str::from_utf8(&text).ok()?;
    let (ms, seq) = text.split_once('-')?;
    Some(StreamId::new(ms.parse().ok()?, seq.parse().ok()?))
}

fn to_stream(j: J) -> Result<Value, &'static str> {
    let J::Obj(fields) = j else {
        return Err("the stream is not an object");
    };
    let mut s = Stream::new();
    let mut groups = None;
    let bad_id = "a stream ID is not ms-seq";
    for (name, v) in fields {
        match &name[..] {
            b"nodes" => {
                let J::Arr(nodes) = v else {
                    return Err("the stream's nodes are not an array");
                };
                for node in nodes {
                    let J::Arr(mut parts) = node else {
                        return Err("a stream node is not an array");
                    };
                    if parts.len() != 3 {
                        return Err("a stream node is not [master, fields, entries]");
                    }
                    let (J::Arr(entries), J::Arr(fields)) = (parts.remove(2), parts.remove(1))
                    else {
                        return Err("a stream node is not [master, fields, entries]");
                    };
                    let master = stream_id(parts.remove(0)).ok_or(bad_id)?;
                    let fields = fields
                        .into_iter()
                        .map(|f| bytes(f).ok_or("a field is not a string"))
                        .collect::<Result<Vec<_>, _>>()?;
                    let mut owned = Vec::with_capacity(entries.len());
                    for e in entries {
                        let J::Arr(mut e) = e else {
                            return Err("a stream entry is not an array");
                        };
                        if e.len() != 3 {
                            return Err("a stream entry is not [id, pairs, deleted]");
                        }
                        let deleted =
                            number::<u8>(&e[2]).ok_or("a tombstone flag is not 0 or 1")?;
                        let J::Arr(pairs) = e.remove(1) else {
                            return Err("a stream entry's pairs are not an array");
                        };
                        let pairs = pairs
                            .into_iter()
                            .map(|p| bytes(p).ok_or("a field or value is not a string"))
                            .collect::<Result<Vec<_>, _>>()?;
                        if pairs.len() % 2 != 0 {
                            return Err("a stream entry has a field without a value");
                        }
                        let eid = stream_id(e.remove(0)).ok_or(bad_id)?;
                        owned.push((eid, deleted != 0, pairs));
                    }
                    let fields: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
                    let entries: Vec<(StreamId, bool, Vec<&[u8]>)> = owned
                        .iter()
                        .map(|(i, d, p)| (*i, *d, p.iter().map(Vec::as_slice).collect()))
                        .collect();
                    s.load_node(master, &fields, &entries)?;
                }
            }
            b"last_id" => s.last_id = stream_id(v).ok_or(bad_id)?,
            b"first_id" => s.first_id = stream_id(v).ok_or(bad_id)?,
            b"max_deleted" => s.max_deleted = stream_id(v).ok_or(bad_id)?,
            b"entries_added" => {
                s.entries_added = number(&v).ok_or("entries_added is not a number")?
            }
            b"groups" => groups = Some(v),
            _ => return Err("an unknown stream field"),
        }
    }
    if s.last_valid_id().is_some_and(|max| max > s.last_id) {
        return Err("the stream's last ID is below its entries");
    }
    let Some(J::Arr(groups)) = groups else {
        return Ok(Value::Stream(Box::new(s)));
    };
    for g in groups {
        let J::Obj(fields) = g else {
            return Err("a group is not an object");
        };
        let (mut name, mut group) = (None, Group::new(StreamId::MIN, -1));
        let (mut pel, mut consumers) = (Vec::new(), Vec::new());
        for (key, v) in fields {
            match &key[..] {
                b"name" => name = Some(bytes(v).ok_or("a group name is not a string")?),
                b"last_id" => group.last_id = stream_id(v).ok_or(bad_id)?,
                b"entries_read" => {
                    group.entries_read = number(&v).ok_or("entries_read is not a number")?
                }
                b"pel" => {
                    let J::Arr(items) = v else {
                        return Err("a PEL is not an array");
                    };
                    for item in items {
                        let J::Arr(mut item) = item else {
                            return Err("a PEL entry is not an array");
                        };
                        if item.len() != 4 {
                            return Err("a PEL entry is not [id, consumer, time, count]");
                        }
                        let count =
                            number::<u64>(&item[3]).ok_or("a delivery count is not a number")?;
                        let time =
                            number::<u64>(&item[2]).ok_or("a delivery time is not a number")?;
                        let who = bytes(item.remove(1)).ok_or("a consumer is not a string")?;
                        let pid = stream_id(item.remove(0)).ok_or(bad_id)?;
                        pel.push((pid, who, time, count));
                    }
                }
                b"consumers" => {
                    for (c, seen) in pairs(v).ok_or("consumers are not pairs")? {
                        let seen = number::<u64>(&seen).ok_or("a seen time is not a number")?;
                        consumers.push((bytes(c).ok_or("a consumer is not a string")?, seen));
                    }
                }
                _ => return Err("an unknown group field"),
            }
        }
        for (c, seen) in consumers {
            if !group.consumer_or_create(&c, seen) {
                return Err("a consumer appears twice");
            }
        }
        for (pid, who, time, count) in pel {
            if !group.consumers.contains_key(&who[..]) || group.pel.contains_key(&pid) {
                return Err("a PEL entry without its consumer, or twice");
            }
            group.assign(pid, &who, time, count);
        }
        let name = name.ok_or("a group without a name")?;
        if s.groups.insert(name.into(), group).is_some() {
            return Err("a group appears twice");
        }
    }
    Ok(Value::Stream(Box::new(s)))
}

fn array<T>(out: &mut Vec<u8>, items: impl Iterator<Item = T>, f: impl Fn(&mut Vec<u8>, T)) {
    out.push(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        f(out, item);
    }
    out.push(b']');
}

fn score(out: &mut Vec<u8>, score: f64) {
    if score.is_infinite() {
        out.extend_from_slice(if score > 0.0 { b"\"inf\"" } else { b"\"-inf\"" });
    } else {
        out.extend_from_slice(format_g17(score).as_bytes());
    }
}

/// A JSON string if `bytes` are UTF-8, else `{"base64":"…"}`.
fn string(out: &mut Vec<u8>, bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        out.extend_from_slice(b"{\"base64\":\"");
        base64(out, bytes);
        out.extend_from_slice(b"\"}");
        return;
    };
    out.push(b'"');
    for &c in text.as_bytes() {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            c if c < 0x20 || c == 0x7f => {
                out.extend_from_slice(format!("\\u{c:04x}").as_bytes());
            }
            c => out.push(c),
        }
    }
    out.push(b'"');
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(out: &mut Vec<u8>, bytes: &[u8]) {
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(BASE64[(n >> (18 - 6 * i)) as usize & 63]);
            } else {
                out.push(b'=');
            }
        }
    }
}

fn unbase64(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    for (i, quad) in text.chunks(4).enumerate() {
        let last = (i + 1) * 4 == text.len();
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            let v = BASE64.iter().position(|&b| b == c)? as u32;
            n = n << 6 | v;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

/// A parsed JSON value; numbers stay as their text, strings as bytes.
#[derive(Debug)]
enum J<'a> {
    /// `true`, `false` or `null`: no field of the format uses them.
    Word,
    Num(&'a [u8]),
    Str(Vec<u8>),
    Arr(Vec<J<'a>>),
    Obj(Vec<(Vec<u8>, J<'a>)>),
}

/// Entries nest six deep at most (a stream's nodes → node → entries →
/// entry → pairs → `{"base64"}`).
const MAX_DEPTH: usize = 10;

struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
}

type Parsed<T> = Result<T, LoadError>;

impl<'a> Parser<'a> {
    fn err<T>(&self, why: impl Into<String>) -> Parsed<T> {
        Err(LoadError::at(self.pos, why))
    }

    fn ws(&mut self) {
        while self
            .data
            .get(self.pos)
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.pos += 1;
        }
    }

    /// The next significant byte, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.data.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Parsed<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            self.err(format!("expected '{}'", c as char))
        }
    }

    /// After an item of an array or object: whether another follows.
    fn more(&mut self, close: u8) -> Parsed<bool> {
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(false)
            }
            _ => self.err(format!("expected ',' or '{}'", close as char)),
        }
    }

    /// Whether the array or object just opened is empty (consumes its
    /// closing byte if so).
    fn empty(&mut self, close: u8) -> bool {
        if self.peek() == Some(close) {
            self.pos += 1;
            return true;
        }
        false
    }

    fn value(&mut self, depth: usize) -> Parsed<J<'a>> {
        if depth > MAX_DEPTH {
            return self.err("nested too deeply");
        }
        match self.peek() {
            Some(b'"') => Ok(J::Str(self.string()?)),
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                if !self.empty(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if !self.more(b']')? {
                            break;
                        }
                    }
                }
                Ok(J::Arr(items))
            }
            Some(b'{') => {
                self.pos += 1;
                let mut fields = Vec::new();
                if !self.empty(b'}') {
                    loop {
                        if self.peek() != Some(b'"') {
                            return self.err("expected a field name");
                        }
                        let name = self.string()?;
                        self.expect(b':')?;
                        fields.push((name, self.value(depth + 1)?));
                        if !self.more(b'}')? {
                            break;
                        }
                    }
                }
                Ok(J::Obj(fields))
            }
            Some(b't') => self.word(b"true"),
            Some(b'f') => self.word(b"false"),
            Some(b'n') => self.word(b"null"),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                while self
                    .data
                    .get(self.pos)
                    .is_some_and(|c| matches!(c, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                {
                    self.pos += 1;
                }
                Ok(J::Num(&self.data[start..self.pos]))
            }
            Some(_) => self.err("unexpected character"),
            None => self.err("unexpected end of file"),
        }
    }

    fn word(&mut self, word: &[u8]) -> Parsed<J<'a>> {
        if self.data[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(J::Word)
        } else {
            self.err("unexpected word")
        }
    }

    fn hex4(&mut self) -> Parsed<u32> {
        let digits = self.data.get(self.pos..self.pos + 4);
        let n = digits
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok());
        match n {
            Some(n) => {
                self.pos += 4;
                Ok(n)
            }
            None => self.err("bad \\u escape"),
        }
    }

    /// A string (the opening quote is next), unescaped.
    fn string(&mut self) -> Parsed<Vec<u8>> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.data.get(self.pos) else {
                return self.err("unterminated string");
            };
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.data.get(self.pos) else {
                        return self.err("unterminated string");
                    };
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let mut code = self.hex4()?;
                            if (0xd800..0xdc00).contains(&code)
                                && self.data[self.pos..].starts_with(b"\\u")
                            {
                                self.pos += 2;
                                let low = self.hex4()?;
                                code = 0x10000
                                    + ((code - 0xd800) << 10)
                                    + (low.wrapping_sub(0xdc00) & 0x3ff);
                            }
                            let Some(ch) = char::from_u32(code) else {
                                return self.err("bad \\u escape");
                            };
                            out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                        _ => return self.err("bad escape"),
                    }
                }
                c if c < 0x20 => return self.err("control character in a string"),
                c => out.push(c),
            }
        }
        if std::str::from_utf8(&out).is_err() {
            return self.err("a string that is not UTF-8 (binary data is written as base64)");
        }
        Ok(out)
    }
}

/// Bytes from a string or `{"base64":"…"}`.
fn bytes(j: J) -> Option<Vec<u8>> {
    match j {
        J::Str(s) => Some(s),
        J::Obj(mut fields) if fields.len() == 1 && fields[0].0 == b"base64" => {
            match fields.pop()?.1 {
                J::Str(b64) => unbase64(&b64),
                _ => None,
            }
        }
        _ => None,
    }
}

fn number<T: std::str::FromStr>(j: &J) -> Option<T> {
    match j {
        J::Num(text) => std::str::from_utf8(text).ok()?.parse().ok(),
        _ => None,
    }
}

fn pairs<'a>(j: J<'a>) -> Option<Vec<(J<'a>, J<'a>)>> {
    let J::Arr(items) = j else { return None };
    items
        .into_iter()
        .map(|pair| match pair {
            J::Arr(mut two) if two.len() == 2 => {
                let b = two.pop()?;
                let a = two.pop()?;
                Some((a, b))
            }
            _ => None,
        })
        .collect()
}

/// The value of an entry of type `kind`.
fn to_value(kind: &[u8], j: J) -> Result<Value, &'static str> {
    let list = |j: J| -> Result<Vec<Vec<u8>>, &'static str> {
        let J::Arr(items) = j else {
            return Err("the value is not an array");
        };
        items
            .into_iter()
            .map(|i| bytes(i).ok_or("an element is not a string"))
            .collect()
    };
    let value = match kind {
        b"string" => Value::str(bytes(j).ok_or("the value is not a string")?),
        b"list" => Value::List(list(j)?.into_iter().map(Into::into).collect()),
        b"set" => {
            let mut set = Set::default();
            for m in list(j)? {
                if !set.insert(&m) {
                    return Err("a set member appears twice");
                }
            }
            Value::Set(set)
        }
        b"hash" => {
            let mut hash = Hash::default();
            for (f, v) in pairs(j).ok_or("the value is not an array of pairs")? {
                let f = bytes(f).ok_or("a field is not a string")?;
                let v = bytes(v).ok_or("a value is not a string")?;
                if !hash.insert(&f, &v) {
                    return Err("a hash field appears twice");
                }
            }
            Value::Hash(hash)
        }
        b"zset" => {
            let mut z = ZSet::default();
            for (m, s) in pairs(j).ok_or("the value is not an array of pairs")? {
                let m = bytes(m).ok_or("a member is not a string")?;
                let score = match s {
                    J::Str(s) if s == b"inf" => f64::INFINITY,
                    J::Str(s) if s == b"-inf" => f64::NEG_INFINITY,
                    s => number::<f64>(&s).ok_or("a score is not a number")?,
                };
                if score.is_nan() {
                    return Err("a score is not a number");
                }
                if z.insert(&m, score).is_some() {
                    return Err("a sorted set member appears twice");
                }
            }
            Value::Zset(Box::new(z))
        }
        b"stream" => return to_stream(j),
        _ => return Err("unknown type"),
    };
    if value.is_empty_collection() {
        return Err("an empty collection");
    }
    Ok(value)
}

fn load(data: &[u8], each: &mut dyn FnMut(Loaded) -> Result<(), String>) -> Result<(), LoadError> {
    let mut p = Parser { data, pos: 0 };
    p.expect(b'{')?;
    let mut format_seen = false;
    if !p.empty(b'}') {
        loop {
            if p.peek() != Some(b'"') {
                return p.err("expected a field name");
            }
            let name = p.string()?;
            p.expect(b':')?;
            if name == b"databases" {
                databases(&mut p, each)?;
            } else {
                let at = p.pos;
                let v = p.value(1)?;
                match &name[..] {
                    b"format" if matches!(&v, J::Str(s) if s == b"rizzler") => format_seen = true,
                    b"format" => return Err(LoadError::at(at, "not a rizzler JSON snapshot")),
                    b"version" if number::<u32>(&v) == Some(1) => {}
                    b"version" => {
                        return Err(LoadError::at(
                            at,
                            "unsupported version (this build reads 1)",
                        ))
                    }
                    _ => {}
                }
            }
            if !p.more(b'}')? {
                break;
            }
        }
    }
    if !format_seen {
        return Err(LoadError::at(
            0,
            "not a rizzler JSON snapshot (no \"format\":\"rizzler\")",
        ));
    }
    if p.peek().is_some() {
        return p.err("data after the end of the document");
    }
    Ok(())
}

fn databases(
    p: &mut Parser,
    each: &mut dyn FnMut(Loaded) -> Result<(), String>,
) -> Result<(), LoadError> {
    p.expect(b'{')?;
    if p.empty(b'}') {
        return Ok(());
    }
    loop {
        if p.peek() != Some(b'"') {
            return p.err("expected a database number");
        }
        let at = p.pos;
        let name = p.string()?;
        let db = std::str::from_utf8(&name)
            .ok()
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| LoadError::at(at, "a database name is not a number"))?;
        p.expect(b':')?;
        p.expect(b'[')?;
        if !p.empty(b']') {
            loop {
                let at = p.pos;
                let loaded = entry(db, p.value(1)?).map_err(|why| LoadError::at(at, why))?;
                each(loaded).map_err(|why| LoadError::at(at, why))?;
                if !p.more(b']')? {
                    break;
                }
            }
        }
        if !p.more(b'}')? {
            return Ok(());
        }
    }
}

fn entry(db: usize, j: J) -> Result<Loaded, String> {
    let J::Obj(fields) = j else {
        return Err("an entry is not an object".into());
    };
    let (mut key, mut kind, mut value, mut expire_at) = (None, None, None, None);
    for (name, v) in fields {
        match &name[..] {
            b"key" => key = Some(bytes(v).ok_or("the key is not a string")?),
            b"type" => match v {
                J::Str(t) => kind = Some(t),
                _ => return Err("the type is not a string".into()),
            },
            b"value" => value = Some(v),
            b"expire_at" => {
                expire_at = Some(number::<u64>(&v).ok_or("expire_at is not a time in ms")?)
            }
            _ => {
                let name = String::from_utf8_lossy(&name);
                return Err(format!("unknown field \"{name}\" in an entry"));
            }
        }
    }
    let key = key.ok_or("an entry has no key")?;
    let kind = kind.ok_or("an entry has no type")?;
    let value = value.ok_or("an entry has no value")?;
    let value = to_value(&kind, value)
        .map_err(|why| format!("key \"{}\": {why}", String::from_utf8_lossy(&key)))?;
    Ok(Loaded {
        db,
        key: key.into(),
        value,
        expire_at,
        db_keys_hint: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(entries: &[(usize, &[u8], Value, Option<u64>)]) -> Vec<u8> {
        let mut enc = Json.encoder(&Meta::default());
        let mut out = Vec::new();
        enc.header(&mut out);
        let mut db = None;
        for (d, key, value, at) in entries {
            if db != Some(*d) {
                if db.is_some() {
                    enc.end_db(&mut out);
                }
                enc.begin_db(&mut out, *d, 0, 0);
                db = Some(*d);
            }
            enc.entry(&mut out, key, value, *at);
        }
        if db.is_some() {
            enc.end_db(&mut out);
        }
        enc.end(&mut out);
        out
    }

    fn decode(data: &[u8]) -> Result<Vec<Loaded>, LoadError> {
        let mut all = Vec::new();
        Json.load(data, &mut |l| {
            all.push(l);
            Ok(())
        })?;
        Ok(all)
    }

    #[test]
    fn base64_round_trips() {
        for len in 0..10 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 200) as u8).collect();
            let mut text = Vec::new();
            base64(&mut text, &bytes);
            assert_eq!(unbase64(&text), Some(bytes));
        }
        assert_eq!(unbase64(b"3q2+7w=="), Some(vec![0xde, 0xad, 0xbe, 0xef]));
        assert_eq!(unbase64(b"3q2+7w="), None);
        assert_eq!(unbase64(b"3q=+7w=="), None);
    }

    #[test]
    fn every_type_round_trips() {
        let mut z = ZSet::default();
        z.insert(b"a", 1.5);
        z.insert(b"b", f64::INFINITY);
        z.insert(b"c", -0.1);
        let mut set = Set::default();
        set.insert(b"x\xff");
        set.insert(b"12");
        let mut hash = Hash::default();
        hash.insert(b"f", b"v\"\\\n\x01");
        let entries = [
            (0, &b"s"[..], Value::str(&b"hello"[..]), None),
            (
                0,
                b"bin\x00\xff",
                Value::str(&b"\xde\xad"[..]),
                Some(1767225600000),
            ),
            (
                3,
                b"l",
                Value::List([&b"a"[..], b"b"].map(Into::into).into()),
                None,
            ),
            (3, b"set", Value::Set(set), None),
            (3, b"h", Value::Hash(hash), None),
            (15, b"z", Value::Zset(Box::new(z)), Some(5)),
        ];
        let text = encode(&entries);
        let back = decode(&text).unwrap();
        assert_eq!(back.len(), entries.len());
        for (l, (db, key, value, at)) in back.iter().zip(&entries) {
            assert_eq!((l.db, &l.key[..], l.expire_at), (*db, *key, *at));
            let (mut a, mut b) = ([0; 20], [0; 20]);
            crate::store::digest::mix_value(&mut a, &l.value, false);
            crate::store::digest::mix_value(&mut b, value, false);
            assert_eq!(a, b, "{key:?}");
        }
        assert!(std::str::from_utf8(&text).is_ok());
        assert_eq!(decode(&encode(&[])).unwrap().len(), 0);
    }

    #[test]
    fn bad_documents_name_the_byte() {
        let good = encode(&[(0, b"k", Value::str(&b"v"[..]), None)]);
        for cut in 0..good.len() - 1 {
            assert!(decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        let e = decode(
            br#"{"format":"rizzler","databases":{"0":[{"key":"k","type":"nope","value":"v"}]}}"#,
        )
        .unwrap_err();
        assert_eq!(e.offset, 38);
        assert!(e.reason.contains("unknown type"), "{e}");
        assert!(decode(br#"{"databases":{}}"#).is_err());
        assert!(decode(br#"{"format":"rizzler","databases":{"0":[{"key":"k","type":"set","value":["a","a"]}]}}"#).is_err());
        assert!(decode(
            br#"{"format":"rizzler","databases":{"0":[{"key":"k","type":"list","value":[]}]}}"#
        )
        .is_err());
        let deep = format!(
            "{{\"format\":\"rizzler\",\"x\":{}1{}}}",
            "[".repeat(100),
            "]".repeat(100)
        );
        assert!(decode(deep.as_bytes()).is_err());
    }
}
