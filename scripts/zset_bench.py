#!/usr/bin/env python3
"""A 1M-member sorted set: rizzler vs redis-server, in one interleaved run.

Each server (redis-server, rizzler on io_uring, rizzler on epoll) is
loaded with the same 1,000,000 members (`member:<i>`, scores a
permutation of 0..1M), and its INFO used_memory is read before and after:
the difference divided by 1M is the memory per member. Then each command
below runs with redis-benchmark against each server in turn, REPEAT times,
interleaved; medians and ratios to redis-server are printed as a Markdown
table. The set's size changes little during the run (ZADD adds members
from a range mostly already there).

Usage: scripts/zset_bench.py [--repeat N] [--requests N] [--clients 50] [--pipeline 1]
"""

import argparse
import socket
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ROOT, Server, call, redis_argv, resp, rizzler_argv, run_benchmark  # noqa: E402

MEMBERS = 1_000_000
COMMANDS = {
    "ZADD": ["ZADD", "bigz", "__rand_int__", "member:__rand_int__"],
    "ZRANK": ["ZRANK", "bigz", "member:__rand_int__"],
    "ZRANGE rank": ["ZRANGE", "bigz", "500000", "500009", "WITHSCORES"],
    "ZRANGE score": ["ZRANGE", "bigz", "__rand_int__", "+inf", "BYSCORE", "LIMIT", "0", "10"],
    "ZINCRBY": ["ZINCRBY", "bigz", "1", "member:__rand_int__"],
    "ZSCORE": ["ZSCORE", "bigz", "member:__rand_int__"],
}


def used_memory(port):
    info = call(port, "INFO", "memory").decode()
    return int(next(l.split(":")[1] for l in info.split("\r\n") if l.startswith("used_memory:")))


def load(port):
    """ZADD of every member, 1000 per command, pipelined; waits for all replies."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        batches = 0
        for start in range(0, MEMBERS, 1000):
            args = ["ZADD", "bigz"]
            for i in range(start, start + 1000):
                args += [(i * 7919) % MEMBERS, f"member:{i}"]
            s.sendall(resp(*args))
            batches += 1
        got = 0
        while got < batches:
            got += s.recv(1 << 20).count(b"\r\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipeline", type=int, default=1)
    ap.add_argument("--binary", default=str(ROOT / "target/release/rizzler"))
    args = ap.parse_args()
    server_cpu, client_cpu = 1, 0
    servers = [Server("redis", redis_argv(), server_cpu)]
    for backend in ("uring", "epoll"):
        servers.append(Server(f"rizzler-{backend}", rizzler_argv(args.binary, backend), server_cpu))
    per_member, results = {}, {}
    try:
        for s in servers:
            before = used_memory(s.port)
            load(s.port)
            per_member[s.name] = (used_memory(s.port) - before) / MEMBERS
            card = call(s.port, "ZCARD", "bigz")
            if card != b":%d\r\n" % MEMBERS:
                sys.exit(f"{s.name}: ZCARD answered {card!r}")
        for name, command in COMMANDS.items():
            for rep in range(args.repeat):
                order = servers[rep % len(servers):] + servers[:rep % len(servers)]
                for s in order:
                    r = run_benchmark(s, name, args.clients, args.pipeline, args.requests, client_cpu,
                                      command=command, keyspace=MEMBERS)
                    results.setdefault((name, s.name), []).append(r)
                    print(f"  {name:13} {s.name:14} {r['rps']:>10.0f} rps p50={r['p50']:.3f} ms "
                          f"cpu={r['cpu_us']:.2f} us/req", flush=True)
    finally:
        for s in servers:
            s.stop()

    names = [s.name for s in servers]
    print(f"\n1M-member sorted set, -c {args.clients} -P {args.pipeline}, medians of {args.repeat} "
          "interleaved runs\n")
    print("| command | " + " | ".join(f"{n} rps" for n in names) + " | uring/redis | epoll/redis "
          "| cpu us/req redis | cpu uring/redis |")
    print("|---" * (len(names) + 5) + "|")
    for name in COMMANDS:
        med = {n: statistics.median(r["rps"] for r in results[(name, n)]) for n in names}
        cpu = {n: statistics.median(r["cpu_us"] for r in results[(name, n)]) for n in names}
        print(f"| {name} | " + " | ".join(f"{med[n]:.0f}" for n in names)
              + f" | {med['rizzler-uring'] / med['redis']:.2f} | {med['rizzler-epoll'] / med['redis']:.2f}"
              + f" | {cpu['redis']:.2f} | {cpu['rizzler-uring'] / cpu['redis']:.2f} |")
    print("\n| server | bytes per member (used_memory delta / 1M) |\n|---|---|")
    for n in names:
        print(f"| {n} | {per_member[n]:.1f} |")


if __name__ == "__main__":
    main()
