//! The software `long double` against the real one.
//!
//! `tests/data/ldouble_vectors.txt` holds `current<TAB>increment<TAB>reply`
//! lines computed by glibc 2.36 with gcc 12 on x86-64, the platform Redis
//! runs on. They were made once, at development time, by a throwaway C
//! program (deliberately not part of the build) that copies Redis 7.0's
//! util.c: `string2ld` (reject empty or >= 5 KiB text, leading space,
//! trailing bytes, NaN, and `ERANGE` results that are ±HUGE_VAL or zero,
//! else `strtold`), then `a + b` in `long double`, then NaN/infinity →
//! `!NanOrInf`, else `snprintf("%.17Lf")` with trailing zeros and `.`
//! trimmed and `-0` turned into `0`; a refused operand gives `!NotFloat`.
//! Its inputs came from a Python script: edge cases (signs, `inf`,
//! `infinity`, NaN, hex floats, malformed text, 2^64 neighbours, the largest
//! value and the midpoint above it, subnormals and the underflow threshold,
//! the 5 KiB limit), random integers, decimals, exponents and hex floats,
//! exact binary values, exact midpoints between adjacent `long double`s and
//! their nearest decimal neighbours, cancellations, values whose 18th
//! decimal is a tie when printed, and chains that feed replies back as the
//! stored value. To extend them, run such a program on this platform and
//! append its lines; never edit expected replies by hand.

use proptest::prelude::*;
use rizzler::ldouble::{incr_by_float, LdError, LongDouble, MAX_LONG_DOUBLE_CHARS};

fn expected(reply: &[u8]) -> Result<Vec<u8>, LdError> {
    match reply {
        b"!NotFloat" => Err(LdError::NotFloat),
        b"!NanOrInf" => Err(LdError::NanOrInf),
        text => Ok(text.to_vec()),
    }
}

#[test]
fn every_vector_matches_glibc() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/ldouble_vectors.txt"
    );
    let data = std::fs::read(path).expect("vectors file");
    let (mut checked, mut failures) = (0, Vec::new());
    for (n, line) in data.split(|&c| c == b'\n').enumerate() {
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let fields: Vec<&[u8]> = line.split(|&c| c == b'\t').collect();
        assert_eq!(fields.len(), 3, "line {} is malformed", n + 1);
        let want = expected(fields[2]);
        let got = incr_by_float(fields[0], fields[1]);
        if got != want {
            failures.push(format!(
                "line {}: {:?} + {:?}: want {:?}, got {:?}",
                n + 1,
                String::from_utf8_lossy(fields[0]),
                String::from_utf8_lossy(fields[1]),
                want.map(|v| String::from_utf8_lossy(&v).into_owned()),
                got.map(|v| String::from_utf8_lossy(&v).into_owned()),
            ));
        }
        checked += 1;
    }
    assert!(checked > 5000, "only {checked} vectors");
    assert!(
        failures.is_empty(),
        "{} of {checked} vectors differ:\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}

#[test]
fn bytes_strtold_stops_at_are_refused() {
    for text in [
        &b"1\0"[..],
        b"\x001",
        b"1\x00.5",
        b"\xff",
        b"1\xc2\xa0",
        b"\n1",
    ] {
        assert_eq!(incr_by_float(text, b"0"), Err(LdError::NotFloat));
        assert_eq!(incr_by_float(b"0", text), Err(LdError::NotFloat));
    }
}

#[test]
fn the_five_kib_limit_counts_bytes() {
    let mut text = vec![b'1'];
    text.resize(MAX_LONG_DOUBLE_CHARS - 1, b'0');
    assert!(LongDouble::parse(&text).is_none(), "10^5118 overflows");
    text.insert(1, b'.');
    assert_eq!(incr_by_float(&text, b"0"), Err(LdError::NotFloat));
    text.pop();
    assert_eq!(incr_by_float(&text, b"0").unwrap(), b"1");
}

#[test]
fn long_random_inputs_stay_correct_shaped_and_fast() {
    // Worst cases for the big-integer paths: 5 KiB of digits at the edges
    // of the exponent range. Each must finish well under a second even
    // unoptimised.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut digit = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        b'0' + (seed % 10) as u8
    };
    for exp in ["e-9999", "e-4951", "e-4000", "e0", "e-5117", "e-100000"] {
        let mut text: Vec<u8> = (0..MAX_LONG_DOUBLE_CHARS - 1 - exp.len())
            .map(|_| digit())
            .collect();
        text[0] = b'7';
        text.extend_from_slice(exp.as_bytes());
        let start = std::time::Instant::now();
        let _ = incr_by_float(&text, b"1");
        assert!(start.elapsed().as_secs() < 2, "{exp} took too long");
    }
}

fn floatish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[-+]?[0-9]{0,40}(\\.[0-9]{0,40})?([eE][-+]?[0-9]{1,6})?",
        "[-+]?0[xX][0-9a-fA-F]{0,40}(\\.[0-9a-fA-F]{0,40})?([pP][-+]?[0-9]{1,6})?",
        "[-+]?(inf|infinity|nan|INF|Infinity)",
        "[-+0-9.eExXpP a-f]{0,30}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn no_input_panics(a in floatish(), b in floatish()) {
        let _ = incr_by_float(a.as_bytes(), b.as_bytes());
    }

    #[test]
    fn no_bytes_panic(a in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = incr_by_float(&a, b"1");
    }

    /// A stored reply is itself a float the next INCRBYFLOAT accepts.
    #[test]
    fn replies_parse_back(a in floatish(), b in floatish()) {
        if let Ok(reply) = incr_by_float(a.as_bytes(), b.as_bytes()) {
            let again = incr_by_float(&reply, b"0");
            prop_assert!(again.is_ok(), "{:?}", String::from_utf8_lossy(&reply));
        }
    }
}
