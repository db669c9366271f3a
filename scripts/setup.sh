#!/usr/bin/env bash
# Everything a fresh machine needs to build and test Charla, installed only when missing (safe to
# run again): the Debian packages (scripts/system-deps.sh), the Node dev dependencies (npm ci),
# the Python venv of the interop test, and tauri-driver for the end-to-end test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/system-deps.sh e2e

if [ ! -d node_modules/socket.io-client ] || [ ! -d node_modules/vite ]; then
  echo "==> installing Node dev dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

bash scripts/python-interop.sh --setup-only

if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "==> installing tauri-driver (cargo install)"
  cargo install tauri-driver --locked
fi
