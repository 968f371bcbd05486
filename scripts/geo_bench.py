#!/usr/bin/env python3
"""GEOSEARCH on a 1M-member geo set: rizzler vs redis-server, interleaved.

Each server (redis-server, rizzler on io_uring, rizzler on epoll) gets the
same 1,000,000 points (`m:<12-digit i>`, pseudo-random over Europe,
lon -10..30, lat 35..60, about 0.12 points per km²). Before timing, the
replies of every server to the same searches around 200 members are
compared byte for byte (members, distances, hashes, coordinates). Then
each search below runs with redis-benchmark around a random member
(`__rand_int__`), against each server in turn, REPEAT times, interleaved;
medians and ratios to redis-server are printed as a Markdown table.

Usage: scripts/geo_bench.py [--repeat N] [--requests N] [--clients 50] [--pipeline 1] [--members N]
"""

import argparse
import socket
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import call, interleaved, interleaved_args, ratio_table, resp, three_servers  # noqa: E402

SEARCHES = {
    # About 30 points within 9 km of a point.
    "BYRADIUS 9 km": ["GEOSEARCH", "geo", "FROMMEMBER", "m:__rand_int__", "BYRADIUS", "9", "km"],
    "BYRADIUS 9 km WITHDIST ASC": ["GEOSEARCH", "geo", "FROMMEMBER", "m:__rand_int__", "BYRADIUS", "9",
                                   "km", "WITHDIST", "ASC"],
    # About 30 points in a 16 x 16 km box.
    "BYBOX 16x16 km": ["GEOSEARCH", "geo", "FROMMEMBER", "m:__rand_int__", "BYBOX", "16", "16", "km"],
    "BYRADIUS 50 km COUNT 10": ["GEOSEARCH", "geo", "FROMMEMBER", "m:__rand_int__", "BYRADIUS", "50",
                                "km", "COUNT", "10"],
}


def points(n):
    """Deterministic pseudo-random points (a 64-bit LCG)."""
    state = 0x2545F4914F6CDD1D
    for i in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        lon = -10 + 40 * ((state >> 11) / 2**53)
        state = (state * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        lat = 35 + 25 * ((state >> 11) / 2**53)
        yield i, f"{lon:.6f}", f"{lat:.6f}"


def load(port, n):
    """GEOADD of every point, 1000 per command, pipelined; waits for all replies."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        batch, batches = [], 0
        for i, lon, lat in points(n):
            batch += [lon, lat, f"m:{i:012d}"]
            if len(batch) == 3000:
                s.sendall(resp("GEOADD", "geo", *batch))
                batch, batches = [], batches + 1
        if batch:
            s.sendall(resp("GEOADD", "geo", *batch))
            batches += 1
        got = 0
        while got < batches:
            got += s.recv(1 << 20).count(b"\r\n")


def sample_replies(port, n):
    """Replies to full-option searches around 200 members."""
    out = []
    with socket.create_connection(("127.0.0.1", port)) as s:
        f = s.makefile("rb")
        for k in range(200):
            member = f"m:{(k * 4999) % n:012d}"
            for shape in (["BYRADIUS", "9", "km"], ["BYBOX", "16", "16", "km"]):
                s.sendall(resp("GEOSEARCH", "geo", "FROMMEMBER", member, *shape,
                               "WITHDIST", "WITHHASH", "WITHCOORD", "ASC"))
                out.append(read_reply(f))
    return out


def read_reply(f):
    line = f.readline()
    if line[:1] in (b"*",):
        return line + b"".join(read_reply(f) for _ in range(int(line[1:])))
    if line[:1] == b"$" and int(line[1:]) >= 0:
        return line + f.read(int(line[1:]) + 2)
    return line


def main():
    ap = interleaved_args(argparse.ArgumentParser())
    ap.add_argument("--members", type=int, default=1_000_000)
    args = ap.parse_args()
    server_cpu, client_cpu = 1, 0
    servers = three_servers(args.binary, server_cpu)
    found = {}
    try:
        for s in servers:
            load(s.port, args.members)
            card = call(s.port, "ZCARD", "geo")
            if card != b":%d\r\n" % args.members:
                sys.exit(f"{s.name}: ZCARD answered {card!r}")
        replies = {s.name: sample_replies(s.port, args.members) for s in servers}
        for s in servers[1:]:
            if replies[s.name] != replies["redis"]:
                bad = next(i for i, (a, b) in enumerate(zip(replies[s.name], replies["redis"])) if a != b)
                sys.exit(f"{s.name} answers search {bad} differently from redis-server:\n"
                         f"{replies[s.name][bad][:400]!r}\n{replies['redis'][bad][:400]!r}")
        for i, shape in enumerate(("radius", "box")):
            counts = [int(r.split(b"\r\n", 1)[0][1:]) for r in replies["redis"][i::2]]
            found[shape] = statistics.mean(counts)
        print(f"replies identical on {len(replies['redis'])} searches; mean results: "
              f"BYRADIUS 9 km {found['radius']:.1f}, BYBOX 16x16 km {found['box']:.1f}", flush=True)
        results = interleaved(servers, SEARCHES, args, client_cpu, args.members)
    finally:
        for s in servers:
            s.stop()

    names = [s.name for s in servers]
    print(f"\nGEOSEARCH on {args.members} points, -c {args.clients} -P {args.pipeline}, medians of "
          f"{args.repeat} interleaved runs\n")
    ratio_table("search", names, SEARCHES, results)


if __name__ == "__main__":
    main()
