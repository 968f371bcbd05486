//! Client-side caching (Redis's `tracking.c`): CLIENT TRACKING and the
//! invalidation messages it asks for.
//!
//! A tracking client in the default mode is remembered for every key its
//! read-only commands read ([`remember_keys`], called by `call()`); the
//! first write of such a key sends it an invalidation and forgets the
//! key, so a key read once is invalidated once. In BCAST mode nothing is
//! remembered: every key written under one of the client's prefixes is
//! collected and sent to it once the batch ends ([`broadcast`]).
//!
//! Writes are found where every other consumer finds them: the write
//! path's key events ([`crate::effects`] calls [`invalidate`]), so
//! commands, expiries, evictions, scripts and transactions invalidate
//! without any handler knowing. As in Redis, the table holds key names
//! without their database, and an invalidation for the client whose own
//! command wrote the key is sent after that command's reply (after EXEC's
//! whole reply in a transaction).
//!
//! Messages go out as RESP3 pushes (`>2 invalidate [keys]`) or, for a
//! RESP2 client that redirects to a subscriber of `__redis__:invalidate`,
//! as messages on that channel. `tracking-table-max-keys` bounds the
//! table: past it, keys are invalidated early ([`limit_table`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::resp::{Proto, Reply};
use crate::server::State;
use crate::store::{Bytes, Event, KeyChange};

/// The channel a RESP2 redirection target listens on.
pub const CHANNEL: &[u8] = b"__redis__:invalidate";

/// A client as the tables remember it: its slab key, and its id so that a
/// slab key reused by a later connection is not mistaken for it.
type Who = (usize, u64);

/// One client's CLIENT TRACKING options (Redis's `CLIENT_TRACKING_*`
/// flags and `client_tracking_redirection`).
#[derive(Debug, Default, Clone)]
pub struct ClientTracking {
    /// The id of the client that receives this one's invalidations; 0 for
    /// itself.
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// CLIENT CACHING was given for the next command (or transaction).
    pub caching: bool,
    /// The redirection target has gone.
    pub broken_redirect: bool,
    /// BCAST prefixes, sorted as Redis lists them.
    pub prefixes: BTreeSet<Bytes>,
}

/// A BCAST prefix: who subscribed, and the keys written under it since the
/// last broadcast, each with the client whose command wrote it last (for
/// NOLOOP; `None` for an expiry or an eviction).
#[derive(Debug, Default)]
struct Prefix {
    clients: HashSet<Who>,
    keys: BTreeMap<Bytes, Option<usize>>,
}

/// The server's tracking tables.
#[derive(Debug, Default)]
pub struct Tracking {
    /// Key name → the clients that may cache it.
    table: HashMap<Bytes, HashSet<Who>>,
    /// Entries across the table (INFO `tracking_total_items`).
    items: u64,
    prefixes: BTreeMap<Bytes, Prefix>,
    /// Clients with tracking on (INFO `tracking_clients`).
    clients: usize,
    /// Invalidations for the running client's own writes, sent after its
    /// reply: a key, or `None` for a flush.
    pending: Vec<(Who, Option<Bytes>)>,
    /// Rounds of [`limit_table`] that ended still over the limit: each
    /// round tries harder.
    over_limit_rounds: usize,
    /// The running script ran a read-only command.
    script_read: bool,
}

impl Tracking {
    /// Whether any client tracks (the write path records events then).
    pub fn active(&self) -> bool {
        self.clients > 0
    }

    pub fn clients(&self) -> usize {
        self.clients
    }

    pub fn total_keys(&self) -> usize {
        self.table.len()
    }

    pub fn total_items(&self) -> u64 {
        self.items
    }

    pub fn total_prefixes(&self) -> usize {
        self.prefixes.len()
    }

    /// Whether any of `prefixes` overlaps another of them or one the
    /// client already has: the pair that does, for the error.
    pub fn collision<'a>(
        existing: Option<&'a ClientTracking>,
        prefixes: &'a [&'a [u8]],
    ) -> Option<(&'a [u8], &'a [u8], bool)> {
        let overlap = |a: &[u8], b: &[u8]| {
            let n = a.len().min(b.len());
            a[..n] == b[..n]
        };
        for (i, p) in prefixes.iter().enumerate() {
            if let Some(t) = existing {
                if let Some(old) = t.prefixes.iter().find(|old| overlap(old, p)) {
                    return Some((p, old, true));
                }
            }
            if let Some(other) = prefixes[i + 1..].iter().find(|q| overlap(p, q)) {
                return Some((p, other, false));
            }
        }
        None
    }
}

impl State {
    /// The slab key of the live client with `id`.
    pub fn client_by_id(&self, id: u64) -> Option<usize> {
        self.client_ids.get(&id).copied()
    }

    /// CLIENT TRACKING ON: (re)enables tracking for `client` with
    /// `options`, adding BCAST `prefixes` (the empty prefix if none).
    pub fn enable_tracking(&mut self, client: usize, options: ClientTracking, prefixes: &[&[u8]]) {
        let Some(c) = self.clients.get_mut(client) else {
            return;
        };
        let who = (client, c.id);
        let t = match &mut c.tracking {
            Some(t) => t,
            None => {
                self.tracking.clients += 1;
                c.tracking.insert(Box::default())
            }
        };
        let kept = std::mem::take(&mut t.prefixes);
        **t = ClientTracking {
            prefixes: kept,
            caching: false,
            ..options
        };
        if t.bcast {
            let wanted: Vec<&[u8]> = if prefixes.is_empty() {
                vec![b""]
            } else {
                prefixes.to_vec()
            };
            for p in wanted {
                let prefix = Bytes::from(p);
                self.tracking
                    .prefixes
                    .entry(prefix.clone())
                    .or_default()
                    .clients
                    .insert(who);
                t.prefixes.insert(prefix);
            }
        }
    }

    /// CLIENT TRACKING OFF, RESET, or the client leaving.
    pub fn disable_tracking(&mut self, client: usize) {
        let Some(c) = self.clients.get_mut(client) else {
            return;
        };
        let who = (client, c.id);
        let Some(t) = c.tracking.take() else {
            return;
        };
        self.tracking.clients -= 1;
        for p in &t.prefixes {
            if let Some(prefix) = self.tracking.prefixes.get_mut(p) {
                prefix.clients.remove(&who);
                if prefix.clients.is_empty() {
                    self.tracking.prefixes.remove(p);
                }
            }
        }
    }
}

/// After a command ran while some client tracks (Redis's call()): the
/// keys a read-only command read are remembered for its client. A script
/// is different, as in Redis: if anything it ran read, the keys it
/// declared are remembered for its caller once it ends.
pub fn after_call(
    state: &mut State,
    client: usize,
    cmd: &'static crate::commands::Command,
    args: &crate::resp::Args,
) {
    let readonly = cmd.flags & crate::commands::flags::READONLY != 0;
    if state
        .scripting
        .running
        .as_ref()
        .is_some_and(|r| r.client == client)
    {
        state.tracking.script_read |= readonly;
        return;
    }
    let script_read = std::mem::take(&mut state.tracking.script_read);
    let script_ro = matches!(cmd.name, "eval_ro" | "evalsha_ro" | "fcall_ro");
    if (readonly && !script_ro) || script_read {
        remember_keys(state, client, cmd, args);
    }
}

/// Remembers the keys of `args` for a tracking client (Redis's
/// `trackingRememberKeys`), unless OPTIN/OPTOUT says otherwise.
fn remember_keys(
    state: &mut State,
    client: usize,
    cmd: &'static crate::commands::Command,
    args: &crate::resp::Args,
) {
    let Some(c) = state.clients.get(client) else {
        return;
    };
    let Some(t) = c.tracking.as_deref() else {
        return;
    };
    if t.bcast || (t.optin && !t.caching) || (t.optout && t.caching) {
        return;
    }
    // Shard channels are keys to COMMAND, not to a cache.
    if cmd.flags & crate::commands::flags::PUBSUB != 0 {
        return;
    }
    let who = (client, c.id);
    let row = crate::commands::meta::resolve_row(cmd);
    for (i, _) in crate::commands::meta::acl_keys(&row, args) {
        let ids = state
            .tracking
            .table
            .entry(Bytes::from(args.get(i)))
            .or_default();
        if ids.insert(who) {
            state.tracking.items += 1;
        }
    }
}

/// Sends or schedules the invalidations that `events` call for (Redis's
/// `trackingInvalidateKey` and `trackingInvalidateKeysOnFlush`).
pub fn invalidate(state: &mut State, events: &[Event]) {
    let running = state.running.map(|r| r.client);
    for event in events {
        match event {
            Event::Key(k) if k.change != KeyChange::Missed => {
                // An expiry or an eviction is nobody's write, even while a
                // command runs (NOLOOP still hears of it).
                let by = match k.change {
                    KeyChange::Expired | KeyChange::Evicted => None,
                    _ => running,
                };
                invalidate_key(state, &k.key, Some(by), running);
            }
            Event::Flushed { .. } => invalidate_all(state, running),
            _ => {}
        }
    }
}

/// Invalidates `key` for the clients that may cache it. `bcast` carries
/// the writer (`None` inside for an expiry or an eviction) when the key
/// also goes to BCAST subscribers; `None` when the table alone is pruned.
fn invalidate_key(
    state: &mut State,
    key: &[u8],
    bcast: Option<Option<usize>>,
    running: Option<usize>,
) {
    let tracking = &mut state.tracking;
    if let Some(writer) = bcast {
        for (p, prefix) in tracking
            .prefixes
            .range_mut::<[u8], _>((std::ops::Bound::Unbounded, std::ops::Bound::Included(key)))
        {
            if key.starts_with(p) {
                prefix.keys.insert(Bytes::from(key), writer);
            }
        }
    }
    let Some(ids) = tracking.table.remove(key) else {
        return;
    };
    tracking.items -= ids.len() as u64;
    for who @ (client, _) in ids {
        let Some(t) = options_of(state, who) else {
            continue;
        };
        // Keys remembered before the client switched to BCAST are not its
        // concern any more; NOLOOP skips what happens while its own
        // command runs.
        if t.bcast || (t.noloop && running == Some(client)) {
            continue;
        }
        if running == Some(client) {
            state.tracking.pending.push((who, Some(Bytes::from(key))));
        } else {
            send(state, client, Message::Key(key));
        }
    }
}

/// The tracking options of the client a table remembers, if it is still
/// connected (not a later connection in its slab slot) and tracking.
fn options_of(state: &State, (client, id): Who) -> Option<&ClientTracking> {
    state
        .clients
        .get(client)
        .filter(|c| c.id == id)
        .and_then(|c| c.tracking.as_deref())
}

fn invalidate_all(state: &mut State, running: Option<usize>) {
    if state.tracking.clients > 0 {
        let tracking: Vec<Who> = state
            .clients
            .iter()
            .filter(|(_, c)| c.tracking.is_some())
            .map(|(k, c)| (k, c.id))
            .collect();
        for who @ (client, _) in tracking {
            if running == Some(client) {
                state.tracking.pending.push((who, None));
            } else {
                send(state, client, Message::Flush);
            }
        }
    }
    let tracking = &mut state.tracking;
    tracking.table = HashMap::new();
    tracking.items = 0;
}

/// What an invalidation carries.
enum Message<'a> {
    /// One key.
    Key(&'a [u8]),
    /// Everything (a flush): a null.
    Flush,
    /// BCAST: the keys, already encoded as an array.
    Encoded(&'a [u8]),
}

impl Message<'_> {
    fn write(&self, out: &mut Reply, null_proto: Proto) {
        match self {
            Message::Key(key) => {
                out.array(1);
                out.bulk(key);
            }
            Message::Flush => out.buf.extend_from_slice(match null_proto {
                Proto::Resp2 => b"$-1\r\n",
                Proto::Resp3 => b"_\r\n",
            }),
            Message::Encoded(bytes) => out.buf.extend_from_slice(bytes),
        }
    }
}

/// Sends one invalidation to `client` or to its redirection target
/// (Redis's `sendTrackingMessage`).
fn send(state: &mut State, client: usize, message: Message) {
    let Some(c) = state.clients.get_mut(client) else {
        return;
    };
    let Some(t) = c.tracking.as_deref_mut() else {
        return;
    };
    let proto = c.out.proto;
    let mut target = client;
    if t.redirect != 0 {
        let redirect = t.redirect;
        match state.client_ids.get(&redirect).copied() {
            Some(r) => target = r,
            None => {
                // Tell the client its invalidations have nowhere to go.
                t.broken_redirect = true;
                if proto == Proto::Resp3 {
                    state.deliver(client, |out| {
                        out.push(2);
                        out.bulk(b"tracking-redir-broken");
                        out.int(redirect as i64);
                    });
                }
                return;
            }
        }
    }
    let Some(to) = state.clients.get(target) else {
        return;
    };
    if to.out.proto == Proto::Resp3 {
        state.deliver(target, |out| {
            out.push(2);
            out.bulk(b"invalidate");
            message.write(out, proto);
        });
    } else if target != client && to.subs.total() > 0 {
        // RESP2 has no pushes: a redirection target in pub/sub mode gets a
        // message on the invalidation channel instead.
        state.deliver(target, |out| {
            out.push(3);
            out.bulk(b"message");
            out.bulk(CHANNEL);
            message.write(out, proto);
        });
    }
}

/// Sends the running client the invalidations its own writes caused, now
/// that its reply is written (Redis's
/// `trackingHandlePendingKeyInvalidations`).
pub fn flush_pending(state: &mut State) {
    if state.tracking.pending.is_empty() {
        return;
    }
    for ((client, id), key) in std::mem::take(&mut state.tracking.pending) {
        if state.clients.get(client).is_some_and(|c| c.id == id) {
            match &key {
                Some(key) => send(state, client, Message::Key(key)),
                None => send(state, client, Message::Flush),
            }
        }
    }
}

/// Sends each BCAST prefix's subscribers the keys written under it since
/// the last call, as one array (Redis's
/// `trackingBroadcastInvalidationMessages`, run when a batch ends).
pub fn broadcast(state: &mut State) {
    if state.tracking.prefixes.values().all(|p| p.keys.is_empty()) {
        return;
    }
    let prefixes: Vec<Bytes> = state
        .tracking
        .prefixes
        .iter()
        .filter(|(_, p)| !p.keys.is_empty())
        .map(|(name, _)| name.clone())
        .collect();
    for name in prefixes {
        let Some(prefix) = state.tracking.prefixes.get_mut(&name) else {
            continue;
        };
        let keys = std::mem::take(&mut prefix.keys);
        let clients: Vec<Who> = prefix.clients.iter().copied().collect();
        let all = encode_keys(&keys, None);
        for who @ (client, _) in clients {
            let Some(t) = options_of(state, who) else {
                continue;
            };
            if t.noloop {
                if let Some(own) = encode_keys(&keys, Some(client)) {
                    send(state, client, Message::Encoded(&own));
                }
            } else if let Some(all) = &all {
                send(state, client, Message::Encoded(all));
            }
        }
    }
}

/// The array of `keys`, less those `except` wrote last; `None` if that
/// leaves none.
fn encode_keys(keys: &BTreeMap<Bytes, Option<usize>>, except: Option<usize>) -> Option<Vec<u8>> {
    let kept: Vec<&Bytes> = keys
        .iter()
        .filter(|(_, by)| except.is_none() || **by != except)
        .map(|(k, _)| k)
        .collect();
    if kept.is_empty() && except.is_some() {
        return None;
    }
    let mut out = Reply::new(Proto::Resp2);
    out.array(kept.len());
    for k in kept {
        out.bulk(k);
    }
    Some(out.buf)
}

/// Keeps the table within `tracking-table-max-keys` by invalidating keys
/// early (Redis's `trackingLimitUsedSlots`): each call that ends still
/// over the limit makes the next one try harder. Redis picks the keys by
/// a random walk; here they are taken in the table's (hash) order.
pub fn limit_table(state: &mut State) {
    let max = state.config.tracking_table_max_keys;
    if max == 0 || state.tracking.table.len() <= max {
        state.tracking.over_limit_rounds = 0;
        return;
    }
    let effort = 100 * (state.tracking.over_limit_rounds + 1);
    let victims: Vec<Bytes> = state.tracking.table.keys().take(effort).cloned().collect();
    for key in victims {
        invalidate_key(state, &key, None, None);
        if state.tracking.table.len() <= max {
            state.tracking.over_limit_rounds = 0;
            return;
        }
    }
    state.tracking.over_limit_rounds += 1;
}
