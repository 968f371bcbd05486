#!/usr/bin/env python3
"""Streams: rizzler vs redis-server, in one interleaved run.

1. Memory per entry: `XADD s * f v` ENTRIES times (pipelined) on a fresh
   server; INFO used_memory after minus before, over ENTRIES.
2. XADD throughput: redis-benchmark `XADD bench * f v`.
3. XREADGROUP throughput with a group of 10 consumers: the stream holds
   REQUESTS entries (IDs 1-0 … N-0); each call is
   `XREADGROUP GROUP g c<0..9> COUNT 1 STREAMS s >` from a random one of
   the 10 consumers, so each call delivers one new entry into a PEL.
4. XACK throughput on the PEL the XREADGROUP run built: `XACK s g <id>`
   of a random entry.

Each server (redis-server, rizzler on io_uring and on epoll) runs each
benchmark REPEAT times, interleaved; the stream is rebuilt before each
XREADGROUP run. Medians and ratios to redis-server, as Markdown.

Usage: scripts/stream_bench.py [--repeat N] [--requests N] [--entries N] [--clients 50]
"""

import argparse
import socket
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ROOT, Server, call, redis_argv, resp, rizzler_argv, run_benchmark  # noqa: E402
from zset_bench import used_memory  # noqa: E402


def pipeline(port, commands, batch=1000):
    """Sends `commands` (RESP bytes) in batches and waits for every reply
    (each reply here is one line: an ID, an integer or OK)."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        for start in range(0, len(commands), batch):
            chunk = commands[start:start + batch]
            s.sendall(b"".join(chunk))
            got, buf = 0, b""
            while got < len(chunk):
                data = s.recv(1 << 20)
                if not data:
                    sys.exit("connection closed while loading")
                buf += data
                got = buf.count(b"\r\n") - buf.count(b"$")
            if b"-" in buf[:1] or b"\r\n-" in buf:
                sys.exit(f"an error while loading: {buf[:200]!r}")


def memory_per_entry(port, entries):
    call(port, "FLUSHALL")
    before = used_memory(port)
    cmd = resp("XADD", "mem", "*", "f", "v")
    pipeline(port, [cmd] * entries)
    length = call(port, "XLEN", "mem")
    if length != b":%d\r\n" % entries:
        sys.exit(f"XLEN answered {length!r}")
    per = (used_memory(port) - before) / entries
    call(port, "DEL", "mem")
    return per


def build_group(port, n):
    """A stream of n entries with explicit IDs, a group at 0 and its 10
    consumers."""
    call(port, "DEL", "s")
    pipeline(port, [resp("XADD", "s", f"{i}-0", "f", "v") for i in range(1, n + 1)])
    call(port, "XGROUP", "CREATE", "s", "g", "0")
    for c in range(10):
        # redis-benchmark writes __rand_int__ as 12 digits.
        call(port, "XGROUP", "CREATECONSUMER", "s", "g", f"c{c:012d}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--entries", type=int, default=1000000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--binary", default=str(ROOT / "target/release/rizzler"))
    args = ap.parse_args()
    server_cpu, client_cpu = 1, 0
    servers = [Server("redis", redis_argv(), server_cpu)]
    for backend in ("uring", "epoll"):
        servers.append(Server(f"rizzler-{backend}", rizzler_argv(args.binary, backend), server_cpu))
    names = [s.name for s in servers]
    memory = {n: [] for n in names}
    results = {}
    benches = ["XADD", "XREADGROUP", "XACK"]
    n = args.requests
    try:
        for rep in range(args.repeat):
            order = servers[rep % len(servers):] + servers[:rep % len(servers)]
            for s in order:
                if rep < 2:
                    memory[s.name].append(memory_per_entry(s.port, args.entries))
                    print(f"  memory {s.name:14} {memory[s.name][-1]:.2f} bytes/entry", flush=True)
                r = run_benchmark(s, "XADD", args.clients, 1, n, client_cpu,
                                  command=["XADD", "bench", "*", "f", "v"])
                results.setdefault(("XADD", s.name), []).append(r)
                call(s.port, "DEL", "bench")
                build_group(s.port, n)
                r = run_benchmark(s, "XREADGROUP", args.clients, 1, n, client_cpu,
                                  command=["XREADGROUP", "GROUP", "g", "c__rand_int__", "COUNT", "1",
                                           "STREAMS", "s", ">"], keyspace=10)
                results.setdefault(("XREADGROUP", s.name), []).append(r)
                pending = call(s.port, "XPENDING", "s", "g").split(b"\r\n")[0:2]
                r = run_benchmark(s, "XACK", args.clients, 1, n, client_cpu,
                                  command=["XACK", "s", "g", "__rand_int__-0"], keyspace=n)
                results.setdefault(("XACK", s.name), []).append(r)
                for b in benches:
                    r = results[(b, s.name)][-1]
                    print(f"  {b:11} {s.name:14} {r['rps']:>10.0f} rps p50={r['p50']:.3f} ms "
                          f"cpu={r['cpu_us']:.2f} us/req", flush=True)
                print(f"  (PEL after XREADGROUP on {s.name}: {pending[1].decode()})", flush=True)
    finally:
        for s in servers:
            s.stop()

    print(f"\nStreams, -c {args.clients} -P 1, {n} requests, medians of {args.repeat} interleaved runs\n")
    print("| command | " + " | ".join(f"{x} rps" for x in names) + " | uring/redis | epoll/redis "
          "| cpu us/req redis | cpu uring/redis |")
    print("|---" * (len(names) + 5) + "|")
    for b in benches:
        med = {x: statistics.median(r["rps"] for r in results[(b, x)]) for x in names}
        cpu = {x: statistics.median(r["cpu_us"] for r in results[(b, x)]) for x in names}
        print(f"| {b} | " + " | ".join(f"{med[x]:.0f}" for x in names)
              + f" | {med['rizzler-uring'] / med['redis']:.2f} | {med['rizzler-epoll'] / med['redis']:.2f}"
              + f" | {cpu['redis']:.2f} | {cpu['rizzler-uring'] / cpu['redis']:.2f} |")
    print(f"\n| server | bytes per entry (used_memory delta of {args.entries} `XADD s * f v`) |\n|---|---|")
    for x in names:
        print(f"| {x} | {statistics.median(memory[x]):.2f} |")


if __name__ == "__main__":
    main()
