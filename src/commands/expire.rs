//! Expiry commands (Redis's `expire.c`): setting, reading and removing a
//! key's time to live.
//!
//! Expiry times are absolute Unix milliseconds. Setting one that is already
//! past deletes the key at once, as Redis does on a master. Keys whose time
//! has passed are removed lazily by every lookup and actively by
//! `Store::active_expire_cycle`.

use super::flags::*;
use super::{int_arg, is, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::resp::Args;

pub const COMMANDS: &[Command] = &[
    Command::new("expire", -3, WRITE | FAST, expire)
        .keys(1, 1, 1)
        .doc("generic", "1.0.0", "Set a key's time to live in seconds"),
    Command::new("pexpire", -3, WRITE | FAST, pexpire)
        .keys(1, 1, 1)
        .doc(
            "generic",
            "2.6.0",
            "Set a key's time to live in milliseconds",
        ),
    Command::new("expireat", -3, WRITE | FAST, expireat)
        .keys(1, 1, 1)
        .doc(
            "generic",
            "1.2.0",
            "Set the expiration for a key as a UNIX timestamp",
        ),
    Command::new("pexpireat", -3, WRITE | FAST, pexpireat)
        .keys(1, 1, 1)
        .doc(
            "generic",
            "2.6.0",
            "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
        ),
    Command::new("ttl", 2, READONLY | FAST, ttl)
        .keys(1, 1, 1)
        .doc(
            "generic",
            "1.0.0",
            "Get the time to live for a key in seconds",
        ),
    Command::new("pttl", 2, READONLY | FAST, pttl)
        .keys(1, 1, 1)
        .doc(
            "generic",
            "2.6.0",
            "Get the time to live for a key in milliseconds",
        ),
    Command::new("expiretime", 2, READONLY | FAST, expiretime)
        .keys(1, 1, 1)
        .doc(
            "generic",
            "7.0.0",
            "Get the expiration Unix timestamp for a key",
        ),
    Command::new("pexpiretime", 2, READONLY | FAST, pexpiretime)
        .keys(1, 1, 1)
        .doc(
            "generic",
            "7.0.0",
            "Get the expiration Unix timestamp for a key in milliseconds",
        ),
    Command::new("persist", 2, WRITE | FAST, persist)
        .keys(1, 1, 1)
        .doc("generic", "2.2.0", "Remove the expiration from a key"),
];

/// The unit of EXPIRE's time argument.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Seconds,
    Millis,
}

/// EXPIRE's NX / XX / GT / LT.
#[derive(Clone, Copy, Default)]
struct Condition {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl Condition {
    fn parse(args: &Args) -> Result<Condition, CmdError> {
        let mut c = Condition::default();
        for opt in args.iter().skip(3) {
            if is(opt, "nx") {
                c.nx = true;
            } else if is(opt, "xx") {
                c.xx = true;
            } else if is(opt, "gt") {
                c.gt = true;
            } else if is(opt, "lt") {
                c.lt = true;
            } else {
                return Err(CmdError::unsupported_option(opt));
            }
        }
        if c.nx && (c.xx || c.gt || c.lt) {
            return Err(CmdError::ExpireOptionsConflict);
        }
        if c.gt && c.lt {
            return Err(CmdError::ExpireGtLtConflict);
        }
        Ok(c)
    }

    /// Whether a key whose expiry is `current` may get `when`. No expiry
    /// counts as an infinite one: GT never beats it, LT always does.
    fn allows(self, current: Option<i64>, when: i64) -> bool {
        match current {
            None => !self.xx && !self.gt,
            Some(cur) => {
                let too_soon = self.gt && when <= cur;
                let too_late = self.lt && when >= cur;
                !self.nx && !too_soon && !too_late
            }
        }
    }
}

fn expire(ctx: &mut Ctx, args: Args) -> CmdResult {
    let now = ctx.now_ms as i64;
    expire_generic(ctx, args, now, Unit::Seconds, "expire")
}

fn pexpire(ctx: &mut Ctx, args: Args) -> CmdResult {
    let now = ctx.now_ms as i64;
    expire_generic(ctx, args, now, Unit::Millis, "pexpire")
}

fn expireat(ctx: &mut Ctx, args: Args) -> CmdResult {
    expire_generic(ctx, args, 0, Unit::Seconds, "expireat")
}

fn pexpireat(ctx: &mut Ctx, args: Args) -> CmdResult {
    expire_generic(ctx, args, 0, Unit::Millis, "pexpireat")
}

/// The absolute expiry, in milliseconds, that `arg` asks for, or Redis's
/// error when converting or adding `base` would overflow a signed 64-bit
/// millisecond time. Negative results are allowed: they delete the key.
fn deadline(arg: &[u8], base: i64, unit: Unit, cmd: &'static str) -> Result<i64, CmdError> {
    let mut when = int_arg(arg)?;
    if unit == Unit::Seconds {
        // Redis compares against LLONG_MIN / 1000 with C's truncating
        // division, which Rust's `/` matches.
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return Err(CmdError::InvalidExpire(cmd));
        }
        when *= 1000;
    }
    when.checked_add(base).ok_or(CmdError::InvalidExpire(cmd))
}

fn expire_generic(
    ctx: &mut Ctx,
    args: Args,
    base: i64,
    unit: Unit,
    cmd: &'static str,
) -> CmdResult {
    // Options are checked before the time, as Redis does.
    let cond = Condition::parse(&args)?;
    let when = deadline(args.get(2), base, unit, cmd)?;
    let key = args.get(1);
    let mut db = ctx.db();
    let Some(entry) = db.entry(key) else {
        ctx.out().int(0);
        return Ok(());
    };
    let current = entry
        .expire_at()
        .map(|at| i64::try_from(at).unwrap_or(i64::MAX));
    if !cond.allows(current, when) {
        ctx.out().int(0);
        return Ok(());
    }
    match u64::try_from(when) {
        Ok(at) if !db.already_expired(when) => {
            // Redis replies, then notifies `expire` (a deletion, below,
            // it announces first).
            db.journal().after_reply();
            db.set_expire(key, at);
            // Propagated as PEXPIREAT with the absolute time, options
            // kept (PEXPIREAT itself already is).
            if unit == Unit::Seconds || base != 0 {
                let mut digits = [0; 20];
                let at = crate::resp::format_int(&mut digits, when);
                let mut argv: Vec<&[u8]> = args.iter().collect();
                argv[0] = b"PEXPIREAT";
                argv[2] = at;
                ctx.journal().rewrite(argv);
            }
        }
        // A time already past deletes the key, propagated as a DEL.
        _ => {
            db.delete(key);
            ctx.journal().rewrite([&b"DEL"[..], key]);
        }
    }
    ctx.out().int(1);
    Ok(())
}

/// What TTL and friends report.
#[derive(Clone, Copy)]
enum TtlKind {
    /// Seconds left (TTL), rounded to the nearest second.
    Secs,
    /// Milliseconds left (PTTL).
    Millis,
    /// The absolute time in seconds (EXPIRETIME), rounded.
    AtSecs,
    /// The absolute time in milliseconds (PEXPIRETIME).
    AtMillis,
}

fn ttl(ctx: &mut Ctx, args: Args) -> CmdResult {
    ttl_generic(ctx, args, TtlKind::Secs)
}

fn pttl(ctx: &mut Ctx, args: Args) -> CmdResult {
    ttl_generic(ctx, args, TtlKind::Millis)
}

fn expiretime(ctx: &mut Ctx, args: Args) -> CmdResult {
    ttl_generic(ctx, args, TtlKind::AtSecs)
}

fn pexpiretime(ctx: &mut Ctx, args: Args) -> CmdResult {
    ttl_generic(ctx, args, TtlKind::AtMillis)
}

fn ttl_generic(ctx: &mut Ctx, args: Args, kind: TtlKind) -> CmdResult {
    let now = ctx.now_ms;
    // A read that does not refresh the access time, but is counted.
    let found = ctx.db().peek(args.get(1)).map(|e| e.expire_at());
    let reply = match found {
        None => -2,
        Some(None) => -1,
        Some(Some(at)) => {
            // i128: `at + 500` can pass i64::MAX for a PEXPIREAT near it,
            // and Redis then still answers the exact rounded value.
            let at = i128::from(at);
            let now = i128::from(now);
            let v = match kind {
                TtlKind::Secs => ((at - now).max(0) + 500) / 1000,
                TtlKind::Millis => (at - now).max(0),
                TtlKind::AtSecs => (at + 500) / 1000,
                TtlKind::AtMillis => at,
            };
            i64::try_from(v).unwrap_or(i64::MAX)
        }
    };
    ctx.out().int(reply);
    Ok(())
}

fn persist(ctx: &mut Ctx, args: Args) -> CmdResult {
    let had_ttl = ctx.db().persist(args.get(1));
    ctx.out().int(had_ttl as i64);
    Ok(())
}
