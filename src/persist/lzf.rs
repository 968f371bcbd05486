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
//! The compressor makes the bytes liblzf 3.6 makes as Redis builds it
//! (`HLOG` 16, `VERY_FAST`, no `ULTRA_FAST`): the same rolling hash of the
//! last bytes, the same match rules and lengths, the same re-hashing of
//! two positions after a match and the same conservative checks of the
//! output space, so a string or listpack LZF-compressed in an RDB file or
//! a DUMP payload is byte-identical to Redis's. (liblzf leaves its hash
//! table uninitialized; a stale slot that happens to point into the new
//! input can change Redis's output. Here the table starts empty, which is
//! what a fresh Redis process sees.)

const HLOG: u32 = 16;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

fn first(input: &[u8], p: usize) -> u32 {
    u32::from(input[p]) << 8 | u32::from(input[p + 1])
}

fn next(v: u32, input: &[u8], p: usize) -> u32 {
    v << 8 | u32::from(input[p + 2])
}

fn idx(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) & ((1 << HLOG) - 1)) as usize
}

/// Appends a literal byte to the open run; a full run is closed and a new
/// one opened.
fn literal(out: &mut [u8], op: &mut usize, lit: &mut usize, byte: u8) {
    *lit += 1;
    out[*op] = byte;
    *op += 1;
    if *lit == MAX_LIT {
        out[*op - *lit - 1] = (*lit - 1) as u8;
        *lit = 0;
        *op += 1;
    }
}

/// Writes the open run's header, or takes back its slot if it is empty.
fn close_run(out: &mut [u8], op: &mut usize, lit: usize) {
    out[*op - lit - 1] = (lit as u8).wrapping_sub(1);
    *op -= usize::from(lit == 0);
}

/// liblzf's `lzf_compress` into a buffer of `out_len` bytes: `None` when
/// the output does not fit (by liblzf's own, slightly conservative,
/// checks), as Redis then stores the string uncompressed.
pub fn compress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let in_end = input.len();
    if in_end == 0 || out_len == 0 {
        return None;
    }
    // A few spare bytes: liblzf may step one past its end before it
    // checks, and writes a run header there that is not returned.
    let mut out = vec![0u8; out_len + 4];
    let out_end = out_len;
    // Each slot holds a position plus one; 0 is empty.
    let mut htab = vec![0usize; 1 << HLOG];
    let mut lit: usize = 0;
    let mut op: usize = 1; // start a run
    let mut ip: usize = 0;
    let mut hval = if in_end >= 2 { first(input, 0) } else { 0 };
    while ip + 2 < in_end {
        hval = next(hval, input, ip);
        let slot = idx(hval);
        let reference = htab[slot].checked_sub(1);
        htab[slot] = ip + 1;
        let found = reference.filter(|&r| {
            r < ip
                && ip - r - 1 < MAX_OFF
                && r > 0
                && input[r + 2] == input[ip + 2]
                && input[r] == input[ip]
                && input[r + 1] == input[ip + 1]
        });
        let Some(r) = found else {
            if op >= out_end {
                return None;
            }
            literal(&mut out, &mut op, &mut lit, input[ip]);
            ip += 1;
            continue;
        };
        let off = ip - r - 1;
        let mut len: usize = 2;
        let maxlen = (in_end - ip - len).min(MAX_REF);
        if op + 3 + 1 >= out_end && op - usize::from(lit == 0) + 3 + 1 >= out_end {
            return None;
        }
        close_run(&mut out, &mut op, lit);
        let mut mismatch = false;
        if maxlen > 16 {
            for _ in 0..16 {
                len += 1;
                if input[r + len] != input[ip + len] {
                    mismatch = true;
                    break;
                }
            }
        }
        if !mismatch {
            loop {
                len += 1;
                if !(len < maxlen && input[r + len] == input[ip + len]) {
                    break;
                }
            }
        }
        len -= 2;
        ip += 1;
        if len < 7 {
            out[op] = ((off >> 8) + (len << 5)) as u8;
            op += 1;
        } else {
            out[op] = ((off >> 8) + (7 << 5)) as u8;
            out[op + 1] = (len - 7) as u8;
            op += 2;
        }
        out[op] = off as u8;
        op += 1;
        lit = 0;
        op += 1; // start a run
        ip += len + 1;
        if ip + 2 >= in_end {
            break;
        }
        ip -= 2;
        hval = first(input, ip);
        hval = next(hval, input, ip);
        htab[idx(hval)] = ip + 1;
        ip += 1;
        hval = next(hval, input, ip);
        htab[idx(hval)] = ip + 1;
        ip += 1;
    }
    if op + 3 > out_end {
        return None;
    }
    for &byte in &input[ip..] {
        literal(&mut out, &mut op, &mut lit, byte);
    }
    close_run(&mut out, &mut op, lit);
    out.truncate(op);
    Some(out)
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
