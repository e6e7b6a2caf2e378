#!/usr/bin/env bash
# Build the real SeaweedFS `weed` (static, CGO_ENABLED=0) from the Go module proxy, cached
# outside the work tree by version. Prints the binary's path on stdout; next to it,
# filer.toml: the official image's /etc/seaweedfs/filer.toml, from the same module.
#
# The module has no semver tags: SeaweedFS 4.53 is the pseudo-version pinned in lib.sh (commit
# 7506e5f91cd6). The main package is ./weed inside the module (upstream builds it with
# `cd weed && go build`). Only the Go server is built: the official image's optional Rust
# binaries (weed-volume, weed-worker, weed-vector) are placeholders on some platforms there too,
# and the plain `weed` subcommands the stack runs do not use them.
#
# Env: SEAWEEDFS_VERSION (4.53), SEAWEEDFS_MODULE_VERSION, TRACING_STACK_CACHE.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out_dir="$TRACING_STACK_CACHE/seaweedfs-$SEAWEEDFS_VERSION"
bin="$out_dir/weed"
take_lock "seaweedfs-$SEAWEEDFS_VERSION"
# The binary is written last, so it marks a complete entry.
if [[ -x "$bin" && -f "$out_dir/filer.toml" ]]; then
  log "cached: $bin"
  echo "$bin"
  exit 0
fi

go_env_for_builds
module="github.com/seaweedfs/seaweedfs@$SEAWEEDFS_MODULE_VERSION"

# filer.toml first (the download is the one build_go_module then reuses from the module cache):
# the official image points the filer's leveldb2 store at /data/filerldb2 with it, and the
# stand-in must keep the filer's metadata where the official image does.
download_log="$LOG_DIR/seaweedfs-$SEAWEEDFS_VERSION-filer-toml.log"
tmp=$(mktemp -d)
(cd "$tmp" && go mod download -json "$module") >"$download_log" 2>&1 || true   # the JSON says why
rm -rf "$tmp"
module_dir=$(node -e 'const j=JSON.parse(require("fs").readFileSync(0,"utf8")); if(j.Error){console.error(j.Error);process.exit(1)} process.stdout.write(j.Dir)' \
  <"$download_log") || die "the Go module proxy did not serve $module (log: $download_log)"
mkdir -p "$out_dir"
cp "$module_dir/docker/filer.toml" "$out_dir/filer.toml"
chmod 0644 "$out_dir/filer.toml"   # the module cache's copy is read-only

# Version stamping as upstream's docker/Dockerfile.go_build does (COMMIT is the short commit), so
# `weed version` reports "4.53 7506e5f91cd6"; the release number itself is a constant in the source.
build_go_module "seaweedfs-$SEAWEEDFS_VERSION" "$module" ./weed "$bin" \
  "-s -w -X github.com/seaweedfs/seaweedfs/weed/util/version.COMMIT=${SEAWEEDFS_MODULE_VERSION##*-}"
log "$("$bin" version 2>/dev/null | head -n1)"
echo "$bin"
