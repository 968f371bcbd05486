//! Connection commands (Redis's `networking.c` client parts, `acl.c`'s AUTH,
//! `server.c`'s PING/ECHO): the handshake (HELLO, AUTH), the connection's
//! own state (SELECT, RESET, CLIENT SETNAME …) and CLIENT's view of every
//! connection (LIST, INFO, KILL).
//!
//! AUTH and HELLO AUTH log in as a user of [`crate::acl`]; `default`'s
//! password is `requirepass` unless ACL rules say otherwise.
//! CLIENT SETINFO and the `lib-name=`/`lib-ver=` fields are Redis 7.2's;
//! they are here because current client libraries send SETINFO on connect.

use std::fmt::Write;

use super::flags::*;
use super::info::REDIS_VERSION;
use super::meta;
use super::server::help_reply;
use super::{int_arg, is, Command, Ctx};
use crate::acl::LogReason;
use crate::error::{CmdError, CmdResult};
use crate::resp::{parse_i64, Args, Proto};
use crate::server::{Client, ReplyMode, Request};

/// Flags of the handshake commands, which must work before AUTH.
const HANDSHAKE: u32 = NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY;
const CLIENT_SUB: u32 = NOSCRIPT | LOADING | STALE;
const CLIENT_ADMIN: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

pub const COMMANDS: &[Command] = &[
    Command::new("ping", -1, FAST, ping).doc("connection", "1.0.0", "Ping the server"),
    Command::new("echo", 2, LOADING | STALE | FAST, echo).doc(
        "connection",
        "1.0.0",
        "Echo the given string",
    ),
    Command::new("quit", -1, HANDSHAKE, quit).doc("connection", "1.0.0", "Close the connection"),
    Command::new("hello", -1, HANDSHAKE, hello).doc("connection", "6.0.0", "Handshake with Redis"),
    Command::new("auth", -2, HANDSHAKE, auth)
        .doc("connection", "1.0.0", "Authenticate to the server")
        .complexity("O(N) where N is the number of passwords defined for the user"),
    Command::new("reset", 1, HANDSHAKE, reset).doc("connection", "6.2.0", "Reset the connection"),
    Command::new("select", 2, LOADING | STALE | FAST, select).doc(
        "connection",
        "1.0.0",
        "Change the selected database for the current connection",
    ),
    Command::new("client", -2, 0, super::container)
        .doc(
            "connection",
            "2.4.0",
            "A container for client connection commands",
        )
        .complexity("Depends on subcommand.")
        .subcommands(&[
            Command::new("caching", 3, CLIENT_SUB, super::tracking::client_caching)
                .doc(
                    "connection",
                    "6.0.0",
                    "Instruct the server about tracking or not keys in the next request",
                ),
            Command::new("getname", 2, CLIENT_SUB, client_getname).doc(
                "connection",
                "2.6.9",
                "Get the current connection name",
            ),
            Command::new("getredir", 2, CLIENT_SUB, super::tracking::client_getredir).doc(
                "connection",
                "6.0.0",
                "Get tracking notifications redirection client ID if any",
            ),
            Command::new("help", 2, LOADING | STALE, client_help).doc(
                "connection",
                "5.0.0",
                "Show helpful text about the different subcommands",
            ),
            Command::new("id", 2, CLIENT_SUB, client_id).doc(
                "connection",
                "5.0.0",
                "Returns the client ID for the current connection",
            ),
            Command::new("info", 2, CLIENT_SUB, client_info).doc(
                "connection",
                "6.2.0",
                "Returns information about the current client connection.",
            ),
            Command::new("kill", -3, CLIENT_ADMIN, client_kill)
                .doc("connection", "2.4.0", "Kill the connection of a client")
                .complexity("O(N) where N is the number of client connections"),
            Command::new("list", -2, CLIENT_ADMIN, client_list)
                .doc("connection", "2.4.0", "Get the list of client connections")
                .complexity("O(N) where N is the number of client connections"),
            Command::new("no-evict", 3, CLIENT_ADMIN, client_no_evict).doc(
                "connection",
                "7.0.0",
                "Set client eviction mode for the current connection",
            ),
            Command::new("pause", -3, CLIENT_ADMIN, client_pause)
                .doc("connection", "2.9.50", "Stop processing commands from clients for some time"),
            Command::new("reply", 3, CLIENT_SUB, client_reply).doc(
                "connection",
                "3.2.0",
                "Instruct the server whether to reply to commands",
            ),
            Command::new("setinfo", 4, CLIENT_SUB, client_setinfo).doc(
                "connection",
                "7.2.0",
                "Sets information specific to the client or connection.",
            ),
            Command::new("setname", 3, CLIENT_SUB, client_setname).doc(
                "connection",
                "2.6.9",
                "Set the current connection name",
            ),
            Command::new("tracking", -3, CLIENT_SUB, super::tracking::client_tracking)
                .doc(
                    "connection",
                    "6.0.0",
                    "Enable or disable server assisted client side caching support",
                )
                .complexity("O(1). Some options may introduce additional complexity."),
            Command::new("trackinginfo", 2, CLIENT_SUB, super::tracking::client_trackinginfo)
                .doc(
                    "connection",
                    "6.2.0",
                    "Return information about server assisted client side caching for the current connection",
                ),
            Command::new("unblock", -3, CLIENT_ADMIN, client_unblock)
                .doc(
                    "connection",
                    "5.0.0",
                    "Unblock a client blocked in a blocking command from a different connection",
                )
                .complexity("O(log N) where N is the number of client connections"),
            Command::new("unpause", 2, CLIENT_ADMIN, client_unpause)
                .doc("connection", "6.2.0", "Resume processing of clients that were paused")
                .complexity("O(N) Where N is the number of paused clients"),
        ]),
];

fn ping(ctx: &mut Ctx, args: Args) -> CmdResult {
    if args.len() > 2 {
        return Err(CmdError::arity("ping"));
    }
    let client = ctx.me();
    let out = &mut client.out;
    // A subscribed RESP2 client reads pushes, so PING answers in their
    // shape: ["pong", message or ""].
    if out.proto == Proto::Resp2 && client.subs.total() > 0 {
        out.array(2);
        out.bulk(b"pong");
        out.bulk(if args.len() == 2 { args.get(1) } else { b"" });
    } else if args.len() == 2 {
        out.bulk(args.get(1));
    } else {
        out.simple(b"PONG");
    }
    Ok(())
}

fn echo(ctx: &mut Ctx, args: Args) -> CmdResult {
    ctx.out().bulk(args.get(1));
    Ok(())
}

fn quit(ctx: &mut Ctx, _args: Args) -> CmdResult {
    ctx.out().ok();
    ctx.state.clients[ctx.client].closing = true;
    Ok(())
}

/// Logs the client in as `user` if `pass` is one of its passwords (Redis's
/// `ACLAuthenticateUser`); a failure is an ACL LOG entry whose object is
/// the command's name as typed.
fn authenticate(ctx: &mut Ctx, command: &[u8], user: &[u8], pass: &[u8]) -> CmdResult {
    match ctx
        .state
        .acl
        .get(user)
        .filter(|u| u.password_ok(pass))
        .cloned()
    {
        Some(u) => {
            let client = ctx.me();
            client.authenticated = true;
            client.user = u;
            Ok(())
        }
        None => {
            let in_multi = ctx.me().multi.is_some();
            let context = crate::acl::LogContext::of_client(in_multi);
            super::acl::log_denial(ctx, LogReason::Auth, context, command, Some(user));
            Err(CmdError::WrongPass)
        }
    }
}

fn auth(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (user, pass) = match args.len() {
        2 => {
            if ctx.state.acl.default_user().nopass() {
                return Err(CmdError::AuthNoPassword);
            }
            (&b"default"[..], args.get(1))
        }
        3 => (args.get(1), args.get(2)),
        _ => return Err(CmdError::Syntax),
    };
    authenticate(ctx, args.get(0), user, pass)?;
    ctx.out().ok();
    Ok(())
}

/// Redis's client-name rule: printable ASCII without spaces, or empty
/// (which removes the name).
fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

fn hello(ctx: &mut Ctx, args: Args) -> CmdResult {
    let mut proto = None;
    let mut i = 1;
    if args.len() >= 2 {
        let ver = parse_i64(args.get(1)).ok_or(CmdError::HelloProtoNotInt)?;
        proto = match ver {
            2 => Some(Proto::Resp2),
            3 => Some(Proto::Resp3),
            _ => return Err(CmdError::HelloProto),
        };
        i = 2;
    }
    // Options take effect as they are read, as in Redis: a SETNAME before a
    // bad option sticks.
    while i < args.len() {
        let opt = args.get(i);
        let more = args.len() - 1 - i;
        if is(opt, "auth") && more >= 2 {
            authenticate(ctx, args.get(0), args.get(i + 1), args.get(i + 2))?;
            i += 3;
        } else if is(opt, "setname") && more >= 1 {
            let name = args.get(i + 1);
            if !valid_name(name) {
                return Err(CmdError::ClientNameSpaces);
            }
            ctx.state.clients[ctx.client].name = name.to_vec();
            i += 2;
        } else {
            return Err(CmdError::hello_option(opt));
        }
    }
    if !ctx.state.clients[ctx.client].authenticated {
        return Err(CmdError::HelloNoAuth);
    }
    if let Some(p) = proto {
        ctx.out().proto = p;
    }
    let id = ctx.me().id;
    let out = ctx.out();
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(if out.is_resp3() { 3 } else { 2 });
    out.bulk(b"id");
    out.int(id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

fn reset(ctx: &mut Ctx, _args: Args) -> CmdResult {
    // Redis's clearClientConnectionState: a transaction is discarded,
    // watches and subscriptions end silently.
    let me = ctx.client;
    super::multi::end_transaction(ctx);
    ctx.state.unsubscribe_everything(me);
    ctx.state.disable_tracking(me);
    let open = ctx.state.acl.open();
    let default = ctx.state.acl.default_user().clone();
    let client = ctx.me();
    client.user = default;
    client.db = 0;
    client.out.proto = Proto::Resp2;
    client.name.clear();
    client.authenticated = open;
    // Redis clears OFF and a pending SKIP, but a SKIP in force still
    // drops RESET's own reply.
    if client.reply != ReplyMode::Skip {
        client.reply = ReplyMode::On;
    }
    ctx.out().simple(b"RESET");
    Ok(())
}

fn select(ctx: &mut Ctx, args: Args) -> CmdResult {
    let id = super::int32_arg(args.get(1))?;
    if id < 0 || id as usize >= ctx.store.dbs.len() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    ctx.me().db = id as usize;
    ctx.out().ok();
    Ok(())
}

fn client_id(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let id = ctx.state.clients[ctx.client].id;
    ctx.out().int(id as i64);
    Ok(())
}

fn client_getname(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let client = ctx.me();
    if client.name.is_empty() {
        client.out.null();
    } else {
        client.out.bulk(&client.name);
    }
    Ok(())
}

fn client_setname(ctx: &mut Ctx, args: Args) -> CmdResult {
    let name = args.get(2);
    if !valid_name(name) {
        return Err(CmdError::ClientNameSpaces);
    }
    ctx.state.clients[ctx.client].name = name.to_vec();
    ctx.out().ok();
    Ok(())
}

fn client_setinfo(ctx: &mut Ctx, args: Args) -> CmdResult {
    let (attr, value) = (args.get(2), args.get(3));
    let lib_name = if is(attr, "lib-name") {
        true
    } else if is(attr, "lib-ver") {
        false
    } else {
        return Err(CmdError::setinfo_option(attr));
    };
    if !valid_name(value) {
        return Err(CmdError::setinfo_value(attr));
    }
    let client = &mut ctx.state.clients[ctx.client];
    if lib_name {
        client.lib_name = value.to_vec();
    } else {
        client.lib_ver = value.to_vec();
    }
    ctx.out().ok();
    Ok(())
}

fn client_no_evict(ctx: &mut Ctx, args: Args) -> CmdResult {
    let on = if is(args.get(2), "on") {
        true
    } else if is(args.get(2), "off") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    ctx.state.clients[ctx.client].no_evict = on;
    ctx.out().ok();
    Ok(())
}

/// CLIENT REPLY ON answers OK; OFF and SKIP answer nothing, and SKIP does
/// nothing while replies are off.
fn client_reply(ctx: &mut Ctx, args: Args) -> CmdResult {
    let client = &mut ctx.state.clients[ctx.client];
    let mode = args.get(2);
    if is(mode, "on") {
        client.reply = ReplyMode::On;
        ctx.out().ok();
    } else if is(mode, "off") {
        client.reply = ReplyMode::Off;
    } else if is(mode, "skip") {
        if client.reply != ReplyMode::Off {
            client.reply = ReplyMode::SkipNext;
        }
    } else {
        return Err(CmdError::Syntax);
    }
    Ok(())
}

/// CLIENT LIST / KILL's `TYPE` (Redis's `getClientTypeByName`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    Pubsub,
    Master,
}

fn client_type(name: &[u8]) -> Result<ClientType, CmdError> {
    if is(name, "normal") {
        Ok(ClientType::Normal)
    } else if is(name, "slave") || is(name, "replica") {
        Ok(ClientType::Replica)
    } else if is(name, "pubsub") {
        Ok(ClientType::Pubsub)
    } else if is(name, "master") {
        Ok(ClientType::Master)
    } else {
        Err(CmdError::client_type(name))
    }
}

/// Every connection is a normal one until pub/sub and replication exist.
fn type_of(_client: &Client) -> ClientType {
    ClientType::Normal
}

/// One CLIENT LIST line, in Redis 7.0's field order with 7.2's `lib-name`
/// and `lib-ver` at the end. `me` is whether `c` is the caller, whose
/// reply so far is not output memory yet.
pub(super) fn client_line(out: &mut String, c: &Client, me: bool, now_ms: u64) {
    let (db, proto) = (c.db, c.out.proto);
    let mut flags = String::new();
    if c.subs.total() > 0 {
        flags.push('P');
    }
    if c.multi.is_some() {
        flags.push('x');
    }
    if c.waiting() {
        flags.push('b');
    }
    if let Some(t) = c.tracking.as_deref() {
        flags.push('t');
        if t.broken_redirect {
            flags.push('R');
        }
        if t.bcast {
            flags.push('B');
        }
    }
    if c.watch_touched {
        flags.push('d');
    }
    if c.closing {
        flags.push('c');
    }
    if c.no_evict {
        flags.push('e');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let omem = if me { 0 } else { c.output_memory() };
    let cmd = c.last_cmd.map_or_else(
        || "NULL".to_string(),
        |cmd| meta::resolve_row(cmd).full_name(),
    );
    let _ = writeln!(
        out,
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={flags} db={db} \
         sub={} psub={} ssub={} multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 \
         rbs=0 rbp=0 obl=0 oll=0 omem={omem} tot-mem={omem} events={} cmd={cmd} \
         user={} redir={} resp={} lib-name={} lib-ver={}",
        c.id,
        c.addr,
        c.laddr,
        c.fd,
        String::from_utf8_lossy(&c.name),
        now_ms.saturating_sub(c.created_ms) / 1000,
        now_ms.saturating_sub(c.last_ms) / 1000,
        c.subs.channels.len(),
        c.subs.patterns.len(),
        c.subs.shard_channels.len(),
        c.multi.as_ref().map_or(-1, |m| m.queued.len() as i64),
        if omem > 0 { "rw" } else { "r" },
        String::from_utf8_lossy(&c.user.name),
        c.tracking.as_ref().map_or(-1, |t| t.redirect as i64),
        if proto == Proto::Resp3 { 3 } else { 2 },
        String::from_utf8_lossy(&c.lib_name),
        String::from_utf8_lossy(&c.lib_ver),
    );
}

/// Clients still open, in connection order (slab order is reuse order).
fn live_clients<'a>(ctx: &'a Ctx) -> Vec<(usize, &'a Client)> {
    let mut v: Vec<(usize, &Client)> = ctx
        .state
        .clients
        .iter()
        .filter(|(_, c)| !c.closing)
        .collect();
    v.sort_by_key(|(_, c)| c.id);
    v
}

fn client_info(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let mut text = String::new();
    client_line(&mut text, &ctx.state.clients[ctx.client], true, ctx.now_ms);
    ctx.out().verbatim(text.as_bytes());
    Ok(())
}

fn client_list(ctx: &mut Ctx, args: Args) -> CmdResult {
    let mut text = String::new();
    if args.len() == 4 && is(args.get(2), "type") {
        let wanted = client_type(args.get(3))?;
        for (key, c) in live_clients(ctx) {
            if type_of(c) == wanted {
                client_line(&mut text, c, key == ctx.client, ctx.now_ms);
            }
        }
    } else if args.len() > 3 && is(args.get(2), "id") {
        let mut ids = Vec::new();
        for arg in args.tail(3).iter() {
            ids.push(parse_i64(arg).ok_or(CmdError::InvalidClientId)?);
        }
        let clients = live_clients(ctx);
        for id in ids {
            if let Some((key, c)) = clients.iter().find(|(_, c)| c.id as i64 == id) {
                client_line(&mut text, c, *key == ctx.client, ctx.now_ms);
            }
        }
    } else if args.len() == 2 {
        for (key, c) in live_clients(ctx) {
            client_line(&mut text, c, key == ctx.client, ctx.now_ms);
        }
    } else {
        return Err(CmdError::Syntax);
    }
    ctx.out().verbatim(text.as_bytes());
    Ok(())
}

/// CLIENT KILL's filters; all given ones must match.
#[derive(Default)]
struct KillFilter<'a> {
    addr: Option<&'a [u8]>,
    laddr: Option<&'a [u8]>,
    kind: Option<ClientType>,
    id: Option<u64>,
    user: Option<std::rc::Rc<crate::acl::User>>,
    skipme: bool,
}

fn parse_kill<'a>(ctx: &Ctx, args: &Args<'a>) -> Result<KillFilter<'a>, CmdError> {
    if args.len() == 3 {
        // The old form, CLIENT KILL addr, may kill the caller itself.
        return Ok(KillFilter {
            addr: Some(args.get(2)),
            ..KillFilter::default()
        });
    }
    let mut f = KillFilter {
        skipme: true,
        ..KillFilter::default()
    };
    let mut i = 2;
    while i < args.len() {
        let (opt, more) = (args.get(i), i + 1 < args.len());
        if !more {
            return Err(CmdError::Syntax);
        }
        let value = args.get(i + 1);
        if is(opt, "id") {
            match parse_i64(value) {
                Some(n) if n >= 1 => f.id = Some(n as u64),
                _ => return Err(CmdError::ClientIdNotPositive),
            }
        } else if is(opt, "type") {
            f.kind = Some(client_type(value)?);
        } else if is(opt, "addr") {
            f.addr = Some(value);
        } else if is(opt, "laddr") {
            f.laddr = Some(value);
        } else if is(opt, "user") {
            let user = ctx.state.acl.get(value);
            f.user = Some(user.ok_or_else(|| CmdError::no_such_user(value))?.clone());
        } else if is(opt, "skipme") {
            f.skipme = if is(value, "yes") {
                true
            } else if is(value, "no") {
                false
            } else {
                return Err(CmdError::Syntax);
            };
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(f)
}

fn client_kill(ctx: &mut Ctx, args: Args) -> CmdResult {
    let f = parse_kill(ctx, &args)?;
    let victims: Vec<usize> = live_clients(ctx)
        .into_iter()
        .filter(|(key, c)| {
            f.addr.is_none_or(|a| a == c.addr.as_bytes())
                && f.laddr.is_none_or(|a| a == c.laddr.as_bytes())
                && f.kind.is_none_or(|k| k == type_of(c))
                && f.id.is_none_or(|id| id == c.id)
                && f.user
                    .as_ref()
                    .is_none_or(|u| std::rc::Rc::ptr_eq(u, &c.user))
                && !(f.skipme && *key == ctx.client)
        })
        .map(|(key, _)| key)
        .collect();
    for &key in &victims {
        // The caller itself closes after this reply; others are closed by
        // their backend, which learns of them through a request.
        ctx.state.clients[key].closing = true;
        if key != ctx.client {
            ctx.state.requests.push(Request::Close(key));
        }
    }
    if args.len() == 3 {
        if victims.is_empty() {
            return Err(CmdError::ClientNoSuchClient);
        }
        ctx.out().ok();
    } else {
        ctx.out().int(victims.len() as i64);
    }
    Ok(())
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: answers a client blocked on keys as
/// if it had timed out, or with an UNBLOCKED error.
fn client_unblock(ctx: &mut Ctx, args: Args) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::Syntax);
    }
    let error = match args.len() {
        4 if is(args.get(3), "timeout") => false,
        4 if is(args.get(3), "error") => true,
        4 => {
            return Err(CmdError::err(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
        _ => false,
    };
    let id = int_arg(args.get(2))?;
    let target = ctx
        .state
        .clients
        .iter()
        .find(|(_, c)| c.id as i64 == id && !c.closing)
        .map(|(key, _)| key);
    let message = &b"UNBLOCKED client unblocked via CLIENT UNBLOCK"[..];
    let done = target.is_some_and(|t| ctx.state.unblock_with(t, error.then_some(message)));
    ctx.out().int(done as i64);
    Ok(())
}

/// Redis 7.0's CLIENT HELP, word for word (so 7.2's SETINFO, which
/// rizzler has, is not listed).
fn client_help(ctx: &mut Ctx, _args: Args) -> CmdResult {
    help_reply(
        ctx.out(),
        "client",
        &[
            "CACHING (YES|NO)",
            "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
            "GETREDIR",
            "    Return the client ID we are redirecting to when tracking is enabled.",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
            "         [OPTIN] [OPTOUT] [NOLOOP]",
            "    Control server assisted client side caching.",
            "TRACKINGINFO",
            "    Report tracking status for the current connection.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
        ],
    );
    Ok(())
}

/// CLIENT PAUSE timeout [WRITE|ALL].
fn client_pause(ctx: &mut Ctx, args: Args) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::subcommand_syntax(args.get(1), "client"));
    }
    let mode = match args.len() {
        4 if is(args.get(3), "write") => crate::pause::Mode::Write,
        4 if is(args.get(3), "all") => crate::pause::Mode::All,
        4 => return Err(CmdError::ClientPauseMode),
        _ => crate::pause::Mode::All,
    };
    let ms = parse_i64(args.get(2)).ok_or(CmdError::TimeoutNotInteger)?;
    if ms < 0 {
        return Err(CmdError::TimeoutNegative);
    }
    let end = ctx.now_ms.saturating_add(ms as u64);
    crate::pause::pause(ctx.store, ctx.state, mode, end);
    ctx.out().ok();
    Ok(())
}

/// CLIENT UNPAUSE: the postponed clients run once this command is done.
fn client_unpause(ctx: &mut Ctx, _args: Args) -> CmdResult {
    crate::pause::unpause(ctx.store, ctx.state);
    ctx.out().ok();
    Ok(())
}
