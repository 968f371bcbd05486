//! The C libraries Redis links into its Lua (deps/lua: lua_cjson,
//! lua_cmsgpack, lua_bit, lua_struct), rewritten in Rust with the behaviour
//! and error texts scripts see from Redis 7.0, and Redis's deterministic
//! `math.random`.

use std::cell::Cell;
use std::rc::Rc;

use mlua::{Lua, MultiValue, Table, Value};

use super::{lua_error, lua_number_string};

/// lrand48's state at process start (`x = 0x1234ABCD330E`).
pub const LRAND48_INITIAL: u64 = 0x1234_ABCD_330E;

/// Installs cjson, cmsgpack, bit, struct and Redis's math.random.
pub fn install(lua: &Lua, globals: &Table, rand: Rc<Cell<u64>>) -> mlua::Result<()> {
    globals.raw_set("cjson", cjson(lua)?)?;
    globals.raw_set("cmsgpack", cmsgpack(lua)?)?;
    globals.raw_set("bit", bit(lua)?)?;
    globals.raw_set("struct", structlib(lua)?)?;
    let math: Table = globals.raw_get("math")?;
    let r = rand.clone();
    math.raw_set(
        "random",
        lua.create_function(move |lua, args: MultiValue| {
            let x = r.get().wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB) & ((1 << 48) - 1);
            r.set(x);
            let v = (x >> 17) as i64 % i32::MAX as i64;
            let f = v as f64 / i32::MAX as f64;
            let int = |v: &Value| -> mlua::Result<i64> {
                match v {
                    Value::Number(n) => Ok(*n as i64),
                    Value::Integer(n) => Ok(*n),
                    Value::String(s) => std::str::from_utf8(&s.as_bytes())
                        .ok()
                        .and_then(|s| s.trim().parse::<f64>().ok())
                        .map(|n| n as i64)
                        .ok_or_else(|| {
                            lua_error(lua, "bad argument #1 to 'random' (number expected)")
                        }),
                    _ => Err(lua_error(
                        lua,
                        "bad argument #1 to 'random' (number expected, got no value)",
                    )),
                }
            };
            match args.len() {
                0 => Ok(f),
                1 => {
                    let u = int(&args[0])?;
                    if u < 1 {
                        return Err(lua_error(
                            lua,
                            "bad argument #1 to 'random' (interval is empty)",
                        ));
                    }
                    Ok((f * u as f64).floor() + 1.0)
                }
                2 => {
                    let l = int(&args[0])?;
                    let u = int(&args[1])?;
                    if l > u {
                        return Err(lua_error(
                            lua,
                            "bad argument #2 to 'random' (interval is empty)",
                        ));
                    }
                    Ok((f * (u - l + 1) as f64).floor() + l as f64)
                }
                _ => Err(lua_error(lua, "wrong number of arguments")),
            }
        })?,
    )?;
    math.raw_set(
        "randomseed",
        lua.create_function(move |_, seed: f64| {
            let seed = seed as i64 as i32 as u32 as u64;
            rand.set((seed << 16) | 0x330E);
            Ok(())
        })?,
    )?;
    Ok(())
}

// ---------------------------------------------------------------- cjson

/// lua_cjson's settings (its `json_config_t`), one set per interpreter:
/// a script that changes one changes it for the scripts after it, as in
/// Redis, until SCRIPT FLUSH.
#[derive(Clone, Copy)]
struct CjsonConfig {
    sparse_convert: i64,
    sparse_ratio: i64,
    sparse_safe: i64,
    encode_max_depth: i64,
    decode_max_depth: i64,
    /// 0 off (an error), 1 on (`nan`, `inf`), 2 `null`.
    encode_invalid_numbers: i64,
    decode_invalid_numbers: i64,
    keep_buffer: i64,
    precision: i64,
}

impl Default for CjsonConfig {
    fn default() -> Self {
        CjsonConfig {
            sparse_convert: 0,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: 0,
            decode_invalid_numbers: 1,
            keep_buffer: 1,
            precision: 14,
        }
    }
}

type Cfg = Rc<Cell<CjsonConfig>>;

/// One argument of a cjson settings function: the setting it changes,
/// read as lua_cjson's `json_integer_option` (within a range) or
/// `json_enum_option` (a boolean, or one of the names) reads it.
#[derive(Clone, Copy)]
enum Opt {
    Int(fn(&mut CjsonConfig) -> &mut i64, (i64, i64)),
    Enum(fn(&mut CjsonConfig) -> &mut i64, &'static [&'static str]),
}

const INT_MAX: i64 = i32::MAX as i64;

/// cjson's settings functions and their arguments, in order.
const SETTINGS: &[(&str, &[Opt])] = &[
    (
        "encode_sparse_array",
        &[
            Opt::Enum(|c| &mut c.sparse_convert, OFF_ON),
            Opt::Int(|c| &mut c.sparse_ratio, (0, INT_MAX)),
            Opt::Int(|c| &mut c.sparse_safe, (0, INT_MAX)),
        ],
    ),
    (
        "encode_max_depth",
        &[Opt::Int(|c| &mut c.encode_max_depth, (1, INT_MAX))],
    ),
    (
        "decode_max_depth",
        &[Opt::Int(|c| &mut c.decode_max_depth, (1, INT_MAX))],
    ),
    (
        "encode_number_precision",
        &[Opt::Int(|c| &mut c.precision, (1, 14))],
    ),
    (
        "encode_keep_buffer",
        &[Opt::Enum(|c| &mut c.keep_buffer, OFF_ON)],
    ),
    (
        "encode_invalid_numbers",
        &[Opt::Enum(
            |c| &mut c.encode_invalid_numbers,
            &["off", "on", "null"],
        )],
    ),
    (
        "decode_invalid_numbers",
        &[Opt::Enum(|c| &mut c.decode_invalid_numbers, OFF_ON)],
    ),
];

/// The name the running C function was called by, or `?`.
fn called_name(lua: &Lua) -> String {
    lua.inspect_stack(0)
        .and_then(|d| d.names().name.map(|n| n.into_owned()))
        .unwrap_or_else(|| "?".to_string())
}

/// lua_cjson's `json_integer_option`: argument `i` (0-based), if given,
/// must be an integer in `min..=max` (the range error names argument 1,
/// as lua_cjson's does); returns the setting.
fn int_option(
    lua: &Lua,
    name: &str,
    args: &MultiValue,
    i: usize,
    setting: &mut i64,
    (min, max): (i64, i64),
) -> mlua::Result<Value> {
    match args.get(i) {
        None | Some(Value::Nil) => {}
        Some(v) => {
            let n = match v {
                Value::Integer(n) => *n as f64,
                Value::Number(n) => *n,
                Value::String(s) => std::str::from_utf8(&s.as_bytes())
                    .ok()
                    .and_then(|t| t.trim().parse::<f64>().ok())
                    .ok_or_else(|| arg_type_error(lua, name, i, "number", v))?,
                other => return Err(arg_type_error(lua, name, i, "number", other)),
            };
            let n = n as i64;
            if !(min..=max).contains(&n) {
                return Err(lua_error(
                    lua,
                    &format!(
                        "bad argument #1 to '{name}' (expected integer between {min} and {max})"
                    ),
                ));
            }
            *setting = n;
        }
    }
    Ok(Value::Integer(*setting))
}

/// lua_cjson's `json_enum_option`: a boolean, or one of `options` by
/// name; returns a boolean for off/on, the option's name otherwise.
fn enum_option(
    lua: &Lua,
    name: &str,
    args: &MultiValue,
    i: usize,
    setting: &mut i64,
    options: &[&str],
) -> mlua::Result<Value> {
    match args.get(i) {
        None | Some(Value::Nil) => {}
        Some(Value::Boolean(b)) => *setting = i64::from(*b),
        Some(v) => {
            let text = match v {
                Value::String(s) => s.to_string_lossy(),
                Value::Integer(_) | Value::Number(_) => {
                    String::from_utf8_lossy(&super::lua_to_bytes(v).unwrap_or_default())
                        .into_owned()
                }
                other => return Err(arg_type_error(lua, name, i, "string", other)),
            };
            let Some(at) = options.iter().position(|o| *o == text) else {
                return Err(lua_error(
                    lua,
                    &format!(
                        "bad argument #{} to '{name}' (invalid option '{text}')",
                        i + 1
                    ),
                ));
            };
            *setting = at as i64;
        }
    }
    Ok(match *setting {
        0 | 1 => Value::Boolean(*setting == 1),
        n => Value::String(lua.create_string(options[n as usize])?),
    })
}

fn arg_type_error(lua: &Lua, name: &str, i: usize, expected: &str, got: &Value) -> mlua::Error {
    lua_error(
        lua,
        &format!(
            "bad argument #{} to '{name}' ({expected} expected, got {})",
            i + 1,
            type_name(got)
        ),
    )
}

const OFF_ON: &[&str] = &["off", "on"];

fn cjson(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let cfg: Cfg = Rc::default();
    let config = cfg.clone();
    t.raw_set(
        "encode",
        lua.create_function(move |lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(lua_error(
                    lua,
                    "bad argument #1 to 'encode' (expected 1 argument)",
                ));
            }
            let mut out = Vec::new();
            json_encode(lua, &config.get(), &args[0], &mut out, 0)?;
            lua.create_string(&out)
        })?,
    )?;
    let config = cfg.clone();
    t.raw_set(
        "decode",
        lua.create_function(move |lua, args: MultiValue| {
            let s = match args.front() {
                Some(Value::String(s)) if args.len() == 1 => s.as_bytes().to_vec(),
                Some(v @ (Value::Number(_) | Value::Integer(_))) if args.len() == 1 => {
                    super::lua_to_bytes(v).unwrap_or_default()
                }
                _ => {
                    return Err(lua_error(
                        lua,
                        "bad argument #1 to 'decode' (expected 1 argument)",
                    ))
                }
            };
            let mut p = JsonParser {
                s: &s,
                pos: 0,
                cfg: config.get(),
            };
            let v = p.value(lua, 0)?;
            let tok = p.token();
            if !matches!(tok.kind, Tok::End) {
                return Err(p.fail(lua, "the end", &tok));
            }
            Ok(v)
        })?,
    )?;
    t.raw_set(
        "null",
        Value::LightUserData(mlua::LightUserData(std::ptr::null_mut())),
    )?;
    for &(name, opts) in SETTINGS {
        let cfg = cfg.clone();
        let f = lua.create_function(move |lua, args: MultiValue| {
            // Errors name the function as it was called (`?` through
            // pcall), as luaL_argerror does.
            let called = called_name(lua);
            if args.len() > opts.len() {
                return Err(lua_error(
                    lua,
                    &format!(
                        "bad argument #{} to '{called}' (found too many arguments)",
                        opts.len() + 1
                    ),
                ));
            }
            let mut c = cfg.get();
            let mut out = MultiValue::new();
            for (i, opt) in opts.iter().enumerate() {
                out.push_back(match *opt {
                    Opt::Int(field, range) => {
                        int_option(lua, &called, &args, i, field(&mut c), range)?
                    }
                    Opt::Enum(field, options) => {
                        enum_option(lua, &called, &args, i, field(&mut c), options)?
                    }
                });
            }
            cfg.set(c);
            Ok(out)
        })?;
        t.raw_set(name, f)?;
    }
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::LightUserData(_) | Value::UserData(_) => "userdata",
        Value::Number(_) | Value::Integer(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

fn json_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\x08' => out.extend_from_slice(b"\\b"),
            b'\x0c' => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            c if c < 0x20 || c == 0x7f => {
                out.extend_from_slice(format!("\\u{:04x}", c).as_bytes());
            }
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn json_number(lua: &Lua, cfg: &CjsonConfig, n: f64, out: &mut Vec<u8>) -> mlua::Result<()> {
    if !n.is_finite() {
        match cfg.encode_invalid_numbers {
            0 => {
                return Err(lua_error(
                    lua,
                    "Cannot serialise number: must not be NaN or Inf",
                ))
            }
            1 if n.is_nan() => {
                out.extend_from_slice(b"nan");
                return Ok(());
            }
            1 => {
                out.extend_from_slice(if n > 0.0 { b"inf" } else { b"-inf" });
                return Ok(());
            }
            _ => {
                out.extend_from_slice(b"null");
                return Ok(());
            }
        }
    }
    out.extend_from_slice(crate::resp::format_g(n, cfg.precision as usize).as_bytes());
    Ok(())
}

fn json_encode(
    lua: &Lua,
    cfg: &CjsonConfig,
    v: &Value,
    out: &mut Vec<u8>,
    depth: i64,
) -> mlua::Result<()> {
    match v {
        Value::String(s) => json_string(&s.as_bytes(), out),
        Value::Number(n) => json_number(lua, cfg, *n, out)?,
        Value::Integer(n) => json_number(lua, cfg, *n as f64, out)?,
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > cfg.encode_max_depth {
                return Err(lua_error(
                    lua,
                    &format!("Cannot serialise, excessive nesting ({depth})"),
                ));
            }
            // lua_cjson's lua_array_length: an array when every key is a
            // positive integer, unless it is excessively sparse.
            let mut max = 0f64;
            let mut items = 0usize;
            let mut array = true;
            for (k, _) in super::entries(t)? {
                items += 1;
                match k {
                    Value::Number(n) if n >= 1.0 && n.floor() == n => max = max.max(n),
                    Value::Integer(n) if n >= 1 => max = max.max(n as f64),
                    _ => {
                        array = false;
                        break;
                    }
                }
            }
            let sparse = cfg.sparse_ratio > 0
                && max > (items as f64) * cfg.sparse_ratio as f64
                && max > cfg.sparse_safe as f64;
            if array && max > 0.0 && sparse && cfg.sparse_convert == 0 {
                return Err(lua_error(
                    lua,
                    "Cannot serialise table: excessively sparse array",
                ));
            }
            if array && max > 0.0 && !sparse {
                out.push(b'[');
                for i in 1..=(max as usize) {
                    if i > 1 {
                        out.push(b',');
                    }
                    let v: Value = t.raw_get(i)?;
                    json_encode(lua, cfg, &v, out, depth)?;
                }
                out.push(b']');
            } else {
                out.push(b'{');
                let mut first = true;
                for (k, v) in super::entries(t)? {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    match &k {
                        Value::String(s) => json_string(&s.as_bytes(), out),
                        Value::Number(n) => {
                            out.push(b'"');
                            json_number(lua, cfg, *n, out)?;
                            out.push(b'"');
                        }
                        Value::Integer(n) => {
                            out.push(b'"');
                            json_number(lua, cfg, *n as f64, out)?;
                            out.push(b'"');
                        }
                        other => {
                            return Err(lua_error(
                                lua,
                                &format!(
                                    "Cannot serialise {}: table key must be a number or string",
                                    type_name(other)
                                ),
                            ))
                        }
                    }
                    out.push(b':');
                    json_encode(lua, cfg, &v, out, depth)?;
                }
                out.push(b'}');
            }
        }
        other => {
            return Err(lua_error(
                lua,
                &format!("Cannot serialise {}: type not supported", type_name(other)),
            ))
        }
    }
    Ok(())
}

enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str(Vec<u8>),
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

struct Token {
    kind: Tok,
    /// Where the token starts (0-based).
    at: usize,
}

/// lua_cjson's `json_is_invalid_number`: what strtod reads but JSON has
/// not (a plus sign, hexadecimal, leading zeros, Inf, NaN).
fn invalid_number(s: &[u8]) -> bool {
    if s.first() == Some(&b'+') {
        return true;
    }
    let p = s.strip_prefix(b"-").unwrap_or(s);
    match p.first() {
        Some(b'0') => matches!(p.get(1), Some(b'x' | b'X' | b'0'..=b'9')),
        None => false,
        Some(c) if *c <= b'9' => false,
        _ => {
            p.len() >= 3
                && (p[..3].eq_ignore_ascii_case(b"inf") || p[..3].eq_ignore_ascii_case(b"nan"))
        }
    }
}

struct JsonParser<'a> {
    s: &'a [u8],
    pos: usize,
    cfg: CjsonConfig,
}

impl JsonParser<'_> {
    fn fail(&self, lua: &Lua, expected: &str, tok: &Token) -> mlua::Error {
        let found = match &tok.kind {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str(_) => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(m) => m,
        };
        lua_error(
            lua,
            &format!(
                "Expected {expected} but found {found} at character {}",
                tok.at + 1
            ),
        )
    }

    fn token(&mut self) -> Token {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let at = self.pos;
        let Some(&c) = self.s.get(at) else {
            return Token { kind: Tok::End, at };
        };
        let single = |kind| Token { kind, at };
        let kind = match c {
            b'{' => Tok::ObjBegin,
            b'}' => Tok::ObjEnd,
            b'[' => Tok::ArrBegin,
            b']' => Tok::ArrEnd,
            b':' => Tok::Colon,
            b',' => Tok::Comma,
            b'"' => return self.string(at),
            b'-' | b'0'..=b'9' => {
                if self.cfg.decode_invalid_numbers == 0 && invalid_number(&self.s[at..]) {
                    return single(Tok::Error("invalid number"));
                }
                return self.number(at);
            }
            b't' if self.s[at..].starts_with(b"true") => {
                self.pos += 4;
                return single(Tok::Bool(true));
            }
            b'f' if self.s[at..].starts_with(b"false") => {
                self.pos += 5;
                return single(Tok::Bool(false));
            }
            b'n' if self.s[at..].starts_with(b"null") => {
                self.pos += 4;
                return single(Tok::Null);
            }
            // Inf, NaN, hexadecimal: strtod's, when allowed.
            _ if self.cfg.decode_invalid_numbers != 0 && invalid_number(&self.s[at..]) => {
                return self.number(at)
            }
            _ => return single(Tok::Error("invalid token")),
        };
        self.pos += 1;
        single(kind)
    }

    fn number(&mut self, at: usize) -> Token {
        let rest = &self.s[at..];
        let digits = rest.strip_prefix(b"-").unwrap_or(rest);
        // strtod reads hexadecimal too.
        if digits.len() > 2 && digits[0] == b'0' && matches!(digits[1], b'x' | b'X') {
            let hex = digits[2..]
                .iter()
                .take_while(|c| c.is_ascii_hexdigit())
                .count();
            if hex > 0 {
                let v = digits[2..2 + hex].iter().fold(0f64, |a, &c| {
                    a * 16.0 + (c as char).to_digit(16).unwrap_or(0) as f64
                });
                let v = if digits.len() < rest.len() { -v } else { v };
                self.pos = at + (rest.len() - digits.len()) + 2 + hex;
                return Token {
                    kind: Tok::Num(v),
                    at,
                };
            }
        }
        let len = rest
            .iter()
            .position(|c| !(matches!(c, b'-' | b'+' | b'.') || c.is_ascii_alphanumeric()))
            .unwrap_or(rest.len());
        // strtod reads the longest valid prefix.
        let mut end = len;
        while end > 0 {
            if let Some(v) = std::str::from_utf8(&rest[..end])
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
            {
                self.pos = at + end;
                return Token {
                    kind: Tok::Num(v),
                    at,
                };
            }
            end -= 1;
        }
        Token {
            kind: Tok::Error("invalid number"),
            at,
        }
    }

    fn string(&mut self, at: usize) -> Token {
        let mut out = Vec::new();
        let mut i = at + 1;
        let err = |m, at| Token {
            kind: Tok::Error(m),
            at,
        };
        loop {
            let Some(&c) = self.s.get(i) else {
                return err("unexpected end of string", i);
            };
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(i + 1) else {
                        return err("unexpected end of string", i + 1);
                    };
                    let escape_at = i;
                    i += 2;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let Some(mut cp) = hex4(&self.s[i..]) else {
                                return err("invalid unicode escape code", escape_at);
                            };
                            i += 4;
                            if (0xD800..0xDC00).contains(&cp) {
                                let low = if self.s[i..].starts_with(b"\\u") {
                                    hex4(&self.s[i + 2..])
                                } else {
                                    None
                                };
                                match low {
                                    Some(l) if (0xDC00..0xE000).contains(&l) => {
                                        cp = 0x10000 + ((cp - 0xD800) << 10) + (l - 0xDC00);
                                        i += 6;
                                    }
                                    _ => return err("invalid unicode escape code", escape_at),
                                }
                            } else if (0xDC00..0xE000).contains(&cp) {
                                return err("invalid unicode escape code", escape_at);
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                            let mut b = [0; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                        }
                        _ => return err("invalid escape code", escape_at),
                    }
                }
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        self.pos = i + 1;
        Token {
            kind: Tok::Str(out),
            at,
        }
    }

    fn value(&mut self, lua: &Lua, depth: usize) -> mlua::Result<Value> {
        let tok = self.token();
        self.value_from(lua, tok, depth)
    }

    /// An array element or an object's value: `tok` must start a value.
    fn element(&mut self, lua: &Lua, tok: Token, depth: usize) -> mlua::Result<Value> {
        if matches!(
            tok.kind,
            Tok::ArrEnd | Tok::ObjEnd | Tok::Colon | Tok::Comma | Tok::End | Tok::Error(_)
        ) {
            return Err(self.fail(lua, "value", &tok));
        }
        self.value_from(lua, tok, depth)
    }

    fn value_from(&mut self, lua: &Lua, tok: Token, depth: usize) -> mlua::Result<Value> {
        Ok(match tok.kind {
            Tok::Str(s) => Value::String(lua.create_string(&s)?),
            Tok::Num(n) => Value::Number(n),
            Tok::Bool(b) => Value::Boolean(b),
            Tok::Null => Value::LightUserData(mlua::LightUserData(std::ptr::null_mut())),
            Tok::ObjBegin | Tok::ArrBegin => {
                let depth = depth + 1;
                if depth as i64 > self.cfg.decode_max_depth {
                    return Err(lua_error(
                        lua,
                        &format!(
                            "Found too many nested data structures ({depth}) at character {}",
                            tok.at + 1
                        ),
                    ));
                }
                let t = lua.create_table()?;
                if matches!(tok.kind, Tok::ArrBegin) {
                    let mut i = 1;
                    let mut next = self.token();
                    if matches!(next.kind, Tok::ArrEnd) {
                        return Ok(Value::Table(t));
                    }
                    loop {
                        let v = self.element(lua, next, depth)?;
                        t.raw_set(i, v)?;
                        i += 1;
                        let sep = self.token();
                        match sep.kind {
                            Tok::ArrEnd => break,
                            Tok::Comma => next = self.token(),
                            _ => return Err(self.fail(lua, "comma or array end", &sep)),
                        }
                    }
                } else {
                    let mut key = self.token();
                    if matches!(key.kind, Tok::ObjEnd) {
                        return Ok(Value::Table(t));
                    }
                    loop {
                        let Tok::Str(k) = &key.kind else {
                            return Err(self.fail(lua, "object key string", &key));
                        };
                        let k = lua.create_string(k)?;
                        let colon = self.token();
                        if !matches!(colon.kind, Tok::Colon) {
                            return Err(self.fail(lua, "colon", &colon));
                        }
                        let vt = self.token();
                        let v = self.element(lua, vt, depth)?;
                        t.raw_set(k, v)?;
                        let sep = self.token();
                        match sep.kind {
                            Tok::ObjEnd => break,
                            Tok::Comma => key = self.token(),
                            _ => return Err(self.fail(lua, "comma or object end", &sep)),
                        }
                    }
                }
                Value::Table(t)
            }
            _ => return Err(self.fail(lua, "value", &tok)),
        })
    }
}

fn hex4(s: &[u8]) -> Option<u32> {
    if s.len() < 4 {
        return None;
    }
    let t = std::str::from_utf8(&s[..4]).ok()?;
    if !t.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(t, 16).ok()
}

// ---------------------------------------------------------------- cmsgpack

const MSGPACK_MAX_NESTING: usize = 16;

fn cmsgpack(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            if args.is_empty() {
                return Err(lua_error(
                    lua,
                    "bad argument #0 to 'pack' (MessagePack pack needs input.)",
                ));
            }
            let mut out = Vec::new();
            for v in args.iter() {
                mp_encode(v, &mut out, 0)?;
            }
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, data: mlua::String| mp_unpack(lua, &data.as_bytes(), 0, 0))?,
    )?;
    t.raw_set(
        "unpack_one",
        lua.create_function(|lua, (data, offset): (mlua::String, Option<i64>)| {
            mp_unpack(lua, &data.as_bytes(), 1, offset.unwrap_or(0))
        })?,
    )?;
    t.raw_set(
        "unpack_limit",
        lua.create_function(
            |lua, (data, limit, offset): (mlua::String, i64, Option<i64>)| {
                mp_unpack(lua, &data.as_bytes(), limit, offset.unwrap_or(0))
            },
        )?,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    Ok(t)
}

/// lua_cmsgpack's `mp_unpack_full`: the values from `offset` on, at most
/// `limit` of them (0 and 0: all, with no offset returned). With a limit
/// or an offset, the offset to go on from comes first (-1 at the end).
fn mp_unpack(lua: &Lua, data: &[u8], limit: i64, offset: i64) -> mlua::Result<MultiValue> {
    let decode_all = limit == 0 && offset == 0;
    if offset < 0 || limit < 0 {
        // lua_cmsgpack prints the input's length where the limit belongs.
        return Err(lua_error(
            lua,
            &format!(
                "Invalid request to unpack with offset of {offset} and limit of {}.",
                data.len()
            ),
        ));
    }
    if offset as u64 > data.len() as u64 {
        return Err(lua_error(
            lua,
            &format!(
                "Start offset {offset} greater than input length {}.",
                data.len()
            ),
        ));
    }
    let limit = if decode_all { i64::MAX } else { limit };
    let mut pos = offset as usize;
    let mut values = Vec::new();
    while pos < data.len() && (values.len() as i64) < limit {
        values.push(mp_decode(lua, data, &mut pos, 0)?);
    }
    if !decode_all {
        let next = if pos >= data.len() { -1 } else { pos as i64 };
        values.insert(0, Value::Integer(next));
    }
    Ok(MultiValue::from_iter(values))
}

fn mp_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        let u = n as u64;
        if u <= 127 {
            out.push(u as u8);
        } else if u <= 0xff {
            out.extend_from_slice(&[0xcc, u as u8]);
        } else if u <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(u as u16).to_be_bytes());
        } else if u <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(u as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&u.to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -(1 << 31) {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn mp_len(len: usize, fix: u8, fix_max: usize, t16: u8, out: &mut Vec<u8>) {
    if len <= fix_max {
        out.push(fix | len as u8);
    } else if len <= 0xffff {
        out.push(t16);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(t16 + 1);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn mp_encode(v: &Value, out: &mut Vec<u8>, depth: usize) -> mlua::Result<()> {
    match v {
        Value::String(s) => {
            let s = s.as_bytes();
            let len = s.len();
            if len < 32 {
                out.push(0xa0 | len as u8);
            } else if len <= 0xff {
                out.extend_from_slice(&[0xd9, len as u8]);
            } else if len <= 0xffff {
                out.push(0xda);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            } else {
                out.push(0xdb);
                out.extend_from_slice(&(len as u32).to_be_bytes());
            }
            out.extend_from_slice(&s);
        }
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(n) => mp_int(*n, out),
        Value::Number(n) => {
            let n = *n;
            if n.is_finite() && n.floor() == n && (-9.2e18..=9.2e18).contains(&n) {
                mp_int(n as i64, out);
            } else if (n as f32) as f64 == n || n.is_nan() {
                out.push(0xca);
                out.extend_from_slice(&(n as f32).to_be_bytes());
            } else {
                out.push(0xcb);
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
        Value::Table(t) if depth < MSGPACK_MAX_NESTING => {
            // An array when its keys are exactly 1..n.
            let mut count = 0usize;
            let mut max = 0f64;
            let mut array = true;
            for (k, _) in super::entries(t)? {
                count += 1;
                match k {
                    Value::Number(n) if n >= 1.0 && n.floor() == n => max = max.max(n),
                    Value::Integer(n) if n >= 1 => max = max.max(n as f64),
                    _ => array = false,
                }
            }
            if array && max as usize == count {
                mp_len(count, 0x90, 15, 0xdc, out);
                for i in 1..=count {
                    let v: Value = t.raw_get(i)?;
                    mp_encode(&v, out, depth + 1)?;
                }
            } else {
                mp_len(count, 0x80, 15, 0xde, out);
                for (k, v) in super::entries(t)? {
                    mp_encode(&k, out, depth + 1)?;
                    mp_encode(&v, out, depth + 1)?;
                }
            }
        }
        _ => out.push(0xc0),
    }
    Ok(())
}

fn mp_take<'a>(lua: &Lua, data: &'a [u8], pos: &mut usize, n: usize) -> mlua::Result<&'a [u8]> {
    if data.len() - *pos < n {
        return Err(lua_error(lua, "Missing bytes in input."));
    }
    let s = &data[*pos..*pos + n];
    *pos += n;
    Ok(s)
}

fn mp_decode(lua: &Lua, data: &[u8], pos: &mut usize, depth: usize) -> mlua::Result<Value> {
    if depth > 1000 {
        return Err(lua_error(lua, "Bad data format in input."));
    }
    let c = mp_take(lua, data, pos, 1)?[0];
    let be = |b: &[u8]| b.iter().fold(0u64, |a, &x| (a << 8) | x as u64);
    let num = |n: f64| Ok(Value::Number(n));
    let string = |lua: &Lua, pos: &mut usize, n: usize| -> mlua::Result<Value> {
        let s = mp_take(lua, data, pos, n)?;
        Ok(Value::String(lua.create_string(s)?))
    };
    match c {
        0x00..=0x7f => num(c as f64),
        0xe0..=0xff => num(c as i8 as f64),
        0xa0..=0xbf => string(lua, pos, (c & 0x1f) as usize),
        0x90..=0x9f => mp_array(lua, data, pos, (c & 0x0f) as usize, depth),
        0x80..=0x8f => mp_map(lua, data, pos, (c & 0x0f) as usize, depth),
        0xc0 => Ok(Value::Nil),
        0xc2 => Ok(Value::Boolean(false)),
        0xc3 => Ok(Value::Boolean(true)),
        0xcc => num(be(mp_take(lua, data, pos, 1)?) as f64),
        0xcd => num(be(mp_take(lua, data, pos, 2)?) as f64),
        0xce => num(be(mp_take(lua, data, pos, 4)?) as f64),
        0xcf => num(be(mp_take(lua, data, pos, 8)?) as f64),
        0xd0 => num(mp_take(lua, data, pos, 1)?[0] as i8 as f64),
        0xd1 => num(be(mp_take(lua, data, pos, 2)?) as u16 as i16 as f64),
        0xd2 => num(be(mp_take(lua, data, pos, 4)?) as u32 as i32 as f64),
        0xd3 => num(be(mp_take(lua, data, pos, 8)?) as i64 as f64),
        0xca => num(f32::from_bits(be(mp_take(lua, data, pos, 4)?) as u32) as f64),
        0xcb => num(f64::from_bits(be(mp_take(lua, data, pos, 8)?))),
        0xd9 | 0xc4 => {
            let n = be(mp_take(lua, data, pos, 1)?) as usize;
            string(lua, pos, n)
        }
        0xda | 0xc5 => {
            let n = be(mp_take(lua, data, pos, 2)?) as usize;
            string(lua, pos, n)
        }
        0xdb | 0xc6 => {
            let n = be(mp_take(lua, data, pos, 4)?) as usize;
            string(lua, pos, n)
        }
        0xdc => {
            let n = be(mp_take(lua, data, pos, 2)?) as usize;
            mp_array(lua, data, pos, n, depth)
        }
        0xdd => {
            let n = be(mp_take(lua, data, pos, 4)?) as usize;
            mp_array(lua, data, pos, n, depth)
        }
        0xde => {
            let n = be(mp_take(lua, data, pos, 2)?) as usize;
            mp_map(lua, data, pos, n, depth)
        }
        0xdf => {
            let n = be(mp_take(lua, data, pos, 4)?) as usize;
            mp_map(lua, data, pos, n, depth)
        }
        _ => Err(lua_error(lua, "Bad data format in input.")),
    }
}

fn mp_array(
    lua: &Lua,
    data: &[u8],
    pos: &mut usize,
    n: usize,
    depth: usize,
) -> mlua::Result<Value> {
    // Every element takes at least a byte: a count the input cannot hold
    // is refused before any memory is reserved for it.
    if n > data.len() - *pos {
        return Err(lua_error(lua, "Missing bytes in input."));
    }
    let t = lua.create_table_with_capacity(n, 0)?;
    for i in 1..=n {
        let v = mp_decode(lua, data, pos, depth + 1)?;
        t.raw_set(i, v)?;
    }
    Ok(Value::Table(t))
}

fn mp_map(lua: &Lua, data: &[u8], pos: &mut usize, n: usize, depth: usize) -> mlua::Result<Value> {
    if n > data.len() - *pos {
        return Err(lua_error(lua, "Missing bytes in input."));
    }
    let t = lua.create_table()?;
    for _ in 0..n {
        let k = mp_decode(lua, data, pos, depth + 1)?;
        let v = mp_decode(lua, data, pos, depth + 1)?;
        super::checked_set(&t, k, v)?;
    }
    Ok(Value::Table(t))
}

// ---------------------------------------------------------------- bit

fn tobit(lua: &Lua, v: &Value, fname: &str, arg: usize) -> mlua::Result<i32> {
    let n = match v {
        Value::Number(n) => *n,
        Value::Integer(n) => *n as f64,
        Value::String(s) => std::str::from_utf8(&s.as_bytes())
            .ok()
            .and_then(|t| t.trim().parse::<f64>().ok())
            .ok_or_else(|| {
                lua_error(
                    lua,
                    &format!("bad argument #{arg} to '{fname}' (number expected, got string)"),
                )
            })?,
        other => {
            let got = if other.is_nil() {
                "no value"
            } else {
                type_name(other)
            };
            return Err(lua_error(
                lua,
                &format!("bad argument #{arg} to '{fname}' (number expected, got {got})"),
            ));
        }
    };
    // LuaBitOp: add 2^52 + 2^51 and keep the low 32 bits of the mantissa.
    let b = (n + 6_755_399_441_055_744.0).to_bits() as u32;
    Ok(b as i32)
}

fn bit(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "tobit",
        lua.create_function(|lua, a: MultiValue| {
            Ok(tobit(lua, a.front().unwrap_or(&Value::Nil), "tobit", 1)? as f64)
        })?,
    )?;
    t.raw_set(
        "bnot",
        lua.create_function(|lua, a: MultiValue| {
            Ok(!tobit(lua, a.front().unwrap_or(&Value::Nil), "bnot", 1)? as f64)
        })?,
    )?;
    t.raw_set(
        "bswap",
        lua.create_function(|lua, a: MultiValue| {
            Ok(tobit(lua, a.front().unwrap_or(&Value::Nil), "bswap", 1)?.swap_bytes() as f64)
        })?,
    )?;
    type Fold = fn(i32, i32) -> i32;
    let folds: [(&str, Fold); 3] = [
        ("band", |a, b| a & b),
        ("bor", |a, b| a | b),
        ("bxor", |a, b| a ^ b),
    ];
    for (name, f) in folds {
        t.raw_set(
            name,
            lua.create_function(move |lua, a: MultiValue| {
                let mut acc = tobit(lua, a.front().unwrap_or(&Value::Nil), name, 1)?;
                for (i, v) in a.iter().enumerate().skip(1) {
                    acc = f(acc, tobit(lua, v, name, i + 1)?);
                }
                Ok(acc as f64)
            })?,
        )?;
    }
    type Shift = fn(i32, u32) -> i32;
    let shifts: [(&str, Shift); 5] = [
        ("lshift", |a, n| ((a as u32) << n) as i32),
        ("rshift", |a, n| ((a as u32) >> n) as i32),
        ("arshift", |a, n| a >> n),
        ("rol", |a, n| (a as u32).rotate_left(n) as i32),
        ("ror", |a, n| (a as u32).rotate_right(n) as i32),
    ];
    for (name, f) in shifts {
        t.raw_set(
            name,
            lua.create_function(move |lua, a: MultiValue| {
                let x = tobit(lua, a.front().unwrap_or(&Value::Nil), name, 1)?;
                let n = tobit(lua, a.get(1).unwrap_or(&Value::Nil), name, 2)? as u32 & 31;
                Ok(f(x, n) as f64)
            })?,
        )?;
    }
    t.raw_set(
        "tohex",
        lua.create_function(|lua, a: MultiValue| {
            let x = tobit(lua, a.front().unwrap_or(&Value::Nil), "tohex", 1)? as u32;
            let n = match a.get(1) {
                None | Some(Value::Nil) => 8,
                Some(v) => tobit(lua, v, "tohex", 2)?,
            };
            let upper = n < 0;
            let n = n.unsigned_abs().min(8) as usize;
            let s = if upper {
                format!("{x:08X}")
            } else {
                format!("{x:08x}")
            };
            Ok(s[8 - n..].to_string())
        })?,
    )?;
    Ok(t)
}

// ---------------------------------------------------------------- struct

/// Byte order and the parsed options of a struct format.
struct Fmt<'a> {
    s: &'a [u8],
    pos: usize,
    little: bool,
}

impl Fmt<'_> {
    fn size_suffix(&mut self, default: usize) -> usize {
        let start = self.pos;
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
        if start == self.pos {
            return default;
        }
        std::str::from_utf8(&self.s[start..self.pos])
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(default)
    }
}

fn struct_size_of(lua: &Lua, f: &mut Fmt, c: u8) -> mlua::Result<usize> {
    Ok(match c {
        b'b' | b'B' | b'x' => 1,
        b'h' | b'H' => 2,
        b'l' | b'L' | b'T' => 8,
        b'f' => 4,
        b'd' => 8,
        b'i' | b'I' => {
            let n = f.size_suffix(4);
            if !(1..=8).contains(&n) {
                return Err(lua_error(
                    lua,
                    &format!("integral size {n} is larger than limit of 8"),
                ));
            }
            n
        }
        b'c' => f.size_suffix(1),
        _ => 0,
    })
}

fn structlib(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            let fmt = match args.front() {
                Some(Value::String(s)) => s.as_bytes().to_vec(),
                _ => {
                    return Err(lua_error(
                        lua,
                        "bad argument #1 to 'pack' (string expected)",
                    ))
                }
            };
            let mut f = Fmt {
                s: &fmt,
                pos: 0,
                little: true,
            };
            let mut out = Vec::new();
            let mut arg = 1;
            while f.pos < f.s.len() {
                let c = f.s[f.pos];
                f.pos += 1;
                match c {
                    b'<' => f.little = true,
                    b'>' => f.little = false,
                    b'=' | b'!' | b' ' => {
                        f.size_suffix(0);
                    }
                    b'x' => out.push(0),
                    b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                        let size = struct_size_of(lua, &mut f, c)?;
                        let v = args.get(arg).cloned().unwrap_or(Value::Nil);
                        arg += 1;
                        let n = match v {
                            Value::Number(n) => n as i64,
                            Value::Integer(n) => n,
                            _ => {
                                return Err(lua_error(
                                    lua,
                                    &format!("bad argument #{arg} to 'pack' (number expected)"),
                                ))
                            }
                        };
                        let bytes = n.to_le_bytes();
                        let mut b = bytes[..size.min(8)].to_vec();
                        if !f.little {
                            b.reverse();
                        }
                        out.extend_from_slice(&b);
                    }
                    b'f' | b'd' => {
                        let v = args.get(arg).cloned().unwrap_or(Value::Nil);
                        arg += 1;
                        let n = match v {
                            Value::Number(n) => n,
                            Value::Integer(n) => n as f64,
                            _ => {
                                return Err(lua_error(
                                    lua,
                                    &format!("bad argument #{arg} to 'pack' (number expected)"),
                                ))
                            }
                        };
                        let mut b = if c == b'f' {
                            (n as f32).to_le_bytes().to_vec()
                        } else {
                            n.to_le_bytes().to_vec()
                        };
                        if !f.little {
                            b.reverse();
                        }
                        out.extend_from_slice(&b);
                    }
                    b'c' | b's' => {
                        let size = if c == b'c' {
                            Some(f.size_suffix(0))
                        } else {
                            None
                        };
                        let v = args.get(arg).cloned().unwrap_or(Value::Nil);
                        arg += 1;
                        let Value::String(s) = v else {
                            return Err(lua_error(
                                lua,
                                &format!("bad argument #{arg} to 'pack' (string expected)"),
                            ));
                        };
                        let s = s.as_bytes();
                        match size {
                            Some(0) | None => {
                                out.extend_from_slice(&s);
                                if c == b's' {
                                    out.push(0);
                                }
                            }
                            Some(n) => {
                                if s.len() < n {
                                    return Err(lua_error(
                                        lua,
                                        &format!(
                                            "bad argument #{arg} to 'pack' (string too short)"
                                        ),
                                    ));
                                }
                                out.extend_from_slice(&s[..n]);
                            }
                        }
                    }
                    _ => {
                        return Err(lua_error(
                            lua,
                            &format!("invalid format option '{}'", c as char),
                        ))
                    }
                }
            }
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set(
        "unpack",
        lua.create_function(
            |lua, (fmt, data, init): (mlua::String, mlua::String, Option<i64>)| {
                let fmt = fmt.as_bytes().to_vec();
                let data = data.as_bytes().to_vec();
                let mut f = Fmt {
                    s: &fmt,
                    pos: 0,
                    little: true,
                };
                let mut pos = init.map_or(0, |i| (i.max(1) - 1) as usize);
                let mut out = Vec::new();
                let short = |lua: &Lua| {
                    lua_error(lua, "bad argument #2 to 'unpack' (data string too short)")
                };
                while f.pos < f.s.len() {
                    let c = f.s[f.pos];
                    f.pos += 1;
                    match c {
                        b'<' => f.little = true,
                        b'>' => f.little = false,
                        b'=' | b'!' | b' ' => {
                            f.size_suffix(0);
                        }
                        b'x' => pos += 1,
                        b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                            let size = struct_size_of(lua, &mut f, c)?;
                            if data.len() < pos + size {
                                return Err(short(lua));
                            }
                            let mut b = data[pos..pos + size].to_vec();
                            pos += size;
                            if !f.little {
                                b.reverse();
                            }
                            let mut v: u64 = 0;
                            for (i, x) in b.iter().enumerate() {
                                v |= (*x as u64) << (8 * i);
                            }
                            let signed = c.is_ascii_lowercase();
                            let n = if signed && size < 8 && v >> (size * 8 - 1) & 1 == 1 {
                                (v | (!0u64 << (size * 8))) as i64 as f64
                            } else if signed {
                                v as i64 as f64
                            } else {
                                v as f64
                            };
                            out.push(Value::Number(n));
                        }
                        b'f' | b'd' => {
                            let size = if c == b'f' { 4 } else { 8 };
                            if data.len() < pos + size {
                                return Err(short(lua));
                            }
                            let mut b = data[pos..pos + size].to_vec();
                            pos += size;
                            if !f.little {
                                b.reverse();
                            }
                            let n = if size == 4 {
                                f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64
                            } else {
                                let mut a = [0u8; 8];
                                a.copy_from_slice(&b);
                                f64::from_le_bytes(a)
                            };
                            out.push(Value::Number(n));
                        }
                        b'c' => {
                            let n = f.size_suffix(0);
                            if data.len() < pos + n {
                                return Err(short(lua));
                            }
                            out.push(Value::String(lua.create_string(&data[pos..pos + n])?));
                            pos += n;
                        }
                        b's' => {
                            let end = data[pos.min(data.len())..]
                                .iter()
                                .position(|&b| b == 0)
                                .ok_or_else(|| lua_error(lua, "unfinished string in data"))?;
                            out.push(Value::String(lua.create_string(&data[pos..pos + end])?));
                            pos += end + 1;
                        }
                        _ => {
                            return Err(lua_error(
                                lua,
                                &format!("invalid format option '{}'", c as char),
                            ))
                        }
                    }
                }
                out.push(Value::Number((pos + 1) as f64));
                Ok(MultiValue::from_iter(out))
            },
        )?,
    )?;
    t.raw_set(
        "size",
        lua.create_function(|lua, fmt: mlua::String| {
            let fmt = fmt.as_bytes().to_vec();
            let mut f = Fmt {
                s: &fmt,
                pos: 0,
                little: true,
            };
            let mut total = 0usize;
            while f.pos < f.s.len() {
                let c = f.s[f.pos];
                f.pos += 1;
                if c == b's' {
                    return Err(lua_error(lua, "options 'c0' - 's' have undefined sizes"));
                }
                if matches!(c, b'<' | b'>' | b'=' | b'!' | b' ') {
                    f.size_suffix(0);
                    continue;
                }
                total += struct_size_of(lua, &mut f, c)?;
            }
            Ok(total as f64)
        })?,
    )?;
    let _ = lua_number_string;
    Ok(t)
}
