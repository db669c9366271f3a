#!/usr/bin/env bash
# Sets up and runs every test: system packages and Node modules when missing, the UI (lint,
# typecheck, Vitest), the Rust workspace (unit + integration, real servers on 127.0.0.1), the
# interop tests with the real JavaScript socket.io-client, the desktop app end to end, the
# benchmark comparison in its quick mode, and the installers.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/system-deps.sh e2e

if [ ! -d node_modules/socket.io-client ] || [ ! -d node_modules/vite ]; then
  echo "==> installing Node dev dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

echo "==> UI: lint, typecheck, unit tests, build"
npm run lint:ui
npm run test:ui
npm run build:ui

echo "==> cargo test --workspace"
cargo test --workspace --locked
# The binaries the next steps use were built by that run (for the crates' own integration
# tests); building them again here would only re-resolve features and recompile.
for bin in target/debug/charla-server target/debug/charla; do
  [ -x "$bin" ] || { echo "missing $bin after cargo test" >&2; exit 1; }
done

echo "==> interop: socket.io-client against charla-server"
CHARLA_SERVER_BIN="$PWD/target/debug/charla-server" node --test tests/interop/
echo "==> interop: python-socketio against charla-server"
bash scripts/python-interop.sh

echo "==> end to end: the desktop app in a real window (Xvfb, tauri-driver, WebKitWebDriver)"
if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "==> installing tauri-driver (cargo install)"
  cargo install tauri-driver --locked
fi
dbus-run-session -- node --test --test-force-exit --test-concurrency=1 tests/e2e/
echo "==> screenshots of each step: artifacts/e2e/"

echo "==> benchmarks, quick mode: Charla, the Node tutorial server and the raw floor, every delivery checked"
bash scripts/bench.sh --quick --rounds 1

echo "==> installers: .deb and .rpm (size-optimized release build), unpacked and checked"
npm run bundle
node --test tests/package/
