//! Scripting commands (Redis's `eval.c`): EVAL, EVALSHA, their read-only
//! forms and SCRIPT. The interpreter, the sandbox and the conversions live
//! in [`crate::scripting`].

use super::flags::*;
use super::{int_arg, is, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::resp::Args;
use crate::scripting::{self, functions, Invocation};

const EVAL_FLAGS: u32 = NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS;
const SCRIPT_COMPLEXITY: &str = "Depends on the script that is executed.";

pub const COMMANDS: &[Command] = &[
    Command::new("eval", -3, EVAL_FLAGS | MAY_REPLICATE, eval)
        .doc("scripting", "2.6.0", "Execute a Lua script server side")
        .complexity(SCRIPT_COMPLEXITY),
    Command::new("evalsha", -3, EVAL_FLAGS | MAY_REPLICATE, evalsha)
        .doc("scripting", "2.6.0", "Execute a Lua script server side")
        .complexity(SCRIPT_COMPLEXITY),
    Command::new("eval_ro", -3, READONLY | EVAL_FLAGS, eval_ro)
        .doc("scripting", "7.0.0", "Execute a read-only Lua script server side")
        .complexity(SCRIPT_COMPLEXITY),
    Command::new("evalsha_ro", -3, READONLY | EVAL_FLAGS, evalsha_ro)
        .doc("scripting", "7.0.0", "Execute a read-only Lua script server side")
        .complexity(SCRIPT_COMPLEXITY),
    Command::new("script", -2, 0, super::container)
        .doc("scripting", "2.6.0", "A container for Lua scripts management commands")
        .complexity("Depends on subcommand.")
        .subcommands(&[
            Command::new("exists", -3, NOSCRIPT, script_exists)
                .doc("scripting", "2.6.0", "Check existence of scripts in the script cache.")
                .complexity("O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation)."),
            Command::new("flush", -2, NOSCRIPT, script_flush)
                .doc("scripting", "2.6.0", "Remove all the scripts from the script cache.")
                .complexity("O(N) with N being the number of scripts in cache"),
            Command::new("help", 2, LOADING | STALE, script_help)
                .doc("scripting", "5.0.0", "Show helpful text about the different subcommands"),
            Command::new("kill", 2, NOSCRIPT | ALLOW_BUSY, script_kill)
                .doc("scripting", "2.6.0", "Kill the script currently in execution."),
            Command::new("load", 3, NOSCRIPT | STALE, script_load)
                .doc("scripting", "2.6.0", "Load the specified Lua script into the script cache.")
                .complexity("O(N) with N being the length in bytes of the script body."),
        ]),
    Command::new("fcall", -3, EVAL_FLAGS | MAY_REPLICATE, fcall)
        .doc("scripting", "7.0.0", "Invoke a function")
        .complexity("Depends on the function that is executed."),
    Command::new("fcall_ro", -3, READONLY | EVAL_FLAGS, fcall_ro)
        .doc("scripting", "7.0.0", "Invoke a read-only function")
        .complexity("Depends on the function that is executed."),
    Command::new("function", -2, 0, super::container)
        .doc("scripting", "7.0.0", "A container for function commands")
        .complexity("Depends on subcommand.")
        .subcommands(&[
            Command::new("delete", 3, WRITE | NOSCRIPT, function_delete)
                .doc("scripting", "7.0.0", "Delete a function by name"),
            Command::new("flush", -2, WRITE | NOSCRIPT, function_flush)
                .doc("scripting", "7.0.0", "Deleting all functions")
                .complexity("O(N) where N is the number of functions deleted"),
            Command::new("help", 2, LOADING | STALE, function_help)
                .doc("scripting", "7.0.0", "Show helpful text about the different subcommands"),
            Command::new("kill", 2, NOSCRIPT | ALLOW_BUSY, function_kill)
                .doc("scripting", "7.0.0", "Kill the function currently in execution."),
            Command::new("list", -2, NOSCRIPT, function_list)
                .doc("scripting", "7.0.0", "List information about all the functions")
                .complexity("O(N) where N is the number of functions"),
            Command::new("load", -3, WRITE | DENYOOM | NOSCRIPT, function_load)
                .doc("scripting", "7.0.0", "Create a function with the given arguments (name, code, description)")
                .complexity("O(1) (considering compilation time is redundant)"),
            Command::new("dump", 2, NOSCRIPT, function_dump)
                .doc("scripting", "7.0.0", "Dump all functions into a serialized binary payload")
                .complexity("O(N) where N is the number of functions"),
            Command::new("restore", -3, WRITE | DENYOOM | NOSCRIPT, function_restore)
                .doc("scripting", "7.0.0", "Restore all the functions on the given payload")
                .complexity("O(N) where N is the number of functions on the payload"),
            Command::new("stats", 2, NOSCRIPT | ALLOW_BUSY, function_stats)
                .doc("scripting", "7.0.0", "Return information about the function currently running (name, description, duration)"),
        ]),
];

fn eval(ctx: &mut Ctx, args: Args) -> CmdResult {
    eval_generic(ctx, args, false, false)
}

fn evalsha(ctx: &mut Ctx, args: Args) -> CmdResult {
    eval_generic(ctx, args, true, false)
}

fn eval_ro(ctx: &mut Ctx, args: Args) -> CmdResult {
    eval_generic(ctx, args, false, true)
}

fn evalsha_ro(ctx: &mut Ctx, args: Args) -> CmdResult {
    eval_generic(ctx, args, true, true)
}

/// Redis's `evalGenericCommand`.
fn eval_generic(ctx: &mut Ctx, args: Args, by_sha: bool, read_only: bool) -> CmdResult {
    let numkeys = int_arg(args.get(2))?;
    if numkeys > (args.len() - 3) as i64 {
        return Err(CmdError::ScriptNumkeysTooMany);
    }
    if numkeys < 0 {
        return Err(CmdError::ScriptNumkeysNegative);
    }
    let numkeys = numkeys as usize;
    // The SHA in lower case, on the stack: EVALSHA is the hot path.
    let mut lower = [0u8; 40];
    let loaded;
    let sha = if by_sha {
        let sha = args.get(1);
        if sha.len() != 40 {
            return Err(CmdError::NoScript);
        }
        lower.copy_from_slice(sha);
        lower.make_ascii_lowercase();
        std::str::from_utf8(&lower).map_err(|_| CmdError::NoScript)?
    } else {
        loaded = ctx.state.scripting.load(args.get(1))?;
        loaded.as_str()
    };
    scripting::run(
        ctx,
        Invocation {
            sha,
            keys: 3..3 + numkeys,
            argv: 3 + numkeys..args.len(),
            read_only,
            command: args,
        },
    )
}

fn script_exists(ctx: &mut Ctx, args: Args) -> CmdResult {
    let found: Vec<bool> = args
        .tail(2)
        .iter()
        .map(|sha| ctx.state.scripting.exists(sha))
        .collect();
    let out = ctx.out();
    out.array(found.len());
    for f in found {
        out.int(f as i64);
    }
    Ok(())
}

fn script_flush(ctx: &mut Ctx, args: Args) -> CmdResult {
    match args.len() {
        2 => {}
        3 if is(args.get(2), "sync") || is(args.get(2), "async") => {}
        _ => return Err(CmdError::ScriptFlushOption),
    }
    ctx.state.scripting.flush();
    ctx.out().ok();
    Ok(())
}

/// Another client's command while a script runs past
/// busy-reply-threshold: the script stops at its next count hook.
fn script_kill(ctx: &mut Ctx, _args: Args) -> CmdResult {
    ctx.state.scripting.kill(true)?;
    ctx.out().ok();
    Ok(())
}

fn script_load(ctx: &mut Ctx, args: Args) -> CmdResult {
    let sha = ctx.state.scripting.load(args.get(2))?;
    ctx.out().bulk(sha.as_bytes());
    Ok(())
}

fn script_help(ctx: &mut Ctx, _args: Args) -> CmdResult {
    super::server::help_reply(
        ctx.out(),
        "script",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    );
    Ok(())
}

fn fcall(ctx: &mut Ctx, args: Args) -> CmdResult {
    fcall_generic(ctx, args, false)
}

fn fcall_ro(ctx: &mut Ctx, args: Args) -> CmdResult {
    fcall_generic(ctx, args, true)
}

/// Redis's `fcallCommandGeneric`: the function is looked up before the
/// key count is read.
fn fcall_generic(ctx: &mut Ctx, args: Args, read_only: bool) -> CmdResult {
    let Some(found) = functions::lookup(ctx, args.get(1)) else {
        return Err(CmdError::err("ERR Function not found"));
    };
    let numkeys = crate::resp::parse_i64(args.get(2))
        .ok_or_else(|| CmdError::err("ERR Bad number of keys provided"))?;
    if numkeys > (args.len() - 3) as i64 {
        return Err(CmdError::ScriptNumkeysTooMany);
    }
    if numkeys < 0 {
        return Err(CmdError::ScriptNumkeysNegative);
    }
    let numkeys = numkeys as usize;
    functions::fcall(
        ctx,
        found,
        args,
        3..3 + numkeys,
        3 + numkeys..args.len(),
        read_only,
    )
}

fn function_load(ctx: &mut Ctx, args: Args) -> CmdResult {
    let mut replace = false;
    let mut at = 2;
    while at < args.len() - 1 {
        let arg = args.get(at);
        at += 1;
        if is(arg, "replace") {
            replace = true;
            continue;
        }
        return Err(CmdError::err(format!(
            "ERR Unknown option given: {}",
            String::from_utf8_lossy(arg)
        )));
    }
    let name = ctx.state.scripting.functions.load(args.get(at), replace)?;
    ctx.journal().force_propagation();
    ctx.out().bulk(name.as_bytes());
    Ok(())
}

fn function_delete(ctx: &mut Ctx, args: Args) -> CmdResult {
    let name = String::from_utf8_lossy(args.get(2)).into_owned();
    if ctx
        .state
        .scripting
        .functions
        .libraries
        .remove(&name)
        .is_none()
    {
        return Err(CmdError::err("ERR Library not found"));
    }
    ctx.journal().force_propagation();
    ctx.out().ok();
    Ok(())
}

fn function_flush(ctx: &mut Ctx, args: Args) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::subcommand_syntax(args.get(1), "function"));
    }
    match args.len() {
        2 => {}
        3 if is(args.get(2), "sync") || is(args.get(2), "async") => {}
        _ => {
            return Err(CmdError::err(
                "ERR FUNCTION FLUSH only supports SYNC|ASYNC option",
            ))
        }
    }
    ctx.state.scripting.functions.flush();
    ctx.journal().force_propagation();
    ctx.out().ok();
    Ok(())
}

fn function_kill(ctx: &mut Ctx, _args: Args) -> CmdResult {
    ctx.state.scripting.kill(false)?;
    ctx.out().ok();
    Ok(())
}

fn function_list(ctx: &mut Ctx, args: Args) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        let arg = args.get(i);
        if !with_code && is(arg, "withcode") {
            with_code = true;
        } else if pattern.is_none() && is(arg, "libraryname") {
            if i >= args.len() - 1 {
                return Err(CmdError::err("ERR library name argument was not given"));
            }
            i += 1;
            pattern = Some(args.get(i));
        } else {
            return Err(CmdError::err(format!(
                "ERR Unknown argument {}",
                String::from_utf8_lossy(arg)
            )));
        }
        i += 1;
    }
    let client = &mut ctx.state.clients[ctx.client];
    let out = &mut client.out;
    let libs: Vec<_> = ctx
        .state
        .scripting
        .functions
        .libraries
        .iter()
        .filter(|(name, _)| {
            pattern.is_none_or(|p| crate::store::glob_match(p, name.as_bytes(), true))
        })
        .collect();
    out.array(libs.len());
    for (name, lib) in libs {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(lib.functions.len());
        for (fname, f) in &lib.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(fname.as_bytes());
            out.bulk(b"description");
            match &f.description {
                Some(d) => out.bulk(d),
                None => out.null(),
            }
            out.bulk(b"flags");
            let names: Vec<&str> = functions::FLAG_NAMES
                .iter()
                .filter(|(flag, _)| f.flags & flag != 0)
                .map(|(_, n)| *n)
                .collect();
            out.set(names.len());
            for n in names {
                out.simple(n.as_bytes());
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&lib.code);
        }
    }
    Ok(())
}

fn function_stats(ctx: &mut Ctx, _args: Args) -> CmdResult {
    let scripting = &ctx.state.scripting;
    if let Some(busy) = scripting.running.as_ref().filter(|r| r.eval) {
        return Err(CmdError::BusyScript { eval: busy.eval });
    }
    let running = scripting.running.as_ref().map(|r| {
        let ms = r.started.elapsed().as_millis() as i64;
        (r.name.clone(), r.command.clone(), ms)
    });
    let functions = &scripting.functions;
    let (libs, funcs) = (functions.libraries.len(), functions.function_count());
    let out = ctx.out();
    out.map(2);
    out.bulk(b"running_script");
    match running {
        None => out.null(),
        Some((name, command, ms)) => {
            out.map(3);
            out.bulk(b"name");
            out.bulk(name.as_bytes());
            out.bulk(b"command");
            out.array(command.len());
            for arg in &command {
                out.bulk(arg);
            }
            out.bulk(b"duration_ms");
            out.int(ms);
        }
    }
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(libs as i64);
    out.bulk(b"functions_count");
    out.int(funcs as i64);
    Ok(())
}

fn function_help(ctx: &mut Ctx, _args: Args) -> CmdResult {
    super::server::help_reply(
        ctx.out(),
        "function",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    );
    Ok(())
}

/// FUNCTION DUMP: each library as RDB writes it, then the RDB version and
/// a CRC64, as DUMP payloads end.
fn function_dump(ctx: &mut Ctx, _args: Args) -> CmdResult {
    use crate::persist::rdb;
    let mut payload = Vec::new();
    for lib in ctx.state.scripting.functions.libraries.values() {
        rdb::write_function(&mut payload, &lib.code);
    }
    payload.extend_from_slice(&rdb::RDB_VERSION.to_le_bytes());
    let crc = rdb::crc64(0, &payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    ctx.out().bulk(&payload);
    Ok(())
}

/// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]: all or nothing.
fn function_restore(ctx: &mut Ctx, args: Args) -> CmdResult {
    use crate::persist::rdb;
    #[derive(PartialEq)]
    enum Policy {
        Flush,
        Append,
        Replace,
    }
    if args.len() > 4 {
        return Err(CmdError::subcommand_syntax(args.get(1), "function"));
    }
    let policy =
        match args.len() {
            3 => Policy::Append,
            4 if is(args.get(3), "flush") => Policy::Flush,
            4 if is(args.get(3), "append") => Policy::Append,
            4 if is(args.get(3), "replace") => Policy::Replace,
            _ => return Err(CmdError::err(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            )),
        };
    let payload = args.get(2);
    let footer_ok = payload.len() >= 10 && {
        let body = payload.len() - 10;
        let version = u16::from_le_bytes([payload[body], payload[body + 1]]);
        let mut crc = [0u8; 8];
        crc.copy_from_slice(&payload[body + 2..]);
        let skip_crc = ctx.state.skip_checksum_validation;
        version <= rdb::RDB_VERSION
            && (skip_crc || u64::from_le_bytes(crc) == rdb::crc64(0, &payload[..payload.len() - 8]))
    };
    if !footer_ok {
        return Err(CmdError::err(
            "ERR DUMP payload version or checksum are wrong",
        ));
    }
    let body = &payload[..payload.len() - 10];
    let codes = match rdb::functions(body) {
        Ok(codes) if codes.iter().map(|c| c.len() + 2).sum::<usize>() <= body.len() => codes,
        _ => return Err(CmdError::err("ERR given type is not a function")),
    };
    if rdb::functions_end(body) != body.len() {
        return Err(CmdError::err("ERR given type is not a function"));
    }
    // Load into a scratch set first: a failure leaves the libraries as
    // they were.
    let functions = &mut ctx.state.scripting.functions;
    let saved: Vec<Vec<u8>> = functions
        .libraries
        .values()
        .map(|l| l.code.clone())
        .collect();
    let restore = |functions: &mut functions::Functions| {
        functions.flush();
        for code in &saved {
            let _ = functions.load(code, false);
        }
    };
    if policy == Policy::Flush {
        functions.flush();
    }
    if policy == Policy::Append {
        // Redis loads the payload aside, then joins it: a name taken is
        // reported without quotes there.
        for code in &codes {
            if let Some(name) = functions::library_name(code) {
                if functions.libraries.contains_key(&name) {
                    return Err(CmdError::err(format!("ERR Library {name} already exists")));
                }
            }
        }
    }
    for code in &codes {
        if let Err(e) = functions.load(code, policy == Policy::Replace) {
            restore(functions);
            return Err(e);
        }
    }
    ctx.journal().force_propagation();
    ctx.out().ok();
    Ok(())
}
