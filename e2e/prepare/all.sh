#!/usr/bin/env bash
# Prepare everything the end-to-end suite needs, in order, timing each step:
# Docker engine -> OpenTofu -> Terraform Docker provider -> collector -> Prometheus -> SeaweedFS -> local images.
# Tempo and Grafana are not built (AGPL-3.0): the suite uses their official images if the engine has
# them or can pull them (e2e/support/pinnedImages.ts).
# Every step is idempotent and cached (outside the work tree), so a second run is quick.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

here="$(dirname "${BASH_SOURCE[0]}")"
go_env_for_builds   # all cores, shared GOPATH/GOCACHE, for the Go builds

timings=()
step() {
  local name="$1" start=$SECONDS
  # stdout of the build steps is the binary path: shown in the log lines already.
  if ! "$here/$name.sh" >/dev/null; then
    log "step $name failed after $((SECONDS - start)) s (logs: $LOG_DIR)"
    exit 1
  fi
  timings+=("$(printf '%-10s %4d s' "$name" $((SECONDS - start)))")
}

total_start=$SECONDS
for s in docker tofu docker-provider collector prometheus seaweedfs images; do
  step "$s"
done
log "done in $((SECONDS - total_start)) s:"
printf '  %s\n' "${timings[@]}" >&2
