//! Parser and command dispatch without sockets: what one request costs
//! before any I/O.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rizzler::resp::{encode_request, Parsed, Parser};
use rizzler::testing::Harness;

/// `n` pipelined SETs of 16-byte values, as redis-benchmark sends them.
fn pipeline(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| encode_request(&[b"SET", format!("key:{i:012}").as_bytes(), &[b'x'; 16]]))
        .collect()
}

fn parser(c: &mut Criterion) {
    let input = pipeline(16);
    let mut g = c.benchmark_group("parser");
    g.throughput(Throughput::Elements(16));
    g.bench_function("16 pipelined SETs", |b| {
        let mut p = Parser::default();
        b.iter(|| {
            let mut pos = 0;
            while let Ok(Parsed::Command(n)) = p.parse(&input[pos..]) {
                std::hint::black_box(p.args(&input[pos..]).len());
                pos += n;
            }
        })
    });
    g.finish();
}

fn dispatch(c: &mut Criterion) {
    let mut g = c.benchmark_group("dispatch");
    let sets = pipeline(16);
    let gets: Vec<u8> = (0..16)
        .flat_map(|i| encode_request(&[b"GET", format!("key:{i:012}").as_bytes()]))
        .collect();
    g.throughput(Throughput::Elements(16));
    g.bench_function("16 pipelined SETs", |b| {
        let mut h = Harness::new();
        b.iter(|| std::hint::black_box(h.raw(&sets)))
    });
    g.bench_function("16 pipelined GETs", |b| {
        let mut h = Harness::new();
        h.raw(&sets);
        b.iter(|| std::hint::black_box(h.raw(&gets)))
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("PING, fresh harness", |b| {
        b.iter_batched(
            Harness::new,
            |mut h| h.run(&["PING"]),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, parser, dispatch);
criterion_main!(benches);
