#!/usr/bin/env bash
# Builds and runs only the chat server (127.0.0.1:3050, history in ./charla-data/history.db).
# Extra arguments go to charla-server (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --locked --release -p charla-server -- "$@"
