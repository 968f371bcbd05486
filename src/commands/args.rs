//! Argument parsing shared by the families, with Redis's error for each
//! kind of bad argument.

use crate::error::CmdError;
use crate::resp::parse_i64;
use crate::store::Value;

/// An integer argument (`ERR value is not an integer or out of range`).
pub fn int_arg(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// Redis's `getRangeLongFromObjectOrReply` with a message: an integer of
/// at least `min`, `message` for anything else (a non-integer included).
pub fn ranged_arg(arg: &[u8], min: i64, message: &'static str) -> Result<i64, CmdError> {
    match parse_i64(arg) {
        Some(n) if n >= min => Ok(n),
        _ => Err(CmdError::err(message)),
    }
}

/// Redis's `getPositiveLongFromObjectOrReply` without a message: a
/// non-integer gets the same "must be positive" error as a negative.
pub fn positive_arg(arg: &[u8]) -> Result<usize, CmdError> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n as usize),
        _ => Err(CmdError::MustBePositive),
    }
}

/// An argument Redis reads as a C `int` (`getIntFromObjectOrReply`): a
/// database index for MOVE and COPY.
pub fn int32_arg(arg: &[u8]) -> Result<i32, CmdError> {
    let n = int_arg(arg)?;
    i32::try_from(n).map_err(|_| CmdError::IntOutOfRange)
}

/// Whether `arg` equals `keyword`, ignoring ASCII case.
pub fn is(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

/// The value `table` pairs with the keyword `arg` (ASCII case ignored).
pub fn keyword<T: Copy>(arg: &[u8], table: &[(&str, T)]) -> Option<T> {
    table
        .iter()
        .find_map(|&(name, value)| is(arg, name).then_some(value))
}

/// The string bytes of a value, or WRONGTYPE.
pub fn as_str(value: &Value) -> Result<&[u8], CmdError> {
    match value {
        Value::Str(s) => Ok(&s.data),
        _ => Err(CmdError::WrongType),
    }
}

/// C's `isspace`.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// C's `strtod` over a whole C string (up to a NUL): the value, or `None`
/// when anything is left over. Leading whitespace is skipped and overflow
/// gives an infinity, as `strtod` does; an empty string reads as 0.
pub fn strtod_whole(arg: &[u8]) -> Option<f64> {
    let text = arg.split(|&b| b == 0).next().unwrap_or_default();
    if text.is_empty() {
        return Some(0.0);
    }
    let start = text.iter().position(|&b| !is_c_space(b))?;
    let text = &text[start..];
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    if let [b'0', b'x' | b'X', hex @ ..] = digits {
        return hex_float(hex).map(|v| if negative { -v } else { v });
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// The part of a C hexadecimal float after `0x`: hex digits with an
/// optional point, then an optional binary exponent (`p-3`).
fn hex_float(text: &[u8]) -> Option<f64> {
    let (mut mantissa, mut exp, mut seen) = (0u128, 0i64, false);
    let mut i = 0;
    let mut point = false;
    while i < text.len() {
        let b = text[i];
        if b == b'.' && !point {
            point = true;
        } else if let Some(d) = (b as char).to_digit(16) {
            seen = true;
            if mantissa >> 120 == 0 {
                mantissa = mantissa << 4 | d as u128;
                exp -= 4 * point as i64;
            } else {
                // Beyond 30 digits only the scale matters.
                exp += 4 * !point as i64;
            }
        } else {
            break;
        }
        i += 1;
    }
    if !seen {
        return None;
    }
    if let Some(b'p' | b'P') = text.get(i) {
        let e: i64 = std::str::from_utf8(&text[i + 1..]).ok()?.parse().ok()?;
        exp = exp.saturating_add(e);
    } else if i != text.len() {
        return None;
    }
    let scale = exp.clamp(-2200, 2200) as i32;
    // Two steps, so that neither power of two overflows on its own.
    Some(mantissa as f64 * 2f64.powi(scale / 2) * 2f64.powi(scale - scale / 2))
}

/// Redis's `getDoubleFromObject`: the whole argument a double, with no
/// leading space, no overflow or underflow, and not NaN.
pub fn double_arg(arg: &[u8]) -> Option<f64> {
    if arg.first().is_none_or(|&b| is_c_space(b)) || arg.contains(&0) {
        return None;
    }
    let value = strtod_whole(arg)?;
    if value.is_nan() || strtod_erange(arg, value) {
        return None;
    }
    Some(value)
}

/// Whether C's `strtod` sets ERANGE reading `text` as `value`: an
/// overflow to infinity (`inf` itself is no overflow) or an underflow to
/// zero.
pub fn strtod_erange(text: &[u8], value: f64) -> bool {
    let literal_inf = text.iter().any(|b| b.eq_ignore_ascii_case(&b'i'));
    let underflow = value == 0.0
        && text
            .iter()
            .take_while(|b| !b.eq_ignore_ascii_case(&b'e'))
            .any(|b| (b'1'..=b'9').contains(b));
    (value.is_infinite() && !literal_inf) || underflow
}

/// The MPOP forms' arguments after `numkeys` (LMPOP, ZMPOP and their
/// blocking versions): the keys, which end to pop from (read by `side`,
/// before COUNT is looked at, as Redis does) and COUNT (1 by default).
pub fn mpop_args<T>(
    args: &crate::resp::Args,
    numkeys_at: usize,
    side: impl Fn(&[u8]) -> Result<T, CmdError>,
) -> Result<(std::ops::Range<usize>, T, usize), CmdError> {
    let numkeys = ranged_arg(
        args.get(numkeys_at),
        1,
        "ERR numkeys should be greater than 0",
    )?;
    let where_at = (numkeys as usize).saturating_add(numkeys_at + 1);
    if where_at >= args.len() {
        return Err(CmdError::Syntax);
    }
    let side = side(args.get(where_at))?;
    let mut count = None;
    let mut i = where_at + 1;
    while i < args.len() {
        if count.is_none() && is(args.get(i), "count") && i + 1 < args.len() {
            let n = ranged_arg(args.get(i + 1), 1, "ERR count should be greater than 0")?;
            count = Some(n as usize);
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((numkeys_at + 1..where_at, side, count.unwrap_or(1)))
}

/// ZRANDMEMBER's and HRANDFIELD's `[count [WITH…]]` after the key: the
/// count if given, and whether the option (`with`) followed it, with
/// Redis's checks in its order.
pub fn rand_count_args(
    args: &crate::resp::Args,
    with: &str,
) -> Result<(Option<i64>, bool), CmdError> {
    if args.len() < 3 {
        return Ok((None, false));
    }
    let n = match parse_i64(args.get(2)) {
        Some(i64::MIN) => {
            return Err(CmdError::err(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            ))
        }
        Some(n) => n,
        None => return Err(CmdError::NotInteger),
    };
    if args.len() > 4 || (args.len() == 4 && !is(args.get(3), with)) {
        return Err(CmdError::Syntax);
    }
    let with = args.len() == 4;
    if with && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n) {
        return Err(CmdError::err("ERR value is out of range"));
    }
    Ok((Some(n), with))
}

/// The size of the collection a random pick reads (SRANDMEMBER,
/// ZRANDMEMBER, HRANDFIELD), looked up as a read; `None` once a missing
/// key is answered (a null, or an empty array when a count was given).
/// WRONGTYPE when `size` does not take the value.
pub fn random_source(
    db: &mut crate::store::DbMut<'_>,
    out: &mut crate::resp::Reply,
    key: &[u8],
    count: Option<i64>,
    size: impl Fn(&Value) -> Option<usize>,
) -> Result<Option<usize>, CmdError> {
    match db.read(key) {
        None => {
            match count {
                None => out.null(),
                Some(_) => out.array(0),
            }
            Ok(None)
        }
        Some(value) => size(value).map(Some).ok_or(CmdError::WrongType),
    }
}

/// Which of `len` elements a random pick returns, as positions: one for
/// no count; for a negative count (or 1) that many with repeats, drawn
/// as they are read (a count of -10^18 must not allocate up front); for a
/// count covering them all, every position in order (`descending` for a
/// sorted set, which Redis walks from the top); otherwise that many
/// distinct ones.
pub fn random_picks(
    db: &mut crate::store::DbMut<'_>,
    len: usize,
    count: Option<i64>,
    descending: bool,
) -> Picks {
    let listed = Picks::listed;
    match count {
        None => listed(vec![db.random_below(len)]),
        Some(0) => listed(Vec::new()),
        Some(n) if n < 0 || n == 1 => Picks {
            listed: Vec::new().into_iter(),
            repeats: n.unsigned_abs() as usize,
            len,
            rng: db.fork_rng(),
        },
        Some(n) if n as usize >= len && descending => listed((0..len).rev().collect()),
        Some(n) if n as usize >= len => listed((0..len).collect()),
        Some(n) => {
            // A partial Fisher-Yates shuffle.
            let mut all: Vec<usize> = (0..len).collect();
            for i in 0..n as usize {
                let j = i + db.random_below(len - i);
                all.swap(i, j);
            }
            all.truncate(n as usize);
            listed(all)
        }
    }
}

/// The positions [`random_picks`] chose.
pub struct Picks {
    listed: std::vec::IntoIter<usize>,
    /// Positions still to draw, with repeats, below `len`.
    repeats: usize,
    len: usize,
    rng: crate::util::Rng,
}

impl Picks {
    /// These positions, in this order.
    pub fn listed(positions: Vec<usize>) -> Picks {
        Picks {
            listed: positions.into_iter(),
            repeats: 0,
            len: 0,
            rng: crate::util::Rng::default(),
        }
    }
}

impl Iterator for Picks {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        if let Some(i) = self.listed.next() {
            return Some(i);
        }
        if self.repeats == 0 {
            return None;
        }
        self.repeats -= 1;
        Some(self.rng.below(self.len as u64) as usize)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.listed.len() + self.repeats;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Picks {}
