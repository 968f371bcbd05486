#!/usr/bin/env bash
# Pub/sub fan-out: redis-server, rizzler (io_uring) and rizzler (epoll)
# side by side, interleaved rounds, medians; prints a Markdown table.
# Options: --seconds S --rounds N --pipeline N --lag N --subscribers 1,10,100
# (see benches/pubsub.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v redis-server >/dev/null || { echo "pubsub_bench: redis-server is missing (apt-get install redis-server)" >&2; exit 1; }
exec cargo bench --quiet --bench pubsub -- "$@"
