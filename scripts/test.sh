#!/usr/bin/env bash
# Runs the tests, in stages; with no stage (or `all`), every stage in this order:
#   ui       lint, typecheck, Vitest, and the production build of the UI
#   rust     cargo fmt --check, cargo test --workspace with clippy's lints run by the build
#            (warnings are errors) (unit and integration tests, real servers on 127.0.0.1), and
#            the server's tests that keep history again on a throwaway PostgreSQL (scripts/pg.sh)
#   interop  the JavaScript socket.io-client and python-socketio against the real server
#   e2e      the desktop app in a real window (Xvfb, tauri-driver, WebKitWebDriver)
#   bench    the benchmark comparison in its quick mode, on debug binaries (every delivery
#            checked; `npm run bench` measures)
#   package  the .deb and .rpm installers of the test build's app (the binary the end-to-end
#            tests drove) and the server's .deb, unpacked and checked. `npm run bundle` builds the size-optimized
#            ones that ship (ten minutes of CPU here); `npm run footprint` reports their size.
# Usage: scripts/test.sh [ui|rust|interop|e2e|bench|package|all]...
# Every run first makes sure the machine has what the tests need (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

stages=("$@")
if [ ${#stages[@]} -eq 0 ] || [ "${stages[*]}" = "all" ]; then
  stages=(ui rust interop e2e bench package)
fi
for stage in "${stages[@]}"; do
  case "$stage" in
    ui|rust|interop|e2e|bench|package) ;;
    *) echo "unknown stage: $stage (ui, rust, interop, e2e, bench, package or all)" >&2; exit 2 ;;
  esac
done

bash scripts/setup.sh

# Clippy's lints run while the test build compiles the workspace (clippy-driver as the
# workspace's compiler wrapper, given `-D warnings` the way `cargo clippy` gives it): one
# compilation of the workspace for lints and tests, where `cargo clippy` and `cargo test` made
# two, and dependencies built once, shared with a plain `cargo build`. Every cargo command of
# the stages (and of the scripts they call) inherits it, so none rebuilds what another built.
# Not incremental: every build here is a whole one.
RUSTC_WORKSPACE_WRAPPER="$(command -v clippy-driver)"
export RUSTC_WORKSPACE_WRAPPER
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
export CARGO_INCREMENTAL=0

# The app embeds the built UI, and the debug binaries come from the test build: a stage run on
# its own builds what it needs (after the rust stage both are current, and this is a no-op).
ui_built() { [ -f dist/index.html ] || npm run build:ui; }
test_binaries() {
  ui_built
  cargo test --workspace --locked --no-run
}

stage_ui() {
  echo "==> UI: lint, typecheck, unit tests, build"
  npm run lint:ui
  npm run test:ui
  npm run build:ui
}

stage_rust() {
  ui_built
  echo "==> Rust: format, lints (in the build), tests"
  cargo fmt --all --check
  mkdir -p artifacts
  # A lint the wrapper reports fails the build; a warning cargo prints besides fails too.
  cargo test --workspace --locked --no-run 2>&1 | tee artifacts/rust-build.log
  if grep -E '^(warning|error)(\[|:)' artifacts/rust-build.log; then
    echo "the build above has warnings: they fail the test run (as clippy -D warnings would)" >&2
    exit 1
  fi
  cargo test --workspace --locked
  echo "==> the server's tests that keep history, again on PostgreSQL (a throwaway one)"
  # The other test files run their servers in memory: on PostgreSQL they would test nothing new.
  # `cluster` (two nodes on one database) is ignored without a PostgreSQL: included here.
  # `--workspace` (not `-p`): the features the test build was made with, so nothing is
  # rebuilt; it also picks the client's `rooms`, `cluster` (three nodes, a node killed,
  # PostgreSQL restarted) and `database_faults` tests (a node's link black-holed; serving
  # right after a restart), `changes` and `replies` (the server's living messages and
  # threads), and `--lib` the PostgreSQL store's own tests.
  bash scripts/pg.sh -- cargo test --locked --workspace --lib --test database_faults \
    --test history --test rooms --test delivery --test names --test operators --test cluster \
    --test search --test changes --test replies \
    -- --include-ignored
}

stage_interop() {
  test_binaries
  echo "==> interop: socket.io-client against charla-server"
  CHARLA_SERVER_BIN="$PWD/target/debug/charla-server" node --test tests/interop/
  echo "==> interop: python-socketio against charla-server"
  bash scripts/python-interop.sh
}

stage_e2e() {
  test_binaries
  echo "==> end to end: the desktop app in a real window (Xvfb, tauri-driver, WebKitWebDriver)"
  dbus-run-session -- node --test --test-force-exit --test-concurrency=1 tests/e2e/
  echo "==> screenshots of each step: artifacts/e2e/"
}

stage_bench() {
  test_binaries
  echo "==> benchmarks, quick mode: Charla, the Node tutorial server and the raw floor, every delivery checked"
  # On debug builds: a release build here would cost minutes for figures that mean nothing in a
  # quick run. `npm run bench` builds in release and measures.
  bash scripts/bench.sh --debug --quick --rounds 1
  echo "==> benchmarks, quick mode: rooms (every delivery checked), a history page and a search"
  target/debug/charla-bench rooms --quick
  echo "==> benchmarks, quick mode: a reaction storm beside message fan-out (every delivery checked, changes in order)"
  target/debug/charla-bench reactions --quick
  echo "==> benchmarks, quick mode: cluster (a node on PostgreSQL against SQLite, two nodes' latency; every delivery checked)"
  bash scripts/pg.sh -- target/debug/charla-bench cluster --quick --rounds 1
  echo "==> benchmarks, quick mode: abuse (a search flood beside a bystander and /healthz, on SQLite and PostgreSQL; room churn)"
  bash scripts/pg.sh -- target/debug/charla-bench abuse --quick
}

stage_package() {
  test_binaries
  echo "==> installers: .deb and .rpm of the tested app, unpacked and checked"
  npm run tauri -- bundle --debug --bundles deb,rpm
  bash scripts/server-deb.sh --debug
  CHARLA_BUNDLE_DIR="$PWD/target/debug/bundle" \
    CHARLA_SERVER_DEB_DIR="$PWD/target/debug/bundle/server" node --test tests/package/
}

for stage in "${stages[@]}"; do
  started=$SECONDS
  "stage_$stage"
  echo "==> $stage: $((SECONDS - started)) s (all so far: $SECONDS s)"
done
