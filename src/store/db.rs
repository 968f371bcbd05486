//! One logical database: keys, values and expiry times, and [`DbMut`], the
//! only way to look a key up or change one.
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
//!
//! [`DbMut`] is a database lent together with the store's journal. Every
//! access through it removes a key whose time has passed (recording the
//! expiry), and every write records its event, so nothing changes the
//! keyspace without the write path knowing (see `journal.rs`).

use std::hash::{BuildHasher, RandomState};
use std::num::NonZeroU64;
use std::ops::{Deref, DerefMut};

use hashbrown::HashTable;

use super::access::Clock;
use super::journal::{Event, Journal, KeyChange, KeyEvent, KeyspaceStats};
use super::value::{Bytes, Value};
use crate::alloc::allocated;
use crate::util::Rng;

#[derive(Debug)]
pub struct Entry {
    pub key: Bytes,
    pub value: Value,
    /// Absolute expiry in Unix milliseconds ([`Entry::expire_at`]); the
    /// niche keeps it at 8 bytes.
    expires: Option<NonZeroU64>,
    /// Position in `Db::volatile` while `expire_at` is set.
    volatile_pos: u32,
    /// The access clock: last access (LRU) or access frequency (LFU), as
    /// `maxmemory-policy` reads it (see `access.rs`).
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

    /// Whether the key's time has passed: strictly, as Redis's
    /// `keyIsExpired` (`now > when`), so a key is still there in the
    /// millisecond it expires at.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at().is_some_and(|at| at < now_ms)
    }
}

#[derive(Debug, Default)]
pub struct Db {
    slots: Vec<Option<Entry>>,
    index: HashTable<u32>,
    free: Vec<u32>,
    volatile: Vec<u32>,
    hasher: RandomState,
    /// A background save's bookkeeping while it has not finished with this
    /// database (see [`Frozen`]).
    frozen: Option<Box<Frozen>>,
}

/// How a background save keeps its point in time without fork.
///
/// When a save starts, every database notes how many slots it has and
/// which of them the save has dealt with (none yet). The save walks the
/// slots in order; everything else that touches a slot it has not reached
/// first hands the save the entry as it was (the value moved out when a
/// SET replaces it, cloned when a command changes it in place or removes
/// it), and marks the slot dealt with. A key created after the start lands
/// either past the noted length or in a slot the save then marks, so it is
/// never saved. FLUSHDB hands the whole old table over. So the file holds
/// exactly the keyspace of the moment the save started, and the cost of a
/// write during a save is one copy of the value it changes, at most once
/// per key: Redis's fork pays the same, per 4 KiB page, in the kernel.
///
/// The marks travel with the database, so SWAPDB during a save is safe:
/// `origin` says which database the entries belonged to at the start.
#[derive(Debug)]
pub struct Frozen {
    /// The database's number when the save started.
    pub origin: usize,
    /// Keys and keys with a TTL at the start (RDB's RESIZEDB).
    pub keys: usize,
    pub expires: usize,
    /// Slots at the start; slots past it were created later.
    len: usize,
    /// One bit per slot below `len`: the save has it, or it was empty.
    done: Vec<u64>,
    /// The save's position in the slots.
    cursor: usize,
    /// Entries as they were when something changed them first, and those
    /// of a table FLUSHDB emptied before the save was through it.
    kept: Vec<(Bytes, Value, Option<u64>)>,
    /// About how much memory `kept` holds (eviction leaves it out).
    kept_bytes: usize,
}

/// What an entry handed to a save holds, estimated as MEMORY USAGE does.
fn kept_size(key: &Bytes, value: &Value) -> usize {
    std::mem::size_of::<(Bytes, Value, Option<u64>)>() + key.heap_size() + value.heap_size(5)
}

fn bit(bits: &[u64], i: usize) -> bool {
    bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

fn set_bit(bits: &mut [u64], i: usize) {
    if let Some(w) = bits.get_mut(i / 64) {
        *w |= 1 << (i % 64);
    }
}

impl Frozen {
    fn push(&mut self, key: Bytes, value: Value, expire_at: Option<u64>) {
        self.kept_bytes += kept_size(&key, &value);
        self.kept.push((key, value, expire_at));
    }

    /// Memory the entries handed over hold, about.
    pub fn kept_bytes(&self) -> usize {
        self.kept_bytes
    }

    /// Whether the save still needs slot `slot`.
    fn wants(&self, slot: u32) -> bool {
        let slot = slot as usize;
        slot < self.len && !bit(&self.done, slot)
    }
}

/// Redis frees small databases inline even when asked for ASYNC.
const LAZYFREE_THRESHOLD: usize = 64;

impl Db {
    /// Starts a background save's watch over this database, which it will
    /// save as database `origin`. An empty database needs none.
    pub(super) fn freeze(&mut self, origin: usize) {
        self.frozen = None;
        if self.is_empty() {
            return;
        }
        let len = self.slots.len();
        self.frozen = Some(Box::new(Frozen {
            origin,
            keys: self.len(),
            expires: self.expires_len(),
            len,
            done: vec![0; len.div_ceil(64)],
            cursor: 0,
            kept: Vec::new(),
            kept_bytes: 0,
        }));
    }

    pub(super) fn reserve(&mut self, keys: usize) {
        self.slots.reserve(keys);
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index.reserve(keys, |&s| {
            slots[s as usize]
                .as_ref()
                .map_or(0, |e| hasher.hash_one(&*e.key))
        });
    }

    /// Inserts a key read from a file; one there already is replaced with
    /// `replace`, else refused (false).
    pub(super) fn load(
        &mut self,
        key: Bytes,
        value: Value,
        at: Option<u64>,
        access: u32,
        replace: bool,
    ) -> bool {
        let hash = self.hash(&key);
        if let Some(slot) = self.find_slot(hash, &key) {
            if !replace {
                return false;
            }
            self.remove_slot(slot);
        }
        self.insert_hashed(hash, key, value, at, access);
        true
    }

    /// The save's bookkeeping, if a save has not finished with this
    /// database.
    pub fn frozen(&self) -> Option<&Frozen> {
        self.frozen.as_deref()
    }

    /// Drops the save's watch (the save finished or was abandoned).
    pub fn thaw(&mut self) {
        self.frozen = None;
    }

    /// Hands the save up to `budget` entries of the snapshot, in order:
    /// those kept aside, then the slots it has not reached.
    /// Returns whether the database is complete.
    pub fn save_step(
        &mut self,
        budget: &mut usize,
        mut each: impl FnMut(&[u8], &Value, Option<u64>),
    ) -> bool {
        let Some(f) = self.frozen.as_deref_mut() else {
            return true;
        };
        while *budget > 0 {
            if let Some((key, value, at)) = f.kept.pop() {
                f.kept_bytes = f.kept_bytes.saturating_sub(kept_size(&key, &value));
                each(&key, &value, at);
            } else if f.cursor < f.len {
                let slot = f.cursor;
                f.cursor += 1;
                if bit(&f.done, slot) {
                    continue;
                }
                set_bit(&mut f.done, slot);
                match self.slots.get(slot) {
                    Some(Some(e)) => each(&e.key, &e.value, e.expire_at()),
                    _ => continue,
                }
            } else {
                return true;
            }
            *budget -= 1;
        }
        false
    }

    /// Whether a save still needs slot `slot`, which is about to change;
    /// if so, the caller must hand it the entry as it is now
    /// ([`Db::keep`]).
    fn claim(&mut self, slot: u32) -> bool {
        match self.frozen.as_deref_mut() {
            Some(f) if f.wants(slot) => {
                set_bit(&mut f.done, slot as usize);
                true
            }
            _ => false,
        }
    }

    fn keep(&mut self, key: Bytes, value: Value, expire_at: Option<u64>) {
        if let Some(f) = self.frozen.as_deref_mut() {
            f.push(key, value, expire_at);
        }
    }

    /// Before slot `slot` changes in place: if the save still needs it,
    /// it gets a copy of the entry as it is now.
    fn preserve(&mut self, slot: u32) {
        if !self.claim(slot) {
            return;
        }
        if let Some(Some(e)) = self.slots.get(slot as usize) {
            let copy = (e.key.clone(), e.value.clone(), e.expire_at());
            self.keep(copy.0, copy.1, copy.2);
        }
    }

    /// A key was created in `slot`: not part of the snapshot.
    fn created(&mut self, slot: u32) {
        if let Some(f) = self.frozen.as_deref_mut() {
            set_bit(&mut f.done, slot as usize);
        }
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Memory in slots that hold no entry (freed ones waiting for reuse,
    /// and room the vector has grown into but not used): like an
    /// allocator's free lists, it is there for the next keys, and
    /// removing a key adds its slot to it.
    pub fn spare_bytes(&self) -> usize {
        (self.slots.capacity() - self.len()) * std::mem::size_of::<Option<Entry>>()
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

    fn slot(&self, slot: u32) -> &Entry {
        self.slots[slot as usize]
            .as_ref()
            .expect("a listed slot holds an entry")
    }

    fn slot_mut(&mut self, slot: u32) -> &mut Entry {
        self.slots[slot as usize]
            .as_mut()
            .expect("a listed slot holds an entry")
    }

    fn insert_hashed(
        &mut self,
        hash: u64,
        key: Bytes,
        value: Value,
        expire_at: Option<u64>,
        access: u32,
    ) -> u32 {
        let entry = Entry {
            key,
            value,
            expires: None,
            volatile_pos: 0,
            access,
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
        self.created(slot);
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index.insert_unique(hash, slot, |&s| {
            slots[s as usize]
                .as_ref()
                .map_or(0, |e| hasher.hash_one(&*e.key))
        });
        self.set_expire_slot(slot, expire_at);
        slot
    }

    fn remove_slot(&mut self, slot: u32) -> Option<Entry> {
        self.preserve(slot);
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

    fn set_expire_slot(&mut self, slot: u32, expire_at: Option<u64>) {
        self.preserve(slot);
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

    /// The entry for `key` as the table holds it, even if its time has
    /// passed (DEBUG DIGEST-VALUE looks keys up this way).
    pub fn get_raw(&self, key: &[u8]) -> Option<&Entry> {
        let slot = self.find_slot(self.hash(key), key)?;
        Some(self.slot(slot))
    }

    /// Every live entry, expired ones skipped (not removed).
    pub fn iter(&self, now_ms: u64) -> impl Iterator<Item = &Entry> {
        self.entries().filter(move |e| !e.is_expired(now_ms))
    }

    /// Every entry the table holds, logically expired ones included, as
    /// Redis's DEBUG DIGEST walks its dict.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.slots.iter().flatten()
    }

    /// Calls `f` with up to `count` entries drawn at random, and their
    /// slots, from every key or (`volatile`) from those with a TTL:
    /// eviction's sample (Redis's `dictGetSomeKeys`). An entry may come
    /// twice. The slots are drawn and checked first and read after, so
    /// the cache misses of a batch overlap.
    pub fn sample(
        &self,
        volatile: bool,
        count: usize,
        rng: &mut Rng,
        mut f: impl FnMut(u32, &Entry),
    ) {
        const MAX_BATCH: usize = 16;
        let mut picks = [0u32; MAX_BATCH];
        if volatile {
            let mut left = count.min(self.volatile.len());
            while left > 0 {
                let batch = left.min(MAX_BATCH);
                for p in picks.iter_mut().take(batch) {
                    *p = self.volatile[rng.below(self.volatile.len() as u64) as usize];
                }
                for &slot in &picks[..batch] {
                    f(slot, self.slot(slot));
                }
                left -= batch;
            }
            return;
        }
        let want = count.min(self.len());
        let mut found = 0;
        // Freed slots are reused first, so the vector is dense but for a
        // mass delete; after one, probing gives way to a walk.
        for _ in 0..10 {
            let batch = (want - found).min(MAX_BATCH);
            if batch == 0 {
                return;
            }
            // Without a branch on each load, the loads of the batch are in
            // flight together; the second pass finds them cached.
            let mut hits = 0;
            for _ in 0..batch {
                let slot = rng.below(self.slots.len() as u64) as u32;
                picks[hits] = slot;
                hits += usize::from(matches!(self.slots.get(slot as usize), Some(Some(_))));
            }
            for &slot in &picks[..hits] {
                f(slot, self.slot(slot));
            }
            found += hits;
        }
        let start = rng.below(self.slots.len().max(1) as u64) as usize;
        let start = start.min(self.slots.len());
        let walk = (start..self.slots.len()).chain(0..start);
        for slot in walk.filter(|&i| self.slots[i].is_some()).take(want - found) {
            f(slot as u32, self.slot(slot as u32));
        }
    }

    /// A random key and its slot, from every key or (`volatile`) from
    /// those with a TTL.
    pub fn random_sample(&self, volatile: bool, rng: &mut Rng) -> Option<(u32, Bytes)> {
        let mut pick = None;
        self.sample(volatile, 1, rng, |slot, e| {
            pick = Some((slot, e.key.clone()))
        });
        pick
    }

    /// Whether slot `slot` still holds `key` (with a TTL, if `volatile`),
    /// whatever its time: a sampled candidate is still there.
    pub fn holds_at(&self, slot: u32, key: &[u8], volatile: bool) -> bool {
        matches!(self.slots.get(slot as usize), Some(Some(e))
            if *e.key == *key && (!volatile || e.expire_at().is_some()))
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

    /// Empties the database, returning how many keys it held. With `lazy`,
    /// a large database is dropped on a short-lived thread so the event loop
    /// does not stall on freeing it; the dropped data is no longer reachable
    /// from the store, so no other thread ever touches live data.
    pub(super) fn empty(&mut self, lazy: bool) -> usize {
        let n = self.len();
        let frozen = self.frozen.take();
        let old = std::mem::take(self);
        if let Some(mut f) = frozen {
            // A save still needs some of these: it gets them (moved, not
            // copied), and the new, empty table is all after its time.
            for (slot, entry) in old.slots.into_iter().enumerate() {
                if let Some(e) = entry.filter(|_| f.wants(slot as u32)) {
                    let at = e.expire_at();
                    f.push(e.key, e.value, at);
                }
            }
            (f.len, f.cursor, f.done) = (0, 0, Vec::new());
            self.frozen = Some(f);
            return n;
        }
        if lazy && n > LAZYFREE_THRESHOLD {
            if let Err(e) = std::thread::Builder::new()
                .name("lazyfree".into())
                .spawn(move || drop(old))
            {
                tracing::warn!("lazy free thread failed to start, freed inline: {e}");
            }
        }
        n
    }
}

/// A database lent with the store's journal and counters, for one command
/// (or one cron step) at one point in time.
pub struct DbMut<'a> {
    pub(super) db: &'a mut Db,
    pub(super) log: &'a mut Journal,
    pub(super) stats: &'a mut KeyspaceStats,
    pub(super) rng: &'a mut Rng,
    pub(super) id: usize,
    pub(super) now: u64,
    /// Whether keys whose time has passed are removed when met
    /// ([`super::Store::expire_on_access`]).
    pub(super) expiring: bool,
    /// Whether CLIENT PAUSE keeps keys whose time has passed
    /// ([`super::Store::expiry_paused`]): lookups miss them, and only a
    /// write removes one.
    pub(super) expiry_paused: bool,
    /// How accesses advance keys' clocks ([`super::Store::clock`]).
    pub(super) clock: Clock,
}

/// How a lookup counts and touches (Redis's `LOOKUP_*` flags).
#[derive(Clone, Copy)]
struct Lookup {
    /// Counts a keyspace hit or miss (a read lookup).
    count: bool,
    /// Refreshes the access time (everything but `LOOKUP_NOTOUCH`).
    touch: bool,
}

impl<'a> DbMut<'a> {
    /// Redis's `checkAlreadyExpired`: whether an expiry time set now would
    /// be past already, so the key is deleted instead. Never while expiry
    /// on access is off: a replayed stream deletes with its own DELs.
    pub fn already_expired(&self, at_ms: i64) -> bool {
        self.expiring && at_ms <= self.now as i64
    }

    /// Whether `entry` counts as gone (its time has passed and expiry on
    /// access is on).
    fn expired(&self, entry: &Entry) -> bool {
        self.expiring && entry.is_expired(self.now)
    }

    /// Every live entry (KEYS): expired ones are skipped, not removed, as
    /// Redis's KEYS does.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.db.iter(self.now)
    }

    /// The slot of `key` if it is live (an expired key is removed first,
    /// and its expiry recorded), or else its hash, so that an insert that
    /// follows hashes it once.
    fn find(&mut self, key: &[u8]) -> Result<u32, u64> {
        let hash = self.db.hash(key);
        let slot = self.db.find_slot(hash, key).ok_or(hash)?;
        if self.expired(self.db.slot(slot)) {
            if !self.expiry_paused {
                self.expire_slot(slot);
            }
            return Err(hash);
        }
        Ok(slot)
    }

    /// [`DbMut::find`] for a write that inserts when the key is missing:
    /// a key whose time has passed is removed even during a pause, so the
    /// insert finds its place free.
    fn find_for_insert(&mut self, key: &[u8]) -> Result<u32, u64> {
        let paused = std::mem::replace(&mut self.expiry_paused, false);
        let found = self.find(key);
        self.expiry_paused = paused;
        found
    }

    /// Removes an entry whose time has passed (Redis's
    /// `deleteExpiredKeyAndPropagate`).
    fn expire_slot(&mut self, slot: u32) {
        let before = allocated();
        if let Some(Entry { key, value, .. }) = self.db.remove_slot(slot) {
            drop(value);
            self.stats.expired += 1;
            self.record(&key, KeyChange::Expired, "expired", 0, false, before);
        }
    }

    #[inline]
    fn record(
        &mut self,
        key: &[u8],
        change: KeyChange,
        name: &'static str,
        changes: u64,
        created: bool,
        before: u64,
    ) {
        let what = (change, name, changes, created);
        record(self.log, self.id, key, what, before);
    }

    /// Advances the access clock of the entry in `slot` (Redis's
    /// `updateLFU`, or a fresh LRU time).
    fn touch(&mut self, slot: u32) {
        let entry = self.db.slot_mut(slot);
        entry.access = self.clock.touched(entry.access, self.now, self.rng);
    }

    /// The slot of a live `key`, counted and touched as `how` says.
    fn lookup_slot(&mut self, key: &[u8], how: Lookup) -> Option<u32> {
        let found = self.find(key).ok();
        if how.count {
            if found.is_some() {
                self.stats.hits += 1;
            } else {
                self.stats.misses += 1;
                if self.log.record_misses {
                    let before = allocated();
                    self.record(key, KeyChange::Missed, "keymiss", 0, false, before);
                }
            }
        }
        let slot = found?;
        if how.touch {
            self.touch(slot);
        }
        Some(slot)
    }

    fn lookup(&mut self, key: &[u8], how: Lookup) -> Option<&Entry> {
        let slot = self.lookup_slot(key, how)?;
        Some(self.db.slot(slot))
    }

    /// Redis's `lookupKeyRead`: counts a keyspace hit or miss and refreshes
    /// the access time.
    pub fn read(&mut self, key: &[u8]) -> Option<&Value> {
        self.read_entry(key).map(|e| &e.value)
    }

    /// [`DbMut::read`] for several keys, the values lent together (SINTER
    /// and friends): each key counted and expired as its own read would.
    /// Slots stay put while others are removed, so those found first are
    /// still valid at the end.
    /// `None` as soon as a value fails `accept` (a wrong type): the keys
    /// after it are not looked up, as Redis stops there.
    pub fn read_all(
        &mut self,
        keys: &[&[u8]],
        accept: impl Fn(&Value) -> bool,
    ) -> Option<Vec<Option<&Value>>> {
        let how = Lookup {
            count: true,
            touch: true,
        };
        let mut slots = Vec::with_capacity(keys.len());
        for key in keys {
            let slot = self.lookup_slot(key, how);
            if slot.is_some_and(|s| !accept(&self.db.slot(s).value)) {
                return None;
            }
            slots.push(slot);
        }
        let db: &Db = self.db;
        Some(
            slots
                .into_iter()
                .map(|slot| slot.map(|s| &db.slot(s).value))
                .collect(),
        )
    }

    /// [`DbMut::read`], for a value that outlives this `DbMut`.
    pub fn into_read(mut self, key: &[u8]) -> Option<&'a Value> {
        let how = Lookup {
            count: true,
            touch: true,
        };
        let slot = self.lookup_slot(key, how)?;
        let db: &'a Db = self.db;
        Some(&db.slot(slot).value)
    }

    /// [`DbMut::read`], with the key's TTL and access time.
    pub fn read_entry(&mut self, key: &[u8]) -> Option<&Entry> {
        let how = Lookup {
            count: true,
            touch: true,
        };
        self.lookup(key, how)
    }

    /// A read with `LOOKUP_NOTOUCH`: counted, the access time left alone
    /// (TYPE, TTL, EXISTS, OBJECT).
    pub fn peek(&mut self, key: &[u8]) -> Option<&Entry> {
        let how = Lookup {
            count: true,
            touch: false,
        };
        self.lookup(key, how)
    }

    /// Redis's `lookupKeyWrite`: not counted, access time refreshed.
    pub fn entry(&mut self, key: &[u8]) -> Option<&Entry> {
        let how = Lookup {
            count: false,
            touch: true,
        };
        self.lookup(key, how)
    }

    /// Whether `key` is live, as a write lookup sees it.
    pub fn contains(&mut self, key: &[u8]) -> bool {
        self.entry(key).is_some()
    }

    /// Stores `value` under `key` with the given expiry, replacing any old
    /// value and its TTL (Redis's `setKey`). An old value whose time has
    /// passed counts as expired, as Redis's write lookup counts it.
    pub fn set(&mut self, key: &[u8], value: Value, expire_at: Option<u64>, name: &'static str) {
        self.store(key, value, Some(expire_at), name, 1);
    }

    /// [`DbMut::set`] without a TTL, counting `changes` changes (SORT …
    /// STORE counts each element stored, as Redis does).
    pub fn set_counted(&mut self, key: &[u8], value: Value, name: &'static str, changes: u64) {
        self.store(key, value, Some(None), name, changes);
    }

    /// Stores `value`, keeping the key's TTL if it has one (and is live).
    pub fn set_keep_ttl(&mut self, key: &[u8], value: Value, name: &'static str) {
        self.store(key, value, None, name, 1);
    }

    /// `expire`: `Some` sets (or clears) the TTL, `None` keeps it.
    fn store(
        &mut self,
        key: &[u8],
        value: Value,
        expire: Option<Option<u64>>,
        name: &'static str,
        changes: u64,
    ) {
        let found = self.find_for_insert(key);
        let before = allocated();
        let created = match found {
            Ok(slot) => {
                let saving = self.db.claim(slot);
                let entry = self.db.slot_mut(slot);
                let old_at = entry.expire_at();
                let old = std::mem::replace(&mut entry.value, value);
                entry.access = self.clock.touched(entry.access, self.now, self.rng);
                if let Some(at) = expire {
                    self.db.set_expire_slot(slot, at);
                }
                if saving {
                    // The save gets the old value itself: no copy.
                    self.db.keep(key.into(), old, old_at);
                } else {
                    drop(old);
                }
                false
            }
            Err(hash) => {
                let at = expire.flatten();
                let access = self.clock.fresh(self.now);
                self.db.insert_hashed(hash, key.into(), value, at, access);
                true
            }
        };
        self.record(key, KeyChange::Changed, name, changes, created, before);
    }

    /// A live key's value, to change in place. The change is recorded when
    /// the guard goes, with the count given to [`Modify::changed`]; a
    /// collection left empty is deleted then, as Redis deletes an emptied
    /// list, set or hash.
    pub fn modify(&mut self, key: &[u8], name: &'static str) -> Option<Modify<'_>> {
        let slot = self.find(key).ok()?;
        self.db.preserve(slot);
        self.touch(slot);
        Some(Modify::new(self, slot, name, false))
    }

    /// [`DbMut::modify`], creating the key with `make` if it is absent
    /// (LPUSH, SADD, HSET).
    pub fn modify_or_create(
        &mut self,
        key: &[u8],
        name: &'static str,
        make: impl FnOnce() -> Value,
    ) -> Modify<'_> {
        let (slot, created) = match self.find_for_insert(key) {
            Ok(slot) => {
                self.db.preserve(slot);
                self.touch(slot);
                (slot, false)
            }
            Err(hash) => {
                let access = self.clock.fresh(self.now);
                let slot = self
                    .db
                    .insert_hashed(hash, key.into(), make(), None, access);
                (slot, true)
            }
        };
        Modify::new(self, slot, name, created)
    }

    /// A random number below `n` (SPOP, SRANDMEMBER), from the store's
    /// generator.
    pub fn random_below(&mut self, n: usize) -> usize {
        self.rng.below(n as u64) as usize
    }

    /// A generator seeded from the store's, to draw from while a value is
    /// borrowed.
    pub fn fork_rng(&mut self) -> crate::util::Rng {
        crate::util::Rng::from_seed(self.rng.next_u64())
    }

    /// The journal this database records into, for a handler that
    /// decides something about its events while it holds the database
    /// (see [`Journal::after_reply`]).
    pub fn journal(&mut self) -> &mut Journal {
        self.log
    }

    /// Records an event on a live key without changing it (a second
    /// notification for one write, such as SET's `expire`).
    pub fn note(&mut self, key: &[u8], name: &'static str) {
        let before = allocated();
        self.record(key, KeyChange::Changed, name, 0, false, before);
    }

    /// DEL: removes a live key; whether it existed.
    pub fn delete(&mut self, key: &[u8]) -> bool {
        let before = allocated();
        match self.remove(key) {
            Some(Entry { key, value, .. }) => {
                drop(value);
                self.record(&key, KeyChange::Deleted, "del", 1, false, before);
                true
            }
            None => false,
        }
    }

    /// Removes the key in `slot`, live or not, to free memory (maxmemory):
    /// counted in `evicted_keys`, notified as `evicted`, propagated as a
    /// DEL.
    pub fn evict_slot(&mut self, slot: u32) {
        let before = allocated();
        if let Some(Entry { key, value, .. }) = self.db.remove_slot(slot) {
            drop(value);
            self.stats.evicted += 1;
            self.record(&key, KeyChange::Evicted, "evicted", 0, false, before);
        }
    }

    /// Removes a live key to store its value elsewhere (RENAME, MOVE): the
    /// change is counted where it lands. Returns the value and its TTL.
    pub fn take(&mut self, key: &[u8], name: &'static str) -> Option<(Value, Option<u64>)> {
        let before = allocated();
        let entry = self.remove(key)?;
        let expire_at = entry.expire_at();
        self.record(&entry.key, KeyChange::Deleted, name, 0, false, before);
        Some((entry.value, expire_at))
    }

    fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let slot = self.find(key).ok()?;
        self.db.remove_slot(slot)
    }

    /// Sets the TTL of a live key (EXPIRE, GETEX); whether it is live.
    pub fn set_expire(&mut self, key: &[u8], at: u64) -> bool {
        let Ok(slot) = self.find(key) else {
            return false;
        };
        let before = allocated();
        self.db.set_expire_slot(slot, Some(at));
        self.record(key, KeyChange::Changed, "expire", 1, false, before);
        true
    }

    /// Sets a live key's access clock (RESTORE's IDLETIME and FREQ). It
    /// changes no data, so nothing is recorded.
    pub fn set_access(&mut self, key: &[u8], access: u32) {
        if let Ok(slot) = self.find(key) {
            self.db.slot_mut(slot).access = access;
        }
    }

    /// PERSIST: clears the TTL of a live key; whether it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        let Ok(slot) = self.find(key) else {
            return false;
        };
        self.touch(slot);
        if self.db.slot(slot).expire_at().is_none() {
            return false;
        }
        let before = allocated();
        self.db.set_expire_slot(slot, None);
        self.record(key, KeyChange::Changed, "persist", 1, false, before);
        true
    }

    /// FLUSHDB: empties the database; how many keys it held.
    pub fn flush(&mut self, lazy: bool) -> usize {
        let keys = self.db.empty(lazy) as u64;
        let db = Some(self.id);
        self.log.note(keys, || Event::Flushed {
            db,
            keys,
            changes: keys,
        });
        keys as usize
    }

    /// One step of SCAN: the entries from slot `cursor` on, visiting at
    /// most `count` slots that hold one (more while they are empty, up to
    /// ten times `count`, as Redis also bounds empty-bucket walks). Like
    /// Redis's dict scan it sees keys whose time has passed too: the caller
    /// filters, then expires what is left ([`DbMut::expire_if_needed`]).
    /// Returns the next cursor, 0 at the end.
    pub fn scan(&mut self, cursor: u64, count: usize, mut f: impl FnMut(&Entry)) -> u64 {
        let slots = &self.db.slots;
        let mut slot = cursor as usize;
        let (mut found, mut visited) = (0, 0);
        while slot < slots.len() && found < count && visited < count.saturating_mul(10) {
            visited += 1;
            if let Some(e) = &slots[slot] {
                found += 1;
                f(e);
            }
            slot += 1;
        }
        if slot >= slots.len() {
            0
        } else {
            slot as u64
        }
    }

    /// Redis's `expireIfNeeded`: removes `key` if its time has passed
    /// (recording the expiry); whether it did. Neither counted nor touched.
    pub fn expire_if_needed(&mut self, key: &[u8]) -> bool {
        let Some(slot) = self.db.find_slot(self.db.hash(key), key) else {
            return false;
        };
        if !self.expired(self.db.slot(slot)) {
            return false;
        }
        if !self.expiry_paused {
            self.expire_slot(slot);
        }
        true
    }

    /// A random live key (RANDOMKEY); expired keys it draws are removed.
    pub fn random_key(&mut self) -> Option<Bytes> {
        // Sampling a dense vector is O(1); after mass deletes it may be
        // sparse, so give up sampling after a while and walk instead.
        for _ in 0..100 {
            if self.db.is_empty() || self.db.slots.is_empty() {
                return None;
            }
            let slot = self.rng.below(self.db.slots.len() as u64) as u32;
            let expired = match &self.db.slots[slot as usize] {
                Some(e) if !self.expired(e) => return Some(e.key.clone()),
                Some(_) => true,
                None => false,
            };
            if expired && !self.expiry_paused {
                self.expire_slot(slot);
            }
        }
        let live: Vec<&Entry> = self.db.iter(self.now).collect();
        if live.is_empty() {
            return None;
        }
        Some(live[self.rng.below(live.len() as u64) as usize].key.clone())
    }

    /// One round of active expiry: sample up to `samples` keys with a TTL and
    /// remove the expired ones. Returns (sampled, expired) so the caller can
    /// repeat while the expired share stays high, as Redis does.
    pub fn expire_sample(&mut self, samples: usize) -> (usize, usize) {
        let mut expired = 0;
        let n = samples.min(self.db.volatile.len());
        for _ in 0..n {
            if self.db.volatile.is_empty() {
                break;
            }
            let pick = self.rng.below(self.db.volatile.len() as u64) as usize;
            let slot = self.db.volatile[pick];
            if self.expired(self.db.slot(slot)) {
                self.expire_slot(slot);
                expired += 1;
            }
        }
        (n, expired)
    }
}

/// A live value lent for a change in place; see [`DbMut::modify`].
pub struct Modify<'a> {
    db: &'a mut Db,
    log: &'a mut Journal,
    id: usize,
    slot: u32,
    name: &'static str,
    changes: u64,
    /// Recorded even with no changes counted (see [`Modify::uncounted`]).
    uncounted: bool,
    /// See [`Modify::reply_before_delete`].
    reply_before_delete: bool,
    created: bool,
    before: u64,
}

impl<'a> Modify<'a> {
    fn new(dbm: &'a mut DbMut<'_>, slot: u32, name: &'static str, created: bool) -> Self {
        Modify {
            db: &mut *dbm.db,
            log: &mut *dbm.log,
            id: dbm.id,
            slot,
            name,
            changes: 0,
            uncounted: false,
            reply_before_delete: false,
            created,
            before: allocated(),
        }
    }

    /// Records the change (its event, its deletion if emptied) without
    /// adding to the change counter: a command Redis counts once for
    /// several changes (LMOVE), or one it announces though nothing moved
    /// (LTRIM).
    pub fn uncounted(&mut self) {
        self.uncounted = true;
    }

    /// The command replies between this change and the deletion of the
    /// emptied value (SPOP): see [`Journal::after_reply`].
    pub fn reply_before_delete(&mut self) {
        self.reply_before_delete = true;
    }

    /// Records `n` changes (elements added, removed or set: what Redis adds
    /// to `server.dirty`). A guard dropped with none records nothing.
    pub fn changed(&mut self, n: u64) {
        self.changes += n;
    }

    /// Whether the key was created for this change.
    pub fn created(&self) -> bool {
        self.created
    }
}

impl Deref for Modify<'_> {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.db.slot(self.slot).value
    }
}

impl DerefMut for Modify<'_> {
    fn deref_mut(&mut self) -> &mut Value {
        &mut self.db.slot_mut(self.slot).value
    }
}

impl Drop for Modify<'_> {
    fn drop(&mut self) {
        let entry = self.db.slot(self.slot);
        let emptied = entry.value.is_empty_collection();
        let recorded = self.changes > 0 || self.uncounted;
        if recorded {
            let what = (KeyChange::Changed, self.name, self.changes, self.created);
            record(self.log, self.id, &entry.key, what, self.before);
        }
        // An emptied collection goes, as Redis deletes an emptied list,
        // set or hash; one created for nothing (no element added) goes
        // unrecorded.
        if emptied {
            if self.reply_before_delete {
                self.log.after_reply();
            }
            let before = allocated();
            if let Some(Entry { key, value, .. }) = self.db.remove_slot(self.slot) {
                drop(value);
                if recorded {
                    let what = (KeyChange::Deleted, "del", 0, false);
                    record(self.log, self.id, &key, what, before);
                }
            }
        }
    }
}

/// Records a change to `key` in database `db`: what happened, its name,
/// what it adds to the change counter and whether it created the key. The
/// event (with the allocator's change since `before`) is built only while
/// events are read; otherwise only the counter moves.
#[inline]
fn record(
    log: &mut Journal,
    db: usize,
    key: &[u8],
    (change, name, changes, created): (KeyChange, &'static str, u64, bool),
    before: u64,
) {
    log.note(changes, || {
        Event::Key(KeyEvent {
            db,
            key: key.into(),
            change,
            name,
            changes,
            created,
            bytes: allocated() as i64 - before as i64,
        })
    });
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
