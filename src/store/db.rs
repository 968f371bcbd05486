//! One logical database: keys, values and expiry times.
//!
//! Entries live in a slot vector; a `hashbrown::HashTable` maps a key's hash
//! to its slot. A key keeps its slot for as long as it exists, and freed slots
//! are reused but never compacted, which is what gives SCAN its guarantee: the
//! cursor is a slot number, so every key present for the whole scan is
//! returned exactly once however the table grows. (Redis gets the same
//! guarantee from its reverse-binary cursor over resizing buckets.) The price
//! is that the slot vector keeps its high-water mark until the database is
//! emptied.
//!
//! Keys with a TTL are also listed in `volatile`, so the active expiry cycle
//! can sample them at random in O(1), as Redis samples its `expires` dict.

use std::hash::{BuildHasher, RandomState};
use std::num::NonZeroU64;

use hashbrown::HashTable;

use super::value::{Bytes, Value};

#[derive(Debug)]
pub struct Entry {
    pub key: Bytes,
    pub value: Value,
    /// Absolute expiry in Unix milliseconds ([`Entry::expire_at`]); the
    /// niche keeps it at 8 bytes.
    expires: Option<NonZeroU64>,
    /// Position in `Db::volatile` while `expire_at` is set.
    volatile_pos: u32,
    /// Last access, in Unix seconds (OBJECT IDLETIME, and LRU eviction later).
    pub access: u32,
}

impl Entry {
    /// Absolute expiry in Unix milliseconds, if the key has a TTL.
    pub fn expire_at(&self) -> Option<u64> {
        self.expires.map(NonZeroU64::get)
    }

    fn set_expire_at(&mut self, at: Option<u64>) {
        // Time 0 is as past as time 1; nothing stores it anyway.
        self.expires = at.map(|ms| NonZeroU64::new(ms).unwrap_or(NonZeroU64::MIN));
    }
}

#[derive(Debug, Default)]
pub struct Db {
    slots: Vec<Option<Entry>>,
    index: HashTable<u32>,
    free: Vec<u32>,
    volatile: Vec<u32>,
    hasher: RandomState,
    /// Keys removed by lazy or active expiry (INFO `expired_keys`).
    pub expired: u64,
}

fn secs(now_ms: u64) -> u32 {
    (now_ms / 1000) as u32
}

impl Db {
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn expires_len(&self) -> usize {
        self.volatile.len()
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    fn find_slot(&self, hash: u64, key: &[u8]) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(hash, |&s| {
                slots[s as usize].as_ref().is_some_and(|e| &*e.key == key)
            })
            .copied()
    }

    fn is_expired(entry: &Entry, now_ms: u64) -> bool {
        entry.expire_at().is_some_and(|at| at <= now_ms)
    }

    /// The entry for `key`, removing it first if its time has passed.
    pub fn get_entry(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Entry> {
        let slot = self.live_slot(key, now_ms)?;
        let entry = self.slots[slot as usize].as_mut()?;
        entry.access = secs(now_ms);
        Some(entry)
    }

    /// Like [`Db::get_entry`] without touching the access time (TYPE does not,
    /// OBJECT IDLETIME must not).
    pub fn peek_entry(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Entry> {
        let slot = self.live_slot(key, now_ms)?;
        self.slots[slot as usize].as_mut()
    }

    fn live_slot(&mut self, key: &[u8], now_ms: u64) -> Option<u32> {
        self.lookup(key, now_ms).ok()
    }

    /// The slot of `key` if it is live (an expired key is removed first),
    /// or else its hash, so that an insert that follows hashes it once.
    fn lookup(&mut self, key: &[u8], now_ms: u64) -> Result<u32, u64> {
        let hash = self.hash(key);
        let slot = self.find_slot(hash, key).ok_or(hash)?;
        let expired = self.slots[slot as usize]
            .as_ref()
            .is_some_and(|e| Self::is_expired(e, now_ms));
        if expired {
            self.remove_slot(slot);
            self.expired += 1;
            return Err(hash);
        }
        Ok(slot)
    }

    pub fn get(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Value> {
        self.get_entry(key, now_ms).map(|e| &mut e.value)
    }

    pub fn contains(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.live_slot(key, now_ms).is_some()
    }

    /// Stores `value` under `key` with the given expiry, replacing any old
    /// value and its TTL. An old value whose time has passed counts as
    /// expired, as Redis's write lookup counts it.
    pub fn set(&mut self, key: &[u8], value: Value, expire_at: Option<u64>, now_ms: u64) {
        match self.lookup(key, now_ms) {
            Ok(slot) => {
                if let Some(e) = self.slots[slot as usize].as_mut() {
                    e.value = value;
                    e.access = secs(now_ms);
                }
                self.set_expire_slot(slot, expire_at);
            }
            Err(hash) => {
                self.insert_hashed(hash, key.into(), value, expire_at, now_ms);
            }
        }
    }

    /// Stores `value`, keeping the key's TTL if it has one (and is alive).
    pub fn set_keep_ttl(&mut self, key: &[u8], value: Value, now_ms: u64) {
        match self.lookup(key, now_ms) {
            Ok(slot) => {
                if let Some(e) = self.slots[slot as usize].as_mut() {
                    e.value = value;
                    e.access = secs(now_ms);
                }
            }
            Err(hash) => {
                self.insert_hashed(hash, key.into(), value, None, now_ms);
            }
        }
    }

    /// Inserts a key known to be absent (the caller looked it up).
    pub fn insert_new(
        &mut self,
        key: Bytes,
        value: Value,
        expire_at: Option<u64>,
        now_ms: u64,
    ) -> u32 {
        self.insert_hashed(self.hash(&key), key, value, expire_at, now_ms)
    }

    fn insert_hashed(
        &mut self,
        hash: u64,
        key: Bytes,
        value: Value,
        expire_at: Option<u64>,
        now_ms: u64,
    ) -> u32 {
        let entry = Entry {
            key,
            value,
            expires: None,
            volatile_pos: 0,
            access: secs(now_ms),
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(entry);
                s
            }
            None => {
                self.slots.push(Some(entry));
                (self.slots.len() - 1) as u32
            }
        };
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index.insert_unique(hash, slot, |&s| {
            slots[s as usize]
                .as_ref()
                .map_or(0, |e| hasher.hash_one(&*e.key))
        });
        self.set_expire_slot(slot, expire_at);
        slot
    }

    /// The entry for `key`, created with `make` if absent.
    pub fn get_or_insert(
        &mut self,
        key: &[u8],
        now_ms: u64,
        make: impl FnOnce() -> Value,
    ) -> &mut Value {
        let slot = match self.lookup(key, now_ms) {
            Ok(s) => s,
            Err(hash) => self.insert_hashed(hash, key.into(), make(), None, now_ms),
        };
        let entry = self.slots[slot as usize]
            .as_mut()
            .expect("slot of a live key");
        entry.access = secs(now_ms);
        &mut entry.value
    }

    pub fn remove(&mut self, key: &[u8], now_ms: u64) -> Option<Entry> {
        let slot = self.live_slot(key, now_ms)?;
        self.remove_slot(slot)
    }

    fn remove_slot(&mut self, slot: u32) -> Option<Entry> {
        let hash = self.hash(&self.slots[slot as usize].as_ref()?.key);
        if let Ok(found) = self.index.find_entry(hash, |&s| s == slot) {
            found.remove();
        }
        // Unlisting from `volatile` clears `expire_at`; the caller still
        // gets it back (RENAME and MOVE carry the TTL over).
        let expire_at = self.slots[slot as usize].as_ref()?.expire_at();
        self.set_expire_slot(slot, None);
        let mut entry = self.slots[slot as usize].take();
        if let Some(e) = entry.as_mut() {
            e.set_expire_at(expire_at);
        }
        if slot as usize == self.slots.len() - 1 {
            self.slots.pop();
        } else {
            self.free.push(slot);
        }
        if self.index.is_empty() {
            self.slots.clear();
            self.free.clear();
        }
        entry
    }

    /// Sets or clears the TTL of a live key.
    pub fn set_expire(&mut self, key: &[u8], expire_at: Option<u64>, now_ms: u64) -> bool {
        match self.live_slot(key, now_ms) {
            Some(slot) => {
                self.set_expire_slot(slot, expire_at);
                true
            }
            None => false,
        }
    }

    fn set_expire_slot(&mut self, slot: u32, expire_at: Option<u64>) {
        let Some(entry) = self.slots[slot as usize].as_mut() else {
            return;
        };
        match (entry.expires.is_some(), expire_at.is_some()) {
            (false, true) => {
                entry.volatile_pos = self.volatile.len() as u32;
                self.volatile.push(slot);
            }
            (true, false) => {
                let pos = entry.volatile_pos as usize;
                self.volatile.swap_remove(pos);
                if let Some(&moved) = self.volatile.get(pos) {
                    if let Some(m) = self.slots[moved as usize].as_mut() {
                        m.volatile_pos = pos as u32;
                    }
                }
            }
            _ => {}
        }
        if let Some(entry) = self.slots[slot as usize].as_mut() {
            entry.set_expire_at(expire_at);
        }
    }

    /// Drops every key.
    pub fn clear(&mut self) {
        self.slots = Vec::new();
        self.index = HashTable::new();
        self.free = Vec::new();
        self.volatile = Vec::new();
    }

    /// One step of SCAN: live entries from slot `cursor` on, visiting at most
    /// `count` slots (more while they are empty, up to ten times `count`, as
    /// Redis also bounds empty-bucket walks). Returns the next cursor, 0 at
    /// the end.
    pub fn scan(
        &mut self,
        cursor: u64,
        count: usize,
        now_ms: u64,
        mut f: impl FnMut(&Entry),
    ) -> u64 {
        let mut slot = cursor as usize;
        let (mut found, mut visited) = (0, 0);
        while slot < self.slots.len() && found < count && visited < count.saturating_mul(10) {
            visited += 1;
            let expired = match &self.slots[slot] {
                Some(e) if Self::is_expired(e, now_ms) => true,
                Some(e) => {
                    found += 1;
                    f(e);
                    false
                }
                None => false,
            };
            if expired {
                self.remove_slot(slot as u32);
                self.expired += 1;
                // Removing the last slot shortens the vector; the loop
                // condition notices.
            }
            slot += 1;
        }
        if slot >= self.slots.len() {
            0
        } else {
            slot as u64
        }
    }

    /// Every live entry, expired ones skipped (not removed).
    pub fn iter(&self, now_ms: u64) -> impl Iterator<Item = &Entry> {
        self.slots
            .iter()
            .flatten()
            .filter(move |e| !Self::is_expired(e, now_ms))
    }

    /// A random live key.
    pub fn random_key(&mut self, now_ms: u64, rng: &mut crate::util::Rng) -> Option<Bytes> {
        // Sampling a dense vector is O(1); after mass deletes it may be
        // sparse, so give up sampling after a while and walk instead.
        for _ in 0..100 {
            if self.index.is_empty() || self.slots.is_empty() {
                return None;
            }
            let slot = rng.below(self.slots.len() as u64) as u32;
            let expired = match &self.slots[slot as usize] {
                Some(e) if !Self::is_expired(e, now_ms) => return Some(e.key.clone()),
                Some(_) => true,
                None => false,
            };
            if expired {
                self.remove_slot(slot);
                self.expired += 1;
            }
        }
        let live: Vec<&Entry> = self.iter(now_ms).collect();
        if live.is_empty() {
            return None;
        }
        Some(live[rng.below(live.len() as u64) as usize].key.clone())
    }

    /// One round of active expiry: sample up to `samples` keys with a TTL and
    /// remove the expired ones. Returns (sampled, expired) so the caller can
    /// repeat while the expired share stays high, as Redis does.
    pub fn expire_sample(
        &mut self,
        samples: usize,
        now_ms: u64,
        rng: &mut crate::util::Rng,
    ) -> (usize, usize) {
        let mut expired = 0;
        let n = samples.min(self.volatile.len());
        for _ in 0..n {
            if self.volatile.is_empty() {
                break;
            }
            let slot = self.volatile[rng.below(self.volatile.len() as u64) as usize];
            if self.slots[slot as usize]
                .as_ref()
                .is_some_and(|e| Self::is_expired(e, now_ms))
            {
                self.remove_slot(slot);
                self.expired += 1;
                expired += 1;
            }
        }
        (n, expired)
    }

    /// Sum of TTLs left, for INFO keyspace's `avg_ttl`, over a bounded sample.
    pub fn avg_ttl(&self, now_ms: u64) -> u64 {
        let sample = self.volatile.iter().take(1000);
        let (mut sum, mut n) = (0u64, 0u64);
        for &slot in sample {
            if let Some(at) = self.slots[slot as usize]
                .as_ref()
                .and_then(Entry::expire_at)
            {
                sum += at.saturating_sub(now_ms);
                n += 1;
            }
        }
        sum.checked_div(n).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    /// Every key costs one entry: keep it at 88 bytes, with keys and
    /// values up to 30 bytes inside it.
    #[test]
    fn an_entry_stays_small() {
        assert_eq!(std::mem::size_of::<Option<super::Entry>>(), 88);
        assert_eq!(std::mem::size_of::<super::Value>(), 40);
    }
}
