#!/usr/bin/env bash
# Removes everything one stack created (its data volume too, unless keepDataVolume is true).
# Usage: npm run destroy -- [stack] [extra pulumi destroy flags]
set -euo pipefail
cd "$(dirname "$0")/.."
stack="${1:-dev}"
shift || true
command -v pulumi >/dev/null || { echo "destroy: the Pulumi CLI is not installed." >&2; exit 1; }
pulumi destroy --stack "$stack" "$@"
