#!/usr/bin/env bash
# The server comparison (see BENCHMARKS.md): builds charla-server and charla-bench in release,
# then runs `charla-bench compare` with the given arguments (e.g. `--quick`, `--rounds 5`).
# Each server runs alone, pinned to CPU 0; the load generator is pinned to CPU 1.
# Results: target/bench/report.{md,json}; exit status 1 if any delivery check failed.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules/socket.io ] || npm ci --no-audit --no-fund
cargo build --locked --release -p charla-server -p charla-bench
exec target/release/charla-bench compare "$@"
