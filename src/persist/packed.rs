//! The packed blobs an RDB file embeds as strings: listpack (Redis 7's
//! small lists, hashes and sorted sets), intset (small all-integer sets),
//! and the older ziplist and zipmap, which are only read. Written from
//! the layouts in Redis's listpack.c, intset.c, ziplist.c and zipmap.c.
//!
//! Readers validate as Redis's deep integrity checks do (sizes, bounds,
//! back-lengths, counts, order) and return an error for anything else;
//! they never panic and never allocate more than the blob's own size.

use crate::resp::{format_int, parse_i64};
use crate::store::Bytes;

/// One element of a listpack or ziplist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Elem<'_> {
    pub fn to_bytes(self) -> Bytes {
        match self {
            Elem::Int(n) => Bytes::from(format_int(&mut [0; 20], n)),
            Elem::Str(s) => Bytes::from(s),
        }
    }
}

type Result<T> = std::result::Result<T, &'static str>;

const LP_HEADER: usize = 6;
const LP_EOF: u8 = 0xff;
/// A listpack's element count when it does not fit the 16-bit field.
const LP_COUNT_UNKNOWN: u16 = u16::MAX;

/// Listpack's `lpStringToInt64`: Redis's `string2ll` on at most 20 bytes.
fn as_int(s: &[u8]) -> Option<i64> {
    if s.len() > 20 {
        return None;
    }
    parse_i64(s)
}

/// Builds a listpack element by element, choosing each element's encoding
/// as Redis's `lpAppend` does.
#[derive(Debug, Clone)]
pub struct ListpackWriter {
    buf: Vec<u8>,
    count: usize,
}

impl Default for ListpackWriter {
    fn default() -> Self {
        ListpackWriter {
            buf: vec![0; LP_HEADER],
            count: 0,
        }
    }
}

impl ListpackWriter {
    /// Appends `ele`, as an integer when it is a canonical one.
    pub fn push(&mut self, ele: &[u8]) {
        match as_int(ele) {
            Some(v) => self.push_int(v),
            None => self.push_str(ele),
        }
    }

    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        let b = &mut self.buf;
        if (0..=127).contains(&v) {
            b.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u64) & 0x1fff;
            b.push(0xc0 | (u >> 8) as u8);
            b.push(u as u8);
        } else if (-32768..=32767).contains(&v) {
            b.push(0xf1);
            b.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (-8_388_608..=8_388_607).contains(&v) {
            b.push(0xf2);
            b.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if (i64::from(i32::MIN)..=i64::from(i32::MAX)).contains(&v) {
            b.push(0xf3);
            b.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            b.push(0xf4);
            b.extend_from_slice(&v.to_le_bytes());
        }
        self.end_entry(start);
    }

    fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let b = &mut self.buf;
        let len = s.len();
        if len < 64 {
            b.push(0x80 | len as u8);
        } else if len < 4096 {
            b.push(0xe0 | (len >> 8) as u8);
            b.push(len as u8);
        } else {
            b.push(0xf0);
            b.extend_from_slice(&(len as u32).to_le_bytes());
        }
        b.extend_from_slice(s);
        self.end_entry(start);
    }

    fn end_entry(&mut self, start: usize) {
        let len = (self.buf.len() - start) as u64;
        push_backlen(&mut self.buf, len);
        self.count += 1;
    }

    /// The listpack's size once finished (Redis's `lpBytes`).
    pub fn total_bytes(&self) -> usize {
        self.buf.len() + 1
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(LP_EOF);
        let total = self.buf.len() as u32;
        let count = u16::try_from(self.count).unwrap_or(LP_COUNT_UNKNOWN);
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

/// Listpack's `lpEncodeBacklen`: the entry's length, readable from its
/// last byte backwards (seven bits a byte, high bit = more to the left).
fn push_backlen(buf: &mut Vec<u8>, l: u64) {
    let groups = if l <= 127 {
        1
    } else if l < 16383 {
        2
    } else if l < 2_097_151 {
        3
    } else if l < 268_435_455 {
        4
    } else {
        5
    };
    for g in (0..groups).rev() {
        let bits = ((l >> (7 * g)) & 127) as u8;
        buf.push(if g == groups - 1 { bits } else { bits | 128 });
    }
}

fn backlen_size(l: u64) -> usize {
    let mut v = Vec::with_capacity(5);
    push_backlen(&mut v, l);
    v.len()
}

fn le_u32(b: &[u8], at: usize) -> Result<u32> {
    let s = b.get(at..at + 4).ok_or("truncated header")?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn le_u16(b: &[u8], at: usize) -> Result<u16> {
    let s = b.get(at..at + 2).ok_or("truncated header")?;
    Ok(u16::from_le_bytes([s[0], s[1]]))
}

/// Sign-extends the low `bits` bits of `v`.
fn sign_extend(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

fn le_int(b: &[u8], bits: u32) -> i64 {
    let mut v = 0u64;
    for (i, &byte) in b.iter().enumerate() {
        v |= u64::from(byte) << (8 * i);
    }
    sign_extend(v, bits)
}

/// Every element of the listpack `lp`, validated as Redis's deep
/// `lpValidateIntegrity` does.
pub fn listpack_entries(lp: &[u8]) -> Result<Vec<Elem<'_>>> {
    if lp.len() < LP_HEADER + 1 {
        return Err("listpack shorter than its header");
    }
    if le_u32(lp, 0)? as usize != lp.len() {
        return Err("listpack size header does not match its length");
    }
    if lp.last() != Some(&LP_EOF) {
        return Err("listpack does not end with its terminator");
    }
    let header_count = le_u16(lp, 4)?;
    let end = lp.len() - 1;
    let mut out = Vec::with_capacity(usize::from(header_count).min(lp.len()));
    let mut p = LP_HEADER;
    while p < end {
        let enc = lp[p];
        let byte = |i: usize| lp.get(p + i).copied().ok_or("listpack entry past the end");
        let (elem_len, elem): (usize, Elem) = if enc & 0x80 == 0 {
            (1, Elem::Int(i64::from(enc & 0x7f)))
        } else if enc & 0xc0 == 0x80 {
            let n = usize::from(enc & 0x3f);
            (
                1 + n,
                Elem::Str(lp.get(p + 1..p + 1 + n).unwrap_or_default()),
            )
        } else if enc & 0xe0 == 0xc0 {
            let v = u64::from(enc & 0x1f) << 8 | u64::from(byte(1)?);
            (2, Elem::Int(sign_extend(v, 13)))
        } else if enc & 0xf0 == 0xe0 {
            let n = usize::from(enc & 0x0f) << 8 | usize::from(byte(1)?);
            (
                2 + n,
                Elem::Str(lp.get(p + 2..p + 2 + n).unwrap_or_default()),
            )
        } else {
            match enc {
                0xf0 => {
                    let n = le_u32(lp, p + 1).map_err(|_| "listpack entry past the end")? as usize;
                    (
                        5 + n,
                        Elem::Str(lp.get(p + 5..p + 5 + n).unwrap_or_default()),
                    )
                }
                0xf1..=0xf4 => {
                    let (size, bits) = match enc {
                        0xf1 => (2, 16),
                        0xf2 => (3, 24),
                        0xf3 => (4, 32),
                        _ => (8, 64),
                    };
                    let raw = lp
                        .get(p + 1..p + 1 + size)
                        .ok_or("listpack entry past the end")?;
                    (1 + size, Elem::Int(le_int(raw, bits)))
                }
                _ => return Err("invalid listpack entry encoding"),
            }
        };
        let back = backlen_size(elem_len as u64);
        let next = p
            .checked_add(elem_len + back)
            .filter(|&n| n <= end)
            .ok_or("listpack entry past the end")?;
        // A string's bytes were taken with `get`: `next <= end` above
        // proves they were all there.
        let mut expect = Vec::with_capacity(5);
        push_backlen(&mut expect, elem_len as u64);
        if lp[p + elem_len..next] != expect[..] {
            return Err("listpack entry back-length does not match");
        }
        out.push(elem);
        p = next;
    }
    if header_count != LP_COUNT_UNKNOWN && usize::from(header_count) != out.len() {
        return Err("listpack count header does not match its entries");
    }
    Ok(out)
}

/// An intset holding `values` (sorted, distinct) in the narrowest width.
pub fn intset(values: &[i64]) -> Vec<u8> {
    let width: usize = if values.iter().all(|&v| i16::try_from(v).is_ok()) {
        2
    } else if values.iter().all(|&v| i32::try_from(v).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * values.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for &v in values {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

/// An intset's members, validated as Redis's deep
/// `intsetValidateIntegrity` does: a known width, the size matching the
/// count, not empty, strictly ascending.
pub fn intset_values(b: &[u8]) -> Result<Vec<i64>> {
    let width = le_u32(b, 0)? as usize;
    if ![2, 4, 8].contains(&width) {
        return Err("invalid intset encoding");
    }
    let count = le_u32(b, 4)? as usize;
    if count.checked_mul(width).and_then(|n| n.checked_add(8)) != Some(b.len()) {
        return Err("intset size does not match its count");
    }
    if count == 0 {
        return Err("empty intset");
    }
    let values: Vec<i64> = b[8..]
        .chunks_exact(width)
        .map(|c| le_int(c, 8 * width as u32))
        .collect();
    if values.windows(2).any(|w| w[0] >= w[1]) {
        return Err("intset members out of order or repeated");
    }
    Ok(values)
}

const ZL_HEADER: usize = 10;

/// Every element of the ziplist `zl`, validated as Redis's deep
/// `ziplistValidateIntegrity` does.
pub fn ziplist_entries(zl: &[u8]) -> Result<Vec<Elem<'_>>> {
    if zl.len() < ZL_HEADER + 1 {
        return Err("ziplist shorter than its header");
    }
    if le_u32(zl, 0)? as usize != zl.len() {
        return Err("ziplist size header does not match its length");
    }
    if zl.last() != Some(&0xff) {
        return Err("ziplist does not end with its terminator");
    }
    let tail = le_u32(zl, 4)? as usize;
    if tail > zl.len() - 1 {
        return Err("ziplist tail offset past the end");
    }
    let header_count = le_u16(zl, 8)?;
    let end = zl.len() - 1;
    let mut out = Vec::with_capacity(usize::from(header_count).min(zl.len()));
    let mut p = ZL_HEADER;
    let mut prev_size = 0usize;
    let mut last = None;
    while zl[p] != 0xff {
        let past = "ziplist entry past the end";
        let (prevlen, mut q) = if zl[p] < 254 {
            (usize::from(zl[p]), p + 1)
        } else {
            (le_u32(zl, p + 1).map_err(|_| past)? as usize, p + 5)
        };
        if prevlen != prev_size {
            return Err("ziplist entry's previous length does not match");
        }
        let enc = *zl.get(q).filter(|_| q < end).ok_or(past)?;
        q += 1;
        let elem = match enc >> 6 {
            0..=2 => {
                let n = match enc >> 6 {
                    0 => usize::from(enc & 0x3f),
                    1 => {
                        let b = *zl.get(q).ok_or(past)?;
                        q += 1;
                        usize::from(enc & 0x3f) << 8 | usize::from(b)
                    }
                    _ => {
                        let s = zl.get(q..q + 4).ok_or(past)?;
                        q += 4;
                        u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize
                    }
                };
                let s = zl.get(q..).and_then(|r| r.get(..n)).ok_or(past)?;
                q += n;
                Elem::Str(s)
            }
            _ => {
                let (size, bits) = match enc {
                    0xc0 => (2, 16),
                    0xd0 => (4, 32),
                    0xe0 => (8, 64),
                    0xf0 => (3, 24),
                    0xfe => (1, 8),
                    0xf1..=0xfd => (0, 0),
                    _ => return Err("invalid ziplist entry encoding"),
                };
                if size == 0 {
                    Elem::Int(i64::from(enc & 0x0f) - 1)
                } else {
                    let raw = zl.get(q..q + size).ok_or(past)?;
                    q += size;
                    Elem::Int(le_int(raw, bits))
                }
            }
        };
        if q > end {
            return Err(past);
        }
        out.push(elem);
        last = Some(p);
        prev_size = q - p;
        p = q;
    }
    if p != end {
        return Err("ziplist terminator before its end");
    }
    if last.is_some_and(|l| l != tail) {
        return Err("ziplist tail offset does not point at its last entry");
    }
    if header_count != u16::MAX && usize::from(header_count) != out.len() {
        return Err("ziplist count header does not match its entries");
    }
    Ok(out)
}

/// The field/value pairs of a zipmap (Redis 2.4's small hashes),
/// validated as `zipmapValidateIntegrity` does.
pub fn zipmap_pairs(zm: &[u8]) -> Result<Vec<(&[u8], &[u8])>> {
    if zm.len() < 2 || zm.last() != Some(&0xff) {
        return Err("zipmap too short or unterminated");
    }
    let end = zm.len() - 1;
    let past = "zipmap entry past the end";
    let read_len = |p: &mut usize| -> Result<usize> {
        let b = *zm.get(*p).ok_or(past)?;
        if b < 254 {
            *p += 1;
            Ok(usize::from(b))
        } else if b == 254 {
            let n = le_u32(zm, *p + 1).map_err(|_| past)? as usize;
            *p += 5;
            Ok(n)
        } else {
            Err("invalid zipmap length")
        }
    };
    let mut out = Vec::new();
    let mut p = 1;
    while p < end && zm[p] != 0xff {
        let flen = read_len(&mut p)?;
        let field = zm.get(p..).and_then(|r| r.get(..flen)).ok_or(past)?;
        p += flen;
        let vlen = read_len(&mut p)?;
        let free = usize::from(*zm.get(p).ok_or(past)?);
        p += 1;
        let value = zm.get(p..).and_then(|r| r.get(..vlen)).ok_or(past)?;
        p += vlen + free;
        if p > end {
            return Err(past);
        }
        out.push((field, value));
    }
    if p != end {
        return Err("zipmap terminator before its end");
    }
    if out.is_empty() {
        return Err("empty zipmap");
    }
    if zm[0] != 254 && usize::from(zm[0]) != out.len() {
        return Err("zipmap count header does not match its entries");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lp(items: &[&[u8]]) -> Vec<u8> {
        let mut w = ListpackWriter::default();
        for i in items {
            w.push(i);
        }
        w.finish()
    }

    /// Byte layouts checked against Redis's listpack.c by hand.
    #[test]
    fn listpack_layout_matches_redis() {
        assert_eq!(lp(&[]), [7, 0, 0, 0, 0, 0, 0xff]);
        // "a" (6-bit string), 5 (7-bit uint), -1 (13-bit int).
        assert_eq!(
            lp(&[b"a", b"5", b"-1"]),
            [15, 0, 0, 0, 3, 0, 0x81, b'a', 2, 5, 1, 0xdf, 0xff, 2, 0xff]
        );
        // 128 takes 13 bits; 5000 takes 16; "007" stays a string.
        let b = lp(&[b"128", b"5000", b"007"]);
        assert_eq!(&b[6..9], &[0xc0, 0x80, 2]);
        assert_eq!(&b[9..13], &[0xf1, 0x88, 0x13, 3]);
        assert_eq!(&b[13..18], &[0x83, b'0', b'0', b'7', 4]);
    }

    #[test]
    fn listpack_long_strings_and_backlens() {
        let s200 = vec![b'x'; 200];
        let s5000 = vec![b'y'; 5000];
        let b = lp(&[&s200, &s5000]);
        // 200 bytes: 12-bit length; entry 202 bytes, a two-byte backlen.
        assert_eq!(&b[6..8], &[0xe0, 200]);
        assert_eq!(&b[208..210], &[1, 0x80 | (202 - 128)]);
        let got = listpack_entries(&b).expect("valid");
        assert_eq!(got, vec![Elem::Str(&s200), Elem::Str(&s5000)]);
    }

    #[test]
    fn listpack_count_saturates() {
        let mut w = ListpackWriter::default();
        for _ in 0..70_000 {
            w.push(b"1");
        }
        let b = w.finish();
        assert_eq!(&b[4..6], &[0xff, 0xff]);
        assert_eq!(listpack_entries(&b).map(|e| e.len()), Ok(70_000));
    }

    #[test]
    fn intset_widths() {
        assert_eq!(intset(&[1, 2]), [2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 2, 0]);
        assert_eq!(intset(&[-40_000])[0], 4);
        assert_eq!(intset(&[i64::MIN, 0])[0], 8);
        for v in [vec![-5, 7], vec![-70_000, 3], vec![i64::MIN, i64::MAX]] {
            assert_eq!(intset_values(&intset(&v)), Ok(v));
        }
        assert!(intset_values(&intset(&[])).is_err());
        assert!(intset_values(&intset(&[3, 2])).is_err());
        assert!(intset_values(&intset(&[3, 3])).is_err());
    }

    /// A ziplist as Redis 6 wrote one for RPUSH l a 1 -3 300 70000 (the
    /// 24-bit, 16-bit and immediate encodings).
    #[test]
    fn reads_a_ziplist() {
        let mut zl = vec![0u8; 10];
        let entries: [&[u8]; 5] = [
            &[0x00, 0x01, b'a'],
            &[0x03, 0xf2],
            &[0x02, 0xfe, 0xfd],
            &[0x03, 0xc0, 0x2c, 0x01],
            &[0x04, 0xf0, 0x70, 0x11, 0x01],
        ];
        let mut tail = 0;
        for e in entries {
            tail = zl.len();
            zl.extend_from_slice(e);
        }
        zl.push(0xff);
        let len = zl.len() as u32;
        zl[..4].copy_from_slice(&len.to_le_bytes());
        zl[4..8].copy_from_slice(&(tail as u32).to_le_bytes());
        zl[8..10].copy_from_slice(&5u16.to_le_bytes());
        let got = ziplist_entries(&zl).expect("valid");
        assert_eq!(
            got,
            vec![
                Elem::Str(b"a"),
                Elem::Int(1),
                Elem::Int(-3),
                Elem::Int(300),
                Elem::Int(70000)
            ]
        );
        zl[11] = 0x05;
        assert!(ziplist_entries(&zl).is_err());
    }

    #[test]
    fn reads_a_zipmap() {
        let zm = b"\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff";
        assert_eq!(
            zipmap_pairs(zm),
            Ok(vec![
                (&b"foo"[..], &b"bar"[..]),
                (&b"hello"[..], &b"world"[..])
            ])
        );
        assert!(zipmap_pairs(b"\x00\xff").is_err());
    }

    fn item() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            any::<i64>().prop_map(|n| n.to_string().into_bytes()),
            (-5000i64..5000).prop_map(|n| n.to_string().into_bytes()),
            proptest::collection::vec(any::<u8>(), 0..100),
            (0usize..6000).prop_map(|n| vec![b'z'; n]),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn listpack_round_trips(items in proptest::collection::vec(item(), 0..40)) {
            let mut w = ListpackWriter::default();
            for i in &items {
                w.push(i);
            }
            let b = w.finish();
            let got: Vec<Vec<u8>> = listpack_entries(&b)
                .map_err(TestCaseError::fail)?
                .into_iter()
                .map(|e| e.to_bytes().to_vec())
                .collect();
            prop_assert_eq!(got, items);
        }

        #[test]
        fn corrupt_blobs_never_panic(blob in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = listpack_entries(&blob);
            let _ = ziplist_entries(&blob);
            let _ = intset_values(&blob);
            let _ = zipmap_pairs(&blob);
        }
    }
}
