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

/// The string bytes of a value, or WRONGTYPE.
pub fn as_str(value: &Value) -> Result<&[u8], CmdError> {
    match value {
        Value::Str(s) => Ok(&s.data),
        _ => Err(CmdError::WrongType),
    }
}
