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
TEMPO_VERSION="${TEMPO_VERSION:-2.10.8}"
# github.com/grafana/tempo has no /v2 suffix, so tag v2.10.8 is only reachable by its
# pseudo-version (base v1.5.0 is the last tag valid for the module path).
TEMPO_MODULE_VERSION="${TEMPO_MODULE_VERSION:-v1.5.1-0.20260813170847-f0f3ed59197b}"
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
