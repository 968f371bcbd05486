//! Keyspace notifications (Redis's `notify.c`): the write path's key
//! events, published on `__keyspace@<db>__:<key>` (the event as message)
//! and `__keyevent@<db>__:<event>` (the key as message) when
//! `notify-keyspace-events` asks for their class.

use crate::pubsub::Kind;
use crate::server::State;
use crate::store::{Event, KeyChange, KeyEvent};

pub const KEYSPACE: u32 = 1 << 0;
pub const KEYEVENT: u32 = 1 << 1;
pub const GENERIC: u32 = 1 << 2;
pub const STRING: u32 = 1 << 3;
pub const LIST: u32 = 1 << 4;
pub const SET: u32 = 1 << 5;
pub const HASH: u32 = 1 << 6;
pub const ZSET: u32 = 1 << 7;
pub const EXPIRED: u32 = 1 << 8;
pub const EVICTED: u32 = 1 << 9;
pub const STREAM: u32 = 1 << 10;
pub const KEY_MISS: u32 = 1 << 11;
pub const MODULE: u32 = 1 << 13;
pub const NEW: u32 = 1 << 14;
/// `A`: every class but key misses and new keys, as in Redis.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// The flag letters, in Redis's `keyspaceEventsStringToFlags`.
const LETTERS: &[(u8, u32)] = &[
    (b'A', ALL),
    (b'g', GENERIC),
    (b'$', STRING),
    (b'l', LIST),
    (b's', SET),
    (b'h', HASH),
    (b'z', ZSET),
    (b'x', EXPIRED),
    (b'e', EVICTED),
    (b'K', KEYSPACE),
    (b'E', KEYEVENT),
    (b't', STREAM),
    (b'm', KEY_MISS),
    (b'd', MODULE),
    (b'n', NEW),
];

/// Parses `notify-keyspace-events`; `None` for an unknown letter.
pub fn parse_flags(text: &str) -> Option<u32> {
    text.bytes().try_fold(0, |flags, c| {
        LETTERS
            .iter()
            .find(|(l, _)| *l == c)
            .map(|(_, f)| flags | f)
    })
}

/// The flags as CONFIG GET prints them (`keyspaceEventsFlagsToString`).
pub fn flags_to_string(flags: u32) -> String {
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        for (letter, flag) in [
            ('g', GENERIC),
            ('$', STRING),
            ('l', LIST),
            ('s', SET),
            ('h', HASH),
            ('z', ZSET),
            ('x', EXPIRED),
            ('e', EVICTED),
            ('t', STREAM),
            ('d', MODULE),
            ('n', NEW),
        ] {
            if flags & flag != 0 {
                s.push(letter);
            }
        }
    }
    for (letter, flag) in [('K', KEYSPACE), ('E', KEYEVENT), ('m', KEY_MISS)] {
        if flags & flag != 0 {
            s.push(letter);
        }
    }
    s
}

/// The class of an event name, as the Redis 7.0 command that emits it
/// passes to `notifyKeyspaceEvent`.
pub fn class_of(name: &str) -> u32 {
    match name {
        "set" | "setrange" | "incrby" | "incrbyfloat" | "append" | "setbit" | "pfadd" => STRING,
        // Changes Redis propagates without a notification: PFCOUNT's
        // cached cardinality, PFDEBUG's conversion to dense.
        "pfcount" | "pfdebug" => 0,
        "lpush" | "rpush" | "lpop" | "rpop" | "linsert" | "lset" | "lrem" | "ltrim"
        | "sortstore" => LIST,
        "georadiusstore" | "geosearchstore" => ZSET,
        "sadd" | "srem" | "spop" | "sinterstore" | "sunionstore" | "sdiffstore" => SET,
        "hset" | "hdel" | "hincrby" | "hincrbyfloat" => HASH,
        "expired" => EXPIRED,
        "evicted" => EVICTED,
        "new" => NEW,
        "keymiss" => KEY_MISS,
        n if n.starts_with('z') => ZSET,
        n if n.starts_with('x') => STREAM,
        // del, expire, persist, rename_*, move_*, copy_to, restore
        _ => GENERIC,
    }
}

/// Publishes the notifications of one command's events. Those from
/// `replied_at` on follow the command's reply for a client subscribed to
/// its own keys (see `Journal::after_reply`); the others precede it.
pub fn publish(state: &mut State, events: &[Event], replied_at: Option<usize>) {
    let flags = state.config.notify_keyspace_events;
    if flags & (KEYSPACE | KEYEVENT) == 0 || state.pubsub.is_empty() {
        return;
    }
    for (i, event) in events.iter().enumerate() {
        let Event::Key(k) = event else {
            continue;
        };
        // Where the running client gets it: keys found expired or missing
        // were looked up before anything was answered.
        let after = replied_at.is_some_and(|at| i >= at)
            && !matches!(k.change, KeyChange::Expired | KeyChange::Missed);
        set_after_reply(state, after);
        // `new` comes from Redis's dbAdd, when a key is added. RENAME,
        // MOVE and COPY always add their destination, replacing a key
        // that was there or not, and RENAME and MOVE add it before they
        // remove the source.
        match k.name {
            "rename_from" | "move_from" => {
                let to = events[i + 1..].iter().find_map(|e| match e {
                    Event::Key(t) if matches!(t.name, "rename_to" | "move_to") => Some(t),
                    _ => None,
                });
                if let Some(to) = to {
                    notify(state, flags, NEW, "new", to);
                }
            }
            "rename_to" | "move_to" => {}
            // RESTORE always adds its key (REPLACE deletes the old one
            // first, silently).
            "copy_to" | "restore" => notify(state, flags, NEW, "new", k),
            _ if k.created && k.change == KeyChange::Changed => {
                // A collection is created before its command replies
                // (LPUSH, HSET); a string set after replying with the old
                // value (GETSET) is created after.
                set_after_reply(state, after && class_of(k.name) == STRING);
                notify(state, flags, NEW, "new", k);
                set_after_reply(state, after);
            }
            _ => {}
        }
        // A change with no event name of its own announces at most that
        // the key is new (DEBUG POPULATE's); Redis announces nothing for
        // XACK, XREADGROUP or XCLAIM, which change an existing stream.
        if !k.name.is_empty() {
            notify(state, flags, class_of(k.name), k.name, k);
        }
    }
    set_after_reply(state, false);
}

/// Whether pushes for the running client go after its reply.
fn set_after_reply(state: &mut State, after: bool) {
    if let Some(running) = &mut state.running {
        running.after_reply = after;
    }
}

fn notify(state: &mut State, flags: u32, class: u32, event: &str, k: &KeyEvent) {
    if flags & class == 0 {
        return;
    }
    let (db, key) = (k.db, &k.key[..]);
    if flags & KEYSPACE != 0 {
        let mut channel = format!("__keyspace@{db}__:").into_bytes();
        channel.extend_from_slice(key);
        state.publish(Kind::Channel, &channel, event.as_bytes());
    }
    if flags & KEYEVENT != 0 {
        let channel = format!("__keyevent@{db}__:{event}");
        state.publish(Kind::Channel, channel.as_bytes(), key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_as_redis_prints_them() {
        for (given, shown) in [
            ("", ""),
            ("KEA", "AKE"),
            ("Ex", "xE"),
            ("gKlsm", "glsKm"),
            ("An", "A"),
            ("AnK", "AK"),
            ("nK", "nK"),
            ("g$lshzxetdK", "AK"),
        ] {
            let flags = parse_flags(given).expect(given);
            assert_eq!(flags_to_string(flags), shown, "{given}");
        }
        assert_eq!(parse_flags("Kq"), None);
    }
}
