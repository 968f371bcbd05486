//! Streams (Redis's `t_stream.c` data structure): entries in ID order,
//! consumer groups with their pending entries lists.
//!
//! Redis keeps a stream as a radix tree of listpacks. Here it is a
//! `BTreeMap` keyed by each node's master ID (the ID of the first entry
//! ever added to it), whose nodes are packed byte buffers with the same
//! shape: IDs delta-encoded against the master ID, and an entry whose
//! field names equal the master entry's (the first entry's) stores only
//! its values (Redis's "same fields" flag). Lengths and deltas are LEB128
//! varints, so `XADD s * f v` costs about six bytes.
//!
//! A node is closed as Redis closes a listpack: when it holds
//! `stream-node-max-entries` entries (deleted ones included) or its
//! listpack would reach `stream-node-max-bytes`. The listpack size is
//! computed as Redis would lay the entries out, so node boundaries, and
//! with them what `MAXLEN ~` and `MINID ~` trim, are Redis's. A deleted
//! entry stays in its node flagged as deleted until the node empties, as
//! in Redis.

use std::collections::{BTreeMap, BTreeSet};

use super::encoding::limits;
use super::value::Bytes;

/// A stream entry ID: milliseconds and sequence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The next ID, `None` past the last possible one.
    pub fn incr(self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                None
            } else {
                Some(StreamId::new(self.ms + 1, 0))
            }
        } else {
            Some(StreamId::new(self.ms, self.seq + 1))
        }
    }

    /// The previous ID, `None` before 0-0.
    pub fn decr(self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                None
            } else {
                Some(StreamId::new(self.ms - 1, u64::MAX))
            }
        } else {
            Some(StreamId::new(self.ms, self.seq - 1))
        }
    }

    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// `<ms>-<seq>`.
    pub fn to_bytes(self) -> Vec<u8> {
        format!("{}-{}", self.ms, self.seq).into_bytes()
    }

    /// The 16 big-endian bytes Redis keys its radix trees with (and the
    /// RDB stores).
    pub fn encode(self) -> [u8; 16] {
        let mut out = [0; 16];
        out[..8].copy_from_slice(&self.ms.to_be_bytes());
        out[8..].copy_from_slice(&self.seq.to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<StreamId> {
        let ms = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let seq = u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?);
        Some(StreamId::new(ms, seq))
    }
}

/// Redis's `SCG_INVALID_ENTRIES_READ`: a group's read counter unknown.
pub const ENTRIES_READ_INVALID: i64 = -1;

/// A pending entry: delivered to `consumer`, not yet acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nack {
    pub delivery_time: u64,
    pub delivery_count: u64,
    pub consumer: Bytes,
}

/// A consumer of a group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Consumer {
    /// Unix ms of its last interaction.
    pub seen_time: u64,
    /// The IDs pending for it (their details are in the group's PEL).
    pub pel: BTreeSet<StreamId>,
}

/// A consumer group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub last_id: StreamId,
    /// Entries read by the group (its logical read counter), or
    /// [`ENTRIES_READ_INVALID`].
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Bytes, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group {
            last_id,
            entries_read,
            pel: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// The consumer called `name`, created (seen now) if missing; whether
    /// it was created.
    pub fn consumer_or_create(&mut self, name: &[u8], now_ms: u64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers.insert(
            Bytes::from(name),
            Consumer {
                seen_time: now_ms,
                pel: BTreeSet::new(),
            },
        );
        true
    }

    /// Assigns the pending entry `id` to `consumer` (creating it in the
    /// PEL if new), with the given delivery time and count.
    pub fn assign(&mut self, id: StreamId, consumer: &[u8], time: u64, count: u64) {
        if let Some(old) = self.pel.get(&id) {
            if *old.consumer != *consumer {
                let owner = old.consumer.clone();
                if let Some(c) = self.consumers.get_mut(&owner) {
                    c.pel.remove(&id);
                }
            }
        }
        self.pel.insert(
            id,
            Nack {
                delivery_time: time,
                delivery_count: count,
                consumer: Bytes::from(consumer),
            },
        );
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    /// Acknowledges `id`; whether it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Some(nack) = self.pel.remove(&id) else {
            return false;
        };
        if let Some(c) = self.consumers.get_mut(&nack.consumer) {
            c.pel.remove(&id);
        }
        true
    }

    /// Deletes a consumer and its pending entries; how many it had.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let consumer = self.consumers.remove(name)?;
        for id in &consumer.pel {
            self.pel.remove(id);
        }
        Some(consumer.pel.len())
    }
}

/// Why an entry could not be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddError {
    /// The ID is not greater than the stream's last one.
    TooSmall,
    /// Its fields and values total more than a listpack can hold.
    TooLarge,
}

/// How to trim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

/// Redis's `STREAM_LISTPACK_MAX_SIZE`.
pub const LISTPACK_MAX_SIZE: u64 = 1 << 30;

const FLAG_DELETED: u8 = 1;
const FLAG_SAME_FIELDS: u8 = 2;

/// One node: the master entry's field names, then the entries.
#[derive(Clone, Debug)]
struct Node {
    buf: Vec<u8>,
    /// Where the entries start (after the master fields).
    entries_at: u32,
    master_fields: u32,
    live: u32,
    deleted: u32,
    /// The size Redis's listpack for this node would have, without its
    /// two counters (live and deleted), which change.
    lp_bytes: u64,
}

impl Node {
    fn new(fields: &[&[u8]]) -> Node {
        let mut buf = Vec::new();
        let mut lp_bytes = 6 + 1 + lp_int_size(fields.len() as i64) + lp_int_size(0);
        for f in fields {
            put_bytes(&mut buf, f);
            lp_bytes += lp_str_size(f);
        }
        Node {
            entries_at: buf.len() as u32,
            buf,
            master_fields: fields.len() as u32,
            live: 0,
            deleted: 0,
            lp_bytes,
        }
    }

    /// Redis's `lpBytes` for this node.
    fn listpack_bytes(&self) -> u64 {
        self.lp_bytes + lp_int_size(self.live as i64) + lp_int_size(self.deleted as i64)
    }

    fn same_fields(&self, fields: &[&[u8]]) -> bool {
        if fields.len() != self.master_fields as usize {
            return false;
        }
        let mut at = 0;
        for f in fields {
            let Some((m, next)) = get_bytes(&self.buf, at) else {
                return false;
            };
            if m != *f {
                return false;
            }
            at = next;
        }
        true
    }

    fn push(&mut self, master: StreamId, id: StreamId, pairs: &[&[u8]]) {
        let n = pairs.len() / 2;
        let fields: Vec<&[u8]> = pairs.iter().step_by(2).copied().collect();
        let same = self.same_fields(&fields);
        let flags = if same { FLAG_SAME_FIELDS } else { 0 };
        let ms_delta = id.ms.wrapping_sub(master.ms);
        let seq_delta = id.seq.wrapping_sub(master.seq) as i64;
        self.buf.push(flags);
        put_varint(&mut self.buf, ms_delta);
        put_varint(&mut self.buf, zigzag(seq_delta));
        let mut lp =
            lp_int_size(flags as i64) + lp_int_size(ms_delta as i64) + lp_int_size(seq_delta);
        if !same {
            put_varint(&mut self.buf, n as u64);
            lp += lp_int_size(n as i64);
        }
        for pair in pairs.chunks(2) {
            if !same {
                put_bytes(&mut self.buf, pair[0]);
                lp += lp_str_size(pair[0]);
            }
            put_bytes(&mut self.buf, pair[1]);
            lp += lp_str_size(pair[1]);
        }
        let lp_count = 3 + n + if same { 0 } else { n + 1 };
        lp += lp_int_size(lp_count as i64);
        self.lp_bytes += lp;
        self.live += 1;
    }

    /// Decodes the entry at `at`: (flags, id, body offset, next offset).
    fn entry(&self, master: StreamId, at: usize) -> Option<(u8, StreamId, usize, usize)> {
        let flags = *self.buf.get(at)?;
        let (ms_delta, p) = get_varint(&self.buf, at + 1)?;
        let (seq, p) = get_varint(&self.buf, p)?;
        let id = StreamId::new(
            master.ms.wrapping_add(ms_delta),
            master.seq.wrapping_add(unzigzag(seq) as u64),
        );
        let body = p;
        let mut p = p;
        let n = if flags & FLAG_SAME_FIELDS != 0 {
            self.master_fields as u64
        } else {
            let (n, q) = get_varint(&self.buf, p)?;
            p = q;
            n.checked_mul(2)?
        };
        for _ in 0..n {
            p = get_bytes(&self.buf, p)?.1;
        }
        Some((flags, id, body, p))
    }

    /// Every entry as (flags, id, body offset, entry offset), in order.
    fn entries(&self, master: StreamId) -> NodeEntries<'_> {
        NodeEntries {
            node: self,
            master,
            at: self.entries_at as usize,
        }
    }
}

struct NodeEntries<'a> {
    node: &'a Node,
    master: StreamId,
    at: usize,
}

impl Iterator for NodeEntries<'_> {
    /// (flags, id, body offset, entry offset)
    type Item = (u8, StreamId, usize, usize);
    fn next(&mut self) -> Option<Self::Item> {
        let (flags, id, body, next) = self.node.entry(self.master, self.at)?;
        let at = self.at;
        self.at = next;
        Some((flags, id, body, at))
    }
}

/// A stream.
#[derive(Clone, Debug)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Node>,
    pub len: u64,
    pub last_id: StreamId,
    /// The first live entry's ID (0-0 when empty).
    pub first_id: StreamId,
    pub max_deleted: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
    pub groups: BTreeMap<Bytes, Group>,
}

impl Default for Stream {
    fn default() -> Self {
        Stream::new()
    }
}

/// One entry, lent from its node.
#[derive(Clone, Copy)]
pub struct EntryRef<'a> {
    pub id: StreamId,
    node: &'a Node,
    flags: u8,
    body: usize,
}

impl<'a> EntryRef<'a> {
    pub fn num_fields(&self) -> usize {
        if self.flags & FLAG_SAME_FIELDS != 0 {
            self.node.master_fields as usize
        } else {
            get_varint(&self.node.buf, self.body).map_or(0, |(n, _)| n as usize)
        }
    }

    /// The entry's (field, value) pairs.
    pub fn fields(&self) -> Fields<'a> {
        let same = self.flags & FLAG_SAME_FIELDS != 0;
        let (left, at) = if same {
            (self.node.master_fields as u64, self.body)
        } else {
            get_varint(&self.node.buf, self.body).unwrap_or((0, self.node.buf.len()))
        };
        Fields {
            buf: &self.node.buf,
            at,
            master_at: if same { Some(0) } else { None },
            left,
        }
    }
}

/// See [`EntryRef::fields`].
pub struct Fields<'a> {
    buf: &'a [u8],
    at: usize,
    master_at: Option<usize>,
    left: u64,
}

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let field = match &mut self.master_at {
            Some(m) => {
                let (f, next) = get_bytes(self.buf, *m)?;
                *m = next;
                f
            }
            None => {
                let (f, next) = get_bytes(self.buf, self.at)?;
                self.at = next;
                f
            }
        };
        let (value, next) = get_bytes(self.buf, self.at)?;
        self.at = next;
        Some((field, value))
    }
}

impl Stream {
    pub fn new() -> Stream {
        Stream {
            nodes: BTreeMap::new(),
            len: 0,
            last_id: StreamId::MIN,
            first_id: StreamId::MIN,
            max_deleted: StreamId::MIN,
            entries_added: 0,
            groups: BTreeMap::new(),
        }
    }

    /// The nodes: how many (XINFO STREAM's radix-tree-keys, and the RDB).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Adds an entry with `pairs` (field, value, field, value, …) at `id`,
    /// which the caller has checked is greater than `last_id`.
    pub fn append(&mut self, id: StreamId, pairs: &[&[u8]]) -> Result<(), AddError> {
        if id <= self.last_id {
            return Err(AddError::TooSmall);
        }
        let total: u64 = pairs.iter().map(|p| p.len() as u64).sum();
        if total > LISTPACK_MAX_SIZE {
            return Err(AddError::TooLarge);
        }
        let limits = limits();
        let mut max_bytes = limits.stream_node_bytes;
        if max_bytes == 0 || max_bytes > LISTPACK_MAX_SIZE {
            max_bytes = LISTPACK_MAX_SIZE;
        }
        let tail = self.nodes.iter_mut().next_back();
        let open = match tail {
            Some((_, node)) => {
                let full = node.listpack_bytes() + total >= max_bytes
                    || (limits.stream_node_entries > 0
                        && (node.live + node.deleted) as u64 >= limits.stream_node_entries);
                if full {
                    node.buf.shrink_to_fit();
                }
                !full
            }
            None => false,
        };
        if !open {
            let fields: Vec<&[u8]> = pairs.iter().step_by(2).copied().collect();
            self.nodes.insert(id, Node::new(&fields));
        }
        if let Some((master, node)) = self.nodes.iter_mut().next_back() {
            node.push(*master, id, pairs);
        }
        self.len += 1;
        self.entries_added = self.entries_added.wrapping_add(1);
        self.last_id = id;
        if self.len == 1 {
            self.first_id = id;
        }
        Ok(())
    }

    /// Adds a node as a file stores it: its master ID and fields, then
    /// every entry (ID, deleted, field/value pairs). The IDs must rise
    /// past everything already loaded; a node with no live entry is
    /// dropped, as Redis never keeps one. The caller sets the metadata.
    pub fn load_node(
        &mut self,
        master: StreamId,
        fields: &[&[u8]],
        entries: &[(StreamId, bool, Vec<&[u8]>)],
    ) -> Result<(), &'static str> {
        if self.nodes.range(master..).next().is_some() {
            return Err("stream node out of order");
        }
        let last = self
            .nodes
            .iter()
            .next_back()
            .and_then(|(m, n)| n.entries(*m).last().map(|e| e.1));
        let mut node = Node::new(fields);
        let mut prev = last;
        let mut deleted_at = Vec::new();
        for (id, deleted, pairs) in entries {
            if *id < master || prev.is_some_and(|p| *id <= p) {
                return Err("stream entry IDs out of order");
            }
            prev = Some(*id);
            let at = node.buf.len();
            node.push(master, *id, pairs);
            if *deleted {
                deleted_at.push(at);
            }
        }
        for at in &deleted_at {
            node.buf[*at] |= FLAG_DELETED;
        }
        node.live -= deleted_at.len() as u32;
        node.deleted += deleted_at.len() as u32;
        if node.live > 0 {
            self.len += node.live as u64;
            node.buf.shrink_to_fit();
            self.nodes.insert(master, node);
        }
        Ok(())
    }

    /// The entry `id`, if live.
    pub fn get(&self, id: StreamId) -> Option<EntryRef<'_>> {
        self.range(id, id, false).next()
    }

    /// Live entries with IDs in `start..=end`, forward or (`rev`) backward.
    pub fn range(&self, start: StreamId, end: StreamId, rev: bool) -> Iter<'_> {
        let valid = start <= end;
        let from = self
            .nodes
            .range(..=start)
            .next_back()
            .map_or(start, |(k, _)| *k);
        let nodes = if !valid {
            self.nodes.range(StreamId::MAX..StreamId::MAX)
        } else if rev {
            self.nodes.range(..=end)
        } else {
            self.nodes.range(from..=end)
        };
        Iter {
            nodes,
            rev,
            start,
            end,
            cur: None,
            at: 0,
            stack: Vec::new(),
            done: !valid,
        }
    }

    /// The last live entry's ID.
    pub fn last_valid_id(&self) -> Option<StreamId> {
        self.range(StreamId::MIN, StreamId::MAX, true)
            .next()
            .map(|e| e.id)
    }

    /// The first entry's ID, live or (`tombstones`) not.
    pub fn first_entry_id(&self, tombstones: bool) -> Option<StreamId> {
        if !tombstones {
            return self
                .range(StreamId::MIN, StreamId::MAX, false)
                .next()
                .map(|e| e.id);
        }
        let (master, node) = self.nodes.iter().next()?;
        node.entries(*master).next().map(|(_, id, _, _)| id)
    }

    /// Marks `id` deleted; whether it was live. The caller updates
    /// `first_id` and `max_deleted` as XDEL does.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&master, node)) = self.nodes.range_mut(..=id).next_back() else {
            return false;
        };
        let found = node
            .entries(master)
            .find(|&(flags, eid, _, _)| eid == id && flags & FLAG_DELETED == 0);
        let Some((_, _, _, at)) = found else {
            return false;
        };
        node.buf[at] |= FLAG_DELETED;
        node.live -= 1;
        node.deleted += 1;
        if node.live == 0 {
            self.nodes.remove(&master);
        }
        self.len -= 1;
        true
    }

    /// Recomputes `first_id` after deletions (0-0 when empty).
    pub fn refresh_first_id(&mut self) {
        self.first_id = if self.len == 0 {
            StreamId::MIN
        } else {
            self.first_entry_id(false).unwrap_or(StreamId::MIN)
        };
    }

    /// Redis's `streamTrim`: removes entries from the head; how many.
    /// `approx` removes whole nodes only; `limit` (0 for none) bounds the
    /// entries removed.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        loop {
            if let Trim::MaxLen(max) = how {
                if self.len <= max {
                    break;
                }
            }
            let Some((&master, node)) = self.nodes.iter_mut().next() else {
                break;
            };
            let entries = node.live as u64;
            if limit > 0 && deleted + entries > limit {
                break;
            }
            let remove = match how {
                Trim::MaxLen(max) => self.len - entries >= max,
                Trim::MinId(min) => {
                    let last = node.entries(master).last().map_or(master, |e| e.1);
                    last < min
                }
            };
            if remove {
                self.nodes.remove(&master);
                self.len -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let mut marks = Vec::new();
            let mut len = self.len;
            for (flags, id, _, at) in node.entries(master) {
                let stop = match how {
                    Trim::MaxLen(max) => len <= max,
                    Trim::MinId(min) => id >= min,
                };
                if stop {
                    break;
                }
                if flags & FLAG_DELETED == 0 {
                    marks.push(at);
                    len -= 1;
                }
            }
            for at in &marks {
                node.buf[*at] |= FLAG_DELETED;
            }
            let n = marks.len() as u32;
            node.live -= n;
            node.deleted += n;
            self.len = len;
            deleted += n as u64;
            if node.live == 0 {
                self.nodes.remove(&master);
            }
            break;
        }
        if self.len == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.refresh_first_id();
        }
        deleted
    }

    /// Redis's `streamRangeHasTombstones`.
    pub fn range_has_tombstones(&self, start: StreamId, end: StreamId) -> bool {
        if self.len == 0 || self.max_deleted.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted {
            return false;
        }
        start <= self.max_deleted && self.max_deleted <= end
    }

    /// Redis's `streamEstimateDistanceFromFirstEverEntry`: the logical
    /// read counter of `id`, or [`ENTRIES_READ_INVALID`].
    pub fn estimate_distance(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        if self.len == 0 && id <= self.last_id {
            return self.entries_added as i64;
        }
        if id == self.last_id {
            return self.entries_added as i64;
        } else if id > self.last_id {
            return ENTRIES_READ_INVALID;
        }
        if self.max_deleted.is_zero() || self.max_deleted < self.first_id {
            // Unsigned as in Redis: a file may hold any counters.
            let before = self.entries_added.wrapping_sub(self.len);
            if id < self.first_id {
                return before as i64;
            } else if id == self.first_id {
                return before.wrapping_add(1) as i64;
            }
        }
        ENTRIES_READ_INVALID
    }

    /// A group's lag (Redis's `streamReplyWithCGLag`), `None` when unknown.
    pub fn lag(&self, group: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if group.entries_read != ENTRIES_READ_INVALID
            && !self.range_has_tombstones(group.last_id, StreamId::MAX)
        {
            return Some((self.entries_added as i64).wrapping_sub(group.entries_read));
        }
        let read = self.estimate_distance(group.last_id);
        (read != ENTRIES_READ_INVALID).then(|| (self.entries_added as i64).wrapping_sub(read))
    }

    /// Advances `group` past `id` as delivering it does (Redis's
    /// `streamReplyWithRange`): its read counter and last ID.
    pub fn advance_group(&self, group: &mut Group, id: StreamId) {
        if id <= group.last_id {
            return;
        }
        if group.entries_read != ENTRIES_READ_INVALID
            && !self.range_has_tombstones(id, StreamId::MAX)
        {
            group.entries_read = group.entries_read.wrapping_add(1);
        } else if self.entries_added > 0 {
            group.entries_read = self.estimate_distance(id);
        }
        group.last_id = id;
    }

    /// The nodes as (master ID, entries) for the RDB writer: every entry
    /// with its deletion flag, in order.
    pub fn for_each_node(&self, mut f: impl FnMut(StreamId, &[&[u8]], NodeView<'_>)) {
        for (master, node) in &self.nodes {
            let mut fields = Vec::with_capacity(node.master_fields as usize);
            let mut at = 0;
            for _ in 0..node.master_fields {
                if let Some((field, next)) = get_bytes(&node.buf, at) {
                    fields.push(field);
                    at = next;
                }
            }
            f(
                *master,
                &fields,
                NodeView {
                    node,
                    master: *master,
                },
            );
        }
    }

    /// How many nodes Redis's radix tree of these node keys would have
    /// (XINFO STREAM's `radix-tree-nodes`): the root, each key's leaf,
    /// and where neighbouring 16-byte keys part ways, the branching node
    /// and a node for each side.
    pub fn rax_nodes(&self) -> usize {
        let keys: Vec<[u8; 16]> = self.nodes.keys().map(|k| k.encode()).collect();
        let mut nodes: std::collections::HashSet<&[u8]> = std::collections::HashSet::new();
        nodes.insert(&[]);
        for k in &keys {
            nodes.insert(&k[..]);
        }
        for pair in keys.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
            if common < 16 {
                nodes.insert(&a[..common]);
                nodes.insert(&a[..common + 1]);
                nodes.insert(&b[..common + 1]);
            }
        }
        nodes.len()
    }

    /// The heap the stream holds, for MEMORY USAGE.
    pub fn heap_size(&self) -> usize {
        let nodes: usize = self
            .nodes
            .values()
            .map(|n| n.buf.capacity() + std::mem::size_of::<(StreamId, Node)>() + 8)
            .sum();
        let groups: usize = self
            .groups
            .iter()
            .map(|(name, g)| {
                name.heap_size()
                    + std::mem::size_of::<Group>()
                    + g.pel.len() * (std::mem::size_of::<(StreamId, Nack)>() + 8)
                    + g.consumers
                        .iter()
                        .map(|(n, c)| {
                            n.heap_size() + std::mem::size_of::<Consumer>() + c.pel.len() * 24
                        })
                        .sum::<usize>()
            })
            .sum();
        std::mem::size_of::<Stream>() + nodes + groups
    }
}

/// A node lent to the RDB writer.
pub struct NodeView<'a> {
    node: &'a Node,
    master: StreamId,
}

impl<'a> NodeView<'a> {
    pub fn live(&self) -> u32 {
        self.node.live
    }
    pub fn deleted(&self) -> u32 {
        self.node.deleted
    }
    /// Every entry: (id, deleted, same fields, pairs).
    pub fn entries(&self) -> impl Iterator<Item = (StreamId, bool, bool, EntryRef<'a>)> + 'a {
        let node = self.node;
        node.entries(self.master).map(move |(flags, id, body, _)| {
            (
                id,
                flags & FLAG_DELETED != 0,
                flags & FLAG_SAME_FIELDS != 0,
                EntryRef {
                    id,
                    node,
                    flags,
                    body,
                },
            )
        })
    }
}

/// See [`Stream::range`].
pub struct Iter<'a> {
    nodes: std::collections::btree_map::Range<'a, StreamId, Node>,
    rev: bool,
    start: StreamId,
    end: StreamId,
    /// The node being read forward, and its master ID.
    cur: Option<(StreamId, &'a Node)>,
    at: usize,
    /// Backward: the current node's entries, decoded, to pop.
    stack: Vec<EntryRef<'a>>,
    done: bool,
}

impl<'a> Iterator for Iter<'a> {
    type Item = EntryRef<'a>;
    fn next(&mut self) -> Option<EntryRef<'a>> {
        if self.done {
            return None;
        }
        if self.rev {
            loop {
                if let Some(e) = self.stack.pop() {
                    if e.id < self.start {
                        self.done = true;
                        return None;
                    }
                    return Some(e);
                }
                let (master, node) = self.nodes.next_back()?;
                let end = self.end;
                self.stack.extend(
                    node.entries(*master)
                        .filter(|(flags, id, _, _)| flags & FLAG_DELETED == 0 && *id <= end)
                        .map(|(flags, id, body, _)| EntryRef {
                            id,
                            node,
                            flags,
                            body,
                        }),
                );
            }
        }
        loop {
            let (master, node) = match self.cur {
                Some(c) => c,
                None => {
                    let (master, node) = self.nodes.next()?;
                    self.cur = Some((*master, node));
                    self.at = node.entries_at as usize;
                    (*master, node)
                }
            };
            let Some((flags, id, body, next)) = node.entry(master, self.at) else {
                self.cur = None;
                continue;
            };
            self.at = next;
            if flags & FLAG_DELETED != 0 || id < self.start {
                continue;
            }
            if id > self.end {
                self.done = true;
                return None;
            }
            return Some(EntryRef {
                id,
                node,
                flags,
                body,
            });
        }
    }
}

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push(v as u8 | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn get_varint(buf: &[u8], mut at: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = *buf.get(at)?;
        at += 1;
        v |= ((b & 0x7f) as u64).checked_shl(shift)?;
        if b < 0x80 {
            return Some((v, at));
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

fn put_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

fn get_bytes(buf: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let (len, at) = get_varint(buf, at)?;
    let end = at.checked_add(usize::try_from(len).ok()?)?;
    Some((buf.get(at..end)?, end))
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// The bytes a listpack spends on an integer element (its encoding and
/// its back-length).
fn lp_int_size(v: i64) -> u64 {
    let enc = if (0..=127).contains(&v) {
        1
    } else if (-4096..=4095).contains(&v) {
        2
    } else if i16::try_from(v).is_ok() {
        3
    } else if (-(1 << 23)..(1 << 23)).contains(&v) {
        4
    } else if i32::try_from(v).is_ok() {
        5
    } else {
        9
    };
    enc + lp_backlen_size(enc)
}

/// The bytes a listpack spends on a string element (stored as an integer
/// when it reads as one, as `lpAppend` does).
fn lp_str_size(s: &[u8]) -> u64 {
    if s.len() <= 20 {
        if let Some(v) = crate::resp::parse_i64(s) {
            return lp_int_size(v);
        }
    }
    let len = s.len() as u64;
    let enc = if len < 64 {
        1 + len
    } else if len < 4096 {
        2 + len
    } else {
        5 + len
    };
    enc + lp_backlen_size(enc)
}

fn lp_backlen_size(len: u64) -> u64 {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Add(u64, u8, u8),
        Del(u64),
        TrimLen(u64, bool),
        TrimId(u64, bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (1..4u64, 0..3u8, 0..40u8).prop_map(|(d, f, v)| Op::Add(d, f, v)),
            2 => (0..400u64).prop_map(Op::Del),
            1 => (0..300u64, any::<bool>()).prop_map(|(n, a)| Op::TrimLen(n, a)),
            1 => (0..400u64, any::<bool>()).prop_map(|(n, a)| Op::TrimId(n, a)),
        ]
    }

    proptest! {
        /// A stream behaves as an ordered map of IDs to pairs across adds,
        /// deletions and trims (exact trims exactly; approximate ones
        /// never remove more than asked, and only from the head).
        #[test]
        fn streams_match_a_model(ops in proptest::collection::vec(op(), 1..600)) {
            let mut s = Stream::new();
            let mut model: BTreeMap<StreamId, Vec<Vec<u8>>> = BTreeMap::new();
            let mut ms = 0u64;
            for op in ops {
                match op {
                    Op::Add(d, f, v) => {
                        ms += d;
                        let id = StreamId::new(ms / 3, ms % 3);
                        let field = if f == 0 { b"f".to_vec() } else { format!("g{f}").into_bytes() };
                        let value = "v".repeat(v as usize).into_bytes();
                        let pairs: Vec<&[u8]> = if f == 2 {
                            vec![&field, &value, b"x", b"12"]
                        } else {
                            vec![&field, &value]
                        };
                        s.append(id, &pairs).unwrap();
                        model.insert(id, pairs.iter().map(|p| p.to_vec()).collect());
                    }
                    Op::Del(n) => {
                        let id = StreamId::new(n / 3, n % 3);
                        prop_assert_eq!(s.delete(id), model.remove(&id).is_some());
                        s.refresh_first_id();
                    }
                    Op::TrimLen(n, approx) => {
                        let before = model.len() as u64;
                        let removed = s.trim(Trim::MaxLen(n), approx, 0);
                        let keep = if approx { before - removed } else { n.min(before) };
                        prop_assert!(keep >= n.min(before));
                        while model.len() as u64 > keep {
                            let first = *model.keys().next().unwrap();
                            model.remove(&first);
                        }
                    }
                    Op::TrimId(n, approx) => {
                        let min = StreamId::new(n / 3, n % 3);
                        let before = model.len() as u64;
                        let removed = s.trim(Trim::MinId(min), approx, 0);
                        let mut left = removed;
                        while left > 0 {
                            let first = *model.keys().next().unwrap();
                            prop_assert!(first < min);
                            model.remove(&first);
                            left -= 1;
                        }
                        if !approx {
                            prop_assert!(model.keys().all(|k| *k >= min));
                        }
                        prop_assert_eq!(before - removed, model.len() as u64);
                    }
                }
                prop_assert_eq!(s.len, model.len() as u64);
                prop_assert_eq!(s.first_id, model.keys().next().copied().unwrap_or(StreamId::MIN));
            }
            let got: Vec<(StreamId, Vec<Vec<u8>>)> = s
                .range(StreamId::MIN, StreamId::MAX, false)
                .map(|e| (e.id, e.fields().flat_map(|(f, v)| [f.to_vec(), v.to_vec()]).collect()))
                .collect();
            let want: Vec<_> = model.clone().into_iter().collect();
            prop_assert_eq!(&got, &want);
            let mut back: Vec<_> = s.range(StreamId::MIN, StreamId::MAX, true).map(|e| e.id).collect();
            back.reverse();
            prop_assert_eq!(back, model.keys().copied().collect::<Vec<_>>());
            // Sub-ranges, both ways.
            for (a, b) in [(5u64, 50u64), (0, 3), (100, 90), (30, 400)] {
                let (lo, hi) = (StreamId::new(a, 1), StreamId::new(b, 0));
                let fwd: Vec<_> = s.range(lo, hi, false).map(|e| e.id).collect();
                let want: Vec<_> = if lo <= hi { model.range(lo..=hi).map(|(k, _)| *k).collect() } else { vec![] };
                prop_assert_eq!(&fwd, &want);
                let mut rev: Vec<_> = s.range(lo, hi, true).map(|e| e.id).collect();
                rev.reverse();
                prop_assert_eq!(rev, want);
            }
        }
    }

    #[test]
    fn nodes_close_at_the_entry_limit() {
        let mut s = Stream::new();
        for i in 1..=250 {
            s.append(StreamId::new(i, 0), &[b"f", b"v"]).unwrap();
        }
        assert_eq!(s.node_count(), 3);
        // MAXLEN ~ 120 removes one whole node of 100.
        assert_eq!(s.trim(Trim::MaxLen(120), true, 0), 100);
        assert_eq!(s.len, 150);
        assert_eq!(s.first_id, StreamId::new(101, 0));
    }
}
