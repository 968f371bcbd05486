//! LZF, the compression RDB files use for long strings, in liblzf's format
//! (written from the format, not from liblzf's code):
//!
//! - `000LLLLL` + L+1 bytes: a run of 1..=32 literal bytes;
//! - `LLLooooo` [`llllllll`] `oooooooo`: a back reference: copy `len`
//!   bytes starting `offset + 1` bytes back in the output, where `offset`
//!   is 13 bits (the five low bits of the first byte are its high part)
//!   and `len - 2` is the three high bits, plus the extra byte when those
//!   three are all ones (so 3..=264 bytes).
//!
//! The compressor finds matches through a hash table of three-byte
//! prefixes, as liblzf does; its output is not byte-identical to liblzf's
//! (it need not be), but any LZF decoder reads it.

const MAX_LITERAL: usize = 32;
const MAX_OFFSET: usize = 1 << 13;
const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 264;
const HASH_BITS: u32 = 14;

fn hash(b: &[u8]) -> usize {
    let v = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
    (v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
}

/// Compresses `input`; `None` when the result would be longer than
/// `max_out` bytes (Redis keeps the string uncompressed then).
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let n = input.len();
    let mut out = Vec::with_capacity(max_out.min(n + n / 32 + 1));
    // Last position (plus one) where each hashed prefix was seen.
    let mut table = vec![0usize; 1 << HASH_BITS];
    let mut literal_start = 0;
    let mut i = 0;
    while i + MIN_MATCH <= n {
        let h = hash(&input[i..i + MIN_MATCH]);
        let candidate = table[h];
        table[h] = i + 1;
        if candidate > 0 {
            let r = candidate - 1;
            let offset = i - r - 1;
            if offset < MAX_OFFSET && input[r..r + MIN_MATCH] == input[i..i + MIN_MATCH] {
                let limit = MAX_MATCH.min(n - i);
                let mut len = MIN_MATCH;
                while len < limit && input[r + len] == input[i + len] {
                    len += 1;
                }
                push_literals(&mut out, &input[literal_start..i]);
                push_match(&mut out, len, offset);
                if out.len() > max_out {
                    return None;
                }
                // Remember the prefixes inside the match too, for later
                // matches (cheap, and closer to liblzf's ratio).
                for p in i + 1..(i + len).min(n.saturating_sub(MIN_MATCH - 1)) {
                    table[hash(&input[p..p + MIN_MATCH])] = p + 1;
                }
                i += len;
                literal_start = i;
                continue;
            }
        }
        i += 1;
    }
    push_literals(&mut out, &input[literal_start..]);
    (out.len() <= max_out).then_some(out)
}

fn push_literals(out: &mut Vec<u8>, mut lit: &[u8]) {
    while !lit.is_empty() {
        let take = lit.len().min(MAX_LITERAL);
        out.push((take - 1) as u8);
        out.extend_from_slice(&lit[..take]);
        lit = &lit[take..];
    }
}

fn push_match(out: &mut Vec<u8>, len: usize, offset: usize) {
    let l = len - 2;
    let high = (offset >> 8) as u8;
    if l < 7 {
        out.push(((l as u8) << 5) | high);
    } else {
        out.push((7 << 5) | high);
        out.push((l - 7) as u8);
    }
    out.push((offset & 0xff) as u8);
}

/// Decompresses `input`, which must give exactly `len` bytes. The output
/// grows as it is produced: a false `len` costs no allocation up front.
pub fn decompress(input: &[u8], len: usize) -> Result<Vec<u8>, &'static str> {
    // Each input byte yields at most 88 output bytes (a three-byte
    // reference copies 264), so a longer claim is a lie.
    if len / 88 > input.len() {
        return Err("LZF length larger than its data can hold");
    }
    let mut out: Vec<u8> = Vec::with_capacity(len.min(input.len().saturating_mul(4)));
    let mut i = 0;
    while i < input.len() {
        let ctrl = usize::from(input[i]);
        i += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let lit = input.get(i..i + run).ok_or("LZF literal past the end")?;
            if out.len() + run > len {
                return Err("LZF output longer than declared");
            }
            out.extend_from_slice(lit);
            i += run;
        } else {
            let mut n = ctrl >> 5;
            if n == 7 {
                n += usize::from(*input.get(i).ok_or("LZF reference past the end")?);
                i += 1;
            }
            let low = usize::from(*input.get(i).ok_or("LZF reference past the end")?);
            i += 1;
            let back = ((ctrl & 0x1f) << 8 | low) + 1;
            let n = n + 2;
            if back > out.len() {
                return Err("LZF reference before the start");
            }
            if out.len() + n > len {
                return Err("LZF output longer than declared");
            }
            let from = out.len() - back;
            if back >= n {
                out.extend_from_within(from..from + n);
            } else {
                // Overlapping copy: byte by byte, as the format means.
                for k in 0..n {
                    let b = out[from + k];
                    out.push(b);
                }
            }
        }
    }
    if out.len() != len {
        return Err("LZF output shorter than declared");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn compresses_repetitive_data() {
        let data = b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let c = compress(data, data.len() - 4).expect("compresses");
        assert!(c.len() < 10);
        assert_eq!(decompress(&c, data.len()).as_deref(), Ok(&data[..]));
        let long = vec![b'x'; 100_000];
        let c = compress(&long, long.len()).expect("compresses");
        assert_eq!(decompress(&c, long.len()), Ok(long));
    }

    #[test]
    fn incompressible_data_gives_none() {
        let data: Vec<u8> = (0..64u32).map(|i| (i * 97 + 13) as u8).collect();
        assert!(compress(&data, data.len() - 4).is_none());
    }

    #[test]
    fn corrupt_streams_are_errors() {
        assert!(decompress(&[0x05, 1, 2], 6).is_err());
        assert!(decompress(&[0x20, 0x00], 3).is_err());
        assert!(decompress(&[0x00, 1, 0x20, 0x00], 10).is_err());
        assert!(decompress(&[0x00, 1], 1 << 40).is_err());
    }

    proptest! {
        #[test]
        fn round_trips(data in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 0..5000)) {
            if let Some(c) = compress(&data, data.len()) {
                prop_assert!(c.len() <= data.len());
                prop_assert_eq!(decompress(&c, data.len()), Ok(data));
            }
        }
    }
}
