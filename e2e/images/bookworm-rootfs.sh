# Shared steps of the local stand-ins' root filesystems (node, seaweedfs): a Debian bookworm
# minbase from the Debian mirror this machine is configured with, updated from bookworm-updates and
# bookworm-security, slimmed like Debian's -slim images, packed as a tarball. Source it from a
# build-rootfs.sh; needs root (debootstrap, chroot). Env: DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR.
#
#   bookworm_begin NAME PACKAGES   debootstrap with PACKAGES (comma-separated) into $root, updated
#   bookworm_add_user NAME SHELL   user and group NAME with uid/gid 1000 and a home, as the official images have
#   bookworm_finish OUT.tar        slim, then pack $root (without /dev, /proc, /sys) into OUT.tar

SUITE=bookworm

bookworm_begin() {
  local name="$1" packages="$2"
  [[ $(id -u) -eq 0 ]] || { echo "$name build-rootfs.sh: needs root (debootstrap, chroot)" >&2; exit 1; }
  [[ -n "${DEBIAN_MIRROR:-}" && -n "${DEBIAN_SECURITY_MIRROR:-}" ]] \
    || { echo "$name build-rootfs.sh: DEBIAN_MIRROR and DEBIAN_SECURITY_MIRROR must be set" >&2; exit 1; }
  if ! command -v debootstrap >/dev/null; then
    apt-get install -y --no-install-recommends debootstrap
  fi
  work=$(mktemp -d "${TMPDIR:-/tmp}/$name-rootfs.XXXXXX")
  root="$work/root"
  trap 'rm -rf "$work"' EXIT

  echo "== debootstrap $SUITE from $DEBIAN_MIRROR"
  debootstrap --variant=minbase --include="$packages" "$SUITE" "$root" "$DEBIAN_MIRROR"

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
}

bookworm_add_user() {
  local name="$1" shell="$2"
  echo "== user $name (1000:1000)"
  chroot "$root" groupadd --gid 1000 "$name"
  chroot "$root" useradd --uid 1000 --gid "$name" --shell "$shell" --create-home "$name"
}

bookworm_finish() {
  local out="$1"
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
}
