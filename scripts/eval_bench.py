#!/usr/bin/env python3
"""EVALSHA of a rate limiter: rizzler vs redis-server, in one interleaved run.

The script is what a rate limiter runs on every request: INCR a counter and,
on the first hit of a window, EXPIRE it; answer whether the caller is over
its limit. Each server (redis-server, rizzler on io_uring and on epoll)
gets the script with SCRIPT LOAD, then redis-benchmark runs EVALSHA against
each in turn, for -P 1 and -P 16 at -c 50, REPEAT times, interleaved so
noise on a shared machine hits all servers alike. Medians and ratios to
redis-server are printed as a Markdown table.

Usage: scripts/eval_bench.py [--repeat N] [--requests N] [--clients 50] [--pipeline 1,16]
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ROOT, call, interleaved, ratio_table, three_servers  # noqa: E402

LIMITER = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
if n > tonumber(ARGV[2]) then
  return 0
end
return 1
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipeline", default="1,16")
    ap.add_argument("--keyspace", type=int, default=10000)
    ap.add_argument("--binary", default=str(ROOT / "target/release/rizzler"))
    args = ap.parse_args()
    pipelines = [int(p) for p in args.pipeline.split(",")]
    server_cpu, client_cpu = 1, 0
    servers = three_servers(args.binary, server_cpu)
    results, commands = {}, {}
    try:
        sha = None
        for s in servers:
            reply = call(s.port, "SCRIPT", "LOAD", LIMITER)
            got = reply.split(b"\r\n")[1].decode()
            if sha not in (None, got):
                sys.exit(f"{s.name}: SCRIPT LOAD answered {reply!r}")
            sha = got
        command = ["EVALSHA", sha, "1", "rl:__rand_int__", "60", "1000000"]
        for pipeline in pipelines:
            name = f"EVALSHA -P {pipeline}"
            commands[name] = command
            run = argparse.Namespace(**{**vars(args), "pipeline": pipeline})
            results.update(interleaved(servers, {name: command}, run, client_cpu, args.keyspace))
    finally:
        for s in servers:
            s.stop()

    names = [s.name for s in servers]
    print(f"\nEVALSHA rate limiter (INCR + EXPIRE on first hit), -c {args.clients}, "
          f"{args.keyspace} keys, medians of {args.repeat} interleaved runs\n")
    ratio_table("command", names, commands, results)


if __name__ == "__main__":
    main()
