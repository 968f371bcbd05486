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
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import call, interleaved, interleaved_args, ratio_table, resp, three_servers  # noqa: E402

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
    ap = interleaved_args(argparse.ArgumentParser())
    args = ap.parse_args()
    server_cpu, client_cpu = 1, 0
    servers = three_servers(args.binary, server_cpu)
    per_member = {}
    try:
        for s in servers:
            before = used_memory(s.port)
            load(s.port)
            per_member[s.name] = (used_memory(s.port) - before) / MEMBERS
            card = call(s.port, "ZCARD", "bigz")
            if card != b":%d\r\n" % MEMBERS:
                sys.exit(f"{s.name}: ZCARD answered {card!r}")
        results = interleaved(servers, COMMANDS, args, client_cpu, MEMBERS)
    finally:
        for s in servers:
            s.stop()

    names = [s.name for s in servers]
    print(f"\n1M-member sorted set, -c {args.clients} -P {args.pipeline}, medians of {args.repeat} "
          "interleaved runs\n")
    ratio_table("command", names, COMMANDS, results)
    print("\n| server | bytes per member (used_memory delta / 1M) |\n|---|---|")
    for n in names:
        print(f"| {n} | {per_member[n]:.1f} |")


if __name__ == "__main__":
    main()
