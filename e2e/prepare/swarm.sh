#!/usr/bin/env bash
# A three-node Docker Swarm on this one machine: three extra dockerd "hosts", each in its own
# network namespace (tsswarm-1..3, 10.77.0.1..3/24) on a private bridge tsswarm0 (10.77.0.254/24,
# the root namespace's address on it). All three nodes are managers. Run as root.
#
#   swarm.sh up [IMAGE...]     create / repair the swarm, then load each IMAGE from the root engine
#                              into every node (skipped where the node already has the same image ID)
#   swarm.sh down [--purge]    stop the engines, remove namespaces, veths and bridge; the next `up`
#                              gets a FRESH swarm (swarm state, containers, volumes, networks gone).
#                              Loaded images are kept for speed unless --purge.
#   swarm.sh stop-engine N     SIGTERM node N's dockerd and wait until it is gone
#   swarm.sh start-engine N    start it again (same data-root: it rejoins by itself); waits until the
#                              engine answers and another manager sees the node Ready
#   swarm.sh env               DOCKER_HOST=... (node 1) and the nodes' addresses/sockets, `eval`-able
#   swarm.sh status            engines, swarm membership, `docker node ls`
#
# See /work/shared/FACTS.md "Docker Swarm on one test machine": each dockerd is started with
# `nsenter --net=/run/netns/NAME` (`ip netns exec` remounts /sys and dockerd then fails), with its own
# data-root, exec-root (so its own managed containerd), pidfile and socket, --iptables=false and
# --bridge=none. Each also gets its own UTS namespace so `docker node ls` shows distinct hostnames
# (tsswarm-1..3; usable in constraints: node.hostname==tsswarm-3).
#
# Known limits of this kernel/engine combination (see /work/notes/swarm-lab.md): no IPVS in the
# kernel, so VIPs and the ingress routing mesh do not work (use endpoint_mode dnsrr, and host-mode
# published ports, which need the service on an overlay network: with --bridge=none a service with
# no network gets no port binding at all); no ESP, so `--opt encrypted` overlays carry no data.
# `docker service create --no-resolve-image` spares the CLI a registry lookup per service.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NODES=(1 2 3)
BRIDGE=tsswarm0
BRIDGE_ADDR=10.77.0.254
SUBNET_PREFIX=10.77.0
# Overlay networks get subnets from here, away from 10.77.0.0/24 and the usual 10.0.0.0/8 default.
ADDR_POOL="${TSSWARM_ADDR_POOL:-10.96.0.0/12}"
# Data roots: on the machine's real filesystem (/var/lib is ext4 here), where overlay2 works.
SWARM_BASE="${TSSWARM_BASE:-/var/lib/tracing-stack-swarm}"
ENGINE_WAIT="${TSSWARM_ENGINE_WAIT:-60}"
READY_WAIT="${TSSWARM_READY_WAIT:-120}"

name_of() { echo "tsswarm-$1"; }
addr_of() { echo "$SUBNET_PREFIX.$1"; }
run_dir() { echo "/run/tsswarm-$1"; }
sock_of() { echo "unix://$(run_dir "$1")/docker.sock"; }
data_of() { echo "$SWARM_BASE/tsswarm-$1"; }
pidfile_of() { echo "$(run_dir "$1")/docker.pid"; }
log_of() { echo "$LOG_DIR/swarm-dockerd-$1.log"; }
veth_of() { echo "tsswv-$1"; }
dk() { local n="$1"; shift; docker -H "$(sock_of "$n")" "$@"; }

now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
# step LABEL CMD...: run CMD and log how long it took. Not to be called in a `||`/`&&`/`if` context
# when CMD is a function of this script (that would switch off errexit inside it); with set -e a
# failing CMD ends the script (the ERR trap says where).
step() {
  local label="$1"; shift
  local t0; t0=$(now)
  "$@"
  log "$(awk -v a="$t0" -v b="$(now)" -v l="$label" 'BEGIN { printf "%-46s %6.1f s", l, b - a }')"
}
# With set -e a failing command ends the script; say which one. (The ERR trap also fires for
# commands whose failure is expected and handled, so it only records; the EXIT trap reports.)
set -E
LAST_ERR="" DIED=0 TMP_TAR=""
die() { log "ERROR: $*"; DIED=1; exit 1; }
trap 'LAST_ERR="line $LINENO: $BASH_COMMAND"' ERR
trap 'rc=$?; rm -f "$TMP_TAR"; if ((rc != 0 && DIED == 0)) && [[ -n $LAST_ERR ]]; then log "FAILED (exit $rc) at $LAST_ERR"; fi' EXIT

need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces, dockerd)"; }
valid_node() { [[ "$1" =~ ^[123]$ ]] || die "node must be 1, 2 or 3 (got '$1')"; }

engine_up() { dk "$1" info >/dev/null 2>&1; }
engine_pid() {
  local pf; pf=$(pidfile_of "$1")
  [[ -s "$pf" ]] || return 1
  local pid; pid=$(<"$pf")
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' </proc/"$pid"/cmdline | grep -q -- "--pidfile $pf" || return 1
  echo "$pid"
}
# Pids of every process whose command line mentions node N's run dir (its dockerd, the containerd it
# started, shims): only processes this script started carry those paths.
node_pids() {
  local rd; rd="$(run_dir "$1")/"
  local p
  for p in /proc/[0-9]*; do
    [[ -r $p/cmdline ]] || continue
    if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$rd"; then echo "${p#/proc/}"; fi
  done
}

# ---------------------------------------------------------------- network plumbing
ns_usable() { [[ -e /run/netns/$1 ]] && nsenter --net="/run/netns/$1" true 2>/dev/null; }

ensure_bridge() {
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  ip addr replace "$BRIDGE_ADDR/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

ensure_ns() {
  local n="$1" ns veth
  ns=$(name_of "$n"); veth=$(veth_of "$n")
  if ! ns_usable "$ns"; then
    # stale entry (e.g. a crashed run left the file but not the mount)
    ip netns del "$ns" 2>/dev/null || true
    umount -l "/run/netns/$ns" 2>/dev/null || true
    rm -f "/run/netns/$ns"
    ip netns add "$ns"
  fi
  if ! ip link show "$veth" >/dev/null 2>&1; then
    ip -n "$ns" link del eth0 2>/dev/null || true
    ip link add "$veth" type veth peer name eth0 netns "$ns"
  fi
  ip link set "$veth" master "$BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr replace "$(addr_of "$n")/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route replace default via "$BRIDGE_ADDR"
  nsenter --net="/run/netns/$ns" sysctl -qw net.ipv4.ip_forward=1
}

# ---------------------------------------------------------------- engines
overlay_mountable_in() {
  local d; d=$(mktemp -d -p "$1")
  mkdir -p "$d"/{lower,upper,work,merged}
  if mount -t overlay overlay -o "lowerdir=$d/lower,upperdir=$d/upper,workdir=$d/work" "$d/merged" 2>/dev/null; then
    umount "$d/merged"; rm -rf "$d"; return 0
  fi
  rm -rf "$d"; return 1
}

launch_dockerd() {
  local n="$1" driver="$2" rd data ns
  rd=$(run_dir "$n"); data=$(data_of "$n"); ns=$(name_of "$n")
  mkdir -p "$rd" "$data"
  echo '{}' >"$rd/daemon.json"   # never read the root engine's /etc/docker/daemon.json
  rm -f "$rd/docker.sock"
  # unshare --uts: own hostname (tsswarm-N) for `docker node ls`; nsenter --net: the node's network.
  # Every step execs, so $! is dockerd itself. setsid+nohup: it outlives this script. The lock's
  # fd is closed for it (else the engine would hold the lock forever).
  # DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1: a swarm task uses the local image instead of first trying
  # to pull it (no registry here: each task start would wait ~20 s for the pull to fail).
  setsid nohup unshare --uts -- sh -c 'echo "$0" >/proc/sys/kernel/hostname && exec "$@"' "$ns" \
    nsenter --net="/run/netns/$ns" \
    env DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 \
    dockerd --data-root "$data" --exec-root "$rd/exec" --pidfile "$(pidfile_of "$n")" \
      -H "$(sock_of "$n")" --config-file "$rd/daemon.json" \
      --containerd-namespace "$ns" --containerd-plugins-namespace "$ns-plugins" \
      --iptables=false --bridge=none --storage-driver="$driver" \
      --label "tsswarm.node=$n" \
      >>"$(log_of "$n")" 2>&1 </dev/null {LOCK_FD}>&- &
  local pid=$!
  local i
  for ((i = 0; i < ENGINE_WAIT * 4; i++)); do
    engine_up "$n" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.25
  done
  kill "$pid" 2>/dev/null || true
  return 1
}

start_engine() {
  local n="$1" data driver_file driver
  if engine_up "$n"; then return 0; fi
  stop_engine_quiet "$n"     # stale pidfile / half-dead dockerd from a crashed run
  data=$(data_of "$n"); mkdir -p "$data"
  driver_file="$data/.tsswarm-storage-driver"
  : >>"$(log_of "$n")"
  if [[ -s $driver_file ]]; then
    driver=$(<"$driver_file")
    launch_dockerd "$n" "$driver" || { tail -n 20 "$(log_of "$n")" >&2; die "dockerd $n ($driver) did not come up (log: $(log_of "$n"))"; }
  elif overlay_mountable_in "$data" && launch_dockerd "$n" overlay2; then
    echo overlay2 >"$driver_file"
  else
    stop_engine_quiet "$n"
    launch_dockerd "$n" vfs || { tail -n 20 "$(log_of "$n")" >&2; die "dockerd $n (vfs) did not come up (log: $(log_of "$n"))"; }
    echo vfs >"$driver_file"
  fi
  log "engine $n up: $(dk "$n" info --format '{{.Driver}}, {{.Name}}') at $(sock_of "$n")"
}

wait_gone() { # wait_gone SECONDS PID...
  local t="$1"; shift
  local i p alive
  for ((i = 0; i < t * 4; i++)); do
    alive=0
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [[ $alive -eq 0 ]] && return 0
    sleep 0.25
  done
  return 1
}

# Stop node N's dockerd (SIGTERM, up to 60 s, then SIGKILL), then whatever it left behind
# (its containerd and shims), and unmount its leftover mounts.
stop_engine_quiet() {
  local n="$1" pid pids
  if pid=$(engine_pid "$n"); then
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone 60 "$pid" || { log "dockerd $n ignored SIGTERM for 60 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; wait_gone 10 "$pid" || true; }
  fi
  # dockerd stops its containerd on a clean exit; after a crash it (and shims) may linger.
  mapfile -t pids < <(node_pids "$n")
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait_gone 15 "${pids[@]}" || { kill -KILL "${pids[@]}" 2>/dev/null || true; wait_gone 5 "${pids[@]}" || true; }
  fi
  rm -f "$(pidfile_of "$n")"
  unmount_under "$(run_dir "$n")"
  unmount_under "$(data_of "$n")"
  # nothing of node N runs now: drop its runtime state (a stale exec/containerd/containerd.pid whose
  # pid got reused makes the next dockerd wait for a "still running" containerd and fail)
  rm -rf "$(run_dir "$n")/exec"
}

unmount_under() {
  local dir="$1" m
  # deepest first
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
}

# ---------------------------------------------------------------- swarm
swarm_state() { # "STATE CONTROL_AVAILABLE CLUSTER_ID", "down false -" when the engine does not answer
  local s
  if s=$(dk "$1" info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.Cluster.ID}}' 2>/dev/null); then
    echo "$s"
  else
    echo "down false -"
  fi
}
node_id() { dk "$1" info --format '{{.Swarm.NodeID}}'; }

swarm_healthy() {
  local s1 cid n s
  s1=$(swarm_state 1); [[ $s1 == "active true "* ]] || return 1
  cid=${s1##* }
  for n in "${NODES[@]}"; do
    s=$(swarm_state "$n"); [[ $s == "active true $cid" ]] || return 1
  done
  [[ $(dk 1 node ls --format '{{.Status}} {{.ManagerStatus}}' 2>/dev/null | grep -cE '^Ready (Leader|Reachable)$') -eq ${#NODES[@]} ]]
}

init_swarm() {
  local n
  for n in "${NODES[@]}"; do dk "$n" swarm leave --force >/dev/null 2>&1 || true; done
  dk 1 swarm init --advertise-addr "$(addr_of 1)" --listen-addr "$(addr_of 1):2377" \
    --default-addr-pool "$ADDR_POOL" --default-addr-pool-mask-length 24 >/dev/null
}

join_node() {
  local n="$1" token cid s
  cid=$(swarm_state 1); cid=${cid##* }
  s=$(swarm_state "$n")
  [[ $s == "active true $cid" ]] && return 0
  dk "$n" swarm leave --force >/dev/null 2>&1 || true
  token=$(dk 1 swarm join-token -q manager)
  dk "$n" swarm join --token "$token" --advertise-addr "$(addr_of "$n")" --listen-addr "$(addr_of "$n"):2377" "$(addr_of 1):2377" >/dev/null
}

# Managers left Down by a node that had to re-join under a new ID: demote and remove them
# (a Down manager counts against quorum).
prune_down_nodes() {
  local id
  for id in $(dk 1 node ls --format '{{.ID}} {{.Status}}' | awk '$2=="Down"{print $1}'); do
    dk 1 node demote "$id" >/dev/null 2>&1 || true
    dk 1 node rm --force "$id" >/dev/null 2>&1 || true
  done
}

wait_ready() { # wait_ready N [SECONDS]: another manager sees node N Ready
  local n="$1" t="${2:-$READY_WAIT}" id other i st
  id=$(node_id "$n")
  for other in "${NODES[@]}"; do
    if [[ $other != "$n" ]] && engine_up "$other"; then break; fi
  done
  # the node itself is an active manager that reaches quorum, and another manager sees it ready
  # and reachable (a short stop may not have been noticed as Down by the others at all)
  for ((i = 0; i < t * 2; i++)); do
    st=$(dk "$other" node inspect -f '{{.Status.State}} {{.ManagerStatus.Reachability}}' "$id" 2>/dev/null || true)
    if [[ $st == "ready reachable" && $(swarm_state "$n") == "active true "* ]] && dk "$n" node ls >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  die "node $n ($id) not Ready after $t s as seen from node $other"
}

form_swarm() {
  local s1 n
  s1=$(swarm_state 1)
  if [[ $s1 != "active true "* ]] || ! dk 1 node ls >/dev/null 2>&1; then
    step "swarm init on node 1 ($(addr_of 1))" init_swarm
  fi
  for n in "${NODES[@]:1}"; do
    step "node $n joins as manager" join_node "$n"
  done
  prune_down_nodes
  for n in "${NODES[@]}"; do wait_ready "$n"; done
}

# ---------------------------------------------------------------- images
load_into() { # load_into TAR NODE...: in parallel
  local tar="$1" pids=() n p rc=0; shift
  for n in "$@"; do dk "$n" load -q -i "$tar" >/dev/null & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  ((rc == 0)) || die "loading $tar into node(s) $* failed"
}

load_images() {
  local img root_id n need
  for img in "$@"; do
    root_id=$(docker image inspect -f '{{.Id}}' "$img" 2>/dev/null) || die "image $img is not in the root engine"
    need=()
    for n in "${NODES[@]}"; do
      [[ $(dk "$n" image inspect -f '{{.Id}}' "$img" 2>/dev/null || true) == "$root_id" ]] || need+=("$n")
    done
    if ((${#need[@]} == 0)); then log "image $img already on every node"; continue; fi
    TMP_TAR=$(mktemp -p "${TMPDIR:-/tmp}" tsswarm-image.XXXXXX.tar)
    step "save $img" docker save -o "$TMP_TAR" "$img"
    step "load $img into node(s) ${need[*]}" load_into "$TMP_TAR" "${need[@]}"
    rm -f "$TMP_TAR"; TMP_TAR=""
  done
}

# ---------------------------------------------------------------- commands
cmd_up() {
  need_root
  take_lock swarm
  local t0=$SECONDS n
  if swarm_healthy; then
    log "swarm already up and healthy"
  else
    step "bridge $BRIDGE ($BRIDGE_ADDR/24)" ensure_bridge
    for n in "${NODES[@]}"; do step "netns $(name_of "$n") + veth ($(addr_of "$n"))" ensure_ns "$n"; done
    mkdir -p "$SWARM_BASE"
    for n in "${NODES[@]}"; do step "dockerd $n" start_engine "$n"; done
    form_swarm
    swarm_healthy || { dk 1 node ls >&2 || true; die "swarm is not healthy after up"; }
  fi
  (($#)) && load_images "$@"
  log "swarm up ($((SECONDS - t0)) s total); DOCKER_HOST=$(sock_of 1)"
  dk 1 node ls >&2
}

# Make node N's data-root give a FRESH engine next time: no swarm state, network DB, containers
# (and their writable layers), volumes. Loaded images stay. Run with its dockerd stopped.
fresh_state() {
  local data driver layers m id
  data=$(data_of "$1")
  [[ -d $data ]] || return 0
  driver=$(cat "$data/.tsswarm-storage-driver" 2>/dev/null || true)
  case "$driver" in
    overlay2) layers="$data/overlay2" ;;
    vfs) layers="$data/vfs/dir" ;;
    *) rm -rf "$data"; return 0 ;;
  esac
  # containers' writable layers: image/DRIVER/layerdb/mounts/CONTAINER/mount-id names the dir
  for m in "$data/image/$driver/layerdb/mounts"/*/; do
    [[ -d $m ]] || continue
    if [[ -f $m/mount-id ]]; then
      id=$(<"$m/mount-id")
      [[ -n $id && $id != */* ]] && rm -rf "${layers:?}/$id" "${layers:?}/$id-init"
    fi
    rm -rf "$m"
  done
  [[ -d $layers/l ]] && find "$layers/l" -xtype l -delete
  rm -rf "$data"/{swarm,network,containers,volumes,runtimes,tmp}
}

cmd_down() {
  need_root
  local purge=0 n
  [[ ${1:-} == --purge ]] && purge=1
  take_lock swarm
  local t0=$SECONDS
  # No API calls (leaving the swarm one manager after the other makes the rest wait for raft):
  # SIGTERM all three (each stops its containers), then drop their state files.
  stop_all() {
    local pids=() n
    for n in "${NODES[@]}"; do stop_engine_quiet "$n" & pids+=($!); done
    wait "${pids[@]}"
  }
  step "stop dockerd ${NODES[*]}" stop_all
  for n in "${NODES[@]}"; do
    if ((purge)); then rm -rf "$(data_of "$n")"; else fresh_state "$n"; fi
    rm -rf "$(run_dir "$n")"
    ip netns del "$(name_of "$n")" 2>/dev/null || true
    ip link del "$(veth_of "$n")" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  if ((purge)); then rm -rf "$SWARM_BASE"; fi
  log "swarm down ($((SECONDS - t0)) s)"
}

cmd_stop_engine() {
  need_root; valid_node "${1:-}"
  take_lock swarm
  local pid
  if ! pid=$(engine_pid "$1"); then log "dockerd $1 is not running"; return 0; fi
  step "stop dockerd $1 (pid $pid)" stop_engine_quiet "$1"
}

cmd_start_engine() {
  need_root; valid_node "${1:-}"
  take_lock swarm
  ensure_bridge
  ensure_ns "$1"
  step "start dockerd $1" start_engine "$1"
  step "node $1 Ready (seen from another manager)" wait_ready "$1"
}

cmd_env() {
  local n addrs=()
  echo "DOCKER_HOST=$(sock_of 1)"
  for n in "${NODES[@]}"; do
    echo "TSSWARM_NODE${n}_ADDR=$(addr_of "$n")"
    echo "TSSWARM_NODE${n}_HOST=$(sock_of "$n")"
    addrs+=("$(addr_of "$n")")
  done
  (IFS=,; echo "TSSWARM_ADDRS=${addrs[*]}")
}

cmd_status() {
  local n
  for n in "${NODES[@]}"; do
    printf 'node %s %s %-36s engine=%s swarm=%s\n' "$n" "$(addr_of "$n")" "$(sock_of "$n")" \
      "$(engine_up "$n" && echo up || echo down)" "$(swarm_state "$n")"
  done
  for n in "${NODES[@]}"; do engine_up "$n" && { dk "$n" node ls; break; }; done
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  stop-engine) shift; cmd_stop_engine "$@" ;;
  start-engine) shift; cmd_start_engine "$@" ;;
  env) cmd_env ;;
  status) cmd_status ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
