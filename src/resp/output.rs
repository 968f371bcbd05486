//! Output on its way to a socket: bytes a client owns, and messages shared
//! by every client they go to.
//!
//! Messages published in one batch are encoded once per protocol into one
//! `Rc<[u8]>`; each subscriber's output holds a range of it
//! ([`Chunk::Shared`]), not a copy, and a subscriber that receives a burst
//! holds one range. A [`Reply`](super::Reply) queues chunks ahead of the
//! bytes it is writing, and a backend moves them into an [`Outbox`], which
//! hands the kernel one slice per chunk (`sendmsg`, `writev`).

use std::collections::VecDeque;
use std::ops::{Deref, Range};
use std::rc::Rc;

use super::KEEP_CAPACITY;

/// A piece of output.
#[derive(Debug, Clone)]
pub enum Chunk {
    /// Replies written for this client alone.
    Owned(Vec<u8>),
    /// Messages encoded once for every client they go to: `buf[range]`.
    Shared(Rc<[u8]>, Range<usize>),
}

impl Deref for Chunk {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Chunk::Owned(v) => v,
            Chunk::Shared(buf, range) => &buf[range.clone()],
        }
    }
}

/// What a backend holds for one connection, in order: every chunk from
/// the first unsent byte on.
#[derive(Debug, Default)]
pub struct Outbox {
    chunks: VecDeque<Chunk>,
    /// Bytes of `chunks[0]` already sent.
    head: usize,
    /// Unsent bytes in all.
    len: usize,
    /// A sent buffer kept for the client's next replies, so a connection
    /// that only ever has owned output allocates nothing in steady state.
    spare: Vec<u8>,
}

impl Outbox {
    /// Unsent bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Moves everything `reply` holds to the end of this outbox; returns
    /// how many bytes that was. Owned bytes after owned bytes are copied
    /// onto them (one slice for the kernel, not two); otherwise the
    /// reply's buffer itself moves here and it gets the spare one back.
    pub fn append(&mut self, reply: &mut super::Reply) -> usize {
        let mut moved = 0;
        for chunk in reply.take_queued() {
            moved += chunk.len();
            self.push(chunk);
        }
        let buf = &mut reply.buf;
        if !buf.is_empty() {
            moved += buf.len();
            match self.chunks.back_mut() {
                Some(Chunk::Owned(last)) => {
                    last.extend_from_slice(buf);
                    self.len += buf.len();
                    if buf.capacity() > KEEP_CAPACITY {
                        *buf = Vec::new();
                    } else {
                        buf.clear();
                    }
                }
                _ => {
                    let taken = std::mem::replace(buf, std::mem::take(&mut self.spare));
                    self.push(Chunk::Owned(taken));
                }
            }
        }
        moved
    }

    /// Appends one chunk.
    pub fn push(&mut self, chunk: Chunk) {
        if chunk.is_empty() {
            return;
        }
        self.len += chunk.len();
        self.chunks.push_back(chunk);
    }

    /// The unsent bytes, one slice per chunk, in order.
    pub fn slices(&self) -> impl Iterator<Item = &[u8]> {
        self.chunks
            .iter()
            .enumerate()
            .map(|(i, c)| if i == 0 { &c[self.head..] } else { &c[..] })
    }

    /// Number of chunks (slices) pending.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Forgets the first `n` unsent bytes: the kernel took them.
    pub fn consume(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(first) = self.chunks.front() else {
                break;
            };
            let rest = first.len() - self.head;
            if n < rest {
                self.head += n;
                return;
            }
            n -= rest;
            self.head = 0;
            if let Some(Chunk::Owned(mut v)) = self.chunks.pop_front() {
                if self.spare.capacity() == 0 && v.capacity() <= KEEP_CAPACITY {
                    v.clear();
                    self.spare = v;
                }
            }
        }
        if self.chunks.is_empty() {
            self.head = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::{Proto, Reply};

    fn collect(o: &Outbox) -> Vec<u8> {
        o.slices().flat_map(|s| s.iter().copied()).collect()
    }

    /// Shared messages keep their place among owned replies, are never
    /// copied, and partial sends resume mid-chunk.
    #[test]
    fn chunks_keep_order_across_partial_sends() {
        let msg: Rc<[u8]> = Rc::from(&b"..<msg>.."[..]);
        let mut r = Reply::new(Proto::Resp2);
        r.ok();
        r.shared(&msg, 2..7);
        r.int(1);
        r.shared(&msg, 2..7);
        let mut o = Outbox::default();
        assert_eq!(o.append(&mut r), 5 + 5 + 4 + 5);
        assert!(r.buf.is_empty() && r.pending() == 0);
        assert_eq!(collect(&o), b"+OK\r\n<msg>:1\r\n<msg>");
        assert_eq!(o.chunk_count(), 4);
        assert_eq!(Rc::strong_count(&msg), 3);
        o.consume(7);
        assert_eq!(collect(&o), b"sg>:1\r\n<msg>");
        r.ok();
        o.append(&mut r);
        o.consume(o.len() - 2);
        assert_eq!(collect(&o), b"\r\n");
        o.consume(2);
        assert!(o.is_empty() && o.chunk_count() == 0);
        assert_eq!(Rc::strong_count(&msg), 1);
    }
}
