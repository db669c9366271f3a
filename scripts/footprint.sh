#!/usr/bin/env bash
# The desktop footprint against an empty Tauri 2 app (see BENCHMARKS.md): builds the UI, the
# app and the empty app (size-optimized `dist` profile, as in the installers) and the server,
# then measures under Xvfb. Results: target/footprint/report.{md,json}.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/system-deps.sh e2e
[ -d node_modules/socket.io-client ] || npm ci --no-audit --no-fund
command -v tauri-driver >/dev/null 2>&1 || cargo install tauri-driver --locked

npm run build:ui
cargo build --locked --profile dist -p charla-desktop -p charla-empty-app
cargo build --locked --release -p charla-server
CHARLA_SERVER_BIN="$PWD/target/release/charla-server" \
  exec dbus-run-session -- node tests/footprint/footprint.mjs "$@"
