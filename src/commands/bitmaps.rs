//! Bitmap commands (Redis's `bitops.c`): bits of a string value, read and
//! changed in place. Bit 0 is the most significant bit of the first byte.
//!
//! Values stay strings: a SETBIT grows the string with zero bytes as
//! Redis's `sdsgrowzero` does and changes the one byte in the stored value,
//! never copying it. BITCOUNT and BITPOS walk eight bytes at a time, so a
//! 64 MiB bitmap is a popcount over 8 Mi words.

use super::flags::*;
use super::{as_str, int_arg, is, keyword, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::resp::{parse_i64, Args};
use crate::store::{Bytes, Modify, Str, Value};

const fn bitmap(name: &'static str, arity: i32, flags: u32, handler: super::Handler) -> Command {
    Command::new(name, arity, flags, handler).keys(1, 1, 1)
}

pub const COMMANDS: &[Command] = &[
    bitmap("setbit", 4, WRITE | DENYOOM, setbit).doc(
        "bitmap",
        "2.2.0",
        "Sets or clears the bit at offset in the string value stored at key",
    ),
    bitmap("getbit", 3, READONLY | FAST, getbit).doc(
        "bitmap",
        "2.2.0",
        "Returns the bit value at offset in the string value stored at key",
    ),
    bitmap("bitcount", -2, READONLY, bitcount)
        .doc("bitmap", "2.6.0", "Count set bits in a string")
        .complexity("O(N)"),
    bitmap("bitpos", -3, READONLY, bitpos)
        .doc("bitmap", "2.8.7", "Find first bit set or clear in a string")
        .complexity("O(N)"),
    Command::new("bitop", -4, WRITE | DENYOOM, bitop)
        .keys(2, -1, 1)
        .doc(
            "bitmap",
            "2.6.0",
            "Perform bitwise operations between strings",
        )
        .complexity("O(N)"),
    bitmap("bitfield", -2, WRITE | DENYOOM, bitfield)
        .doc(
            "bitmap",
            "3.2.0",
            "Perform arbitrary bitfield integer operations on strings",
        )
        .complexity("O(1) for each subcommand specified"),
    bitmap("bitfield_ro", -2, READONLY | FAST, bitfield_ro)
        .doc(
            "bitmap",
            "6.0.0",
            "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
        )
        .complexity("O(1) for each subcommand specified"),
];

// ---------------------------------------------------------------- operations

/// Redis's `getBitOffsetFromArgument`: a bit offset whose byte lies inside
/// `proto-max-bulk-len`. With `width` (BITFIELD), `#n` means the n-th
/// field of that width.
fn bit_offset(arg: &[u8], width: Option<u32>, max_bulk: usize) -> Result<u64, CmdError> {
    let (hash, digits) = match (arg, width) {
        ([b'#', rest @ ..], Some(w)) => (Some(w), rest),
        _ => (None, arg),
    };
    let mut n = parse_i64(digits).ok_or(CmdError::BitOffset)?;
    if let Some(w) = hash {
        // C multiplies without a check; the result is range-checked below.
        n = n.wrapping_mul(i64::from(w));
    }
    if n < 0 || (n >> 3) as u64 >= max_bulk as u64 {
        return Err(CmdError::BitOffset);
    }
    Ok(n as u64)
}

/// The number of set bits in `bytes`, a word at a time.
pub fn popcount(bytes: &[u8]) -> u64 {
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    let mut total = 0u64;
    for w in words {
        let w = u64::from_ne_bytes(w.try_into().unwrap_or_default());
        total += u64::from(w.count_ones());
    }
    total + tail.iter().map(|b| u64::from(b.count_ones())).sum::<u64>()
}

/// Redis's `redisBitpos`: the position of the first bit equal to `bit` in
/// `bytes`. Not found: -1 when looking for a 1, and the bit just past the
/// end when looking for a 0 (the string is taken as zero padded).
pub fn first_bit(bytes: &[u8], bit: bool) -> i64 {
    // A byte with nothing to find is 0x00 (for a 1) or 0xff (for a 0).
    let skip = if bit { 0u8 } else { 0xff };
    let skip_word = u64::from_ne_bytes([skip; 8]);
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let w = u64::from_ne_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
        if w != skip_word {
            break;
        }
        at += 8;
    }
    while at < bytes.len() {
        let b = bytes[at];
        if b != skip {
            let lead = if bit {
                b.leading_zeros()
            } else {
                b.leading_ones()
            };
            return (at as i64) * 8 + i64::from(lead);
        }
        at += 1;
    }
    if bit {
        -1
    } else {
        bytes.len() as i64 * 8
    }
}

/// BITCOUNT's and BITPOS's index rules over `len` units: negative indexes
/// count from the end, both are clamped; `None` for an empty range.
fn clamp(len: i64, mut start: i64, mut end: i64) -> Option<(u64, u64)> {
    if start < 0 {
        start = start.saturating_add(len);
    }
    if end < 0 {
        end = end.saturating_add(len);
    }
    start = start.max(0);
    end = end.max(0).min(len - 1);
    (start <= end).then_some((start as u64, end as u64))
}

/// The bits in `[from, to]` (bit positions) of `bytes`, counted.
fn count_bit_range(bytes: &[u8], from: u64, to: u64) -> u64 {
    let (first, last) = ((from / 8) as usize, (to / 8) as usize);
    let mut count = popcount(&bytes[first..=last]);
    // Take off the bits of the edge bytes that lie outside the range.
    let head = !(0xffu8 >> (from % 8));
    let tail = (0xffu16 >> (to % 8 + 1)) as u8;
    count -= u64::from((bytes[first] & head).count_ones());
    count -= u64::from((bytes[last] & tail).count_ones());
    count
}

/// The first bit equal to `bit` at a position in `[from, to]`, if any.
fn find_bit_range(bytes: &[u8], from: u64, to: u64, bit: bool) -> Option<u64> {
    let (first, last) = ((from / 8) as usize, (to / 8) as usize);
    // Bits outside the range read as the opposite of what is sought.
    let outside = |b: u8, mask: u8| if bit { b & !mask } else { b | mask };
    let head = !(0xffu8 >> (from % 8));
    let tail = (0xffu16 >> (to % 8 + 1)) as u8;
    let edge = |i: usize| {
        let mut b = bytes[i];
        if i == first {
            b = outside(b, head);
        }
        if i == last {
            b = outside(b, tail);
        }
        first_bit(&[b], bit)
    };
    let found = |pos: i64| (0..8).contains(&pos).then_some(pos as u64);
    if let Some(p) = found(edge(first)) {
        return Some(first as u64 * 8 + p);
    }
    if last == first {
        return None;
    }
    let middle = &bytes[first + 1..last];
    let p = first_bit(middle, bit);
    if p >= 0 && (p as usize) < middle.len() * 8 {
        return Some((first as u64 + 1) * 8 + p as u64);
    }
    found(edge(last)).map(|p| last as u64 * 8 + p)
}

/// A string value to change bits of, created or zero-padded so that byte
/// `len - 1` exists (Redis's `lookupStringForBitCommand`). The flag says
/// whether it was created or grown, which counts as a change by itself.
fn bits_for_write<'a>(
    db: &'a mut crate::store::DbMut<'_>,
    key: &[u8],
    len: usize,
    name: &'static str,
) -> Result<(Modify<'a>, bool), CmdError> {
    if let Some(e) = db.entry(key) {
        as_str(&e.value)?;
    }
    let mut value = db.modify_or_create(key, name, || {
        Value::Str(Str {
            data: Bytes::new(),
            raw: true,
        })
    });
    let created = value.created();
    let Value::Str(s) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    let old = s.data.len();
    s.data.grow_to(len, 0);
    // Changed in place: Redis's object is raw from now on.
    s.raw = true;
    let grown = s.data.len() != old;
    Ok((value, created || grown))
}

// ------------------------------------------------------------------ commands

fn setbit(ctx: &mut Ctx, args: Args) -> CmdResult {
    let max = ctx.state.config.proto_max_bulk_len;
    let offset = bit_offset(args.get(2), None, max)?;
    let on = match parse_i64(args.get(3)) {
        Some(v @ (0 | 1)) => v == 1,
        _ => return Err(CmdError::BitValue),
    };
    let byte = (offset >> 3) as usize;
    let mask = 0x80u8 >> (offset & 7);
    let (mut db, out) = ctx.db_out();
    let (mut value, dirty) = bits_for_write(&mut db, args.get(1), byte + 1, "setbit")?;
    let Value::Str(s) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    let was = s.data[byte] & mask != 0;
    if dirty || was != on {
        if on {
            s.data[byte] |= mask;
        } else {
            s.data[byte] &= !mask;
        }
        value.changed(1);
    }
    drop(value);
    out.int(was as i64);
    Ok(())
}

fn getbit(ctx: &mut Ctx, args: Args) -> CmdResult {
    let max = ctx.state.config.proto_max_bulk_len;
    let offset = bit_offset(args.get(2), None, max)?;
    let (value, out) = ctx.read(args.get(1));
    let bytes = value.map(as_str).transpose()?.unwrap_or_default();
    let bit = bytes
        .get((offset >> 3) as usize)
        .is_some_and(|b| b & (0x80 >> (offset & 7)) != 0);
    out.int(bit as i64);
    Ok(())
}

/// Whether BITCOUNT's or BITPOS's unit argument says BIT (or BYTE).
fn unit_is_bit(arg: &[u8]) -> Result<bool, CmdError> {
    keyword(arg, &[("bit", true), ("byte", false)]).ok_or(CmdError::Syntax)
}

fn bitcount(ctx: &mut Ctx, args: Args) -> CmdResult {
    // A missing key counts 0 before the arguments are looked at.
    let (value, out) = ctx.read(args.get(1));
    let Some(value) = value else {
        out.int(0);
        return Ok(());
    };
    let bytes = as_str(value)?;
    let len = bytes.len() as i64;
    let count = match args.len() {
        2 => popcount(bytes),
        4 | 5 => {
            let start = int_arg(args.get(2))?;
            let end = int_arg(args.get(3))?;
            if start < 0 && end < 0 && start > end {
                out.int(0);
                return Ok(());
            }
            let bits = args.len() == 5 && unit_is_bit(args.get(4))?;
            match (bits, clamp(if bits { len * 8 } else { len }, start, end)) {
                (_, None) => 0,
                (true, Some((from, to))) => count_bit_range(bytes, from, to),
                (false, Some((from, to))) => popcount(&bytes[from as usize..=to as usize]),
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    out.int(count as i64);
    Ok(())
}

fn bitpos(ctx: &mut Ctx, args: Args) -> CmdResult {
    let bit = match int_arg(args.get(2))? {
        0 => false,
        1 => true,
        _ => return Err(CmdError::BitArg),
    };
    let (value, out) = ctx.read(args.get(1));
    let Some(value) = value else {
        // A missing key is an endless run of zeros.
        out.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    let bytes = as_str(value)?;
    let len = bytes.len() as i64;
    let pos = match args.len() {
        3 => match clamp(len, 0, -1) {
            Some(_) => first_bit(bytes, bit),
            None => -1,
        },
        4..=6 => {
            let start = int_arg(args.get(3))?;
            let bits = args.len() == 6 && unit_is_bit(args.get(5))?;
            let end = match args.len() {
                4 => None,
                _ => Some(int_arg(args.get(4))?),
            };
            let units = if bits { len * 8 } else { len };
            match clamp(units, start, end.unwrap_or(units - 1)) {
                None => -1,
                Some((from, to)) if bits => {
                    find_bit_range(bytes, from, to, bit).map_or(-1, |p| p as i64)
                }
                Some((from, to)) => {
                    let range = &bytes[from as usize..=to as usize];
                    match first_bit(range, bit) {
                        -1 => -1,
                        // No 0 within an explicit range is no answer;
                        // without an end the string reads as zero padded.
                        p if end.is_some() && p == range.len() as i64 * 8 => -1,
                        p => p + from as i64 * 8,
                    }
                }
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    out.int(pos);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

fn bitop(ctx: &mut Ctx, args: Args) -> CmdResult {
    let ops = [
        ("and", BitOp::And),
        ("or", BitOp::Or),
        ("xor", BitOp::Xor),
        ("not", BitOp::Not),
    ];
    let op = keyword(args.get(1), &ops).ok_or(CmdError::Syntax)?;
    if op == BitOp::Not && args.len() != 4 {
        return Err(CmdError::BitopNot);
    }
    let target = args.get(2);
    let keys: Vec<&[u8]> = args.tail(3).iter().collect();
    let mut db = ctx.db();
    let values = db
        .read_all(&keys, |v| matches!(v, Value::Str(_)))
        .ok_or(CmdError::WrongType)?;
    let sources: Vec<&[u8]> = values
        .iter()
        .map(|v| v.map(as_str).transpose().map(Option::unwrap_or_default))
        .collect::<Result<_, _>>()?;
    let result = combine(op, &sources);
    drop(values);
    let len = result.len();
    if len > 0 {
        let value = Value::Str(Str {
            data: result.into(),
            raw: true,
        });
        db.set(target, value, None, "set");
    } else {
        db.delete(target);
    }
    ctx.out().int(len as i64);
    Ok(())
}

/// BITOP's result: as long as the longest source, shorter ones read as
/// zero padded.
fn combine(op: BitOp, sources: &[&[u8]]) -> Vec<u8> {
    let len = sources.iter().map(|s| s.len()).max().unwrap_or(0);
    let Some((first, rest)) = sources.split_first() else {
        return Vec::new();
    };
    let mut out = vec![0u8; len];
    out[..first.len()].copy_from_slice(first);
    match op {
        BitOp::Not => out.iter_mut().for_each(|b| *b = !*b),
        BitOp::And => {
            for s in rest {
                out[s.len()..].fill(0);
                out.iter_mut().zip(s.iter()).for_each(|(o, b)| *o &= b);
            }
        }
        BitOp::Or => rest
            .iter()
            .for_each(|s| out.iter_mut().zip(s.iter()).for_each(|(o, b)| *o |= b)),
        BitOp::Xor => rest
            .iter()
            .for_each(|s| out.iter_mut().zip(s.iter()).for_each(|(o, b)| *o ^= b)),
    }
    out
}

// ------------------------------------------------------------------ BITFIELD

#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// One BITFIELD operation on the field of `bits` bits at bit `offset`.
#[derive(Clone, Copy)]
struct Field {
    op: FieldOp,
    signed: bool,
    bits: u32,
    offset: u64,
    overflow: Overflow,
}

/// Redis's `getBitfieldTypeFromArgument`: `i1`..`i64` or `u1`..`u63`.
fn field_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let (signed, digits) = match arg {
        [b'i', rest @ ..] => (true, rest),
        [b'u', rest @ ..] => (false, rest),
        _ => return Err(CmdError::BitfieldType),
    };
    // Redis reads the digits as a C string: a NUL ends them.
    let digits = digits.split(|&b| b == 0).next().unwrap_or_default();
    match parse_i64(digits) {
        Some(n) if n >= 1 && n <= if signed { 64 } else { 63 } => Ok((signed, n as u32)),
        _ => Err(CmdError::BitfieldType),
    }
}

/// Every operation of a BITFIELD call, checked before any runs.
fn parse_fields(args: &Args, max_bulk: usize) -> Result<Vec<Field>, CmdError> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let sub = args.get(j);
        let op = if is(sub, "get") && left >= 2 {
            FieldOp::Get
        } else if is(sub, "set") && left >= 3 {
            FieldOp::Set(0)
        } else if is(sub, "incrby") && left >= 3 {
            FieldOp::IncrBy(0)
        } else if is(sub, "overflow") && left >= 1 {
            let kinds = [
                ("wrap", Overflow::Wrap),
                ("sat", Overflow::Sat),
                ("fail", Overflow::Fail),
            ];
            overflow = keyword(args.get(j + 1), &kinds).ok_or(CmdError::BitfieldOverflow)?;
            j += 2;
            continue;
        } else {
            return Err(CmdError::Syntax);
        };
        let (signed, bits) = field_type(args.get(j + 1))?;
        let offset = bit_offset(args.get(j + 2), Some(bits), max_bulk)?;
        let op = match op {
            FieldOp::Get => FieldOp::Get,
            FieldOp::Set(_) => FieldOp::Set(int_arg(args.get(j + 3))?),
            FieldOp::IncrBy(_) => FieldOp::IncrBy(int_arg(args.get(j + 3))?),
        };
        fields.push(Field {
            op,
            signed,
            bits,
            offset,
            overflow,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    Ok(fields)
}

/// The `bits`-bit unsigned field at bit `offset`; bytes past the end read
/// as zeros.
fn get_field(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for i in 0..u64::from(bits) {
        let at = offset + i;
        let byte = bytes.get((at >> 3) as usize).copied().unwrap_or(0);
        v = (v << 1) | u64::from((byte >> (7 - (at & 7))) & 1);
    }
    v
}

/// Writes the low `bits` bits of `v` at bit `offset` (inside `bytes`).
fn set_field(bytes: &mut [u8], offset: u64, bits: u32, v: u64) {
    for i in 0..u64::from(bits) {
        let at = offset + i;
        let mask = 0x80u8 >> (at & 7);
        let byte = &mut bytes[(at >> 3) as usize];
        if (v >> (u64::from(bits) - 1 - i)) & 1 == 1 {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

/// A field's value as the reply shows it: sign-extended for `i` types.
fn field_value(raw: u64, signed: bool, bits: u32) -> i64 {
    if signed && bits < 64 && raw & (1 << (bits - 1)) != 0 {
        (raw | (u64::MAX << bits)) as i64
    } else {
        raw as i64
    }
}

/// `value + incr` stored in a `bits`-bit field: the bits to store, or
/// `None` when it overflows under FAIL (Redis's
/// `check{Unsigned,Signed}BitfieldOverflow`).
fn fit(value: i64, incr: i64, signed: bool, bits: u32, overflow: Overflow) -> Option<u64> {
    let wide = i128::from(value) + i128::from(incr);
    let (min, max) = if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    let stored = if (min..=max).contains(&wide) {
        wide
    } else {
        match overflow {
            Overflow::Fail => return None,
            Overflow::Sat if wide > max => max,
            Overflow::Sat => min,
            // Two's complement wrap: the low `bits` bits of the sum.
            Overflow::Wrap => wide,
        }
    };
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    Some(stored as u64 & mask)
}

fn bitfield(ctx: &mut Ctx, args: Args) -> CmdResult {
    bitfield_generic(ctx, args, false)
}

fn bitfield_ro(ctx: &mut Ctx, args: Args) -> CmdResult {
    bitfield_generic(ctx, args, true)
}

fn bitfield_generic(ctx: &mut Ctx, args: Args, read_only: bool) -> CmdResult {
    let max = ctx.state.config.proto_max_bulk_len;
    let fields = parse_fields(&args, max)?;
    let key = args.get(1);
    let highest = fields
        .iter()
        .filter(|f| f.op != FieldOp::Get)
        .map(|f| f.offset + u64::from(f.bits) - 1)
        .max();
    let Some(highest) = highest else {
        // Only GETs: a read.
        let (value, out) = ctx.read(key);
        let bytes = value.map(as_str).transpose()?.unwrap_or_default();
        out.array(fields.len());
        for f in &fields {
            out.int(field_value(
                get_field(bytes, f.offset, f.bits),
                f.signed,
                f.bits,
            ));
        }
        return Ok(());
    };
    if read_only {
        return Err(CmdError::BitfieldRo);
    }
    let (mut db, out) = ctx.db_out();
    let len = (highest >> 3) as usize + 1;
    let (mut value, dirty) = bits_for_write(&mut db, key, len, "setbit")?;
    let Value::Str(s) = &mut *value else {
        return Err(CmdError::WrongType);
    };
    let bytes: &mut [u8] = &mut s.data;
    out.array(fields.len());
    let mut changes = 0;
    for f in &fields {
        let old_raw = get_field(bytes, f.offset, f.bits);
        let old = field_value(old_raw, f.signed, f.bits);
        let (stored, reply) = match f.op {
            FieldOp::Get => {
                out.int(old);
                continue;
            }
            FieldOp::Set(v) => {
                // An unsigned SET reads the argument as a u64, as C does.
                let v = if f.signed { v } else { v as u64 as i64 };
                let stored = fit_set(v, f);
                (stored, Some(old))
            }
            FieldOp::IncrBy(by) => {
                let stored = if f.signed {
                    fit(old, by, true, f.bits, f.overflow)
                } else {
                    fit_unsigned(old_raw, by, f.bits, f.overflow)
                };
                (stored, None)
            }
        };
        match stored {
            Some(new_raw) => {
                out.int(reply.unwrap_or(field_value(new_raw, f.signed, f.bits)));
                set_field(bytes, f.offset, f.bits, new_raw);
                if dirty || new_raw != old_raw {
                    changes += 1;
                }
            }
            None => out.null(),
        }
    }
    value.changed(changes);
    Ok(())
}

/// SET's value checked against the field (an increment of 0).
fn fit_set(v: i64, f: &Field) -> Option<u64> {
    if f.signed {
        fit(v, 0, true, f.bits, f.overflow)
    } else {
        fit_unsigned(v as u64, 0, f.bits, f.overflow)
    }
}

/// Redis's `checkUnsignedBitfieldOverflow` for an unsigned field holding
/// (or being set to) `value` as a u64.
fn fit_unsigned(value: u64, incr: i64, bits: u32, overflow: Overflow) -> Option<u64> {
    let max = (1u64 << bits) - 1;
    let wide = i128::from(value) + i128::from(incr);
    if (0..=i128::from(max)).contains(&wide) {
        return Some(wide as u64);
    }
    match overflow {
        Overflow::Fail => None,
        Overflow::Sat if wide > i128::from(max) => Some(max),
        Overflow::Sat => Some(0),
        Overflow::Wrap => Some(value.wrapping_add(incr as u64) & max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bit_matches_a_bit_walk() {
        let cases: [&[u8]; 5] = [
            b"",
            b"\0\0\0\0\0\0\0\0\0\x01",
            b"\xff\xff\xff\xff\xff\xff\xff\xff\xfe",
            b"\x00",
            b"\x10abcdefgh",
        ];
        for bytes in cases {
            for bit in [false, true] {
                let walk = (0..bytes.len() * 8)
                    .find(|&i| (bytes[i / 8] >> (7 - i % 8)) & 1 == bit as u8)
                    .map_or(if bit { -1 } else { bytes.len() as i64 * 8 }, |i| i as i64);
                assert_eq!(first_bit(bytes, bit), walk, "{bytes:?} {bit}");
            }
        }
    }

    #[test]
    fn ranges_count_and_find_like_a_bit_walk() {
        let bytes = b"\x0f\xf0\x81\x00\xff\x3c\x01\x80\x55\xaa";
        let n = bytes.len() as u64 * 8;
        let bit_at = |i: u64| (bytes[(i / 8) as usize] >> (7 - i % 8)) & 1;
        for from in 0..n {
            for to in from..n {
                let count = (from..=to).filter(|&i| bit_at(i) == 1).count() as u64;
                assert_eq!(count_bit_range(bytes, from, to), count);
                for bit in [false, true] {
                    let want = (from..=to).find(|&i| bit_at(i) == bit as u8);
                    assert_eq!(find_bit_range(bytes, from, to, bit), want);
                }
            }
        }
        assert_eq!(
            popcount(bytes),
            (0..n).filter(|&i| bit_at(i) == 1).count() as u64
        );
    }

    #[test]
    fn fields_round_trip_and_wrap() {
        let mut bytes = [0u8; 10];
        set_field(&mut bytes, 5, 13, 0x1abc);
        assert_eq!(get_field(&bytes, 5, 13), 0x1abc);
        assert_eq!(
            field_value(get_field(&bytes, 5, 13), true, 13),
            0x1abc - 0x2000
        );
        assert_eq!(fit(127, 1, true, 8, Overflow::Wrap), Some(0x80));
        assert_eq!(fit(127, 1, true, 8, Overflow::Sat), Some(0x7f));
        assert_eq!(fit(127, 1, true, 8, Overflow::Fail), None);
        assert_eq!(fit(i64::MAX, 1, true, 64, Overflow::Wrap), Some(1 << 63));
        assert_eq!(fit_unsigned(255, 1, 8, Overflow::Wrap), Some(0));
        assert_eq!(fit_unsigned(0, -1, 8, Overflow::Sat), Some(0));
    }
}
