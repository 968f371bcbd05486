//! The store's owned byte string: up to [`INLINE`] bytes live inside the
//! value itself, longer ones on the heap.
//!
//! Most keys, most small values and most collection members are short, so
//! this saves a heap allocation each, and with it an allocator round trip
//! on every SET and a cache miss on every key comparison (the key sits in
//! the entry the lookup already loaded). It is 32 bytes, like a `Vec`'s 24
//! plus a tag, and entirely safe code.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

/// Bytes kept inline: what fits beside the length and the enum's tag in
/// the 32 bytes the heap form needs anyway.
pub const INLINE: usize = 30;

#[derive(Clone)]
pub struct SmallBytes(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(Vec<u8>),
}

impl SmallBytes {
    pub const fn new() -> SmallBytes {
        SmallBytes(Repr::Inline {
            len: 0,
            buf: [0; INLINE],
        })
    }

    /// Bytes held on the heap (0 while inline).
    pub fn heap_size(&self) -> usize {
        match &self.0 {
            Repr::Inline { .. } => 0,
            Repr::Heap(v) => v.capacity(),
        }
    }

    /// Appends `tail`, moving to the heap when it no longer fits (APPEND).
    pub fn extend_from_slice(&mut self, tail: &[u8]) {
        match &mut self.0 {
            Repr::Inline { len, buf } if usize::from(*len) + tail.len() <= INLINE => {
                let at = usize::from(*len);
                buf[at..at + tail.len()].copy_from_slice(tail);
                *len += tail.len() as u8;
            }
            _ => self.heap_mut(tail.len()).extend_from_slice(tail),
        }
    }

    /// Grows to `new_len` bytes, padding with `fill` (SETRANGE past the
    /// end). Never shrinks.
    pub fn grow_to(&mut self, new_len: usize, fill: u8) {
        let cur = self.len();
        if new_len <= cur {
            return;
        }
        match &mut self.0 {
            Repr::Inline { len, buf } if new_len <= INLINE => {
                buf[cur..new_len].fill(fill);
                *len = new_len as u8;
            }
            _ => self.heap_mut(new_len - cur).resize(new_len, fill),
        }
    }

    /// The bytes as a `Vec`, moved to the heap first if they are inline,
    /// for an edit that inserts and removes in the middle (a sparse
    /// HyperLogLog).
    pub fn vec_mut(&mut self) -> &mut Vec<u8> {
        self.heap_mut(0)
    }

    /// The heap form, with room for `additional` more bytes.
    fn heap_mut(&mut self, additional: usize) -> &mut Vec<u8> {
        if let Repr::Inline { len, buf } = &self.0 {
            let mut v = Vec::with_capacity(usize::from(*len) + additional);
            v.extend_from_slice(&buf[..usize::from(*len)]);
            self.0 = Repr::Heap(v);
        }
        match &mut self.0 {
            Repr::Heap(v) => v,
            Repr::Inline { .. } => unreachable!("moved to the heap above"),
        }
    }

    fn inline(bytes: &[u8]) -> SmallBytes {
        let mut buf = [0; INLINE];
        buf[..bytes.len()].copy_from_slice(bytes);
        SmallBytes(Repr::Inline {
            len: bytes.len() as u8,
            buf,
        })
    }
}

impl Default for SmallBytes {
    fn default() -> SmallBytes {
        SmallBytes::new()
    }
}

impl From<&[u8]> for SmallBytes {
    fn from(bytes: &[u8]) -> SmallBytes {
        if bytes.len() <= INLINE {
            SmallBytes::inline(bytes)
        } else {
            SmallBytes(Repr::Heap(bytes.to_vec()))
        }
    }
}

impl<const N: usize> From<&[u8; N]> for SmallBytes {
    fn from(bytes: &[u8; N]) -> SmallBytes {
        SmallBytes::from(&bytes[..])
    }
}

impl From<Vec<u8>> for SmallBytes {
    /// Short vectors are copied inline (and freed); long ones are kept,
    /// without more than a quarter of spare room.
    fn from(mut v: Vec<u8>) -> SmallBytes {
        if v.len() <= INLINE {
            SmallBytes::inline(&v)
        } else {
            if v.capacity() > v.len() + v.len() / 4 {
                v.shrink_to_fit();
            }
            SmallBytes(Repr::Heap(v))
        }
    }
}

impl Deref for SmallBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => &buf[..usize::from(*len)],
            Repr::Heap(v) => v,
        }
    }
}

impl DerefMut for SmallBytes {
    fn deref_mut(&mut self) -> &mut [u8] {
        match &mut self.0 {
            Repr::Inline { len, buf } => &mut buf[..usize::from(*len)],
            Repr::Heap(v) => v,
        }
    }
}

impl AsRef<[u8]> for SmallBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl Borrow<[u8]> for SmallBytes {
    fn borrow(&self) -> &[u8] {
        self
    }
}

/// Equality, order and hashing are the bytes', so a `HashSet<SmallBytes>`
/// can be searched with a `&[u8]`.
impl PartialEq for SmallBytes {
    fn eq(&self, other: &SmallBytes) -> bool {
        **self == **other
    }
}

impl Eq for SmallBytes {}

impl PartialOrd for SmallBytes {
    fn partial_cmp(&self, other: &SmallBytes) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SmallBytes {
    fn cmp(&self, other: &SmallBytes) -> std::cmp::Ordering {
        (**self).cmp(&**other)
    }
}

impl Hash for SmallBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl fmt::Debug for SmallBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.escape_ascii())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::RandomState;
    use std::hash::BuildHasher;

    #[test]
    fn is_as_small_as_a_tagged_vec() {
        assert_eq!(std::mem::size_of::<SmallBytes>(), 32);
    }

    #[test]
    fn short_is_inline_long_is_heap() {
        let short = SmallBytes::from(&[7u8; INLINE]);
        assert!(matches!(short.0, Repr::Inline { .. }));
        assert_eq!(&*short, &[7u8; INLINE]);
        let long = SmallBytes::from(vec![1u8; INLINE + 1]);
        assert!(matches!(long.0, Repr::Heap(_)));
        assert_eq!(long.len(), INLINE + 1);
        assert_eq!(&*SmallBytes::from(vec![1, 2]), &[1, 2]);
        assert!(SmallBytes::new().is_empty());
    }

    #[test]
    fn extend_crosses_into_the_heap_and_keeps_every_byte() {
        let mut s = SmallBytes::new();
        let mut model = Vec::new();
        for i in 0..100u8 {
            let chunk = vec![i; usize::from(i % 7)];
            s.extend_from_slice(&chunk);
            model.extend_from_slice(&chunk);
            assert_eq!(&*s, &model[..], "after chunk {i}");
        }
    }

    #[test]
    fn grow_to_pads_and_never_shrinks() {
        let mut s = SmallBytes::from(b"ab");
        s.grow_to(5, 0);
        assert_eq!(&*s, b"ab\0\0\0");
        s.grow_to(3, 0);
        assert_eq!(&*s, b"ab\0\0\0");
        s[4] = b'z';
        s.grow_to(INLINE + 3, b'.');
        assert_eq!(s.len(), INLINE + 3);
        assert_eq!(&s[..6], b"ab\0\0z.");
        s.grow_to(INLINE + 5, 0);
        assert_eq!(&s[INLINE + 3..], b"\0\0");
    }

    /// Any sequence of appends, growths and writes leaves the same bytes
    /// as the same sequence on a `Vec`, across the inline/heap boundary.
    #[test]
    fn matches_a_vec_under_random_edits() {
        use proptest::prelude::*;
        #[derive(Debug, Clone)]
        enum Op {
            Append(Vec<u8>),
            GrowTo(usize, u8),
            Write(usize, u8),
        }
        let op = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Op::Append),
            (0..80usize, any::<u8>()).prop_map(|(n, f)| Op::GrowTo(n, f)),
            (0..80usize, any::<u8>()).prop_map(|(i, b)| Op::Write(i, b)),
        ];
        let start = proptest::collection::vec(any::<u8>(), 0..40);
        proptest!(|(start in start, ops in proptest::collection::vec(op, 0..20))| {
            let mut s = SmallBytes::from(start.clone());
            let mut model = start;
            for op in ops {
                match op {
                    Op::Append(tail) => {
                        s.extend_from_slice(&tail);
                        model.extend_from_slice(&tail);
                    }
                    Op::GrowTo(n, fill) => {
                        s.grow_to(n, fill);
                        if model.len() < n {
                            model.resize(n, fill);
                        }
                    }
                    Op::Write(i, b) if i < model.len() => {
                        s[i] = b;
                        model[i] = b;
                    }
                    Op::Write(..) => {}
                }
                prop_assert_eq!(&*s, &model[..]);
                prop_assert_eq!(s.clone(), SmallBytes::from(&model[..]));
            }
        });
    }

    #[test]
    fn hashes_and_compares_like_its_bytes() {
        let h = RandomState::new();
        for bytes in [&b""[..], b"key:1", &[9u8; 40]] {
            let s = SmallBytes::from(bytes);
            assert_eq!(h.hash_one(&s), h.hash_one(bytes));
            assert_eq!(&*s, bytes);
        }
        let mut set = std::collections::HashSet::new();
        set.insert(SmallBytes::from(b"m"));
        assert!(set.contains(&b"m"[..]));
        assert!(SmallBytes::from(b"a") < SmallBytes::from(b"b"));
    }
}
