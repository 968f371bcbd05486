//! Reply encoding for RESP2 and RESP3.
//!
//! Command code says what it answers (a map, a null, a double) and the
//! writer picks the wire form for the connection's protocol, so no handler
//! checks the protocol version itself.

use std::ops::Range;
use std::rc::Rc;

use super::output::Chunk;

/// Which protocol the client chose with HELLO.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Proto {
    #[default]
    Resp2,
    Resp3,
}

/// Buffers bigger than this are released once their bytes are sent or
/// dropped, so one huge reply does not pin its memory for the life of the
/// connection. Both backends apply it to their reply and input buffers.
pub const KEEP_CAPACITY: usize = 1 << 20;

/// A place in a [`Reply`] where a header goes once its length is known.
#[must_use = "a deferred header must be filled"]
pub struct Deferred(usize);

/// An output buffer that knows the client's protocol.
#[derive(Debug, Default)]
pub struct Reply {
    /// The replies being written.
    pub buf: Vec<u8>,
    pub proto: Proto,
    /// Output that goes before `buf`: earlier replies and shared messages
    /// ([`Reply::shared`]), in order.
    queued: Vec<Chunk>,
    queued_len: usize,
}

/// Where a command's replies begin in a [`Reply`] (see [`Reply::mark`]).
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    queued: usize,
    buf: usize,
}

impl Reply {
    pub fn new(proto: Proto) -> Self {
        Reply {
            buf: Vec::new(),
            proto,
            queued: Vec::new(),
            queued_len: 0,
        }
    }

    /// Queues `buf[range]`, messages encoded once for every client they go
    /// to (pub/sub): a reference, not a copy, after everything written so
    /// far.
    pub fn shared(&mut self, buf: &Rc<[u8]>, range: Range<usize>) {
        if !self.buf.is_empty() {
            let earlier = std::mem::take(&mut self.buf);
            self.queued_len += earlier.len();
            self.queued.push(Chunk::Owned(earlier));
        }
        self.queued_len += range.len();
        self.queued.push(Chunk::Shared(buf.clone(), range));
    }

    /// Like [`Reply::shared`], but ahead of what was written since `mark`
    /// (a push for the client whose command is running goes before that
    /// command's reply, as Redis sends it); `mark` then points after it,
    /// so a second push follows the first.
    pub fn shared_before(&mut self, mark: &mut Mark, buf: &Rc<[u8]>, range: Range<usize>) {
        if self.queued.len() != mark.queued || self.buf.len() < mark.buf {
            // Not this reply's mark: keep the order of arrival.
            self.shared(buf, range);
            return;
        }
        let reply = if mark.buf == 0 {
            std::mem::take(&mut self.buf)
        } else {
            self.buf.split_off(mark.buf)
        };
        self.shared(buf, range);
        self.buf = reply;
        *mark = Mark {
            queued: self.queued.len(),
            buf: 0,
        };
    }

    /// Bytes waiting to be handed to the backend.
    pub fn pending(&self) -> usize {
        self.queued_len + self.buf.len()
    }

    /// Whether anything waits to be handed to the backend.
    pub fn has_output(&self) -> bool {
        !self.buf.is_empty() || !self.queued.is_empty()
    }

    /// Whether all of the output is in `buf` (nothing queued before it).
    pub fn is_flat(&self) -> bool {
        self.queued.is_empty()
    }

    /// The queued chunks, for the backend ([`super::Outbox::append`]).
    pub(super) fn take_queued(&mut self) -> std::vec::Drain<'_, Chunk> {
        self.queued_len = 0;
        self.queued.drain(..)
    }

    /// Everything pending, as one byte string (tests and tools; a backend
    /// moves the chunks instead, [`super::Outbox::append`]).
    pub fn take_bytes(&mut self) -> Vec<u8> {
        let mut all = Vec::with_capacity(self.pending());
        for chunk in self.take_queued() {
            all.extend_from_slice(&chunk);
        }
        all.append(&mut self.buf);
        all
    }

    /// Drops everything pending.
    pub fn clear(&mut self) {
        *self = Reply::new(self.proto);
    }

    /// Where the next command's replies begin.
    pub fn mark(&self) -> Mark {
        Mark {
            queued: self.queued.len(),
            buf: self.buf.len(),
        }
    }

    /// Drops the replies written since `mark` (CLIENT REPLY OFF), with the
    /// memory of a large reply; shared messages queued meanwhile are
    /// pushes, not replies, and stay (as Redis's CLIENT_PUSHING does).
    /// While a large output is still pending the buffer is left alone
    /// (shrinking it for each dropped command would copy it every time);
    /// the backend releases it once sent.
    pub fn discard_since(&mut self, mark: Mark) {
        if self.queued.len() == mark.queued {
            self.buf.truncate(mark.buf);
            if self.buf.capacity() > KEEP_CAPACITY && mark.buf < KEEP_CAPACITY / 4 {
                self.buf.shrink_to(KEEP_CAPACITY / 4);
            }
            return;
        }
        // Messages came in between: keep them and what preceded the mark.
        let mut kept = Vec::with_capacity(self.queued.len());
        for (i, chunk) in self.queued.drain(..).enumerate() {
            match chunk {
                Chunk::Owned(mut v) if i == mark.queued => {
                    v.truncate(mark.buf);
                    kept.push(Chunk::Owned(v));
                }
                Chunk::Owned(_) if i > mark.queued => {}
                chunk => kept.push(chunk),
            }
        }
        kept.retain(|c| !c.is_empty());
        self.queued_len = kept.iter().map(|c| c.len()).sum();
        self.queued = kept;
        self.buf.clear();
    }

    pub fn is_resp3(&self) -> bool {
        self.proto == Proto::Resp3
    }

    fn header(&mut self, tag: u8, n: i64) {
        self.buf.push(tag);
        push_int(&mut self.buf, n);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// `+text`: `text` must not contain CR or LF.
    pub fn simple(&mut self, text: &[u8]) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(text);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `-text`: the caller passes the whole line, code included (`ERR …`).
    /// CR and LF are replaced by spaces, as Redis does, so an argument echoed
    /// in an error cannot break the stream.
    pub fn error(&mut self, text: &[u8]) {
        self.buf.push(b'-');
        self.buf.extend(
            text.iter()
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
        );
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    pub fn bulk(&mut self, data: &[u8]) {
        self.header(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string holding the decimal form of `n`.
    pub fn bulk_int(&mut self, n: i64) {
        let mut tmp = [0u8; 20];
        let digits = format_int(&mut tmp, n);
        self.header(b'$', digits.len() as i64);
        self.buf.extend_from_slice(digits);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A missing value: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        match self.proto {
            Proto::Resp2 => self.buf.extend_from_slice(b"$-1\r\n"),
            Proto::Resp3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    /// A missing aggregate: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        match self.proto {
            Proto::Resp2 => self.buf.extend_from_slice(b"*-1\r\n"),
            Proto::Resp3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    pub fn array(&mut self, len: usize) {
        self.header(b'*', len as i64);
    }

    /// A map of `len` pairs: `%` in RESP3, a flat array in RESP2.
    pub fn map(&mut self, len: usize) {
        match self.proto {
            Proto::Resp2 => self.header(b'*', 2 * len as i64),
            Proto::Resp3 => self.header(b'%', len as i64),
        }
    }

    /// Marks where a map whose size is not known yet begins (Redis's
    /// `addReplyDeferredLen`); [`Reply::fill_map`] writes its header there
    /// once the pairs are written. For replies off the hot path: filling
    /// moves the bytes after the mark.
    pub fn defer(&self) -> Deferred {
        Deferred(self.buf.len())
    }

    /// Writes the header of the map begun at `at`, now that it holds
    /// `pairs` pairs.
    pub fn fill_map(&mut self, at: Deferred, pairs: usize) {
        let body = self.buf.split_off(at.0);
        self.map(pairs);
        self.buf.extend_from_slice(&body);
    }

    /// Writes the header of an array begun at `at`, now that it holds
    /// `len` elements (see [`Reply::defer`]).
    pub fn fill_array(&mut self, at: Deferred, len: usize) {
        let body = self.buf.split_off(at.0);
        self.array(len);
        self.buf.extend_from_slice(&body);
    }

    /// Writes `bytes` at `at` (a deferred element known last).
    pub fn insert_at(&mut self, at: Deferred, bytes: &[u8]) {
        let body = self.buf.split_off(at.0);
        self.buf.extend_from_slice(bytes);
        self.buf.extend_from_slice(&body);
    }

    /// A set: `~` in RESP3, an array in RESP2.
    pub fn set(&mut self, len: usize) {
        match self.proto {
            Proto::Resp2 => self.header(b'*', len as i64),
            Proto::Resp3 => self.header(b'~', len as i64),
        }
    }

    /// An out-of-band push (pub/sub messages): `>` in RESP3, an array in RESP2.
    pub fn push(&mut self, len: usize) {
        match self.proto {
            Proto::Resp2 => self.header(b'*', len as i64),
            Proto::Resp3 => self.header(b'>', len as i64),
        }
    }

    /// A double: `,` in RESP3, a bulk string in RESP2, formatted as Redis's
    /// `%.17g`-based human form.
    pub fn double(&mut self, v: f64) {
        // Integral values (most scores) print as integers under `%.17g`
        // below 1e17: no formatting machinery, no allocation.
        let mut digits = [0u8; 20];
        let integral = v.fract() == 0.0 && v.abs() < 1e17 && !(v == 0.0 && v.is_sign_negative());
        let owned;
        let text: &[u8] = if integral {
            format_int(&mut digits, v as i64)
        } else {
            owned = format_double(v);
            owned.as_bytes()
        };
        match self.proto {
            Proto::Resp2 => self.bulk(text),
            Proto::Resp3 => {
                self.buf.push(b',');
                self.buf.extend_from_slice(text);
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }

    pub fn boolean(&mut self, v: bool) {
        match (self.proto, v) {
            (Proto::Resp2, v) => self.int(v as i64),
            (Proto::Resp3, true) => self.buf.extend_from_slice(b"#t\r\n"),
            (Proto::Resp3, false) => self.buf.extend_from_slice(b"#f\r\n"),
        }
    }

    /// Text for humans (INFO, CLIENT LIST): `=len\r\ntxt:…` in RESP3, a bulk
    /// string in RESP2.
    pub fn verbatim(&mut self, text: &[u8]) {
        match self.proto {
            Proto::Resp2 => self.bulk(text),
            Proto::Resp3 => {
                self.header(b'=', text.len() as i64 + 4);
                self.buf.extend_from_slice(b"txt:");
                self.buf.extend_from_slice(text);
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }

    /// An array of bulk strings.
    pub fn bulks<'a>(&mut self, items: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.array(items.len());
        for item in items {
            self.bulk(item);
        }
    }
}

/// Appends the decimal form of `n`.
pub fn push_int(buf: &mut Vec<u8>, n: i64) {
    let mut tmp = [0u8; 20];
    buf.extend_from_slice(format_int(&mut tmp, n));
}

/// The decimal form of `n`, written at the end of `tmp` (20 bytes hold any
/// `i64`, sign included).
pub fn format_int(tmp: &mut [u8; 20], n: i64) -> &[u8] {
    let mut i = tmp.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        tmp[i] = b'-';
    }
    &tmp[i..]
}

/// Redis's reply form of a double (`addReplyDouble`): `inf`, `-inf`, `nan`,
/// integral values without a fraction, others with 17 significant digits
/// trimmed the way `%.17g` does.
pub fn format_double(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    format_g17(v)
}

/// C's `%.17g`.
pub fn format_g17(v: f64) -> String {
    format_g(v, 17)
}

/// C's `%.<precision>g` for finite values.
pub fn format_g(v: f64, precision: usize) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let p = precision.max(1);
    // Scientific form first, to learn the decimal exponent after rounding.
    let sci = format!("{:.*e}", p - 1, v);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let mantissa = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        trim_fraction(&format!("{:.*}", decimals, v)).to_string()
    }
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A big reply dropped by CLIENT REPLY OFF gives its memory back; what
    /// came before it stays.
    #[test]
    fn discarding_a_big_reply_frees_it() {
        let mut r = Reply::new(Proto::Resp2);
        r.ok();
        let start = r.mark();
        r.bulk(&vec![b'x'; 8 * KEEP_CAPACITY]);
        r.discard_since(start);
        assert_eq!(r.buf, b"+OK\r\n");
        assert!(r.buf.capacity() <= KEEP_CAPACITY, "{}", r.buf.capacity());
    }

    /// Replies dropped by CLIENT REPLY OFF leave the messages that came in
    /// meanwhile, and what was written before.
    #[test]
    fn discarding_keeps_shared_messages() {
        let msg: Rc<[u8]> = Rc::from(&b"<m>"[..]);
        let mut r = Reply::new(Proto::Resp2);
        r.ok();
        let start = r.mark();
        r.int(1);
        r.shared(&msg, 0..msg.len());
        r.int(2);
        r.discard_since(start);
        let mut o = crate::resp::Outbox::default();
        o.append(&mut r);
        let all: Vec<u8> = o.slices().flat_map(|s| s.to_vec()).collect();
        assert_eq!(all, b"+OK\r\n<m>");
    }

    #[test]
    fn doubles_format_as_percent_17g() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (3.0, "3"),
            (-42.0, "-42"),
            (1.5, "1.5"),
            (0.1, "0.10000000000000001"),
            (1e16, "10000000000000000"),
            (99999999999999984.0, "99999999999999984"),
            (1e17, "1e+17"),
            (-1e17, "-1e+17"),
            (1e-5, "1.0000000000000001e-05"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for &(v, text) in cases {
            let mut r = Reply::default();
            r.double(v);
            assert_eq!(
                r.buf,
                format!("${}\r\n{text}\r\n", text.len()).into_bytes(),
                "{v}"
            );
        }
    }

    #[test]
    fn integers_format_at_the_extremes() {
        for n in [0, 7, -7, 10, -10, i64::MAX, i64::MIN] {
            let mut buf = Vec::new();
            push_int(&mut buf, n);
            assert_eq!(buf, n.to_string().into_bytes());
            let mut r = Reply::default();
            r.bulk_int(n);
            assert_eq!(
                r.buf,
                format!("${}\r\n{n}\r\n", n.to_string().len()).into_bytes()
            );
        }
    }
}
