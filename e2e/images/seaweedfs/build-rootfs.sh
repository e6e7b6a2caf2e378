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
source "$(dirname "${BASH_SOURCE[0]}")/../bookworm-rootfs.sh"

out="${1:?usage: build-rootfs.sh OUT.tar}"
bookworm_begin seaweedfs curl,ca-certificates
chroot "$root" curl --version
# As Alpine's `addgroup -g 1000 seaweed && adduser -D -u 1000 -G seaweed seaweed`: a home, /bin/sh.
bookworm_add_user seaweed /bin/sh
bookworm_finish "$out"
