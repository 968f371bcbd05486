//! Redis functions (`functions.c`, `function_lua.c`): libraries loaded by
//! FUNCTION LOAD, whose code registers named functions with
//! `redis.register_function`, called by FCALL / FCALL_RO.
//!
//! Functions have their own interpreter, as in Redis, so SCRIPT FLUSH does
//! not touch them and their globals are not the scripts'. A library's code
//! runs once at load time in an environment that offers only
//! `redis.register_function`, `redis.log` and the version fields; the
//! functions it registers keep that environment, whose lookups are then
//! switched to the ordinary globals.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use mlua::{Function, Lua, MultiValue, Table, Value};

use super::{script_flags, Engine, Target};
use crate::commands::Ctx;
use crate::error::{CmdError, CmdResult};

/// Flag names in Redis's order (`scripts_flags_def`).
pub const FLAG_NAMES: &[(u32, &str)] = &[
    (script_flags::NO_WRITES, "no-writes"),
    (script_flags::ALLOW_OOM, "allow-oom"),
    (script_flags::ALLOW_STALE, "allow-stale"),
    (script_flags::NO_CLUSTER, "no-cluster"),
    (script_flags::ALLOW_CROSS_SLOT, "allow-cross-slot-keys"),
];

/// A registered function.
pub struct Func {
    func: Function,
    pub flags: u32,
    pub description: Option<Vec<u8>>,
}

/// A loaded library.
pub struct Library {
    pub code: Vec<u8>,
    pub functions: BTreeMap<String, Func>,
}

impl Library {
    /// Function `name`: Redis finds functions by name case-insensitively
    /// (library names, and names within one library, are exact).
    fn find(&self, name: &str) -> Option<&Func> {
        self.functions.get(name).or_else(|| {
            self.functions
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, f)| f)
        })
    }
}

struct Registered {
    name: String,
    func: Func,
}

type Pending = Rc<RefCell<Option<Vec<Registered>>>>;

#[derive(Clone)]
struct FnEngine {
    engine: Engine,
    /// `newenv()`: a library's environment and the function that switches
    /// it from the load-time API to the globals.
    newenv: Function,
    pending: Pending,
}

/// The function libraries.
pub struct Functions {
    engine: Option<FnEngine>,
    pub libraries: BTreeMap<String, Library>,
    rand: Rc<Cell<u64>>,
}

/// How long FUNCTION LOAD lets a library's code run (Redis's
/// `LOAD_TIMEOUT_MS`).
const LOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

const LOAD_GLUE: &str = r#"
local G, redis, register = ...
local strict = {__index = function(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end}
local readonly = function() error('Attempt to modify a readonly table', 2) end
local lredis = setmetatable({
  register_function = register,
  log = redis.log,
  LOG_DEBUG = redis.LOG_DEBUG, LOG_VERBOSE = redis.LOG_VERBOSE,
  LOG_NOTICE = redis.LOG_NOTICE, LOG_WARNING = redis.LOG_WARNING,
  REDIS_VERSION = redis.REDIS_VERSION, REDIS_VERSION_NUM = redis.REDIS_VERSION_NUM,
}, strict)
local api = setmetatable({redis = setmetatable({}, {__index = lredis, __newindex = readonly})}, strict)
return function()
  local mt = {__index = api, __newindex = readonly, __metatable = false}
  return setmetatable({}, mt), function() mt.__index = G end
end
"#;

/// Redis's `functionsVerifyName`.
fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

fn reg_error(text: &str) -> mlua::Error {
    mlua::Error::external(super::ErrTable(format!("ERR {text}").into_bytes(), false))
}

fn read_flags(t: &Table) -> Option<u32> {
    let mut flags = 0;
    for v in t.clone().sequence_values::<Value>() {
        let Ok(Value::String(s)) = v else {
            return None;
        };
        let s = s.to_string_lossy();
        let (f, _) = FLAG_NAMES
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(&s))?;
        flags |= f;
    }
    Some(flags)
}

fn register(pending: &Pending, args: MultiValue) -> mlua::Result<()> {
    let mut guard = pending.borrow_mut();
    let Some(list) = guard.as_mut() else {
        return Err(reg_error(
            "redis.register_function can only be called on FUNCTION LOAD command",
        ));
    };
    let (name, callback, flags, description) = if args.len() == 1 {
        let Value::Table(t) = &args[0] else {
            return Err(reg_error("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)."));
        };
        let (mut name, mut callback, mut flags, mut desc) = (None, None, 0, None);
        for (k, v) in super::entries(t)? {
            let Value::String(k) = k else {
                return Err(reg_error(
                    "named argument key given to redis.register_function is not a string",
                ));
            };
            let key = k.to_string_lossy().to_ascii_lowercase();
            match key.as_str() {
                "function_name" => match super::lua_to_bytes(&v) {
                    Some(s) => name = Some(s),
                    None => return Err(reg_error("function_name argument given to redis.register_function must be a string")),
                },
                "description" => match super::lua_to_bytes(&v) {
                    Some(s) => desc = Some(s),
                    None => return Err(reg_error("description argument given to redis.register_function must be a string")),
                },
                "callback" => match v {
                    Value::Function(f) => callback = Some(f),
                    _ => return Err(reg_error("callback argument given to redis.register_function must be a function")),
                },
                "flags" => match v {
                    Value::Table(ft) => {
                        flags = read_flags(&ft).ok_or_else(|| reg_error("unknown flag given"))?
                    }
                    _ => return Err(reg_error("flags argument to redis.register_function must be a table representing function flags")),
                },
                _ => return Err(reg_error("unknown argument given to redis.register_function")),
            }
        }
        let Some(name) = name else {
            return Err(reg_error(
                "redis.register_function must get a function name argument",
            ));
        };
        let Some(callback) = callback else {
            return Err(reg_error(
                "redis.register_function must get a callback argument",
            ));
        };
        (name, callback, flags, desc)
    } else if args.len() == 2 {
        let Some(name) = super::lua_to_bytes(&args[0]) else {
            return Err(reg_error(
                "first argument to redis.register_function must be a string",
            ));
        };
        let Value::Function(f) = &args[1] else {
            return Err(reg_error(
                "second argument to redis.register_function must be a function",
            ));
        };
        (name, f.clone(), 0, None)
    } else {
        return Err(reg_error(
            "wrong number of arguments to redis.register_function",
        ));
    };
    if !valid_name(&name) {
        return Err(reg_error("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"));
    }
    let name = String::from_utf8_lossy(&name).into_owned();
    if list.iter().any(|r| r.name == name) {
        return Err(reg_error("Function already exists in the library"));
    }
    list.push(Registered {
        name,
        func: Func {
            func: callback,
            flags,
            description,
        },
    });
    Ok(())
}

fn create(rand: Rc<Cell<u64>>) -> mlua::Result<FnEngine> {
    let engine = super::create_engine(rand)?;
    let pending: Pending = Rc::new(RefCell::new(None));
    let p = pending.clone();
    let lua: &Lua = &engine.lua;
    let reg = lua.create_function(move |_, args: MultiValue| register(&p, args))?;
    let redis: Value = engine.globals.raw_get("redis")?;
    let newenv: Function = lua.load(LOAD_GLUE).set_name(super::GLUE_CHUNK).call((
        engine.globals.clone(),
        redis,
        reg,
    ))?;
    Ok(FnEngine {
        engine,
        newenv,
        pending,
    })
}

/// A library's name and code from its `#!lua name=…` line.
fn metadata(code: &[u8]) -> Result<(String, usize), CmdError> {
    if !code.starts_with(b"#!") {
        return Err(CmdError::err("ERR Missing library metadata"));
    }
    let Some(end) = code.iter().position(|&c| c == b'\n') else {
        return Err(CmdError::err("ERR Invalid library metadata"));
    };
    let line = String::from_utf8_lossy(&code[..end]);
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("#!");
    let mut name = None;
    for part in parts {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case("name=") {
            if name.is_some() {
                return Err(CmdError::err(
                    "ERR Invalid metadata value, name argument was given multiple times",
                ));
            }
            name = Some(part[5..].to_string());
            continue;
        }
        return Err(CmdError::err(format!(
            "ERR Invalid metadata value given: {part}"
        )));
    }
    let Some(name) = name else {
        return Err(CmdError::err("ERR Library name was not given"));
    };
    if !valid_name(name.as_bytes()) {
        return Err(CmdError::err("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"));
    }
    if !engine[2..].eq_ignore_ascii_case("lua") {
        return Err(CmdError::err(format!(
            "ERR Engine '{}' not found",
            &engine[2..]
        )));
    }
    Ok((name, end))
}

/// The library name a library's code declares.
pub fn library_name(code: &[u8]) -> Option<String> {
    metadata(code).ok().map(|(name, _)| name)
}

impl Functions {
    /// No libraries; `rand` is the generator scripts share.
    pub fn new(rand: Rc<Cell<u64>>) -> Self {
        Functions {
            engine: None,
            libraries: BTreeMap::new(),
            rand,
        }
    }

    fn engine(&mut self) -> Result<FnEngine, CmdError> {
        if let Some(e) = &self.engine {
            return Ok(e.clone());
        }
        let e = create(self.rand.clone()).map_err(|e| super::lua_failure(&e))?;
        self.engine = Some(e.clone());
        Ok(e)
    }

    /// FUNCTION LOAD: compiles and runs a library; returns its name.
    pub fn load(&mut self, code: &[u8], replace: bool) -> Result<String, CmdError> {
        let (name, skip) = metadata(code)?;
        if self.libraries.contains_key(&name) && !replace {
            return Err(CmdError::err(format!(
                "ERR Library '{name}' already exists"
            )));
        }
        let fe = self.engine()?;
        let lua = &fe.engine.lua;
        let chunk = lua
            .load(&code[skip..])
            .set_name("@user_function")
            .set_mode(mlua::ChunkMode::Text)
            .into_function()
            .map_err(|e| {
                CmdError::err(format!(
                    "ERR Error compiling function: {}",
                    super::error_text(&e)
                ))
            })?;
        let fail = |e: mlua::Error| super::lua_failure(&e);
        let (env, switch): (Table, Function) = fe.newenv.call(()).map_err(fail)?;
        chunk.set_environment(env).map_err(fail)?;
        *fe.pending.borrow_mut() = Some(Vec::new());
        // Library code only registers functions: Redis stops it at 500 ms.
        let deadline = std::time::Instant::now() + LOAD_TIMEOUT;
        super::set_deadline(lua, Some(deadline));
        let outcome = fe.engine.runner.call::<(bool, Value)>(chunk);
        super::set_deadline(lua, None);
        super::set_interrupt_hook(lua, super::HOOK_EVERY);
        let registered = fe.pending.borrow_mut().take().unwrap_or_default();
        let (ok, value) = outcome.map_err(fail)?;
        if !ok {
            let msg = match value {
                Value::Table(t) => t
                    .raw_get::<Option<mlua::String>>("err")
                    .ok()
                    .flatten()
                    .map(|s| s.to_string_lossy())
                    .unwrap_or_default(),
                _ => String::new(),
            };
            return Err(CmdError::err(format!(
                "ERR Error registering functions: {msg}"
            )));
        }
        if registered.is_empty() {
            return Err(CmdError::err("ERR No functions registered"));
        }
        for r in &registered {
            let taken = self
                .libraries
                .iter()
                .any(|(lib, l)| *lib != name && l.find(&r.name).is_some());
            if taken {
                return Err(CmdError::err(format!(
                    "ERR Function {} already exists",
                    r.name
                )));
            }
        }
        switch.call::<()>(()).map_err(fail)?;
        let functions = registered.into_iter().map(|r| (r.name, r.func)).collect();
        self.libraries.insert(
            name.clone(),
            Library {
                code: code.to_vec(),
                functions,
            },
        );
        Ok(name)
    }

    /// FUNCTION FLUSH: every library, and a fresh interpreter.
    pub fn flush(&mut self) {
        self.libraries.clear();
        self.engine = None;
    }

    /// The library holding function `name`.
    fn find(&self, name: &str) -> Option<&Func> {
        self.libraries.values().find_map(|l| l.find(name))
    }

    /// Memory the functions' interpreter holds (INFO's
    /// used_memory_vm_functions).
    pub fn memory(&self) -> usize {
        self.engine
            .as_ref()
            .map_or(0, |e| e.engine.lua.used_memory())
    }

    pub fn function_count(&self) -> usize {
        self.libraries.values().map(|l| l.functions.len()).sum()
    }
}

/// FCALL / FCALL_RO.
pub fn fcall(
    ctx: &mut Ctx,
    found: Found,
    command: crate::resp::Args,
    keys: std::ops::Range<usize>,
    argv: std::ops::Range<usize>,
    read_only: bool,
) -> CmdResult {
    let name = String::from_utf8_lossy(command.get(1));
    let Found { func, flags } = found;
    let engine = ctx.state.scripting.functions.engine()?.engine;
    super::run_target(
        ctx,
        Target {
            engine,
            func,
            flags,
            name: &name,
            keys,
            argv,
            read_only,
            as_params: true,
            command,
        },
    )
}

/// A function FCALL found, to call.
pub struct Found {
    func: Function,
    flags: u32,
}

/// The function FCALL names (looked up before its key count is read).
pub fn lookup(ctx: &Ctx, name: &[u8]) -> Option<Found> {
    let name = String::from_utf8_lossy(name);
    let f = ctx.state.scripting.functions.find(&name)?;
    Some(Found {
        func: f.func.clone(),
        flags: f.flags,
    })
}

impl std::fmt::Debug for Functions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Functions")
            .field("libraries", &self.libraries.len())
            .finish()
    }
}
