#!/usr/bin/env bash
# Benchmarks rizzler (each I/O backend) against redis-server with
# redis-benchmark, interleaved and repeated; prints medians and ratios and
# writes CSV + SVG under results/. Options: see scripts/bench.py --help.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in redis-server redis-benchmark python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install redis-server redis-tools python3)" >&2; exit 1; }
done
cargo build --release --quiet
exec python3 scripts/bench.py "$@"
