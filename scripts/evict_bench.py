#!/usr/bin/env python3
"""maxmemory benchmarks: rizzler vs redis-server, side by side in one run.

1. Write flood: redis-benchmark SETs REQUESTS random keys (from a space of
   a billion, so nearly all distinct) with 100-byte values, -c 50 -P 16,
   against rizzler with maxmemory (allkeys-lru, then allkeys-lfu),
   rizzler with no limit, and redis-server with the same limit and
   policy; REPEAT interleaved rounds, medians. RSS is sampled every 50 ms
   during each run: the table shows its peak over maxmemory, and the
   throughput ratios against the unlimited rizzler and against Redis.
2. Zipf cache: a cache-aside client (GET; on a miss, SET) over a keyspace
   of KEYSPACE keys drawn from a Zipf distribution (s = 0.99, as YCSB),
   100-byte values, against each server at the same maxmemory and policy;
   the same key sequence for every server. After a warm-up pass, the hit
   ratio of the measured pass.
3. Memory per key: RSS after loading 1 M keys `key:<n>` = `value:<n>`
   minus RSS before, per key.

Usage: scripts/evict_bench.py [--repeat N] [--requests N] [--maxmemory 100mb]
                              [--skip flood,zipf,perkey]
"""

import argparse
import bisect
import random
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

MIB = 1 << 20


def rss_bytes(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def flood(server, requests):
    """One write flood; (requests per second, peak RSS during it)."""
    peak = [rss_bytes(server.proc.pid)]
    done = threading.Event()

    def sample():
        while not done.wait(0.05):
            peak[0] = max(peak[0], rss_bytes(server.proc.pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    argv = ["redis-benchmark", "-p", str(server.port), "-c", "50", "-P", "16", "-n", str(requests),
            "-r", "1000000000", "-d", "100", "-t", "set", "-q"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=1800).stdout
    done.set()
    sampler.join()
    rps = None
    for part in out.replace("\r", "\n").splitlines():
        if part.startswith("SET:") and "requests per second" in part:
            rps = float(part.split()[1])
    if rps is None:
        sys.exit(f"no throughput from redis-benchmark for {server.name}: {out[-500:]}")
    return rps, peak[0]


def flood_table(policy, limit, requests, repeat):
    extra = ["--maxmemory", str(limit), "--maxmemory-policy", policy]
    setups = [("rizzler", "rizzler", extra), ("rizzler-nolimit", "rizzler", []), ("redis", "redis", extra)]
    results = {name: [] for name, _, _ in setups}
    for _ in range(repeat):
        for name, kind, args in setups:
            server = Proc(name, kind, args)
            try:
                rps, peak = flood(server, requests)
                keys = int(call(server.port, "DBSIZE")[1:].strip())
                results[name].append((rps, peak, keys))
            finally:
                server.stop()
    med = {n: tuple(statistics.median(r[i] for r in rs) for i in range(3)) for n, rs in results.items()}
    print(f"\n### Write flood, {requests:,} SETs of 100 bytes, maxmemory {limit // MIB} MiB, {policy} "
          f"(medians of {repeat})\n")
    print("| server | SET/s | × unlimited rizzler | × redis | peak RSS MiB | peak RSS / maxmemory | keys at end |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, (rps, peak, keys) in med.items():
        limited = name != "rizzler-nolimit"
        print(f"| {name} | {rps:,.0f} | {rps / med['rizzler-nolimit'][0]:.2f} | {rps / med['redis'][0]:.2f} "
              f"| {peak / MIB:.0f} | {peak / limit:.2f}{'' if limited else ' (no limit)'} | {keys:,.0f} |")


class Zipf:
    """Ranks 0..n-1 with probability proportional to 1 / (rank + 1)^s."""

    def __init__(self, n, s, seed):
        self.cdf, total = [], 0.0
        for k in range(1, n + 1):
            total += 1.0 / k**s
            self.cdf.append(total)
        self.total = total
        self.rng = random.Random(seed)
        # Ranks are scattered over the keyspace, so hot keys are not also
        # the first written.
        self.names = list(range(n))
        random.Random(seed + 1).shuffle(self.names)

    def draw(self, count):
        return [self.names[bisect.bisect_left(self.cdf, self.rng.random() * self.total)] for _ in range(count)]


def read_replies(sock, buf, count):
    """Reads `count` GET or SET replies; returns (hits, rest of buffer)."""
    hits = 0
    while count:
        while True:
            end = buf.find(b"\r\n")
            if end >= 0:
                break
            buf += sock.recv(1 << 20)
        head = buf[:end]
        if head.startswith(b"$-1") or head.startswith(b"+") or head.startswith(b"_"):
            buf = buf[end + 2:]
        elif head.startswith(b"$"):
            size = int(head[1:])
            while len(buf) < end + 2 + size + 2:
                buf += sock.recv(1 << 20)
            buf = buf[end + 2 + size + 2:]
            hits += 1
        else:
            sys.exit(f"unexpected reply {head!r}")
        count -= 1
    return hits, buf


def cache_pass(port, keys, value):
    """GET each key (pipelined 500 at a time); SET the misses. Hit count."""
    hits = 0
    with socket.create_connection(("127.0.0.1", port)) as s:
        buf = b""
        for start in range(0, len(keys), 500):
            batch = keys[start:start + 500]
            s.sendall(b"".join(resp("GET", f"key:{k}") for k in batch))
            got = []
            for k in batch:
                h, buf = read_replies(s, buf, 1)
                got.append(h)
            hits += sum(got)
            misses = [k for k, h in zip(batch, got) if not h]
            if misses:
                s.sendall(b"".join(resp("SET", f"key:{k}", value) for k in misses))
                _, buf = read_replies(s, buf, len(misses))
    return hits


def zipf_table(policy, limit, keyspace, ops):
    zipf = Zipf(keyspace, 0.99, seed=7)
    warm, measured = zipf.draw(ops), zipf.draw(ops)
    value = "v" * 100
    extra = ["--maxmemory", str(limit), "--maxmemory-policy", policy]
    rows = []
    for name, kind in [("rizzler", "rizzler"), ("redis", "redis")]:
        server = Proc(name, kind, extra)
        try:
            cache_pass(server.port, warm, value)
            hits = cache_pass(server.port, measured, value)
            keys = int(call(server.port, "DBSIZE")[1:].strip())
            rows.append((name, hits / ops, keys))
        finally:
            server.stop()
    print(f"\n### Zipf cache (s=0.99, {keyspace:,} keys, {ops:,} GETs after as many warming), "
          f"maxmemory {limit // MIB} MiB, {policy}\n")
    print("| server | hit ratio | × redis | keys held |")
    print("|---|---:|---:|---:|")
    redis_ratio = rows[-1][1]
    for name, ratio, keys in rows:
        print(f"| {name} | {ratio:.4f} | {ratio / redis_ratio:.3f} | {keys:,} |")


def per_key_table(keys, repeat):
    results = {"rizzler": [], "redis": []}
    for _ in range(repeat):
        for name in results:
            server = Proc(name, name, [])
            try:
                time.sleep(0.2)
                before = rss_bytes(server.proc.pid)
                with socket.create_connection(("127.0.0.1", server.port)) as s:
                    for start in range(0, keys, 1000):
                        end = min(keys, start + 1000)
                        s.sendall(b"".join(resp("SET", f"key:{i}", f"value:{i}") for i in range(start, end)))
                        _, rest = read_replies(s, b"", end - start)
                time.sleep(0.2)
                results[name].append((rss_bytes(server.proc.pid) - before) / keys)
            finally:
                server.stop()
    med = {n: statistics.median(v) for n, v in results.items()}
    print(f"\n### Memory per key, {keys:,} keys `key:<n>` = `value:<n>` (RSS after - before, medians of {repeat})\n")
    print("| server | bytes per key | × redis |")
    print("|---|---:|---:|")
    for name, per in med.items():
        print(f"| {name} | {per:.1f} | {per / med['redis']:.2f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--requests", type=int, default=10_000_000)
    ap.add_argument("--maxmemory", default="100mb")
    ap.add_argument("--keyspace", type=int, default=3_000_000)
    ap.add_argument("--ops", type=int, default=2_000_000)
    ap.add_argument("--skip", default="")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    units = {"kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30}
    text = args.maxmemory.lower()
    limit = int(text[:-2]) * units[text[-2:]] if text[-2:] in units else int(text)
    if not RIZZLER.exists():
        sys.exit("build first: cargo build --release")
    if "flood" not in skip:
        for policy in ["allkeys-lru", "allkeys-lfu"]:
            flood_table(policy, limit, args.requests, args.repeat)
    if "zipf" not in skip:
        for policy in ["allkeys-lru", "allkeys-lfu"]:
            zipf_table(policy, limit, args.keyspace, args.ops)
    if "perkey" not in skip:
        per_key_table(1_000_000, args.repeat)


if __name__ == "__main__":
    main()
