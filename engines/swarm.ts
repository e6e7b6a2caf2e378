/**
 * Engine `swarm`: the model on a Docker Swarm, through the manager the Docker provider points at.
 * Each component is one service whose tasks are its replicas, on one attachable overlay network
 * (encrypted when the stack asks); files become Swarm secrets and configs.
 */
import * as pulumi from "@pulumi/pulumi";
import { StackNetwork } from "../components/network";
import { ServiceImage } from "../components/serviceImage";
import { SwarmService } from "../components/swarmService";
import { SwarmVolumeCleanup } from "../components/swarmVolumeCleanup";
import type { SwarmServicePolicy } from "../components/swarmService";
import type { StackMaterial } from "../components/stackMaterial";
import { imageKey, imageResourceName, publishesPorts, singleInstance } from "../model";
import type { InstanceId, ServiceModel, StackModel } from "../model";
import { FILE_MODES } from "../model/constants";
import type { EngineDeployment } from "./engine";

type SwarmEngine = Extract<StackModel["config"]["engine"], { kind: "swarm" }>;

/** Seconds a service may take to have every task running (and healthy) before `pulumi up` fails. */
const CONVERGE_TIMEOUT_SECONDS = 180;

/**
 * How one service runs on the swarm.
 * - Ingesters: at most one per node. Each trace lives on replicationFactor ingesters; two on one
 *   host would let one host take a write quorum with it. With fewer nodes than ingesters the
 *   surplus waits (pending) and the verification says so.
 * - The routing mesh needs a virtual IP; everything else is `dnsrr`, so a component's alias
 *   resolves to each task (the collector balances over every distributor, memberlist joins every peer).
 * - Start-first (no gap) where two tasks may briefly run side by side: no volume (a WAL, a queue, a
 *   TSDB is one writer's), no host-mode port (one per node).
 */
export function swarmServicePolicy(engine: SwarmEngine, service: ServiceModel): SwarmServicePolicy {
  const publishes = publishesPorts(service);
  const exclusive = service.volumes.length > 0 || (publishes && engine.publishMode === "host");
  return {
    ...(service.component === "tempoIngester" && service.tasks > 1 ? { maxReplicasPerNode: 1 } : {}),
    placementPreferences: [],
    // Host-mode ports answer only where their task runs: on the node the stack file names.
    placementConstraints: publishes && engine.publishedOn ? [engine.publishedOn] : [],
    publishMode: engine.publishMode,
    endpointMode: publishes && engine.publishMode === "ingress" ? "vip" : "dnsrr",
    updateOrder: exclusive ? "stop-first" : "start-first",
    monitor: "10s",
    convergeTimeoutSeconds: CONVERGE_TIMEOUT_SECONDS,
    secretFileMode: FILE_MODES.privateKey,
  };
}

/** An image's reference as every node runs it: the pinned tag, or the tag the program builds. */
function nodeImageRef(image: ServiceModel["image"]): string {
  return image.kind === "pinned" ? image.ref : image.imageName;
}

export function deployOnSwarm(model: StackModel, material: StackMaterial, projectDir: string, dockerHost?: string): EngineDeployment {
  const engine = model.config.engine;
  if (engine.kind !== "swarm") throw new Error("program bug: the Swarm engine was given a stack whose engine is not swarm");
  const network = new StackNetwork("network", {
    networkName: model.networkName,
    driver: "overlay",
    attachable: true,
    // Internal: a task on it alone has no docker_gwbridge leg, so its only address (and the one its
    // default route would otherwise pick) is the overlay's. Tempo's memberlist advertises the
    // address of the default-route interface (dskit FinalAdvertiseAddr -> go-sockaddr
    // GetPrivateIP); with a gwbridge leg that is a node-local 172.x address no peer on another
    // node can reach. Published services still get their ingress/gwbridge legs.
    internal: true,
    ...(engine.encryptedNetwork ? { options: { encrypted: "" } } : {}),
  });
  // The services that publish ports also join an edge network with a route out: Swarm binds a
  // host-mode port through the task's docker_gwbridge leg, which a task on internal networks only
  // never gets (seen: `docker inspect` showed the binding and no port). None of them gossips.
  const publishing = Object.values(model.services).some(publishesPorts);
  const edge = publishing
    ? new StackNetwork("edge-network", {
        networkName: `${model.networkName}-edge`,
        driver: "overlay",
        ...(engine.encryptedNetwork ? { options: { encrypted: "" } } : {}),
      })
    : undefined;
  // Pinned images: every node pulls the exact tag itself. Built images (the app, the collector with
  // its queue directory) are built once through the manager; nodes run them by tag (from your
  // registry, or loaded on each node), and the built image's id rolls the service when it changes.
  const built = new Map<string, ServiceImage>();
  for (const service of Object.values(model.services)) {
    if (service.image.kind !== "build") continue;
    const key = imageKey(service.image);
    if (!built.has(key)) built.set(key, new ServiceImage(imageResourceName(service), { image: service.image, projectDir }));
  }
  // The stack's volumes live on whichever nodes ran its tasks: a job on every node removes them on
  // destroy (unless the stack keeps its data). Every service depends on it, so it goes last.
  const appImage = built.get(imageKey(singleInstance(model.services, "app").image));
  const hasVolumes = Object.values(model.services).some((s) => s.volumes.length > 0);
  const cleanup =
    hasVolumes && !model.config.keepDataVolume
      ? new SwarmVolumeCleanup("volume-cleanup", {
          stackName: model.stackName,
          volumeLabel: `tracing-stack.stack=${model.stackName}`,
          // The app image has `node`, which the cleanup job runs.
          image: nodeImageRef(singleInstance(model.services, "app").image),
          engineSocket: engine.engineSocket,
          ...(dockerHost ? { dockerHost } : {}),
        }, { dependsOn: appImage ? [appImage] : [] })
      : undefined;
  const services: Record<InstanceId, SwarmService> = {};
  for (const id of model.startOrder) {
    const service = model.services[id]!;
    const image = service.image.kind === "build" ? built.get(imageKey(service.image)) : undefined;
    const upstream = (model.startsAfter[id] ?? []).map((dep) => services[dep] as SwarmService);
    services[id] = new SwarmService(
      id,
      {
        service,
        image: nodeImageRef(service.image),
        ...(image ? { builtImageId: image.imageRef } : {}),
        networkId: network.id,
        ...(edge && publishesPorts(service) ? { edgeNetworkId: edge.id } : {}),
        material,
        policy: swarmServicePolicy(engine, service),
      },
      { dependsOn: [...upstream, ...(image ? [image] : []), ...(cleanup ? [cleanup] : [])] },
    );
  }
  const triggers: pulumi.Input<string>[] = [
    ...model.startOrder.map((id) => (services[id] as SwarmService).serviceId),
    // A service updated in place keeps its id: its new secrets and configs say it changed.
    ...model.startOrder.flatMap((id) => (services[id] as SwarmService).fileObjectIds),
    ...[...built.values()].map((image) => image.imageRef),
  ];
  return { running: Object.values(services), grafana: services[singleInstance(model.services, "grafana").id] as SwarmService, triggers };
}

/** What the verification checks on the swarm: each service by name, with the tasks it must run. */
export function swarmExpectations(model: StackModel): Array<{ name: string; tasks: number }> {
  return model.startOrder.map((id) => ({ name: model.services[id]!.containerName, tasks: model.services[id]!.tasks }));
}
