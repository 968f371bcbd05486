#!/usr/bin/env python3
"""redis-benchmark's default suite (no -t): rizzler vs redis-server.

For each pipeline depth, runs the whole default suite (PING_INLINE,
PING_MBULK, SET, GET, INCR, LPUSH, RPUSH, LPOP, RPOP, SADD, HSET, SPOP,
ZADD, ZPOPMIN, LRANGE_100/300/500/600, MSET) against redis-server and
rizzler on each backend in turn, REPEAT times, interleaved (the order
rotates each round), with the server pinned to one CPU and the client to
the other. Prints a Markdown table of median throughputs with ratios to
redis-server.

Usage: scripts/suite_bench.py [--repeat N] [--clients 50] [--pipeline 1,16]
"""

import argparse
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ROOT, Server, redis_argv, rizzler_argv  # noqa: E402

LINE = re.compile(r"^([A-Z_0-9]+(?: \([^)]*\))?): ([\d.]+) requests per second")


def suite(server, clients, pipeline, requests, cpu):
    argv = ["redis-benchmark", "-p", str(server.port), "-c", str(clients), "-P", str(pipeline),
            "-n", str(requests), "-r", "100000", "-q"]
    if cpu is not None and shutil.which("taskset"):
        argv = ["taskset", "-c", str(cpu)] + argv
    out = subprocess.run(argv, capture_output=True, text=True, timeout=1800).stdout
    results = {}
    for line in out.replace("\r", "\n").splitlines():
        if m := LINE.match(line.strip()):
            results[m.group(1)] = float(m.group(2))
    if not results:
        sys.exit(f"no results from redis-benchmark against {server.name}:\n{out[-2000:]}")
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipeline", default="1,16")
    ap.add_argument("--requests", type=int, default=100000, help="per test at -P 1 (x4 when pipelined)")
    ap.add_argument("--binary", default=str(ROOT / "target/release/rizzler"))
    args = ap.parse_args()
    server_cpu, client_cpu = 1, 0
    servers = [Server("redis", redis_argv(), server_cpu)]
    for backend in ("uring", "epoll"):
        servers.append(Server(f"rizzler-{backend}", rizzler_argv(args.binary, backend), server_cpu))
    runs = {}
    try:
        for pipeline in map(int, args.pipeline.split(",")):
            requests = args.requests * (4 if pipeline > 1 else 1)
            for rep in range(args.repeat):
                order = servers[rep % len(servers):] + servers[:rep % len(servers)]
                for s in order:
                    for test, rps in suite(s, args.clients, pipeline, requests, client_cpu).items():
                        runs.setdefault((pipeline, test, s.name), []).append(rps)
                    print(f"  P={pipeline} round {rep + 1} {s.name} done", flush=True)
    finally:
        for s in servers:
            s.stop()
    names = [s.name for s in servers]
    for pipeline in map(int, args.pipeline.split(",")):
        tests = [t for (p, t, n) in runs if p == pipeline and n == "redis"]
        print(f"\nredis-benchmark default suite, -c {args.clients} -P {pipeline}, "
              f"medians of {args.repeat} interleaved rounds (requests/s)\n")
        print("| test | " + " | ".join(names) + " | uring/redis | epoll/redis |")
        print("|---" * (len(names) + 3) + "|")
        for t in tests:
            med = {n: statistics.median(runs.get((pipeline, t, n), [0])) for n in names}
            print(f"| {t} | " + " | ".join(f"{med[n]:.0f}" for n in names)
                  + f" | {med['rizzler-uring'] / med['redis']:.2f} | {med['rizzler-epoll'] / med['redis']:.2f} |")


if __name__ == "__main__":
    main()
