#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Charla needs when they are missing:
#   build/run the desktop app: libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
#   end-to-end tests:          xvfb webkit2gtk-driver dbus-x11 imagemagick dunst
# Usage: scripts/system-deps.sh [build|e2e]  (default: build)
set -euo pipefail

build=(libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev pkg-config)
e2e=(xvfb webkit2gtk-driver dbus-x11 imagemagick dunst)
wanted=("${build[@]}")
if [ "${1:-build}" = "e2e" ]; then wanted+=("${e2e[@]}"); fi

missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "==> installing system packages: ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
