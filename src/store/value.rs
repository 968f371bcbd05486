//! The values a key can hold, with the same compact-then-general encodings
//! Redis 7.0 uses, so OBJECT ENCODING and reply order match it: small hashes
//! are an insertion-ordered list (Redis's listpack), small all-integer sets
//! are a sorted array (intset). An encoding only ever grows, as in Redis.

use std::collections::{HashMap, VecDeque};

use super::encoding::limits;
use super::members::Members;

use super::zset::ZSet;
use crate::resp::{format_int, parse_i64};

/// Strings up to this length are `embstr` in Redis.
const EMBSTR_MAX: usize = 44;

/// Keys, string values and collection members.
pub type Bytes = super::small_bytes::SmallBytes;

#[derive(Debug, Clone)]
pub enum Value {
    Str(Str),
    List(VecDeque<Bytes>),
    Set(Set),
    Hash(Hash),
    /// Boxed: a sorted set's two structures would make every `Value`
    /// larger.
    Zset(Box<ZSet>),
    /// Boxed, as a sorted set is.
    Stream(Box<super::stream::Stream>),
}

impl Value {
    /// The name TYPE answers.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Hash(_) => "hash",
            Value::Zset(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// The name OBJECT ENCODING answers.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(_) => "quicklist",
            Value::Set(Set::Ints(_)) => "intset",
            Value::Set(Set::Table(_)) => "hashtable",
            Value::Hash(Hash::Pairs(_)) => "listpack",
            Value::Hash(Hash::Table(_)) => "hashtable",
            Value::Zset(z) if z.is_listpack() => "listpack",
            Value::Zset(_) => "skiplist",
            Value::Stream(_) => "stream",
        }
    }

    /// A list, set or hash with no elements: Redis never keeps one, so
    /// the write path deletes it.
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::List(l) => l.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Zset(z) => z.is_empty(),
            // An empty stream is a value of its own, as in Redis.
            Value::Stream(_) => false,
        }
    }

    /// The heap a value holds beyond the entry that holds it, estimated as
    /// Redis's `objectComputeSize` does: a collection's elements are
    /// sampled (the first `samples`, every one with 0) and scaled.
    pub fn heap_size(&self, samples: usize) -> usize {
        use std::mem::size_of;
        let samples = if samples == 0 { usize::MAX } else { samples };
        match self {
            Value::Str(s) => s.data.heap_size(),
            Value::List(list) => {
                list.capacity() * size_of::<Bytes>()
                    + sampled(list.iter().map(Bytes::heap_size), list.len(), samples)
            }
            Value::Set(Set::Ints(ints)) => ints.capacity() * size_of::<i64>(),
            Value::Set(Set::Table(table)) => {
                table.structure_size()
                    + sampled(table.iter().map(Bytes::heap_size), table.len(), samples)
            }
            Value::Hash(Hash::Pairs(pairs)) => {
                let elements = pairs.iter().map(|(f, v)| f.heap_size() + v.heap_size());
                pairs.capacity() * size_of::<(Bytes, Bytes)>()
                    + sampled(elements, pairs.len(), samples)
            }
            Value::Hash(Hash::Table(table)) => {
                let elements = table.iter().map(|(f, v)| f.heap_size() + v.heap_size());
                table.capacity() * (size_of::<(Bytes, Bytes)>() + 1)
                    + sampled(elements, table.len(), samples)
            }
            Value::Zset(zset) => {
                let members = zset.iter().map(|i| i.member.heap_size());
                size_of::<ZSet>() + zset.structure_size() + sampled(members, zset.len(), samples)
            }
            Value::Stream(stream) => stream.heap_size(),
        }
    }

    pub fn str(data: impl Into<Bytes>) -> Value {
        Value::Str(Str {
            data: data.into(),
            raw: false,
        })
    }
}

/// The sum of `sizes` over `len` elements, estimated from the first
/// `samples` of them.
fn sampled(sizes: impl Iterator<Item = usize>, len: usize, samples: usize) -> usize {
    let (mut total, mut seen) = (0usize, 0usize);
    for size in sizes.take(samples) {
        total += size;
        seen += 1;
    }
    total.checked_div(seen).map_or(0, |each| each * len)
}

/// A string value. `raw` records that it was modified in place (APPEND,
/// SETRANGE), which makes Redis report `raw` whatever its content.
#[derive(Debug, Clone, Default)]
pub struct Str {
    pub data: Bytes,
    pub raw: bool,
}

impl Str {
    fn encoding(&self) -> &'static str {
        if self.raw {
            "raw"
        } else if self.data.len() <= 20 && parse_i64(&self.data).is_some() {
            "int"
        } else if self.data.len() <= EMBSTR_MAX {
            "embstr"
        } else {
            "raw"
        }
    }
}

/// A set: sorted integers while small and all-integer, a hash set after.
#[derive(Debug, Clone)]
pub enum Set {
    Ints(Vec<i64>),
    /// Boxed, so that a large set does not make every `Value` larger.
    Table(Box<Members>),
}

impl Default for Set {
    fn default() -> Self {
        Set::Ints(Vec::new())
    }
}

impl Set {
    pub fn len(&self) -> usize {
        match self {
            Set::Ints(v) => v.len(),
            Set::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        match self {
            Set::Ints(v) => as_int(member).is_some_and(|n| v.binary_search(&n).is_ok()),
            Set::Table(t) => t.contains(member),
        }
    }

    /// Adds `member`; true when it was not there.
    pub fn insert(&mut self, member: &[u8]) -> bool {
        if let Set::Ints(v) = self {
            match as_int(member) {
                Some(n) => match v.binary_search(&n) {
                    Ok(_) => return false,
                    Err(at) if v.len() < limits().set_intset_entries => {
                        v.insert(at, n);
                        return true;
                    }
                    Err(_) => self.upgrade(),
                },
                None => self.upgrade(),
            }
        }
        match self {
            Set::Table(t) => t.insert(member),
            Set::Ints(_) => unreachable!("upgraded above"),
        }
    }

    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            Set::Ints(v) => match as_int(member).map(|n| v.binary_search(&n)) {
                Some(Ok(at)) => {
                    v.remove(at);
                    true
                }
                _ => false,
            },
            Set::Table(t) => t.remove(member),
        }
    }

    /// The member at position `at` (0..len), in O(1): a random member is
    /// a random position.
    pub fn nth(&self, at: usize) -> Option<Bytes> {
        match self {
            Set::Ints(v) => v.get(at).map(|&n| Bytes::from(format_int(&mut [0; 20], n))),
            Set::Table(t) => t.get(at).cloned(),
        }
    }

    /// Every member, in the set's order.
    pub fn members(&self) -> Vec<Bytes> {
        let mut all = Vec::with_capacity(self.len());
        self.for_each(|m| all.push(Bytes::from(m)));
        all
    }

    /// Calls `f` with each member in the set's order (ascending integers
    /// while small and all-integer, as Redis's intset; hash order after).
    pub fn for_each(&self, mut f: impl FnMut(&[u8])) {
        match self {
            Set::Ints(v) => {
                for &n in v {
                    f(format_int(&mut [0; 20], n));
                }
            }
            Set::Table(t) => {
                for member in t.iter() {
                    f(member);
                }
            }
        }
    }

    fn upgrade(&mut self) {
        if let Set::Ints(v) = self {
            let table = v
                .iter()
                .map(|&n| Bytes::from(format_int(&mut [0; 20], n)))
                .collect();
            *self = Set::Table(Box::new(table));
        }
    }
}

/// An integer in the canonical form an intset can hold.
fn as_int(member: &[u8]) -> Option<i64> {
    if member.len() > 20 {
        return None;
    }
    parse_i64(member)
}

/// A hash: an insertion-ordered pair list while small, a hash map after.
#[derive(Debug, Clone)]
pub enum Hash {
    Pairs(Vec<(Bytes, Bytes)>),
    /// Boxed, so that a large hash does not make every `Value` larger.
    Table(Box<HashMap<Bytes, Bytes>>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Pairs(Vec::new())
    }
}

impl Hash {
    pub fn len(&self) -> usize {
        match self {
            Hash::Pairs(v) => v.len(),
            Hash::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Pairs(v) => v.iter().find(|(f, _)| &**f == field).map(|(_, v)| &**v),
            Hash::Table(t) => t.get(field).map(|v| &**v),
        }
    }

    /// Sets `field`; true when it is new.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Hash::Pairs(pairs) = self {
            let limits = limits();
            let small = field.len() <= limits.hash_value && value.len() <= limits.hash_value;
            if let Some(slot) = pairs.iter_mut().find(|(f, _)| &**f == field) {
                if small {
                    slot.1 = value.into();
                    return false;
                }
            } else if small && pairs.len() < limits.hash_entries {
                pairs.push((field.into(), value.into()));
                return true;
            }
            let table = std::mem::take(pairs).into_iter().collect();
            *self = Hash::Table(Box::new(table));
        }
        match self {
            Hash::Table(t) => t.insert(field.into(), value.into()).is_none(),
            Hash::Pairs(_) => unreachable!("converted above"),
        }
    }

    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Pairs(v) => match v.iter().position(|(f, _)| &**f == field) {
                Some(at) => {
                    v.remove(at);
                    true
                }
                None => false,
            },
            Hash::Table(t) => t.remove(field).is_some(),
        }
    }

    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match self {
            Hash::Pairs(v) => Box::new(v.iter().map(|(f, v)| (&**f, &**v))),
            Hash::Table(t) => Box::new(t.iter().map(|(f, v)| (&**f, &**v))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// Members that are canonical integers (an intset can hold them), and
    /// some that are not.
    fn member() -> impl Strategy<Value = String> {
        prop_oneof![
            (-700i64..700).prop_map(|n| n.to_string()),
            (0..50u8).prop_map(|n| format!("m{n}")),
            Just("007".to_string()),
        ]
    }

    proptest! {
        /// A set behaves as a set of byte strings across its conversion
        /// from intset (past 512 integers or at the first non-integer),
        /// and stays ordered while it is an intset.
        #[test]
        fn sets_match_a_model(ops in proptest::collection::vec((any::<bool>(), member()), 1..1500)) {
            let mut set = Set::default();
            let mut model = BTreeSet::new();
            for (add, m) in ops {
                if add {
                    prop_assert_eq!(set.insert(m.as_bytes()), model.insert(m.clone()));
                } else {
                    prop_assert_eq!(set.remove(m.as_bytes()), model.remove(&m));
                }
                prop_assert_eq!(set.len(), model.len());
                prop_assert!(model.iter().all(|m| set.contains(m.as_bytes())));
            }
            let got: BTreeSet<String> =
                set.members().iter().map(|m| String::from_utf8_lossy(m).into_owned()).collect();
            prop_assert_eq!(&got, &model);
            let ints = model.iter().all(|m| as_int(m.as_bytes()).is_some());
            if let Set::Ints(v) = &set {
                prop_assert!(ints && v.windows(2).all(|w| w[0] < w[1]));
            }
            for i in 0..set.len() {
                prop_assert!(set.nth(i).is_some_and(|m| set.contains(&m)));
            }
        }

        /// A hash behaves as a map across its conversion from listpack
        /// (past 512 fields, or a field or value over 64 bytes), and keeps
        /// insertion order while it is a listpack.
        #[test]
        fn hashes_match_a_model(
            ops in proptest::collection::vec((any::<bool>(), 0..600u16, 0..70usize), 1..1500)
        ) {
            let mut hash = Hash::default();
            let mut model = BTreeMap::new();
            let mut order: Vec<String> = Vec::new();
            for (set, f, len) in ops {
                let field = format!("f{f}");
                if set {
                    let value = "v".repeat(len);
                    let new = hash.insert(field.as_bytes(), value.as_bytes());
                    prop_assert_eq!(new, model.insert(field.clone(), value).is_none());
                    if new {
                        order.push(field);
                    }
                } else {
                    prop_assert_eq!(hash.remove(field.as_bytes()), model.remove(&field).is_some());
                    order.retain(|o| *o != field);
                }
                prop_assert_eq!(hash.len(), model.len());
            }
            for (f, v) in &model {
                prop_assert_eq!(hash.get(f.as_bytes()), Some(v.as_bytes()));
            }
            if let Hash::Pairs(pairs) = &hash {
                let fields: Vec<String> =
                    pairs.iter().map(|(f, _)| String::from_utf8_lossy(f).into_owned()).collect();
                prop_assert_eq!(fields, order);
            }
        }
    }
}
