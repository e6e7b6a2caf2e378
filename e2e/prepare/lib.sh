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
# Only Apache-2.0 / MPL-2.0 programs are built here. Tempo and Grafana (AGPL-3.0) are never
# downloaded or built: the suite takes their official images by the program's own tags
# (e2e/support/pinnedImages.ts).
COLLECTOR_VERSION="${COLLECTOR_VERSION:-0.159.0}"
# Prometheus 3.5.0 is the Go module github.com/prometheus/prometheus v0.305.0 (its VERSION file says 3.5.0).
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-3.5.0}"
PROMETHEUS_MODULE_VERSION="${PROMETHEUS_MODULE_VERSION:-v0.305.0}"
# SeaweedFS 4.53 is the Go module github.com/seaweedfs/seaweedfs at commit 7506e5f91cd6 (the module
# has no semver tags, hence the pseudo-version; its weed/util/version/constants.go says 4.53).
SEAWEEDFS_VERSION="${SEAWEEDFS_VERSION:-4.53}"
SEAWEEDFS_MODULE_VERSION="${SEAWEEDFS_MODULE_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}"
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
  command -v go >/dev/null || die "go is not installed (OpenTofu, the Docker provider, the collector, Prometheus and SeaweedFS are built from source)"
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

# build_go_module NAME MODULE@VERSION PACKAGE OUT_BIN [LDFLAGS] [TAGS]: download a module's source from
# the Go module proxy and build PACKAGE inside it as the main module, statically (CGO off).
# `go install pkg@version` cannot do this for modules with replace directives (OpenTofu) or
# whose go.mod names another path (the Docker provider), so: `go mod download -json`, copy the
# read-only module cache entry somewhere writable, build there. Its go.sum pins every dependency.
build_go_module() {
  local name="$1" module="$2" package="$3" out_bin="$4" ldflags="${5:--s -w}" tags="${6:-}"
  local tmp download_log="$LOG_DIR/$name-download.log"
  log "downloading $module (log: $download_log)"
  tmp=$(mktemp -d)
  if ! (cd "$tmp" && go mod download -json "$module") >"$download_log" 2>&1; then
    rm -rf "$tmp"
    log "the Go module proxy did not serve $module:"
    grep -E '"Error"' "$download_log" >&2 || tail -n 5 "$download_log" >&2
    die "cannot download $module (full log: $download_log)"
  fi
  rm -rf "$tmp"
  local module_dir
  module_dir=$(node -e 'const j=JSON.parse(require("fs").readFileSync(0,"utf8")); if(j.Error){console.error(j.Error);process.exit(1)} process.stdout.write(j.Dir)' \
    <"$download_log") || die "go mod download reported an error (log: $download_log)"

  # GOTOOLCHAIN=local: no toolchain download is possible offline, so say so plainly.
  local required_go have_go
  required_go=$(awk '$1=="go"{print $2; exit}' "$module_dir/go.mod")
  have_go=$(go env GOVERSION | sed 's/^go//')
  if [[ "$(printf '%s\n%s\n' "$required_go" "$have_go" | sort -V | head -n1)" != "$required_go" ]]; then
    die "$module needs go >= $required_go; this machine has go $have_go"
  fi

  local src="$TRACING_STACK_CACHE/src/$name"
  rm -rf "$src"
  mkdir -p "$(dirname "$src")" "$(dirname "$out_bin")"
  cp -r "$module_dir" "$src"
  chmod -R u+w "$src"
  log "building $package of $module with $(go env GOVERSION), $(nproc) cores (log: $LOG_DIR/$name-build.log)"
  local start=$SECONDS
  # -mod=mod: module zips carry no vendor/ directory.
  (cd "$src" && CGO_ENABLED=0 run_logged "$name-build" go build -mod=mod -trimpath -tags "$tags" -ldflags "$ldflags" -o "$out_bin.tmp" "$package") \
    || { rm -rf "$src"; die "$name build failed (log: $LOG_DIR/$name-build.log)"; }
  mv "$out_bin.tmp" "$out_bin"
  rm -rf "$src"   # only needed for the build; the module cache keeps the original
  log "$name built in $((SECONDS - start)) s"
}

# OpenTofu and the Terraform Docker provider: the e2e suite creates the program's bridged docker:*
# resources with the same provider code @pulumi/docker bridges (kreuzwerker/terraform-provider-docker).
TOFU_VERSION="${TOFU_VERSION:-1.12.6}"
DOCKER_PROVIDER_MODULE="${DOCKER_PROVIDER_MODULE:-github.com/kreuzwerker/terraform-provider-docker}"
DOCKER_PROVIDER_MODULE_VERSION="${DOCKER_PROVIDER_MODULE_VERSION:-v0.0.0-20260916201441-96d331c98ff4}"
# The provider version the mirror serves it under: the pseudo-version without the "v", a valid semver
# that says exactly which commit this is (a commit after v4.6.0).
DOCKER_PROVIDER_VERSION="${DOCKER_PROVIDER_MODULE_VERSION#v}"
