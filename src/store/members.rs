//! A large set's members: a dense array with a hash index into it.
//!
//! Redis picks a random member of a set in O(1) (SPOP, SRANDMEMBER) by
//! probing its dict's buckets. A Rust hash set does not expose its buckets,
//! so a large set here keeps its members in a `Vec` and a
//! `hashbrown::HashTable` of their positions: a random member is a random
//! position, and a removal moves the last member into the hole (its index
//! entry updated), so every operation stays O(1). The index costs 4 bytes
//! a slot where a hash set of members would hold the member itself in
//! every slot, empty ones included.

use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

use super::value::Bytes;

#[derive(Clone, Debug, Default)]
pub struct Members {
    items: Vec<Bytes>,
    /// Positions in `items`, by the member's hash.
    index: HashTable<u32>,
    hasher: RandomState,
}

impl Members {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn find(&self, member: &[u8]) -> Option<u32> {
        let hash = self.hasher.hash_one(member);
        let items = &self.items;
        self.index
            .find(hash, |&i| *items[i as usize] == *member)
            .copied()
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.find(member).is_some()
    }

    /// Adds `member`; true when it was not there.
    pub fn insert(&mut self, member: &[u8]) -> bool {
        if self.contains(member) {
            return false;
        }
        let hash = self.hasher.hash_one(member);
        let (items, hasher) = (&self.items, &self.hasher);
        let at = items.len() as u32;
        self.index
            .insert_unique(hash, at, |&i| hasher.hash_one(&*items[i as usize]));
        self.items.push(member.into());
        true
    }

    /// Removes `member`; true when it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        let hash = self.hasher.hash_one(member);
        let items = &self.items;
        let Ok(entry) = self
            .index
            .find_entry(hash, |&i| *items[i as usize] == *member)
        else {
            return false;
        };
        let (at, _) = entry.remove();
        self.take_at(at as usize);
        true
    }

    /// Removes the member at `at` (its index entry already gone), moving
    /// the last member into its place.
    fn take_at(&mut self, at: usize) -> Bytes {
        let last = self.items.len() - 1;
        let member = self.items.swap_remove(at);
        if at != last {
            let moved = self.hasher.hash_one(&*self.items[at]);
            if let Some(slot) = self.index.find_mut(moved, |&i| i as usize == last) {
                *slot = at as u32;
            }
        }
        member
    }

    /// The member at position `at` (positions are 0..len, in no
    /// particular order).
    pub fn get(&self, at: usize) -> Option<&Bytes> {
        self.items.get(at)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Bytes> {
        self.items.iter()
    }

    /// Heap bytes held by the array and the index (not the members' own).
    pub fn structure_size(&self) -> usize {
        self.items.capacity() * size_of::<Bytes>() + self.index.capacity() * (size_of::<u32>() + 1)
    }
}

impl FromIterator<Bytes> for Members {
    fn from_iter<I: IntoIterator<Item = Bytes>>(iter: I) -> Self {
        let mut m = Members::default();
        for member in iter {
            m.insert(&member);
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    proptest! {
        #[test]
        fn behaves_like_a_hash_set(ops in proptest::collection::vec((any::<bool>(), 0..200u16), 1..2000)) {
            let mut m = Members::default();
            let mut model = HashSet::new();
            for (add, n) in ops {
                let key = format!("k{n}");
                if add {
                    prop_assert_eq!(m.insert(key.as_bytes()), model.insert(key.clone()));
                } else {
                    prop_assert_eq!(m.remove(key.as_bytes()), model.remove(&key));
                }
                prop_assert_eq!(m.len(), model.len());
            }
            for key in &model {
                prop_assert!(m.contains(key.as_bytes()));
            }
            let all: HashSet<String> = m.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect();
            prop_assert_eq!(all, model);
        }
    }
}
