#!/usr/bin/env bash
# Build the LOCAL images the end-to-end suite runs, with the exact tags the Pulumi
# program pins (nothing can be pulled: no container registry is reachable). Only Apache-2.0
# programs are built; Tempo and Grafana (AGPL-3.0) never are: the suite uses their official images
# when the engine has them (e2e/support/pinnedImages.ts).
#   helper     tracing-stack/e2e-helper:bookworm       busybox, for network checks in tests
#   collector  otel/opentelemetry-collector-contrib:$COLLECTOR_VERSION  from collector.sh's
#   prometheus prom/prometheus:v$PROMETHEUS_VERSION     from prometheus.sh's
#   seaweedfs  chrislusf/seaweedfs:$SEAWEEDFS_VERSION   from seaweedfs.sh's, on a Debian bookworm
#                                                       rootfs (e2e/images/seaweedfs/build-rootfs.sh)
#   node       $NODE_IMAGE_TAG                          Debian bookworm stand-in (see
#                                                       e2e/images/node/build-rootfs.sh)
# Usage: images.sh [helper|collector|prometheus|seaweedfs|node ...]   (default: all, in that order)
#
# Each image is labelled with a hash of its build context (Dockerfile + files, modes
# included); an image whose tag already carries the same hash is not rebuilt.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IMAGES_DIR="$REPO_ROOT/e2e/images"
PREPARE_DIR="$REPO_ROOT/e2e/prepare"
HASH_LABEL="org.tracing-stack.inputs-hash"
CONTEXTS="$TRACING_STACK_CACHE/image-contexts"
export NPM_VERSION="${NPM_VERSION:-10.8.2}"   # the npm that node 20.19.5 bundles
# CAs added to this machine's trust store, copied into the node stand-in (set empty to skip).
LOCAL_CA_DIR="${LOCAL_CA_DIR-/usr/local/share/ca-certificates}"

docker info >/dev/null 2>&1 || die "no Docker engine; run e2e/prepare/docker.sh first"
take_lock images   # one images.sh at a time: the build contexts live in the cache

# fresh_context NAME: an empty build context holding the image's Dockerfile.
fresh_context() {
  local ctx="$CONTEXTS/$1"
  rm -rf "$ctx"
  mkdir -p "$ctx"
  cp "$IMAGES_DIR/$1/Dockerfile" "$ctx/Dockerfile"
  echo "$ctx"
}

# pack_skel CTX: turn CTX/skel (a directory tree whose modes and owners matter) into
# CTX/skel.tar for the Dockerfile's `ADD skel.tar /`: ADD keeps modes and numeric owners
# from a tar, while COPY of a directory creates it 0755 root-owned.
pack_skel() {
  local ctx="$1"
  tar --sort=name --mtime=@0 --numeric-owner -C "$ctx/skel" -cf "$ctx/skel.tar" .
  rm -rf "$ctx/skel"
}

# link_or_copy SRC DEST: hard link when possible (large files, same filesystem).
link_or_copy() { ln -f "$1" "$2" 2>/dev/null || cp "$1" "$2"; }

# build_image NAME TAG CTX: build CTX as TAG unless TAG already has CTX's hash.
build_image() {
  local name="$1" tag="$2" ctx="$3" hash current
  # Deterministic tar of the context (names, contents, modes; not times or owners).
  hash=$(tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$ctx" -cf - . | sha256_stdin)
  current=$(docker image inspect --format "{{ index .Config.Labels \"$HASH_LABEL\" }}" "$tag" 2>/dev/null || true)
  if [[ "$current" == "$hash" ]]; then
    log "$tag: up to date"
    return 0
  fi
  local old_id new_id
  old_id=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
  log "$tag: building (log: $LOG_DIR/image-$name.log)"
  run_logged "image-$name" docker build --label "$HASH_LABEL=$hash" -t "$tag" "$ctx" \
    || die "building $tag failed (log: $LOG_DIR/image-$name.log)"
  # The replaced image is now untagged; with the vfs driver every image is a full copy,
  # so drop it (fails harmlessly if a container still uses it).
  new_id=$(docker image inspect --format '{{.Id}}' "$tag")
  if [[ -n "$old_id" && "$old_id" != "$new_id" ]]; then
    docker image rm "$old_id" >/dev/null 2>&1 || true
  fi
}

# already_official TAG: true when the engine has TAG and this script did not build it (no hash
# label): the official image, pulled or loaded by the user. It is what the program deploys, so it
# is used as it is and never overwritten by a local build.
already_official() {
  local tag="$1" labels
  labels=$(docker image inspect --format "{{ index .Config.Labels \"$HASH_LABEL\" }}" "$tag" 2>/dev/null) || return 1
  [[ -z "$labels" || "$labels" == "<no value>" ]] || return 1
  log "$tag: using the image already in the engine (not built here)"
}

# debian_uri SUITE: the URI this machine's apt uses for SUITE (deb822 *.sources or
# one-line sources.list), so the stand-in rootfs comes from the same reachable mirror.
debian_uri() {
  local suite="$1" f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    uri=$(awk -v want="$suite" '
      function flush() { if (uris != "" && (" " suites " ") ~ (" " want " ")) { print uris; done = 1 } uris = ""; suites = "" }
      /^[[:space:]]*$/ { if (!done) flush(); next }
      /^URIs:/   { uris = $2 }
      /^Suites:/ { sub(/^Suites:[[:space:]]*/, ""); suites = $0 }
      END { if (!done) flush() }' "$f" | head -n1)
    [[ -n "$uri" ]] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    uri=$(awk -v want="$suite" '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i+1) == want) { print $i; exit } }' "$f")
    [[ -n "$uri" ]] && { echo "$uri"; return; }
  done
}

# bookworm_rootfs NAME [KEY...]: the path of e2e/images/NAME/build-rootfs.sh's tarball, built
# from the Debian mirrors this machine uses unless the cache has it. Cached by everything that shapes
# it: the script, the shared bookworm-rootfs.sh, the mirrors and any KEY (e.g. the npm version).
bookworm_rootfs() {
  local name="$1" mirror security key rootfs
  shift
  mirror="${DEBIAN_MIRROR:-$(debian_uri bookworm)}"
  security="${DEBIAN_SECURITY_MIRROR:-$(debian_uri bookworm-security)}"
  mirror="${mirror:-http://deb.debian.org/debian}"
  security="${security:-http://deb.debian.org/debian-security}"
  key=$( { cat "$IMAGES_DIR/$name/build-rootfs.sh" "$IMAGES_DIR/bookworm-rootfs.sh"; echo "$mirror $security $*"; } | sha256_stdin | cut -c1-16)
  rootfs="$TRACING_STACK_CACHE/$name-rootfs/bookworm-$key.tar"
  if [[ ! -f "$rootfs" ]]; then
    log "building the bookworm rootfs for $name from $mirror (log: $LOG_DIR/$name-rootfs.log)"
    mkdir -p "$(dirname "$rootfs")"
    DEBIAN_MIRROR="$mirror" DEBIAN_SECURITY_MIRROR="$security" \
      run_logged "$name-rootfs" "$IMAGES_DIR/$name/build-rootfs.sh" "$rootfs" \
      || die "building the $name rootfs failed (log: $LOG_DIR/$name-rootfs.log)"
  fi
  echo "$rootfs"
}

image_helper() {
  local ctx deb_dir
  ctx=$(fresh_context helper)
  deb_dir="$TRACING_STACK_CACHE/debs"
  mkdir -p "$deb_dir"
  if ! compgen -G "$deb_dir/busybox-static_*.deb" >/dev/null; then
    (cd "$deb_dir" && run_logged apt-download-busybox apt-get download busybox-static) \
      || die "could not download Debian's busybox-static (log: $LOG_DIR/apt-download-busybox.log)"
  fi
  local deb
  deb=$(ls "$deb_dir"/busybox-static_*.deb | sort -V | tail -n1)
  dpkg-deb --fsys-tarfile "$deb" | tar -xO ./bin/busybox >"$ctx/busybox"
  chmod 0755 "$ctx/busybox"
  build_image helper "$HELPER_IMAGE" "$ctx"
}

image_collector() {
  local ctx bin
  already_official "otel/opentelemetry-collector-contrib:$COLLECTOR_VERSION" && return 0
  bin=$("$PREPARE_DIR/collector.sh") || die "no collector binary (collector.sh failed)"
  ctx=$(fresh_context collector)
  link_or_copy "$bin" "$ctx/otelcol-contrib"
  mkdir -p "$ctx/skel/etc/otelcol-contrib"
  printf 'root:x:0:0:root:/root:/sbin/nologin\notel:x:10001:10001:otel:/:/sbin/nologin\n' >"$ctx/skel/etc/passwd"
  printf 'root:x:0:\notel:x:10001:\n' >"$ctx/skel/etc/group"
  pack_skel "$ctx"
  build_image collector "otel/opentelemetry-collector-contrib:$COLLECTOR_VERSION" "$ctx"
}

image_prometheus() {
  local ctx bin
  already_official "prom/prometheus:v$PROMETHEUS_VERSION" && return 0
  bin=$("$PREPARE_DIR/prometheus.sh") || die "no Prometheus binary (prometheus.sh failed)"
  ctx=$(fresh_context prometheus)
  link_or_copy "$bin" "$ctx/prometheus"
  mkdir -p "$ctx/skel/etc/prometheus" "$ctx/skel/tmp" "$ctx/skel/prometheus"
  chmod 1777 "$ctx/skel/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/home:/sbin/nologin\n' >"$ctx/skel/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$ctx/skel/etc/group"
  chown 65534:65534 "$ctx/skel/prometheus"
  pack_skel "$ctx"
  build_image prometheus "prom/prometheus:v$PROMETHEUS_VERSION" "$ctx"
}

image_seaweedfs() {
  local ctx bin rootfs
  already_official "chrislusf/seaweedfs:$SEAWEEDFS_VERSION" && return 0
  bin=$("$PREPARE_DIR/seaweedfs.sh") || die "no SeaweedFS binary (seaweedfs.sh failed)"
  # The rootfs (Debian + curl + user seaweed) holds no binary: a new SeaweedFS version reuses it.
  rootfs=$(bookworm_rootfs seaweedfs)
  ctx=$(fresh_context seaweedfs)
  link_or_copy "$rootfs" "$ctx/rootfs.tar"
  link_or_copy "$bin" "$ctx/weed"
  # As the official image: /data (its VOLUME) and /data/filerldb2 owned by seaweed, so the
  # program's user 1000 can write a fresh volume; /etc/seaweedfs/filer.toml from the same module.
  mkdir -p "$ctx/skel/data/filerldb2" "$ctx/skel/etc/seaweedfs"
  cp "$(dirname "$bin")/filer.toml" "$ctx/skel/etc/seaweedfs/filer.toml"
  chmod 0755 "$ctx/skel/data" "$ctx/skel/data/filerldb2" "$ctx/skel/etc/seaweedfs"
  chmod 0644 "$ctx/skel/etc/seaweedfs/filer.toml"
  chown -R 1000:1000 "$ctx/skel/data" "$ctx/skel/etc/seaweedfs"
  # Only the leaves: the tar's ./ and ./etc would otherwise reset / and /etc in the image to
  # this machine's modes (ADD applies a directory entry's mode over the rootfs's).
  tar --sort=name --mtime=@0 --numeric-owner -C "$ctx/skel" -cf "$ctx/skel.tar" \
    ./data ./etc/seaweedfs
  rm -rf "$ctx/skel"
  build_image seaweedfs "chrislusf/seaweedfs:$SEAWEEDFS_VERSION" "$ctx"
}

image_node() {
  local ctx rootfs
  already_official "$NODE_IMAGE_TAG" && return 0
  rootfs=$(bookworm_rootfs node "$NPM_VERSION")
  ctx=$(fresh_context node)
  link_or_copy "$rootfs" "$ctx/rootfs.tar"
  # Trust what this machine trusts beyond Debian's bundle (see the Dockerfile).
  mkdir -p "$ctx/local-ca"
  if [[ -n "$LOCAL_CA_DIR" && -d "$LOCAL_CA_DIR" ]]; then
    find "$LOCAL_CA_DIR" -name '*.crt' -type f -exec cp {} "$ctx/local-ca/" \;
  fi
  build_image node "$NODE_IMAGE_TAG" "$ctx"
}

selected=("$@")
[[ ${#selected[@]} -gt 0 ]] || selected=(helper collector prometheus seaweedfs node)
for name in "${selected[@]}"; do
  case "$name" in
    helper | collector | prometheus | seaweedfs | node) "image_$name" ;;
    *) die "unknown image '$name' (helper, collector, prometheus, seaweedfs, node)" ;;
  esac
done

# The engine's networking is only proven once the helper image exists.
if [[ " ${selected[*]} " == *" helper "* ]]; then
  "$PREPARE_DIR/check-network.sh"
fi
