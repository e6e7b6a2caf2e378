#!/usr/bin/env bash
# Build the root filesystem tarball for the local chrislusf/seaweedfs stand-in.
#
#   build-rootfs.sh OUT.tar
#
# Debian bookworm minbase (debootstrap) from the Debian mirror this machine is configured
# with, updated from bookworm-updates and bookworm-security, with what the program uses
# besides `weed` itself (the official image is Alpine with `apk add fuse curl su-exec ...`):
# - curl (bookworm: 7.88, OpenSSL): the bucket-creating one-shot container signs its PUT with
#   --aws-sigv4 (curl >= 7.75) and presents client certificates, as do the healthchecks;
# - ca-certificates, and a POSIX /bin/sh (dash) for `sh -c` one-shots;
# - user/group "seaweed" with uid/gid 1000, as in the official image.
# No fuse (the stack does not mount) and no su-exec (only the official entrypoint uses it).
# Needs root (debootstrap, chroot). Env: DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR; normally called
# (and cached) by e2e/prepare/images.sh.
set -euo pipefail

out="${1:?usage: build-rootfs.sh OUT.tar}"
SUITE=bookworm
[[ $(id -u) -eq 0 ]] || { echo "build-rootfs.sh: needs root (debootstrap, chroot)" >&2; exit 1; }
[[ -n "${DEBIAN_MIRROR:-}" && -n "${DEBIAN_SECURITY_MIRROR:-}" ]] \
  || { echo "build-rootfs.sh: DEBIAN_MIRROR and DEBIAN_SECURITY_MIRROR must be set" >&2; exit 1; }

if ! command -v debootstrap >/dev/null; then
  apt-get install -y --no-install-recommends debootstrap
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/seaweedfs-rootfs.XXXXXX")
root="$work/root"
trap 'rm -rf "$work"' EXIT

echo "== debootstrap $SUITE from $DEBIAN_MIRROR"
debootstrap --variant=minbase --include=curl,ca-certificates "$SUITE" "$root" "$DEBIAN_MIRROR"

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
chroot "$root" curl --version

echo "== user seaweed (1000:1000)"
# As Alpine's `addgroup -g 1000 seaweed && adduser -D -u 1000 -G seaweed seaweed`: a home, /bin/sh.
chroot "$root" groupadd --gid 1000 seaweed
chroot "$root" useradd --uid 1000 --gid seaweed --shell /bin/sh --create-home seaweed

# Slim: no docs, man pages or translations, now or on later installs.
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
