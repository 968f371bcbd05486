#!/usr/bin/env python3
"""Persistence benchmarks: rizzler vs redis-server, side by side in one run.

1. SET throughput at -c 50 with the AOF: rizzler (io_uring) without AOF,
   with appendfsync everysec and always, against redis-server with the
   same policies; REPEAT interleaved runs, medians, ratios.
2. BGSAVE of 1M keys while redis-benchmark writes (SET, -c 10) and reads
   (GET, -c 40): peak memory during the save over memory before it (PSS
   of the server and, for Redis, its fork child, sampled every 10 ms), and
   GET p99 during the save over GET p99 with the same load and no save.
3. SAVE of 1M keys (wall time) and the boot load of that file (time to
   serve, peak RSS from VmHWM), rizzler JSON and RDB against redis-server.

Usage: scripts/persist_bench.py [--repeat N] [--keys N] [--skip aof,bgsave,boot]
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ROOT, call, free_port, resp, run_benchmark, wait_port  # noqa: E402

RIZZLER = ROOT / "target" / "release" / "rizzler"


def info(port, section, field):
    text = call(port, "INFO", section).decode()
    for line in text.split("\r\n"):
        if line.startswith(field + ":"):
            return line.split(":", 1)[1]
    raise KeyError(field)


class Proc:
    """A server in its own directory, with a name for the tables."""

    def __init__(self, name, kind, extra, directory=None, port=None):
        self.name, self.kind = name, kind
        self.port = port or free_port()
        self.dir = directory or tempfile.mkdtemp(prefix=f"persist-bench-{name}-")
        if kind == "redis":
            argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", self.dir] + extra
        else:
            argv = [str(RIZZLER), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                    "--io", "uring", "--dir", self.dir] + extra
        self.started = time.time()
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc, name)
        self.ready = time.time() - self.started

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def load_keys(port, n):
    """SET key:<i> to a 16-byte value, 1000 per pipelined batch."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        for start in range(0, n, 1000):
            batch = b"".join(resp("SET", f"key:{i}", f"value-{i:010d}") for i in range(start, min(n, start + 1000)))
            s.sendall(batch)
            want, got = min(1000, n - start), 0
            buf = b""
            while got < want:
                buf += s.recv(1 << 20)
                got = buf.count(b"\r\n")
    return n


def pss_kib(pid):
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def family_pss(pid):
    """PSS of a process and its children (Redis's fork child)."""
    total = pss_kib(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return total + sum(pss_kib(int(c)) for c in children)


def hwm_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def aof_table(repeat, requests):
    configs = [
        ("rizzler no AOF", "rizzler", []),
        ("rizzler everysec", "rizzler", ["--appendonly", "yes", "--appendfsync", "everysec"]),
        ("rizzler always", "rizzler", ["--appendonly", "yes", "--appendfsync", "always"]),
        ("redis no AOF", "redis", []),
        ("redis everysec", "redis", ["--appendonly", "yes", "--appendfsync", "everysec"]),
        ("redis always", "redis", ["--appendonly", "yes", "--appendfsync", "always"]),
    ]
    servers = [Proc(name, kind, extra) for name, kind, extra in configs]
    results = {s.name: [] for s in servers}
    try:
        for _ in range(repeat):
            for s in servers:
                n = requests // 5 if "always" in s.name else requests
                results[s.name].append(run_benchmark(s, "set", 50, 1, n, None))
    finally:
        for s in servers:
            s.stop()
            shutil.rmtree(s.dir, ignore_errors=True)
    med = {k: statistics.median(r["rps"] for r in v) for k, v in results.items()}
    p99 = {k: statistics.median(r["p99"] for r in v) for k, v in results.items()}
    print(f"\n### SET -c 50 -P 1 with the AOF (median of {repeat} interleaved runs)\n")
    print("| server | SET/s | p99 ms |")
    print("|---|---:|---:|")
    for k in med:
        print(f"| {k} | {med[k]:,.0f} | {p99[k]:.3f} |")
    print()
    print(f"- rizzler everysec / rizzler no AOF: **{med['rizzler everysec'] / med['rizzler no AOF']:.2f}×** (target ≥ 0.9)")
    print(f"- rizzler everysec / redis everysec: **{med['rizzler everysec'] / med['redis everysec']:.2f}×** (target ≥ 1.0)")
    print(f"- rizzler always / redis always: **{med['rizzler always'] / med['redis always']:.2f}×** (target ≥ 1.2)")


def bench_get(port, requests, keys):
    """GET -c 40 (its p99 in ms) while SET -c 10 writes."""
    import re
    writer = subprocess.Popen(["redis-benchmark", "-p", str(port), "-c", "10", "-n", "100000000", "-r", str(keys),
                               "-t", "set", "-d", "16", "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    return writer, lambda: _finish_get(port, requests, keys, writer, re)


def _finish_get(port, requests, keys, writer, re):
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-c", "40", "-n", str(requests), "-r", str(keys),
                          "-t", "get", "--precision", "3"], capture_output=True, text=True).stdout
    writer.terminate()
    writer.wait()
    dist = []
    for line in out.replace("\r", "\n").splitlines():
        if m := re.match(r"^\s*([\d.]+)% <= ([\d.]+) milliseconds", line):
            dist.append((float(m.group(1)), float(m.group(2))))
    return next((ms for pct, ms in dist if pct >= 99), float("nan"))


def wait_save(port):
    while info(port, "persistence", "rdb_bgsave_in_progress") != "0":
        time.sleep(0.05)


def bgsave_table(keys, repeat):
    """Latency and memory in separate passes: reading a process's PSS walks
    its page tables, which would itself slow the server being timed."""
    rows = []
    for name, kind, extra in [("redis", "redis", []), ("rizzler rdb", "rizzler", ["--snapshot-format", "rdb"]),
                              ("rizzler json", "rizzler", [])]:
        s = Proc(name, kind, extra)
        try:
            load_keys(s.port, keys)
            time.sleep(0.5)
            base, during, mem, secs = [], [], [], []
            for _ in range(repeat):
                _, run = bench_get(s.port, 200_000, keys)
                base.append(run())
                _, run = bench_get(s.port, 200_000, keys)
                call(s.port, "BGSAVE")
                during.append(run())
                wait_save(s.port)
                # Memory: the same writes, PSS sampled every 10 ms.
                writer, run = bench_get(s.port, 1, keys)
                before = family_pss(s.proc.pid)
                start, peak = time.time(), before
                call(s.port, "BGSAVE")
                while info(s.port, "persistence", "rdb_bgsave_in_progress") != "0":
                    peak = max(peak, family_pss(s.proc.pid))
                    time.sleep(0.01)
                secs.append(time.time() - start)
                mem.append(peak / max(before, 1))
                run()
            rows.append((name, statistics.median(base), statistics.median(during),
                         statistics.median(mem), statistics.median(secs)))
        finally:
            s.stop()
            shutil.rmtree(s.dir, ignore_errors=True)
    print(f"\n### BGSAVE of {keys:,} keys under SET -c 10 + GET -c 40 (median of {repeat})\n")
    print("The GET run (200k requests) starts with the BGSAVE; a save shorter than the run")
    print("leaves part of the run unaffected, so compare the save time too.\n")
    print("| server | GET p99 no save (ms) | GET p99 with save (ms) | p99 ratio | peak memory / before | save (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, b, d, m, secs in rows:
        print(f"| {name} | {b:.3f} | {d:.3f} | {d / b:.2f}× | {m:.2f}× | {secs:.2f} |")


def boot_table(keys):
    print(f"\n### SAVE and boot load of {keys:,} keys\n")
    print("| server | SAVE (s) | file (MB) | boot to serving (s) | peak RSS at boot (MiB) | RSS after load (MiB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, kind, extra, file in [("redis", "redis", [], "dump.rdb"),
                                    ("rizzler rdb", "rizzler", ["--snapshot-format", "rdb"], "dump.rdb"),
                                    ("rizzler json", "rizzler", [], "db.json")]:
        s = Proc(name, kind, extra)
        d = s.dir
        try:
            load_keys(s.port, keys)
            t = time.time()
            call(s.port, "SAVE")
            save_secs = time.time() - t
        finally:
            s.stop()
        size = os.path.getsize(os.path.join(d, file)) / 1e6
        s2 = Proc(name, kind, extra, directory=d)
        try:
            # Redis serves before it has loaded (answering -LOADING): wait
            # for the load itself.
            while info(s2.port, "persistence", "loading") != "0":
                time.sleep(0.01)
            ready = time.time() - s2.started
            hwm = hwm_kib(s2.proc.pid) / 1024
            rss = int(next(l.split()[1] for l in Path(f"/proc/{s2.proc.pid}/status").read_text().splitlines()
                           if l.startswith("VmRSS:"))) / 1024
        finally:
            s2.stop()
            shutil.rmtree(d, ignore_errors=True)
        print(f"| {name} | {save_secs:.2f} | {size:.1f} | {ready:.2f} | {hwm:.0f} | {rss:.0f} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--skip", default="")
    a = ap.parse_args()
    if not RIZZLER.exists():
        sys.exit("build first: cargo build --release")
    skip = set(a.skip.split(","))
    if "aof" not in skip:
        aof_table(a.repeat, a.requests)
    if "bgsave" not in skip:
        bgsave_table(a.keys, a.repeat)
    if "boot" not in skip:
        boot_table(a.keys)


if __name__ == "__main__":
    main()
