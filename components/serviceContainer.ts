import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ContainerFile, ServiceModel } from "../model";
import { envEntries, fileBytes, goDuration } from "./stackMaterial";
import type { StackMaterial } from "./stackMaterial";

export interface ServiceContainerArgs {
  service: ServiceModel;
  imageRef: pulumi.Input<string>;
  networkName: pulumi.Input<string>;
  material: StackMaterial;
}

function upload(file: ContainerFile, material: StackMaterial): docker.types.input.ContainerUpload {
  return {
    file: file.path,
    content: fileBytes(file.content, material),
    // No owner/group: either makes the provider request copyUIDGID, which fails on every engine
    // for a user the Docker host's passwd does not have. Files land root:root; see SERVICE_GID.
    permissions: file.mode,
  };
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
          { name: mount.volumeName, labels: [{ label: "tracing-stack.stack", value: args.material.stackName }] },
          // Named by the stack: a replacement can only exist once the old one is gone.
          { parent: this, retainOnDelete: mount.retainOnDelete, deleteBeforeReplace: true },
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
        envs: envEntries(service),
        uploads: service.files.map((file) => upload(file, args.material)),
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
          { label: "tracing-stack.stack", value: args.material.stackName },
          { label: "tracing-stack.service", value: service.id },
        ],
      },
      // A fixed name: created first, the replacement would collide with the container it replaces.
      { parent: this, deleteBeforeReplace: true },
    );
    this.containerId = container.id;
    this.containerName = container.name;
    this.registerOutputs({ containerId: this.containerId, containerName: this.containerName });
  }
}
