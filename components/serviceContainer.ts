import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { fileContentFrom } from "../model";
import type { ContainerFile, EnvValue, FileContent, InstanceId, ObjectStoreCredentialsFormat, ServiceModel } from "../model";
import type { ServiceTlsMaterial } from "./pki";

export interface ServiceContainerArgs {
  stackName: string;
  service: ServiceModel;
  imageRef: pulumi.Input<string>;
  networkName: pulumi.Input<string>;
  caCertificatePem: pulumi.Input<string>;
  tlsMaterial: Record<InstanceId, ServiceTlsMaterial>;
  grafanaAdminPassword: pulumi.Input<string>;
  /** Microservices mode: the object store's key pair (Pulumi secrets) and the files written from it. */
  objectStorage?: {
    accessKeyId: pulumi.Input<string>;
    secretAccessKey: pulumi.Input<string>;
    credentialsFile(format: ObjectStoreCredentialsFormat): pulumi.Output<string>;
  };
}

function objectStorageOf(args: ServiceContainerArgs): NonNullable<ServiceContainerArgs["objectStorage"]> {
  if (!args.objectStorage) throw new Error(`program bug: ${args.service.id} needs the object store's key pair, and none was given`);
  return args.objectStorage;
}

function fileBytes(content: FileContent, args: ServiceContainerArgs): pulumi.Input<string> {
  return fileContentFrom<pulumi.Input<string>>(content, {
    caCertificate: args.caCertificatePem,
    certificate: (service) => (args.tlsMaterial[service] as ServiceTlsMaterial).certificatePem,
    privateKey: (service) => (args.tlsMaterial[service] as ServiceTlsMaterial).privateKeyPem,
    objectStoreCredentials: (format) => objectStorageOf(args).credentialsFile(format),
  });
}

function upload(file: ContainerFile, args: ServiceContainerArgs): docker.types.input.ContainerUpload {
  return {
    file: file.path,
    content: fileBytes(file.content, args),
    // No owner/group: either makes the provider request copyUIDGID, which fails on every engine
    // for a user the Docker host's passwd does not have. Files land root:root; see SERVICE_GID.
    permissions: file.mode,
  };
}

/**
 * Whole seconds as Go's time.Duration prints them ("2s", "1m0s", "1h0m0s"): the provider reads
 * healthcheck durations back in that form, so "60s" would show as a change on every `pulumi up`.
 */
export function goDuration(totalSeconds: number): string {
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

function envEntry(name: string, value: EnvValue, args: ServiceContainerArgs): pulumi.Output<string> {
  switch (value.kind) {
    case "text":
      return pulumi.output(`${name}=${value.value}`);
    case "grafanaAdminPassword":
      return pulumi.secret(pulumi.interpolate`${name}=${args.grafanaAdminPassword}`);
    case "objectStorageAccessKeyId":
      return pulumi.secret(pulumi.interpolate`${name}=${objectStorageOf(args).accessKeyId}`);
    case "objectStorageSecretAccessKey":
      return pulumi.secret(pulumi.interpolate`${name}=${objectStorageOf(args).secretAccessKey}`);
  }
}

/** One service of the model as a Docker container (plus its data volumes), deciding nothing itself. */
export class ServiceContainer extends pulumi.ComponentResource {
  readonly containerId: pulumi.Output<string>;
  readonly containerName: pulumi.Output<string>;

  constructor(name: string, args: ServiceContainerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tracing-stack:index:ServiceContainer", name, {}, opts);
    const service = args.service;

    const volumes = service.volumes.map(
      (mount) =>
        new docker.Volume(
          mount.volumeName,
          { name: mount.volumeName, labels: [{ label: "tracing-stack.stack", value: args.stackName }] },
          { parent: this, retainOnDelete: mount.retainOnDelete },
        ),
    );

    const hc = service.healthcheck;
    const container = new docker.Container(
      name,
      {
        name: service.containerName,
        image: args.imageRef,
        user: service.user,
        entrypoints: service.entrypoint,
        command: service.command.length > 0 ? service.command : undefined,
        envs: Object.entries(service.env).map(([envName, value]) => envEntry(envName, value, args)),
        uploads: service.files.map((file) => upload(file, args)),
        networksAdvanced: [{ name: args.networkName, aliases: service.networkAliases }],
        ports: service.ports
          .filter((port) => port.published)
          .map((port) => ({ internal: port.containerPort, external: port.published!.port, ip: port.published!.address, protocol: "tcp" })),
        volumes: service.volumes.map((mount, i) => ({ volumeName: volumes[i]!.name, containerPath: mount.containerPath })),
        healthcheck: hc && {
          tests: hc.test,
          interval: goDuration(hc.intervalSeconds),
          timeout: goDuration(hc.timeoutSeconds),
          retries: hc.retries,
          startPeriod: goDuration(hc.startPeriodSeconds),
        },
        // Only a container with a healthcheck can be waited for; dependants then start on a healthy service.
        wait: hc !== undefined,
        // Long enough for the start period and the failures that would then mark it unhealthy.
        waitTimeout: hc ? hc.startPeriodSeconds + (hc.intervalSeconds + hc.timeoutSeconds) * hc.retries : undefined,
        restart: "unless-stopped",
        // docker stop/restart give the process this long after the signal; the provider's own
        // stop on replacement or destroy kills at once unless destroyGraceSeconds is set.
        stopSignal: service.stop.signal,
        stopTimeout: service.stop.timeoutSeconds,
        destroyGraceSeconds: service.stop.timeoutSeconds,
        labels: [
          { label: "tracing-stack.stack", value: args.stackName },
          { label: "tracing-stack.service", value: service.id },
        ],
      },
      { parent: this },
    );
    this.containerId = container.id;
    this.containerName = container.name;
    this.registerOutputs({ containerId: this.containerId, containerName: this.containerName });
  }
}
