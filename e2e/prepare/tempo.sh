#!/usr/bin/env bash
# Build the real Tempo (static, CGO_ENABLED=0) from the Go module proxy, cached outside
# the work tree by version. Prints the binary's path on stdout.
#
# Why not `go install github.com/grafana/tempo/cmd/tempo@...`: Tempo's go.mod has
# replace directives, which `go install pkg@version` refuses; build_go_module (lib.sh)
# builds inside a copy of the module instead.
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
# Version stamping as upstream's goreleaser/Makefile do, so `tempo -version` reports
# the release: main.Version without the "v", main.Revision = short commit.
revision="${TEMPO_MODULE_VERSION##*-}"
build_go_module "tempo-$TEMPO_VERSION" "github.com/grafana/tempo@$TEMPO_MODULE_VERSION" ./cmd/tempo "$bin" \
  "-s -w -X main.Version=$TEMPO_VERSION -X main.Branch=HEAD -X main.Revision=$revision"
log "$("$bin" -version 2>&1 | head -n1)"
echo "$bin"
