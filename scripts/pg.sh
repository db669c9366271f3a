#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests: Debian's package (installed when missing), a cluster
# made in a temporary folder by an unprivileged user (initdb refuses root), on a free port of
# 127.0.0.1, stopped by its PID and deleted when the command ends.
#   scripts/pg.sh -- COMMAND [ARG]...
# runs COMMAND with
#   CHARLA_TEST_DB      postgres://charla@127.0.0.1:PORT/postgres (a superuser: tests make a
#                       database each)
#   CHARLA_TEST_PGDATA  the cluster's folder, CHARLA_TEST_PGBIN its binaries, and
#   CHARLA_TEST_PGUSER  the user that runs it (tests that restart PostgreSQL need them; a
#                       postmaster they restarted is stopped at the end too)
# and exits with COMMAND's status. The cluster trades crash safety for speed (fsync off): it
# lives for one test run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != "--" ] || [ $# -lt 2 ]; then
  echo "usage: scripts/pg.sh -- COMMAND [ARG]..." >&2
  exit 2
fi
shift

if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  bash scripts/system-deps.sh cluster
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

# Who runs it: this user, or (as root, which initdb refuses) the package's `postgres` user.
as_user=()
pg_user=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
  pg_user=postgres
  as_user=(setpriv --reuid=postgres --regid=postgres --init-groups)
fi

dir=$(mktemp -d /tmp/charla-pg.XXXXXX)
chmod 0755 "$dir"
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

pid=""
stop() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    # Fast shutdown (SIGINT), then wait for it, bounded.
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  # A test that restarted it (pg_ctl restart) left a postmaster that is not our child.
  if [ -f "$dir/data/postmaster.pid" ]; then
    local restarted
    restarted=$(head -n 1 "$dir/data/postmaster.pid")
    if [ -n "$restarted" ] && kill -0 "$restarted" 2>/dev/null; then
      kill -INT "$restarted" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$restarted" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$restarted" 2>/dev/null || true
    fi
  fi
  rm -rf "$dir"
}
trap stop EXIT

"${as_user[@]}" "$bin/initdb" --pgdata="$dir/data" --username=charla --auth=trust \
  --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
EOF

start() {
  "${as_user[@]}" "$bin/postgres" -D "$dir/data" >>"$dir/postgres.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "PostgreSQL did not start; its log:" >&2
  cat "$dir/postgres.log" >&2
  exit 1
}
start

export CHARLA_TEST_DB="postgres://charla@127.0.0.1:$port/postgres"
export CHARLA_TEST_PGDATA="$dir/data"
export CHARLA_TEST_PGBIN="$bin"
export CHARLA_TEST_PGUSER="$pg_user"
echo "==> PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (pid $pid), for: $*"
status=0
"$@" || status=$?
exit "$status"
