#!/usr/bin/env bash
# The server's Debian package (`npm run bundle:server`): charla-server, its systemd unit
# (a user of its own, /var/lib/charla as its state directory) and a commented settings file,
# /etc/charla/server.toml, kept across upgrades as a conffile.
#   scripts/server-deb.sh           a release build: target/release/bundle/server/*.deb
#   scripts/server-deb.sh --debug   the test build's binary instead (what `npm test` checks:
#                                   the package's contents, without minutes of release build)
# Needs dpkg-deb and dpkg-shlibdeps (dpkg-dev), as Debian and Ubuntu have them.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
if [ "${1:-}" = "--debug" ]; then
  profile=debug
fi
if [ "$profile" = release ]; then
  cargo build --locked --release -p charla-server
else
  [ -f dist/index.html ] || npm run build:ui
  cargo test --workspace --locked --no-run
fi

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
arch=$(dpkg --print-architecture)
out="target/$profile/bundle/server"
stage="$out/charla-server_${version}_$arch"
rm -rf "$stage"
mkdir -p "$stage/DEBIAN" "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/etc/charla" \
  "$stage/usr/share/doc/charla-server"

install -m 0755 "target/$profile/charla-server" "$stage/usr/bin/charla-server"
if [ "$profile" = release ]; then strip "$stage/usr/bin/charla-server"; fi
install -m 0644 packaging/server/charla-server.service "$stage/lib/systemd/system/"
install -m 0644 packaging/server/server.toml "$stage/etc/charla/server.toml"
install -m 0644 LICENSE "$stage/usr/share/doc/charla-server/copyright"

# The shared libraries' package versions, as Debian's own packages compute them.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/debian"
printf 'Source: charla\n\nPackage: charla-server\nArchitecture: any\n' >"$scratch/debian/control"
binary="$PWD/$stage/usr/bin/charla-server"
depends=$(cd "$scratch" && dpkg-shlibdeps -O "$binary" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
installed_kb=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)

cat >"$stage/DEBIAN/control" <<EOF
Package: charla-server
Version: $version
Architecture: $arch
Maintainer: Charla developers <dev@charla.invalid>
Installed-Size: $installed_kb
Depends: $depends
Section: net
Priority: optional
Homepage: https://github.com/charla-chat/charla
Description: Chat server that keeps working through bad networks
 Charla's server speaks the Socket.IO chat tutorial's protocol, so any Socket.IO client
 can talk to it, and keeps one order per room, history, rooms, direct messages and owned
 names. Runs as the charla-server systemd service; settings in /etc/charla/server.toml.
EOF
echo /etc/charla/server.toml >"$stage/DEBIAN/conffiles"

cat >"$stage/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
  systemctl enable charla-server.service >/dev/null 2>&1 || true
  systemctl restart charla-server.service >/dev/null 2>&1 || true
fi
EOF
cat >"$stage/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl stop charla-server.service >/dev/null 2>&1 || true
  systemctl disable charla-server.service >/dev/null 2>&1 || true
fi
EOF
cat >"$stage/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
# Purging removes the history too (systemd keeps a DynamicUser service's state there).
if [ "$1" = purge ]; then
  rm -rf /var/lib/private/charla /var/lib/charla
fi
EOF
chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"

dpkg-deb --build --root-owner-group "$stage" "$out/" >/dev/null
echo "$out/charla-server_${version}_$arch.deb"
