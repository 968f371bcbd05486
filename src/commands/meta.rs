//! Command introspection: the replies of COMMAND, COMMAND INFO, DOCS, LIST
//! and GETKEYS, generated from the command table.
//!
//! The table's rows give name, arity, flags, legacy key range, group,
//! summary, since and complexity. What they do not carry (argument trees,
//! key specs, explicit ACL categories, tips) comes from Redis 7.0's own
//! command JSON, generated into `redis_docs.rs` by
//! `scripts/gen_redis_docs.py`. redis-cli builds its help and its typing
//! hints from COMMAND DOCS' argument trees, and cluster-aware clients read
//! key specs from COMMAND INFO, so both see what Redis 7.0 would say.

use super::redis_docs::DOCS;
use super::{all, find, flags, Command};
use crate::error::CmdError;
use crate::resp::{Args, Reply};
use crate::store::glob_match;

/// One argument of a command's syntax, as COMMAND DOCS reports it: name,
/// type, key-spec index (-1 for none), token, since, deprecated-since
/// (empty for none), flags ([`ARG_OPTIONAL`] …), and the nested arguments
/// of a `oneof` or `block`.
pub struct A(
    pub &'static str,
    pub &'static str,
    pub i32,
    pub &'static str,
    pub &'static str,
    pub &'static str,
    pub u8,
    pub &'static [A],
);

pub const ARG_OPTIONAL: u8 = 1;
pub const ARG_MULTIPLE: u8 = 2;
pub const ARG_MULTIPLE_TOKEN: u8 = 4;

/// Where a key spec starts searching.
#[derive(Clone)]
pub enum B {
    Unknown,
    /// At this argument index.
    Index(i64),
    /// After this keyword, searched from `startfrom` (negative: from the end).
    Keyword(&'static str, i64),
}

/// How a key spec finds its keys from the start.
#[derive(Clone)]
pub enum F {
    Unknown,
    /// `lastkey` (relative; negative counts from the end), `keystep`, `limit`.
    Range(i64, i64, i64),
    /// `keynumidx`, `firstkey`, `keystep`.
    Keynum(i64, i64, i64),
}

/// A key spec: notes (empty for none), flags, begin search, find keys.
#[derive(Clone)]
pub struct K(pub &'static str, pub &'static [&'static str], pub B, pub F);

/// Redis 7.0's docs for one command, by full name (`config|get`).
pub struct D {
    pub name: &'static str,
    /// Redis's arity and command flags (lower case, hidden ones included),
    /// for tests that keep the table's rows honest.
    pub arity: i32,
    pub flags: &'static [&'static str],
    /// Explicit ACL categories; the implicit ones come from the flags.
    pub acl: &'static [&'static str],
    pub tips: &'static [&'static str],
    pub specs: &'static [K],
    pub args: &'static [A],
    /// `deprecated`, `syscmd`.
    pub doc_flags: &'static [&'static str],
    /// Empty when not deprecated.
    pub deprecated_since: &'static str,
    /// Empty when not deprecated.
    pub replaced_by: &'static str,
    /// (since, change) pairs.
    pub history: &'static [(&'static str, &'static str)],
}

/// Redis's docs for `full_name`, if Redis 7.0 has that command.
pub fn redis_doc(full_name: &str) -> Option<&'static D> {
    DOCS.binary_search_by(|d| d.name.cmp(full_name))
        .ok()
        .map(|i| &DOCS[i])
}

/// ACL categories in the order Redis prints them (`ACL CAT`).
pub const CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// Key-spec flags in the order Redis prints them.
const KEY_FLAGS: &[&str] = &[
    "RO",
    "RW",
    "OW",
    "RM",
    "access",
    "update",
    "insert",
    "delete",
    "not_key",
    "incomplete",
    "variable_flags",
];

/// A command row with its container, if it is a subcommand.
#[derive(Clone, Copy)]
pub struct Resolved {
    pub cmd: &'static Command,
    pub parent: Option<&'static Command>,
}

impl Resolved {
    /// `get`, or `config|get` for a subcommand.
    pub fn full_name(&self) -> String {
        match self.parent {
            Some(p) => format!("{}|{}", p.name, self.cmd.name),
            None => self.cmd.name.to_string(),
        }
    }
}

/// The container of `cmd`, found by identity, for rows the dispatcher
/// remembers without their parent (CLIENT LIST's `cmd=`).
pub fn resolve_row(cmd: &'static Command) -> Resolved {
    if find(cmd.name.as_bytes()).is_some_and(|c| std::ptr::eq(c, cmd)) {
        return Resolved { cmd, parent: None };
    }
    let parent = all()
        .into_iter()
        .find(|p| p.subcommands.iter().any(|s| std::ptr::eq(s, cmd)));
    Resolved { cmd, parent }
}

/// Redis's `lookupCommandBySds`: `get` or `config|get`, any case.
pub fn lookup_full(name: &[u8]) -> Option<Resolved> {
    let mut parts = name.split(|&c| c == b'|');
    let first = parts.next()?;
    let cmd = find(first)?;
    match (parts.next(), parts.next()) {
        (None, _) => Some(Resolved { cmd, parent: None }),
        (Some(sub), None) => cmd.find_subcommand(sub).map(|s| Resolved {
            cmd: s,
            parent: Some(cmd),
        }),
        _ => None,
    }
}

/// Redis's `lookupCommand` over an argument vector: the container's
/// subcommand when it has subcommands and a second argument is given.
pub(crate) fn lookup_argv(args: &Args) -> Option<Resolved> {
    let cmd = find(args.get(0))?;
    if cmd.subcommands.is_empty() || args.len() < 2 {
        return Some(Resolved { cmd, parent: None });
    }
    cmd.find_subcommand(args.get(1)).map(|s| Resolved {
        cmd: s,
        parent: Some(cmd),
    })
}

/// Every row, top-level commands then (after each container) its
/// subcommands, as COMMAND LIST walks them.
pub fn every_row() -> Vec<Resolved> {
    let mut rows = Vec::new();
    for cmd in all() {
        rows.push(Resolved { cmd, parent: None });
        for sub in cmd.subcommands {
            rows.push(Resolved {
                cmd: sub,
                parent: Some(cmd),
            });
        }
    }
    rows
}

/// The category a group implies for commands Redis's docs do not cover.
fn group_category(group: &str) -> Option<&'static str> {
    Some(match group {
        "generic" => "keyspace",
        "string" => "string",
        "list" => "list",
        "set" => "set",
        "sorted-set" => "sortedset",
        "hash" => "hash",
        "pubsub" => "pubsub",
        "transactions" => "transaction",
        "connection" => "connection",
        "scripting" => "scripting",
        "hyperloglog" => "hyperloglog",
        "geo" => "geo",
        "stream" => "stream",
        "bitmap" => "bitmap",
        _ => return None,
    })
}

/// The command's ACL categories: the explicit ones plus those its flags
/// imply (Redis's `setImplicitACLCategories`), in Redis's order.
pub fn categories(r: &Resolved) -> Vec<&'static str> {
    let f = r.cmd.flags;
    let mut cats: Vec<&str> = match redis_doc(&r.full_name()) {
        Some(d) => d.acl.to_vec(),
        None => group_category(r.cmd.group).into_iter().collect(),
    };
    let implied = [
        (flags::WRITE, "write"),
        (flags::READONLY, "read"),
        (flags::ADMIN, "admin"),
        (flags::ADMIN, "dangerous"),
        (flags::PUBSUB, "pubsub"),
        (flags::FAST, "fast"),
        (flags::BLOCKING, "blocking"),
    ];
    for (bit, cat) in implied {
        // Scripting commands are never @read.
        if f & bit != 0 && !(cat == "read" && cats.contains(&"scripting")) {
            cats.push(cat);
        }
    }
    if !cats.contains(&"fast") {
        cats.push("slow");
    }
    CATEGORIES
        .iter()
        .copied()
        .filter(|c| cats.contains(c))
        .collect()
}

/// A key spec derived from a row's legacy range, for commands Redis's docs
/// do not cover.
/// A row's key specs: Redis's, or the one its legacy key range gives
/// when Redis has no docs for it.
fn key_specs(r: &Resolved) -> std::borrow::Cow<'static, [K]> {
    match redis_doc(&r.full_name()) {
        Some(d) => std::borrow::Cow::Borrowed(d.specs),
        None => std::borrow::Cow::Owned(derived_spec(r.cmd).into_iter().collect()),
    }
}

fn derived_spec(cmd: &Command) -> Option<K> {
    let (first, last, step) = cmd.keys;
    if first <= 0 {
        return None;
    }
    let spec_flags: &'static [&'static str] = if cmd.flags & flags::WRITE != 0 {
        &["RW", "update"]
    } else {
        &["RO", "access"]
    };
    let lastkey = if last >= 0 { last - first } else { last };
    Some(K(
        "",
        spec_flags,
        B::Index(first.into()),
        F::Range(lastkey.into(), step.into(), 0),
    ))
}

/// Whether Redis would mark the command `movablekeys`: some key spec is
/// not a plain index-and-range one (`populateCommandLegacyRangeSpec`).
fn movable_keys(specs: &[K]) -> bool {
    if let [K(_, fl, B::Index(_), F::Range(..))] = specs {
        return fl.contains(&"incomplete");
    }
    let mut movable = false;
    let mut prev_last: i64 = 0;
    let mut found = false;
    for K(_, fl, b, f) in specs {
        let (B::Index(pos), F::Range(lastkey, step, _)) = (b, f) else {
            movable = true;
            continue;
        };
        if *step != 1 || (prev_last != 0 && prev_last != pos - 1) {
            movable = true;
            continue;
        }
        if fl.contains(&"incomplete") {
            movable = true;
        }
        found = true;
        let abs = if *lastkey >= 0 {
            lastkey + pos
        } else {
            *lastkey
        };
        // Redis compares as unsigned, so a negative (from the end) wins.
        prev_last = if (abs as u64) > (prev_last as u64) {
            abs
        } else {
            prev_last
        };
    }
    movable || (!specs.is_empty() && !found)
}

/// The legacy (first, last, step) key range COMMAND INFO reports for a
/// command with these key specs (Redis's `populateCommandLegacyRangeSpec`):
/// the plain consecutive ranges merged, (0, 0, 0) when there are none.
pub fn legacy_range(specs: &[K]) -> (i64, i64, i64) {
    if let [K(_, _, B::Index(pos), F::Range(lastkey, step, _))] = specs {
        let last = if *lastkey >= 0 {
            pos + lastkey
        } else {
            *lastkey
        };
        return (*pos, last, *step);
    }
    let (mut first, mut last, mut prev_last) = (i64::MAX, 0i64, 0i64);
    for K(_, _, b, f) in specs {
        let (B::Index(pos), F::Range(lastkey, step, _)) = (b, f) else {
            continue;
        };
        if *step != 1 || (prev_last != 0 && prev_last != pos - 1) {
            continue;
        }
        first = first.min(*pos);
        let abs = if *lastkey >= 0 {
            lastkey + pos
        } else {
            *lastkey
        };
        // Redis compares as unsigned, so a negative (from the end) wins.
        if (abs as u64) > (last as u64) {
            last = abs;
        }
        prev_last = last;
    }
    if first == i64::MAX {
        (0, 0, 0)
    } else {
        (first, last, 1)
    }
}

fn status_set(out: &mut Reply, items: &[&str]) {
    out.set(items.len());
    for item in items {
        out.simple(item.as_bytes());
    }
}

fn write_key_spec(out: &mut Reply, notes: &str, spec_flags: &[&str], b: &B, f: &F) {
    out.map(3 + usize::from(!notes.is_empty()));
    if !notes.is_empty() {
        out.bulk(b"notes");
        out.bulk(notes.as_bytes());
    }
    out.bulk(b"flags");
    let ordered: Vec<&str> = KEY_FLAGS
        .iter()
        .copied()
        .filter(|k| spec_flags.contains(k))
        .collect();
    status_set(out, &ordered);
    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    match b {
        B::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
        B::Index(pos) => {
            out.bulk(b"index");
            out.bulk(b"spec");
            out.map(1);
            out.bulk(b"index");
            out.int(*pos);
        }
        B::Keyword(keyword, startfrom) => {
            out.bulk(b"keyword");
            out.bulk(b"spec");
            out.map(2);
            out.bulk(b"keyword");
            out.bulk(keyword.as_bytes());
            out.bulk(b"startfrom");
            out.int(*startfrom);
        }
    }
    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    match f {
        F::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
        F::Range(lastkey, step, limit) => {
            out.bulk(b"range");
            out.bulk(b"spec");
            out.map(3);
            for (k, v) in [("lastkey", lastkey), ("keystep", step), ("limit", limit)] {
                out.bulk(k.as_bytes());
                out.int(*v);
            }
        }
        F::Keynum(idx, first, step) => {
            out.bulk(b"keynum");
            out.bulk(b"spec");
            out.map(3);
            for (k, v) in [("keynumidx", idx), ("firstkey", first), ("keystep", step)] {
                out.bulk(k.as_bytes());
                out.int(*v);
            }
        }
    }
}

/// One entry of COMMAND / COMMAND INFO (Redis's `addReplyCommandInfo`).
pub fn write_info(out: &mut Reply, r: &Resolved) {
    let cmd = r.cmd;
    let full = r.full_name();
    let doc = redis_doc(&full);
    let mut cmd_flags = cmd.flags;
    if doc.is_some_and(|d| movable_keys(d.specs)) {
        cmd_flags |= flags::MOVABLE_KEYS;
    }
    out.array(10);
    out.bulk(full.as_bytes());
    out.int(cmd.arity.into());
    let names: Vec<&str> = flags::NAMES
        .iter()
        .filter(|(bit, _)| cmd_flags & bit != 0)
        .map(|&(_, name)| name)
        .collect();
    status_set(out, &names);
    let (first, last, step) = cmd.keys;
    out.int(first.into());
    out.int(last.into());
    out.int(step.into());
    let cats: Vec<String> = categories(r).iter().map(|c| format!("@{c}")).collect();
    let cats: Vec<&str> = cats.iter().map(String::as_str).collect();
    status_set(out, &cats);
    out.set(doc.map_or(0, |d| d.tips.len()));
    for tip in doc.map_or(&[][..], |d| d.tips) {
        out.bulk(tip.as_bytes());
    }
    match doc {
        Some(d) => {
            out.set(d.specs.len());
            for K(notes, fl, b, f) in d.specs {
                write_key_spec(out, notes, fl, b, f);
            }
        }
        None => match derived_spec(cmd) {
            Some(K(notes, fl, b, f)) => {
                out.set(1);
                write_key_spec(out, notes, fl, &b, &f);
            }
            None => out.set(0),
        },
    }
    if cmd.subcommands.is_empty() {
        out.set(0);
    } else {
        out.array(cmd.subcommands.len());
        for sub in cmd.subcommands {
            write_info(
                out,
                &Resolved {
                    cmd: sub,
                    parent: Some(cmd),
                },
            );
        }
    }
}

/// Writes `name` and `value` into a map being built, unless `value` is
/// empty, and counts the pair.
fn text_field(out: &mut Reply, pairs: &mut usize, name: &[u8], value: &str) {
    if !value.is_empty() {
        out.bulk(name);
        out.bulk(value.as_bytes());
        *pairs += 1;
    }
}

fn write_args(out: &mut Reply, args: &[A]) {
    out.array(args.len());
    for A(name, kind, spec, token, since, deprecated, arg_flags, sub) in args {
        let map = out.defer();
        out.bulk(b"name");
        out.bulk(name.as_bytes());
        out.bulk(b"type");
        out.bulk(kind.as_bytes());
        let mut pairs = 2;
        if *spec >= 0 {
            out.bulk(b"key_spec_index");
            out.int((*spec).into());
            pairs += 1;
        }
        text_field(out, &mut pairs, b"token", token);
        text_field(out, &mut pairs, b"since", since);
        text_field(out, &mut pairs, b"deprecated_since", deprecated);
        if *arg_flags != 0 {
            out.bulk(b"flags");
            let names: Vec<&str> = [
                (ARG_OPTIONAL, "optional"),
                (ARG_MULTIPLE, "multiple"),
                (ARG_MULTIPLE_TOKEN, "multiple_token"),
            ]
            .iter()
            .filter(|(bit, _)| arg_flags & bit != 0)
            .map(|&(_, n)| n)
            .collect();
            status_set(out, &names);
            pairs += 1;
        }
        if matches!(*kind, "oneof" | "block") {
            out.bulk(b"arguments");
            write_args(out, sub);
            pairs += 1;
        }
        out.fill_map(map, pairs);
    }
}

/// One value of COMMAND DOCS (Redis's `addReplyCommandDocs`).
pub fn write_docs(out: &mut Reply, r: &Resolved) {
    let cmd = r.cmd;
    let doc = redis_doc(&r.full_name());
    let map = out.defer();
    let mut pairs = 0;
    text_field(out, &mut pairs, b"summary", cmd.summary);
    text_field(out, &mut pairs, b"since", cmd.since);
    out.bulk(b"group");
    out.bulk(cmd.group.as_bytes());
    pairs += 1;
    text_field(out, &mut pairs, b"complexity", cmd.complexity);
    if let Some(doc) = doc {
        if !doc.doc_flags.is_empty() {
            out.bulk(b"doc_flags");
            status_set(out, doc.doc_flags);
            pairs += 1;
        }
        text_field(out, &mut pairs, b"deprecated_since", doc.deprecated_since);
        text_field(out, &mut pairs, b"replaced_by", doc.replaced_by);
        if !doc.history.is_empty() {
            out.bulk(b"history");
            out.set(doc.history.len());
            for (since, change) in doc.history {
                out.array(2);
                out.bulk(since.as_bytes());
                out.bulk(change.as_bytes());
            }
            pairs += 1;
        }
        if !doc.args.is_empty() {
            out.bulk(b"arguments");
            write_args(out, doc.args);
            pairs += 1;
        }
    }
    if !cmd.subcommands.is_empty() {
        out.bulk(b"subcommands");
        out.map(cmd.subcommands.len());
        for sub in cmd.subcommands {
            let r = Resolved {
                cmd: sub,
                parent: Some(cmd),
            };
            out.bulk(r.full_name().as_bytes());
            write_docs(out, &r);
        }
        pairs += 1;
    }
    out.fill_map(map, pairs);
}

/// COMMAND LIST's optional filter.
pub enum ListFilter<'a> {
    All,
    /// No module is ever loaded, so this matches nothing.
    Module,
    AclCat(&'a [u8]),
    Pattern(&'a [u8]),
}

/// Full names for COMMAND LIST.
pub fn list(filter: &ListFilter) -> Vec<String> {
    every_row()
        .into_iter()
        .filter(|r| match filter {
            ListFilter::All => true,
            ListFilter::Module => false,
            ListFilter::AclCat(cat) => {
                let cat = String::from_utf8_lossy(cat).to_ascii_lowercase();
                categories(r).contains(&cat.as_str())
            }
            ListFilter::Pattern(p) => glob_match(p, r.full_name().as_bytes(), true),
        })
        .map(|r| r.full_name())
        .collect()
}

/// The key positions (in `args`) and key-spec flags of the command in
/// `args`, for COMMAND GETKEYS / GETKEYSANDFLAGS: Redis's
/// `getKeysUsingKeySpecs` over the command's key specs, or its legacy
/// range when Redis has no docs for it.
pub fn get_keys(args: &Args) -> Result<Vec<(usize, Vec<&'static str>)>, CmdError> {
    let r = lookup_argv(args).ok_or(CmdError::GetkeysInvalidCommand)?;
    let specs = key_specs(&r);
    let specs: &[K] = &specs;
    if !specs.iter().any(|K(_, fl, ..)| !fl.contains(&"not_key")) {
        return Err(CmdError::GetkeysNoKeys);
    }
    if !r.cmd.arity_ok(args.len()) {
        return Err(CmdError::GetkeysArity);
    }
    match keys_from_specs(specs, args, r.cmd.arity) {
        Some(keys) if !keys.is_empty() => Ok(keys),
        _ if r.cmd.flags & flags::NO_MANDATORY_KEYS != 0 => Ok(Vec::new()),
        _ => Err(CmdError::GetkeysInvalidArgs),
    }
}

/// Key-spec flags as ACL reads them: the key is read (`access`).
pub const KEY_READ: u8 = 1;
/// The key is written (`insert`, `delete` or `update`).
pub const KEY_WRITE: u8 = 2;

/// The keys of `args` (run as `r`) that ACL checks, with what is done to
/// each ([`KEY_READ`], [`KEY_WRITE`]): Redis's
/// `getKeysFromCommandWithSpecs`. Key specs answer unless a spec's flags
/// vary with the arguments (SET … GET, BITFIELD) or cannot be followed
/// (SORT … STORE); then the command's own key finder does, as in Redis.
pub fn acl_keys(r: &Resolved, args: &Args) -> Vec<(usize, u8)> {
    let to_acl = |spec_flags: &[&str]| {
        let mut f = 0;
        if spec_flags.contains(&"access") {
            f |= KEY_READ;
        }
        if spec_flags
            .iter()
            .any(|k| matches!(*k, "insert" | "delete" | "update"))
        {
            f |= KEY_WRITE;
        }
        f
    };
    let specs = key_specs(r);
    let specs: &[K] = &specs;
    let varflags = specs
        .iter()
        .any(|K(_, f, ..)| f.contains(&"variable_flags"));
    if !varflags {
        if let Some(keys) = keys_from_specs(specs, args, r.cmd.arity) {
            return keys.into_iter().map(|(i, f)| (i, to_acl(&f))).collect();
        }
    }
    let arg = |i: usize| args.get(i);
    match r.full_name().as_str() {
        "set" => {
            let get = (3..args.len()).any(|i| arg(i).eq_ignore_ascii_case(b"get"));
            vec![(1, if get { KEY_READ | KEY_WRITE } else { KEY_WRITE })]
        }
        "bitfield" => {
            let mut readonly = true;
            let mut i = 2;
            while i < args.len() {
                let rem = args.len() - i - 1;
                let a = arg(i);
                if a.eq_ignore_ascii_case(b"get") && rem >= 2 {
                    i += 3;
                } else if (a.eq_ignore_ascii_case(b"set") || a.eq_ignore_ascii_case(b"incrby"))
                    && rem >= 3
                {
                    readonly = false;
                    break;
                } else if a.eq_ignore_ascii_case(b"overflow") && rem >= 1 {
                    i += 2;
                } else {
                    readonly = false;
                    break;
                }
            }
            let f = if readonly {
                KEY_READ
            } else {
                KEY_READ | KEY_WRITE
            };
            vec![(1, f)]
        }
        "sort_ro" => vec![(1, KEY_READ)],
        "sort" => {
            // Redis's sortGetKeys: options skip their arguments; the last
            // STORE names the destination.
            let mut keys = vec![(1, KEY_READ)];
            let mut store = None;
            let mut i = 2;
            while i < args.len() {
                let a = arg(i);
                if a.eq_ignore_ascii_case(b"limit") {
                    i += 2;
                } else if a.eq_ignore_ascii_case(b"get") || a.eq_ignore_ascii_case(b"by") {
                    i += 1;
                } else if a.eq_ignore_ascii_case(b"store") && i + 1 < args.len() {
                    store = Some(i + 1);
                }
                i += 1;
            }
            keys.extend(store.map(|s| (s, KEY_WRITE)));
            keys
        }
        _ => Vec::new(),
    }
}

fn keys_from_specs(
    specs: &[K],
    args: &Args,
    arity: i32,
) -> Option<Vec<(usize, Vec<&'static str>)>> {
    let argc = args.len() as i64;
    let mut keys = Vec::new();
    for K(_, spec_flags, b, f) in specs {
        if spec_flags.contains(&"not_key") {
            continue;
        }
        let mut first = match b {
            B::Index(pos) => *pos,
            B::Keyword(keyword, startfrom) => {
                let start = if *startfrom > 0 {
                    *startfrom
                } else {
                    argc + startfrom
                };
                let end = if *startfrom > 0 { argc - 1 } else { 1 };
                let mut found = 0;
                let mut i = start;
                while i != end {
                    if i >= argc || i < 1 {
                        break;
                    }
                    if args
                        .get(i as usize)
                        .eq_ignore_ascii_case(keyword.as_bytes())
                    {
                        found = i + 1;
                        break;
                    }
                    i = if start <= end { i + 1 } else { i - 1 };
                }
                if found == 0 {
                    continue;
                }
                found
            }
            B::Unknown => return None,
        };
        let (last, step) = match f {
            F::Range(lastkey, step, limit) => {
                let last = if *lastkey >= 0 {
                    first + lastkey
                } else if *limit == 0 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit + lastkey)
                };
                (last, *step)
            }
            F::Keynum(idx, firstkey, step) => {
                let at = first + idx;
                if *idx >= argc || at >= argc || at < 0 {
                    return None;
                }
                let numkeys = crate::resp::parse_i64(args.get(at as usize)).filter(|&n| n >= 0)?;
                first += firstkey;
                (first.saturating_add(numkeys) - 1, *step)
            }
            F::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut i = first;
        while i <= last {
            if i >= argc || i < first {
                if arity < 0 {
                    i += step.max(1);
                    continue;
                }
                return None;
            }
            let ordered: Vec<&'static str> = KEY_FLAGS
                .iter()
                .copied()
                .filter(|k| spec_flags.contains(k))
                .collect();
            keys.push((i as usize, ordered));
            i += step.max(1);
        }
        if spec_flags.contains(&"incomplete") {
            return None;
        }
    }
    Some(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_docs_are_sorted_for_binary_search() {
        assert!(DOCS.windows(2).all(|w| w[0].name < w[1].name));
        assert!(redis_doc("set").is_some());
        assert!(redis_doc("config|get").is_some());
        assert!(redis_doc("nosuch").is_none());
    }

    #[test]
    fn legacy_ranges_follow_redis() {
        let range = |name: &str| legacy_range(redis_doc(name).unwrap().specs);
        assert_eq!(range("get"), (1, 1, 1));
        assert_eq!(range("mset"), (1, -1, 2));
        assert_eq!(range("sdiffstore"), (1, -1, 1));
        assert_eq!(range("smove"), (1, 2, 1));
        assert_eq!(range("eval"), (0, 0, 0));
        assert_eq!(range("zunionstore"), (1, 1, 1));
        assert_eq!(range("object|encoding"), (2, 2, 1));
        assert_eq!(range("ping"), (0, 0, 0));
    }

    #[test]
    fn movable_keys_follow_redis() {
        let get = redis_doc("get").unwrap();
        assert!(!movable_keys(get.specs));
        let zunion = redis_doc("zunionstore").unwrap();
        assert!(movable_keys(zunion.specs));
        let mset = redis_doc("mset").unwrap();
        assert!(!movable_keys(mset.specs));
    }
}
