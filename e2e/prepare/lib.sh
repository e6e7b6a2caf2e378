# Shared helpers for the e2e preparation scripts. Source it; do not run it.
#
# Everything built here (Go binaries, rootfs tarballs, logs) lives OUTSIDE the work
# tree, in a cache keyed by version/inputs, so repeated runs (and other checkouts on
# the same machine) are no-ops.

# Where the expensive artefacts live. Override with TRACING_STACK_CACHE.
TRACING_STACK_CACHE="${TRACING_STACK_CACHE:-$HOME/.cache/tracing-stack}"
LOG_DIR="$TRACING_STACK_CACHE/logs"
mkdir -p "$TRACING_STACK_CACHE" "$LOG_DIR"
export TRACING_STACK_CACHE

# Repository root, found from this file's location (scripts may be called from anywhere).
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Pins. They must match what the Pulumi program deploys (image tags) and FACTS.md.
# The program pins grafana/tempo:2.10.8, but the Go module proxy reachable here refuses every
# 2.10.x version of github.com/grafana/tempo (403 "This module version is not available"; the
# pseudo-version FACTS.md gives included). The newest commit it serves is a main-branch build of
# 2025-05-29, so the suite builds that, tagged honestly as grafana/tempo:main-<sha>, and runs it
# through the stack config's images.tempo setting. Set both variables to move to another commit.
TEMPO_VERSION="${TEMPO_VERSION:-main-87c2dc380cec}"
# github.com/grafana/tempo has no /v2 suffix, so a 2.x commit is only reachable by a pseudo-version.
TEMPO_MODULE_VERSION="${TEMPO_MODULE_VERSION:-v1.5.1-0.20250529124718-87c2dc380cec}"
# The checksum database does not know that pseudo-version; Tempo's own dependencies are still
# verified against its go.sum.
export GONOSUMDB="${GONOSUMDB:-github.com/grafana/tempo}"
COLLECTOR_VERSION="${COLLECTOR_VERSION:-0.159.0}"
NODE_IMAGE_TAG="${NODE_IMAGE_TAG:-node:20.19.5-bookworm-slim}"

log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# run_logged NAME CMD...: run a noisy command with its output in $LOG_DIR/NAME.log, so
# the scripts' own output stays short. On failure, show the tail and the log's path.
run_logged() {
  local name="$1"; shift
  local logfile="$LOG_DIR/$name.log"
  if ! "$@" >"$logfile" 2>&1; then
    log "FAILED: $* (full log: $logfile); last lines:"
    tail -n 25 "$logfile" >&2
    return 1
  fi
}

# sha256 of stdin, hex only.
sha256_stdin() { sha256sum | cut -d' ' -f1; }

# Go builds: use every core and the machine's shared module/build caches (GOPATH and
# GOCACHE defaults persist across runs). The sandbox only reaches the Go module proxy.
go_env_for_builds() {
  command -v go >/dev/null || die "go is not installed (Tempo and the collector are built from source)"
  export GOFLAGS="${GOFLAGS:--buildvcs=false}"
  export GOMAXPROCS="${GOMAXPROCS:-$(nproc)}"
  export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"   # never try to download a toolchain
}

# Small busybox image (Debian's busybox-static) for network checks in tests.
HELPER_IMAGE="${HELPER_IMAGE:-tracing-stack/e2e-helper:bookworm}"

# take_lock NAME: hold an exclusive lock (until the script exits) so two concurrent runs
# (e.g. parallel test jobs) do not build into the same directory at once.
take_lock() {
  local lockfile="$TRACING_STACK_CACHE/.$1.lock"
  exec {LOCK_FD}>"$lockfile"
  flock "$LOCK_FD"
}
