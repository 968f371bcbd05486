//! CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO: the commands of
//! client-side caching. The tables and the invalidations are
//! [`crate::tracking`]'s.

use super::{int_arg, is, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::resp::Args;
use crate::tracking::{ClientTracking, Tracking};

/// CLIENT TRACKING (ON|OFF) [REDIRECT id] [BCAST] [PREFIX p …] [OPTIN]
/// [OPTOUT] [NOLOOP], checked in Redis's order.
pub fn client_tracking(ctx: &mut Ctx, args: Args) -> CmdResult {
    let mut options = ClientTracking::default();
    let mut prefixes: Vec<&[u8]> = Vec::new();
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        let a = args.get(i);
        if is(a, "redirect") && more {
            i += 1;
            if options.redirect != 0 {
                return Err(CmdError::TrackingOneRedirect);
            }
            let id = int_arg(args.get(i))?;
            // The target must exist now, though it may leave later.
            if u64::try_from(id)
                .ok()
                .and_then(|id| ctx.state.client_by_id(id))
                .is_none()
            {
                return Err(CmdError::TrackingNoRedirectTarget);
            }
            options.redirect = id as u64;
        } else if is(a, "bcast") {
            options.bcast = true;
        } else if is(a, "optin") {
            options.optin = true;
        } else if is(a, "optout") {
            options.optout = true;
        } else if is(a, "noloop") {
            options.noloop = true;
        } else if is(a, "prefix") && more {
            i += 1;
            prefixes.push(args.get(i));
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let me = ctx.client;
    if is(args.get(2), "off") {
        ctx.state.disable_tracking(me);
        ctx.out().ok();
        return Ok(());
    }
    if !is(args.get(2), "on") {
        return Err(CmdError::Syntax);
    }
    if !options.bcast && !prefixes.is_empty() {
        return Err(CmdError::TrackingPrefixNeedsBcast);
    }
    let current = ctx.state.clients[me].tracking.as_deref();
    if current.is_some_and(|t| t.bcast != options.bcast) {
        return Err(CmdError::TrackingBcastSwitch);
    }
    if options.bcast && (options.optin || options.optout) {
        return Err(CmdError::TrackingOptBcast);
    }
    if options.optin && options.optout {
        return Err(CmdError::TrackingOptinOptout);
    }
    if current.is_some_and(|t| (options.optin && t.optout) || (options.optout && t.optin)) {
        return Err(CmdError::TrackingOptSwitch);
    }
    if options.bcast {
        if let Some((p, other, existing)) = Tracking::collision(current, &prefixes) {
            return Err(CmdError::tracking_prefix_overlap(p, other, existing));
        }
    }
    ctx.state.enable_tracking(me, options, &prefixes);
    crate::effects::sync_recording(ctx.store, ctx.state);
    ctx.out().ok();
    Ok(())
}

/// CLIENT CACHING (YES|NO): the next command (or transaction) is cached,
/// or not, against the OPTIN / OPTOUT default.
pub fn client_caching(ctx: &mut Ctx, args: Args) -> CmdResult {
    let me = ctx.client;
    let Some(t) = ctx.state.clients[me].tracking.as_deref_mut() else {
        return Err(CmdError::CachingNotTracking);
    };
    let opt = args.get(2);
    if is(opt, "yes") {
        if !t.optin {
            return Err(CmdError::CachingYesNotOptin);
        }
    } else if is(opt, "no") {
        if !t.optout {
            return Err(CmdError::CachingNoNotOptout);
        }
    } else {
        return Err(CmdError::Syntax);
    }
    t.caching = true;
    ctx.out().ok();
    Ok(())
}

/// CLIENT GETREDIR: the redirection target's id, 0 for none, -1 when not
/// tracking.
pub fn client_getredir(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let redirect = ctx.me().tracking.as_ref().map_or(-1, |t| t.redirect as i64);
    ctx.out().int(redirect);
    Ok(())
}

/// CLIENT TRACKINGINFO: flags, redirect and prefixes.
pub fn client_trackinginfo(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let me = ctx.client;
    let t = ctx.state.clients[me].tracking.as_deref().cloned();
    let out = ctx.out();
    out.map(3);
    out.bulk(b"flags");
    let mut flags: Vec<&[u8]> = Vec::new();
    match &t {
        None => flags.push(b"off"),
        Some(t) => {
            flags.push(b"on");
            if t.bcast {
                flags.push(b"bcast");
            }
            if t.optin {
                flags.push(b"optin");
                if t.caching {
                    flags.push(b"caching-yes");
                }
            }
            if t.optout {
                flags.push(b"optout");
                if t.caching {
                    flags.push(b"caching-no");
                }
            }
            if t.noloop {
                flags.push(b"noloop");
            }
            if t.broken_redirect {
                flags.push(b"broken_redirect");
            }
        }
    }
    out.set(flags.len());
    for f in flags {
        out.bulk(f);
    }
    out.bulk(b"redirect");
    out.int(t.as_ref().map_or(-1, |t| t.redirect as i64));
    out.bulk(b"prefixes");
    let prefixes = t.map(|t| t.prefixes).unwrap_or_default();
    out.array(prefixes.len());
    for p in &prefixes {
        out.bulk(p);
    }
    Ok(())
}
