#!/usr/bin/env python3
"""Bitmap and HyperLogLog throughput: rizzler vs redis-server in one run.

Each round starts both servers fresh (interleaved: rizzler, then Redis,
ROUNDS times) and runs redis-benchmark with custom commands against each;
the table shows the medians and rizzler's ratio to Redis.

- PFADD dense: `PFADD hll <rand>` into one HLL (dense after the first
  couple of thousand elements).
- PFADD sparse: `PFADD hll:<rand> <rand>` over 100,000 keys, so nearly
  every add edits a small sparse HLL.
- PFCOUNT cached: `PFCOUNT hll` (the header's cached cardinality).
- PFCOUNT union: `PFCOUNT hll hll2` (two dense HLLs merged and estimated
  on every call).
- SETBIT 64 MiB: `SETBIT bm <rand bit> 1` into a 64 MiB bitmap, changed
  in place. redis-benchmark pads `__rand_int__` to 12 digits, which no
  bit offset accepts, so this one is sent by the script itself: 8
  connections, each writing its pre-built requests from one thread while
  another counts the replies (a deep pipeline; the client does no
  parsing beyond counting CRLFs).
- BITCOUNT 64 MiB: `BITCOUNT bm` over the whole 64 MiB bitmap (a
  popcount of 512 Mi bits per call), 4 clients.

Usage: scripts/bits_bench.py [--rounds N] [--requests N] [--bitmap-mib N]
Needs target/release/rizzler (cargo build --release) and redis-benchmark.
"""

import argparse
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import call, resp  # noqa: E402
from persist_bench import RIZZLER, Proc  # noqa: E402


def benchmark(port, command, requests, clients=50, pipeline=16, keyspace=None):
    """Requests per second of one custom command under redis-benchmark."""
    argv = ["redis-benchmark", "-p", str(port), "-c", str(clients), "-P", str(pipeline),
            "-n", str(requests), "-q"]
    if keyspace:
        argv += ["-r", str(keyspace)]
    argv += command.split()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=1800).stdout
    found = re.findall(r"([0-9.]+) requests per second", out.replace("\r", "\n"))
    if found:
        return float(found[-1])
    sys.exit(f"no throughput from redis-benchmark for {command!r} on {port}: {out[-500:]}")


def blast(port, payloads, replies_each):
    """Sends each payload on its own connection, all at once, and waits
    for `replies_each` one-line replies on each; requests per second."""

    def one(payload, conn, errors):
        sender = threading.Thread(target=conn.sendall, args=(payload,))
        sender.start()
        seen, last = 0, b""
        while seen < replies_each:
            chunk = conn.recv(1 << 20)
            if not chunk:
                errors.append("closed")
                break
            if b"-" in chunk:
                errors.append(chunk[:80])
            # Each reply is one line; a CRLF may straddle two reads.
            seen += chunk.count(b"\r\n") + (last == b"\r" and chunk[:1] == b"\n")
            last = chunk[-1:]
        sender.join()

    conns = [socket.create_connection(("127.0.0.1", port)) for _ in payloads]
    errors = []
    threads = [threading.Thread(target=one, args=(p, c, errors)) for p, c in zip(payloads, conns)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    for c in conns:
        c.close()
    if errors:
        sys.exit(f"errors from the server on {port}: {errors[:3]}")
    return replies_each * len(payloads) / elapsed


def setbit_payloads(bits, requests, conns, seed):
    rng = random.Random(seed)
    each = requests // conns
    return [b"".join(resp("SETBIT", "bm", rng.randrange(bits), 1) for _ in range(each)) for _ in range(conns)], each


def prepare(port, bitmap_bits):
    """Two dense HLLs and a bitmap of `bitmap_bits` bits, half of them set
    in its first byte pattern so BITCOUNT has work."""
    for key in ("hll", "hll2"):
        for start in range(0, 20000, 1000):
            call(port, "PFADD", key, *[f"{key}-{i}" for i in range(start, start + 1000)])
    call(port, "SETBIT", "bm", bitmap_bits - 1, 1)
    call(port, "SETRANGE", "bm", 0, "\x55" * 4096)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=500_000)
    ap.add_argument("--bitmap-mib", type=int, default=64)
    ap.add_argument("--bitcount-requests", type=int, default=400)
    args = ap.parse_args()
    if not RIZZLER.exists():
        sys.exit(f"{RIZZLER} missing: cargo build --release")
    bits = args.bitmap_mib * 8 * 1024 * 1024
    n = args.requests
    tests = [
        ("PFADD dense", "PFADD hll __rand_int__", n, 50, 16, 100_000_000),
        ("PFADD sparse", "PFADD hll:__rand_int__ __rand_int__", n, 50, 16, 100_000),
        ("PFCOUNT cached", "PFCOUNT hll", n, 50, 16, None),
        ("PFCOUNT union", "PFCOUNT hll hll2", max(n // 20, 1000), 50, 1, None),
        (f"SETBIT {args.bitmap_mib} MiB", None, n, 8, None, bits),
        (f"BITCOUNT {args.bitmap_mib} MiB", "BITCOUNT bm", args.bitcount_requests, 4, 1, None),
    ]
    payloads, each = setbit_payloads(bits, n, 8, 11)
    results = {(name, server): [] for name, *_ in tests for server in ("rizzler", "redis")}
    for _ in range(args.rounds):
        for server in ("rizzler", "redis"):
            proc = Proc(server, server, [])
            try:
                prepare(proc.port, bits)
                for name, command, requests, clients, pipeline, keyspace in tests:
                    if command is None:
                        rps = blast(proc.port, payloads, each)
                    else:
                        rps = benchmark(proc.port, command, requests, clients, pipeline, keyspace)
                    results[(name, server)].append(rps)
                    print(f"{server:8} {name:18} {rps:14,.0f}", file=sys.stderr, flush=True)
            finally:
                proc.stop()
    print(f"\n### Bitmaps and HyperLogLog, medians of {args.rounds} interleaved rounds\n")
    print("| test | rizzler ops/s | redis ops/s | rizzler / redis |")
    print("|---|---:|---:|---:|")
    for name, *_ in tests:
        ours = statistics.median(results[(name, "rizzler")])
        theirs = statistics.median(results[(name, "redis")])
        print(f"| {name} | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.2f} |")


if __name__ == "__main__":
    main()
