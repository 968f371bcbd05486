//! Pub/Sub commands (Redis's `pubsub.c`): (P|S)SUBSCRIBE,
//! (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH and PUBSUB's introspection.
//!
//! The table itself is [`crate::pubsub`]. A subscribed client in RESP2 may
//! only run the commands `admit` lets through (see [`super::admit`]); in
//! RESP3 its confirmations and messages are push frames among ordinary
//! replies.

use super::flags::*;
use super::server::help_reply;
use super::{Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::pubsub::{confirm, Kind};
use crate::resp::Args;
use crate::store::glob_match;

const SUB: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;

pub const COMMANDS: &[Command] = &[
    Command::new("subscribe", -2, SUB, subscribe)
        .doc("pubsub", "2.0.0", "Listen for messages published to the given channels")
        .complexity("O(N) where N is the number of channels to subscribe to."),
    Command::new("unsubscribe", -1, SUB, unsubscribe)
        .doc("pubsub", "2.0.0", "Stop listening for messages posted to the given channels")
        .complexity("O(N) where N is the number of clients already subscribed to a channel."),
    Command::new("psubscribe", -2, SUB, psubscribe)
        .doc("pubsub", "2.0.0", "Listen for messages published to channels matching the given patterns")
        .complexity("O(N) where N is the number of patterns the client is already subscribed to."),
    Command::new("punsubscribe", -1, SUB, punsubscribe)
        .doc("pubsub", "2.0.0", "Stop listening for messages posted to channels matching the given patterns")
        .complexity("O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client)."),
    Command::new("ssubscribe", -2, SUB, ssubscribe)
        .keys(1, -1, 1)
        .doc("pubsub", "7.0.0", "Listen for messages published to the given shard channels")
        .complexity("O(N) where N is the number of shard channels to subscribe to."),
    Command::new("sunsubscribe", -1, SUB, sunsubscribe)
        .keys(1, -1, 1)
        .doc("pubsub", "7.0.0", "Stop listening for messages posted to the given shard channels")
        .complexity("O(N) where N is the number of clients already subscribed to a shard channel."),
    Command::new("publish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, publish)
        .doc("pubsub", "2.0.0", "Post a message to a channel")
        .complexity("O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client)."),
    Command::new("spublish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, spublish)
        .keys(1, 1, 1)
        .doc("pubsub", "7.0.0", "Post a message to a shard channel")
        .complexity("O(N) where N is the number of clients subscribed to the receiving shard channel."),
    Command::new("pubsub", -2, 0, super::container)
        .doc("pubsub", "2.8.0", "A container for Pub/Sub commands")
        .complexity("Depends on subcommand.")
        .subcommands(&[
            Command::new("channels", -2, PUBSUB | LOADING | STALE, channels)
                .doc("pubsub", "2.8.0", "List active channels")
                .complexity("O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)"),
            Command::new("numsub", -2, PUBSUB | LOADING | STALE, numsub)
                .doc("pubsub", "2.8.0", "Get the count of subscribers for channels")
                .complexity("O(N) for the NUMSUB subcommand, where N is the number of requested channels"),
            Command::new("numpat", 2, PUBSUB | LOADING | STALE, numpat)
                .doc("pubsub", "2.8.0", "Get the count of unique patterns pattern subscriptions"),
            Command::new("shardchannels", -2, PUBSUB | LOADING | STALE, shardchannels)
                .doc("pubsub", "7.0.0", "List active shard channels")
                .complexity("O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels)."),
            Command::new("shardnumsub", -2, PUBSUB | LOADING | STALE, shardnumsub)
                .doc("pubsub", "7.0.0", "Get the count of subscribers for shard channels")
                .complexity("O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels"),
            Command::new("help", 2, LOADING | STALE, help)
                .doc("pubsub", "6.2.0", "Show helpful text about the different subcommands"),
        ]),
];

fn subscribe(ctx: &mut Ctx, args: Args) -> CmdResult {
    subscribe_to(ctx, args, Kind::Channel);
    Ok(())
}

fn ssubscribe(ctx: &mut Ctx, args: Args) -> CmdResult {
    subscribe_to(ctx, args, Kind::Shard);
    Ok(())
}

/// Each channel is confirmed with the client's count after it: plain
/// channels count channels and patterns, shard channels count themselves.
fn subscribe_to(ctx: &mut Ctx, args: Args, kind: Kind) {
    let (word, me) = (subscribe_word(kind), ctx.client);
    for channel in args.tail(1).iter() {
        ctx.state.subscribe(me, kind, channel);
        let count = count(ctx, kind);
        confirm(ctx.me(), word, Some(channel), count);
    }
}

fn unsubscribe(ctx: &mut Ctx, args: Args) -> CmdResult {
    unsubscribe_from(ctx, args, Kind::Channel);
    Ok(())
}

fn sunsubscribe(ctx: &mut Ctx, args: Args) -> CmdResult {
    unsubscribe_from(ctx, args, Kind::Shard);
    Ok(())
}

fn unsubscribe_from(ctx: &mut Ctx, args: Args, kind: Kind) {
    if args.len() > 1 {
        let me = ctx.client;
        for channel in args.tail(1).iter() {
            ctx.state.unsubscribe(me, kind, channel);
            let count = count(ctx, kind);
            confirm(ctx.me(), unsubscribe_word(kind), Some(channel), count);
        }
    } else {
        unsubscribe_all(ctx, kind);
    }
}

/// UNSUBSCRIBE (or SUNSUBSCRIBE) without arguments: every channel, each
/// confirmed, or one confirmation with a null channel when there were
/// none (RESET calls this too).
pub fn unsubscribe_all(ctx: &mut Ctx, kind: Kind) {
    let me = ctx.client;
    let subs = &ctx.me().subs;
    let channels: Vec<Box<[u8]>> = match kind {
        Kind::Channel => subs.channels.iter().cloned().collect(),
        Kind::Shard => subs.shard_channels.iter().cloned().collect(),
    };
    for channel in &channels {
        ctx.state.unsubscribe(me, kind, channel);
        let count = count(ctx, kind);
        confirm(ctx.me(), unsubscribe_word(kind), Some(channel), count);
    }
    if channels.is_empty() {
        let count = count(ctx, kind);
        confirm(ctx.me(), unsubscribe_word(kind), None, count);
    }
}

fn psubscribe(ctx: &mut Ctx, args: Args) -> CmdResult {
    let me = ctx.client;
    for pattern in args.tail(1).iter() {
        ctx.state.psubscribe(me, pattern);
        let count = count(ctx, Kind::Channel);
        confirm(ctx.me(), b"psubscribe", Some(pattern), count);
    }
    Ok(())
}

fn punsubscribe(ctx: &mut Ctx, args: Args) -> CmdResult {
    if args.len() > 1 {
        let me = ctx.client;
        for pattern in args.tail(1).iter() {
            ctx.state.punsubscribe(me, pattern);
            let count = count(ctx, Kind::Channel);
            confirm(ctx.me(), b"punsubscribe", Some(pattern), count);
        }
    } else {
        punsubscribe_all(ctx);
    }
    Ok(())
}

/// PUNSUBSCRIBE without arguments: every pattern, in subscription order.
pub fn punsubscribe_all(ctx: &mut Ctx) {
    let me = ctx.client;
    let patterns = ctx.me().subs.patterns.clone();
    for pattern in &patterns {
        ctx.state.punsubscribe(me, pattern);
        let count = count(ctx, Kind::Channel);
        confirm(ctx.me(), b"punsubscribe", Some(pattern), count);
    }
    if patterns.is_empty() {
        let count = count(ctx, Kind::Channel);
        confirm(ctx.me(), b"punsubscribe", None, count);
    }
}

/// The count a confirmation carries.
fn count(ctx: &mut Ctx, kind: Kind) -> usize {
    let subs = &ctx.me().subs;
    match kind {
        Kind::Channel => subs.count(),
        Kind::Shard => subs.shard_channels.len(),
    }
}

fn subscribe_word(kind: Kind) -> &'static [u8] {
    match kind {
        Kind::Channel => b"subscribe",
        Kind::Shard => b"ssubscribe",
    }
}

fn unsubscribe_word(kind: Kind) -> &'static [u8] {
    match kind {
        Kind::Channel => b"unsubscribe",
        Kind::Shard => b"sunsubscribe",
    }
}

/// PUBLISH: a publisher subscribed to its own channel (RESP3) gets the
/// message before the count, as in Redis. (Redis also sends PUBLISH to
/// replicas, not to the AOF; the propagation stream has no replica-only
/// operations yet, so it carries nothing until replication needs it.)
fn publish(ctx: &mut Ctx, args: Args) -> CmdResult {
    publish_to(ctx, args, Kind::Channel)
}

fn spublish(ctx: &mut Ctx, args: Args) -> CmdResult {
    publish_to(ctx, args, Kind::Shard)
}

fn publish_to(ctx: &mut Ctx, args: Args, kind: Kind) -> CmdResult {
    let receivers = ctx.state.publish(kind, args.get(1), args.get(2));
    ctx.out().int(receivers as i64);
    Ok(())
}

fn channels(ctx: &mut Ctx, args: Args) -> CmdResult {
    list_channels(ctx, args, Kind::Channel)
}

fn shardchannels(ctx: &mut Ctx, args: Args) -> CmdResult {
    list_channels(ctx, args, Kind::Shard)
}

/// PUBSUB CHANNELS / SHARDCHANNELS [pattern]: active channels matching.
/// (Redis checks the argument count here, not by arity.)
fn list_channels(ctx: &mut Ctx, args: Args, kind: Kind) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::subcommand_syntax(args.get(1), "pubsub"));
    }
    let pattern = (args.len() == 3).then(|| args.get(2));
    let matching: Vec<Box<[u8]>> = ctx
        .state
        .pubsub
        .channels(kind)
        .filter(|c| pattern.is_none_or(|p| glob_match(p, c, false)))
        .map(Box::from)
        .collect();
    ctx.out().bulks(matching.iter().map(|c| &c[..]));
    Ok(())
}

fn numsub(ctx: &mut Ctx, args: Args) -> CmdResult {
    count_subscribers(ctx, args, Kind::Channel)
}

fn shardnumsub(ctx: &mut Ctx, args: Args) -> CmdResult {
    count_subscribers(ctx, args, Kind::Shard)
}

/// PUBSUB NUMSUB / SHARDNUMSUB: a flat array of channel, count pairs.
fn count_subscribers(ctx: &mut Ctx, args: Args, kind: Kind) -> CmdResult {
    let Ctx { state, client, .. } = ctx;
    let out = &mut state.clients[*client].out;
    out.array(2 * (args.len() - 2));
    for channel in args.tail(2).iter() {
        out.bulk(channel);
        out.int(state.pubsub.subscribers(kind, channel) as i64);
    }
    Ok(())
}

fn numpat(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let n = ctx.state.pubsub.pattern_count();
    ctx.out().int(n as i64);
    Ok(())
}

fn help(ctx: &mut Ctx, _args: Args) -> CmdResult {
    help_reply(
        ctx.out(),
        "pubsub",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
    Ok(())
}
