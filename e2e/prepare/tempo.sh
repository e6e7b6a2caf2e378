#!/usr/bin/env bash
# Build the real Tempo (static, CGO_ENABLED=0) from the Go module proxy, cached outside
# the work tree by version. Prints the binary's path on stdout.
#
# Why not `go install github.com/grafana/tempo/cmd/tempo@...`: Tempo's go.mod has
# replace directives, which `go install pkg@version` refuses. So: download the module
# source with `go mod download -json`, copy it somewhere writable (the module cache is
# read-only) and build ./cmd/tempo inside it, as the main module (its go.sum pins every
# dependency, so no checksum-database lookups are needed for them).
#
# Env: TEMPO_VERSION (2.10.8), TEMPO_MODULE_VERSION (its pseudo-version, see lib.sh),
#      TRACING_STACK_CACHE. TEMPO_VERSION names the cache entry and the image tag, so
#      override both together (never build another commit under the 2.10.8 name).
#
# Known problem (2026-11): the module proxy reachable from the build machines answers
# 403 "This module version is not available." for the 2.10.8 pseudo-version (and for
# the bare commit hash), so this script fails there with that message.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out_dir="$TRACING_STACK_CACHE/tempo-$TEMPO_VERSION"
bin="$out_dir/tempo"
take_lock "tempo-$TEMPO_VERSION"
if [[ -x "$bin" ]]; then
  log "cached: $bin"
  echo "$bin"
  exit 0
fi

go_env_for_builds
module="github.com/grafana/tempo@$TEMPO_MODULE_VERSION"
log "downloading $module (log: $LOG_DIR/tempo-download.log)"

# `go mod download` must run outside any module (the repo root has no go.mod, but be
# explicit): an empty temp dir with GOFLAGS that do not require one.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && go mod download -json "$module") >"$LOG_DIR/tempo-download.log" 2>&1; then
  log "the Go module proxy did not serve $module:"
  grep -E '"Error"' "$LOG_DIR/tempo-download.log" >&2 || tail -n 5 "$LOG_DIR/tempo-download.log" >&2
  die "cannot download Tempo $TEMPO_VERSION (full log: $LOG_DIR/tempo-download.log)"
fi
module_dir=$(node -e 'const j=JSON.parse(require("fs").readFileSync(0,"utf8")); if(j.Error){console.error(j.Error);process.exit(1)} process.stdout.write(j.Dir)' \
  <"$LOG_DIR/tempo-download.log") || die "go mod download reported an error (log: $LOG_DIR/tempo-download.log)"

# Fail early, with the reason, if the local Go is older than Tempo's go.mod requires
# (GOTOOLCHAIN=local: no toolchain download is possible offline).
required_go=$(awk '$1=="go"{print $2; exit}' "$module_dir/go.mod")
have_go=$(go env GOVERSION | sed 's/^go//')
if [[ "$(printf '%s\n%s\n' "$required_go" "$have_go" | sort -V | head -n1)" != "$required_go" ]]; then
  die "Tempo $TEMPO_VERSION needs go >= $required_go; this machine has go $have_go"
fi

src="$TRACING_STACK_CACHE/src/tempo-$TEMPO_VERSION"
rm -rf "$src"
mkdir -p "$(dirname "$src")" "$out_dir"
cp -r "$module_dir" "$src"
chmod -R u+w "$src"

# Version stamping as upstream's goreleaser/Makefile do, so `tempo -version` reports
# the release: main.Version without the "v", main.Revision = short commit.
revision="${TEMPO_MODULE_VERSION##*-}"
ldflags="-s -w -X main.Version=$TEMPO_VERSION -X main.Branch=HEAD -X main.Revision=$revision"

log "building ./cmd/tempo with $(go env GOVERSION), $(nproc) cores (log: $LOG_DIR/tempo-build.log)"
start=$SECONDS
(
  cd "$src"
  # -mod=mod: the module zip has no vendor/ directory (upstream builds with -mod vendor).
  CGO_ENABLED=0 run_logged tempo-build go build -mod=mod -trimpath -ldflags "$ldflags" -o "$bin.tmp" ./cmd/tempo
) || die "Tempo build failed (log: $LOG_DIR/tempo-build.log)"
mv "$bin.tmp" "$bin"
log "built in $((SECONDS - start)) s: $("$bin" -version 2>&1 | head -n1)"
# The copied source is only needed for the build; the module cache keeps the original.
rm -rf "$src"
echo "$bin"
