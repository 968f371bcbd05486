//! HyperLogLog against redis-server on random inputs: the same PFADDs and
//! PFMERGEs go to both servers, and after each step the stored strings
//! (GET: the sparse opcodes or the dense registers, the header and its
//! cached cardinality) and PFCOUNT's answers must be the same bytes.
//! Sizes cross hll-sparse-max-bytes, so sparse HLLs, the promotion to
//! dense, dense HLLs and merges of both kinds are all compared.

mod common;

use common::{Conn, ServerProc};

/// xorshift64*: reproducible inputs from a printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A random element: short text, an integer, or raw bytes of any length.
fn element(rng: &mut Rng) -> Vec<u8> {
    match rng.below(3) {
        0 => format!("e{}", rng.below(100_000)).into_bytes(),
        1 => rng.next().to_string().into_bytes(),
        _ => (0..rng.below(24)).map(|_| rng.next() as u8).collect(),
    }
}

struct Pair {
    redis: Conn,
    rizzler: Conn,
}

impl Pair {
    fn both(&mut self, args: &[&[u8]]) -> Vec<u8> {
        let a = self.redis.cmd(args);
        let b = self.rizzler.cmd(args);
        assert_eq!(
            common::show(&a),
            common::show(&b),
            "{:?} differs",
            args.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>()
        );
        a
    }
}

fn run(seed: u64, redis: &ServerProc, rizzler: &ServerProc) {
    let mut rng = Rng(seed | 1);
    let mut p = Pair {
        redis: redis.conn(),
        rizzler: rizzler.conn(),
    };
    p.both(&[b"FLUSHALL"]);
    // A small limit on some runs, so promotions happen early.
    let limit = [b"3000".as_slice(), b"300", b"100"][rng.below(3) as usize];
    p.both(&[b"CONFIG", b"SET", b"hll-sparse-max-bytes", limit]);
    let keys: [&[u8]; 4] = [b"h0", b"h1", b"h2", b"h3"];
    for step in 0..60 {
        let key = keys[rng.below(4) as usize];
        match rng.below(10) {
            0..=6 => {
                // Mostly small batches; now and then a large one.
                let n = if rng.below(8) == 0 {
                    rng.below(3000)
                } else {
                    rng.below(20)
                };
                let elements: Vec<Vec<u8>> = (0..n).map(|_| element(&mut rng)).collect();
                let mut args: Vec<&[u8]> = vec![b"PFADD", key];
                args.extend(elements.iter().map(Vec::as_slice));
                p.both(&args);
            }
            7 | 8 => {
                let dest = keys[rng.below(4) as usize];
                let mut args: Vec<&[u8]> = vec![b"PFMERGE", dest];
                for _ in 0..rng.below(4) {
                    args.push(keys[rng.below(4) as usize]);
                }
                p.both(&args);
                p.both(&[b"GET", dest]);
            }
            _ => {
                let mut args: Vec<&[u8]> = vec![b"PFCOUNT"];
                for _ in 0..=rng.below(3) {
                    args.push(keys[rng.below(4) as usize]);
                }
                p.both(&args);
            }
        }
        p.both(&[b"GET", key]);
        p.both(&[b"PFCOUNT", key]);
        // The count filled the cache: the bytes again.
        p.both(&[b"GET", key]);
        if step % 20 == 19 {
            p.both(&[b"PFCOUNT", keys[0], keys[1], keys[2], keys[3]]);
        }
    }
    p.both(&[b"CONFIG", b"SET", b"hll-sparse-max-bytes", b"3000"]);
}

#[test]
fn random_inputs_store_and_count_as_redis_does() {
    let redis = common::redis_server();
    let rizzler = common::rizzler("epoll", &[]);
    let base = std::env::var("HLL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0001_u64);
    for i in 0..8 {
        let seed = base.wrapping_add(i * 0x9e37_79b9);
        eprintln!("seed {seed}");
        run(seed, &redis, &rizzler);
    }
}
