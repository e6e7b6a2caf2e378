#!/usr/bin/env bash
# Build OpenTofu from the Go module proxy, cached outside the work tree by version. Prints the
# binary's path on stdout. Env: TOFU_VERSION, TRACING_STACK_CACHE.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bin="$TRACING_STACK_CACHE/tofu-$TOFU_VERSION/tofu"
take_lock "tofu-$TOFU_VERSION"
if [[ -x "$bin" ]]; then
  log "cached: $bin"
  echo "$bin"
  exit 0
fi
go_env_for_builds
build_go_module "tofu-$TOFU_VERSION" "github.com/opentofu/opentofu@v$TOFU_VERSION" ./cmd/tofu "$bin" \
  "-s -w -X github.com/opentofu/opentofu/version.dev=no"
log "$("$bin" version | head -n1)"
echo "$bin"
