#!/usr/bin/env bash
# Runs the python-socketio interop test (tests/interop/python) against charla-server. The
# test's packages live in a venv, target/python-interop-venv, made (and the pinned requirements
# installed) when it is missing or when requirements.txt differs from the copy kept inside it.
# CHARLA_SERVER_BIN chooses the server (default target/debug/charla-server); arguments go to
# unittest (e.g. -v). `--setup-only` makes the venv and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/python-interop-venv
requirements=tests/interop/python/requirements.txt

# The copy is made only after a complete install, so an interrupted one is redone.
if ! cmp -s "$requirements" "$venv/requirements.txt"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/requirements.txt"
fi
if [ "${1:-}" = "--setup-only" ]; then exit 0; fi

export CHARLA_SERVER_BIN="${CHARLA_SERVER_BIN:-$PWD/target/debug/charla-server}"
# -B: no __pycache__ left in the source tree.
exec "$venv/bin/python" -B -m unittest discover --start-directory tests/interop/python --pattern 'test_*.py' "$@"
