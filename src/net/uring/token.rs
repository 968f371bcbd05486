//! What a completion is about, packed into its 64-bit `user_data`: the
//! operation kind, a slot key and that slot's generation.
//!
//! Connection slots are reused as soon as a connection is gone. The loop
//! already keeps a slot until the kernel has answered every operation that
//! names it, so a stale completion should not exist; the generation makes
//! that a checked fact instead of a hope: a completion whose generation is
//! not the slot's current one is dropped (after returning its buffer).

/// The operation a completion belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Op {
    /// Multishot accept; `key` is the listener index.
    Accept = 1,
    /// Multishot recv with a provided buffer; `key` is the connection.
    Recv = 2,
    /// Send of the connection's pending replies.
    Send = 3,
    /// An AsyncCancel aimed at one of the connection's operations.
    Cancel = 4,
    /// Close of a connection's socket (its slot is already free).
    Close = 5,
    /// The cron timer.
    Tick = 6,
    /// Readiness of the signalfd (SIGTERM, SIGINT).
    Signal = 7,
    /// Back-off timer before re-arming a failed accept; `key` is the listener.
    AcceptRetry = 8,
    /// A cancel aimed at a loop-wide operation (accept, timer, signal).
    CancelGlobal = 9,
}

impl Op {
    fn from_u8(v: u8) -> Option<Op> {
        Some(match v {
            1 => Op::Accept,
            2 => Op::Recv,
            3 => Op::Send,
            4 => Op::Cancel,
            5 => Op::Close,
            6 => Op::Tick,
            7 => Op::Signal,
            8 => Op::AcceptRetry,
            9 => Op::CancelGlobal,
            _ => return None,
        })
    }
}

/// Generations wrap at 24 bits.
pub const GEN_MASK: u32 = 0x00FF_FFFF;

/// A decoded `user_data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub op: Op,
    pub key: u32,
    pub gen: u32,
}

impl Token {
    pub fn new(op: Op, key: usize, gen: u32) -> Token {
        Token {
            op,
            key: key as u32,
            gen: gen & GEN_MASK,
        }
    }

    /// Layout: key in bits 32..64, generation in 8..32, op in 0..8.
    pub fn encode(self) -> u64 {
        (self.key as u64) << 32 | ((self.gen & GEN_MASK) as u64) << 8 | self.op as u64
    }

    pub fn decode(user_data: u64) -> Option<Token> {
        Some(Token {
            op: Op::from_u8(user_data as u8)?,
            key: (user_data >> 32) as u32,
            gen: (user_data >> 8) as u32 & GEN_MASK,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for op in [
            Op::Accept,
            Op::Recv,
            Op::Send,
            Op::Cancel,
            Op::Close,
            Op::Tick,
        ] {
            let t = Token::new(op, 123_456, 0x1234_5678);
            let back = Token::decode(t.encode()).expect("decodes");
            assert_eq!(back.op, op);
            assert_eq!(back.key, 123_456);
            assert_eq!(back.gen, 0x34_5678, "generation keeps its low 24 bits");
        }
    }

    #[test]
    fn generations_tell_reused_slots_apart() {
        let old = Token::new(Op::Recv, 7, 1).encode();
        let new = Token::new(Op::Recv, 7, 2).encode();
        assert_ne!(old, new);
        assert_eq!(
            Token::decode(0),
            None,
            "user_data 0 is no operation of ours"
        );
    }
}
