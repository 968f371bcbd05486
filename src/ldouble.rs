//! The x87 80-bit `long double`, in software, for INCRBYFLOAT and
//! HINCRBYFLOAT.
//!
//! Redis parses both operands with `strtold`, adds them as `long double`s
//! and prints the sum with `%.17Lf`, trailing zeros trimmed (util.c
//! `string2ld` and `ld2string(…, LD_STR_HUMAN)`). On x86-64 that type has a
//! 64-bit mantissa, and its rounding shows in replies
//! (`1000 + 1E-2` is `1000.01000000000000001`), so no `f64` or decimal
//! shortcut gives Redis's bytes. Rust has no such type and rizzler allows no
//! FFI outside io_uring, so this module does the three steps exactly:
//!
//! - parsing is correctly rounded (half to even), as glibc's `strtold` is:
//!   the decimal is turned into an exact ratio of big integers and divided
//!   to 68 bits plus a sticky bit; hex floats are accepted as `strtold`
//!   accepts them;
//! - addition is the IEEE sum rounded half to even to 64 bits;
//! - `%.17Lf` is printed from the exact binary value, rounded half to even
//!   at the 17th decimal, as glibc's `printf` does.
//!
//! Only round-to-nearest is modelled; Redis never changes the mode. Inputs
//! are at most 5 KiB (Redis's `MAX_LONG_DOUBLE_CHARS`), so the big integers
//! stay below ~35,000 bits and simple quadratic arithmetic is enough.

use std::cmp::Ordering;

/// Redis's `MAX_LONG_DOUBLE_CHARS`: longer text is not a float to Redis.
pub const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// Exponent of the smallest subnormal: 2^-16445 is the last mantissa bit
/// when the biased exponent is at its minimum.
const MIN_EXP: i32 = -16445;
/// Exponent of the largest finite value's last mantissa bit:
/// (2^64 − 1) × 2^16320 ≈ 1.19e4932.
const MAX_EXP: i32 = 16320;

/// One x87 extended-precision value.
///
/// A finite value is `(-1)^neg × mant × 2^exp` with
/// `MIN_EXP <= exp <= MAX_EXP`; its mantissa has its top bit set unless
/// `exp == MIN_EXP` (zero and subnormals), so every value has one
/// representation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongDouble {
    /// A finite value, zero included.
    Finite { neg: bool, mant: u64, exp: i32 },
    /// Positive or negative infinity.
    Inf { neg: bool },
    /// Not a number (only a sum of opposite infinities makes one here).
    Nan,
}

/// Why INCRBYFLOAT refused: the caller maps these to its error replies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LdError {
    /// An operand is not something Redis's `string2ld` accepts.
    NotFloat,
    /// The sum is NaN or infinite.
    NanOrInf,
}

/// INCRBYFLOAT's arithmetic: the text Redis stores and replies for
/// `current + incr`. `current` is parsed first, as Redis does; a missing
/// key is the caller's `b"0"`.
pub fn incr_by_float(current: &[u8], incr: &[u8]) -> Result<Vec<u8>, LdError> {
    let a = LongDouble::parse(current).ok_or(LdError::NotFloat)?;
    let b = LongDouble::parse(incr).ok_or(LdError::NotFloat)?;
    (a + b).to_human().ok_or(LdError::NanOrInf)
}

impl LongDouble {
    /// Zero with the given sign.
    pub const fn zero(neg: bool) -> LongDouble {
        LongDouble::Finite {
            neg,
            mant: 0,
            exp: MIN_EXP,
        }
    }

    /// The `long double` a C `double` converts to (exactly).
    pub fn from_f64(v: f64) -> LongDouble {
        if v.is_nan() {
            return LongDouble::Nan;
        }
        let neg = v.is_sign_negative();
        if v.is_infinite() {
            return LongDouble::Inf { neg };
        }
        let bits = v.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as i32;
        let frac = bits & ((1u64 << 52) - 1);
        let (m, e) = if biased == 0 {
            (frac, -1074)
        } else {
            (frac | (1u64 << 52), biased - 1075)
        };
        if m == 0 {
            return LongDouble::zero(neg);
        }
        // Normalise: the top mantissa bit set (always possible here, far
        // above the extended format's smallest exponent).
        let shift = m.leading_zeros() as i32;
        LongDouble::Finite {
            neg,
            mant: m << shift,
            exp: e - shift,
        }
    }

    /// Parses what Redis's `string2ld` accepts: the whole text must be what
    /// `strtold` reads (decimal with optional exponent, hex float, `inf`,
    /// `infinity`, any case, optional sign), without leading space, shorter
    /// than 5 KiB, not NaN, and neither overflowing nor underflowing to
    /// zero (`ERANGE`). A subnormal result is accepted.
    pub fn parse(text: &[u8]) -> Option<LongDouble> {
        if text.is_empty() || text.len() >= MAX_LONG_DOUBLE_CHARS {
            return None;
        }
        let (neg, body) = match text[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(LongDouble::Inf { neg });
        }
        let value = match body {
            [b'0', b'x' | b'X', hex @ ..] => parse_hex(neg, hex)?,
            _ => parse_decimal(neg, body)?,
        };
        match value {
            LongDouble::Finite { .. } => Some(value),
            // strtold's ERANGE on overflow: Redis refuses it.
            _ => None,
        }
    }

    /// Whether the value is neither infinite nor NaN.
    pub fn is_finite(self) -> bool {
        matches!(self, LongDouble::Finite { .. })
    }

    /// `%.17Lf` with trailing zeros and a trailing `.` removed and `-0`
    /// written `0`: Redis's `ld2string(…, LD_STR_HUMAN)`. `None` for
    /// infinities and NaN, which INCRBYFLOAT refuses to store.
    pub fn to_human(self) -> Option<Vec<u8>> {
        let LongDouble::Finite { neg, mant, exp } = self else {
            return None;
        };
        let mut out = Vec::with_capacity(32);
        if neg {
            out.push(b'-');
        }
        if exp >= 0 {
            // An integer: no fraction digits survive the trimming.
            let mut int = Big::from_u128(mant as u128);
            int.shl(exp as u32);
            out.extend_from_slice(&int.to_decimal());
        } else {
            let k = exp.unsigned_abs();
            let (int, frac) = if k >= 64 {
                (0u64, mant)
            } else {
                (mant >> k, mant & ((1u64 << k) - 1))
            };
            const SCALE: u128 = 100_000_000_000_000_000; // 10^17
                                                         // frac / 2^k scaled by 10^17, rounded half to even. The product
                                                         // is below 2^121, so from k = 122 on it is under half a unit.
            let mut digits = 0u128;
            if k < 122 {
                let p = frac as u128 * SCALE;
                digits = p >> k;
                let rem = p & ((1u128 << k) - 1);
                let half = 1u128 << (k - 1);
                if rem > half || (rem == half && digits & 1 == 1) {
                    digits += 1;
                }
            }
            let mut int = int as u128;
            if digits == SCALE {
                digits = 0;
                int += 1;
            }
            out.extend_from_slice(int.to_string().as_bytes());
            out.push(b'.');
            out.extend_from_slice(format!("{digits:017}").as_bytes());
            while out.last() == Some(&b'0') {
                out.pop();
            }
            if out.last() == Some(&b'.') {
                out.pop();
            }
        }
        if out == b"-0" {
            out.remove(0);
        }
        Some(out)
    }
}

/// The IEEE sum, rounded half to even to a 64-bit mantissa.
impl std::ops::Add for LongDouble {
    type Output = LongDouble;

    fn add(self, other: LongDouble) -> LongDouble {
        use LongDouble::{Finite, Inf, Nan};
        let (a, b) = match (self, other) {
            (Nan, _) | (_, Nan) => return Nan,
            (Inf { neg: x }, Inf { neg: y }) => return if x == y { self } else { Nan },
            (Inf { .. }, _) => return self,
            (_, Inf { .. }) => return other,
            (
                Finite { neg, mant, exp },
                Finite {
                    neg: n2,
                    mant: m2,
                    exp: e2,
                },
            ) => ((neg, mant, exp), (n2, m2, e2)),
        };
        match (a.1, b.1) {
            // -0 + -0 is -0; any other sum of zeros is +0.
            (0, 0) => return LongDouble::zero(a.0 && b.0),
            (0, _) => return other,
            (_, 0) => return self,
            _ => {}
        }
        let (a, b) = if a.2 >= b.2 { (a, b) } else { (b, a) };
        let d = (a.2 - b.2) as u32;
        // Line both up in a u128. When b lies entirely below a's mantissa,
        // only its top bits and whether anything nonzero was cut off (the
        // sticky bit) can affect the rounding.
        let (big, small, exp, sticky) = if d <= 63 {
            ((a.1 as u128) << d, b.1 as u128, b.2, false)
        } else {
            let sh = d - 63;
            let small = if sh >= 64 { 0 } else { b.1 >> sh };
            let lost = sh >= 64 || b.1 & ((1u64 << sh) - 1) != 0;
            ((a.1 as u128) << 63, small as u128, a.2 - 63, lost)
        };
        if a.0 == b.0 {
            return round(a.0, big + small, exp, sticky);
        }
        match big.cmp(&small) {
            // Exact cancellation rounds to +0.
            Ordering::Equal => LongDouble::zero(false),
            // With a sticky bit the true difference lies strictly between
            // `big - small - 1` and `big - small`.
            Ordering::Greater => round(a.0, big - small - sticky as u128, exp, sticky),
            Ordering::Less => round(b.0, small - big, exp, false),
        }
    }
}

/// Rounds `(-1)^neg × (m + δ) × 2^exp` half to even, where `δ` is some
/// value in (0, 1) when `sticky` is set and 0 otherwise. `sticky` may only
/// be set when `m` has at least 65 bits, so that `δ` lies below the
/// rounding position.
fn round(neg: bool, m: u128, exp: i32, sticky: bool) -> LongDouble {
    if m == 0 {
        return LongDouble::zero(neg);
    }
    let bits = 128 - m.leading_zeros() as i32;
    let shift = (bits - 64).max(MIN_EXP.saturating_sub(exp));
    let (mant, exp) = if shift <= 0 {
        debug_assert!(!sticky);
        // Exact: normalise upwards as far as the minimum exponent allows.
        let up = (64 - bits).min(exp - MIN_EXP);
        ((m << up) as u64, exp - up)
    } else {
        let shift = shift as u32;
        let (mut q, up) = if shift > 128 {
            // The value is below half the smallest step: it rounds to zero.
            (0, false)
        } else {
            let q = if shift == 128 { 0 } else { m >> shift };
            let rem = if shift == 128 {
                m
            } else {
                m & ((1u128 << shift) - 1)
            };
            let half = 1u128 << (shift - 1);
            let up = rem > half || (rem == half && (sticky || q & 1 == 1));
            (q, up)
        };
        q += up as u128;
        let mut exp = exp.saturating_add(shift as i32);
        if q >> 64 != 0 {
            q >>= 1;
            exp = exp.saturating_add(1);
        }
        (q as u64, exp)
    };
    if mant == 0 {
        return LongDouble::zero(neg);
    }
    if exp > MAX_EXP {
        return LongDouble::Inf { neg };
    }
    LongDouble::Finite { neg, mant, exp }
}

/// Decimal `strtold` input after the sign: digits with at most one `.`
/// (at least one digit), then optionally `e`/`E`, an optional sign and
/// digits. `None` for anything else, and for results that overflow or
/// underflow to zero.
fn parse_decimal(neg: bool, s: &[u8]) -> Option<LongDouble> {
    let mut i = 0;
    let mut digits: Vec<u8> = Vec::new();
    let mut seen_digit = false;
    let mut seen_point = false;
    // value = digits × 10^exp10
    let mut exp10: i64 = 0;
    while i < s.len() {
        match s[i] {
            c @ b'0'..=b'9' => {
                seen_digit = true;
                if !(digits.is_empty() && c == b'0') {
                    digits.push(c - b'0');
                }
                if seen_point {
                    exp10 -= 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if !seen_digit {
        return None;
    }
    if i < s.len() {
        if !matches!(s[i], b'e' | b'E') {
            return None;
        }
        exp10 += parse_exponent(&s[i + 1..])?;
    }
    while digits.last() == Some(&0) {
        digits.pop();
        exp10 += 1;
    }
    if digits.is_empty() {
        // A zero with any exponent is exact: no ERANGE.
        return Some(LongDouble::zero(neg));
    }
    let nd = digits.len() as i64;
    // The value lies in [10^(nd-1+exp10), 10^(nd+exp10)). The largest
    // finite value is ~1.19e4932; half the smallest subnormal is ~1.82e-4951.
    if nd - 1 + exp10 >= 4933 {
        return None;
    }
    if nd + exp10 <= -4951 {
        return None;
    }
    let mut num = Big::from_digits(&digits);
    let mut den = Big::from_u128(1);
    if exp10 >= 0 {
        num.mul_pow10(exp10 as u32);
    } else {
        den.mul_pow10(exp10.unsigned_abs() as u32);
    }
    // num/den lies in (2^(k-1), 2^(k+1)); scale it by 2^-e into
    // (2^66, 2^68) so the quotient has at least two bits below the 64 kept.
    let k = num.bit_len() as i64 - den.bit_len() as i64;
    let e = k - 67;
    if e < 0 {
        num.shl(e.unsigned_abs() as u32);
    } else {
        den.shl(e as u32);
    }
    let (q, rest_nonzero) = num.div_small_quotient(&den, 68);
    let value = round(neg, q, e as i32, rest_nonzero);
    match value {
        // Underflow to zero is ERANGE with a zero result: Redis refuses it.
        LongDouble::Finite { mant: 0, .. } => None,
        _ => Some(value),
    }
}

/// Hex `strtold` input after `0x`: hex digits with at most one `.` (at
/// least one digit), then optionally `p`/`P`, an optional sign and decimal
/// digits giving a power of two.
fn parse_hex(neg: bool, s: &[u8]) -> Option<LongDouble> {
    // Up to 30 significant hex digits (120 bits) are kept; the rest only
    // matter through the sticky bit.
    const KEEP: u32 = 30;
    let mut m: u128 = 0;
    let mut kept = 0;
    let mut sticky = false;
    let mut exp2: i64 = 0;
    let mut seen_digit = false;
    let mut seen_point = false;
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == b'.' && !seen_point {
            seen_point = true;
            i += 1;
            continue;
        }
        let Some(d) = (c as char).to_digit(16) else {
            break;
        };
        seen_digit = true;
        if m == 0 && d == 0 {
            if seen_point {
                exp2 -= 4;
            }
        } else if kept < KEEP {
            m = m << 4 | d as u128;
            kept += 1;
            if seen_point {
                exp2 -= 4;
            }
        } else {
            sticky |= d != 0;
            if !seen_point {
                exp2 += 4;
            }
        }
        i += 1;
    }
    if !seen_digit {
        return None;
    }
    if i < s.len() {
        if !matches!(s[i], b'p' | b'P') {
            return None;
        }
        exp2 += parse_exponent(&s[i + 1..])?;
    }
    if m == 0 {
        return Some(LongDouble::zero(neg));
    }
    // Far outside the range the answer is known; inside it the i32
    // exponent cannot overflow.
    if exp2 > (MAX_EXP + 64) as i64 {
        return None;
    }
    if exp2 < (MIN_EXP - 130) as i64 {
        return None;
    }
    match round(neg, m, exp2 as i32, sticky) {
        LongDouble::Finite { mant: 0, .. } => None,
        value => Some(value),
    }
}

/// An exponent's optional sign and decimal digits, all of `s`. Saturates
/// far beyond any exponent that could matter, so huge ones stay harmless.
fn parse_exponent(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        v = (v * 10 + (c - b'0') as i64).min(1_000_000_000);
    }
    Some(if neg { -v } else { v })
}

/// Just enough unsigned big-integer arithmetic for exact conversions:
/// little-endian 32-bit limbs, no leading zero limbs.
#[derive(Clone, Debug)]
struct Big(Vec<u32>);

impl Big {
    fn from_u128(mut v: u128) -> Big {
        let mut limbs = Vec::new();
        while v != 0 {
            limbs.push(v as u32);
            v >>= 32;
        }
        Big(limbs)
    }

    /// From decimal digit values (0–9), most significant first.
    fn from_digits(digits: &[u8]) -> Big {
        let mut big = Big(Vec::with_capacity(digits.len() / 9 + 1));
        for chunk in digits.chunks(9) {
            let mut scale = 1u32;
            let mut add = 0u32;
            for &d in chunk {
                scale *= 10;
                add = add * 10 + d as u32;
            }
            big.mul_add_small(scale, add);
        }
        big
    }

    fn mul_add_small(&mut self, mul: u32, add: u32) {
        let mut carry = add as u64;
        for limb in &mut self.0 {
            let v = *limb as u64 * mul as u64 + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    fn mul_pow10(&mut self, mut n: u32) {
        while n >= 9 {
            self.mul_add_small(1_000_000_000, 0);
            n -= 9;
        }
        if n > 0 {
            self.mul_add_small(10u32.pow(n), 0);
        }
    }

    fn bit_len(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(top) => self.0.len() as u64 * 32 - top.leading_zeros() as u64,
        }
    }

    fn shl(&mut self, bits: u32) {
        if self.0.is_empty() {
            return;
        }
        let (limbs, bits) = ((bits / 32) as usize, bits % 32);
        if bits != 0 {
            let mut carry = 0u32;
            for limb in &mut self.0 {
                let v = *limb;
                *limb = v << bits | carry;
                carry = v >> (32 - bits);
            }
            if carry != 0 {
                self.0.push(carry);
            }
        }
        self.0.splice(0..0, std::iter::repeat_n(0, limbs));
    }

    fn shr1(&mut self) {
        let mut carry = 0u32;
        for limb in self.0.iter_mut().rev() {
            let v = *limb;
            *limb = v >> 1 | carry << 31;
            carry = v & 1;
        }
        if self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn compare(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    /// `self -= other`; `self >= other` must hold.
    fn sub_assign(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let o = other.0.get(i).copied().unwrap_or(0) as i64;
            let mut v = *limb as i64 - o - borrow;
            borrow = 0;
            if v < 0 {
                v += 1 << 32;
                borrow = 1;
            }
            *limb = v as u32;
            if i >= other.0.len() && borrow == 0 {
                break;
            }
        }
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    /// `self / den` when the quotient is known to fit in `bits` bits,
    /// by binary long division; also whether a remainder is left.
    fn div_small_quotient(mut self, den: &Big, bits: u32) -> (u128, bool) {
        let mut d = den.clone();
        d.shl(bits - 1);
        let mut q = 0u128;
        for i in (0..bits).rev() {
            if self.compare(&d) != Ordering::Less {
                self.sub_assign(&d);
                q |= 1 << i;
            }
            if i > 0 {
                d.shr1();
            }
        }
        (q, !self.0.is_empty())
    }

    /// Divides in place, returning the remainder.
    fn div_rem_small(&mut self, div: u32) -> u32 {
        let mut rem = 0u64;
        for limb in self.0.iter_mut().rev() {
            let v = rem << 32 | *limb as u64;
            *limb = (v / div as u64) as u32;
            rem = v % div as u64;
        }
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
        rem as u32
    }

    fn to_decimal(&self) -> Vec<u8> {
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.0.is_empty() {
            chunks.push(n.div_rem_small(1_000_000_000));
        }
        let Some((top, rest)) = chunks.split_last() else {
            return b"0".to_vec();
        };
        let mut out = top.to_string().into_bytes();
        for chunk in rest.iter().rev() {
            out.extend_from_slice(format!("{chunk:09}").as_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(a: &str, b: &str) -> Result<String, LdError> {
        incr_by_float(a.as_bytes(), b.as_bytes()).map(|v| String::from_utf8(v).unwrap())
    }

    #[test]
    fn redis_examples() {
        assert_eq!(sum("0", "1e3").unwrap(), "1000");
        assert_eq!(sum("1000", "1E-2").unwrap(), "1000.01000000000000001");
        assert_eq!(sum("10.5", "0.1").unwrap(), "10.6");
        assert_eq!(sum("0", "-1e-20").unwrap(), "0");
        assert_eq!(sum("0", "0x1p3").unwrap(), "8");
    }

    #[test]
    fn errors() {
        assert_eq!(sum("inf", "0"), Err(LdError::NanOrInf));
        assert_eq!(sum("inf", "-inf"), Err(LdError::NanOrInf));
        assert_eq!(sum("nan", "0"), Err(LdError::NotFloat));
        assert_eq!(sum("1\0", "0"), Err(LdError::NotFloat));
        assert_eq!(sum("1e-5000", "0"), Err(LdError::NotFloat));
        assert_eq!(sum("1e5000", "0"), Err(LdError::NotFloat));
        assert_eq!(sum("abc", "nan"), Err(LdError::NotFloat));
    }

    #[test]
    fn rounding_of_the_parse_is_half_to_even() {
        // 2^64 + 1 is halfway between 2^64 and 2^64 + 2: ties to 2^64.
        assert_eq!(
            LongDouble::parse(b"18446744073709551617"),
            LongDouble::parse(b"18446744073709551616")
        );
        // 2^64 + 3 ties to 2^64 + 4.
        assert_eq!(
            LongDouble::parse(b"18446744073709551619"),
            LongDouble::parse(b"18446744073709551620")
        );
    }

    #[test]
    fn from_f64_prints_as_percent_17_lf() {
        let human =
            |v: f64| String::from_utf8(LongDouble::from_f64(v).to_human().unwrap()).unwrap();
        assert_eq!(human(13.361389338970184), "13.36138933897018433");
        assert_eq!(human(-0.0), "0");
        assert_eq!(human(2.5), "2.5");
        assert_eq!(human(1e20), "100000000000000000000");
    }

    #[test]
    fn extremes_round_trip() {
        let max = LongDouble::Finite {
            neg: false,
            mant: u64::MAX,
            exp: MAX_EXP,
        };
        let text = max.to_human().unwrap();
        assert_eq!(LongDouble::parse(&text), Some(max));
        let min = LongDouble::Finite {
            neg: true,
            mant: 1,
            exp: MIN_EXP,
        };
        assert_eq!(LongDouble::parse(b"-0x1p-16445"), Some(min));
        assert_eq!(min.to_human().unwrap(), b"0");
    }
}
