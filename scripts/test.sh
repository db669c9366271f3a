#!/usr/bin/env bash
# Sets up and runs every test: the Rust workspace (unit + integration, real servers on
# 127.0.0.1) and the interop tests with the real JavaScript socket.io-client.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules/socket.io-client ]; then
  echo "==> installing Node dev dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

echo "==> cargo test --workspace"
cargo test --workspace --locked

echo "==> interop: socket.io-client against charla-server"
cargo build --locked -p charla-server
CHARLA_SERVER_BIN="$PWD/target/debug/charla-server" node --test tests/interop/
