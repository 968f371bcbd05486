//! Users and their permissions (Redis 7.0's `acl.c`).
//!
//! A [`User`] has flags (`on`/`off`, `nopass`), SHA-256 password hashes
//! and one or more [`Selector`]s: the root one, written outside
//! parentheses, and any added with `(…)`. A selector says which commands
//! (a bit per command row, set and cleared by `+cmd`, `-cmd`, `+@cat`,
//! `-@cat`), which keys (`~pattern`, `%R~`, `%W~`) and which Pub/Sub
//! channels (`&pattern`) it allows. A command is allowed when one selector
//! allows all of it.
//!
//! The registry ([`Acl`]) maps names to users. Users are immutable values
//! shared with the clients authenticated as them (`Rc<User>`): a change
//! builds a new user and hands it to those clients, so a permission check
//! reads the client's own user and never looks a name up. A user who may
//! do everything is marked once ([`User::unrestricted`]), so the check
//! costs one branch for most connections.
//!
//! Rules are parsed here ([`User::apply`], [`parse_rules`]) and printed back
//! the way Redis prints them (`ACL LIST`, `ACL GETUSER`, the ACL file).
//! Where Redis's own output depends on its hash table's order (the single
//! commands after the categories), rizzler lists them in command table
//! order.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::BuildHasherDefault;
use std::rc::Rc;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::commands::meta::{self, Resolved, CATEGORIES, KEY_READ, KEY_WRITE};
use crate::commands::{flags, Command};
use crate::error::AclRuleError;
use crate::resp::Args;
use crate::server::{AddrHasher, Request, State};
use crate::store::glob_match;

/// Length of a password hash in hex.
pub const HASH_LEN: usize = 64;

/// A password hash, as lower-case hex (what `ACL GETUSER` shows).
pub type PassHash = [u8; HASH_LEN];

/// Hashes a password the way Redis stores it.
pub fn hash_password(pass: &[u8]) -> PassHash {
    let digest = Sha256::digest(pass);
    let mut hex = [0u8; HASH_LEN];
    for (i, b) in digest.iter().enumerate() {
        hex[i * 2] = b"0123456789abcdef"[(b >> 4) as usize];
        hex[i * 2 + 1] = b"0123456789abcdef"[(b & 15) as usize];
    }
    hex
}

/// Compares without stopping at the first difference, so timing does not
/// tell how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// ---------------------------------------------------------------------------
// Command rows
// ---------------------------------------------------------------------------

/// One command row as ACL sees it: its id (a bit in a selector), its
/// categories and, for a container, the ids of its subcommands.
pub struct Row {
    pub resolved: Resolved,
    /// Bit `i` set: the row is in `CATEGORIES[i]`.
    pub categories: u32,
    pub subcommands: std::ops::Range<usize>,
}

struct Rows {
    rows: Vec<Row>,
    by_addr: HashMap<usize, usize, BuildHasherDefault<AddrHasher>>,
}

fn rows() -> &'static Rows {
    static ROWS: OnceLock<Rows> = OnceLock::new();
    ROWS.get_or_init(|| {
        let mut rows: Vec<Row> = Vec::new();
        for r in meta::every_row() {
            let cats = meta::categories(&r);
            let categories = CATEGORIES
                .iter()
                .enumerate()
                .filter(|(_, c)| cats.contains(c))
                .fold(0u32, |acc, (i, _)| acc | 1 << i);
            rows.push(Row {
                resolved: r,
                categories,
                subcommands: 0..0,
            });
        }
        // every_row lists a container's subcommands right after it.
        for (i, row) in rows.iter_mut().enumerate() {
            let n = row.resolved.cmd.subcommands.len();
            if row.resolved.parent.is_none() && n > 0 {
                row.subcommands = i + 1..i + 1 + n;
            }
        }
        let by_addr = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.resolved.cmd as *const Command as usize, i))
            .collect();
        Rows { rows, by_addr }
    })
}

/// Every command row, in table order (a container, then its subcommands).
pub fn all_rows() -> &'static [Row] {
    &rows().rows
}

/// The id of a command row.
pub fn row_id(cmd: &'static Command) -> usize {
    rows()
        .by_addr
        .get(&(cmd as *const Command as usize))
        .copied()
        .unwrap_or(0)
}

/// The category called `name`, any case: its bit.
pub fn category_bit(name: &[u8]) -> Option<u32> {
    CATEGORIES
        .iter()
        .position(|c| c.as_bytes().eq_ignore_ascii_case(name))
        .map(|i| 1 << i)
}

/// The row for `name` (`get`, `config|get`), as Redis's `ACLLookupCommand`.
fn lookup(name: &[u8]) -> Option<usize> {
    meta::lookup_full(name).map(|r| row_id(r.cmd))
}

// ---------------------------------------------------------------------------
// Selectors
// ---------------------------------------------------------------------------

/// A key pattern with the access it grants ([`KEY_READ`] | [`KEY_WRITE`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPattern {
    pub access: u8,
    pub pattern: Vec<u8>,
}

impl KeyPattern {
    fn describe(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(match self.access {
            KEY_READ => b"%R~",
            KEY_WRITE => b"%W~",
            _ => b"~",
        });
        out.extend_from_slice(&self.pattern);
    }
}

/// What one set of rules allows (Redis's `aclSelector`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    all_keys: bool,
    all_channels: bool,
    /// Set by `+@all` and cleared by any removal: every command, those
    /// added later included, runs without looking at `commands`.
    all_commands: bool,
    /// One bit per row, plus a last bit that only `+@all` sets: it tells
    /// `+@all …` from `-@all …` when the rules are printed.
    commands: Vec<u64>,
    /// Allowed first arguments of otherwise denied commands
    /// (`+select|0`), by row id.
    first_args: BTreeMap<usize, Vec<Vec<u8>>>,
    keys: Vec<KeyPattern>,
    channels: Vec<Vec<u8>>,
}

impl Selector {
    /// An empty selector; `all_channels` is `acl-pubsub-default`.
    fn new(all_channels: bool) -> Selector {
        let bits = all_rows().len() + 1;
        Selector {
            all_keys: false,
            all_channels,
            all_commands: false,
            commands: vec![0; bits.div_ceil(64)],
            first_args: BTreeMap::new(),
            keys: Vec::new(),
            channels: Vec::new(),
        }
    }

    fn future_bit() -> usize {
        all_rows().len()
    }

    fn bit(&self, id: usize) -> bool {
        self.commands
            .get(id / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if let Some(w) = self.commands.get_mut(id / 64) {
            if on {
                *w |= 1 << (id % 64);
            } else {
                *w &= !(1 << (id % 64));
                self.all_commands = false;
            }
        }
    }

    /// Allows or denies a row, and with a container every subcommand
    /// (Redis's `ACLChangeSelectorPerm`).
    fn change(&mut self, id: usize, on: bool) {
        self.set_bit(id, on);
        self.first_args.remove(&id);
        if let Some(row) = all_rows().get(id) {
            for sub in row.subcommands.clone() {
                self.set_bit(sub, on);
            }
        }
    }

    fn change_category(&mut self, bit: u32, on: bool) {
        for (id, row) in all_rows().iter().enumerate() {
            if row.categories & bit != 0 {
                self.change(id, on);
            }
        }
    }

    fn all(&mut self, on: bool) {
        let fill = if on { u64::MAX } else { 0 };
        self.commands.iter_mut().for_each(|w| *w = fill);
        self.all_commands = on;
        self.first_args.clear();
    }

    /// Applies one selector rule (Redis's `ACLSetSelector`).
    fn apply(&mut self, op: &[u8]) -> Result<(), AclRuleError> {
        let is = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
        if op.is_empty() {
            return Err(AclRuleError::Syntax);
        }
        if is("allkeys") || is("~*") {
            self.all_keys = true;
            self.keys.clear();
        } else if is("resetkeys") {
            self.all_keys = false;
            self.keys.clear();
        } else if is("allchannels") || is("&*") {
            self.all_channels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.all_channels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.all(true);
        } else if is("nocommands") || is("-@all") {
            self.all(false);
        } else if op[0] == b'~' || op[0] == b'%' {
            if self.all_keys {
                return Err(AclRuleError::KeysAfterAll);
            }
            let (access, pattern) = key_rule(op)?;
            if pattern.iter().any(|&c| is_c_space(c) || c == 0) {
                return Err(AclRuleError::Syntax);
            }
            match self.keys.iter_mut().find(|k| k.pattern == pattern) {
                Some(k) => k.access |= access,
                None => self.keys.push(KeyPattern {
                    access,
                    pattern: pattern.to_vec(),
                }),
            }
        } else if op[0] == b'&' {
            if self.all_channels {
                return Err(AclRuleError::ChannelsAfterAll);
            }
            let pattern = &op[1..];
            if pattern.iter().any(|&c| is_c_space(c) || c == 0) {
                return Err(AclRuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pattern) {
                self.channels.push(pattern.to_vec());
            }
        } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
            let bit = category_bit(&op[2..]).ok_or(AclRuleError::UnknownCommand)?;
            self.change_category(bit, op[0] == b'+');
        } else if op[0] == b'+' {
            self.allow_command(&op[1..])?;
        } else if op[0] == b'-' {
            let id = lookup(&op[1..]).ok_or(AclRuleError::UnknownCommand)?;
            self.change(id, false);
        } else {
            return Err(AclRuleError::Syntax);
        }
        Ok(())
    }

    /// `+cmd`, `+container|sub`, or `+cmd|first-arg`.
    fn allow_command(&mut self, name: &[u8]) -> Result<(), AclRuleError> {
        let Some(bar) = name.iter().rposition(|&c| c == b'|') else {
            let id = lookup(name).ok_or(AclRuleError::UnknownCommand)?;
            self.change(id, true);
            return Ok(());
        };
        let (base, sub) = (&name[..bar], &name[bar + 1..]);
        let id = lookup(base).ok_or(AclRuleError::UnknownCommand)?;
        let row = &all_rows()[id];
        if row.resolved.parent.is_some() {
            return Err(AclRuleError::FirstArgOfSubcommand);
        }
        if sub.is_empty() {
            return Err(AclRuleError::Syntax);
        }
        if !row.resolved.cmd.subcommands.is_empty() {
            let id = lookup(name).ok_or(AclRuleError::UnknownCommand)?;
            self.change(id, true);
        } else {
            tracing::warn!(
                "Deprecation warning: Allowing a first arg of an otherwise blocked command is a misuse of ACL and may get disabled in the future (offender: +{})",
                String::from_utf8_lossy(name)
            );
            let args = self.first_args.entry(id).or_default();
            if !args.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                args.push(sub.to_vec());
            }
        }
        Ok(())
    }

    /// Whether this selector lets `row` run with `args` (Redis's
    /// `ACLSelectorCheckCmd`); `keys` caches the command's keys across
    /// selectors.
    fn check(
        &self,
        row: &Row,
        id: usize,
        args: &Args,
        keys: &mut Option<Vec<(usize, u8)>>,
    ) -> Result<(), Denied> {
        let cmd = row.resolved.cmd;
        if !self.all_commands && cmd.flags & flags::NO_AUTH == 0 && !self.bit(id) {
            let at = if row.resolved.parent.is_some() { 2 } else { 1 };
            let allowed = args.len() >= 2
                && at < args.len()
                && self
                    .first_args
                    .get(&id)
                    .is_some_and(|a| a.iter().any(|a| a.eq_ignore_ascii_case(args.get(at))));
            if !allowed {
                return Err(Denied::Command);
            }
        }
        if !self.all_keys {
            let keys = keys.get_or_insert_with(|| meta::acl_keys(&row.resolved, args));
            for &(pos, access) in keys.iter() {
                if !self.key_allowed(args.get(pos), access) {
                    return Err(Denied::Key(pos));
                }
            }
        }
        if !self.all_channels {
            for (pos, pattern) in channels_of(cmd, args) {
                if !channel_allowed(&self.channels, args.get(pos), pattern) {
                    return Err(Denied::Channel(pos));
                }
            }
        }
        Ok(())
    }

    fn key_allowed(&self, key: &[u8], access: u8) -> bool {
        self.all_keys
            || self
                .keys
                .iter()
                .any(|k| k.access & access == access && glob_match(&k.pattern, key, false))
    }

    /// The command rules, as `ACL GETUSER` shows them (Redis's
    /// `ACLDescribeSelectorCommandRules`): `+@all` or `-@all`, then the
    /// categories that best approach the bitmap, then single commands.
    fn describe_commands(&self) -> Vec<u8> {
        let mut rules = Vec::new();
        let additive = !self.bit(Self::future_bit());
        let mut fake = Selector::new(false);
        fake.all(!additive);
        rules.extend_from_slice(if additive { b"-@all " } else { b"+@all " });
        let mut temp = self.clone();
        let mut applied = [false; 32];
        let rows = all_rows();
        loop {
            let mut best = None;
            let (mut mindiff, mut maxsame) = (usize::MAX, 0);
            for (j, _) in CATEGORIES.iter().enumerate() {
                if applied[j] {
                    continue;
                }
                let (mut on, mut off) = (0, 0);
                for (id, row) in rows.iter().enumerate() {
                    if row.categories & (1 << j) != 0 {
                        if temp.bit(id) {
                            on += 1;
                        } else {
                            off += 1;
                        }
                    }
                }
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                    best = Some(j);
                    mindiff = diff;
                    maxsame = same;
                }
            }
            let Some(j) = best else { break };
            fake.change_category(1 << j, additive);
            temp.change_category(1 << j, !additive);
            rules.push(if additive { b'+' } else { b'-' });
            rules.push(b'@');
            rules.extend_from_slice(CATEGORIES[j].as_bytes());
            rules.push(b' ');
            applied[j] = true;
        }
        for (id, row) in rows.iter().enumerate() {
            let (mine, theirs) = (self.bit(id), fake.bit(id));
            if mine != theirs {
                rules.push(if mine { b'+' } else { b'-' });
                rules.extend_from_slice(row.resolved.full_name().as_bytes());
                rules.push(b' ');
                fake.change(id, mine);
            }
            if !mine {
                for arg in self.first_args.get(&id).into_iter().flatten() {
                    rules.push(b'+');
                    rules.extend_from_slice(row.resolved.full_name().as_bytes());
                    rules.push(b'|');
                    rules.extend_from_slice(arg);
                    rules.push(b' ');
                }
            }
        }
        rules.pop();
        rules
    }

    /// `keys` of `ACL GETUSER`.
    pub fn describe_keys(&self) -> Vec<u8> {
        if self.all_keys {
            return b"~*".to_vec();
        }
        let mut out = Vec::new();
        for (i, k) in self.keys.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            k.describe(&mut out);
        }
        out
    }

    /// `channels` of `ACL GETUSER`.
    pub fn describe_channels(&self) -> Vec<u8> {
        if self.all_channels {
            return b"&*".to_vec();
        }
        let mut out = Vec::new();
        for (i, c) in self.channels.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.push(b'&');
            out.extend_from_slice(c);
        }
        out
    }

    /// The selector as rules (Redis's `ACLDescribeSelector`).
    fn describe(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.all_keys {
            out.extend_from_slice(b"~* ");
        } else {
            for k in &self.keys {
                k.describe(&mut out);
                out.push(b' ');
            }
        }
        if self.all_channels {
            out.extend_from_slice(b"&* ");
        } else {
            out.extend_from_slice(b"resetchannels ");
            for c in &self.channels {
                out.push(b'&');
                out.extend_from_slice(c);
                out.push(b' ');
            }
        }
        out.extend_from_slice(&self.describe_commands());
        out
    }

    /// `commands`, `keys` and `channels` of `ACL GETUSER`.
    pub fn describe_fields(&self) -> [(&'static str, Vec<u8>); 3] {
        [
            ("commands", self.describe_commands()),
            ("keys", self.describe_keys()),
            ("channels", self.describe_channels()),
        ]
    }
}

/// C's `isspace`.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// `~pattern` or `%RW~pattern`: the access and the pattern.
fn key_rule(op: &[u8]) -> Result<(u8, &[u8]), AclRuleError> {
    if op[0] == b'~' {
        return Ok((KEY_READ | KEY_WRITE, &op[1..]));
    }
    let mut access = 0;
    for (i, &c) in op.iter().enumerate().skip(1) {
        match c.to_ascii_uppercase() {
            b'R' if access & KEY_READ == 0 => access |= KEY_READ,
            b'W' if access & KEY_WRITE == 0 => access |= KEY_WRITE,
            // Redis 7.0 accepts `%` and `%R` without the `~` and then
            // panics printing a pattern without access: both are refused.
            b'~' if access != 0 => return Ok((access, &op[i + 1..])),
            _ => return Err(AclRuleError::Syntax),
        }
    }
    Err(AclRuleError::Syntax)
}

/// The channel arguments ACL checks, and whether each is a pattern
/// (Redis's `commands_with_channels`; unsubscribing is never checked).
fn channels_of(cmd: &Command, args: &Args) -> Vec<(usize, bool)> {
    match cmd.name {
        "publish" | "spublish" if args.len() > 1 => vec![(1, false)],
        "subscribe" | "ssubscribe" => (1..args.len()).map(|i| (i, false)).collect(),
        "psubscribe" => (1..args.len()).map(|i| (i, true)).collect(),
        _ => Vec::new(),
    }
}

/// A channel against a list of channel patterns; a PSUBSCRIBE pattern must
/// equal one literally.
fn channel_allowed(list: &[Vec<u8>], channel: &[u8], is_pattern: bool) -> bool {
    list.iter().any(|p| {
        if is_pattern {
            p == channel
        } else {
            glob_match(p, channel, false)
        }
    })
}

/// Why a command was refused, in Redis's order of precedence when
/// selectors disagree (command < key < channel).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Denied {
    Command,
    /// The argument index of the key.
    Key(usize),
    /// The argument index of the channel.
    Channel(usize),
}

impl Denied {
    fn rank(self) -> (u8, usize) {
        match self {
            Denied::Command => (1, 0),
            Denied::Key(i) => (2, i),
            Denied::Channel(i) => (4, i),
        }
    }
}

// ---------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------

const ENABLED: u8 = 1;
const DISABLED: u8 = 2;
const NOPASS: u8 = 4;
const SANITIZE: u8 = 8;
const SKIP_SANITIZE: u8 = 16;

/// Flag names in the order Redis prints them.
const FLAG_NAMES: [(u8, &str); 5] = [
    (ENABLED, "on"),
    (DISABLED, "off"),
    (NOPASS, "nopass"),
    (SKIP_SANITIZE, "skip-sanitize-payload"),
    (SANITIZE, "sanitize-payload"),
];

/// A user: flags, password hashes and selectors (the root one first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: Vec<u8>,
    flags: u8,
    passwords: Vec<PassHash>,
    selectors: Vec<Selector>,
    /// Some selector allows every command, key and channel.
    unrestricted: bool,
}

impl User {
    /// A new user: off, no password, no permissions (Redis's
    /// `ACLCreateUser`); `all_channels` is `acl-pubsub-default`.
    pub fn new(name: &[u8], all_channels: bool) -> User {
        User {
            name: name.to_vec(),
            flags: DISABLED,
            passwords: Vec::new(),
            selectors: vec![Selector::new(all_channels)],
            unrestricted: false,
        }
    }

    /// The `default` user as Redis creates it: on, nopass, everything.
    pub fn new_default() -> User {
        let mut u = User::new(b"default", false);
        for rule in ["+@all", "~*", "&*", "on", "nopass"] {
            let _ = u.apply(rule.as_bytes(), false);
        }
        u
    }

    /// Redis's user-less client (the AOF loader): allowed everything.
    pub fn superuser() -> User {
        let mut u = User::new_default();
        u.name = b"(superuser)".to_vec();
        u
    }

    pub fn enabled(&self) -> bool {
        self.flags & DISABLED == 0
    }

    pub fn nopass(&self) -> bool {
        self.flags & NOPASS != 0
    }

    /// Whether every command, key and channel is allowed: the check can
    /// be skipped.
    pub fn unrestricted(&self) -> bool {
        self.unrestricted
    }

    pub fn passwords(&self) -> &[PassHash] {
        &self.passwords
    }

    pub fn selectors(&self) -> &[Selector] {
        &self.selectors
    }

    /// The flag names `ACL GETUSER` lists.
    pub fn flag_names(&self) -> Vec<&'static str> {
        FLAG_NAMES
            .iter()
            .filter(|(f, _)| self.flags & f != 0)
            .map(|(_, n)| *n)
            .collect()
    }

    fn refresh(&mut self) {
        self.unrestricted = self
            .selectors
            .iter()
            .any(|s| s.all_commands && s.all_keys && s.all_channels);
    }

    /// Applies one rule (Redis's `ACLSetUser`). `all_channels` is
    /// `acl-pubsub-default`, for selectors the rule creates.
    pub fn apply(&mut self, op: &[u8], all_channels: bool) -> Result<(), AclRuleError> {
        let result = self.apply_inner(op, all_channels);
        self.refresh();
        result
    }

    fn apply_inner(&mut self, op: &[u8], all_channels: bool) -> Result<(), AclRuleError> {
        let is = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
        if op.is_empty() {
            return Ok(());
        }
        if is("on") {
            self.flags = (self.flags | ENABLED) & !DISABLED;
        } else if is("off") {
            self.flags = (self.flags | DISABLED) & !ENABLED;
        } else if is("skip-sanitize-payload") {
            self.flags = (self.flags | SKIP_SANITIZE) & !SANITIZE;
        } else if is("sanitize-payload") {
            self.flags = (self.flags | SANITIZE) & !SKIP_SANITIZE;
        } else if is("nopass") {
            self.flags |= NOPASS;
            self.passwords.clear();
        } else if is("resetpass") {
            self.flags &= !NOPASS;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let hash = password_rule(op)?;
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.flags &= !NOPASS;
        } else if op[0] == b'<' || op[0] == b'!' {
            let hash = password_rule(op)?;
            let at = self
                .passwords
                .iter()
                .position(|p| *p == hash)
                .ok_or(AclRuleError::NoSuchPassword)?;
            self.passwords.remove(at);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' && op.len() >= 2 {
            let mut s = Selector::new(all_channels);
            for rule in split_words(&op[1..op.len() - 1])? {
                s.apply(&rule)?;
            }
            self.selectors.push(s);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            self.flags &= !NOPASS;
            self.passwords.clear();
            let root = &mut self.selectors[0];
            root.all_keys = false;
            root.keys.clear();
            root.all_channels = all_channels;
            root.channels.clear();
            self.flags = (self.flags | DISABLED | SANITIZE) & !(ENABLED | SKIP_SANITIZE);
            self.selectors.truncate(1);
            self.selectors[0].all(false);
        } else {
            self.selectors[0].apply(op)?;
        }
        Ok(())
    }

    /// Whether `pass` is one of the user's passwords (any, for `nopass`);
    /// a disabled user matches nothing.
    pub fn password_ok(&self, pass: &[u8]) -> bool {
        if !self.enabled() {
            return false;
        }
        if self.nopass() {
            return true;
        }
        let hash = hash_password(pass);
        // Every hash is compared, so timing does not tell which matched.
        self.passwords
            .iter()
            .fold(false, |ok, p| constant_time_eq(p, &hash) | ok)
    }

    /// Whether the user may run `cmd` with `args` (Redis's
    /// `ACLCheckAllUserCommandPerm`): one selector must allow all of it.
    pub fn check(&self, cmd: &'static Command, args: &Args) -> Result<(), Denied> {
        if self.unrestricted {
            return Ok(());
        }
        let id = row_id(cmd);
        let row = &all_rows()[id];
        let mut keys = None;
        let mut worst = Denied::Command;
        for s in &self.selectors {
            match s.check(row, id, args, &mut keys) {
                Ok(()) => return Ok(()),
                Err(d) if d.rank() > worst.rank() => worst = d,
                Err(_) => {}
            }
        }
        Err(worst)
    }

    /// Whether the user may use `channel` (a pattern when `is_pattern`).
    pub fn channel_allowed(&self, channel: &[u8], is_pattern: bool) -> bool {
        self.selectors
            .iter()
            .any(|s| s.all_channels || channel_allowed(&s.channels, channel, is_pattern))
    }

    /// The user as rules (Redis's `ACLDescribeUser`): what `ACL LIST` and
    /// the ACL file show after `user <name> `.
    pub fn describe(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for name in self.flag_names() {
            out.extend_from_slice(name.as_bytes());
            out.push(b' ');
        }
        for p in &self.passwords {
            out.push(b'#');
            out.extend_from_slice(p);
            out.push(b' ');
        }
        for (i, s) in self.selectors.iter().enumerate() {
            if i == 0 {
                out.extend_from_slice(&s.describe());
            } else {
                out.extend_from_slice(b" (");
                out.extend_from_slice(&s.describe());
                out.push(b')');
            }
        }
        out
    }

    /// `user <name> <rules>`, an ACL LIST line.
    pub fn list_line(&self) -> Vec<u8> {
        let mut line = b"user ".to_vec();
        line.extend_from_slice(&self.name);
        line.push(b' ');
        line.extend_from_slice(&self.describe());
        line
    }
}

/// `>pass`, `<pass` hash the password; `#hash`, `!hash` check the hash.
fn password_rule(op: &[u8]) -> Result<PassHash, AclRuleError> {
    let rest = &op[1..];
    if op[0] == b'>' || op[0] == b'<' {
        return Ok(hash_password(rest));
    }
    let hash: PassHash = rest.try_into().map_err(|_| AclRuleError::BadHash)?;
    if !hash.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(AclRuleError::BadHash);
    }
    Ok(hash)
}

/// Redis's `sdssplitargs` over a selector's inside.
fn split_words(text: &[u8]) -> Result<Vec<Vec<u8>>, AclRuleError> {
    let (mut scratch, mut spans) = (Vec::new(), Vec::new());
    crate::resp::split_args(text, &mut scratch, &mut spans).map_err(|_| AclRuleError::Syntax)?;
    Ok(spans.into_iter().map(|r| scratch[r].to_vec()).collect())
}

/// Joins a selector written across several arguments (`(~a` `+get)`) into
/// one (Redis's `ACLMergeSelectorArguments`). `Err(i)`: argument `i` opens
/// a parenthesis that never closes.
pub fn merge_selectors(args: &[&[u8]]) -> Result<Vec<Vec<u8>>, usize> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (i, &op) in args.iter().enumerate() {
        if let Some((start, mut sel)) = open.take() {
            sel.push(b' ');
            sel.extend_from_slice(op);
            if op.last() == Some(&b')') {
                out.push(sel);
            } else {
                open = Some((start, sel));
            }
            continue;
        }
        if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((i, op.to_vec()));
            continue;
        }
        out.push(op.to_vec());
    }
    match open {
        Some((start, _)) => Err(start),
        None => Ok(out),
    }
}

/// Applies `rules` to a copy of `user`, all or nothing (Redis's
/// `ACLStringSetUser`). The error names the rule that failed.
pub fn parse_rules(
    user: &User,
    rules: &[&[u8]],
    all_channels: bool,
) -> Result<User, (Vec<u8>, AclRuleError)> {
    let merged = merge_selectors(rules)
        .map_err(|i| (rules[i].to_vec(), AclRuleError::UnmatchedParenthesis))?;
    let mut new = user.clone();
    for rule in merged {
        new.apply(&rule, all_channels).map_err(|e| (rule, e))?;
    }
    Ok(new)
}

/// Whether a user name has a space or a NUL (refused, as in Redis).
pub fn bad_name(name: &[u8]) -> bool {
    name.iter().any(|&c| is_c_space(c) || c == 0)
}

// ---------------------------------------------------------------------------
// The registry and the log
// ---------------------------------------------------------------------------

/// Why an ACL LOG entry was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogReason {
    Command,
    Key,
    Channel,
    Auth,
}

impl LogReason {
    pub fn name(self) -> &'static str {
        match self {
            LogReason::Command => "command",
            LogReason::Key => "key",
            LogReason::Channel => "channel",
            LogReason::Auth => "auth",
        }
    }
}

/// Where a denied command ran (ACL LOG's `context`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogContext {
    Toplevel,
    /// Queued in MULTI, or run by EXEC.
    Multi,
    /// Called by a script.
    Lua,
}

impl LogContext {
    pub fn name(self) -> &'static str {
        match self {
            LogContext::Toplevel => "toplevel",
            LogContext::Multi => "multi",
            LogContext::Lua => "lua",
        }
    }

    /// `multi` inside a transaction, `toplevel` otherwise.
    pub fn of_client(in_multi: bool) -> Self {
        if in_multi {
            LogContext::Multi
        } else {
            LogContext::Toplevel
        }
    }
}

/// One ACL LOG entry (Redis 7.0's seven fields).
#[derive(Clone, Debug)]
pub struct LogEntry {
    pub count: u64,
    pub reason: LogReason,
    pub context: LogContext,
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    pub ctime_ms: u64,
    pub client_info: String,
}

/// Entries this close in time with the same reason, context, object and
/// user are counted as one.
const LOG_GROUPING_MS: u64 = 60_000;

/// The users and the ACL log.
#[derive(Debug)]
pub struct Acl {
    users: BTreeMap<Vec<u8>, Rc<User>>,
    default: Rc<User>,
    /// Newest first.
    pub log: VecDeque<LogEntry>,
}

impl Default for Acl {
    fn default() -> Self {
        Acl::new()
    }
}

impl Acl {
    /// Only the `default` user, on, nopass, allowed everything.
    pub fn new() -> Acl {
        let default = Rc::new(User::new_default());
        let mut users = BTreeMap::new();
        users.insert(b"default".to_vec(), default.clone());
        Acl {
            users,
            default,
            log: VecDeque::new(),
        }
    }

    pub fn default_user(&self) -> &Rc<User> {
        &self.default
    }

    /// Whether connections start authenticated: `default` is on and nopass
    /// (Redis's `authRequired` negated).
    pub fn open(&self) -> bool {
        self.default.nopass() && self.default.enabled()
    }

    pub fn get(&self, name: &[u8]) -> Option<&Rc<User>> {
        self.users.get(name)
    }

    /// Users in name order.
    pub fn users(&self) -> impl Iterator<Item = &Rc<User>> {
        self.users.values()
    }

    /// Stores `user` under its name; returns the user it replaces.
    pub fn put(&mut self, user: User) -> (Rc<User>, Option<Rc<User>>) {
        let user = Rc::new(user);
        if user.name == b"default" {
            self.default = user.clone();
        }
        let old = self.users.insert(user.name.clone(), user.clone());
        (user, old)
    }

    /// Removes a user (never `default`).
    pub fn remove(&mut self, name: &[u8]) -> Option<Rc<User>> {
        if name == b"default" {
            return None;
        }
        self.users.remove(name)
    }

    /// Replaces every user (ACL LOAD); returns the old ones.
    pub fn replace_all(&mut self, users: BTreeMap<Vec<u8>, User>) -> Vec<Rc<User>> {
        let old = std::mem::take(&mut self.users);
        for (_, u) in users {
            self.put(u);
        }
        old.into_values().collect()
    }

    /// Adds a log entry, or counts it against a recent similar one
    /// (Redis's `addACLLogEntry`); keeps at most `max_len` entries.
    pub fn log(&mut self, entry: LogEntry, max_len: usize) {
        let similar = self.log.iter().take(10).position(|e| {
            e.reason == entry.reason
                && e.context == entry.context
                && e.ctime_ms.abs_diff(entry.ctime_ms) <= LOG_GROUPING_MS
                && e.object == entry.object
                && e.username == entry.username
        });
        if let Some(i) = similar {
            if let Some(mut e) = self.log.remove(i) {
                e.count += 1;
                e.ctime_ms = entry.ctime_ms;
                e.client_info = entry.client_info;
                self.log.push_front(e);
            }
            return;
        }
        self.log.push_front(entry);
        self.log.truncate(max_len);
    }
}

// ---------------------------------------------------------------------------
// The ACL file
// ---------------------------------------------------------------------------

/// Reads an ACL file (Redis's `ACLLoadFromFile`): every line `user <name>
/// <rules>`. All or nothing: the error lists every problem, in Redis's
/// words. `label` is `aclfile` as configured, which the errors name.
pub fn load_file(
    path: &std::path::Path,
    label: &str,
    all_channels: bool,
) -> Result<BTreeMap<Vec<u8>, User>, String> {
    let text = std::fs::read(path).map_err(|e| {
        format!(
            "Error loading ACLs, opening file '{}': {}",
            path.display(),
            crate::config::os_error_text(&e)
        )
    })?;
    parse_file(&text, label, all_channels)
}

/// The body of [`load_file`], on the file's bytes.
pub fn parse_file(
    text: &[u8],
    label: &str,
    all_channels: bool,
) -> Result<BTreeMap<Vec<u8>, User>, String> {
    let mut users: BTreeMap<Vec<u8>, User> = BTreeMap::new();
    let mut errors = String::new();
    // Redis reads the file up to its first NUL (a C string).
    let text = text.split(|&c| c == 0).next().unwrap_or_default();
    for (i, line) in text.split(|&c| c == b'\n').enumerate() {
        let n = i + 1;
        let line = trim(line, b" \t\r\n");
        if line.is_empty() {
            continue;
        }
        // Split on single spaces, as Redis does: no quoting.
        let argv: Vec<&[u8]> = line.split(|&c| c == b' ').collect();
        if argv[0] != b"user" || argv.len() < 2 {
            errors.push_str(&format!(
                "{label}:{n} should start with user keyword followed by the username. "
            ));
            continue;
        }
        let name = argv[1];
        if bad_name(name) {
            errors.push_str(&format!(
                "'{label}:{n}: username '{}' contains invalid characters. ",
                String::from_utf8_lossy(name)
            ));
            continue;
        }
        if users.contains_key(name) {
            errors.push_str(&format!(
                "WARNING: Duplicate user '{}' found on line {n}. ",
                String::from_utf8_lossy(name)
            ));
            continue;
        }
        let mut user = User::new(name, all_channels);
        let rules = match merge_selectors(&argv[2..]) {
            Ok(r) => r,
            Err(_) => {
                errors.push_str(&format!(
                    "{label}:{n}: Unmatched parenthesis in selector definition."
                ));
                Vec::new()
            }
        };
        let mut syntax_error = false;
        for rule in rules {
            let rule = trim(&rule, b"\t\r\n");
            if let Err(e) = user.apply(rule, all_channels) {
                if e == AclRuleError::UnknownCommand {
                    errors.push_str(&format!(
                        "{label}:{n}: Error in applying operation '{}': {}. ",
                        String::from_utf8_lossy(rule),
                        e.text()
                    ));
                } else if !syntax_error {
                    errors.push_str(&format!("{label}:{n}: {}. ", e.text()));
                    syntax_error = true;
                }
            }
        }
        users.insert(name.to_vec(), user);
    }
    if !errors.is_empty() {
        errors.push_str(
            "WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
        );
        return Err(errors);
    }
    users
        .entry(b"default".to_vec())
        .or_insert_with(User::new_default);
    Ok(users)
}

/// Writes every user to `path` atomically (Redis's `ACLSaveToFile`).
pub fn save_file(path: &std::path::Path, users: &Acl) -> std::io::Result<()> {
    let mut text = Vec::new();
    for u in users.users() {
        text.extend_from_slice(&u.list_line());
        text.push(b'\n');
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(
        ".tmp-{}-{}",
        std::process::id(),
        crate::util::now_ms()
    ));
    let tmp = std::path::PathBuf::from(tmp);
    let result = std::fs::write(&tmp, &text).and_then(|_| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn trim<'a>(mut s: &'a [u8], set: &[u8]) -> &'a [u8] {
    while let [first, rest @ ..] = s {
        if !set.contains(first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !set.contains(last) {
            break;
        }
        s = rest;
    }
    s
}

/// Checks a config file's `user` rules without applying them: unknown
/// commands pass (Redis lets modules define them later), anything else
/// wrong is the rule and why.
pub fn check_user_directive(rules: &[&[u8]]) -> Result<(), (Vec<u8>, AclRuleError)> {
    let merged = merge_selectors(rules)
        .map_err(|i| (rules[i].to_vec(), AclRuleError::UnmatchedParenthesis))?;
    let mut fake = User::new(b"__fakeuser__", false);
    for rule in merged {
        match fake.apply(&rule, false) {
            Err(e) if e != AclRuleError::UnknownCommand => return Err((rule, e)),
            _ => {}
        }
    }
    Ok(())
}

/// `user` directives from the config file: checked now, applied at start
/// (Redis's `ACLAppendUserForLoading` then `ACLLoadConfiguredUsers`).
/// Returns the users, or the error redis-server prints for the line.
pub fn configured_users(
    directives: &[Vec<String>],
    all_channels: bool,
) -> Result<Vec<User>, String> {
    let mut users: Vec<User> = Vec::new();
    for argv in directives {
        let Some((name, rules)) = argv.split_first() else {
            continue;
        };
        let name = name.as_bytes();
        if bad_name(name) {
            return Err("Spaces not allowed in ACL usernames".into());
        }
        let start = if name == b"default" {
            let mut u = User::new_default();
            let _ = u.apply(b"reset", all_channels);
            u
        } else {
            User::new(name, all_channels)
        };
        let rules: Vec<&[u8]> = rules.iter().map(|r| r.as_bytes()).collect();
        let user = parse_rules(&start, &rules, all_channels).map_err(|(rule, e)| {
            format!(
                "Error loading ACL rule '{}' for the user named '{}': {}",
                String::from_utf8_lossy(&rule),
                String::from_utf8_lossy(name),
                e.text()
            )
        })?;
        users.push(user);
    }
    Ok(users)
}

/// Random hex characters for ACL GENPASS, from the kernel's generator.
pub fn random_hex(chars: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; chars.div_ceil(2)];
    let mut filled = 0;
    while filled < bytes.len() {
        // SAFETY: getrandom writes at most `len` bytes into the buffer.
        let n = unsafe {
            libc::getrandom(bytes[filled..].as_mut_ptr().cast(), bytes.len() - filled, 0)
        };
        if n <= 0 {
            break;
        }
        filled += n as usize;
    }
    let mut out = Vec::with_capacity(chars);
    for b in bytes {
        out.push(b"0123456789abcdef"[(b >> 4) as usize]);
        out.push(b"0123456789abcdef"[(b & 15) as usize]);
    }
    out.truncate(chars);
    out
}

// ---------------------------------------------------------------------------
// The registry's effects on clients
// ---------------------------------------------------------------------------

/// Whether `client` must authenticate before running commands (Redis's
/// `authRequired`): `default` needs a password or is off, and the client
/// has not logged in.
pub fn auth_required(state: &State, client: &crate::server::Client) -> bool {
    !client.authenticated && !state.acl.open()
}

/// `requirepass` as the `default` user's one password (none: `nopass`),
/// as Redis's `ACLUpdateDefaultUserPassword` does at start-up and on
/// CONFIG SET.
pub fn apply_requirepass(state: &mut State) {
    let mut user = (**state.acl.default_user()).clone();
    let _ = user.apply(b"resetpass", false);
    if state.config.requirepass.is_empty() {
        let _ = user.apply(b"nopass", false);
    } else {
        let mut rule = b">".to_vec();
        rule.extend_from_slice(state.config.requirepass.as_bytes());
        let _ = user.apply(&rule, false);
    }
    store_user(state, user);
}

/// The config file's `user` directives or its `aclfile`, read once the
/// server exists (Redis's `ACLLoadUsersAtStartup`). The error is what
/// redis-server logs before it exits.
pub fn load_at_startup(state: &mut State) -> Result<(), String> {
    let config = &state.config;
    if !config.aclfile.is_empty() && !config.users.is_empty() {
        return Err("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into());
    }
    let users = configured_users(&config.users, config.acl_pubsub_all)
        .map_err(|why| format!("{why}. Critical error while loading ACLs. Exiting."))?;
    for user in users {
        if !user.enabled() {
            tracing::info!(
                "The user '{}' is disabled (there is no 'on' modifier in the user description). Make sure this is not a configuration error.",
                String::from_utf8_lossy(&user.name)
            );
        }
        store_user(state, user);
    }
    if !state.config.aclfile.is_empty() {
        let file = state.config.aclfile.clone();
        let users = load_file(
            std::path::Path::new(&file),
            &file,
            state.config.acl_pubsub_all,
        )
        .map_err(|e| format!("Aborting Redis startup because of ACL errors: {e}"))?;
        replace_all(state, users);
    }
    Ok(())
}

/// Stores `user` (new or changed) and hands it to the clients
/// authenticated as the user it replaces. A change that takes channels
/// away closes that user's subscribers that now hold a channel they may
/// not (Redis's `ACLKillPubsubClientsIfNeeded`); `me` closes after its
/// reply.
pub fn store_user(state: &mut State, user: User) -> Rc<User> {
    let (new, old) = state.acl.put(user);
    let Some(old) = old else {
        return new;
    };
    let me = state.running.map(|r| r.client);
    let lost_channels = !channels_superset(&new, &old);
    let mut kill = Vec::new();
    for (key, c) in state.clients.iter_mut() {
        if !Rc::ptr_eq(&c.user, &old) {
            continue;
        }
        c.user = new.clone();
        if lost_channels && c.subs.total() > 0 {
            let denied = c
                .subs
                .patterns
                .iter()
                .any(|p| !new.channel_allowed(p, true))
                || c.subs
                    .channels
                    .iter()
                    .chain(c.subs.shard_channels.iter())
                    .any(|ch| !new.channel_allowed(ch, false));
            if denied {
                kill.push(key);
            }
        }
    }
    for key in kill {
        close_client(state, key, me);
    }
    new
}

/// Whether `new` allows at least the channel patterns `old` did (the
/// shortcut Redis takes before looking at subscribers).
fn channels_superset(new: &User, old: &User) -> bool {
    if new.selectors.iter().any(|s| s.all_channels) {
        return true;
    }
    if old.selectors.iter().any(|s| s.all_channels) {
        return false;
    }
    old.selectors
        .iter()
        .flat_map(|s| &s.channels)
        .all(|c| new.selectors.iter().any(|s| s.channels.contains(c)))
}

/// Closes `key`: at once, or after its reply when it is the caller.
fn close_client(state: &mut State, key: usize, me: Option<usize>) {
    let Some(c) = state.clients.get_mut(key) else {
        return;
    };
    if c.closing {
        return;
    }
    c.closing = true;
    if Some(key) != me {
        state.requests.push(Request::Close(key));
    }
}

/// ACL DELUSER's effect on one user: removed, and its clients logged out
/// and closed (Redis's `ACLFreeUserAndKillClients`).
pub fn delete_user(state: &mut State, name: &[u8]) -> bool {
    let Some(old) = state.acl.remove(name) else {
        return false;
    };
    log_out_and_close(state, &[old]);
    true
}

fn log_out_and_close(state: &mut State, users: &[Rc<User>]) {
    let me = state.running.map(|r| r.client);
    let default = state.acl.default_user().clone();
    let victims: Vec<usize> = state
        .clients
        .iter()
        .filter(|(_, c)| users.iter().any(|u| Rc::ptr_eq(&c.user, u)))
        .map(|(k, _)| k)
        .collect();
    for key in victims {
        let c = &mut state.clients[key];
        c.user = default.clone();
        c.authenticated = false;
        close_client(state, key, me);
    }
}

/// Replaces every user (ACL LOAD, an `aclfile` at start-up). Clients of
/// `default` keep it, with its new rules; every other user's clients are
/// closed, as in Redis, which frees the old users.
pub fn replace_all(state: &mut State, users: BTreeMap<Vec<u8>, User>) {
    let old_default = state.acl.default_user().clone();
    let old = state.acl.replace_all(users);
    let new_default = state.acl.default_user().clone();
    for (_, c) in state.clients.iter_mut() {
        if Rc::ptr_eq(&c.user, &old_default) {
            c.user = new_default.clone();
        }
    }
    let gone: Vec<Rc<User>> = old
        .into_iter()
        .filter(|u| !Rc::ptr_eq(u, &old_default))
        .collect();
    log_out_and_close(state, &gone);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(rules: &[&str]) -> User {
        let rules: Vec<&[u8]> = rules.iter().map(|r| r.as_bytes()).collect();
        parse_rules(&User::new(b"u", false), &rules, false).unwrap()
    }

    fn text(v: Vec<u8>) -> String {
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn new_users_describe_as_redis_does() {
        assert_eq!(
            text(User::new(b"u", false).describe()),
            "off resetchannels -@all"
        );
        assert_eq!(
            text(User::new_default().describe()),
            "on nopass ~* &* +@all"
        );
        let u = user(&["on", ">p", "~k*", "%R~r*", "&ch", "+get", "+@hash"]);
        assert_eq!(
            text(u.describe()),
            format!(
                "on #{} ~k* %R~r* resetchannels &ch -@all +@hash +get",
                std::str::from_utf8(&hash_password(b"p")).unwrap()
            )
        );
        let u = user(&["+@all", "-@dangerous", "allkeys"]);
        assert_eq!(text(u.describe()), "off ~* resetchannels +@all -@dangerous");
    }

    #[test]
    fn rule_errors() {
        let u = User::new(b"u", false);
        let bad = |r: &str| parse_rules(&u, &[r.as_bytes()], false).unwrap_err().1;
        assert_eq!(bad("+nosuch"), AclRuleError::UnknownCommand);
        assert_eq!(bad("+@nosuch"), AclRuleError::UnknownCommand);
        assert_eq!(bad("bogus"), AclRuleError::Syntax);
        assert_eq!(bad("#abc"), AclRuleError::BadHash);
        assert_eq!(bad("<nope"), AclRuleError::NoSuchPassword);
        assert_eq!(bad("+config|get|x"), AclRuleError::FirstArgOfSubcommand);
        assert_eq!(bad("+select|"), AclRuleError::Syntax);
        assert_eq!(bad("%"), AclRuleError::Syntax);
        assert_eq!(bad("%X~a"), AclRuleError::Syntax);
        let all = user(&["allkeys"]);
        assert_eq!(
            parse_rules(&all, &[b"~a"], false).unwrap_err().1,
            AclRuleError::KeysAfterAll
        );
        assert_eq!(
            parse_rules(&u, &[b"(~a", b"+get"], false).unwrap_err().1,
            AclRuleError::UnmatchedParenthesis
        );
    }

    #[test]
    fn checks_commands_keys_and_channels() {
        let get = crate::commands::find(b"get").unwrap();
        let set = crate::commands::find(b"set").unwrap();
        let publish = crate::commands::find(b"publish").unwrap();
        let spans = [0..3, 3..6, 6..7];
        let base = b"getfoov";
        let args = Args::new(base, &spans[..2]);
        let u = user(&["+get", "~f*"]);
        assert_eq!(u.check(get, &args), Ok(()));
        let u = user(&["+get", "~x*"]);
        assert_eq!(u.check(get, &args), Err(Denied::Key(1)));
        let u = user(&["+get", "%W~f*"]);
        assert_eq!(u.check(get, &args), Err(Denied::Key(1)));
        let setargs = Args::new(base, &spans);
        let u = user(&["+set", "%W~f*"]);
        assert_eq!(u.check(set, &setargs), Ok(()));
        assert_eq!(u.check(get, &args), Err(Denied::Command));
        let pubargs = Args::new(base, &spans);
        let u = user(&["+publish", "&fo?"]);
        assert_eq!(u.check(publish, &pubargs), Ok(()));
        let u = user(&["+publish", "resetchannels"]);
        assert_eq!(u.check(publish, &pubargs), Err(Denied::Channel(1)));
        // A second selector may allow what the root does not.
        let u = user(&["+get", "~x", "(~f* +get)"]);
        assert_eq!(u.check(get, &args), Ok(()));
    }

    #[test]
    fn passwords_are_hashed_and_checked() {
        let u = user(&["on", ">secret"]);
        assert!(u.password_ok(b"secret"));
        assert!(!u.password_ok(b"Secret"));
        let off = user(&[">secret"]);
        assert!(!off.password_ok(b"secret"));
        let h = text(hash_password(b"secret").to_vec());
        let u = user(&["on", &format!("#{h}")]);
        assert!(u.password_ok(b"secret"));
        let u = parse_rules(&u, &[format!("!{h}").as_bytes()], false).unwrap();
        assert!(!u.password_ok(b"secret"));
    }

    #[test]
    fn acl_files_load_all_or_nothing() {
        let ok = parse_file(b"user a on >x ~* +@all\n\nuser b off\n", "f", false).unwrap();
        assert_eq!(ok.len(), 3);
        let err = parse_file(b"user a on +nosuch bogus\nfoo\n", "f", false).unwrap_err();
        assert_eq!(
            err,
            "f:1: Error in applying operation '+nosuch': Unknown command or category name in ACL. f:1: Syntax error. f:2 should start with user keyword followed by the username. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
        );
    }
}
