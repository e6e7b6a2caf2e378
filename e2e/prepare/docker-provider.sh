#!/usr/bin/env bash
# Build the Terraform Docker provider (kreuzwerker/terraform-provider-docker, the code @pulumi/docker
# bridges) from the Go module proxy and lay it out as an OpenTofu filesystem mirror:
#   $TRACING_STACK_CACHE/tofu-mirror/registry.opentofu.org/kreuzwerker/docker/<version>/linux_amd64/
# Cached by module version. Prints the mirror directory on stdout.
# Its go.mod names itself github.com/terraform-providers/terraform-provider-docker, which is why
# `go install <module>@<version>` refuses it and we build inside a copy of the module instead.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mirror="$TRACING_STACK_CACHE/tofu-mirror"
platform="$(go env GOOS)_$(go env GOARCH)"
bin="$mirror/registry.opentofu.org/kreuzwerker/docker/$DOCKER_PROVIDER_VERSION/$platform/terraform-provider-docker_v$DOCKER_PROVIDER_VERSION"
take_lock "docker-provider"
if [[ -x "$bin" ]]; then
  log "cached: $bin"
  echo "$mirror"
  exit 0
fi
go_env_for_builds
build_go_module "docker-provider-$DOCKER_PROVIDER_VERSION" "$DOCKER_PROVIDER_MODULE@$DOCKER_PROVIDER_MODULE_VERSION" . "$bin" \
  "-s -w -X main.version=$DOCKER_PROVIDER_VERSION"
echo "$mirror"
