#!/usr/bin/env bash
# Sets up and starts Charla: system packages and Node modules when missing, the UI build, the
# desktop app (release), and a local charla-server on 127.0.0.1:3050 unless one is already
# answering there. Extra arguments go to the desktop app.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/system-deps.sh build
if [ ! -d node_modules/vite ]; then npm ci --no-audit --no-fund; fi
npm run build:ui
cargo build --locked --release -p charla-server -p charla-desktop

listening() { (exec 3<>/dev/tcp/127.0.0.1/3050) 2>/dev/null; }

server_pid=""
if ! listening; then
  echo "==> starting charla-server on 127.0.0.1:3050 (history in ./charla-data)"
  target/release/charla-server &
  server_pid=$!
  trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 50); do
    listening && break
    sleep 0.1
  done
fi
target/release/charla "$@"
