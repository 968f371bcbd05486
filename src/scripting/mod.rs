//! Lua scripting (Redis's `eval.c`, `script.c`, `script_lua.c`): the
//! interpreter, its sandbox, the `redis.*` API and the conversions between
//! Lua values and replies.
//!
//! # Design
//!
//! One Lua 5.1 interpreter (mlua, vendored) lives in [`Scripting`], inside
//! [`crate::server::State`]. A script runs from a command handler that holds
//! `&mut Ctx` (the store and the state). The interpreter handle is cloned out
//! of the state first (mlua handles are reference counted), so running Lua
//! borrows nothing of `State`.
//!
//! `redis.call` needs that same `&mut Ctx` while Lua runs. It reaches it
//! through [`mlua::Lua::scope`]: for the duration of one script a scoped
//! Rust function is created that captures a `RefCell` holding the `&mut
//! Ctx`, and put in an integer registry slot ([`CallSlot`]); the permanent
//! `redis.call`, `redis.pcall` and `redis.acl_check_cmd` (C functions,
//! installed once) leave their arguments beside the slot and call it. The
//! `RefCell` is borrowed only while one command runs through
//! [`crate::commands::call`] and never while Lua code runs, so a script
//! cannot re-enter it; when the scope ends the scoped function is
//! invalidated, so a reference kept by a script cannot outlive the
//! context. No raw pointers, no `unsafe`.
//!
//! A count hook fires every 100,000 instructions, as Redis's does. Past
//! busy-reply-threshold it calls the scoped function with `nil`, which
//! serves the other clients through the backend's
//! [`crate::server::State::events_while_busy`] and stops the script once
//! SCRIPT KILL or FUNCTION KILL asked.
//!
//! A script's commands run as the calling client with its reply buffer
//! swapped for an empty one (Redis's "lua client": same user, same
//! database, its own protocol chosen by `redis.setresp`), through the same
//! `call()` as every command, so key events, notifications, WATCH and
//! blocking wake-ups behave as for any client. The reply bytes are parsed
//! back into Lua values, as Redis does. Around the script the write path
//! gathers every command's effects and delivers them as one unit (the
//! MULTI/EXEC machinery of `effects::begin_transaction`), which the AOF
//! and replicas wrap in MULTI/EXEC: Redis 7's effect replication.
//!
//! Errors keep Redis's shape: a failed `redis.call` raises a table
//! `{err=…}`; an error handler (in Rust, reading the Lua stack) adds the
//! script's source and line, and the reply is
//! `-ERR … script: <sha>, on @user_script:<line>.`.
//!
//! The sandbox: the base, table, string and math libraries plus cjson,
//! cmsgpack, bit and struct (in Rust, [`libs`]); no `os`, `io`, `debug`,
//! `loadfile`, `dofile`, `getfenv`, `setfenv`. Redis's Lua makes the
//! globals, the libraries and the strings' metatable read-only; stock Lua
//! cannot, so scripts see each through a proxy, and `rawget`, `rawset`,
//! `next`, `pairs`, `getmetatable` and `setmetatable` look through the
//! proxies or refuse: assigning raises `Attempt to modify a readonly
//! table`, reading a missing name raises `Script attempted to access
//! nonexistent global variable`. `loadstring` parses text only (Redis
//! removed the undumper) and gives the chunk the read-only globals.

mod convert;
pub mod functions;
pub mod libs;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use mlua::{Function, Lua, MultiValue, Table, Value};

use crate::commands::{flags, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::resp::Proto;

/// The chunk name scripts are compiled under (`@user_script:1` in errors).
const USER_CHUNK: &str = "@user_script";
/// The chunk name of rizzler's own Lua glue; the error handler skips its
/// frames so errors point at the user's line.
pub(crate) const GLUE_CHUNK: &str = "=rizzler";

/// Script flags from a `#!lua flags=…` shebang.
pub mod script_flags {
    pub const NO_WRITES: u32 = 1;
    pub const ALLOW_OOM: u32 = 1 << 1;
    pub const ALLOW_STALE: u32 = 1 << 2;
    pub const NO_CLUSTER: u32 = 1 << 3;
    pub const ALLOW_CROSS_SLOT: u32 = 1 << 4;
    /// No shebang: the script runs with EVAL's historical permissions.
    pub const EVAL_COMPAT: u32 = 1 << 5;
}

/// A script in the cache (SCRIPT LOAD or EVAL).
struct Script {
    func: Function,
    flags: u32,
}

/// The interpreter and the glue created with it.
#[derive(Clone)]
pub(crate) struct Engine {
    lua: Lua,
    /// The real globals (scripts see them through a read-only proxy).
    globals: Table,
    /// `runner(f)`: `xpcall(f, handler)`.
    runner: Function,
    /// The protocol of the running script's commands (`redis.setresp`).
    resp: Rc<Cell<Proto>>,
    call: CallSlot,
}

/// The registry slot holding the running script's scoped `redis.call`
/// (`false` between scripts). An integer reference: it is read on every
/// `redis.call` and written twice a script, and a named registry entry
/// costs a protected call and a string per access.
///
/// The command's arguments go beside it, not through the call: pushed
/// again they would need twice the stack, and Lua 5.1 gives a C function
/// 8000 slots (a script may pass nearly that many, as Redis's tests do).
#[derive(Clone)]
struct CallSlot {
    key: Rc<RefCell<mlua::RegistryKey>>,
    args: Rc<RefCell<MultiValue>>,
}

impl CallSlot {
    fn new(lua: &Lua) -> mlua::Result<CallSlot> {
        Ok(CallSlot {
            key: Rc::new(RefCell::new(lua.create_registry_value(false)?)),
            args: Rc::default(),
        })
    }

    /// The running script's function, if a script runs.
    fn get(&self, lua: &Lua) -> Option<Function> {
        lua.registry_value::<Value>(&self.key.borrow())
            .ok()
            .and_then(|v| match v {
                Value::Function(f) => Some(f),
                _ => None,
            })
    }

    fn set(&self, lua: &Lua, value: Value) -> mlua::Result<()> {
        lua.replace_registry_value(&mut self.key.borrow_mut(), value)
    }
}

/// When the running script reaches busy-reply-threshold (kept in the
/// interpreter's app data, set for each run): until then the count hook
/// only compares the clock with it.
struct Deadline(Cell<Option<std::time::Instant>>);
/// Lua instructions between two looks at the clock (Redis's count hook).
pub(crate) const HOOK_EVERY: mlua::HookTriggers =
    mlua::HookTriggers::new().every_nth_instruction(100_000);

/// The scripting engine's state: the interpreter and the script cache.
pub struct Scripting {
    engine: Option<Engine>,
    scripts: HashMap<String, Script>,
    /// `math.random`'s generator (Redis's `redisLrand48`), process-wide.
    rand: Rc<Cell<u64>>,
    /// The script or function running, if one is.
    pub running: Option<RunningScript>,
    /// The function libraries (their own interpreter).
    pub functions: functions::Functions,
    /// Buffers each run borrows and gives back.
    scratch: Scratch,
    /// DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may call commands flagged
    /// `noscript` (Redis's tests use it to reach DEBUG PROTOCOL).
    pub allow_noscript: bool,
}

/// Buffers a script run reuses, so the hot path (EVALSHA of a small
/// script) allocates none of them.
#[derive(Default)]
struct Scratch {
    /// A command's arguments, as `redis.call` builds them.
    argv: Vec<u8>,
    spans: Vec<std::ops::Range<usize>>,
    /// A command's reply, parsed into Lua values.
    out: Option<crate::resp::Reply>,
    /// The script's reply, converted from Lua.
    reply: Option<crate::resp::Reply>,
}

impl Default for Scripting {
    fn default() -> Self {
        let rand = Rc::new(Cell::new(libs::LRAND48_INITIAL));
        Scripting {
            engine: None,
            scripts: HashMap::new(),
            functions: functions::Functions::new(rand.clone()),
            rand,
            running: None,
            scratch: Scratch::default(),
            allow_noscript: false,
        }
    }
}

impl std::fmt::Debug for Scripting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scripting")
            .field("scripts", &self.scripts.len())
            .finish()
    }
}

/// The script or function that is running, as SCRIPT KILL, FUNCTION
/// KILL, FUNCTION STATS and the other clients' commands see it (Redis's
/// `scriptRunCtx`).
#[derive(Debug)]
pub struct RunningScript {
    /// The client that runs it.
    pub client: usize,
    pub started: std::time::Instant,
    /// EVAL and EVALSHA (SCRIPT KILL stops it), or FCALL (FUNCTION KILL).
    pub eval: bool,
    /// The function's name, or the script's SHA.
    pub name: String,
    /// The command that runs it, recorded when it times out (FUNCTION
    /// STATS shows it).
    pub command: Vec<Vec<u8>>,
    /// It has run a write: stopping it would leave half its effects, so
    /// it cannot be killed.
    pub dirty: bool,
    /// It has run past busy-reply-threshold: the other clients are served
    /// while it runs, and answered `-BUSY`.
    pub timed_out: bool,
    /// SCRIPT KILL or FUNCTION KILL asked it to stop.
    pub killed: bool,
}

impl Scripting {
    /// A script runs past busy-reply-threshold: commands not flagged
    /// `allow-busy` are refused, with EVAL's or FCALL's wording.
    pub fn busy(&self) -> Option<CmdError> {
        self.running
            .as_ref()
            .filter(|r| r.timed_out)
            .map(|r| CmdError::BusyScript { eval: r.eval })
    }

    /// SCRIPT KILL (`eval`) or FUNCTION KILL (Redis's `scriptKill`).
    pub fn kill(&mut self, eval: bool) -> Result<(), CmdError> {
        let Some(r) = self.running.as_mut() else {
            return Err(CmdError::ScriptNotBusy);
        };
        if r.dirty {
            return Err(CmdError::ScriptUnkillable);
        }
        if r.eval != eval {
            // SCRIPT KILL of a function, FUNCTION KILL of a script.
            return Err(CmdError::BusyScript { eval: r.eval });
        }
        r.killed = true;
        Ok(())
    }
}

/// The lower-case hex SHA1 of `data` (Redis's `sha1hex`).
pub fn sha1hex(data: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    let digest = Sha1::digest(data);
    let mut s = String::with_capacity(40);
    for b in digest {
        s.push(char::from(b"0123456789abcdef"[(b >> 4) as usize]));
        s.push(char::from(b"0123456789abcdef"[(b & 15) as usize]));
    }
    s
}

/// The Lua glue: the redis.call/pcall wrappers, the read-only proxies.
const GLUE: &str = r#"
local G, handler, errtext, textload = ...
-- Redis's pcall: an error table (a failed redis.call) is caught as its
-- message, as before Redis 7.
local rawpcall, type = pcall, type
local function caught(ok, ...)
  if ok then return ok, ... end
  local e = ...
  if type(e) == 'table' and e.err then return false, e.err end
  if type(e) == 'userdata' then return false, errtext(e) end
  return false, e
end
G.pcall = function(...) return caught(rawpcall(...)) end
-- Redis's Lua makes the globals, every library and the strings'
-- metatable read-only. Stock Lua cannot, so scripts see each through a
-- proxy; `real` maps a proxy to its table, and the functions that would
-- reach past a proxy (raw access, iteration, metatables) look through
-- it, or refuse. The locals are named as the functions they stand for:
-- Lua names a function in its errors by how its caller called it.
local rawget, rawset, next, pairs = rawget, rawset, next, pairs
local getmetatable, setmetatable = getmetatable, setmetatable
local real = setmetatable({}, {__mode = 'k'})
local metas = setmetatable({}, {__mode = 'k'})
local function readonly() error('Attempt to modify a readonly table', 2) end
local function protect(t, meta)
  local p = setmetatable({}, {__index = t, __newindex = readonly, __metatable = false})
  real[p] = t
  metas[p] = meta or false
  return p
end
for _, name in ipairs({'string', 'table', 'math', 'redis', 'cjson', 'cmsgpack', 'bit', 'struct', 'coroutine'}) do
  if rawget(G, name) then G[name] = protect(G[name]) end
end
local strmeta = getmetatable('')
strmeta.__index = G.string
local strview = protect(strmeta)
local function sealed(t) return real[t] or t == G or t == strmeta end
G.rawget = function(t, k) return rawget(real[t] or t, k) end
G.rawset = function(t, k, v)
  if sealed(t) then error('Attempt to modify a readonly table', 0) end
  return rawset(t, k, v)
end
G.next = function(t, k) return next(real[t] or t, k) end
G.pairs = function(t)
  local r = real[t]
  if r then return next, r, nil end
  return pairs(t)
end
G.getmetatable = function(v)
  if type(v) == 'string' then return strview end
  local m = metas[v]
  if m ~= nil then return m or nil end
  return getmetatable(v)
end
G.setmetatable = function(t, mt)
  if sealed(t) then error('Attempt to modify a readonly table', 0) end
  return setmetatable(t, mt)
end
local gmeta = {__newindex = readonly, __index = function(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end}
local proxy = protect(G, protect(gmeta))
G._G = proxy
G.loadstring = function(s, name) return textload(s, name, proxy) end
setmetatable(G, gmeta)
local xpcall = xpcall
local select = select
-- Not in Redis's Lua: they would reach past the proxies.
for _, name in ipairs({'getfenv', 'setfenv', 'newproxy'}) do rawset(G, name, nil) end
local runner = function(f, ...)
  if select('#', ...) == 0 then return xpcall(f, handler) end
  local k, a = ...
  return xpcall(function() return f(k, a) end, handler)
end
return runner, proxy
"#;

impl Scripting {
    fn engine(&mut self) -> Result<Engine, CmdError> {
        if let Some(e) = &self.engine {
            return Ok(e.clone());
        }
        let engine = create_engine(self.rand.clone()).map_err(|e| lua_failure(&e))?;
        self.engine = Some(engine.clone());
        Ok(engine)
    }

    /// Whether a script with this SHA is cached.
    pub fn exists(&self, sha: &[u8]) -> bool {
        std::str::from_utf8(sha).is_ok_and(|s| self.scripts.contains_key(&s.to_ascii_lowercase()))
    }

    /// SCRIPT FLUSH: forgets every script and starts a fresh interpreter.
    pub fn flush(&mut self) {
        self.scripts.clear();
        self.engine = None;
    }

    /// Compiles `body` into the cache (EVAL, SCRIPT LOAD); returns its SHA.
    pub fn load(&mut self, body: &[u8]) -> Result<String, CmdError> {
        let sha = sha1hex(body);
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, skip) = parse_shebang(body)?;
        let engine = self.engine()?;
        let func = engine
            .lua
            .load(&body[skip..])
            .set_name(USER_CHUNK)
            .set_mode(mlua::ChunkMode::Text)
            .into_function()
            .map_err(|e| CmdError::script_compile(&error_text(&e)))?;
        let proxy: Value = engine.globals.raw_get("_G").map_err(|e| lua_failure(&e))?;
        if let Value::Table(env) = proxy {
            func.set_environment(env).map_err(|e| lua_failure(&e))?;
        }
        self.scripts.insert(sha.clone(), Script { func, flags });
        Ok(sha)
    }

    /// Memory the interpreter holds (INFO's used_memory_lua).
    pub fn memory(&self) -> usize {
        self.engine.as_ref().map_or(0, |e| e.lua.used_memory())
    }

    /// Number of cached scripts.
    pub fn cached(&self) -> usize {
        self.scripts.len()
    }
}

/// A Lua error that is not the script's fault (out of memory in the
/// interpreter, a broken glue chunk).
pub(crate) fn lua_failure(e: &mlua::Error) -> CmdError {
    CmdError::err(format!("ERR {}", error_text(e)))
}

/// The message of a Lua error, without mlua's wrapping.
pub fn error_text(e: &mlua::Error) -> String {
    match e {
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::CallbackError { cause, .. } => error_text(cause),
        mlua::Error::MemoryError(m) => m.clone(),
        mlua::Error::ExternalError(e) => e.to_string(),
        other => other.to_string(),
    }
}

pub(crate) fn create_engine(rand: Rc<Cell<u64>>) -> mlua::Result<Engine> {
    let lua = Lua::new_with(
        mlua::StdLib::TABLE | mlua::StdLib::STRING | mlua::StdLib::MATH,
        mlua::LuaOptions::default(),
    )?;
    let globals = lua.globals();
    for name in ["loadfile", "dofile", "print"] {
        globals.raw_set(name, Value::Nil)?;
    }
    libs::install(&lua, &globals, rand)?;
    lua.set_app_data(Deadline(Cell::new(None)));
    let call = CallSlot::new(&lua)?;
    lua.set_app_data(call.clone());
    set_interrupt_hook(&lua, HOOK_EVERY);
    let redis = lua.create_table()?;
    let resp = Rc::new(Cell::new(Proto::Resp2));
    install_redis_api(&lua, &redis, resp.clone(), &call)?;
    globals.raw_set("redis", redis)?;
    let handler = lua.create_function(error_handler)?;
    let (runner, _proxy): (Function, Table) = lua.load(GLUE).set_name(GLUE_CHUNK).call((
        globals.clone(),
        handler,
        lua.create_function(caught_error_text)?,
        lua.create_function(load_text)?,
    ))?;
    Ok(Engine {
        lua,
        globals,
        runner,
        resp,
        call,
    })
}

/// The hook that lets a long script be interrupted: once the running
/// script is past its deadline, it hands control to the script's scoped
/// function (with `nil` where `redis.call` passes a boolean), which has
/// the context to serve the other clients. Library code run by FUNCTION
/// LOAD has no scoped function: past its deadline it is stopped, and
/// every line raises again so `pcall` cannot keep it going.
pub(crate) fn set_interrupt_hook(lua: &Lua, triggers: mlua::HookTriggers) {
    lua.set_hook(triggers, |lua, _| {
        let due = lua
            .app_data_ref::<Deadline>()
            .and_then(|d| d.0.get())
            .is_some_and(|at| std::time::Instant::now() >= at);
        if due {
            let scoped = lua.app_data_ref::<CallSlot>().and_then(|s| s.get(lua));
            match scoped {
                Some(scoped) => scoped.call::<()>(Value::Nil)?,
                None => {
                    set_interrupt_hook(lua, mlua::HookTriggers::EVERY_LINE);
                    return Err(err_table_error(lua, "ERR FUNCTION LOAD timeout"));
                }
            }
        }
        Ok(mlua::VmState::Continue)
    });
}

/// Sets (or clears) when the running script, or library code, times out.
pub(crate) fn set_deadline(lua: &Lua, at: Option<std::time::Instant>) {
    if let Some(d) = lua.app_data_ref::<Deadline>() {
        d.0.set(at);
    }
}

/// The count hook's work while a script runs (Redis's `scriptInterrupt`):
/// past busy-reply-threshold, the other clients are served (and answered
/// `-BUSY`) every time it fires; once killed, the script is stopped.
fn interrupt(lua: &Lua, run: &RefCell<Run>) -> mlua::Result<()> {
    // Never borrowed while Lua code runs; be safe all the same.
    let Ok(mut guard) = run.try_borrow_mut() else {
        return Ok(());
    };
    let run = &mut *guard;
    let ctx = &mut *run.ctx;
    let Some(r) = ctx.state.scripting.running.as_mut() else {
        return Ok(());
    };
    // The hook calls only past the run's deadline: the first time, the
    // script has just timed out.
    if !r.timed_out {
        let elapsed = r.started.elapsed().as_millis();
        r.timed_out = true;
        r.command = run.command.iter().map(<[u8]>::to_vec).collect();
        r.name = run.name.to_string();
        tracing::warn!(
            "Slow script detected: still in execution after {elapsed} milliseconds. You can try killing the script using the {} command. Script name is: {}.",
            if r.eval { "SCRIPT KILL" } else { "FUNCTION KILL" },
            r.name
        );
    }
    if let Some(serve) = ctx.state.events_while_busy.clone() {
        // The other clients' commands run as commands do; the script's
        // command is still the one running when they are done.
        let running = ctx.state.running.take();
        serve(ctx.store, ctx.state);
        ctx.state.running = running;
    }
    if ctx
        .state
        .scripting
        .running
        .as_ref()
        .is_some_and(|r| r.killed)
    {
        tracing::warn!("Lua script killed by user with SCRIPT KILL.");
        // From now on every line raises it again, so a script cannot
        // catch it with pcall and carry on.
        set_interrupt_hook(lua, mlua::HookTriggers::EVERY_LINE);
        return Err(err_table_error(
            lua,
            "ERR Script killed by user with SCRIPT KILL...",
        ));
    }
    Ok(())
}

/// `loadstring` as Redis's Lua has it: every chunk is parsed as text (a
/// binary one is a syntax error, Redis having taken the undumper out), and
/// runs with the read-only globals. The chunk's name is its source up to
/// a NUL, as Lua's C API would read it.
fn load_text(
    lua: &Lua,
    (source, name, env): (mlua::String, Option<mlua::String>, Table),
) -> mlua::Result<(Value, Value)> {
    let bytes = source.as_bytes();
    let name = match &name {
        Some(n) => n.to_string_lossy(),
        None => {
            String::from_utf8_lossy(bytes.split(|&c| c == 0).next().unwrap_or(&[])).into_owned()
        }
    };
    let name = name.split('\0').next().unwrap_or("").to_string();
    // A binary chunk: the text parser's error on its first byte (a space
    // ahead keeps the line, and stops mlua refusing it as binary).
    let spaced;
    let code: &[u8] = if bytes.first() == Some(&0x1b) {
        spaced = [b" ".as_slice(), &bytes[..1]].concat();
        &spaced
    } else {
        &bytes
    };
    let chunk = lua
        .load(code)
        .set_name(name)
        .set_mode(mlua::ChunkMode::Text)
        .set_environment(env);
    match chunk.into_function() {
        Ok(f) => Ok((Value::Function(f), Value::Nil)),
        Err(e) => Ok((
            Value::Nil,
            Value::String(lua.create_string(error_text(&e))?),
        )),
    }
}

/// A table's entries, in `next` order. mlua's pairs iterator hands each
/// key back to `lua_next` after converting it, and its conversion turns a
/// number closer to an integer than `f64::EPSILON` into that integer (a
/// key of 1e-20 comes back as 0), which `lua_next` does not find: it
/// raises, unprotected, across Rust frames. `for_each` keeps the key on
/// the stack.
pub(crate) fn entries(t: &Table) -> mlua::Result<Vec<(Value, Value)>> {
    let mut all = Vec::new();
    t.for_each(|k: Value, v: Value| {
        all.push((k, v));
        Ok(())
    })?;
    Ok(all)
}

/// `t[k] = v` for a key that comes from data: a nil or NaN key is Lua's
/// error (`table index is nil`, as `lua_settable` raises it), returned.
/// mlua's `raw_set` does not check, and Lua would unwind across the Rust
/// frames above it.
pub(crate) fn checked_set(t: &Table, k: Value, v: Value) -> mlua::Result<()> {
    match k {
        Value::Nil => Err(mlua::Error::RuntimeError("table index is nil".into())),
        Value::Number(n) if n.is_nan() => {
            Err(mlua::Error::RuntimeError("table index is NaN".into()))
        }
        k => t.raw_set(k, v),
    }
}

/// The `redis` table's functions that need no running script.
fn install_redis_api(
    lua: &Lua,
    redis: &Table,
    resp: Rc<Cell<Proto>>,
    slot: &CallSlot,
) -> mlua::Result<()> {
    // redis.call and redis.pcall are C functions, as in Redis, so an error
    // is positioned at the script's line even from `return redis.call()`
    // (a Lua tail call would drop the script's frame). They hand the
    // command to the running script's scoped function.
    for (name, raise) in [("call", true), ("pcall", false)] {
        let slot = slot.clone();
        redis.raw_set(
            name,
            lua.create_function(move |lua, args: MultiValue| {
                let Some(f) = slot.get(lua) else {
                    let text =
                        b"ERR redis.call/pcall can only be called inside a script invocation";
                    if raise {
                        return Err(err_table_error(
                            lua,
                            std::str::from_utf8(text).unwrap_or(""),
                        ));
                    }
                    return err_value(lua, text);
                };
                *slot.args.borrow_mut() = args;
                raise_if(f.call(raise)?)
            })?,
        )?;
    }
    let acl = slot.clone();
    redis.raw_set(
        "acl_check_cmd",
        lua.create_function(move |lua, args: MultiValue| {
            let Some(f) = acl.get(lua) else {
                return Err(err_table_error(
                    lua,
                    "ERR redis.acl_check_cmd can only be called inside a script invocation",
                ));
            };
            *acl.args.borrow_mut() = args;
            raise_if(f.call(Value::Integer(ACL_CHECK))?)
        })?,
    )?;
    let in_script = resp.clone();
    let slot = slot.clone();
    redis.raw_set(
        "setresp",
        lua.create_function(move |lua, args: MultiValue| {
            if slot.get(lua).is_none() {
                return Err(err_table_error(
                    lua,
                    "ERR redis.setresp can only be called inside a script invocation",
                ));
            }
            let v = match args.front() {
                Some(Value::Number(n)) if args.len() == 1 => *n as i64,
                Some(Value::Integer(n)) if args.len() == 1 => *n,
                _ if args.len() != 1 => {
                    return Err(err_table_error(
                        lua,
                        "ERR redis.setresp() requires one argument.",
                    ))
                }
                _ => 0,
            };
            in_script.set(match v {
                2 => Proto::Resp2,
                3 => Proto::Resp3,
                _ => return Err(err_table_error(lua, "ERR RESP version must be 2 or 3.")),
            });
            Ok(())
        })?,
    )?;
    redis.raw_set("REDIS_VERSION", crate::commands::info::REDIS_VERSION)?;
    redis.raw_set(
        "REDIS_VERSION_NUM",
        version_num(crate::commands::info::REDIS_VERSION),
    )?;
    for (name, level) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
    ] {
        redis.raw_set(name, level)?;
    }
    for (name, v) in [
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        redis.raw_set(name, v)?;
    }
    redis.raw_set(
        "sha1hex",
        lua.create_function(|lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(err_table_error(lua, "ERR wrong number of arguments"));
            }
            let bytes = match &args[0] {
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Number(n) => lua_number_string(*n).into_bytes(),
                Value::Integer(n) => n.to_string().into_bytes(),
                _ => Vec::new(),
            };
            Ok(sha1hex(&bytes))
        })?,
    )?;
    redis.raw_set(
        "error_reply",
        lua.create_function(|lua, args: MultiValue| status_or_error(lua, args, "err"))?,
    )?;
    redis.raw_set(
        "status_reply",
        lua.create_function(|lua, args: MultiValue| status_or_error(lua, args, "ok"))?,
    )?;
    redis.raw_set(
        "log",
        lua.create_function(|lua, args: MultiValue| {
            if args.len() < 2 {
                return Err(err_table_error(
                    lua,
                    "ERR redis.log() requires two arguments or more.",
                ));
            }
            let level = match &args[0] {
                Value::Number(n) => *n as i64,
                Value::Integer(n) => *n,
                _ => {
                    return Err(err_table_error(
                        lua,
                        "ERR First argument must be a number (log level).",
                    ))
                }
            };
            if !(0..=3).contains(&level) {
                return Err(err_table_error(lua, "ERR Invalid debug level."));
            }
            let mut line = String::new();
            for (i, v) in args.iter().skip(1).enumerate() {
                if i > 0 {
                    line.push(' ');
                }
                if let Some(s) = lua_to_bytes(v) {
                    line.push_str(&String::from_utf8_lossy(&s));
                }
            }
            match level {
                0 => tracing::debug!(target: "lua", "{line}"),
                1 | 2 => tracing::info!(target: "lua", "{line}"),
                _ => tracing::warn!(target: "lua", "{line}"),
            }
            Ok(())
        })?,
    )?;
    redis.raw_set(
        "set_repl",
        lua.create_function(|lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(err_table_error(
                    lua,
                    "ERR redis.set_repl() requires two arguments.",
                ));
            }
            let flags = match &args[0] {
                Value::Number(n) => *n as i64,
                Value::Integer(n) => *n,
                _ => -1,
            };
            if !(0..=3).contains(&flags) {
                return Err(err_table_error(
                    lua,
                    "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                ));
            }
            Ok(())
        })?,
    )?;
    redis.raw_set(
        "replicate_commands",
        lua.create_function(|_, _: MultiValue| Ok(true))?,
    )?;
    // The debugger is not supported: outside it these do nothing, as in
    // Redis when no debugging session is active.
    redis.raw_set(
        "breakpoint",
        lua.create_function(|_, _: MultiValue| Ok(false))?,
    )?;
    redis.raw_set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    Ok(())
}

/// What the running script's function is asked besides a command (its
/// first argument; a boolean asks for a command, nil for the interrupt).
const ACL_CHECK: i64 = 1;

/// The scoped function's answer to a wrapper: the value, or the error
/// table it must raise.
fn raise_if((v, raise): (Value, bool)) -> mlua::Result<Value> {
    if raise {
        if let Value::Table(t) = &v {
            let text: mlua::String = t.raw_get("err")?;
            let counted = t.raw_get::<Option<bool>>("ignore_error_stats_update")?;
            return Err(mlua::Error::external(ErrTable(
                text.as_bytes().to_vec(),
                counted.unwrap_or(false),
            )));
        }
    }
    Ok(v)
}

fn version_num(v: &str) -> i64 {
    let mut n = 0;
    for part in v.split('.').take(3) {
        n = n * 256 + part.parse::<i64>().unwrap_or(0);
    }
    n
}

/// `redis.error_reply(msg)` / `redis.status_reply(msg)`.
fn status_or_error(lua: &Lua, args: MultiValue, field: &str) -> mlua::Result<Table> {
    let text = match args.front() {
        Some(Value::String(s)) if args.len() == 1 => s.as_bytes().to_vec(),
        // Returned, not raised, as Redis does.
        _ => {
            let t = lua.create_table()?;
            t.raw_set("err", "ERR wrong number or type of arguments")?;
            return Ok(t);
        }
    };
    let t = lua.create_table()?;
    if field == "err" {
        let text = if text.first() == Some(&b'-') {
            text
        } else {
            let mut t = b"-".to_vec();
            t.extend_from_slice(&text);
            t
        };
        t.raw_set("err", lua.create_string(error_buff(&text))?)?;
    } else {
        t.raw_set("ok", lua.create_string(&text)?)?;
    }
    Ok(t)
}

/// Redis's `luaPushErrorBuff`: `-CODE msg` keeps its code, a text
/// without the dash gets `ERR`, and so does a dashed one without a space.
fn error_buff(text: &[u8]) -> Vec<u8> {
    let (code, msg): (&[u8], &[u8]) = match text.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&c| c == b' ') {
            Some(sp) => (&rest[..sp], &rest[sp + 1..]),
            None => (b"ERR", rest),
        },
        None => (b"ERR", text),
    };
    let mut out = code.to_vec();
    out.push(b' ');
    out.extend_from_slice(trim_crlf(msg));
    out
}

fn trim_crlf(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|c| !matches!(c, b'\r' | b'\n'))
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|c| !matches!(c, b'\r' | b'\n'))
        .map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

/// An error raised from Rust that the handler turns into the table Redis
/// raises (`{err=…}`): carried as an external error holding the text.
#[derive(Debug)]
pub struct ErrTable(pub Vec<u8>, pub bool);

impl std::fmt::Display for ErrTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl std::error::Error for ErrTable {}

fn err_table_error(_lua: &Lua, text: &str) -> mlua::Error {
    mlua::Error::external(ErrTable(text.as_bytes().to_vec(), false))
}

/// A runtime error from a library function, positioned at the calling
/// line as `luaL_error` does (`user_script:3: message`).
pub fn lua_error(lua: &Lua, message: &str) -> mlua::Error {
    let place = lua
        .inspect_stack(1)
        .filter(|d| d.curr_line() > 0)
        .map(|d| {
            let src = d.source();
            format!(
                "{}:{}: ",
                src.short_src.as_deref().unwrap_or("?"),
                d.curr_line()
            )
        })
        .unwrap_or_default();
    mlua::Error::RuntimeError(format!("{place}{message}"))
}

/// Lua's `tostring` of a number (`%.14g`).
pub fn lua_number_string(n: f64) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "inf" } else { "-inf" }.into();
    }
    crate::resp::format_g(n, 14)
}

/// A string or a number as bytes (Lua's `lua_tolstring` coercion).
pub fn lua_to_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Number(n) => Some(lua_number_string(*n).into_bytes()),
        Value::Integer(n) => Some(n.to_string().into_bytes()),
        _ => None,
    }
}

/// The error handler of every script run: turns any error into Redis's
/// `{err=…, source=…, line=…}` table, positioned at the user's frame.
fn error_handler(lua: &Lua, err: Value) -> mlua::Result<Table> {
    let t = match err {
        Value::Table(t) => t,
        Value::Error(e) => {
            let t = lua.create_table()?;
            match find_err_table(&e) {
                Some((text, counted)) => {
                    t.raw_set("err", lua.create_string(text)?)?;
                    if counted {
                        t.raw_set("ignore_error_stats_update", true)?;
                    }
                }
                None => t.raw_set("err", format!("ERR {}", error_text(&e)))?,
            }
            t
        }
        other => {
            let t = lua.create_table()?;
            let text = match &other {
                Value::Nil => "nil".to_string(),
                Value::Boolean(b) => b.to_string(),
                v => lua_to_bytes(v)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_else(|| format!("{}: {:p}", v.type_name(), v.to_pointer())),
            };
            let mut s = b"ERR ".to_vec();
            match &other {
                Value::String(st) => s.extend_from_slice(&st.as_bytes()),
                _ => s.extend_from_slice(text.as_bytes()),
            }
            t.raw_set("err", lua.create_string(&s)?)?;
            t
        }
    };
    // Level 1 is the function that raised. A C function (error, a
    // library call) reports its caller; glue frames are skipped.
    let mut level = 1;
    let mut skipped_c = false;
    while let Some(d) = lua.inspect_stack(level) {
        let src = d.source();
        let what = src.what;
        // A frame the glue's tail calls left behind says nothing either.
        let glue = src.source.as_deref() == Some(GLUE_CHUNK) || what == "tail";
        if (what == "C" && !skipped_c) || glue {
            skipped_c |= what == "C";
            level += 1;
            continue;
        }
        if let Some(source) = src.source.as_deref() {
            t.raw_set("source", source)?;
            t.raw_set("line", d.curr_line())?;
        }
        break;
    }
    Ok(t)
}

/// What `pcall` hands a script for an error raised from Rust: the
/// message of a failed `redis.call`, or a library's positioned message.
fn caught_error_text(lua: &Lua, e: Value) -> mlua::Result<Value> {
    match e {
        Value::Error(e) => {
            let text = match find_err_table(&e) {
                Some((text, _)) => text,
                None => error_text(&e).into_bytes(),
            };
            Ok(Value::String(lua.create_string(text)?))
        }
        other => Ok(other),
    }
}

fn find_err_table(e: &mlua::Error) -> Option<(Vec<u8>, bool)> {
    match e {
        mlua::Error::ExternalError(x) => x.downcast_ref::<ErrTable>().map(|t| (t.0.clone(), t.1)),
        mlua::Error::CallbackError { cause, .. } => find_err_table(cause),
        mlua::Error::WithContext { cause, .. } => find_err_table(cause),
        _ => None,
    }
}

/// Parses a `#!lua` shebang: the flags and where the code starts (the
/// line feed is kept so line numbers stay right).
fn parse_shebang(body: &[u8]) -> Result<(u32, usize), CmdError> {
    if !body.starts_with(b"#!") {
        return Ok((script_flags::EVAL_COMPAT, 0));
    }
    let Some(end) = body.iter().position(|&c| c == b'\n') else {
        return Err(CmdError::ScriptInvalidShebang);
    };
    let line = &body[..end];
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("#!");
    if engine != "#!lua" {
        return Err(CmdError::script_unknown_engine(engine));
    }
    let mut flags = 0;
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(CmdError::script_unknown_shebang_option(part));
        };
        for f in list.split(',').filter(|f| !f.is_empty()) {
            flags |= match f {
                "no-writes" => script_flags::NO_WRITES,
                "allow-oom" => script_flags::ALLOW_OOM,
                "allow-stale" => script_flags::ALLOW_STALE,
                "no-cluster" => script_flags::NO_CLUSTER,
                "allow-cross-slot-keys" => script_flags::ALLOW_CROSS_SLOT,
                other => return Err(CmdError::script_unknown_flag(other)),
            };
        }
    }
    Ok((flags, end))
}

/// What a running script knows about itself.
struct Run<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    /// The protocol of the script's commands (`redis.setresp`).
    resp: Rc<Cell<Proto>>,
    read_only: bool,
    allow_oom: bool,
    /// Over maxmemory when the script began.
    oom_at_start: bool,
    /// The command that runs the script (FUNCTION STATS shows it).
    command: crate::resp::Args<'c>,
    /// The script's SHA or the function's name.
    name: &'c str,
    /// Scratch argument buffer, reused across calls.
    argv: Vec<u8>,
    spans: Vec<std::ops::Range<usize>>,
    /// Where each command's reply goes, reused across calls.
    out: crate::resp::Reply,
}

/// How a script is invoked.
pub struct Invocation<'k> {
    pub sha: &'k str,
    /// Where KEYS and ARGV are in `command`.
    pub keys: std::ops::Range<usize>,
    pub argv: std::ops::Range<usize>,
    /// EVAL_RO / EVALSHA_RO.
    pub read_only: bool,
    /// The whole command.
    pub command: crate::resp::Args<'k>,
}

/// Runs a cached script and writes its reply (EVAL, EVALSHA and their _RO
/// forms).
pub fn run(ctx: &mut Ctx, inv: Invocation) -> CmdResult {
    let scripting = &mut ctx.state.scripting;
    let Some(script) = scripting.scripts.get(inv.sha) else {
        return Err(CmdError::NoScript);
    };
    let func = script.func.clone();
    let sflags = script.flags;
    let engine = scripting.engine()?;
    run_target(
        ctx,
        Target {
            engine,
            func,
            flags: sflags,
            name: inv.sha,
            keys: inv.keys,
            argv: inv.argv,
            read_only: inv.read_only,
            as_params: false,
            command: inv.command,
        },
    )
}

/// What runs: a script (KEYS and ARGV as globals) or a function (keys
/// and args as its two parameters).
pub(crate) struct Target<'k> {
    engine: Engine,
    func: Function,
    flags: u32,
    /// The SHA or the function's name, for errors.
    name: &'k str,
    /// Where the keys and the arguments are in `command`.
    keys: std::ops::Range<usize>,
    argv: std::ops::Range<usize>,
    read_only: bool,
    as_params: bool,
    /// The whole command.
    command: crate::resp::Args<'k>,
}

pub(crate) fn run_target(ctx: &mut Ctx, target: Target) -> CmdResult {
    let Target {
        engine,
        func,
        flags: sflags,
        name: sha,
        keys: inv_keys,
        argv: inv_argv,
        read_only: inv_read_only,
        as_params,
        command,
    } = target;
    let compat = sflags & script_flags::EVAL_COMPAT != 0;
    if !compat {
        if inv_read_only && sflags & script_flags::NO_WRITES == 0 {
            return Err(CmdError::ScriptWriteFlagRo);
        }
        // Scripts that declare flags are checked up front, as commands are.
        let over = ctx.state.config.maxmemory > 0
            && crate::evict::over_limit(ctx.store, ctx.state)
            && sflags & (script_flags::ALLOW_OOM | script_flags::NO_WRITES) == 0;
        if over {
            return Err(CmdError::ScriptOom);
        }
    }
    let read_only = inv_read_only || (!compat && sflags & script_flags::NO_WRITES != 0);
    let allow_oom = !compat && sflags & script_flags::ALLOW_OOM != 0;
    let oom_at_start =
        ctx.state.config.maxmemory > 0 && crate::evict::over_limit(ctx.store, ctx.state);
    let lua = &engine.lua;
    let keys =
        convert::array(lua, inv_keys.map(|i| command.get(i))).map_err(|e| lua_failure(&e))?;
    let argv =
        convert::array(lua, inv_argv.map(|i| command.get(i))).map_err(|e| lua_failure(&e))?;
    let params = if as_params {
        Some((keys, argv))
    } else {
        engine
            .globals
            .raw_set("KEYS", keys)
            .and_then(|()| engine.globals.raw_set("ARGV", argv))
            .map_err(|e| lua_failure(&e))?;
        None
    };

    let me = ctx.client;
    let db = ctx.state.clients[me].db;
    let outer_tx = ctx.state.transaction.is_some();
    if !outer_tx {
        crate::effects::begin_transaction(ctx.state);
    }
    let started = std::time::Instant::now();
    let threshold = ctx.state.config.busy_reply_threshold;
    set_deadline(
        lua,
        (threshold > 0).then(|| started + std::time::Duration::from_millis(threshold as u64)),
    );
    ctx.state.scripting.running = Some(RunningScript {
        client: me,
        started,
        eval: !as_params,
        name: String::new(),
        command: Vec::new(),
        dirty: false,
        timed_out: false,
        killed: false,
    });
    let caller_proto = ctx.state.clients[me].out.proto;
    engine.resp.set(Proto::Resp2);
    let scratch = std::mem::take(&mut ctx.state.scripting.scratch);
    let mut reply = scratch
        .reply
        .unwrap_or_else(|| crate::resp::Reply::new(caller_proto));
    reply.proto = caller_proto;
    let run = RefCell::new(Run {
        ctx,
        resp: engine.resp.clone(),
        read_only,
        allow_oom,
        oom_at_start,
        command,
        name: sha,
        argv: scratch.argv,
        spans: scratch.spans,
        out: scratch
            .out
            .unwrap_or_else(|| crate::resp::Reply::new(Proto::Resp2)),
    });
    let result: mlua::Result<Outcome> = lua.scope(|scope| {
        let call = scope.create_function(|lua, raise: Value| {
            let args = std::mem::take(&mut *engine.call.args.borrow_mut());
            redis_call(lua, &run, raise, args)
        })?;
        engine.call.set(lua, Value::Function(call))?;
        let outcome = match params {
            Some((k, a)) => engine.runner.call::<(bool, Value)>((func, k, a)),
            None => engine.runner.call::<(bool, Value)>(func),
        };
        engine.call.set(lua, Value::Boolean(false))?;
        let (ok, value) = outcome?;
        let resp = engine.resp.get();
        if ok {
            convert::write_reply(&mut reply, resp, &value, 0)?;
            return Ok(Ok(()));
        }
        // A runtime error: `{err=…, source=…, line=…}`.
        let Value::Table(t) = value else {
            return Ok(Err((b"ERR Error running script".to_vec(), false)));
        };
        let err: Option<mlua::String> = t.raw_get("err")?;
        let mut msg = err.map(|s| s.as_bytes().to_vec()).unwrap_or_default();
        let source: Option<mlua::String> = t.raw_get("source")?;
        let line: Option<i64> = t.raw_get("line")?;
        if let (Some(source), Some(line)) = (source, line) {
            msg.extend_from_slice(format!(" script: {sha}, on ").as_bytes());
            msg.extend_from_slice(&source.as_bytes());
            msg.extend_from_slice(format!(":{line}.").as_bytes());
        }
        let counted: Option<bool> = t.raw_get("ignore_error_stats_update")?;
        Ok(Err((msg, counted.unwrap_or(false))))
    });
    let run = run.into_inner();
    let ctx = run.ctx;
    let mut out = run.out;
    out.buf.clear();
    let finished = ctx.state.scripting.running.take();
    set_deadline(lua, None);
    if finished.as_ref().is_some_and(|r| r.killed) {
        set_interrupt_hook(lua, HOOK_EVERY);
    }
    ctx.state.clients[me].db = db;
    if !outer_tx {
        crate::effects::end_transaction(ctx.state);
    }
    let written = match result {
        Ok(Ok(())) => {
            ctx.out().buf.extend_from_slice(&reply.buf);
            Ok(())
        }
        Ok(Err((msg, counted))) => {
            if counted {
                ctx.out().error(&msg);
            } else {
                crate::commands::reply_error(ctx, &CmdError::Custom(msg));
            }
            Ok(())
        }
        Err(e) => Err(lua_failure(&e)),
    };
    reply.buf.clear();
    ctx.state.scripting.scratch = Scratch {
        argv: run.argv,
        spans: run.spans,
        out: Some(out),
        reply: Some(reply),
    };
    written
}

/// The script's reply is in the scratch reply; or its error line and
/// whether the error was already counted (it came from a command).
type Outcome = Result<(), (Vec<u8>, bool)>;

/// Builds the `{err=…}` value a scoped function hands back to the glue.
fn err_value(lua: &Lua, text: &[u8]) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set("err", lua.create_string(text)?)?;
    Ok(Value::Table(t))
}

/// The error table of a command refused before it ran:
/// `luaPushErrorBuff` over a `-CODE msg` text.
fn refusal(lua: &Lua, text: &[u8], raise: bool) -> mlua::Result<(Value, bool)> {
    let t = lua.create_table()?;
    t.raw_set("err", lua.create_string(trim_crlf(text))?)?;
    t.raw_set("ignore_error_stats_update", true)?;
    Ok((Value::Table(t), raise))
}

/// `redis.call` / `redis.pcall`: runs one command as the script's client.
/// Returns the converted reply and whether the glue must raise it.
fn redis_call(
    lua: &Lua,
    run: &RefCell<Run>,
    raise: Value,
    args: MultiValue,
) -> mlua::Result<(Value, bool)> {
    let raise = match raise {
        Value::Boolean(raise) => raise,
        Value::Integer(ACL_CHECK) => return acl_check(lua, run, args),
        // The count hook, past the deadline.
        _ => return interrupt(lua, run).map(|()| (Value::Nil, false)),
    };
    if args.is_empty() {
        return refusal(
            lua,
            b"ERR Please specify at least one argument for this redis lib call",
            raise,
        );
    }
    let mut guard = run.borrow_mut();
    let run = &mut *guard;
    if let Err(text) = command_args(&args, &mut run.argv, &mut run.spans) {
        drop(guard);
        return refusal(lua, text, raise);
    }
    let argv = std::mem::take(&mut run.argv);
    let spans = std::mem::take(&mut run.spans);
    let outcome = execute(run, crate::resp::Args::new(&argv, &spans));
    run.argv = argv;
    run.spans = spans;
    if let Err(text) = outcome {
        drop(guard);
        return refusal(lua, &text, raise);
    }
    // Parsing runs no Lua code: the borrow may stay.
    let out = &mut run.out;
    let pushed_before;
    let bytes: &[u8] = if out.is_flat() {
        &out.buf
    } else {
        pushed_before = out.take_bytes();
        &pushed_before
    };
    let is_error = bytes.first() == Some(&b'-');
    let value = convert::parse_reply(lua, bytes);
    out.buf.clear();
    Ok((value?, raise && is_error))
}

/// A command's arguments from Lua values (strings, and numbers as Redis
/// formats them), into `argv` and `spans`.
fn command_args(
    args: &MultiValue,
    argv: &mut Vec<u8>,
    spans: &mut Vec<std::ops::Range<usize>>,
) -> Result<(), &'static [u8]> {
    argv.clear();
    spans.clear();
    for v in args.iter() {
        let start = argv.len();
        match v {
            Value::String(s) => argv.extend_from_slice(&s.as_bytes()),
            Value::Number(n) => argv.extend_from_slice(crate::resp::format_g17(*n).as_bytes()),
            Value::Integer(n) => argv.extend_from_slice(n.to_string().as_bytes()),
            _ => return Err(b"ERR Lua redis lib command arguments must be strings or integers"),
        }
        spans.push(start..argv.len());
    }
    Ok(())
}

/// `redis.acl_check_cmd(command, args…)`: whether the script's user may
/// run it (Redis's `luaRedisAclCheckCmdPermissionsCommand`).
fn acl_check(lua: &Lua, run: &RefCell<Run>, args: MultiValue) -> mlua::Result<(Value, bool)> {
    if args.is_empty() {
        let text = b"ERR Please specify at least one argument for this redis lib call";
        return Ok((err_value(lua, text)?, true));
    }
    let (mut argv, mut spans) = (Vec::new(), Vec::new());
    if let Err(text) = command_args(&args, &mut argv, &mut spans) {
        return Ok((err_value(lua, text)?, true));
    }
    let args = crate::resp::Args::new(&argv, &spans);
    let Some(cmd) = crate::commands::meta::lookup_argv(&args).map(|r| r.cmd) else {
        let text = b"ERR Invalid command passed to redis.acl_check_cmd()";
        return Ok((err_value(lua, text)?, true));
    };
    let guard = run.borrow();
    let user = &guard.ctx.state.clients[guard.ctx.client].user;
    Ok((Value::Boolean(user.check(cmd, &args).is_ok()), false))
}

/// Checks and runs one command from a script (Redis's `scriptCall`); its
/// reply is left in `run.out`. Returns the refusal's `CODE message`.
fn execute(run: &mut Run, args: crate::resp::Args) -> Result<(), Vec<u8>> {
    let refuse = |s: &[u8]| Err(s.to_vec());
    let Ok(cmd) = crate::commands::resolve(&args) else {
        let known = crate::commands::meta::lookup_argv(&args).is_some();
        return if known {
            refuse(b"ERR Wrong number of args calling Redis command from script")
        } else {
            refuse(b"ERR Unknown Redis command called from script")
        };
    };
    let ctx = &mut *run.ctx;
    if cmd.flags & flags::NOSCRIPT != 0 && !ctx.state.scripting.allow_noscript {
        return refuse(b"ERR This Redis command is not allowed from script");
    }
    let user = ctx.me().user.clone();
    if let Err(denied) = user.check(cmd, &args) {
        let full = crate::acl::all_rows()[crate::acl::row_id(cmd)]
            .resolved
            .full_name();
        let (reason, object) = crate::commands::acl_denial_object(denied, full.as_bytes(), &args);
        crate::commands::acl_log_denial(ctx, reason, crate::acl::LogContext::Lua, object, None);
        let mut text = b"ERR The user executing the script ".to_vec();
        text.extend_from_slice(crate::error::acl_denied_reason(denied).as_bytes());
        return Err(text);
    }
    let writes = cmd.flags & flags::WRITE != 0;
    if run.read_only && (writes || crate::commands::may_replicate(cmd)) {
        return refuse(b"ERR Write commands are not allowed from read-only scripts.");
    }
    // Whether a write has run: the script's own record, which SCRIPT KILL
    // reads too.
    let dirty = ctx
        .state
        .scripting
        .running
        .as_ref()
        .is_some_and(|r| r.dirty);
    if writes && !dirty {
        if let Some(error) = crate::persist::snapshot::writes_refused(ctx.state) {
            return Err(error.message().to_vec());
        }
    }
    if !run.allow_oom && run.oom_at_start && !dirty && cmd.flags & flags::DENYOOM != 0 {
        return Err(CmdError::Oom.message().to_vec());
    }
    if writes && !dirty {
        if let Some(r) = ctx.state.scripting.running.as_mut() {
            r.dirty = true;
        }
    }
    let me = ctx.client;
    let mut out = std::mem::replace(&mut run.out, crate::resp::Reply::new(Proto::Resp2));
    out.proto = run.resp.get();
    let saved = std::mem::replace(&mut ctx.state.clients[me].out, out);
    crate::commands::call(ctx, cmd, args);
    run.out = std::mem::replace(&mut ctx.state.clients[me].out, saved);
    Ok(())
}
