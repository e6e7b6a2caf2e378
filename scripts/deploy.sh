#!/usr/bin/env bash
# Deploys one stack (default: dev) with state kept in this project (.pulumi-state), no login needed.
# Usage: npm run deploy -- [stack] [extra pulumi up flags, e.g. --yes]
set -euo pipefail
cd "$(dirname "$0")/.."
stack="${1:-dev}"
shift || true

fail() { echo "deploy: $*" >&2; exit 1; }
command -v pulumi >/dev/null || fail "the Pulumi CLI is not installed: see https://www.pulumi.com/docs/install/ (README, Prerequisites)."
command -v docker >/dev/null && docker info >/dev/null 2>&1 || fail "no Docker engine answers: start Docker (or set DOCKER_HOST) and retry."
[ -f "Pulumi.${stack}.yaml" ] || fail "there is no Pulumi.${stack}.yaml: copy Pulumi.dev.yaml and give the new stack its own hostPorts (README, Adding an environment)."
[ -d node_modules ] || npm ci
if [ -z "${PULUMI_CONFIG_PASSPHRASE+x}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  fail "set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): it encrypts this stack's secrets (keys, Grafana password) in the local state."
fi

# Pulumi.yaml points the backend at ./.pulumi-state unless PULUMI_BACKEND_URL says otherwise.
mkdir -p .pulumi-state
pulumi stack select --create --secrets-provider passphrase "$stack"
pulumi up --stack "$stack" "$@"
echo
echo "Grafana:  $(pulumi stack output grafanaUrl --stack "$stack")  (user admin; password: pulumi stack output grafanaAdminPassword --show-secrets --stack $stack)"
echo "Tempo:    $(pulumi stack output tempoApiUrl --stack "$stack")"
echo "App:      $(pulumi stack output appUrl --stack "$stack")"
echo "CA:       pulumi stack output caCertificate --stack $stack > ${stack}-ca.crt"
