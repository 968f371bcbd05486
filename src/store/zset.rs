//! The sorted set: members ordered by (score, member), with rank queries.
//!
//! Redis keeps a skip list with spans beside a dict from member to score.
//! Rizzler keeps two pieces too, chosen for memory and cache behaviour:
//!
//! - [`Ranked`], the order: sorted blocks of at most [`BLOCK_MAX`] items
//!   with a Fenwick tree over the block lengths. Finding a position by
//!   score, member or rank is two binary searches and a Fenwick walk,
//!   O(log n); an insertion moves at most a block's items (a memmove of a
//!   few KiB). This is a B-tree of height two; at a million members it has
//!   about five thousand blocks. Items sit in arrays, so a range reply
//!   reads consecutive memory where a skip list chases a pointer per item.
//! - the index, from member to score, for ZSCORE, ZADD and ZREM. It holds
//!   only each member's 64-bit hash and its score (16 bytes, not a second
//!   copy of the member): a candidate is confirmed by finding (score,
//!   member) in the order, so a lookup by member is O(log n) rather than
//!   Redis's O(1), in exchange for roughly a third less memory per member
//!   than Redis's dict and skip list node. Two members with the same hash
//!   are told apart by that confirmation; entries are removed by (hash,
//!   score), and two entries equal in both are interchangeable.
//!
//! Small sets (Redis's listpack encoding, up to `zset-max-listpack-entries`
//! members of at most `zset-max-listpack-value` bytes) have no index: a
//! lookup by member scans the one block, as Redis scans its listpack. The
//! encoding grows to the indexed one past either limit and never shrinks,
//! as in Redis.

use std::cmp::Ordering;
use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use super::value::Bytes;

/// A block splits when it grows past this many items.
const BLOCK_MAX: usize = 256;
/// A block this small merges with a neighbour.
const BLOCK_MIN: usize = BLOCK_MAX / 4;

/// One member and its score. Scores are never NaN.
#[derive(Clone, Debug)]
pub struct Item {
    pub score: f64,
    pub member: Bytes,
}

/// Redis's score order: `-0` equals `0` (its skip list compares with `<`).
pub fn cmp_score(a: f64, b: f64) -> Ordering {
    if a < b {
        Ordering::Less
    } else if a > b {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

impl Item {
    /// The set's order: by score, then by member bytes.
    pub fn cmp_key(&self, score: f64, member: &[u8]) -> Ordering {
        cmp_score(self.score, score).then_with(|| (*self.member).cmp(member))
    }
}

#[derive(Clone, Debug, Default)]
pub struct ZSet {
    order: Ranked,
    index: Option<Index>,
}

#[derive(Clone, Debug, Default)]
struct Index {
    /// (hash of the member, its score).
    table: HashTable<(u64, f64)>,
    hasher: DefaultHashBuilder,
}

impl ZSet {
    pub fn len(&self) -> usize {
        self.order.len
    }

    pub fn is_empty(&self) -> bool {
        self.order.len == 0
    }

    /// An empty set already in the indexed encoding (Redis's `skiplist`),
    /// as Redis builds one it loads from a file with more members, or
    /// longer ones, than the listpack limits: its members keep their
    /// scores exactly (`-0` included).
    pub fn indexed() -> Self {
        ZSet {
            order: Ranked::default(),
            index: Some(Index::default()),
        }
    }

    /// Whether it is still in the small encoding (Redis's `listpack`).
    pub fn is_listpack(&self) -> bool {
        self.index.is_none()
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.index {
            None => self
                .order
                .iter()
                .find(|i| *i.member == *member)
                .map(|i| i.score),
            Some(index) => {
                let hash = index.hasher.hash_one(member);
                let order = &self.order;
                index
                    .table
                    .find(hash, |&(h, s)| h == hash && order.contains(s, member))
                    .map(|&(_, s)| s)
            }
        }
    }

    /// Sets `member`'s score, adding it if new; its previous score.
    pub fn insert(&mut self, member: &[u8], mut score: f64) -> Option<f64> {
        let old = self.score(member);
        if self.index.is_none() && score == 0.0 && old.is_some() {
            // A listpack stores an integral score as an integer: -0 is 0.
            score = 0.0;
        }
        match old {
            Some(old) if old.to_bits() == score.to_bits() => return Some(old),
            Some(old) => {
                self.order.remove(old, member);
                if let Some(index) = &mut self.index {
                    index.replace(member, old, score);
                }
            }
            None => {
                let limits = super::encoding::limits();
                if self.index.is_none()
                    && (self.len() >= limits.zset_entries || member.len() > limits.zset_value)
                {
                    self.build_index();
                }
                match &mut self.index {
                    Some(index) => index.add(member, score),
                    // A listpack stores an integral score as an integer.
                    None if score == 0.0 => score = 0.0,
                    None => {}
                }
            }
        }
        self.order.insert(Item {
            score,
            member: member.into(),
        });
        old
    }

    /// Removes `member`; its score if it was there.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.score(member)?;
        self.order.remove(score, member);
        if let Some(index) = &mut self.index {
            index.remove(member, score);
        }
        Some(score)
    }

    /// Removes the items of ranks `start..end`, returning them in order.
    pub fn remove_ranks(&mut self, start: usize, end: usize) -> Vec<Item> {
        let gone = self.order.remove_range(start, end.min(self.len()));
        if let Some(index) = &mut self.index {
            for item in &gone {
                index.remove(&item.member, item.score);
            }
        }
        gone
    }

    /// `member`'s rank, from the lowest score (0-based).
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        Some(self.order.count_while(|i| i.cmp_key(score, member).is_lt()))
    }

    /// The item of rank `rank`.
    pub fn get(&self, rank: usize) -> Option<&Item> {
        self.order.get(rank)
    }

    /// How many items, from the lowest, satisfy `below` (which must hold
    /// for a prefix of the order: "score < 5", "member < b" among equal
    /// scores): the rank where a range starts or ends.
    pub fn count_while(&self, below: impl Fn(&Item) -> bool) -> usize {
        self.order.count_while(below)
    }

    /// The items from rank `rank` upwards.
    pub fn iter_from(&self, rank: usize) -> impl Iterator<Item = &Item> + '_ {
        self.order.iter_from(rank)
    }

    /// The items from rank `rank` downwards (nothing for `rank >= len`).
    pub fn iter_down_from(&self, rank: usize) -> impl Iterator<Item = &Item> + '_ {
        self.order.iter_down_from(rank)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Item> + '_ {
        self.order.iter()
    }

    /// The heap bytes it holds beyond its members' own buffers.
    pub fn structure_size(&self) -> usize {
        let blocks = self.order.blocks.capacity() * size_of::<Vec<Item>>()
            + self
                .order
                .blocks
                .iter()
                .map(|b| b.capacity())
                .sum::<usize>()
                * size_of::<Item>()
            + self.order.tree.capacity() * size_of::<usize>();
        let index = self
            .index
            .as_ref()
            .map_or(0, |i| i.table.capacity() * (size_of::<(u64, f64)>() + 1));
        blocks + index
    }

    fn build_index(&mut self) {
        let mut index = Index::default();
        index.table.reserve(self.len() + 1, |&(h, _)| h);
        for item in self.order.iter() {
            index.add(&item.member, item.score);
        }
        self.index = Some(index);
    }
}

impl Index {
    fn add(&mut self, member: &[u8], score: f64) {
        let hash = self.hasher.hash_one(member);
        self.table.insert_unique(hash, (hash, score), |&(h, _)| h);
    }

    fn remove(&mut self, member: &[u8], score: f64) {
        let hash = self.hasher.hash_one(member);
        let bits = score.to_bits();
        if let Ok(entry) = self
            .table
            .find_entry(hash, |&(h, s)| h == hash && s.to_bits() == bits)
        {
            entry.remove();
        }
    }

    fn replace(&mut self, member: &[u8], old: f64, new: f64) {
        let hash = self.hasher.hash_one(member);
        let bits = old.to_bits();
        if let Some(slot) = self
            .table
            .find_mut(hash, |&(h, s)| h == hash && s.to_bits() == bits)
        {
            slot.1 = new;
        }
    }
}

/// Items in order, in blocks, with a Fenwick tree of block lengths for
/// rank arithmetic. No block is empty.
#[derive(Clone, Debug, Default)]
struct Ranked {
    blocks: Vec<Vec<Item>>,
    /// Fenwick tree (1-based) over `blocks[i].len()`.
    tree: Vec<usize>,
    len: usize,
}

impl Ranked {
    fn iter(&self) -> impl Iterator<Item = &Item> + '_ {
        self.blocks.iter().flatten()
    }

    fn contains(&self, score: f64, member: &[u8]) -> bool {
        let rank = self.count_while(|i| i.cmp_key(score, member).is_lt());
        self.get(rank)
            .is_some_and(|i| i.cmp_key(score, member).is_eq())
    }

    /// The first block whose last item fails `below`, and the position
    /// in it of the first item that fails; `None` when every item passes.
    fn find(&self, below: impl Fn(&Item) -> bool) -> Option<(usize, usize)> {
        let b = self
            .blocks
            .partition_point(|block| block.last().is_some_and(&below));
        let block = self.blocks.get(b)?;
        Some((b, block.partition_point(below)))
    }

    fn count_while(&self, below: impl Fn(&Item) -> bool) -> usize {
        match self.find(below) {
            Some((b, pos)) => self.prefix(b) + pos,
            None => self.len,
        }
    }

    fn get(&self, rank: usize) -> Option<&Item> {
        let (b, pos) = self.locate(rank)?;
        Some(&self.blocks[b][pos])
    }

    /// Block and position of rank `rank`.
    fn locate(&self, rank: usize) -> Option<(usize, usize)> {
        if rank >= self.len {
            return None;
        }
        // The Fenwick descent: the largest prefix of blocks holding at
        // most `rank` items.
        let (mut at, mut left) = (0, rank);
        let mut step = self.tree.len().next_power_of_two();
        while step > 0 {
            let next = at + step;
            if next <= self.tree.len() && self.tree[next - 1] <= left {
                left -= self.tree[next - 1];
                at = next;
            }
            step /= 2;
        }
        Some((at, left))
    }

    fn iter_from(&self, rank: usize) -> impl Iterator<Item = &Item> + '_ {
        let (b, pos) = self.locate(rank).unwrap_or((self.blocks.len(), 0));
        let first = self.blocks.get(b).map_or(&[][..], |block| &block[pos..]);
        let rest = self.blocks.get(b + 1..).unwrap_or(&[]);
        first.iter().chain(rest.iter().flatten())
    }

    fn iter_down_from(&self, rank: usize) -> impl Iterator<Item = &Item> + '_ {
        let (b, pos) = self.locate(rank).map_or((0, None), |(b, p)| (b, Some(p)));
        let first = match pos {
            Some(p) => &self.blocks[b][..=p],
            None => &[][..],
        };
        let rest = if pos.is_some() {
            &self.blocks[..b]
        } else {
            &[][..]
        };
        first
            .iter()
            .rev()
            .chain(rest.iter().rev().flat_map(|block| block.iter().rev()))
    }

    fn insert(&mut self, item: Item) {
        self.len += 1;
        if self.blocks.is_empty() {
            self.blocks.push(vec![item]);
            self.rebuild();
            return;
        }
        let key = |i: &Item| i.cmp_key(item.score, &item.member).is_lt();
        let (b, pos) = self.find(key).unwrap_or_else(|| {
            (
                self.blocks.len() - 1,
                self.blocks[self.blocks.len() - 1].len(),
            )
        });
        let last = b + 1 == self.blocks.len();
        let block = &mut self.blocks[b];
        block.insert(pos, item);
        if block.len() <= BLOCK_MAX {
            self.add(b, 1);
            return;
        }
        // Appending to the last block keeps it full and starts a new one,
        // so ascending inserts pack blocks; elsewhere, split in halves.
        let at = if last && pos + 1 == block.len() {
            pos
        } else {
            block.len() / 2
        };
        let tail = block.split_off(at);
        self.blocks.insert(b + 1, tail);
        self.rebuild();
    }

    fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        let Some((b, pos)) = self.find(|i| i.cmp_key(score, member).is_lt()) else {
            return false;
        };
        if !self.blocks[b][pos].cmp_key(score, member).is_eq() {
            return false;
        }
        self.blocks[b].remove(pos);
        self.len -= 1;
        if self.blocks[b].len() >= BLOCK_MIN {
            self.add(b, usize::MAX); // -1, wrapping
            return true;
        }
        self.mend(b);
        self.rebuild();
        true
    }

    /// Removes ranks `start..end`.
    fn remove_range(&mut self, start: usize, end: usize) -> Vec<Item> {
        if start >= end {
            return Vec::new();
        }
        let Some((b0, p0)) = self.locate(start) else {
            return Vec::new();
        };
        let (b1, p1) = self.locate(end - 1).unwrap_or((b0, p0));
        let mut gone = Vec::with_capacity(end - start);
        if b0 == b1 {
            gone.extend(self.blocks[b0].drain(p0..=p1));
        } else {
            gone.extend(self.blocks[b0].drain(p0..));
            for block in self.blocks.drain(b0 + 1..b1) {
                gone.extend(block);
            }
            // The last block is now right after the first.
            gone.extend(self.blocks[b0 + 1].drain(..=p1));
            self.mend(b0 + 1);
        }
        self.len -= gone.len();
        self.mend(b0);
        self.rebuild();
        gone
    }

    /// Restores the block invariants at `b` after removals: an empty
    /// block goes, a small one merges with a neighbour (splitting again if
    /// the two are too many).
    fn mend(&mut self, b: usize) {
        if b >= self.blocks.len() {
            return;
        }
        if self.blocks[b].is_empty() {
            self.blocks.remove(b);
            return;
        }
        if self.blocks[b].len() >= BLOCK_MIN || self.blocks.len() == 1 {
            return;
        }
        let first = if b > 0 { b - 1 } else { b };
        let second = self.blocks.remove(first + 1);
        let merged = &mut self.blocks[first];
        merged.extend(second);
        if merged.len() > BLOCK_MAX {
            let tail = merged.split_off(merged.len() / 2);
            self.blocks.insert(first + 1, tail);
        }
    }

    /// Items in blocks before block `b`.
    fn prefix(&self, b: usize) -> usize {
        let (mut i, mut sum) = (b, 0);
        while i > 0 {
            sum += self.tree[i - 1];
            i &= i - 1;
        }
        sum
    }

    /// Adds `delta` (wrapping, so `usize::MAX` is -1) to block `b`'s length.
    fn add(&mut self, b: usize, delta: usize) {
        let mut i = b + 1;
        while i <= self.tree.len() {
            self.tree[i - 1] = self.tree[i - 1].wrapping_add(delta);
            i += i & i.wrapping_neg();
        }
    }

    /// Rebuilds the Fenwick tree after blocks split, merge or go: O(blocks).
    fn rebuild(&mut self) {
        let n = self.blocks.len();
        self.tree.clear();
        self.tree.extend(self.blocks.iter().map(Vec::len));
        for i in 1..=n {
            let parent = i + (i & i.wrapping_neg());
            if parent <= n {
                self.tree[parent - 1] += self.tree[i - 1];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16, i8),
        Remove(u16),
        RemoveRanks(u16, u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0..3000u16, any::<i8>()).prop_map(|(m, s)| Op::Insert(m, s)),
            3 => (0..3000u16).prop_map(Op::Remove),
            1 => (0..3000u16, 0..400u16).prop_map(|(a, n)| Op::RemoveRanks(a, n)),
        ]
    }

    fn name(m: u16) -> Vec<u8> {
        // Some long members, so the index appears before 128 members.
        if m.is_multiple_of(97) {
            format!("{m:0>70}").into_bytes()
        } else {
            format!("m{m}").into_bytes()
        }
    }

    /// The model: member → score, with the order recomputed on demand.
    fn ordered(model: &BTreeMap<Vec<u8>, f64>) -> Vec<(f64, Vec<u8>)> {
        let mut all: Vec<_> = model.iter().map(|(m, &s)| (s, m.clone())).collect();
        all.sort_by(|a, b| cmp_score(a.0, b.0).then_with(|| a.1.cmp(&b.1)));
        all
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn behaves_like_a_sorted_map(ops in proptest::collection::vec(op(), 1..3000)) {
            let mut z = ZSet::default();
            let mut model = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(m, s) => {
                        let old = z.insert(&name(m), s as f64);
                        prop_assert_eq!(old, model.insert(name(m), s as f64));
                    }
                    Op::Remove(m) => {
                        prop_assert_eq!(z.remove(&name(m)), model.remove(&name(m)));
                    }
                    Op::RemoveRanks(start, n) => {
                        let expect = ordered(&model);
                        let (start, end) = (start as usize, start as usize + n as usize);
                        let gone = z.remove_ranks(start, end);
                        let want: Vec<_> = expect.iter().skip(start).take(end.saturating_sub(start)).collect();
                        prop_assert_eq!(gone.len(), want.len());
                        for (g, w) in gone.iter().zip(want) {
                            prop_assert_eq!(&*g.member, &w.1[..]);
                            model.remove(&w.1);
                        }
                    }
                }
                prop_assert_eq!(z.len(), model.len());
            }
            let expect = ordered(&model);
            let got: Vec<_> = z.iter().map(|i| (i.score, i.member.to_vec())).collect();
            prop_assert_eq!(&got, &expect);
            for (rank, (s, m)) in expect.iter().enumerate() {
                prop_assert_eq!(z.rank(m), Some(rank));
                prop_assert_eq!(z.score(m), Some(*s));
                prop_assert_eq!(z.get(rank).map(|i| i.member.to_vec()), Some(m.clone()));
                let up: Vec<_> = z.iter_from(rank).map(|i| i.member.to_vec()).collect();
                prop_assert_eq!(up.len(), expect.len() - rank);
                let down: Vec<_> = z.iter_down_from(rank).map(|i| i.member.to_vec()).collect();
                prop_assert_eq!(down.len(), rank + 1);
                prop_assert_eq!(&down[0], m);
            }
            prop_assert_eq!(z.iter_from(expect.len()).count(), 0);
            prop_assert_eq!(z.iter_down_from(expect.len()).count(), 0);
            let limits = crate::store::encoding::limits();
            if model.len() > limits.zset_entries
                || model.keys().any(|m| m.len() > limits.zset_value)
            {
                prop_assert!(!z.is_listpack());
            }
        }
    }

    #[test]
    fn blocks_stay_bounded_and_packed_under_ascending_inserts() {
        let mut z = ZSet::default();
        for i in 0..100_000 {
            z.insert(format!("m{i}").as_bytes(), i as f64);
        }
        assert!(z.order.blocks.iter().all(|b| b.len() <= BLOCK_MAX));
        // Ascending inserts leave full blocks.
        assert!(z.order.blocks.len() <= 100_000 / BLOCK_MAX + 1);
        assert_eq!(z.rank(b"m77777"), Some(77777));
        assert_eq!(z.get(5).map(|i| i.score), Some(5.0));
        let gone = z.remove_ranks(10, 99_990);
        assert_eq!(gone.len(), 99_980);
        assert_eq!(z.len(), 20);
        assert_eq!(z.rank(b"m99995"), Some(15));
        assert_eq!(z.score(b"m50"), None);
    }

    #[test]
    fn negative_zero_ties_with_zero() {
        let mut z = ZSet::default();
        z.insert(b"b", 0.0);
        z.insert(b"a", -0.0);
        let order: Vec<_> = z.iter().map(|i| i.member.to_vec()).collect();
        assert_eq!(order, [b"a".to_vec(), b"b".to_vec()]);
        // A listpack keeps -0 as the integer 0, as Redis's does; the
        // indexed encoding keeps the double.
        assert_eq!(z.score(b"a").map(f64::is_sign_negative), Some(false));
        z.insert(&[b'x'; 65], 1.0);
        z.insert(b"a", -0.0);
        assert_eq!(z.score(b"a").map(f64::is_sign_negative), Some(true));
    }
}
