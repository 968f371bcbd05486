//! Scripting commands (Redis's `eval.c`): EVAL, EVALSHA, their read-only
//! forms and SCRIPT. The interpreter, the sandbox and the conversions live
//! in [`crate::scripting`].

use super::flags::*;
use super::{int_arg, is, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::resp::Args;
use crate::scripting::{self, Invocation};

const EVAL_FLAGS: u32 = NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS;
const SCRIPT_COMPLEXITY: &str = "Depends on the script that is executed.";

pub const COMMANDS: &[Command] = &[
    Command::new("eval", -3, EVAL_FLAGS, eval)
        .doc("scripting", "2.6.0", "Execute a Lua script server side")
        .complexity(SCRIPT_COMPLEXITY),
    Command::new("evalsha", -3, EVAL_FLAGS, evalsha)
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
    let sha = if by_sha {
        let sha = args.get(1);
        if sha.len() != 40 || !ctx.state.scripting.exists(sha) {
            return Err(CmdError::NoScript);
        }
        String::from_utf8_lossy(sha).to_ascii_lowercase()
    } else {
        ctx.state.scripting.load(args.get(1))?
    };
    let keys: Vec<&[u8]> = args.tail(3).iter().take(numkeys).collect();
    let argv: Vec<&[u8]> = args.tail(3 + numkeys).iter().collect();
    scripting::run(
        ctx,
        Invocation {
            sha,
            keys,
            argv,
            read_only,
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

fn script_kill(_ctx: &mut Ctx, _args: Args) -> CmdResult {
    // A script runs to its end within one command: no other client's
    // command can arrive while it runs, so there is never one to kill.
    Err(CmdError::ScriptNotBusy)
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
