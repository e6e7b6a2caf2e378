/**
 * Mechanical names between the Pulumi docker package and the Terraform Docker provider it bridges:
 * `docker:index/remoteImage:RemoteImage` -> `docker_remote_image`, `networksAdvanced` -> `networks_advanced`.
 */
import type { TerraformAddress } from "./references";

/** The bridged resources the e2e suite creates with the real provider. docker.Image is native to @pulumi/docker. */
export const BRIDGED_DOCKER_TYPES = [
  "docker:index/container:Container",
  "docker:index/network:Network",
  "docker:index/volume:Volume",
  "docker:index/remoteImage:RemoteImage",
  // Engine swarm.
  "docker:index/service:Service",
  "docker:index/secret:Secret",
  "docker:index/serviceConfig:ServiceConfig",
] as const;

export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/([A-Z])([A-Z][a-z])/g, "$1_$2").toLowerCase();
}

/**
 * The names pulumi-docker does not derive mechanically (pulumi-docker provider/resources.go): its
 * native docker.Image took the name "Image", so the bridged `docker_image` is RemoteImage; and
 * `docker_config` is ServiceConfig.
 */
const RENAMED_TYPES: Record<string, string> = { "docker:index/remoteImage:RemoteImage": "docker_image", "docker:index/serviceConfig:ServiceConfig": "docker_config" };

export function terraformType(pulumiType: string): string {
  const renamed = RENAMED_TYPES[pulumiType];
  if (renamed) return renamed;
  const match = /^docker:index\/([A-Za-z]+):[A-Za-z]+$/.exec(pulumiType);
  if (!match) throw new Error(`${pulumiType} is not a bridged docker resource type`);
  return `docker_${snakeCase(match[1]!)}`;
}

/** Terraform resource names: letters, digits, `_` and `-`, not starting with a digit. */
export function terraformAddress(pulumiType: string, pulumiName: string): TerraformAddress {
  const name = pulumiName.replace(/[^A-Za-z0-9_-]/g, "_");
  return { type: terraformType(pulumiType), name: /^[A-Za-z_]/.test(name) ? name : `r_${name}` };
}

/** `type.name`, as OpenTofu names a resource on its command line and in its state. */
export function terraformAddressString(pulumiType: string, pulumiName: string): string {
  const a = terraformAddress(pulumiType, pulumiName);
  return `${a.type}.${a.name}`;
}
