//! The subscriber table (Redis's `pubsub.c`): channels, patterns and shard
//! channels, who listens to each, and the fan-out of a message.
//!
//! The server side maps each channel (and each pattern) to the slab keys
//! of its subscribers; each client keeps what it is subscribed to in its
//! [`Subscriptions`], so a closing connection removes exactly its own
//! entries ([`PubSub::forget`]). A published message is encoded once per
//! protocol and every subscriber's output holds a reference to that one
//! buffer ([`crate::resp::Reply::shared`]); the backends flush each
//! connection once per loop iteration.

use std::rc::Rc;

use hashbrown::{HashMap, HashSet};

use crate::resp::{Proto, Reply};
use crate::server::State;
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
    /// The receivers of the message being published (kept for its
    /// allocation).
    targets: Vec<usize>,
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

/// Writes a subscription confirmation (`subscribe`, `unsubscribe`, …):
/// a push of the word, the channel (null for "nothing to unsubscribe
/// from") and the client's count.
pub fn confirm(out: &mut Reply, word: &[u8], name: Option<&[u8]>, count: usize) {
    out.push(3);
    out.bulk(word);
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.int(count as i64);
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

    /// Delivers `message` on `channel` to its subscribers and, for plain
    /// channels, to the clients whose patterns match; returns how many
    /// deliveries that was (PUBLISH's reply). Each message is encoded once
    /// per protocol and shared by every receiver's output; a receiver
    /// pushed over its output buffer limit is closed.
    pub fn publish(&mut self, kind: Kind, channel: &[u8], message: &[u8]) -> usize {
        let State {
            pubsub, clients, ..
        } = self;
        let mut targets = std::mem::take(&mut pubsub.targets);
        let mut encoded = Encoded::default();
        let subscribers = match kind {
            Kind::Channel => pubsub.channels.get(channel),
            Kind::Shard => pubsub.shard_channels.get(channel),
        };
        for &key in subscribers.into_iter().flatten() {
            let Some(c) = clients.get_mut(key) else {
                continue;
            };
            let m = encoded.get(c.out.proto, &[kind.message_word(), channel, message]);
            c.out.shared(m);
            targets.push(key);
        }
        if kind == Kind::Channel {
            for (pattern, subscribers) in &pubsub.patterns {
                if !glob_match(pattern, channel, false) {
                    continue;
                }
                let mut encoded = Encoded::default();
                for &key in subscribers {
                    let Some(c) = clients.get_mut(key) else {
                        continue;
                    };
                    let m = encoded.get(c.out.proto, &[b"pmessage", pattern, channel, message]);
                    c.out.shared(m);
                    targets.push(key);
                }
            }
        }
        let receivers = targets.len();
        for &key in &targets {
            self.output_added(key);
        }
        targets.clear();
        self.pubsub.targets = targets;
        receivers
    }
}

/// A message encoded at most once per protocol.
#[derive(Default)]
struct Encoded([Option<Rc<[u8]>>; 2]);

impl Encoded {
    fn get(&mut self, proto: Proto, parts: &[&[u8]]) -> &Rc<[u8]> {
        let slot = &mut self.0[proto as usize];
        slot.get_or_insert_with(|| {
            let mut r = Reply::new(proto);
            r.push(parts.len());
            for part in parts {
                r.bulk(part);
            }
            Rc::from(r.buf)
        })
    }
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
        // Nothing survives the subscribers.
        for k in [a, b, c] {
            state.remove_client(k);
        }
        assert!(state.pubsub.is_empty());
    }
}
