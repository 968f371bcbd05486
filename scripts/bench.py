#!/usr/bin/env python3
"""rizzler vs redis-server with redis-benchmark, in one interleaved run.

Starts each server on its own port (rizzler once per I/O backend, and
Debian's redis-server), then for every configuration (test x clients x
pipeline) runs redis-benchmark against each server in turn, REPEAT times,
interleaved so that noise on this shared machine hits all servers alike.
For each run it records throughput, p50/p99/p99.9 latency and the server's
CPU time per request (utime+stime from /proc/<pid>/stat before and after,
divided by requests). Medians over the repeats are printed as a table with
ratios against redis-server and against the epoll build, and written as
CSV and an SVG plot under results/.

With --baseline BIN, an older rizzler binary is started too (once per
backend, as baseline-uring, baseline-epoll) and the table gains columns
comparing each rizzler with the baseline of its backend: the way a change
is shown not to cost throughput or CPU.

Usage: scripts/bench.sh [--repeat N] [--clients 1,50,500] [--pipeline 1,16]
                        [--tests set,get] [--backends uring,epoll] [--quick]
                        [--baseline path/to/old/rizzler]
"""

import argparse
import csv
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resp(*args):
    """A command in RESP."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def call(port, *args):
    """One command on a fresh connection; its raw reply."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(resp(*args))
        data = b""
        while not data.endswith(b"\r\n") or (data[:1] in (b"$", b"=") and data.count(b"\r\n") < 2):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        return data


def redis_argv():
    """redis-server on {port}, persistence off."""
    return ["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]


def rizzler_argv(binary, backend):
    """rizzler on {port} with one backend, persistence off like redis_argv's
    (its default save points would otherwise snapshot during a run)."""
    return [binary, "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--io", backend]


def wait_port(port, proc, name):
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{name} exited early with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{name} did not listen on {port}")


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is fields[0]; utime, stime are 14, 15 of
    # the full line, i.e. indexes 11 and 12 here.
    return (int(fields[11]) + int(fields[12])) / TICKS


class Server:
    def __init__(self, name, argv, cpu):
        self.name, self.port = name, free_port()
        argv = [a.replace("{port}", str(self.port)) for a in argv]
        if cpu is not None and shutil.which("taskset"):
            argv = ["taskset", "-c", str(cpu)] + argv
        self.log = tempfile.TemporaryFile()
        # An empty directory of its own: a snapshot some earlier run left
        # in /tmp would otherwise be loaded (and answer -LOADING meanwhile).
        self.dir = tempfile.TemporaryDirectory(prefix="rizzler-bench-")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir.name)
        wait_port(self.port, self.proc, name)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


PCT_LINE = re.compile(r"^\s*([\d.]+)% <= ([\d.]+) milliseconds")
RPS_LINE = re.compile(r"^\s*throughput summary: ([\d.]+) requests per second")


def percentile(dist, p):
    """The latency at which the cumulative distribution reaches p percent."""
    for pct, ms in dist:
        if pct >= p:
            return ms
    return dist[-1][1] if dist else float("nan")


def run_benchmark(server, test, clients, pipeline, requests, cpu, command=None, keyspace=100000):
    """One redis-benchmark run: its -t test, or `command` (a list of
    arguments, with __rand_int__ placeholders) when given."""
    argv = ["redis-benchmark", "-p", str(server.port), "-c", str(clients), "-P", str(pipeline),
            "-n", str(requests), "-r", str(keyspace), "-d", "16", "--precision", "3"]
    argv += command if command else ["-t", test]
    if cpu is not None and shutil.which("taskset"):
        argv = ["taskset", "-c", str(cpu)] + argv
    before = cpu_seconds(server.proc.pid)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600).stdout
    after = cpu_seconds(server.proc.pid)
    dist, rps = [], None
    # The detailed output redraws a progress line with \r; keep the final text.
    for line in out.replace("\r", "\n").splitlines():
        if m := PCT_LINE.match(line):
            dist.append((float(m.group(1)), float(m.group(2))))
        elif m := RPS_LINE.match(line):
            rps = float(m.group(1))
    if rps is None or not dist:
        sys.exit(f"could not read redis-benchmark output for {server.name}:\n{out[-2000:]}")
    return {
        "rps": rps,
        "p50": percentile(dist, 50),
        "p99": percentile(dist, 99),
        "p999": percentile(dist, 99.9),
        "cpu_us": (after - before) * 1e6 / requests,
    }


def interleaved_args(ap):
    """The options of a script built on `interleaved`."""
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--pipeline", type=int, default=1)
    ap.add_argument("--binary", default=str(ROOT / "target/release/rizzler"))
    return ap


def three_servers(binary, cpu):
    """redis-server, then rizzler on io_uring and on epoll, all on `cpu`."""
    servers = [Server("redis", redis_argv(), cpu)]
    for backend in ("uring", "epoll"):
        servers.append(Server(f"rizzler-{backend}", rizzler_argv(binary, backend), cpu))
    return servers


def interleaved(servers, commands, args, cpu, keyspace):
    """Each of `commands` (name -> redis-benchmark arguments) against each
    server in turn, args.repeat times, the order rotating so that noise
    hits all servers alike: {(name, server name): [run, ...]}."""
    results = {}
    width = max(map(len, commands))
    for name, command in commands.items():
        for rep in range(args.repeat):
            order = servers[rep % len(servers):] + servers[:rep % len(servers)]
            for s in order:
                r = run_benchmark(s, name, args.clients, args.pipeline, args.requests, cpu,
                                  command=command, keyspace=keyspace)
                results.setdefault((name, s.name), []).append(r)
                print(f"  {name:{width}} {s.name:14} {r['rps']:>10.0f} rps p50={r['p50']:.3f} ms "
                      f"cpu={r['cpu_us']:.2f} us/req", flush=True)
    return results


def ratio_table(label, names, commands, results):
    """The medians of `interleaved`'s results as a Markdown table, with
    each rizzler's ratios to redis-server."""
    print(f"| {label} | " + " | ".join(f"{n} rps" for n in names) + " | uring/redis | epoll/redis "
          "| cpu us/req redis | cpu uring/redis |")
    print("|---" * (len(names) + 5) + "|")
    for name in commands:
        med = {n: statistics.median(r["rps"] for r in results[(name, n)]) for n in names}
        cpu = {n: statistics.median(r["cpu_us"] for r in results[(name, n)]) for n in names}
        print(f"| {name} | " + " | ".join(f"{med[n]:.0f}" for n in names)
              + f" | {med['rizzler-uring'] / med['redis']:.2f} | {med['rizzler-epoll'] / med['redis']:.2f}"
              + f" | {cpu['redis']:.2f} | {cpu['rizzler-uring'] / cpu['redis']:.2f} |")


def svg_plot(rows, path, servers):
    """Two panels of grouped bars, per configuration and server: throughput
    and CPU time per request, each as a ratio to redis-server's (the dashed
    line at 1.0), so P1 and P16 runs read on one scale."""
    configs = sorted({(r["test"], r["clients"], r["pipeline"]) for r in rows})
    colours = {"redis": "#c0392b", "rizzler-uring": "#2471a3", "rizzler-epoll": "#7fb3d5"}
    group, pad, panel_h = 96, 60, 220
    w = pad + group * len(configs) + 150
    h = 2 * panel_h + 3 * pad
    bar = (group - 16) / max(1, len(servers))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" '
             f'font-size="11"><rect width="{w}" height="{h}" fill="white"/>']

    def row(cfg, name):
        return next((r for r in rows if (r["test"], r["clients"], r["pipeline"]) == cfg and r["server"] == name), None)

    for p, (key, title) in enumerate([("rps", "throughput / redis-server (higher is better)"),
                                      ("cpu_us", "server CPU per request / redis-server (lower is better)")]):
        top = pad + p * (panel_h + pad)
        ratios = []
        for cfg in configs:
            base = row(cfg, "redis")
            for name in servers:
                r = row(cfg, name)
                if r and base and base[key]:
                    ratios.append(r[key] / base[key])
        scale = max(2.0, max(ratios, default=1) * 1.1)
        y = lambda v: top + panel_h - panel_h * v / scale
        parts.append(f'<text x="{pad}" y="{top - 10}" font-size="13">{title}</text>')
        for tick in [0.5 * i for i in range(int(scale / 0.5) + 1)]:
            parts.append(f'<line x1="{pad - 4}" x2="{w - 150}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                         f'stroke="#ddd"/><text x="{pad - 8}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:.1f}</text>')
        for i, cfg in enumerate(configs):
            base = row(cfg, "redis")
            x0 = pad + group * i + 8
            for j, name in enumerate(servers):
                r = row(cfg, name)
                if not (r and base and base[key]):
                    continue
                v = r[key] / base[key]
                parts.append(f'<rect x="{x0 + j * bar:.1f}" y="{y(v):.1f}" width="{bar - 2:.1f}" '
                             f'height="{top + panel_h - y(v):.1f}" fill="{colours.get(name, "#888")}">'
                             f'<title>{name}: {v:.2f}</title></rect>')
            parts.append(f'<text x="{x0}" y="{top + panel_h + 14}">{cfg[0]} c{cfg[1]} P{cfg[2]}</text>')
        parts.append(f'<line x1="{pad}" x2="{w - 150}" y1="{y(1):.1f}" y2="{y(1):.1f}" stroke="black" '
                     f'stroke-dasharray="4 3"/>')
    for j, name in enumerate(servers):
        parts.append(f'<rect x="{w - 130}" y="{pad + 16 * j}" width="10" height="10" fill="{colours.get(name, "#888")}"/>'
                     f'<text x="{w - 115}" y="{pad + 9 + 16 * j}">{name}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--clients", default="1,50,500")
    ap.add_argument("--pipeline", default="1,16")
    ap.add_argument("--tests", default="set,get")
    ap.add_argument("--backends", default="uring,epoll")
    ap.add_argument("--requests", type=int, default=200000, help="requests per run at -P 1 (x8 at higher pipelines)")
    ap.add_argument("--binary", default=str(ROOT / "target/release/rizzler"))
    ap.add_argument("--no-pin", action="store_true", help="don't pin server and client to separate CPUs")
    ap.add_argument("--quick", action="store_true", help="-c 50 only, 3 repeats, fewer requests")
    ap.add_argument("--baseline", help="an older rizzler binary to compare with, backend by backend")
    args = ap.parse_args()
    if args.quick:
        args.clients, args.repeat, args.requests = "50", 3, 100000
    pin = not args.no_pin and (os.cpu_count() or 1) >= 2
    server_cpu, client_cpu = (1, 0) if pin else (None, None)

    servers = [Server("redis", redis_argv(), server_cpu)]
    for backend in filter(None, args.backends.split(",")):
        servers.append(Server(f"rizzler-{backend}", rizzler_argv(args.binary, backend), server_cpu))
        if args.baseline:
            # An older binary may not know --save "": keep its own argv.
            servers.append(Server(f"baseline-{backend}", [args.baseline, "--port", "{port}", "--bind",
                                                          "127.0.0.1", "--io", backend], server_cpu))
    names = [s.name for s in servers]
    results = []
    try:
        configs = [(t, int(c), int(p)) for t in args.tests.split(",") for c in args.clients.split(",")
                   for p in args.pipeline.split(",")]
        for test, clients, pipeline in configs:
            requests = args.requests * (8 if pipeline > 1 else 1)
            for rep in range(args.repeat):
                # Rotate the order each repeat so no server always goes first.
                order = servers[rep % len(servers):] + servers[:rep % len(servers)]
                for s in order:
                    r = run_benchmark(s, test, clients, pipeline, requests, client_cpu)
                    r.update(server=s.name, test=test, clients=clients, pipeline=pipeline, rep=rep)
                    results.append(r)
                    print(f"  {test:3} c={clients:<3} P={pipeline:<2} {s.name:14} {r['rps']:>10.0f} rps "
                          f"p50={r['p50']:.3f} p99={r['p99']:.3f} p99.9={r['p999']:.3f} ms "
                          f"cpu={r['cpu_us']:.2f} us/req", flush=True)
    finally:
        for s in servers:
            s.stop()

    medians = []
    for test, clients, pipeline in configs:
        for name in names:
            runs = [r for r in results if (r["test"], r["clients"], r["pipeline"], r["server"]) == (test, clients, pipeline, name)]
            m = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p99", "p999", "cpu_us")}
            m.update(server=name, test=test, clients=clients, pipeline=pipeline)
            medians.append(m)

    out_dir = ROOT / "results" / time.strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "runs.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(results[0].keys()))
        w.writeheader()
        w.writerows(results)
    with open(out_dir / "medians.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(medians[0].keys()))
        w.writeheader()
        w.writerows(medians)
    svg_plot(medians, out_dir / "throughput.svg", names)

    def find(test, c, p, name):
        return next(m for m in medians if (m["test"], m["clients"], m["pipeline"], m["server"]) == (test, c, p, name))

    print(f"\nMedians of {args.repeat} interleaved runs (server pinned to CPU {server_cpu}, client to {client_cpu}):")
    print(f"{'test':4} {'c':>3} {'P':>2} {'server':14} {'rps':>10} {'p50 ms':>7} {'p99 ms':>7} {'p99.9':>7} "
          f"{'cpu us/req':>10} {'rps/redis':>9} {'cpu/redis':>9} {'rps/epoll':>9} {'cpu/epoll':>9}"
          + (f" {'rps/base':>9} {'cpu/base':>9}" if args.baseline else ""))
    for m in medians:
        base = find(m["test"], m["clients"], m["pipeline"], "redis")
        epoll = next((x for x in medians if (x["test"], x["clients"], x["pipeline"], x["server"]) ==
                      (m["test"], m["clients"], m["pipeline"], "rizzler-epoll")), None)
        ratio = lambda a, b: f"{a / b:9.2f}" if b else f"{'-':>9}"
        vs_epoll = (ratio(m["rps"], epoll["rps"]) + " " + ratio(m["cpu_us"], epoll["cpu_us"])) if epoll and m["server"] == "rizzler-uring" else f"{'':>9} {'':>9}"
        line = (f"{m['test']:4} {m['clients']:>3} {m['pipeline']:>2} {m['server']:14} {m['rps']:>10.0f} "
                f"{m['p50']:>7.3f} {m['p99']:>7.3f} {m['p999']:>7.3f} {m['cpu_us']:>10.2f} "
                f"{ratio(m['rps'], base['rps'])} {ratio(m['cpu_us'], base['cpu_us'])} {vs_epoll}")
        if args.baseline and m["server"].startswith("rizzler-"):
            old = find(m["test"], m["clients"], m["pipeline"], m["server"].replace("rizzler-", "baseline-"))
            line += f" {ratio(m['rps'], old['rps'])} {ratio(m['cpu_us'], old['cpu_us'])}"
        print(line)
    print(f"\nCSV and plot: {out_dir.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
