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
source "$(dirname "${BASH_SOURCE[0]}")/../bookworm-rootfs.sh"

out="${1:?usage: build-rootfs.sh OUT.tar}"
NPM_VERSION="${NPM_VERSION:-10.8.2}"
bookworm_begin node nodejs,ca-certificates

echo "== npm $NPM_VERSION from the npm registry"
(cd "$work" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
mkdir -p "$root/usr/local/lib/node_modules/npm" "$root/usr/local/bin"
tar -xzf "$work/npm-$NPM_VERSION.tgz" --strip-components=1 --no-same-owner \
  -C "$root/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
chroot "$root" /usr/local/bin/npm --version

bookworm_add_user node /bin/bash
bookworm_finish "$out"
