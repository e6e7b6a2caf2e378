#!/usr/bin/env bash
# Build the root filesystem tarball for the local node:20.19.5-bookworm-slim stand-in.
#
#   build-rootfs.sh OUT.tar
#
# Debian bookworm minbase (debootstrap) from the Debian mirror this machine is configured
# with, updated from bookworm-updates and bookworm-security, with:
# - Debian's nodejs (bookworm: 18.20.x): the only Node.js reachable offline;
# - npm $NPM_VERSION from the npm registry, unpacked where the official image has it
#   (/usr/local/lib/node_modules/npm). Not Debian's npm package: it drags in ~370
#   packages (python3, gyp, eslint, webpack, libssl-dev, libnode-dev, ...) and is npm 9;
#   the official node:20.19.5 image ships npm 10.8.2;
# - user/group "node" with uid/gid 1000, as in the official image.
# Needs root (debootstrap, chroot). Env: DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR,
# NPM_VERSION; normally called (and cached) by e2e/prepare/images.sh.
set -euo pipefail

out="${1:?usage: build-rootfs.sh OUT.tar}"
SUITE=bookworm
NPM_VERSION="${NPM_VERSION:-10.8.2}"
[[ $(id -u) -eq 0 ]] || { echo "build-rootfs.sh: needs root (debootstrap, chroot)" >&2; exit 1; }
[[ -n "${DEBIAN_MIRROR:-}" && -n "${DEBIAN_SECURITY_MIRROR:-}" ]] \
  || { echo "build-rootfs.sh: DEBIAN_MIRROR and DEBIAN_SECURITY_MIRROR must be set" >&2; exit 1; }

if ! command -v debootstrap >/dev/null; then
  apt-get install -y --no-install-recommends debootstrap
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/node-rootfs.XXXXXX")
root="$work/root"
trap 'rm -rf "$work"' EXIT

echo "== debootstrap $SUITE from $DEBIAN_MIRROR"
debootstrap --variant=minbase --include=nodejs,ca-certificates "$SUITE" "$root" "$DEBIAN_MIRROR"

# The same sources the official Debian images carry, so `apt-get update` works inside.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $DEBIAN_MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $DEBIAN_SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES

echo "== security and point updates"
cp /etc/resolv.conf "$root/etc/resolv.conf"
chroot "$root" apt-get update -q
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get upgrade -y -q
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root/etc/resolv.conf"

echo "== npm $NPM_VERSION from the npm registry"
(cd "$work" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
mkdir -p "$root/usr/local/lib/node_modules/npm" "$root/usr/local/bin"
tar -xzf "$work/npm-$NPM_VERSION.tgz" --strip-components=1 --no-same-owner \
  -C "$root/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
chroot "$root" /usr/local/bin/npm --version

echo "== user node (1000:1000)"
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

# Slim like the -slim images: no docs, man pages or translations, now or on later installs.
cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/info/*
DPKG
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
rm -rf "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/usr/share/info/* \
  "$root"/var/cache/apt/*.bin "$root"/var/log/*.log "$root"/var/log/apt/*

# /dev, /proc, /sys are provided by the engine at run time.
tar --numeric-owner -C "$root" --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* \
  -cf "$out.tmp" .
mv "$out.tmp" "$out"
echo "== rootfs: $out ($(du -h "$out" | cut -f1))"
