#!/usr/bin/env bash
# Runs units of Redis's own Tcl test suite in external mode against a
# rizzler it starts (release build), and prints the tally.
#
# Usage: scripts/redis_tcl_suite.sh /path/to/redis-7.0-source [unit ...]
#   (units default to unit/scripting unit/functions; needs tclsh)
#   RIZZLER_IO=epoll selects the backend; SKIP="test name|other" skips tests.
#
# Redis's source tree is not vendored: get it with
#   git clone --depth 1 --branch 7.0.15 https://github.com/redis/redis
set -euo pipefail
src=${1:?path to a Redis 7.0 source tree}
shift
units=("${@:-unit/scripting unit/functions}")
root=$(cd "$(dirname "$0")/.." && pwd)
port=${PORT:-21111}
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
(cd "$dir" && exec "$root/target/release/rizzler" --port "$port" --save "" \
    --io "${RIZZLER_IO:-uring}" --enable-debug-command yes >"$dir/log" 2>&1) &
pid=$!
sleep 1
args=()
for u in ${units[@]}; do args+=(--single "$u"); done
IFS='|' read -ra skips <<<"${SKIP:-}"
for s in "${skips[@]}"; do [ -n "$s" ] && args+=(--skiptest "$s"); done
cd "$src"
./runtest --host 127.0.0.1 --port "$port" --timeout 60 "${args[@]}" 2>&1 | tee "$dir/run.log" || true
echo
sed 's/\x1b\[[0-9;]*m//g' "$dir/run.log" | grep -oE '^\[(ok|err|exception|skip|ignore)\]' | sort | uniq -c
