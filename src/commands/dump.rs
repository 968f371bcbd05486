//! DUMP and RESTORE (Redis's `cluster.c`): a value serialized as Redis
//! 7.0 serializes it, so a payload moves between rizzler and redis-server
//! in both directions.
//!
//! The payload is the RDB encoding of the value (type byte and body, as
//! in an RDB file), then the RDB version (10) and a CRC-64 of everything
//! before it, both little-endian ([`crate::persist::rdb::dump_payload`]).
//! RESTORE checks the footer first (`DUMP payload version or checksum are
//! wrong`), then reads the value (`Bad data format`).

use super::flags::*;
use super::{int_arg, is, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::persist::rdb::{self, PayloadError};
use crate::resp::Args;
use crate::store::Clock;

pub const COMMANDS: &[Command] = &[
    Command::new("dump", 2, READONLY, dump)
        .keys(1, 1, 1)
        .doc("generic", "2.6.0", "Return a serialized version of the value stored at the specified key.")
        .complexity("O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1)."),
    Command::new("restore", -4, WRITE | DENYOOM, restore)
        .keys(1, 1, 1)
        .doc("generic", "2.6.0", "Create a key using the provided serialized value, previously obtained using DUMP.")
        .complexity("O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N))."),
];

fn dump(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (value, out) = ctx.read(args.get(1));
    match value {
        Some(value) => out.bulk(&rdb::dump_payload(value)),
        None => out.null(),
    }
    Ok(())
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f],
/// checked in Redis's order.
fn restore(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut j = 4;
    while j < args.len() {
        let opt = args.get(j);
        let more = j + 1 < args.len();
        if is(opt, "replace") {
            replace = true;
        } else if is(opt, "absttl") {
            absttl = true;
        } else if is(opt, "idletime") && more && freq.is_none() {
            let n = int_arg(args.get(j + 1))?;
            if n < 0 {
                return Err(CmdError::RestoreBadIdle);
            }
            idle = Some(n);
            j += 1;
        } else if is(opt, "freq") && more && idle.is_none() {
            let n = int_arg(args.get(j + 1))?;
            if !(0..=255).contains(&n) {
                return Err(CmdError::RestoreBadFreq);
            }
            freq = Some(n);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let key = args.get(1);
    if !replace && ctx.db().contains(key) {
        return Err(CmdError::BusyKey);
    }
    let mut ttl = int_arg(args.get(2))?;
    if ttl < 0 {
        return Err(CmdError::RestoreBadTtl);
    }
    let checksum = !ctx.state.skip_checksum_validation;
    let value = match rdb::restore_payload_checked(args.get(3), checksum) {
        Ok(value) => value,
        Err(PayloadError::Footer) => return Err(CmdError::RestorePayload),
        Err(PayloadError::Value(_)) => return Err(CmdError::RestoreBadData),
    };
    let now = ctx.now_ms;
    if ttl != 0 && !absttl {
        ttl = ttl.saturating_add(now as i64);
    }
    let mut db = ctx.db();
    if ttl != 0 && db.already_expired(ttl) {
        // Redis drops the value; a key REPLACE removed goes as a DEL.
        if replace && db.delete(key) {
            ctx.journal().rewrite([&b"DEL"[..], key]);
        }
        ctx.out().ok();
        return Ok(());
    }
    let expire_at = (ttl != 0).then_some(ttl as u64);
    db.set(key, value, expire_at, "restore");
    let clock = ctx.store.clock;
    let access = match (clock, idle, freq) {
        (Clock::Lru, Some(idle), _) => Some(clock.with(now, (idle as u64).saturating_mul(1000), 0)),
        (Clock::Lfu { .. }, _, Some(freq)) => Some(clock.with(now, 0, freq as u8)),
        _ => None,
    };
    if let Some(access) = access {
        ctx.db().set_access(key, access);
    }
    if expire_at.is_some() && !absttl && ctx.journal().propagating {
        // A relative TTL propagates as the absolute time it became.
        let at = ttl.to_string();
        let mut argv: Vec<&[u8]> = args.iter().collect();
        argv[2] = at.as_bytes();
        argv.push(b"ABSTTL");
        ctx.journal().rewrite(argv);
    }
    ctx.out().ok();
    Ok(())
}
