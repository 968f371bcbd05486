//! The subscriber table (Redis's `pubsub.c`): channels, patterns and shard
//! channels, who listens to each, and the fan-out of a message.
//!
//! The server side maps each channel (and each pattern) to the slab keys
//! of its subscribers; each client keeps what it is subscribed to in its
//! [`Subscriptions`], so a closing connection removes exactly its own
//! entries ([`PubSub::forget`]).
//!
//! Fan-out shares, and stays contiguous: the messages published while one
//! batch runs (one read's commands, one cron step) are encoded once per
//! protocol, appended to one buffer per protocol, and each receiver
//! collects ranges of it, merged when they touch. [`State::flush_broadcast`]
//! (called when the batch ends) freezes each buffer into an `Rc<[u8]>` and
//! hands every receiver its ranges ([`crate::resp::Reply::shared`]): a
//! subscriber that received a burst of 32 messages holds one reference and
//! the kernel copies one slice, where copying the messages into each
//! subscriber's buffer, as Redis does, costs a copy per subscriber and
//! keeping one buffer per message costs a slice per message (measured: the
//! latter made fan-out to 100 subscribers 25% dearer in server CPU). The
//! backends flush each connection once per loop iteration.

use std::ops::Range;
use std::rc::Rc;

use hashbrown::{HashMap, HashSet};

use crate::resp::{Proto, Reply};
use crate::server::{Client, Running, State};
use crate::store::glob_match;

/// Plain channels or shard channels (SSUBSCRIBE, SPUBLISH): separate
/// namespaces, the same rules; patterns match plain channels only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Shard,
}

impl Kind {
    /// The first element of a message push.
    fn message_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"message",
            Kind::Shard => b"smessage",
        }
    }
}

type Name = Box<[u8]>;
type Table = HashMap<Name, HashSet<usize>>;

/// Channel (or pattern) → the slab keys of its subscribers.
#[derive(Debug, Default)]
pub struct PubSub {
    channels: Table,
    shard_channels: Table,
    patterns: Table,
    /// What this batch has published, not yet handed to its receivers.
    batch: Batch,
}

/// Messages published in the current batch, one buffer per protocol, and
/// who receives which ranges of them.
#[derive(Debug, Default)]
struct Batch {
    bufs: [Vec<u8>; 2],
    /// Clients holding ranges, in the order they first received one.
    receivers: Vec<usize>,
}

impl Batch {
    /// Appends a message in `proto`; returns where it is.
    fn encode(&mut self, proto: Proto, parts: &[&[u8]]) -> Range<usize> {
        let mut r = Reply::new(proto);
        r.buf = std::mem::take(&mut self.bufs[proto as usize]);
        let start = r.buf.len();
        write_push(&mut r, parts);
        let range = start..r.buf.len();
        self.bufs[proto as usize] = r.buf;
        range
    }
}

/// What one client is subscribed to.
#[derive(Debug, Default)]
pub struct Subscriptions {
    pub channels: HashSet<Name>,
    /// In subscription order, as Redis keeps them (PUNSUBSCRIBE without
    /// arguments answers in this order).
    pub patterns: Vec<Name>,
    pub shard_channels: HashSet<Name>,
}

impl Subscriptions {
    /// Channels and patterns: the count SUBSCRIBE and friends reply with.
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Every subscription; the client is in subscribed mode while this is
    /// not zero.
    pub fn total(&self) -> usize {
        self.count() + self.shard_channels.len()
    }

    fn of(&mut self, kind: Kind) -> &mut HashSet<Name> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Shard => &mut self.shard_channels,
        }
    }
}

impl PubSub {
    fn table(&mut self, kind: Kind) -> &mut Table {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Shard => &mut self.shard_channels,
        }
    }

    /// Whether no one is subscribed to anything.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.patterns.is_empty() && self.shard_channels.is_empty()
    }

    /// Active channels (with at least one subscriber) of a kind.
    pub fn channels(&self, kind: Kind) -> impl Iterator<Item = &[u8]> {
        let table = match kind {
            Kind::Channel => &self.channels,
            Kind::Shard => &self.shard_channels,
        };
        table.keys().map(|k| &k[..])
    }

    /// Subscribers of one channel, patterns aside (PUBSUB NUMSUB).
    pub fn subscribers(&self, kind: Kind, channel: &[u8]) -> usize {
        let table = match kind {
            Kind::Channel => &self.channels,
            Kind::Shard => &self.shard_channels,
        };
        table.get(channel).map_or(0, |s| s.len())
    }

    /// Distinct patterns subscribed to (PUBSUB NUMPAT).
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Channels and patterns with subscribers (INFO's `pubsub_channels`,
    /// `pubsub_patterns`, `pubsubshard_channels`).
    pub fn sizes(&self) -> (usize, usize, usize) {
        (
            self.channels.len(),
            self.patterns.len(),
            self.shard_channels.len(),
        )
    }

    /// Removes every entry of a client that is going away.
    pub fn forget(&mut self, client: usize, subs: &Subscriptions) {
        for channel in &subs.channels {
            leave(&mut self.channels, channel, client);
        }
        for channel in &subs.shard_channels {
            leave(&mut self.shard_channels, channel, client);
        }
        for pattern in &subs.patterns {
            leave(&mut self.patterns, pattern, client);
        }
    }
}

fn join(table: &mut Table, name: &[u8], client: usize) {
    match table.get_mut(name) {
        Some(subs) => {
            subs.insert(client);
        }
        None => {
            table.insert(name.into(), HashSet::from_iter([client]));
        }
    }
}

/// Removes `client` from `name`'s subscribers, and the entry once empty
/// (so unsubscribed channels cost nothing).
fn leave(table: &mut Table, name: &[u8], client: usize) {
    if let Some(subs) = table.get_mut(name) {
        subs.remove(&client);
        if subs.is_empty() {
            table.remove(name);
        }
    }
}

/// A push of bulk strings: a message (`message`, channel, payload).
fn write_push(out: &mut Reply, parts: &[&[u8]]) {
    out.push(parts.len());
    for part in parts {
        out.bulk(part);
    }
}

/// Writes a subscription confirmation (`subscribe`, `unsubscribe`, …):
/// a push of the word, the channel (null for "nothing to unsubscribe
/// from") and the client's count. It is a push, not a reply, so CLIENT
/// REPLY OFF does not drop it (Redis's CLIENT_PUSHING): it goes out as a
/// chunk of its own then, which dropping replies leaves in place.
pub fn confirm(client: &mut Client, word: &[u8], name: Option<&[u8]>, count: usize) {
    let write = |out: &mut Reply| {
        out.push(3);
        out.bulk(word);
        match name {
            Some(n) => out.bulk(n),
            None => out.null(),
        }
        out.int(count as i64);
    };
    if client.reply.drops() {
        let mut push = Reply::new(client.out.proto);
        write(&mut push);
        let push: Rc<[u8]> = Rc::from(push.buf);
        client.out.shared(&push, 0..push.len());
    } else {
        write(&mut client.out);
    }
}

impl State {
    /// Subscribes `client` to a channel; false if it already was.
    pub fn subscribe(&mut self, client: usize, kind: Kind, channel: &[u8]) -> bool {
        let Some(c) = self.clients.get_mut(client) else {
            return false;
        };
        let set = c.subs.of(kind);
        if set.contains(channel) {
            return false;
        }
        set.insert(channel.into());
        join(self.pubsub.table(kind), channel, client);
        true
    }

    /// Unsubscribes `client` from a channel; false if it was not.
    pub fn unsubscribe(&mut self, client: usize, kind: Kind, channel: &[u8]) -> bool {
        let Some(c) = self.clients.get_mut(client) else {
            return false;
        };
        if !c.subs.of(kind).remove(channel) {
            return false;
        }
        leave(self.pubsub.table(kind), channel, client);
        true
    }

    /// Subscribes `client` to a pattern; false if it already was.
    pub fn psubscribe(&mut self, client: usize, pattern: &[u8]) -> bool {
        let Some(c) = self.clients.get_mut(client) else {
            return false;
        };
        if c.subs.patterns.iter().any(|p| &p[..] == pattern) {
            return false;
        }
        c.subs.patterns.push(pattern.into());
        join(&mut self.pubsub.patterns, pattern, client);
        true
    }

    /// Unsubscribes `client` from a pattern; false if it was not.
    pub fn punsubscribe(&mut self, client: usize, pattern: &[u8]) -> bool {
        let Some(c) = self.clients.get_mut(client) else {
            return false;
        };
        let Some(i) = c.subs.patterns.iter().position(|p| &p[..] == pattern) else {
            return false;
        };
        c.subs.patterns.remove(i);
        leave(&mut self.pubsub.patterns, pattern, client);
        true
    }

    /// Ends every subscription of `client` without confirmations (RESET).
    pub fn unsubscribe_everything(&mut self, client: usize) {
        if let Some(c) = self.clients.get_mut(client) {
            let subs = std::mem::take(&mut c.subs);
            self.pubsub.forget(client, &subs);
        }
    }

    /// Publishes `message` on `channel` to its subscribers and, for plain
    /// channels, to the clients whose patterns match; returns how many
    /// deliveries that was (PUBLISH's reply). Receivers get the message
    /// when the batch ends ([`State::flush_broadcast`]), except the client
    /// running the command (`State::running`): its message goes ahead of
    /// the command's reply at once, as Redis sends it (a RESP3 client
    /// subscribed to what it publishes, or to its own keys' events).
    pub fn publish(&mut self, kind: Kind, channel: &[u8], message: &[u8]) -> usize {
        let State {
            pubsub,
            clients,
            running,
            ..
        } = self;
        let PubSub {
            channels,
            shard_channels,
            patterns,
            batch,
        } = pubsub;
        let mut receivers = 0;
        let mut at: [Option<Range<usize>>; 2] = [None, None];
        let subscribers = match kind {
            Kind::Channel => channels.get(channel),
            Kind::Shard => shard_channels.get(channel),
        };
        for &key in subscribers.into_iter().flatten() {
            let parts: &[&[u8]] = &[kind.message_word(), channel, message];
            receivers += deliver(clients, batch, &mut at, key, running, parts);
        }
        if kind == Kind::Channel {
            for (pattern, subscribers) in patterns.iter() {
                if !glob_match(pattern, channel, false) {
                    continue;
                }
                let mut at = [None, None];
                for &key in subscribers {
                    let parts: &[&[u8]] = &[b"pmessage", pattern, channel, message];
                    receivers += deliver(clients, batch, &mut at, key, running, parts);
                }
            }
        }
        receivers
    }

    /// Hands every receiver of this batch its messages, and asks the
    /// backend to send them. Called when a batch of commands ends (the
    /// session, the cron) and before anything else writes to another
    /// client's output.
    pub fn flush_broadcast(&mut self) {
        if self.pubsub.batch.receivers.is_empty() {
            return;
        }
        let batch = &mut self.pubsub.batch;
        let frozen: [Rc<[u8]>; 2] = std::array::from_fn(|p| Rc::from(&batch.bufs[p][..]));
        for buf in &mut batch.bufs {
            buf.clear();
        }
        let receivers = std::mem::take(&mut batch.receivers);
        for &key in &receivers {
            let Some(c) = self.clients.get_mut(key) else {
                continue;
            };
            let ranges = std::mem::take(&mut c.broadcast);
            if c.closing {
                continue;
            }
            let buf = &frozen[c.out.proto as usize];
            // A receiver of a small part of the batch gets a copy: sharing
            // would keep the whole buffer alive while its output limit
            // counts only its part.
            let share = 2 * ranges.iter().map(|r| r.len()).sum::<usize>() >= buf.len();
            for range in ranges {
                if share {
                    c.out.shared(buf, range);
                } else {
                    c.out.buf.extend_from_slice(&buf[range]);
                }
            }
            self.output_added(key);
        }
        let mut receivers = receivers;
        receivers.clear();
        self.pubsub.batch.receivers = receivers;
    }
}

/// One delivery of a message (whose parts are `parts`) to client `key`:
/// a range of the batch's buffer, encoded there at most once per protocol
/// (`at`), or for the running client, straight into its output ahead of
/// its reply. Returns 1, or 0 when the client is gone.
fn deliver(
    clients: &mut slab::Slab<crate::server::Client>,
    batch: &mut Batch,
    at: &mut [Option<Range<usize>>; 2],
    key: usize,
    running: &mut Option<Running>,
    parts: &[&[u8]],
) -> usize {
    let Some(c) = clients.get_mut(key) else {
        return 0;
    };
    // Counted, as Redis counts it, but a client closing after its pending
    // replies (QUIT) takes nothing more.
    if c.closing {
        return 1;
    }
    let proto = c.out.proto;
    if let Some(running) = running.as_mut().filter(|r| r.client == key) {
        let mut r = Reply::new(proto);
        write_push(&mut r, parts);
        let buf: Rc<[u8]> = Rc::from(r.buf);
        if running.after_reply {
            c.out.shared(&buf, 0..buf.len());
        } else {
            c.out
                .shared_before(&mut running.reply_start, &buf, 0..buf.len());
        }
        return 1;
    }
    let range = at[proto as usize]
        .get_or_insert_with(|| batch.encode(proto, parts))
        .clone();
    match c.broadcast.last_mut() {
        Some(last) if last.end == range.start => last.end = range.end,
        Some(_) => c.broadcast.push(range),
        None => {
            c.broadcast.push(range);
            batch.receivers.push(key);
        }
    }
    1
}

#[cfg(test)]
mod tests {
    use crate::testing::Harness;

    /// A message reaches channel and pattern subscribers once each, in
    /// their protocols, from one shared buffer per protocol.
    #[test]
    fn one_encoding_per_protocol() {
        let mut h = Harness::new();
        let state = &mut h.server.state;
        let a = state.add_client("a".into(), "l".into(), -1);
        let b = state.add_client("b".into(), "l".into(), -1);
        let c = state.add_client("c".into(), "l".into(), -1);
        state.clients[c].out.proto = crate::resp::Proto::Resp3;
        for k in [a, b, c] {
            assert!(state.subscribe(k, super::Kind::Channel, b"news"));
        }
        assert!(!state.subscribe(a, super::Kind::Channel, b"news"));
        assert!(state.psubscribe(b, b"n*"));
        assert_eq!(state.publish(super::Kind::Channel, b"news", b"hi"), 4);
        assert_eq!(state.publish(super::Kind::Shard, b"news", b"hi"), 0);
        assert!(state.clients[a].out.take_bytes().is_empty());
        state.flush_broadcast();
        let bytes = |state: &mut crate::server::State, k: usize| state.clients[k].out.take_bytes();
        assert_eq!(
            bytes(state, a),
            b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
        );
        assert_eq!(
            bytes(state, b),
            b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n\
              *4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
        );
        assert_eq!(
            bytes(state, c),
            b">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
        );
        // A burst is one range per receiver when nothing else was encoded
        // between its messages (b gets message and pmessage, adjacent).
        // a's messages have b's pmessages between them, less than half the
        // buffer: a gets a copy, so it does not keep b's part alive. The
        // publisher itself (RESP3 here) gets its message at once, before
        // its reply.
        state.running = Some(crate::server::Running {
            client: c,
            reply_start: state.clients[c].out.mark(),
            after_reply: false,
        });
        for i in 0..3 {
            state.publish(super::Kind::Channel, b"news", format!("m{i}").as_bytes());
        }
        state.running = None;
        assert_eq!(state.clients[c].out.pending(), 3 * 35);
        state.flush_broadcast();
        for k in [a, b] {
            let mut outbox = crate::resp::Outbox::default();
            outbox.append(&mut state.clients[k].out);
            assert_eq!(outbox.chunk_count(), 1);
            assert_eq!(outbox.len(), if k == a { 3 * 35 } else { 3 * (35 + 44) });
        }
        // Nothing survives the subscribers.
        for k in [a, b, c] {
            state.remove_client(k);
        }
        assert!(state.pubsub.is_empty());
    }
}
