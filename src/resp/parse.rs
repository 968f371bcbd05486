//! Incremental RESP request parser.
//!
//! The parser is handed the unconsumed input of one connection, starting at
//! the first byte of the next command, and answers one of three things: the
//! command is complete (and how many bytes it took), more bytes are needed,
//! or the input breaks the protocol. "Incomplete" is an ordinary answer.
//!
//! Arguments are never copied for multibulk requests: the parser records
//! their spans, relative to the start of the command, and [`Parser::args`]
//! lends them out as slices of the caller's buffer. Inline requests need
//! unescaping (`"a\x41"`), so their arguments live in a scratch buffer that
//! the parser reuses.
//!
//! Progress on a multibulk request is kept between calls, so a huge request
//! that arrives in many reads is scanned once, not once per read. The caller
//! promises that the bytes already seen are handed in again unchanged, at the
//! start of the next call's buffer (appending is fine, moving them is fine).
//!
//! The limits and the error texts are Redis 7.0's (`networking.c`), including
//! its leniencies: the two bytes after a bulk body are skipped, not checked.

use std::ops::Range;

/// Longest inline request, and longest `*<n>` / `$<n>` header line.
pub const INLINE_MAX: usize = 64 * 1024;
/// Redis's default `proto-max-bulk-len`.
pub const DEFAULT_MAX_BULK: usize = 512 * 1024 * 1024;

/// A request that breaks the protocol. The connection answers with
/// [`ProtocolError::message`] and is then closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    TooBigMbulkCount,
    InvalidMultibulkLength,
    TooBigBulkCount,
    ExpectedDollar(u8),
    InvalidBulkLength,
    UnbalancedQuotes,
    TooBigInline,
    /// More than [`UNAUTH_MAX_ARGS`] arguments before authentication.
    UnauthenticatedMultibulk,
    /// A bulk over [`UNAUTH_MAX_BULK`] bytes before authentication.
    UnauthenticatedBulk,
}

/// Before a client authenticates (when a password is required), Redis
/// refuses requests with more arguments than this (CVE-2021-32675)…
pub const UNAUTH_MAX_ARGS: i64 = 10;
/// …or arguments longer than this.
pub const UNAUTH_MAX_BULK: usize = 16384;

impl ProtocolError {
    /// The error line as Redis sends it, without the leading `-` and CRLF.
    pub fn message(&self) -> Vec<u8> {
        let text: &[u8] = match self {
            ProtocolError::TooBigMbulkCount => b"ERR Protocol error: too big mbulk count string",
            ProtocolError::InvalidMultibulkLength => {
                b"ERR Protocol error: invalid multibulk length"
            }
            ProtocolError::TooBigBulkCount => b"ERR Protocol error: too big bulk count string",
            ProtocolError::InvalidBulkLength => b"ERR Protocol error: invalid bulk length",
            ProtocolError::UnbalancedQuotes => b"ERR Protocol error: unbalanced quotes in request",
            ProtocolError::TooBigInline => b"ERR Protocol error: too big inline request",
            ProtocolError::UnauthenticatedMultibulk => {
                b"ERR Protocol error: unauthenticated multibulk length"
            }
            ProtocolError::UnauthenticatedBulk => {
                b"ERR Protocol error: unauthenticated bulk length"
            }
            ProtocolError::ExpectedDollar(got) => {
                let mut m = b"ERR Protocol error: expected '$', got '".to_vec();
                // Redis prints the raw byte; a CR or LF would break the reply line.
                m.push(if matches!(got, b'\r' | b'\n') {
                    b' '
                } else {
                    *got
                });
                m.push(b'\'');
                return m;
            }
        };
        text.to_vec()
    }
}

/// The outcome of one [`Parser::parse`] call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole command of this many bytes; its arguments are in
    /// [`Parser::args`] until the next call. Zero arguments means an empty
    /// request (`*0`, a blank line) that Redis silently skips.
    Command(usize),
    /// More bytes are needed. `need` is the total length of the command when
    /// it is known (a bulk body is pending), so a backend can reserve room.
    Incomplete { need: Option<usize> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Input,
    Inline,
}

/// Per-connection parser state. See the module docs.
#[derive(Debug)]
pub struct Parser {
    max_bulk: usize,
    /// The client has not authenticated and must: small requests only.
    unauthenticated: bool,
    /// Bulk arguments still expected by the multibulk being parsed; zero when
    /// no multibulk is under way.
    pending: usize,
    /// Bytes of the current command already parsed.
    pos: usize,
    spans: Vec<Range<usize>>,
    inline: Vec<u8>,
    source: Source,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new(DEFAULT_MAX_BULK)
    }
}

/// A command's arguments copied out of the input, to run later (a command
/// queued by MULTI, a blocked command run again when its key is ready).
#[derive(Clone, Debug, Default)]
pub struct OwnedArgs {
    buf: Vec<u8>,
    spans: Vec<Range<usize>>,
}

impl OwnedArgs {
    pub fn copy(args: &Args) -> OwnedArgs {
        let mut buf = Vec::with_capacity(args.iter().map(<[u8]>::len).sum());
        let spans = args
            .iter()
            .map(|a| {
                let start = buf.len();
                buf.extend_from_slice(a);
                start..buf.len()
            })
            .collect();
        OwnedArgs { buf, spans }
    }

    /// Arguments built by a command (a blocked XREAD with `$` resolved).
    pub fn from_vecs(argv: &[Vec<u8>]) -> OwnedArgs {
        let mut buf = Vec::new();
        let spans = argv
            .iter()
            .map(|a| {
                let start = buf.len();
                buf.extend_from_slice(a);
                start..buf.len()
            })
            .collect();
        OwnedArgs { buf, spans }
    }

    pub fn args(&self) -> Args<'_> {
        Args::new(&self.buf, &self.spans)
    }
}

/// The arguments of one command, borrowed from the input or the inline
/// scratch buffer.
#[derive(Clone, Copy, Debug)]
pub struct Args<'a> {
    base: &'a [u8],
    spans: &'a [Range<usize>],
}

impl<'a> Args<'a> {
    /// Arguments over an owned list of spans (tests and tools build these).
    pub fn new(base: &'a [u8], spans: &'a [Range<usize>]) -> Self {
        Args { base, spans }
    }
    pub fn len(&self) -> usize {
        self.spans.len()
    }
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
    /// Argument `i`. Panics when out of range: callers check arity first,
    /// which the command table does for every command.
    pub fn get(&self, i: usize) -> &'a [u8] {
        &self.base[self.spans[i].clone()]
    }
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + 'a {
        let base = self.base;
        self.spans.iter().map(move |r| &base[r.clone()])
    }
    /// Arguments `from..`.
    pub fn tail(&self, from: usize) -> Args<'a> {
        Args {
            base: self.base,
            spans: &self.spans[from.min(self.spans.len())..],
        }
    }
}

impl Parser {
    pub fn new(max_bulk: usize) -> Self {
        Parser {
            max_bulk,
            unauthenticated: false,
            pending: 0,
            pos: 0,
            spans: Vec::new(),
            inline: Vec::new(),
            source: Source::Input,
        }
    }

    pub fn set_max_bulk(&mut self, max_bulk: usize) {
        self.max_bulk = max_bulk;
    }

    /// Whether the client still has to authenticate: requests are then
    /// limited to [`UNAUTH_MAX_ARGS`] arguments of [`UNAUTH_MAX_BULK`]
    /// bytes, as in Redis.
    pub fn set_unauthenticated(&mut self, unauthenticated: bool) {
        self.unauthenticated = unauthenticated;
    }

    /// The arguments of the command that the last call returned as
    /// [`Parsed::Command`]. `input` must be the buffer passed to that call.
    pub fn args<'a>(&'a self, input: &'a [u8]) -> Args<'a> {
        let base = match self.source {
            Source::Input => input,
            Source::Inline => &self.inline,
        };
        Args {
            base,
            spans: &self.spans,
        }
    }

    /// Parses the next command from `input`, which starts at that command.
    pub fn parse(&mut self, input: &[u8]) -> Result<Parsed, ProtocolError> {
        if self.pending == 0 && self.pos == 0 {
            self.spans.clear();
            self.source = Source::Input;
            if input.is_empty() {
                return Ok(Parsed::Incomplete { need: None });
            }
            if input[0] != b'*' {
                return self.parse_inline(input);
            }
            // `*<count>\r\n`
            let Some(cr) = strchr(b'\r', input) else {
                return if input.len() > INLINE_MAX {
                    Err(ProtocolError::TooBigMbulkCount)
                } else {
                    Ok(Parsed::Incomplete { need: None })
                };
            };
            if cr + 2 > input.len() {
                return Ok(Parsed::Incomplete { need: None });
            }
            let count = match parse_i64(&input[1..cr]) {
                Some(n) if n <= i32::MAX as i64 => n,
                _ => return Err(ProtocolError::InvalidMultibulkLength),
            };
            if count > UNAUTH_MAX_ARGS && self.unauthenticated {
                return Err(ProtocolError::UnauthenticatedMultibulk);
            }
            if count <= 0 {
                return Ok(Parsed::Command(cr + 2));
            }
            self.pending = count as usize;
            self.pos = cr + 2;
            // Reserve for what the bytes at hand can hold, never for what the
            // header claims: a hostile count costs nothing until it arrives.
            self.spans.reserve(self.pending.min(1024));
        }
        self.parse_bulks(input)
    }

    fn parse_bulks(&mut self, input: &[u8]) -> Result<Parsed, ProtocolError> {
        while self.pending > 0 {
            let rest = &input[self.pos..];
            if rest.is_empty() {
                return Ok(Parsed::Incomplete { need: None });
            }
            let Some(cr) = strchr(b'\r', rest) else {
                return if rest.len() > INLINE_MAX {
                    Err(ProtocolError::TooBigBulkCount)
                } else {
                    Ok(Parsed::Incomplete { need: None })
                };
            };
            if cr + 2 > rest.len() {
                return Ok(Parsed::Incomplete { need: None });
            }
            if rest[0] != b'$' {
                return Err(ProtocolError::ExpectedDollar(rest[0]));
            }
            let len = match parse_i64(&rest[1..cr]) {
                Some(n) if n >= 0 && n as u64 <= self.max_bulk as u64 => n as usize,
                _ => return Err(ProtocolError::InvalidBulkLength),
            };
            if len > UNAUTH_MAX_BULK && self.unauthenticated {
                return Err(ProtocolError::UnauthenticatedBulk);
            }
            let start = self.pos + cr + 2;
            let end = start + len;
            if input.len() < end + 2 {
                return Ok(Parsed::Incomplete {
                    need: Some(end + 2),
                });
            }
            self.spans.push(start..end);
            self.pos = end + 2;
            self.pending -= 1;
        }
        let used = self.pos;
        self.pos = 0;
        Ok(Parsed::Command(used))
    }

    fn parse_inline(&mut self, input: &[u8]) -> Result<Parsed, ProtocolError> {
        let Some(lf) = strchr(b'\n', input) else {
            return if input.len() > INLINE_MAX {
                Err(ProtocolError::TooBigInline)
            } else {
                Ok(Parsed::Incomplete { need: None })
            };
        };
        let line_end = if lf > 0 && input[lf - 1] == b'\r' {
            lf - 1
        } else {
            lf
        };
        self.inline.clear();
        split_args(&input[..line_end], &mut self.inline, &mut self.spans)?;
        self.source = Source::Inline;
        Ok(Parsed::Command(lf + 1))
    }
}

/// Redis's `sdssplitargs`: space-separated words, `"double"` quotes with
/// C-style escapes, `'single'` quotes where only `\'` is special. A closing
/// quote must be followed by a space or the end of the line.
pub fn split_args(
    line: &[u8],
    out: &mut Vec<u8>,
    spans: &mut Vec<Range<usize>>,
) -> Result<(), ProtocolError> {
    let mut i = 0;
    loop {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        // C strings end at NUL: so does the line.
        if i == line.len() || line[i] == 0 {
            return Ok(());
        }
        let start = out.len();
        let (mut in_dq, mut in_sq) = (false, false);
        loop {
            if in_dq {
                match line.get(i) {
                    None | Some(0) => return Err(ProtocolError::UnbalancedQuotes),
                    Some(b'\\') if i + 3 < line.len() && line[i + 1] == b'x' => {
                        match (hex(line[i + 2]), hex(line[i + 3])) {
                            (Some(h), Some(l)) => {
                                out.push(h * 16 + l);
                                i += 3;
                            }
                            _ => {
                                out.push(b'x');
                                i += 1;
                            }
                        }
                    }
                    Some(b'\\') if i + 1 < line.len() => {
                        i += 1;
                        out.push(match line[i] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            c => c,
                        });
                    }
                    Some(b'"') => {
                        if line.get(i + 1).is_some_and(|&c| !is_space(c)) {
                            return Err(ProtocolError::UnbalancedQuotes);
                        }
                        in_dq = false;
                        i += 1;
                        break;
                    }
                    Some(&c) => out.push(c),
                }
            } else if in_sq {
                match line.get(i) {
                    None | Some(0) => return Err(ProtocolError::UnbalancedQuotes),
                    Some(b'\\') if line.get(i + 1) == Some(&b'\'') => {
                        i += 1;
                        out.push(b'\'');
                    }
                    Some(b'\'') => {
                        if line.get(i + 1).is_some_and(|&c| !is_space(c)) {
                            return Err(ProtocolError::UnbalancedQuotes);
                        }
                        in_sq = false;
                        i += 1;
                        break;
                    }
                    Some(&c) => out.push(c),
                }
            } else {
                match line.get(i) {
                    None => break,
                    // Unquoted words end at these only; `\v` and `\f` are
                    // skipped between words but kept inside one, as in Redis.
                    Some(b' ' | b'\n' | b'\r' | b'\t') => break,
                    Some(0) => {
                        spans.push(start..out.len());
                        return Ok(());
                    }
                    Some(b'"') => in_dq = true,
                    Some(b'\'') => in_sq = true,
                    Some(&c) => out.push(c),
                }
            }
            i += 1;
        }
        debug_assert!(!in_dq && !in_sq);
        spans.push(start..out.len());
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// First position of `needle` in `hay`, but only before any NUL byte: C's
/// `strchr`, which Redis uses to find line ends. A NUL ahead of the line end
/// makes Redis wait for more input (and then refuse it as too big), and so
/// does this parser.
fn strchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter()
        .position(|&c| c == needle || c == 0)
        .filter(|&i| hay[i] == needle)
}

/// Redis's `string2ll`: an optional `-`, digits, no leading zeros, no `+`,
/// no spaces, within `i64`.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 19 || (digits[0] == b'0' && s.len() > 1) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else {
        i64::try_from(v).ok()
    }
}
