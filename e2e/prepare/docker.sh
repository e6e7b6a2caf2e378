#!/usr/bin/env bash
# Ensure a usable Docker engine for the end-to-end suite.
#
# - If `docker info` already works, leave the engine alone (someone else owns it).
# - Else install Debian's docker.io if dockerd is missing (the only engine reachable
#   offline: no container registry, but Debian's packages are), and start dockerd.
#   --iptables=false: the sandbox has no usable netfilter. Storage: overlay2 where the
#   kernel lets us mount overlayfs (what users' hosts run: creating a container costs
#   nothing), else vfs, which copies the whole image for every container (~10 s for the
#   220 MB app image on 2 cores, a cost no user pays). Both were verified to keep
#   user-defined networks, DNS aliases and published ports working (see check-network.sh).
# - Then, if the helper image exists (images.sh builds it), prove that containers on a
#   user-defined network resolve each other's aliases.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DOCKERD_LOG="${DOCKERD_LOG:-/tmp/tracing-stack-dockerd.log}"

engine_up() { docker info >/dev/null 2>&1; }

if engine_up; then
  log "engine already running: server $(docker version --format '{{.Server.Version}}')"
else
  if ! command -v dockerd >/dev/null; then
    [[ $(id -u) -eq 0 ]] || die "dockerd is missing and installing docker.io needs root; run: sudo apt-get install -y docker.io"
    log "installing Debian's docker.io (log: $LOG_DIR/apt-docker.log)"
    # --no-install-recommends: skips needrestart/apparmor/git & co, none of which the
    # engine needs. The package's /usr/bin/docker (20.10 CLI) is shadowed by any newer
    # CLI earlier in PATH (e.g. /usr/local/bin/docker 28.x); API negotiation makes the
    # newer CLI talk to the 20.10 engine fine.
    run_logged apt-update apt-get update
    DEBIAN_FRONTEND=noninteractive run_logged apt-docker \
      apt-get install -y --no-install-recommends docker.io
  fi
  command -v docker >/dev/null || die "no docker CLI found after installing docker.io"
  [[ $(id -u) -eq 0 ]] || die "dockerd must be started as root (no engine is running)"

  start_dockerd() {
    log "starting dockerd with storage driver $1 (log: $DOCKERD_LOG)"
    # setsid+nohup: the engine must outlive this script and the shell that called it.
    setsid nohup dockerd --iptables=false --storage-driver="$1" >"$DOCKERD_LOG" 2>&1 </dev/null &
    echo $! >/tmp/tracing-stack-dockerd.pid
    for _ in $(seq 1 60); do
      engine_up && return 0
      kill -0 "$(cat /tmp/tracing-stack-dockerd.pid)" 2>/dev/null || return 1
      sleep 1
    done
    return 1
  }
  overlay_mountable() {
    local d; d=$(mktemp -d)
    mkdir -p "$d"/{lower,upper,work,merged}
    if mount -t overlay overlay -o "lowerdir=$d/lower,upperdir=$d/upper,workdir=$d/work" "$d/merged" 2>/dev/null; then
      umount "$d/merged"; rm -rf "$d"; return 0
    fi
    rm -rf "$d"; return 1
  }
  if overlay_mountable && start_dockerd overlay2; then
    :
  else
    [[ -f /tmp/tracing-stack-dockerd.pid ]] && kill "$(cat /tmp/tracing-stack-dockerd.pid)" 2>/dev/null || true
    sleep 1
    start_dockerd vfs || { tail -n 20 "$DOCKERD_LOG" >&2; die "dockerd did not answer within 60 s (log: $DOCKERD_LOG)"; }
  fi
  log "engine started: server $(docker version --format '{{.Server.Version}}'), storage driver $(docker info --format '{{.Driver}}')"
fi

# Networking check needs a local image (nothing can be pulled); images.sh builds it and
# runs the same check, so skipping here on a first run loses nothing.
"$(dirname "${BASH_SOURCE[0]}")/check-network.sh" --if-image-present
