#!/usr/bin/env bash
# Runs the tests, in stages; with no stage (or `all`), every stage in this order:
#   ui       lint, typecheck, Vitest, and the production build of the UI
#   rust     cargo fmt --check, clippy (all targets, warnings are errors), cargo test --workspace
#            (unit and integration tests, real servers on 127.0.0.1)
#   interop  the JavaScript socket.io-client and python-socketio against the real server
#   e2e      the desktop app in a real window (Xvfb, tauri-driver, WebKitWebDriver)
#   bench    the benchmark comparison in its quick mode, on debug binaries (every delivery
#            checked; `npm run bench` measures)
#   package  the .deb and .rpm installers, unpacked and checked
# When the package stage runs after others (`all`, as CI does), its long size-optimized build
# starts in the background at the lowest CPU priority as soon as the UI is built: it fills the
# time the other stages spend waiting on sockets, timers and windows, and the package stage then
# waits for it. Its output: artifacts/bundle.log.
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
  echo "==> Rust: format, lints, tests"
  cargo fmt --all --check
  cargo clippy --workspace --all-targets --locked -- -D warnings
  cargo test --workspace --locked
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
  echo "==> benchmarks, quick mode: Charla, the Node tutorial server and the raw floor, every delivery checked"
  # On debug builds: a release build here would cost minutes for figures that mean nothing in a
  # quick run. `npm run bench` builds in release and measures.
  bash scripts/bench.sh --debug --quick --rounds 1
  echo "==> benchmarks, quick mode: rooms (every delivery checked), a history page and a search"
  target/debug/charla-bench rooms --quick
}

stage_package() {
  echo "==> installers: .deb and .rpm (size-optimized release build), unpacked and checked"
  if [ -n "$bundle_pid" ]; then
    echo "(built in the background since the UI stage: artifacts/bundle.log)"
    local status=0
    wait "$bundle_pid" || status=$?
    bundle_pid=""
    tail -n 15 artifacts/bundle.log
    if [ "$status" -ne 0 ]; then
      echo "the installer build failed (exit $status); its whole log: artifacts/bundle.log" >&2
      exit "$status"
    fi
  else
    npm run bundle
  fi
  node --test tests/package/
}

# The background installer build: `npm run bundle` without its first step (the UI build, which
# would rewrite dist/ under the debug builds of the other stages; the UI is already built).
bundle_pid=""
start_background_bundle() {
  mkdir -p artifacts
  # Its own process group (job control on for this one job), so it can be stopped whole; the
  # same session, so the low priority counts against the other stages (the kernel shares CPU
  # between sessions evenly, whatever their priority).
  set -m
  nice -n 19 npm run tauri -- build --bundles deb,rpm \
    --config '{"build":{"beforeBuildCommand":""}}' -- --profile dist \
    >artifacts/bundle.log 2>&1 &
  bundle_pid=$!
  set +m
}
stop_background_bundle() {
  if [ -n "$bundle_pid" ]; then kill -- "-$bundle_pid" 2>/dev/null || true; fi
}
trap stop_background_bundle EXIT

for stage in "${stages[@]}"; do
  if [ -z "$bundle_pid" ] && [ "$stage" != ui ] && [ "$stage" != package ] \
    && [[ " ${stages[*]} " == *" package "* ]]; then
    ui_built
    start_background_bundle
  fi
  "stage_$stage"
done
