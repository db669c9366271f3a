#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Charla needs when they are missing:
#   build/run the desktop app: libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
#   end-to-end tests:          xvfb webkit2gtk-driver dbus-x11 imagemagick dunst
#   the server's package:      dpkg-dev (dpkg-shlibdeps) systemd (systemd-analyze verify)
#   wss through a proxy:       nginx openssl
#   cluster mode:              postgresql (scripts/pg.sh starts a throwaway one per run)
# Usage: scripts/system-deps.sh [build|e2e|cluster]  (default: build; cluster: PostgreSQL only,
# for scripts/pg.sh)
set -euo pipefail

build=(libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev pkg-config)
e2e=(xvfb webkit2gtk-driver dbus-x11 imagemagick dunst dpkg-dev systemd nginx openssl)
cluster=(postgresql)
wanted=("${build[@]}")
if [ "${1:-build}" = "e2e" ]; then wanted+=("${e2e[@]}"); fi
if [ "${1:-build}" = "cluster" ]; then wanted=("${cluster[@]}"); fi

missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "==> installing system packages: ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
"${sudo_cmd[@]}" apt-get update -qq
# Packages with a service (nginx) start it when installed; the tests start their own, on free
# ports, and stop them: the standard policy file keeps the packaged ones from starting.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# Charla setup: no service starts while packages install.\nexit 101\n' \
    | "${sudo_cmd[@]}" tee "$policy" >/dev/null
  "${sudo_cmd[@]}" chmod 0755 "$policy"
  trap '"${sudo_cmd[@]}" rm -f "$policy"' EXIT
fi
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
