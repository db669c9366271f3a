#!/usr/bin/env bash
# The server comparison (see BENCHMARKS.md): builds charla-server and charla-bench in release,
# then runs `charla-bench compare` with the given arguments (e.g. `--quick`, `--rounds 5`).
# Each server runs alone, pinned to CPU 0; the load generator is pinned to CPU 1.
# `--debug` first: the test build's debug binaries instead (what `npm test` runs with `--quick`:
# a check of the harness and of every delivery, whose figures mean nothing; after the tests
# were built, nothing is compiled again).
# Results: target/bench/report.{md,json}; exit status 1 if any delivery check failed.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
if [ "${1:-}" = "--debug" ]; then
  profile=debug
  shift
fi

[ -d node_modules/socket.io ] || npm ci --no-audit --no-fund
if [ "$profile" = release ]; then
  cargo build --locked --release -p charla-server -p charla-bench
else
  # The test build includes the desktop app, which embeds the built UI.
  [ -f dist/index.html ] || npm run build:ui
  cargo test --workspace --locked --no-run
fi
exec "target/$profile/charla-bench" compare "$@"
