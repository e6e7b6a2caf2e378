#!/usr/bin/env bash
# Prove the engine can do what the stack relies on: containers on a user-defined network
# reach each other by network alias (Docker's embedded DNS), and a published port is
# reachable from the host. Uses the local helper image (busybox), since nothing can be
# pulled.
#   --if-image-present: skip quietly (exit 0) when the helper image is not built yet.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! docker image inspect "$HELPER_IMAGE" >/dev/null 2>&1; then
  if [[ "${1:-}" == "--if-image-present" ]]; then
    log "network check skipped: $HELPER_IMAGE not built yet (images.sh runs it)"
    exit 0
  fi
  die "$HELPER_IMAGE is missing; run e2e/prepare/images.sh"
fi

suffix="$$"
net="ts-netcheck-$suffix"
server="ts-netcheck-server-$suffix"
cleanup() {
  docker rm -f "$server" >/dev/null 2>&1 || true
  docker network rm "$net" >/dev/null 2>&1 || true
}
trap cleanup EXIT

docker network create "$net" >/dev/null
# A tiny HTTP server, reachable as "netcheck-alias" on the network and on a published
# host port chosen by the engine.
docker run -d --name "$server" --network "$net" --network-alias netcheck-alias \
  -p 127.0.0.1::8080 "$HELPER_IMAGE" \
  sh -c 'mkdir -p /tmp/www && echo alias-ok >/tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www' >/dev/null

# Through the alias, from a second container (retry: the server needs a moment).
out=""
for _ in $(seq 1 20); do
  out=$(docker run --rm --network "$net" "$HELPER_IMAGE" \
    timeout 5 wget -q -O - http://netcheck-alias:8080/ 2>/dev/null) && break
  sleep 0.5
done
[[ "$out" == "alias-ok" ]] || die "a container could not reach another by its network alias on $net"

# Through the published port, from the host.
hostport=$(docker port "$server" 8080/tcp | head -n1)
out=""
for _ in $(seq 1 20); do
  out=$(node -e 'fetch(process.argv[1]).then(r=>r.text()).then(t=>process.stdout.write(t.trim()),()=>process.exit(1))' "http://$hostport/") && break
  sleep 0.5
done
[[ "$out" == "alias-ok" ]] || die "published port $hostport was not reachable from the host"

log "network check ok: alias DNS on a user network and published port $hostport"
