#!/usr/bin/env bash
# Build the real Prometheus (static, CGO_ENABLED=0, netgo) from the Go module proxy, cached
# outside the work tree by version. Prints the binary's path on stdout.
#
# The module v0.305.0 is Prometheus 3.5.0. Without the `builtinassets` tag the binary has no
# web UI (the React build is not in the module zip); the HTTP API, remote-write receiver and
# TSDB are all there, which is everything Grafana and the tests use.
#
# Env: PROMETHEUS_VERSION (3.5.0), PROMETHEUS_MODULE_VERSION (v0.305.0), TRACING_STACK_CACHE.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out_dir="$TRACING_STACK_CACHE/prometheus-$PROMETHEUS_VERSION"
bin="$out_dir/prometheus"
take_lock "prometheus-$PROMETHEUS_VERSION"
if [[ -x "$bin" ]]; then
  log "cached: $bin"
  echo "$bin"
  exit 0
fi

go_env_for_builds
# Version stamping as upstream's promu does, so `prometheus --version` reports the release.
version_pkg=github.com/prometheus/common/version
build_go_module "prometheus-$PROMETHEUS_VERSION" "github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION" ./cmd/prometheus "$bin" \
  "-s -w -X $version_pkg.Version=$PROMETHEUS_VERSION -X $version_pkg.Branch=HEAD -X $version_pkg.Revision=$PROMETHEUS_MODULE_VERSION" \
  netgo
log "$("$bin" --version 2>&1 | head -n1)"
echo "$bin"
