import { COLLECTOR_IMAGE_BUILD, CONTAINER_PATHS, CONTAINER_PORTS, FILE_MODES, IMAGE_UIDS, SERVICE_GID, STOP_TIMEOUT_SECONDS, TEMPO_GOSSIP_ALIAS } from "./constants";
import type { ComponentId, ReplicatedTempoTarget, StackConfig } from "./config";
import type { CertificateSpec, ContainerFile, HealthcheckModel, ImageModel, InstanceId, ObjectStoreCredentialsFormat, PortModel, RenderedConfigKind, ServiceModel } from "./types";
import type { HostPortName } from "./config";

/** The TLS material every container receives: its own certificate and key, and the stack CA it trusts. */
export interface TlsFilePaths {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** Tempo's microservices, each a `-target` of the same binary, and the replica setting of those that scale. */
/**
 * `gossips`: the target runs memberlist (it owns or watches a ring). The query-frontend does not:
 * given the gossip alias it would only be a dead address that every member's join dials.
 * `readsBlocks`: the target's module needs the trace storage (`Store` in Tempo 2.10.8's
 * cmd/tempo/app/modules.go) and exits at start without its bucket; the distributor does not, and the
 * generator only with local blocks, which the stack does not enable.
 */
export const TEMPO_MICROSERVICES = {
  tempoDistributor: { target: "distributor", replicas: "distributor", gossips: true, readsBlocks: false },
  tempoIngester: { target: "ingester", replicas: "ingester", gossips: true, readsBlocks: true },
  tempoQueryFrontend: { target: "query-frontend", replicas: undefined, gossips: false, readsBlocks: true },
  tempoQuerier: { target: "querier", replicas: "querier", gossips: true, readsBlocks: true },
  tempoCompactor: { target: "compactor", replicas: undefined, gossips: true, readsBlocks: true },
  tempoMetricsGenerator: { target: "metrics-generator", replicas: undefined, gossips: true, readsBlocks: false },
} as const satisfies Record<string, { target: string; replicas: ReplicatedTempoTarget | undefined; gossips: boolean; readsBlocks: boolean }>;

/** Whether a component's containers take part in the rings' gossip (memberlist). */
export function gossips(component: ComponentId): boolean {
  return component in TEMPO_MICROSERVICES && TEMPO_MICROSERVICES[component as TempoMicroservice].gossips;
}
export type TempoMicroservice = keyof typeof TEMPO_MICROSERVICES;
export const TEMPO_MICROSERVICE_IDS = Object.keys(TEMPO_MICROSERVICES) as TempoMicroservice[];

export function isTempoComponent(component: ComponentId): boolean {
  return component === "tempo" || component in TEMPO_MICROSERVICES;
}

/**
 * Every Tempo container reads the same paths (`/etc/tempo/...`): one rendered config serves all
 * of them, as in Tempo's own distributed example, and each finds its own certificate there.
 */
function pathsOf(component: ComponentId): { tlsDir: string; stem: string } {
  if (isTempoComponent(component)) return { tlsDir: CONTAINER_PATHS.tempo.tlsDir, stem: "tempo" };
  const paths = CONTAINER_PATHS[component as Exclude<ComponentId, TempoMicroservice>];
  return { tlsDir: paths.tlsDir, stem: component };
}

export function tlsFilePaths(component: ComponentId): TlsFilePaths {
  const { tlsDir, stem } = pathsOf(component);
  return { caFile: `${tlsDir}/ca.crt`, certFile: `${tlsDir}/${stem}.crt`, keyFile: `${tlsDir}/${stem}.key` };
}

/**
 * Certificates and the CA are world-readable by design. The private key is root:root 0440: the
 * service reads it through its group (it runs as `<uid>:0`), other users of the container cannot.
 */
export function tlsFiles(component: ComponentId, instance: InstanceId = component): ContainerFile[] {
  const paths = tlsFilePaths(component);
  return [
    { path: paths.caFile, content: { kind: "caCertificate" }, mode: FILE_MODES.public },
    { path: paths.certFile, content: { kind: "serviceCertificate", service: instance }, mode: FILE_MODES.public },
    { path: paths.keyFile, content: { kind: "servicePrivateKey", service: instance }, mode: FILE_MODES.privateKey },
  ];
}

/** A config file the renderers write (configs/renderStackConfigs): world-readable, holds no secret. */
export function configFile(path: string, config: RenderedConfigKind): ContainerFile {
  return { path, content: { kind: "config", config }, mode: FILE_MODES.public };
}

function published(config: StackConfig, hostPortName: HostPortName): PortModel["published"] {
  return { hostPortName, address: config.hostBindAddress, port: config.hostPorts[hostPortName] };
}

/** The name of one container on the network: the component's alias, plus `-<n>` for a replica. */
export function instanceAlias(config: StackConfig, component: ComponentId, replica?: number): string {
  const alias = config.networkAliases[component];
  return replica === undefined ? alias : `${alias}-${replica}`;
}

export function containerName(config: StackConfig, component: ComponentId, replica?: number): string {
  return `${config.stackName}-${instanceAlias(config, component, replica)}`;
}

export function instanceId(component: ComponentId, replica?: number): InstanceId {
  return replica === undefined ? component : `${component}-${replica}`;
}

function certificateFor(config: StackConfig, component: ComponentId, replica: number | undefined): CertificateSpec {
  const names = [config.networkAliases[component], instanceAlias(config, component, replica), containerName(config, component, replica)];
  // Memberlist checks every peer against one name: the gossip alias all of Tempo's containers share.
  if (gossips(component)) names.push(TEMPO_GOSSIP_ALIAS);
  // Under Swarm, the host's programs dial published ports at a node's name or address.
  const dial = config.engine.kind === "swarm" && config.engine.dialAddress !== "localhost" ? config.engine.dialAddress : undefined;
  const dialIsIp = dial !== undefined && /^\d+\.\d+\.\d+\.\d+$/.test(dial);
  return {
    commonName: instanceAlias(config, component, replica),
    dnsNames: [...new Set([...names, "localhost", ...(dial && !dialIsIp ? [dial] : [])])],
    ipAddresses: [...new Set(["127.0.0.1", ...(dial && dialIsIp ? [dial] : [])])],
    allowedUses: ["digital_signature", "key_encipherment", "server_auth", "client_auth"],
    validityHours: config.certificates.validityHours,
    earlyRenewalHours: config.certificates.earlyRenewalHours,
  };
}

/** Services whose images have the same key run one image: it is pulled or built once. */
export function imageKey(image: ImageModel): string {
  return image.kind === "pinned" ? `pinned:${image.ref}` : `build:${image.imageName}`;
}

function pinned(ref: string): ImageModel {
  return { kind: "pinned", ref };
}

/** The pinned collector plus its queue directory, built once per host (see images/collector). */
function collectorImage(baseRef: string): ImageModel {
  return {
    kind: "build",
    context: COLLECTOR_IMAGE_BUILD.context,
    dockerfile: COLLECTOR_IMAGE_BUILD.dockerfile,
    imageName: COLLECTOR_IMAGE_BUILD.imageName(baseRef),
    args: { COLLECTOR_IMAGE: baseRef },
  };
}

/** A service before its rendered config files and environment are attached. */
export type ServiceSkeleton = Omit<ServiceModel, "files" | "env" | "command" | "healthcheck" | "entrypoint"> & {
  healthcheck?: HealthcheckModel;
};

/** What every container of one component shares: image, ports, volumes (named per replica). */
interface ComponentSpec {
  component: ComponentId;
  image: ImageModel;
  ports: PortModel[];
  /** Volume name suffixes and where they mount; each replica gets its own volume. */
  volumes?: Array<{ suffix: string; containerPath: string }>;
  /** Replicas: undefined for a component that runs once. */
  replicas?: number;
}

/**
 * The entries of one component. Engine docker: one container per replica, each with its own name,
 * certificate and volume. Engine swarm: one service whose tasks are the replicas; they share the
 * service's certificate and aliases, and each task gets its own volume.
 */
function instancesOf(config: StackConfig, spec: ComponentSpec): ServiceSkeleton[] {
  const swarm = config.engine.kind === "swarm";
  const replicas = spec.replicas === undefined || swarm ? [undefined] : Array.from({ length: spec.replicas }, (_, i) => i + 1);
  const tasks = swarm ? (spec.replicas ?? 1) : 1;
  const extraAliases = gossips(spec.component) ? [TEMPO_GOSSIP_ALIAS] : [];
  return replicas.map((replica) => {
    const alias = instanceAlias(config, spec.component, replica);
    return {
      id: instanceId(spec.component, replica),
      component: spec.component,
      ...(replica === undefined ? {} : { replica }),
      tasks,
      containerName: containerName(config, spec.component, replica),
      networkAlias: config.networkAliases[spec.component],
      networkAliases: [...new Set([config.networkAliases[spec.component], alias, ...extraAliases])],
      image: spec.image,
      user: `${IMAGE_UIDS[spec.component]}:${SERVICE_GID}`,
      // Published ports bind one host port: only a component that runs once publishes.
      ports: replica === undefined ? spec.ports : spec.ports.map(({ published: _published, ...port }) => port),
      certificate: certificateFor(config, spec.component, replica),
      volumes: (spec.volumes ?? []).map((volume) => ({
        volumeName: `${config.stackName}-${replica === undefined ? volume.suffix : `${volume.suffix}-${replica}`}`,
        containerPath: volume.containerPath,
        retainOnDelete: config.keepDataVolume,
        perTask: tasks > 1,
      })),
      // Every process here shuts down cleanly on SIGTERM (Docker's default); the timeout is what differs.
      stop: { signal: "SIGTERM", timeoutSeconds: STOP_TIMEOUT_SECONDS[spec.component] },
    };
  });
}

/** Tempo's ports: the same on its single binary and on each of its microservices. */
function tempoPorts(config: StackConfig, component: ComponentId, clientAuth: PortModel["clientAuth"]): PortModel[] {
  const internalGrpcTls = config.tls.tempoInternalGrpc;
  const ports: PortModel[] = [
    {
      name: "httpApi",
      containerPort: CONTAINER_PORTS.tempoHttpApi,
      protocol: "http",
      tls: "tls",
      clientAuth,
      // The API users query: the single binary's, or the query-frontend's.
      ...(component === "tempo" || component === "tempoQueryFrontend" ? { published: published(config, "tempoApi") } : {}),
    },
    { name: "internalGrpc", containerPort: CONTAINER_PORTS.tempoInternalGrpc, protocol: "grpc", tls: internalGrpcTls, clientAuth: internalGrpcTls === "tls" ? clientAuth : "none" },
  ];
  if (component === "tempo" || component === "tempoDistributor") {
    ports.push(
      { name: "otlpGrpc", containerPort: CONTAINER_PORTS.tempoOtlpGrpc, protocol: "grpc", tls: "tls", clientAuth },
      { name: "otlpHttp", containerPort: CONTAINER_PORTS.tempoOtlpHttp, protocol: "http", tls: "tls", clientAuth },
    );
  }
  if (gossips(component)) {
    // TLS with the container's own certificate, every peer verified against the stack CA. dskit's
    // memberlist listener never asks a dialling peer for a certificate (kv/memberlist
    // tcp_transport.go), so the port does not require one: the stack's cluster label and its
    // network keep strangers out, and the port is never published.
    ports.push({ name: "memberlist", containerPort: CONTAINER_PORTS.tempoMemberlist, protocol: "memberlist", tls: "tls", clientAuth: "none" });
  }
  return ports;
}

/** The components a stack runs: Tempo's single binary, or its microservices and (in-stack) object store. */
export function stackComponents(config: StackConfig): ComponentId[] {
  const tempo: ComponentId[] =
    config.tempo.mode === "monolithic"
      ? ["tempo"]
      : [...TEMPO_MICROSERVICE_IDS, ...(config.tempo.objectStorage.kind === "inStack" ? (["objectStore"] as const) : [])];
  return [...tempo, "collector", "app", "appBackend", "grafana", "prometheus"];
}

function componentSpecs(config: StackConfig): Record<ComponentId, ComponentSpec> {
  // Grafana's HTTPS server has no client CA setting: it authenticates users by login instead.
  const clientAuth: PortModel["clientAuth"] = config.tls.mutual ? "required" : "none";
  const appImage: ImageModel =
    config.images.app.kind === "build"
      ? { kind: "build", context: config.images.app.context, dockerfile: config.images.app.dockerfile, imageName: config.images.app.imageName }
      : pinned(config.images.app.image);
  const tempoImage = pinned(config.images.tempo);
  const tempoDataDir = CONTAINER_PATHS.tempo.dataDir;
  const microservice = (component: TempoMicroservice, volumes?: ComponentSpec["volumes"]): ComponentSpec => {
    const replicaSetting = TEMPO_MICROSERVICES[component].replicas;
    return {
      component,
      image: tempoImage,
      ports: tempoPorts(config, component, clientAuth),
      ...(volumes ? { volumes } : {}),
      ...(replicaSetting ? { replicas: config.tempo.replicas[replicaSetting] } : {}),
    };
  };
  return {
    tempo: { component: "tempo", image: tempoImage, ports: tempoPorts(config, "tempo", clientAuth), volumes: [{ suffix: "tempo-data", containerPath: tempoDataDir }] },
    tempoDistributor: microservice("tempoDistributor"),
    // Each ingester's WAL outlives its container: traces not yet flushed replay on restart.
    tempoIngester: microservice("tempoIngester", [{ suffix: "tempo-ingester-data", containerPath: tempoDataDir }]),
    tempoQueryFrontend: microservice("tempoQueryFrontend"),
    tempoQuerier: microservice("tempoQuerier"),
    tempoCompactor: microservice("tempoCompactor"),
    // The generator's remote-write WAL, cleared by Tempo at start-up: the container's own layer suffices.
    tempoMetricsGenerator: microservice("tempoMetricsGenerator"),
    objectStore: {
      component: "objectStore",
      image: pinned(config.images.objectStore),
      ports: [{ name: "s3", containerPort: CONTAINER_PORTS.objectStoreS3, protocol: "http", tls: "tls", clientAuth: "required" }],
      volumes: [{ suffix: "object-store-data", containerPath: CONTAINER_PATHS.objectStore.dataDir }],
    },
    collector: {
      component: "collector",
      image: collectorImage(config.images.collector),
      ports: [
        { name: "otlpGrpc", containerPort: CONTAINER_PORTS.collectorOtlpGrpc, protocol: "grpc", tls: "tls", clientAuth, published: published(config, "collectorOtlpGrpc") },
        { name: "otlpHttp", containerPort: CONTAINER_PORTS.collectorOtlpHttp, protocol: "http", tls: "tls", clientAuth, published: published(config, "collectorOtlpHttp") },
        { name: "healthCheck", containerPort: CONTAINER_PORTS.collectorHealthCheck, protocol: "http", tls: "tls", clientAuth },
      ],
      // The sending queue outlives the container, like Tempo's data: spans accepted while Tempo
      // is down survive a collector restart or replacement.
      volumes: [{ suffix: "collector-queue", containerPath: CONTAINER_PATHS.collector.queueDir }],
    },
    app: {
      component: "app",
      image: appImage,
      ports: [{ name: "http", containerPort: CONTAINER_PORTS.appHttp, protocol: "http", tls: "tls", clientAuth, published: published(config, "app") }],
    },
    // The same image under another service name; only the app calls it, so nothing is published.
    appBackend: { component: "appBackend", image: appImage, ports: [{ name: "http", containerPort: CONTAINER_PORTS.appHttp, protocol: "http", tls: "tls", clientAuth }] },
    grafana: {
      component: "grafana",
      image: pinned(config.images.grafana),
      ports: [{ name: "http", containerPort: CONTAINER_PORTS.grafanaHttp, protocol: "http", tls: "tls", clientAuth: "none", published: published(config, "grafana") }],
    },
    prometheus: {
      component: "prometheus",
      image: pinned(config.images.prometheus),
      ports: [{ name: "http", containerPort: CONTAINER_PORTS.prometheusHttp, protocol: "http", tls: "tls", clientAuth, published: published(config, "prometheus") }],
    },
  };
}

/** Every container of the stack, in component order, replicas in order. */
export function serviceSkeletons(config: StackConfig): Record<InstanceId, ServiceSkeleton> {
  const specs = componentSpecs(config);
  const skeletons: Record<InstanceId, ServiceSkeleton> = {};
  for (const component of stackComponents(config)) {
    for (const instance of instancesOf(config, specs[component])) skeletons[instance.id] = instance;
  }
  return skeletons;
}

/** The containers of one component, replicas in order. */
export function instancesOfComponent<S extends { component: ComponentId }>(services: Record<InstanceId, S>, component: ComponentId): S[] {
  return Object.values(services).filter((service) => service.component === component);
}

/** The one container of a component that runs once; a model bug otherwise. */
export function singleInstance<S extends { component: ComponentId; id: InstanceId }>(services: Record<InstanceId, S>, component: ComponentId): S {
  const found = instancesOfComponent(services, component);
  if (found.length !== 1) throw new Error(`model bug: expected one ${component} container, found ${found.length}`);
  return found[0]!;
}

/** Whether a service publishes any port on its host (or, under Swarm, on its node or the mesh). */
export function publishesPorts(service: Pick<ServiceModel, "ports">): boolean {
  return service.ports.some((port) => port.published !== undefined);
}

/** The name of a service's image resource: its role, so every Tempo container shares `tempo-image`. */
export function imageResourceName(service: Pick<ServiceModel, "component">): string {
  return `${isTempoComponent(service.component) ? "tempo" : service.component}-image`;
}

export function portOf(service: Pick<ServiceModel, "id" | "ports">, name: string): PortModel {
  const port = service.ports.find((p) => p.name === name);
  if (!port) throw new Error(`model bug: ${service.id} has no port named ${name}`);
  return port;
}

/** PEMs a file may hold, from wherever the caller keeps them (Pulumi outputs, openssl output). */
export interface TlsMaterialSource<T> {
  caCertificate: T;
  certificate(service: InstanceId): T;
  privateKey(service: InstanceId): T;
  /** Files holding the object store's key pair (secrets): the store's own, and Tempo's. */
  objectStoreCredentials?(format: ObjectStoreCredentialsFormat): T;
  /** Grafana's admin password (a secret). */
  grafanaAdminPassword?: T;
}

/** The bytes of a container file: rendered text, or the PEM the model points at. */
export function fileContentFrom<T>(content: ContainerFile["content"], pems: TlsMaterialSource<T>): T | string {
  switch (content.kind) {
    case "config":
      throw new Error(`program bug: the ${content.config} config was never rendered; pass the model through renderStackConfigs (configs/renderStackConfigs.ts) before deploying it`);
    case "text":
      return content.text;
    case "caCertificate":
      return pems.caCertificate;
    case "serviceCertificate":
      return pems.certificate(content.service);
    case "servicePrivateKey":
      return pems.privateKey(content.service);
    case "objectStoreCredentials":
      if (!pems.objectStoreCredentials) throw new Error(`program bug: no object store credentials to write the ${content.format} file from`);
      return pems.objectStoreCredentials(content.format);
    case "grafanaAdminPassword":
      if (pems.grafanaAdminPassword === undefined) throw new Error("program bug: no Grafana admin password to write its file from");
      return pems.grafanaAdminPassword;
  }
}
