//! Between Lua values and the protocol, as Redis 7.0 converts
//! (`redisProtocolToLuaType` and `luaReplyToRedisReply` in script_lua.c).
//!
//! Replies to Lua: an integer is a number, a bulk string a string, a nil
//! bulk or nil array `false`, a status `{ok=…}`, an error `{err=…}`; with
//! RESP3, a map `{map={…}}`, a set `{set={k=true}}`, a double
//! `{double=n}`, a big number `{big_number=s}`, a verbatim string
//! `{verbatim_string={format=…, string=…}}`, null `nil`, a boolean a
//! boolean. Lua to replies: the reverse, with numbers truncated to integers
//! and an array ending at its first nil.

use mlua::{Lua, Table, Value};

use crate::resp::{Proto, Reply};

/// How deep a reply may nest before the conversion stops (Lua's C stack
/// would overflow well before a legitimate reply gets there).
const MAX_DEPTH: usize = 1000;

/// A Lua array of strings (KEYS, ARGV).
pub fn array<'a>(lua: &Lua, items: impl ExactSizeIterator<Item = &'a [u8]>) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.enumerate() {
        // Text goes onto the stack directly; other bytes through a handle.
        match std::str::from_utf8(item) {
            Ok(text) => t.raw_set(i + 1, text)?,
            Err(_) => t.raw_set(i + 1, lua.create_string(item)?)?,
        }
    }
    Ok(t)
}

/// Parses one complete reply (as a command wrote it) into a Lua value.
pub fn parse_reply(lua: &Lua, reply: &[u8]) -> mlua::Result<Value> {
    let mut pos = 0;
    parse(lua, reply, &mut pos, 0)
}

fn line<'a>(buf: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let start = *pos;
    let end = buf[start..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map_or(buf.len(), |i| start + i);
    *pos = (end + 2).min(buf.len());
    &buf[start..end]
}

fn number(text: &[u8]) -> i64 {
    crate::resp::parse_i64(text).unwrap_or(0)
}

fn table1(lua: &Lua, key: &str, value: Value) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set(key, value)?;
    Ok(Value::Table(t))
}

fn parse(lua: &Lua, buf: &[u8], pos: &mut usize, depth: usize) -> mlua::Result<Value> {
    if *pos >= buf.len() || depth > MAX_DEPTH {
        return Ok(Value::Nil);
    }
    let tag = buf[*pos];
    *pos += 1;
    let text = line(buf, pos);
    Ok(match tag {
        b':' => Value::Number(number(text) as f64),
        b'$' | b'=' | b'!' => {
            let n = number(text);
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let start = *pos;
            let end = (start + n as usize).min(buf.len());
            *pos = (end + 2).min(buf.len());
            let body = &buf[start..end];
            match tag {
                b'=' => {
                    let (format, s) = if body.len() >= 4 {
                        (&body[..3], &body[4..])
                    } else {
                        (&b""[..], body)
                    };
                    let t = lua.create_table()?;
                    t.raw_set("format", lua.create_string(format)?)?;
                    t.raw_set("string", lua.create_string(s)?)?;
                    table1(lua, "verbatim_string", Value::Table(t))?
                }
                b'!' => error_table(lua, body)?,
                _ => Value::String(lua.create_string(body)?),
            }
        }
        b'+' => table1(lua, "ok", Value::String(lua.create_string(text)?))?,
        b'-' => error_table(lua, text)?,
        b'*' | b'~' | b'>' => {
            let n = number(text);
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let t = lua.create_table_with_capacity(n.min(1024) as usize, 0)?;
            for i in 0..n {
                let v = parse(lua, buf, pos, depth + 1)?;
                if tag == b'~' {
                    super::checked_set(&t, v, Value::Boolean(true))?;
                } else {
                    t.raw_set(i + 1, v)?;
                }
            }
            if tag == b'~' {
                table1(lua, "set", Value::Table(t))?
            } else {
                Value::Table(t)
            }
        }
        b'%' | b'|' => {
            let n = number(text);
            let t = lua.create_table()?;
            for _ in 0..n.max(0) {
                let k = parse(lua, buf, pos, depth + 1)?;
                let v = parse(lua, buf, pos, depth + 1)?;
                super::checked_set(&t, k, v)?;
            }
            if tag == b'|' {
                // An attribute precedes the reply it describes: skipped.
                return parse(lua, buf, pos, depth);
            }
            table1(lua, "map", Value::Table(t))?
        }
        b'_' => Value::Nil,
        b'#' => Value::Boolean(text == b"t"),
        b',' => {
            let s = String::from_utf8_lossy(text);
            let v = match s.as_ref() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" => f64::NAN,
                s => s.parse().unwrap_or(0.0),
            };
            table1(lua, "double", Value::Number(v))?
        }
        b'(' => table1(lua, "big_number", Value::String(lua.create_string(text)?))?,
        _ => Value::Nil,
    })
}

/// `{err=…, ignore_error_stats_update=true}` from an error reply's text.
fn error_table(lua: &Lua, text: &[u8]) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set("err", lua.create_string(text)?)?;
    t.raw_set("ignore_error_stats_update", true)?;
    Ok(Value::Table(t))
}

/// `\r` and `\n` become spaces in a status or big number (Redis's
/// `sdsmapchars`).
fn one_line(s: &[u8]) -> Vec<u8> {
    s.iter()
        .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
        .collect()
}

/// Writes a script's return value as a reply. `script_resp` is the
/// protocol the script chose (`redis.setresp`): booleans follow it.
pub fn write_reply(
    out: &mut Reply,
    script_resp: Proto,
    v: &Value,
    depth: usize,
) -> mlua::Result<()> {
    if depth > MAX_DEPTH {
        out.error(b"ERR reached lua stack limit");
        return Ok(());
    }
    match v {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(b) => match (script_resp, b) {
            (Proto::Resp2, true) => out.int(1),
            (Proto::Resp2, false) => out.null(),
            (Proto::Resp3, b) => match out.proto {
                Proto::Resp3 => out
                    .buf
                    .extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
                Proto::Resp2 => out.int(*b as i64),
            },
        },
        Value::Number(n) => out.int(saturating_i64(*n)),
        Value::Integer(n) => out.int(*n),
        Value::Table(t) => write_table(out, script_resp, t, depth)?,
        _ => out.null(),
    }
    Ok(())
}

/// C's `(long long)` of a double, without the undefined behaviour.
fn saturating_i64(n: f64) -> i64 {
    if n.is_nan() {
        i64::MIN
    } else {
        n as i64
    }
}

fn write_table(out: &mut Reply, script_resp: Proto, t: &Table, depth: usize) -> mlua::Result<()> {
    if let Value::String(e) = t.raw_get::<Value>("err")? {
        let e = e.as_bytes().to_vec();
        out.error(&e);
        return Ok(());
    }
    if let Value::String(s) = t.raw_get::<Value>("ok")? {
        let s = one_line(&s.as_bytes());
        out.simple(&s);
        return Ok(());
    }
    match t.raw_get::<Value>("double")? {
        Value::Number(n) => {
            out.double(n);
            return Ok(());
        }
        Value::Integer(n) => {
            out.double(n as f64);
            return Ok(());
        }
        _ => {}
    }
    if let Value::String(s) = t.raw_get::<Value>("big_number")? {
        let s = one_line(&s.as_bytes());
        match out.proto {
            Proto::Resp3 => {
                out.buf.push(b'(');
                out.buf.extend_from_slice(&s);
                out.buf.extend_from_slice(b"\r\n");
            }
            Proto::Resp2 => out.bulk(&s),
        }
        return Ok(());
    }
    if let Value::Table(v) = t.raw_get::<Value>("verbatim_string")? {
        if let (Value::String(format), Value::String(s)) =
            (v.raw_get::<Value>("format")?, v.raw_get::<Value>("string")?)
        {
            let (format, s) = (format.as_bytes(), s.as_bytes());
            match out.proto {
                Proto::Resp3 => {
                    out.buf.push(b'=');
                    crate::resp::push_int(&mut out.buf, s.len() as i64 + 4);
                    out.buf.extend_from_slice(b"\r\n");
                    let mut f = [b' '; 3];
                    for (d, c) in f.iter_mut().zip(format.iter()) {
                        *d = *c;
                    }
                    out.buf.extend_from_slice(&f);
                    out.buf.push(b':');
                    out.buf.extend_from_slice(&s);
                    out.buf.extend_from_slice(b"\r\n");
                }
                Proto::Resp2 => out.bulk(&s),
            }
            return Ok(());
        }
    }
    if let Value::Table(m) = t.raw_get::<Value>("map")? {
        let pairs = super::entries(&m)?;
        out.map(pairs.len());
        for (k, v) in &pairs {
            write_reply(out, script_resp, k, depth + 1)?;
            write_reply(out, script_resp, v, depth + 1)?;
        }
        return Ok(());
    }
    if let Value::Table(s) = t.raw_get::<Value>("set")? {
        let keys: Vec<Value> = super::entries(&s)?.into_iter().map(|(k, _)| k).collect();
        out.set(keys.len());
        for k in &keys {
            write_reply(out, script_resp, k, depth + 1)?;
        }
        return Ok(());
    }
    let mut items = Vec::new();
    loop {
        let v: Value = t.raw_get(items.len() + 1)?;
        if v.is_nil() {
            break;
        }
        items.push(v);
    }
    out.array(items.len());
    for v in &items {
        write_reply(out, script_resp, v, depth + 1)?;
    }
    Ok(())
}
