//! Argument parsing shared by the families, with Redis's error for each
//! kind of bad argument.

use crate::error::CmdError;
use crate::resp::parse_i64;
use crate::store::Value;

/// An integer argument (`ERR value is not an integer or out of range`).
pub fn int_arg(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// An argument Redis reads as a C `int` (`getIntFromObjectOrReply`): a
/// database index for MOVE and COPY.
pub fn int32_arg(arg: &[u8]) -> Result<i32, CmdError> {
    let n = int_arg(arg)?;
    i32::try_from(n).map_err(|_| CmdError::IntOutOfRange)
}

/// A non-negative integer argument that must also fit a `usize`.
pub fn count_arg(arg: &[u8]) -> Result<usize, CmdError> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n as usize),
        Some(_) => Err(CmdError::MustBePositive),
        None => Err(CmdError::NotInteger),
    }
}

/// A float argument as Redis's `strtold`-based parsers accept it: decimal or
/// exponent form, `inf`/`-inf`; no NaN, no spaces, no empty string.
pub fn float_arg(arg: &[u8]) -> Result<f64, CmdError> {
    parse_float(arg).ok_or(CmdError::NotFloat)
}

pub fn parse_float(arg: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(arg).ok()?;
    if s.is_empty()
        || s.starts_with(|c: char| c.is_whitespace())
        || s.ends_with(|c: char| c.is_whitespace())
    {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let v = match lower.trim_start_matches(['+', '-']) {
        "inf" | "infinity" => {
            if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        }
        "nan" => return None,
        _ => {
            // Rust accepts a few forms C does not ("1_0" no, but "infinity"
            // handled above); C accepts hex floats, which Redis users do not
            // send. Reject anything with characters a decimal cannot hold.
            if !lower
                .bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'+' | b'-'))
            {
                return None;
            }
            lower.parse::<f64>().ok()?
        }
    };
    (!v.is_nan()).then_some(v)
}

/// Whether `arg` equals `keyword`, ignoring ASCII case.
pub fn is(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

/// The string bytes of a value, or WRONGTYPE.
pub fn as_str(value: &Value) -> Result<&[u8], CmdError> {
    match value {
        Value::Str(s) => Ok(&s.data),
        _ => Err(CmdError::WrongType),
    }
}
