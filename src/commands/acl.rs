//! The ACL command family (Redis's `aclCommand`): users are created and
//! changed with ACL SETUSER, read back with GETUSER and LIST, removed with
//! DELUSER, saved to and loaded from `aclfile`. The users, their rules and
//! the permission check are [`crate::acl`]'s; this file parses arguments
//! and shapes replies, and writes the ACL LOG entries for every refusal.

use super::flags::*;
use super::server::help_reply;
use super::{int_arg, is, Command, Ctx};
use crate::acl::{self, LogEntry, LogReason};
use crate::error::{CmdError, CmdResult};
use crate::resp::Args;

const ACL_ADMIN: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
const ACL_SUB: u32 = NOSCRIPT | LOADING | STALE;

pub const COMMANDS: &[Command] = &[Command::new("acl", -2, 0, super::container)
    .doc(
        "server",
        "6.0.0",
        "A container for Access List Control commands ",
    )
    .complexity("Depends on subcommand.")
    .subcommands(&[
        Command::new("cat", -2, ACL_SUB, cat)
            .doc(
                "server",
                "6.0.0",
                "List the ACL categories or the commands inside a category",
            )
            .complexity("O(1) since the categories and commands are a fixed set."),
        Command::new("deluser", -3, ACL_ADMIN, deluser)
            .doc(
                "server",
                "6.0.0",
                "Remove the specified ACL users and the associated rules",
            )
            .complexity("O(1) amortized time considering the typical user."),
        Command::new("dryrun", -4, ACL_ADMIN, dryrun)
            .doc(
                "server",
                "7.0.0",
                "Returns whether the user can execute the given command without executing the command.",
            )
            .complexity("O(1)."),
        Command::new("genpass", -2, ACL_SUB, genpass).doc(
            "server",
            "6.0.0",
            "Generate a pseudorandom secure password to use for ACL users",
        ),
        Command::new("getuser", 3, ACL_ADMIN, getuser)
            .doc("server", "6.0.0", "Get the rules for a specific ACL user")
            .complexity(
                "O(N). Where N is the number of password, command and pattern rules that the user has.",
            ),
        Command::new("help", 2, LOADING | STALE, help).doc(
            "server",
            "6.0.0",
            "Show helpful text about the different subcommands",
        ),
        Command::new("list", 2, ACL_ADMIN, list)
            .doc(
                "server",
                "6.0.0",
                "List the current ACL rules in ACL config file format",
            )
            .complexity("O(N). Where N is the number of configured users."),
        Command::new("load", 2, ACL_ADMIN, load)
            .doc(
                "server",
                "6.0.0",
                "Reload the ACLs from the configured ACL file",
            )
            .complexity("O(N). Where N is the number of configured users."),
        Command::new("log", -2, ACL_ADMIN, log)
            .doc(
                "server",
                "6.0.0",
                "List latest events denied because of ACLs in place",
            )
            .complexity("O(N) with N being the number of entries shown."),
        Command::new("save", 2, ACL_ADMIN, save)
            .doc(
                "server",
                "6.0.0",
                "Save the current ACL rules in the configured ACL file",
            )
            .complexity("O(N). Where N is the number of configured users."),
        Command::new("setuser", -3, ACL_ADMIN, setuser)
            .doc(
                "server",
                "6.0.0",
                "Modify or create the rules for a specific ACL user",
            )
            .complexity("O(N). Where N is the number of rules provided."),
        Command::new("users", 2, ACL_ADMIN, users)
            .doc(
                "server",
                "6.0.0",
                "List the username of all the configured ACL rules",
            )
            .complexity("O(N). Where N is the number of configured users."),
        Command::new("whoami", 2, ACL_SUB, whoami).doc(
            "server",
            "6.0.0",
            "Return the name of the user associated to the current connection",
        ),
    ])];

/// Writes an ACL LOG entry for the calling client (Redis's
/// `addACLLogEntry`): `username` defaults to the client's user.
pub fn log_denial(
    ctx: &mut Ctx,
    reason: LogReason,
    context: acl::LogContext,
    object: &[u8],
    username: Option<&[u8]>,
) {
    let client = &ctx.state.clients[ctx.client];
    let mut info = String::new();
    super::connection::client_line(&mut info, client, true, ctx.now_ms);
    let entry = LogEntry {
        count: 1,
        reason,
        context,
        object: object.to_vec(),
        username: username.unwrap_or(&client.user.name).to_vec(),
        ctime_ms: crate::util::now_ms(),
        client_info: info.trim_end_matches('\n').to_string(),
    };
    let max = usize::try_from(ctx.state.config.acllog_max_len).unwrap_or(usize::MAX);
    ctx.state.acl.log(entry, max);
}

/// The reason and object a refusal logs.
pub fn denial_object<'a>(
    denied: acl::Denied,
    full_name: &'a [u8],
    args: &Args<'a>,
) -> (LogReason, &'a [u8]) {
    match denied {
        acl::Denied::Command => (LogReason::Command, full_name),
        acl::Denied::Key(i) => (LogReason::Key, args.get(i)),
        acl::Denied::Channel(i) => (LogReason::Channel, args.get(i)),
    }
}

fn setuser(ctx: &mut Ctx, args: Args) -> CmdResult {
    let name = args.get(2);
    if acl::bad_name(name) {
        return Err(CmdError::AclBadUsername);
    }
    let all_channels = ctx.state.config.acl_pubsub_all;
    let rules: Vec<&[u8]> = args.tail(3).iter().collect();
    let user = match ctx.state.acl.get(name) {
        Some(u) => acl::parse_rules(u, &rules, all_channels),
        None => acl::parse_rules(&acl::User::new(name, all_channels), &rules, all_channels),
    }
    .map_err(|(rule, why)| CmdError::acl_setuser(&rule, why))?;
    acl::store_user(ctx.state, user);
    ctx.out().ok();
    Ok(())
}

fn deluser(ctx: &mut Ctx, args: Args) -> CmdResult {
    if args.tail(2).iter().any(|n| n == b"default") {
        return Err(CmdError::AclDeleteDefault);
    }
    let mut deleted = 0;
    for name in args.tail(2).iter() {
        if acl::delete_user(ctx.state, name) {
            deleted += 1;
        }
    }
    ctx.out().int(deleted);
    Ok(())
}

fn getuser(ctx: &mut Ctx, args: Args) -> CmdResult {
    let Some(user) = ctx.state.acl.get(args.get(2)).cloned() else {
        ctx.out().null();
        return Ok(());
    };
    let out = ctx.out();
    out.map(6);
    out.bulk(b"flags");
    let flags = user.flag_names();
    out.set(flags.len());
    for f in flags {
        out.bulk(f.as_bytes());
    }
    out.bulk(b"passwords");
    out.array(user.passwords().len());
    for p in user.passwords() {
        out.bulk(p);
    }
    let (root, rest) = user.selectors().split_at(1);
    for (name, value) in root[0].describe_fields() {
        out.bulk(name.as_bytes());
        out.bulk(&value);
    }
    out.bulk(b"selectors");
    out.array(rest.len());
    for s in rest {
        out.map(3);
        for (name, value) in s.describe_fields() {
            out.bulk(name.as_bytes());
            out.bulk(&value);
        }
    }
    Ok(())
}

fn list(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let lines: Vec<Vec<u8>> = ctx.state.acl.users().map(|u| u.list_line()).collect();
    ctx.out().bulks(lines.iter().map(Vec::as_slice));
    Ok(())
}

fn users(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let names: Vec<Vec<u8>> = ctx.state.acl.users().map(|u| u.name.clone()).collect();
    ctx.out().bulks(names.iter().map(Vec::as_slice));
    Ok(())
}

fn whoami(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let name = ctx.me().user.name.clone();
    ctx.out().bulk(&name);
    Ok(())
}

fn load(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let file = ctx.state.config.aclfile.clone();
    if file.is_empty() {
        return Err(CmdError::AclNoFile);
    }
    let users = acl::load_file(
        std::path::Path::new(&file),
        &file,
        ctx.state.config.acl_pubsub_all,
    )
    .map_err(|e| CmdError::acl_load(&e))?;
    acl::replace_all(ctx.state, users);
    ctx.out().ok();
    Ok(())
}

fn save(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let file = ctx.state.config.aclfile.clone();
    if file.is_empty() {
        return Err(CmdError::AclNoFile);
    }
    acl::save_file(std::path::Path::new(&file), &ctx.state.acl).map_err(|e| {
        tracing::warn!("Writing ACL file for ACL SAVE: {e}");
        CmdError::AclSaveFailed
    })?;
    ctx.out().ok();
    Ok(())
}

fn cat(ctx: &mut Ctx, args: Args) -> CmdResult {
    match args.len() {
        2 => {
            let names = crate::commands::meta::CATEGORIES;
            ctx.out().bulks(names.iter().map(|c| c.as_bytes()));
        }
        3 => {
            let bit = acl::category_bit(args.get(2))
                .ok_or_else(|| CmdError::acl_unknown_category(args.get(2)))?;
            let names: Vec<String> = acl::all_rows()
                .iter()
                .filter(|r| r.categories & bit != 0)
                .map(|r| r.resolved.full_name())
                .collect();
            ctx.out().bulks(names.iter().map(|n| n.as_bytes()));
        }
        _ => return Err(CmdError::subcommand_syntax(args.get(1), "acl")),
    }
    Ok(())
}

/// Redis's GENPASS_MAX_BITS.
const GENPASS_MAX_BITS: i64 = 4096;

fn genpass(ctx: &mut Ctx, args: Args) -> CmdResult {
    let bits = match args.len() {
        2 => 256,
        3 => int_arg(args.get(2))?,
        _ => return Err(CmdError::subcommand_syntax(args.get(1), "acl")),
    };
    if bits <= 0 || bits > GENPASS_MAX_BITS {
        return Err(CmdError::AclGenpassBits);
    }
    let pass = acl::random_hex(((bits + 3) / 4) as usize);
    ctx.out().bulk(&pass);
    Ok(())
}

fn log(ctx: &mut Ctx, args: Args) -> CmdResult {
    let count = match args.len() {
        2 => 10,
        3 if is(args.get(2), "reset") => {
            ctx.state.acl.log.clear();
            ctx.out().ok();
            return Ok(());
        }
        3 => int_arg(args.get(2))?.max(0),
        _ => return Err(CmdError::subcommand_syntax(args.get(1), "acl")),
    };
    let now = crate::util::now_ms();
    let entries: Vec<LogEntry> = ctx
        .state
        .acl
        .log
        .iter()
        .take(count as usize)
        .cloned()
        .collect();
    let out = ctx.out();
    out.array(entries.len());
    for e in entries {
        out.map(7);
        out.bulk(b"count");
        out.int(e.count as i64);
        out.bulk(b"reason");
        out.bulk(e.reason.name().as_bytes());
        out.bulk(b"context");
        out.bulk(e.context.name().as_bytes());
        out.bulk(b"object");
        out.bulk(&e.object);
        out.bulk(b"username");
        out.bulk(&e.username);
        out.bulk(b"age-seconds");
        out.double(now.saturating_sub(e.ctime_ms) as f64 / 1000.0);
        out.bulk(b"client-info");
        out.bulk(e.client_info.as_bytes());
    }
    Ok(())
}

fn dryrun(ctx: &mut Ctx, args: Args) -> CmdResult {
    let Some(user) = ctx.state.acl.get(args.get(2)).cloned() else {
        return Err(CmdError::acl_no_user(args.get(2)));
    };
    let cmd_args = args.tail(3);
    let Some(cmd) = super::meta::lookup_argv(&cmd_args).map(|r| r.cmd) else {
        return Err(CmdError::acl_no_command(args.get(3)));
    };
    let full_name = super::meta::resolve_row(cmd).full_name();
    if !cmd.arity_ok(cmd_args.len()) {
        return Err(CmdError::arity(&full_name));
    }
    match user.check(cmd, &cmd_args) {
        Ok(()) => ctx.out().ok(),
        Err(denied) => {
            let arg = match denied {
                acl::Denied::Key(i) | acl::Denied::Channel(i) => cmd_args.get(i),
                acl::Denied::Command => b"",
            };
            let text = CmdError::dryrun_denied(denied, &full_name, arg);
            ctx.out().bulk(&text);
        }
    }
    Ok(())
}

fn help(ctx: &mut Ctx, _args: Args) -> CmdResult {
    help_reply(
        ctx.out(),
        "acl",
        &[
            "CAT [<category>]",
            "    List all commands that belong to <category>, or all command categories",
            "    when no category is specified.",
            "DELUSER <username> [<username> ...]",
            "    Delete a list of users.",
            "DRYRUN <username> <command> [<arg> ...]",
            "    Returns whether the user can execute the given command without executing the command.",
            "GETUSER <username>",
            "    Get the user's details.",
            "GENPASS [<bits>]",
            "    Generate a secure 256-bit user password. The optional `bits` argument can",
            "    be used to specify a different size.",
            "LIST",
            "    Show users details in config file format.",
            "LOAD",
            "    Reload users from the ACL file.",
            "LOG [<count> | RESET]",
            "    Show the ACL log entries.",
            "SAVE",
            "    Save the current config to the ACL file.",
            "SETUSER <username> <attribute> [<attribute> ...]",
            "    Create or modify a user with the specified attributes.",
            "USERS",
            "    List all the registered usernames.",
            "WHOAMI",
            "    Return the current connection username.",
        ],
    );
    Ok(())
}
