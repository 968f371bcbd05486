//! HyperLogLog as Redis 7.0 stores it (`hyperloglog.c`), so that the
//! string a PFADD leaves is the one Redis leaves, byte for byte, and counts
//! agree.
//!
//! The value is a string: a 16-byte header (`HYLL`, the encoding, three
//! unused bytes, the cached cardinality in little endian whose top bit
//! marks it stale), then 16384 registers of 6 bits. Dense, they are packed
//! little-endian-first into 12288 bytes. Sparse, they are run-length
//! opcodes: `00xxxxxx` ZERO (1–64 zero registers), `01xxxxxx yyyyyyyy`
//! XZERO (1–16384 zero registers), `1vvvvvxx` VAL (1–4 registers of value
//! 1–32). A sparse HLL turns dense when a register needs more than 32 or
//! when it would pass `hll-sparse-max-bytes`.
//!
//! Every function here takes bytes a client may have written with SET:
//! nothing indexes past the end, and a corrupted HLL is an `Err(Corrupt)`
//! where Redis answers `-INVALIDOBJ`. Where Redis reads the string's
//! terminating NUL (an XZERO opcode cut in half), a missing byte reads 0.

/// Header length.
pub const HDR: usize = 16;
/// Registers (2^14).
pub const REGISTERS: usize = 1 << P;
/// A dense HLL's exact length.
pub const DENSE_SIZE: usize = HDR + (REGISTERS * 6).div_ceil(8);
const P: u32 = 14;
/// Hash bits left after the register index.
const Q: u32 = 64 - P;
const SPARSE_VAL_MAX: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;

/// The registers do not decode (Redis's `C_ERR` / `-1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Dense,
    Sparse,
}

/// Redis's `isHLLObjectOrReply`: the encoding if `bytes` has an HLL's
/// header (and a dense one its exact length); `None` otherwise.
pub fn encoding(bytes: &[u8]) -> Option<Encoding> {
    if bytes.len() < HDR || &bytes[..4] != b"HYLL" {
        return None;
    }
    match bytes[4] {
        0 if bytes.len() == DENSE_SIZE => Some(Encoding::Dense),
        1 => Some(Encoding::Sparse),
        _ => None,
    }
}

/// A new, empty HLL: sparse, one XZERO covering every register, a
/// cached cardinality of 0.
pub fn new_sparse() -> Vec<u8> {
    let mut h = vec![0u8; HDR];
    h[..4].copy_from_slice(b"HYLL");
    h[4] = 1;
    let mut left = REGISTERS;
    while left > 0 {
        let n = left.min(XZERO_MAX_LEN);
        h.extend_from_slice(&xzero(n));
        left -= n;
    }
    h
}

/// The cached cardinality, if it is current.
pub fn cached(h: &[u8]) -> Option<u64> {
    let card = u64::from_le_bytes(h[8..16].try_into().ok()?);
    (h[15] & 0x80 == 0).then_some(card)
}

pub fn set_cached(h: &mut [u8], card: u64) {
    h[8..16].copy_from_slice(&card.to_le_bytes());
}

pub fn invalidate(h: &mut [u8]) {
    h[15] |= 0x80;
}

/// MurmurHash2, 64-bit (MurmurHash64A), reading words little endian as
/// Redis does on every architecture.
pub fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let words = key.chunks_exact(8);
    let tail = words.remainder();
    for w in words {
        let mut k = u64::from_le_bytes(w.try_into().unwrap_or_default());
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// Redis's `hllPatLen`: the register `ele` hashes to, and the length of
/// the run of zeros (plus the 1 ending it) in the rest of its hash.
pub fn pattern(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, 0xadc8_3b19);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ------------------------------------------------------------------- dense

/// Register `i` of dense registers (the bytes after the header).
pub fn dense_get(regs: &[u8], i: usize) -> u8 {
    let (byte, shift) = (i * 6 / 8, (i * 6) & 7);
    let b0 = u16::from(regs[byte]);
    let b1 = u16::from(regs.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> shift) | (b1 << (8 - shift))) & 63) as u8
}

pub fn dense_set(regs: &mut [u8], i: usize, v: u8) {
    let (byte, shift) = (i * 6 / 8, (i * 6) & 7);
    let v = u16::from(v);
    regs[byte] &= !((63u16 << shift) as u8);
    regs[byte] |= (v << shift) as u8;
    if let Some(next) = regs.get_mut(byte + 1) {
        *next &= !((63u16 >> (8 - shift)) as u8);
        *next |= (v >> (8 - shift)) as u8;
    }
}

/// Calls `f` with each group of four dense registers, which three bytes
/// hold: the fast walk over all 16384 (a histogram, a merge).
fn dense_quads(regs: &[u8], mut f: impl FnMut(usize, [u8; 4])) {
    for (q, b) in regs.chunks_exact(3).take(REGISTERS / 4).enumerate() {
        let (b0, b1, b2) = (b[0], b[1], b[2]);
        let quad = [
            b0 & 63,
            (b0 >> 6 | b1 << 2) & 63,
            (b1 >> 4 | b2 << 4) & 63,
            b2 >> 2,
        ];
        f(q * 4, quad);
    }
}

/// Sets register `i` to `count` if that is larger; whether it was.
fn dense_raise(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_set(regs, i, count);
        true
    } else {
        false
    }
}

// ------------------------------------------------------------------ sparse

fn is_zero(op: u8) -> bool {
    op & 0xc0 == 0
}

fn is_xzero(op: u8) -> bool {
    op & 0xc0 == 0x40
}

fn is_val(op: u8) -> bool {
    op & 0x80 != 0
}

fn zero_len(op: u8) -> usize {
    usize::from(op & 0x3f) + 1
}

fn xzero_len(op: u8, next: u8) -> usize {
    (usize::from(op & 0x3f) << 8 | usize::from(next)) + 1
}

fn val_value(op: u8) -> u8 {
    ((op >> 2) & 0x1f) + 1
}

fn val_len(op: u8) -> usize {
    usize::from(op & 3) + 1
}

fn val(value: u8, len: usize) -> u8 {
    ((value - 1) << 2) | (len as u8 - 1) | 0x80
}

fn zero(len: usize) -> u8 {
    (len - 1) as u8
}

fn xzero(len: usize) -> [u8; 2] {
    let l = len - 1;
    [(l >> 8) as u8 | 0x40, l as u8]
}

/// The byte at `i`, 0 past the end (Redis reads the string's NUL there).
fn byte_at(h: &[u8], i: usize) -> u8 {
    h.get(i).copied().unwrap_or(0)
}

/// One sparse opcode: registers covered, bytes taken, and its value (0
/// for the zero runs).
fn opcode(h: &[u8], p: usize) -> (usize, usize, u8) {
    let op = h[p];
    if is_zero(op) {
        (zero_len(op), 1, 0)
    } else if is_xzero(op) {
        (xzero_len(op, byte_at(h, p + 1)), 2, 0)
    } else {
        (val_len(op), 1, val_value(op))
    }
}

/// Walks a sparse HLL's opcodes, calling `f(first, run, value)` for each
/// VAL; stops at a VAL that would pass the last register, as Redis does.
/// Returns how many registers the opcodes covered, counted in a C `int`
/// that wraps as Redis's does.
fn walk_values(h: &[u8], mut f: impl FnMut(usize, usize, u8)) -> i32 {
    let (mut idx, mut p) = (0i32, HDR);
    while p < h.len() {
        let (run, len, value) = opcode(h, p);
        if value > 0 {
            // (A wrapped, negative count is past saving: Redis would
            // write outside its registers there.)
            if idx < 0 || idx as usize + run > REGISTERS {
                break;
            }
            f(idx as usize, run, value);
        }
        idx = idx.wrapping_add(run as i32);
        p += len;
    }
    idx
}

/// Redis's `hllSparseToDense`, in place; a dense HLL is left alone. The
/// header (cached cardinality included) is kept.
pub fn to_dense(h: &mut Vec<u8>) -> Result<(), Corrupt> {
    if h[4] == 0 {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR].copy_from_slice(&h[..HDR]);
    dense[4] = 0;
    let regs = &mut dense[HDR..];
    let covered = walk_values(h, |first, run, value| {
        for i in first..first + run {
            dense_set(regs, i, value);
        }
    });
    if covered != REGISTERS as i32 {
        return Err(Corrupt);
    }
    *h = dense;
    Ok(())
}

/// Redis's `hllSparseSet`: raises register `index` to `count` in a sparse
/// HLL, splitting the opcode that covers it and merging equal VALs after,
/// or turns the HLL dense when a sparse form can't hold the result within
/// `max_bytes`. Whether the register changed.
pub fn sparse_set(
    h: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: usize,
) -> Result<bool, Corrupt> {
    if count > SPARSE_VAL_MAX {
        return promote(h, index, count);
    }
    // Step 1: find the opcode covering `index`.
    let end = h.len();
    let (mut p, mut first, mut prev, mut span) = (HDR, 0usize, None, 0usize);
    while p < end {
        let (run, len, _) = opcode(h, p);
        span = run;
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += len;
        first += span;
    }
    if span == 0 || p >= end {
        return Err(Corrupt);
    }
    let op = h[p];
    let old_len = if is_xzero(op) { 2 } else { 1 };
    let (run, _, _) = opcode(h, p);
    // Step 2: the cases that change the opcode in place.
    let mut in_place = false;
    if is_val(op) {
        if val_value(op) >= count {
            return Ok(false);
        }
        in_place = run == 1;
    } else if is_zero(op) && run == 1 {
        in_place = true;
    }
    if in_place {
        h[p] = val(count, 1);
    } else {
        // Step 3: split into up to three opcodes.
        let last = first + span - 1;
        let mut seq: Vec<u8> = Vec::with_capacity(5);
        let zeros = |seq: &mut Vec<u8>, len: usize| {
            if len > SPARSE_ZERO_MAX_LEN {
                seq.extend_from_slice(&xzero(len));
            } else {
                seq.push(zero(len));
            }
        };
        if is_val(op) {
            let current = val_value(op);
            if index != first {
                seq.push(val(current, index - first));
            }
            seq.push(val(count, 1));
            if index != last {
                seq.push(val(current, last - index));
            }
        } else {
            if index != first {
                zeros(&mut seq, index - first);
            }
            seq.push(val(count, 1));
            if index != last {
                zeros(&mut seq, last - index);
            }
        }
        let new_len = (end + seq.len()) as isize - old_len as isize;
        if seq.len() > old_len && new_len as usize > max_bytes {
            return promote(h, index, count);
        }
        if p + old_len <= end {
            h.splice(p..p + old_len, seq);
        } else {
            // An XZERO cut by the end of the string: Redis writes past
            // the new length, which keeps only what fits.
            h.truncate(p);
            h.extend_from_slice(&seq);
            h.truncate(new_len.max(0) as usize);
        }
    }
    // Step 4: merge adjacent VALs of one value, up to five opcodes from
    // the one before the change.
    let mut p = prev.unwrap_or(HDR);
    let mut scan = 5;
    while p < h.len() && scan > 0 {
        scan -= 1;
        let op = h[p];
        if is_xzero(op) {
            p += 2;
            continue;
        }
        if is_zero(op) {
            p += 1;
            continue;
        }
        if p + 1 < h.len() && is_val(h[p + 1]) {
            let next = h[p + 1];
            let len = val_len(op) + val_len(next);
            if val_value(op) == val_value(next) && len <= SPARSE_VAL_MAX_LEN {
                h[p + 1] = val(val_value(op), len);
                h.remove(p);
                continue;
            }
        }
        p += 1;
    }
    invalidate(h);
    Ok(true)
}

/// Turns a sparse HLL dense and sets the register there.
fn promote(h: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(h)?;
    dense_raise(&mut h[HDR..], index, count);
    Ok(true)
}

/// Redis's `hllAdd`: whether a register changed.
pub fn add(h: &mut Vec<u8>, ele: &[u8], max_bytes: usize) -> Result<bool, Corrupt> {
    let (index, count) = pattern(ele);
    match encoding(h) {
        Some(Encoding::Dense) => Ok(dense_raise(&mut h[HDR..], index, count)),
        Some(Encoding::Sparse) => sparse_set(h, index, count, max_bytes),
        None => Err(Corrupt),
    }
}

/// Raises `h`'s registers to `max` (PFMERGE's write of the union), the
/// sparse form growing as it must (and turning dense past `max_bytes`).
pub fn raise_all(h: &mut Vec<u8>, max: &[u8], max_bytes: usize) {
    for (i, &v) in max.iter().enumerate() {
        if v == 0 {
            continue;
        }
        if h[4] == 0 {
            dense_raise(&mut h[HDR..], i, v);
        } else {
            // Redis ignores a failure here: the sources were checked.
            let _ = sparse_set(h, i, v, max_bytes);
        }
    }
}

// ------------------------------------------------------------------- count

/// How many registers hold each value; Redis keeps these in C `int`s.
type Histogram = [i32; 64];

fn dense_histogram(regs: &[u8], hist: &mut Histogram) {
    dense_quads(regs, |_, quad| {
        for r in quad {
            hist[usize::from(r)] += 1;
        }
    });
}

/// The sparse registers' histogram; `Err` when they do not cover exactly
/// the 16384 registers.
fn sparse_histogram(h: &[u8], hist: &mut Histogram) -> Result<(), Corrupt> {
    let (mut idx, mut p) = (0i32, HDR);
    while p < h.len() {
        let (run, len, value) = opcode(h, p);
        idx = idx.wrapping_add(run as i32);
        let slot = &mut hist[usize::from(value)];
        *slot = slot.wrapping_add(run as i32);
        p += len;
    }
    if idx as usize != REGISTERS {
        return Err(Corrupt);
    }
    Ok(())
}

/// Redis's `hllCount`: the estimate of a valid HLL, by Ertl's improved
/// estimator as Redis 7.0 computes it (same operations, same order, so
/// the same doubles).
pub fn count(h: &[u8]) -> Result<u64, Corrupt> {
    let mut hist = [0i32; 64];
    match encoding(h) {
        Some(Encoding::Dense) => dense_histogram(&h[HDR..], &mut hist),
        Some(Encoding::Sparse) => sparse_histogram(h, &mut hist)?,
        None => return Err(Corrupt),
    }
    Ok(estimate(&hist))
}

/// The estimate for registers held one per byte (a merged union).
pub fn count_raw(regs: &[u8]) -> u64 {
    let mut hist = [0i32; 64];
    for &r in regs {
        hist[usize::from(r & 63)] += 1;
    }
    estimate(&hist)
}

fn estimate(hist: &Histogram) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - f64::from(hist[Q as usize + 1])) / m);
    for j in (1..=Q as usize).rev() {
        z += f64::from(hist[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(hist[0]) / m);
    const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
    (ALPHA_INF * m * m / z).round() as u64
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if before == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if before == z {
            return z / 3.0;
        }
    }
}

/// Redis's `hllMerge`: raises each of `max`'s 16384 registers to the
/// HLL's.
pub fn merge_into(max: &mut [u8], h: &[u8]) -> Result<(), Corrupt> {
    match encoding(h) {
        Some(Encoding::Dense) => {
            dense_quads(&h[HDR..], |first, quad| {
                if let Some(m) = max.get_mut(first..first + 4) {
                    for (m, r) in m.iter_mut().zip(quad) {
                        *m = (*m).max(r);
                    }
                }
            });
            Ok(())
        }
        Some(Encoding::Sparse) => {
            let covered = walk_values(h, |first, run, value| {
                for m in &mut max[first..first + run] {
                    *m = (*m).max(value);
                }
            });
            if covered != REGISTERS as i32 {
                return Err(Corrupt);
            }
            Ok(())
        }
        None => Err(Corrupt),
    }
}

/// PFDEBUG DECODE: the sparse opcodes as `z:N`, `Z:N`, `v:V,N`.
pub fn decode(h: &[u8]) -> String {
    let mut out = Vec::new();
    let mut p = HDR;
    while p < h.len() {
        let op = h[p];
        let (run, len, value) = opcode(h, p);
        out.push(if is_zero(op) {
            format!("z:{run}")
        } else if is_xzero(op) {
            format!("Z:{run}")
        } else {
            format!("v:{value},{run}")
        });
        p += len;
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_registers_round_trip() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR];
        let mut rng = crate::util::Rng::from_seed(7);
        let mut model = vec![0u8; REGISTERS];
        for _ in 0..3 {
            for (i, m) in model.iter_mut().enumerate() {
                *m = (rng.next_u64() & 63) as u8;
                dense_set(&mut regs, i, *m);
            }
            for (i, m) in model.iter().enumerate() {
                assert_eq!(dense_get(&regs, i), *m);
            }
            let mut quads = Vec::new();
            dense_quads(&regs, |first, quad| {
                assert_eq!(first, quads.len());
                quads.extend_from_slice(&quad);
            });
            assert_eq!(quads, model);
        }
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut sparse = new_sparse();
        let mut dense = new_sparse();
        to_dense(&mut dense).unwrap();
        for n in 0..5000u64 {
            let ele = n.to_le_bytes();
            add(&mut sparse, &ele, 3000).unwrap();
            add(&mut dense, &ele, 3000).unwrap();
            if n % 97 == 0 {
                assert_eq!(count(&sparse), count(&dense), "after {n}");
            }
        }
        assert_eq!(encoding(&sparse), Some(Encoding::Dense));
        assert_eq!(sparse[HDR..], dense[HDR..]);
        let c = count(&dense).unwrap();
        assert!((4800..5200).contains(&c), "{c}");
    }

    #[test]
    fn empty_counts_zero() {
        assert_eq!(count(&new_sparse()), Ok(0));
        assert_eq!(decode(&new_sparse()), "Z:16384");
        assert_eq!(count_raw(&[0; REGISTERS]), 0);
    }
}
