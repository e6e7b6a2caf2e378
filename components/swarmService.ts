import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import * as path from "node:path";
import { envEntries, fileBytes, goDuration } from "./stackMaterial";
import type { StackMaterial } from "./stackMaterial";
import type { ContainerFile, ServiceModel } from "../model";

/** How a service spreads, publishes and rolls out: decided by the Swarm engine (engines/swarm.ts). */
export interface SwarmServicePolicy {
  /** At most this many of the service's tasks on one node. */
  maxReplicasPerNode?: number;
  /** Placement preferences, e.g. `spread=node.labels.zone`. */
  placementPreferences: string[];
  /** Placement constraints, e.g. `node.hostname==edge-1`. */
  placementConstraints: string[];
  publishMode: "ingress" | "host";
  /** `vip`: one virtual address (needed by the routing mesh). `dnsrr`: DNS answers with every task's address. */
  endpointMode: "vip" | "dnsrr";
  /** `start-first` starts the new task before stopping the old one; only safe without volumes or host ports. */
  updateOrder: "start-first" | "stop-first";
  /** How long a new task must keep running before an update counts as done. */
  monitor: string;
  convergeTimeoutSeconds: number;
  /** Files of this mode become Swarm secrets (tmpfs, never on a node's disk); the others configs. */
  secretFileMode: string;
}

export interface SwarmServiceArgs {
  service: ServiceModel;
  /** The image reference every node runs (each node pulls it, or has it already). */
  image: pulumi.Input<string>;
  /** An image built by the program: its id, so a rebuild rolls the service. */
  builtImageId?: pulumi.Input<string>;
  networkId: pulumi.Input<string>;
  /** Services that publish: a second network with a route out, where Swarm binds their ports. */
  edgeNetworkId?: pulumi.Input<string>;
  material: StackMaterial;
  policy: SwarmServicePolicy;
}

/** Swarm object names: at most 64 characters, here `<service>-<file>-<content hash>`. */
function contentName(serviceName: string, file: ContainerFile, bytes: string): string {
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 12);
  return `${`${serviceName}-${path.basename(file.path)}`.slice(0, 51)}-${hash}`;
}

const octal = (mode: string): number => parseInt(mode, 8);

/**
 * Durations as the provider reads a service back (its shortDur: Go's form without a trailing
 * "0s" or "0m": "1m", not "1m0s"), so an unchanged service plans no change.
 */
export function swarmDuration(totalSeconds: number): string {
  return goDuration(totalSeconds).replace(/m0s$/, "m").replace(/h0m$/, "h");
}

/**
 * One component of the model as a Swarm service, its files as Swarm secrets (private keys, key
 * files) and configs (certificates, rendered configs). Swarm keeps both in its encrypted Raft log
 * and mounts secrets on tmpfs; both are immutable, so each is named after its content and a
 * changed file is a new object that rolls the service. Decides nothing: `policy` says how it
 * spreads, publishes and updates.
 */
export class SwarmService extends pulumi.ComponentResource {
  readonly serviceId: pulumi.Output<string>;
  readonly serviceName: pulumi.Output<string>;
  /** Its secrets' and configs' ids: a new one (a changed file) means a rolled service. */
  readonly fileObjectIds: pulumi.Output<string>[];

  constructor(name: string, args: SwarmServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tracing-stack:index:SwarmService", name, {}, opts);
    const { service, policy } = args;
    const stackLabel = { label: "tracing-stack.stack", value: args.material.stackName };
    const [uid, gid] = service.user.split(":") as [string, string];

    const secrets: docker.types.input.ServiceTaskSpecContainerSpecSecret[] = [];
    const configs: docker.types.input.ServiceTaskSpecContainerSpecConfig[] = [];
    const fileObjectIds: pulumi.Output<string>[] = [];
    for (const file of service.files) {
      const bytes = pulumi.output(fileBytes(file.content, args.material));
      // The hash of a key names its object; the name itself reveals nothing and need not be secret.
      const objectName = pulumi.unsecret(bytes.apply((b) => contentName(service.containerName, file, b)));
      const data = bytes.apply((b) => Buffer.from(b, "utf8").toString("base64"));
      const resourceName = `${name}-${path.basename(file.path)}`;
      // Readable by the service's own uid and group only, like the Docker engine's uploads.
      const mount = { fileName: file.path, fileUid: uid, fileGid: gid, fileMode: octal(file.mode) };
      if (file.mode === policy.secretFileMode) {
        const secret = new docker.Secret(resourceName, { name: objectName, data: pulumi.secret(data), labels: [stackLabel] }, { parent: this });
        secrets.push({ ...mount, secretId: secret.id, secretName: secret.name });
        fileObjectIds.push(secret.id);
      } else {
        const config = new docker.ServiceConfig(resourceName, { name: objectName, data }, { parent: this });
        configs.push({ ...mount, configId: config.id, configName: config.name });
        fileObjectIds.push(config.id);
      }
    }

    const hc = service.healthcheck;
    const swarmService = new docker.Service(
      name,
      {
        name: service.containerName,
        labels: [stackLabel, { label: "tracing-stack.service", value: service.id }, ...(args.builtImageId ? [{ label: "tracing-stack.image-id", value: args.builtImageId }] : [])],
        mode: { replicated: { replicas: service.tasks } },
        taskSpec: {
          containerSpec: {
            image: args.image,
            user: service.user,
            // Stable per slot: a rescheduled ingester keeps its ring entry (Tempo names it after the host name).
            hostname: "{{.Service.Name}}-{{.Task.Slot}}",
            ...(service.entrypoint ? { commands: service.entrypoint } : {}),
            ...(service.command.length > 0 ? { args: service.command } : {}),
            env: Object.fromEntries(envEntries(service).map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)])),
            secrets,
            configs,
            mounts: service.volumes.map((volume) => ({
              type: "volume",
              source: volume.perTask ? `${volume.volumeName}-{{.Task.Slot}}` : volume.volumeName,
              target: volume.containerPath,
              volumeOptions: { labels: [stackLabel] },
            })),
            ...(hc
              ? {
                  healthcheck: {
                    tests: hc.test,
                    interval: swarmDuration(hc.intervalSeconds),
                    timeout: swarmDuration(hc.timeoutSeconds),
                    retries: hc.retries,
                    startPeriod: swarmDuration(hc.startPeriodSeconds),
                  },
                }
              : {}),
            stopSignal: service.stop.signal,
            stopGracePeriod: swarmDuration(service.stop.timeoutSeconds),
          },
          // By id: the provider reads a service's networks back as ids, so a name would plan a replacement every time.
          networksAdvanceds: [{ id: args.networkId, aliases: service.networkAliases }, ...(args.edgeNetworkId ? [{ id: args.edgeNetworkId }] : [])],
          // Written out in full (0: no limit, empty lists) as the provider reads it back: no change on the next plan.
          placement: {
            maxReplicas: policy.maxReplicasPerNode ?? 0,
            constraints: policy.placementConstraints,
            prefs: policy.placementPreferences,
          },
          restartPolicy: { condition: "any", delay: "2s", window: "0s" },
        },
        updateConfig: { parallelism: 1, delay: "2s", failureAction: "rollback", monitor: policy.monitor, order: policy.updateOrder },
        rollbackConfig: { parallelism: 1, delay: "0s", failureAction: "pause", monitor: policy.monitor, order: policy.updateOrder },
        endpointSpec: {
          mode: policy.endpointMode,
          ports: service.ports
            .filter((port) => port.published)
            .map((port) => ({ name: port.name, protocol: "tcp", targetPort: port.containerPort, publishedPort: port.published!.port, publishMode: policy.publishMode })),
        },
        // `pulumi up` waits until every task runs (healthy, where there is a healthcheck), then goes on.
        convergeConfig: { delay: "2s", timeout: swarmDuration(policy.convergeTimeoutSeconds) },
      },
      // A fixed name: a replacement (not an update) can only be created once the old service is gone.
      // Its secrets and configs are named by content and replaced the default way: new first.
      { parent: this, deleteBeforeReplace: true },
    );
    this.serviceId = swarmService.id;
    this.serviceName = swarmService.name;
    this.fileObjectIds = fileObjectIds;
    this.registerOutputs({ serviceId: this.serviceId, serviceName: this.serviceName });
  }
}
