#!/usr/bin/env bash
# Build the real OpenTelemetry Collector with the official builder (ocb) from a manifest
# rendered by configs/collector/builderManifest.ts, so the binary holds exactly the
# components the stack's collector config uses. Cached outside the work tree, keyed by
# collector version + manifest hash. Prints the binary's path on stdout.
#
# Env: COLLECTOR_VERSION (0.159.0), TRACING_STACK_CACHE.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

go_env_for_builds
take_lock "collector-$COLLECTOR_VERSION"

build_dir="$TRACING_STACK_CACHE/collector-build"
manifest="$build_dir/manifest.yaml"
mkdir -p "$build_dir"

# Render the manifest. tsx comes from the repo's node_modules (no network, no npx
# prompt). The build's output path is fixed, so the manifest text (and hash) only
# changes when the components or versions do.
(cd "$REPO_ROOT" && node --import tsx e2e/prepare/writeBuilderManifest.ts "$manifest" "$build_dir/src") \
  || die "could not render the builder manifest"
hash=$(sha256_stdin <"$manifest" | cut -c1-16)
out_dir="$TRACING_STACK_CACHE/otelcol-contrib-$COLLECTOR_VERSION-$hash"
bin="$out_dir/otelcol-contrib"
if [[ -x "$bin" ]]; then
  log "cached: $bin"
  echo "$bin"
  exit 0
fi

# The builder itself, pinned to the collector version (its own defaults, e.g. the
# stable module version v1.65.0, belong to that release).
ocb="$TRACING_STACK_CACHE/ocb-v$COLLECTOR_VERSION/builder"
if [[ ! -x "$ocb" ]]; then
  log "installing ocb v$COLLECTOR_VERSION (log: $LOG_DIR/ocb-install.log)"
  GOBIN="$(dirname "$ocb")" run_logged ocb-install \
    go install "go.opentelemetry.io/collector/cmd/builder@v$COLLECTOR_VERSION"
fi

log "building otelcol-contrib $COLLECTOR_VERSION (manifest $hash) with $(go env GOVERSION), $(nproc) cores (log: $LOG_DIR/collector-build.log)"
start=$SECONDS
rm -rf "$build_dir/src"
run_logged collector-build "$ocb" --config="$manifest" || die "collector build failed (log: $LOG_DIR/collector-build.log)"
mkdir -p "$out_dir"
cp "$manifest" "$out_dir/manifest.yaml"   # what this binary was built from
cp "$build_dir/src/otelcol-contrib" "$bin.tmp"
mv "$bin.tmp" "$bin"
rm -rf "$build_dir/src"   # generated sources + a second copy of the binary; ocb regenerates them
log "built in $((SECONDS - start)) s: $("$bin" --version)"
echo "$bin"
