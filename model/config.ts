import { DEFAULTS, DEFAULT_IMAGES, PROJECT_NAME } from "./constants";
import { ConfigProblem, StackConfigError } from "./errors";

export type TlsMode = "tls" | "plaintext";
export const TLS_MODES: readonly TlsMode[] = ["tls", "plaintext"];

export type HostPortName = keyof typeof DEFAULTS.hostPorts;
/**
 * A component of the stack: one role, run as one or more identical containers (its replicas).
 * `tempo` is Tempo's single binary (monolithic mode); the `tempo<Target>` components are its
 * microservices, and `objectStore` the in-stack S3 store they share.
 */
export type ComponentId = keyof typeof DEFAULTS.networkAliases;
export const COMPONENT_IDS: readonly ComponentId[] = [
  "tempo",
  "tempoDistributor",
  "tempoIngester",
  "tempoQueryFrontend",
  "tempoQuerier",
  "tempoCompactor",
  "tempoMetricsGenerator",
  "objectStore",
  "collector",
  "app",
  "appBackend",
  "grafana",
  "prometheus",
];

/** How Tempo runs: one process (`monolithic`), or one container per target (`microservices`). */
export type TempoMode = "monolithic" | "microservices";
export const TEMPO_MODES: readonly TempoMode[] = ["monolithic", "microservices"];

/** Tempo components whose replica count is a setting (`tempo.replicas.<name>`). */
export type ReplicatedTempoTarget = keyof typeof DEFAULTS.tempoReplicas;

/**
 * Where microservices-mode Tempo keeps its blocks. `inStack`: a SeaweedFS container of the stack,
 * S3 over mutual TLS with the stack's certificates. `external`: an S3-compatible endpoint the user
 * runs, its secret key the Pulumi secret `tracing-stack:objectStorageSecretAccessKey`.
 */
export type ObjectStorageConfig =
  | { kind: "inStack"; bucket: string; region: string }
  | { kind: "external"; endpoint: string; bucket: string; region: string; accessKeyId: string; caCertificate?: string };

/**
 * What runs the stack's components. `docker`: one container per instance on the Docker host the
 * provider points at. `swarm`: one Swarm service per component on the swarm whose manager the
 * provider points at, its replicas spread over the nodes.
 */
export type EngineKind = "docker" | "swarm";
export const ENGINE_KINDS: readonly EngineKind[] = ["docker", "swarm"];

/** How a Swarm service publishes its ports (Docker's `--publish mode=`). */
export type SwarmPublishMode = "ingress" | "host";
export const SWARM_PUBLISH_MODES: readonly SwarmPublishMode[] = ["ingress", "host"];

export type EngineConfig =
  | { kind: "docker" }
  | {
      kind: "swarm";
      /** The stack's overlay network encrypts its VXLAN traffic between nodes (IPsec, `encrypted` driver option). */
      encryptedNetwork: boolean;
      /** `ingress`: the routing mesh publishes every port on every node. `host`: only where the task runs. */
      publishMode: SwarmPublishMode;
      /** The name or address users and the verifier dial published ports at; a SAN of every certificate. */
      dialAddress: string;
      /**
       * A placement constraint for the services that publish ports (`node.hostname==edge-1`): with
       * host-mode publishing a port answers only on the node running its task, so that must be the
       * node at dialAddress.
       */
      publishedOn?: string;
      /** Each node's Engine socket, as a Swarm mount source: the destroy-time volume cleanup job talks to it. */
      engineSocket: string;
    };

/** Where the app image comes from: built from `app/` by the program, or an image the stack names. */
export type AppImageSource =
  | { kind: "build"; context: string; dockerfile: string; imageName: string }
  | { kind: "image"; image: string };

/** Stack configuration after validation and defaults: everything the model needs, nothing Pulumi-specific. */
export interface StackConfig {
  stackName: string;
  hostBindAddress: string;
  hostPorts: Record<HostPortName, number>;
  networkAliases: Record<ComponentId, string>;
  images: { tempo: string; collector: string; grafana: string; prometheus: string; objectStore: string; app: AppImageSource };
  /**
   * `mutual`: every server that can requires a client certificate signed by the stack CA, and
   * every client presents its own (the host's programs: the stack's clientCertificate output).
   */
  tls: { tempoInternalGrpc: TlsMode; mutual: boolean };
  appServiceName: string;
  /** The second container of the app image, which the app calls: the service graph's edge. */
  appBackendServiceName: string;
  deploymentEnvironment: string;
  keepDataVolume: boolean;
  certificates: { validityHours: number; earlyRenewalHours: number };
  tempo: {
    mode: TempoMode;
    traceIdlePeriodSeconds: number;
    flushCheckPeriodSeconds: number;
    maxLiveTraces: number;
    /** Containers per replicated target; used in microservices mode only. */
    replicas: Record<ReplicatedTempoTarget, number>;
    /** Ingesters each trace is written to; a write succeeds on a quorum (floor(rf/2)+1) of them. */
    replicationFactor: number;
    /** An ingester cuts its head block after this long at the latest, then flushes it to object storage. */
    maxBlockDurationSeconds: number;
    objectStorage: ObjectStorageConfig;
  };
  verification: { traces: number; minFraction: number; deadlineSeconds: number };
  engine: EngineConfig;
}

/** Keys a stack file may set under the `tracing-stack:` namespace. */
export const KNOWN_SETTINGS = [
  "hostBindAddress",
  "hostPorts",
  "networkAliases",
  "images",
  "tls",
  "appServiceName",
  "appBackendServiceName",
  "deploymentEnvironment",
  "keepDataVolume",
  "certificates",
  "tempo",
  "verification",
  "engine",
  "swarm",
  "grafanaAdminPassword",
  "objectStorageSecretAccessKey",
] as const;

const DNS_LABEL = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Stack names become part of container, network and volume names. */
const STACK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

const key = (path: string): string => `${PROJECT_NAME}:${path}`;

/** 127.0.0.0/8: reachable from this machine only. */
export function isLoopback(ipv4: string): boolean {
  return ipv4.startsWith("127.");
}

/**
 * Reads one setting group while recording problems instead of throwing, so the user sees every
 * mistake of a stack file at once.
 */
class Reader {
  readonly problems: ConfigProblem[] = [];

  constructor(private readonly raw: Readonly<Record<string, unknown>>) {}

  problem(path: string, message: string, fix: string): void {
    this.problems.push({ setting: key(path), message, fix });
  }

  /** Whether the stack file sets a top-level setting (secrets included, whose values the model never reads). */
  has(name: string): boolean {
    return this.raw[name] !== undefined;
  }

  /** A map setting: a top-level one by name, or a nested one given its value. */
  object(name: string, nested?: unknown): Record<string, unknown> {
    const value = nested === undefined && !name.includes(".") ? this.raw[name] : nested;
    if (value === undefined) return {};
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.problem(name, `must be a map, got ${JSON.stringify(value)}.`, `write it as a YAML map of settings under \`${key(name)}:\`.`);
      return {};
    }
    const obj = value as Record<string, unknown>;
    return obj;
  }

  unknownFields(group: string, obj: Record<string, unknown>, known: readonly string[]): void {
    for (const field of Object.keys(obj)) {
      if (!known.includes(field)) {
        this.problem(`${group}.${field}`, "is not a known setting.", `use one of: ${known.join(", ")}.`);
      }
    }
  }

  integer(path: string, value: unknown, fallback: number, min: number, max: number): number {
    if (value === undefined) return fallback;
    const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
      this.problem(path, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}.`, `set it to a number between ${min} and ${max}.`);
      return fallback;
    }
    return n;
  }

  fraction(path: string, value: unknown, fallback: number): number {
    if (value === undefined) return fallback;
    const n = typeof value === "string" ? Number(value) : value;
    if (typeof n !== "number" || !Number.isFinite(n) || n <= 0 || n > 1) {
      this.problem(path, `must be a number greater than 0 and at most 1, got ${JSON.stringify(value)}.`, "set it to e.g. 1 (every trace) or 0.9.");
      return fallback;
    }
    return n;
  }

  boolean(path: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (value === true || value === "true") return true;
    if (value === false || value === "false") return false;
    this.problem(path, `must be true or false, got ${JSON.stringify(value)}.`, "set it to true or false.");
    return fallback;
  }

  string(path: string, value: unknown, fallback: string): string {
    if (value === undefined) return fallback;
    if (typeof value !== "string" || value.length === 0) {
      this.problem(path, `must be a non-empty string, got ${JSON.stringify(value)}.`, "set it to a non-empty string.");
      return fallback;
    }
    return value;
  }

  dnsLabel(path: string, value: unknown, fallback: string): string {
    const s = this.string(path, value, fallback);
    if (!DNS_LABEL.test(s)) {
      this.problem(path, `"${s}" is not a valid DNS label.`, "use 1-63 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen (e.g. \"tempo\").");
      return fallback;
    }
    return s;
  }

  pinnedImage(path: string, value: unknown, fallback: string): string {
    const image = this.string(path, value, fallback);
    const problem = imagePinProblem(image);
    if (problem) {
      this.problem(path, `"${image}" ${problem}.`, `name an exact version, e.g. "${fallback}".`);
      return fallback;
    }
    return image;
  }

  tlsMode(path: string, value: unknown, fallback: TlsMode): TlsMode {
    if (value === undefined) return fallback;
    if (typeof value === "string" && (TLS_MODES as readonly string[]).includes(value)) return value as TlsMode;
    this.problem(path, `unknown TLS mode ${JSON.stringify(value)}.`, `set it to one of: ${TLS_MODES.join(", ")}.`);
    return fallback;
  }
}

/** Why an image reference is not pinned, or undefined when it is. */
export function imagePinProblem(image: string): string | undefined {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined;
  const lastSlash = image.lastIndexOf("/");
  const colon = image.indexOf(":", lastSlash + 1);
  if (colon < 0) return "has no tag, so Docker would use the floating \"latest\"";
  const tag = image.slice(colon + 1);
  if (tag === "" || tag === "latest") return "uses the floating \"latest\" tag";
  if (!/\d/.test(tag)) return `uses the floating tag "${tag}"`;
  return undefined;
}

/**
 * Validates the stack's `tracing-stack:*` settings and fills in defaults.
 * Throws a StackConfigError listing every problem, before any resource exists.
 *
 * @param raw settings without the namespace prefix, values already parsed from YAML/JSON
 */
export function parseStackConfig(stackName: string, raw: Readonly<Record<string, unknown>>): StackConfig {
  const r = new Reader(raw);

  if (!STACK_NAME.test(stackName)) {
    r.problems.push({
      setting: "stack name",
      message: `"${stackName}" cannot be part of Docker container, network and volume names.`,
      fix: "use letters, digits, '_', '.' and '-' only (e.g. `pulumi stack init staging`).",
    });
  }
  for (const name of Object.keys(raw)) {
    if (!(KNOWN_SETTINGS as readonly string[]).includes(name)) {
      r.problem(name, "is not a known setting.", `use one of: ${KNOWN_SETTINGS.join(", ")}.`);
    }
  }

  const hostBindAddress = r.string("hostBindAddress", raw.hostBindAddress, DEFAULTS.hostBindAddress);
  if (!IPV4.test(hostBindAddress)) {
    r.problem("hostBindAddress", `"${hostBindAddress}" is not an IPv4 address.`, "set 127.0.0.1 (this machine only) or 0.0.0.0 (every interface).");
  }

  const hostPortsRaw = r.object("hostPorts");
  const portNames = Object.keys(DEFAULTS.hostPorts) as HostPortName[];
  r.unknownFields("hostPorts", hostPortsRaw, portNames);
  const hostPorts = {} as Record<HostPortName, number>;
  for (const name of portNames) {
    hostPorts[name] = r.integer(`hostPorts.${name}`, hostPortsRaw[name], DEFAULTS.hostPorts[name], 1, 65535);
  }
  const byPort = new Map<number, HostPortName[]>();
  for (const name of portNames) byPort.set(hostPorts[name], [...(byPort.get(hostPorts[name]) ?? []), name]);
  for (const [port, names] of byPort) {
    if (names.length > 1) {
      r.problem(
        `hostPorts.${names[1]}`,
        `host port ${port} is also used by hostPorts.${names[0]}; two services cannot publish on one host port.`,
        `give each of ${names.map((n) => `hostPorts.${n}`).join(" and ")} its own port.`,
      );
    }
  }

  const aliasesRaw = r.object("networkAliases");
  r.unknownFields("networkAliases", aliasesRaw, COMPONENT_IDS);
  const networkAliases = {} as Record<ComponentId, string>;
  for (const id of COMPONENT_IDS) {
    networkAliases[id] = r.dnsLabel(`networkAliases.${id}`, aliasesRaw[id], DEFAULTS.networkAliases[id]);
  }
  const seenAliases = new Map<string, ComponentId>();
  for (const id of COMPONENT_IDS) {
    const other = seenAliases.get(networkAliases[id]);
    if (other) {
      r.problem(`networkAliases.${id}`, `"${networkAliases[id]}" is already the alias of ${other}.`, "give every service its own network alias.");
    }
    seenAliases.set(networkAliases[id], id);
  }

  const imagesRaw = r.object("images");
  r.unknownFields("images", imagesRaw, ["tempo", "collector", "grafana", "prometheus", "objectStore", "app"]);
  const images: StackConfig["images"] = {
    tempo: r.pinnedImage("images.tempo", imagesRaw.tempo, DEFAULT_IMAGES.tempo),
    collector: r.pinnedImage("images.collector", imagesRaw.collector, DEFAULT_IMAGES.collector),
    grafana: r.pinnedImage("images.grafana", imagesRaw.grafana, DEFAULT_IMAGES.grafana),
    prometheus: r.pinnedImage("images.prometheus", imagesRaw.prometheus, DEFAULT_IMAGES.prometheus),
    objectStore: r.pinnedImage("images.objectStore", imagesRaw.objectStore, DEFAULT_IMAGES.objectStore),
    app:
      imagesRaw.app === undefined
        ? { kind: "build", context: "app", dockerfile: "app/Dockerfile", imageName: `${PROJECT_NAME}/app:${stackName}` }
        : { kind: "image", image: r.pinnedImage("images.app", imagesRaw.app, "my-registry/my-app:1.0.0") },
  };
  // Release tags name their major version; main-branch builds (main-<sha>) are 2.x until 3.0.
  if (/^v?([3-9]|\d{2,})\./.test(images.tempo.split(":").pop() ?? "")) {
    r.problem(
      "images.tempo",
      `"${images.tempo}" is not a Tempo 2.x image; Tempo 3 has no ingester, so tempo_ingester_traces_created_total never rises and the verification cannot prove storage.`,
      `use a 2.x tag, e.g. "${DEFAULT_IMAGES.tempo}".`,
    );
  }

  const tlsRaw = r.object("tls");
  r.unknownFields("tls", tlsRaw, ["tempoInternalGrpc", "mutual"]);
  const tls = {
    tempoInternalGrpc: r.tlsMode("tls.tempoInternalGrpc", tlsRaw.tempoInternalGrpc, "tls"),
    mutual: r.boolean("tls.mutual", tlsRaw.mutual, true),
  };
  // Published beyond this machine, the receivers and APIs would take spans and answer queries from
  // anyone who trusts the CA (which is public): only a client certificate keeps strangers out.
  if (!tls.mutual && IPV4.test(hostBindAddress) && !isLoopback(hostBindAddress)) {
    r.problem(
      "tls.mutual",
      `is false while hostBindAddress is ${hostBindAddress}: the collector's receivers and the Tempo and Prometheus APIs would accept any client on the network.`,
      "set tls.mutual to true (the default; users' services then present the stack's clientCertificate output), or bind to 127.0.0.1.",
    );
  }

  const appServiceName = r.string("appServiceName", raw.appServiceName, DEFAULTS.appServiceName);
  const appBackendServiceName = r.string("appBackendServiceName", raw.appBackendServiceName, `${appServiceName}-backend`);
  if (appBackendServiceName === appServiceName) {
    r.problem(
      "appBackendServiceName",
      `"${appBackendServiceName}" is also appServiceName; with one name for both, the service graph has no edge and the verification cannot prove it.`,
      `give the backend its own name, e.g. "${appServiceName}-backend".`,
    );
  }
  const deploymentEnvironment = r.string("deploymentEnvironment", raw.deploymentEnvironment, stackName);
  const keepDataVolume = r.boolean("keepDataVolume", raw.keepDataVolume, false);

  const certsRaw = r.object("certificates");
  r.unknownFields("certificates", certsRaw, ["validityHours", "earlyRenewalHours"]);
  const certificates = {
    validityHours: r.integer("certificates.validityHours", certsRaw.validityHours, DEFAULTS.certificateValidityHours, 2, 24 * 825),
    earlyRenewalHours: r.integer("certificates.earlyRenewalHours", certsRaw.earlyRenewalHours, DEFAULTS.certificateEarlyRenewalHours, 1, 24 * 825),
  };
  if (certificates.earlyRenewalHours >= certificates.validityHours) {
    r.problem(
      "certificates.earlyRenewalHours",
      `${certificates.earlyRenewalHours} h is not less than certificates.validityHours (${certificates.validityHours} h), so every deployment would replace every certificate.`,
      "set it well below validityHours (the default is 720 h of a 8760 h certificate).",
    );
  }

  const tempo = readTempo(r, stackName);
  if (tempo.mode === "microservices") {
    // Every hop between Tempo's containers crosses the network: none of them may go in the clear
    // or accept a client that cannot prove it belongs to the stack.
    if (tls.tempoInternalGrpc === "plaintext") {
      r.problem("tls.tempoInternalGrpc", "is plaintext while tempo.mode is microservices, whose components talk over the network.", "remove it (TLS is the default), or set tempo.mode to monolithic.");
    }
    if (!tls.mutual) {
      r.problem("tls.mutual", "is false while tempo.mode is microservices, which runs mutual TLS on every hop between its components.", "remove it (true is the default), or set tempo.mode to monolithic.");
    }
  }

  const verificationRaw = r.object("verification");
  r.unknownFields("verification", verificationRaw, ["traces", "minFraction", "deadlineSeconds"]);
  const verification = {
    traces: r.integer("verification.traces", verificationRaw.traces, DEFAULTS.verificationTraces, 1, 1000),
    minFraction: r.fraction("verification.minFraction", verificationRaw.minFraction, DEFAULTS.verificationMinFraction),
    deadlineSeconds: r.integer("verification.deadlineSeconds", verificationRaw.deadlineSeconds, DEFAULTS.verificationDeadlineSeconds, 10, 3600),
  };
  const sweepSeconds = tempo.traceIdlePeriodSeconds + tempo.flushCheckPeriodSeconds;
  if (verification.deadlineSeconds < sweepSeconds * 2) {
    r.problem(
      "verification.deadlineSeconds",
      `${verification.deadlineSeconds} s is too short: Tempo only counts a trace after tempo.traceIdlePeriodSeconds + tempo.flushCheckPeriodSeconds (${sweepSeconds} s).`,
      `set it to at least ${sweepSeconds * 2}.`,
    );
  }

  const engine = readEngine(r, raw, tls.mutual);
  if (engine.kind === "swarm" && tempo.mode === "microservices" && tempo.objectStorage.kind === "external") {
    r.problem(
      "tempo.objectStorage.kind",
      "is external while engine is swarm: the stack's overlay network is internal (no route out), because Tempo's memberlist would otherwise advertise a node-local address its peers on other nodes cannot reach.",
      "use the in-stack object store (kind: inStack) on a swarm, or engine docker for an external store.",
    );
  }

  if (r.problems.length > 0) throw new StackConfigError(stackName, r.problems);

  return {
    stackName,
    hostBindAddress,
    hostPorts,
    networkAliases,
    images,
    tls,
    appServiceName,
    appBackendServiceName,
    deploymentEnvironment,
    keepDataVolume,
    certificates,
    tempo,
    verification,
    engine,
  };
}

const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** `engine` and, under `swarm`, the `swarm` settings. */
function readEngine(r: Reader, raw: Readonly<Record<string, unknown>>, mutualTls: boolean): EngineConfig {
  let kind: EngineKind = "docker";
  if (raw.engine !== undefined) {
    if (typeof raw.engine === "string" && (ENGINE_KINDS as readonly string[]).includes(raw.engine)) kind = raw.engine as EngineKind;
    else r.problem("engine", `unknown engine ${JSON.stringify(raw.engine)}.`, `set it to one of: ${ENGINE_KINDS.join(", ")}.`);
  }
  const swarmRaw = r.object("swarm");
  if (kind === "docker") {
    if (raw.swarm !== undefined) r.problem("swarm", "applies to engine swarm only.", "remove it, or set engine to swarm.");
    return { kind };
  }
  r.unknownFields("swarm", swarmRaw, ["encryptedNetwork", "publishMode", "dialAddress", "publishedOn", "engineSocket"]);
  const engineSocket = r.string("swarm.engineSocket", swarmRaw.engineSocket, "/var/run/docker.sock");
  if (!engineSocket.startsWith("/")) {
    r.problem("swarm.engineSocket", `"${engineSocket}" is not an absolute path.`, "give the path of each node's Docker socket, e.g. /var/run/docker.sock (Swarm templates such as {{.Node.Hostname}} may be part of it).");
  }
  let publishMode: SwarmPublishMode = "ingress";
  if (swarmRaw.publishMode !== undefined) {
    if (typeof swarmRaw.publishMode === "string" && (SWARM_PUBLISH_MODES as readonly string[]).includes(swarmRaw.publishMode)) publishMode = swarmRaw.publishMode as SwarmPublishMode;
    else r.problem("swarm.publishMode", `unknown publish mode ${JSON.stringify(swarmRaw.publishMode)}.`, `set it to one of: ${SWARM_PUBLISH_MODES.join(", ")} (ingress: every node answers on every published port).`);
  }
  const dialAddress = r.string("swarm.dialAddress", swarmRaw.dialAddress, "localhost");
  if (!DNS_NAME.test(dialAddress) && !IPV4.test(dialAddress)) {
    r.problem("swarm.dialAddress", `"${dialAddress}" is neither a host name nor an IPv4 address.`, "set the name or address of a swarm node, e.g. \"swarm-manager-1.example.internal\" or \"10.0.0.11\" (no scheme, no port).");
  }
  // Swarm publishes on every interface of its nodes: there is no loopback-only binding.
  if (raw.hostBindAddress !== undefined) {
    r.problem("hostBindAddress", "has no effect under engine swarm: Swarm publishes ports on all of a node's interfaces.", "remove it; keep the published ports behind your network's firewall and mutual TLS.");
  }
  if (!mutualTls) {
    r.problem("tls.mutual", "is false while engine is swarm, which publishes the stack's ports on every node's interfaces: anyone on the network could send spans and query traces.", "remove it (true is the default).");
  }
  let publishedOn: string | undefined;
  if (swarmRaw.publishedOn !== undefined) {
    publishedOn = r.string("swarm.publishedOn", swarmRaw.publishedOn, "");
    // Docker's constraint grammar: a node attribute, == or !=, a value.
    if (publishedOn !== "" && !/^(node|engine)\.[A-Za-z0-9_.-]+\s*(==|!=)\s*\S+$/.test(publishedOn)) {
      r.problem("swarm.publishedOn", `"${publishedOn}" is not a Swarm placement constraint.`, "write it as Docker does, e.g. \"node.hostname==swarm-edge-1\" or \"node.labels.edge==true\".");
    }
  } else if (publishMode === "host") {
    r.problem(
      "swarm.publishedOn",
      "is not set while swarm.publishMode is host: each published port then answers only on whichever node runs its task, which need not be swarm.dialAddress.",
      "set it to a placement constraint for the node at swarm.dialAddress (e.g. \"node.hostname==swarm-edge-1\"), or use publishMode ingress.",
    );
  }
  return { kind, encryptedNetwork: r.boolean("swarm.encryptedNetwork", swarmRaw.encryptedNetwork, true), publishMode, dialAddress, engineSocket, ...(publishedOn ? { publishedOn } : {}) };
}

/** S3 bucket names: 3-63 lowercase letters, digits, dots and hyphens, starting and ending alphanumeric. */
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** `host:port` as Tempo's S3 client takes it: no scheme, no path. */
const HOST_PORT = /^[A-Za-z0-9.-]+:\d{1,5}$/;

/** `host` or `host:port` as host:port, the scheme's port when none is given. */
function withPort(hostAndMaybePort: string, schemePort: number): string {
  return /:\d+$/.test(hostAndMaybePort) ? hostAndMaybePort : `${hostAndMaybePort}:${schemePort}`;
}

/** Tempo's settings: its mode, replicas and ring, its periods, and (microservices) its object storage. */
function readTempo(r: Reader, stackName: string): StackConfig["tempo"] {
  const raw = r.object("tempo");
  r.unknownFields("tempo", raw, ["mode", "traceIdlePeriodSeconds", "flushCheckPeriodSeconds", "maxLiveTraces", "replicas", "replicationFactor", "maxBlockDurationSeconds", "objectStorage"]);
  let mode: TempoMode = "monolithic";
  if (raw.mode !== undefined) {
    if (typeof raw.mode === "string" && (TEMPO_MODES as readonly string[]).includes(raw.mode)) mode = raw.mode as TempoMode;
    else r.problem("tempo.mode", `unknown Tempo mode ${JSON.stringify(raw.mode)}.`, `set it to one of: ${TEMPO_MODES.join(", ")}.`);
  }
  const microservices = mode === "microservices";
  const onlyInMicroservices = (field: string): void => {
    if (!microservices && raw[field] !== undefined) {
      r.problem(`tempo.${field}`, "applies to tempo.mode microservices only; the monolithic Tempo is one process on a local disk.", `remove tempo.${field}, or set tempo.mode to microservices.`);
    }
  };
  for (const field of ["replicas", "replicationFactor", "objectStorage"]) onlyInMicroservices(field);

  const replicasRaw = microservices ? r.object("tempo.replicas", raw.replicas) : {};
  const targets = Object.keys(DEFAULTS.tempoReplicas) as ReplicatedTempoTarget[];
  r.unknownFields("tempo.replicas", replicasRaw, targets);
  const replicas = {} as Record<ReplicatedTempoTarget, number>;
  for (const target of targets) replicas[target] = r.integer(`tempo.replicas.${target}`, replicasRaw[target], DEFAULTS.tempoReplicas[target], 1, 9);

  const replicationFactor = r.integer("tempo.replicationFactor", raw.replicationFactor, microservices ? DEFAULTS.tempoReplicationFactor : 1, 1, 9);
  if (microservices && replicationFactor % 2 === 0) {
    r.problem(
      "tempo.replicationFactor",
      `${replicationFactor} is even: a write needs a quorum of floor(${replicationFactor}/2)+1 = ${Math.floor(replicationFactor / 2) + 1} ingesters, so an even factor tolerates no more lost ingesters than the odd factor below it while writing every trace once more.`,
      `set an odd factor, e.g. ${replicationFactor - 1 || 1} or ${replicationFactor + 1}.`,
    );
  }
  if (microservices && replicas.ingester < replicationFactor) {
    r.problem(
      "tempo.replicas.ingester",
      `${replicas.ingester} ingester(s) cannot hold ${replicationFactor} copies of each trace (tempo.replicationFactor): every write would fail its quorum.`,
      `run at least ${replicationFactor} ingesters, or lower tempo.replicationFactor.`,
    );
  }

  const objectStorage = readObjectStorage(r, microservices ? r.object("tempo.objectStorage", raw.objectStorage) : {}, microservices);
  return {
    mode,
    traceIdlePeriodSeconds: r.integer("tempo.traceIdlePeriodSeconds", raw.traceIdlePeriodSeconds, DEFAULTS.tempoTraceIdlePeriodSeconds, 1, 3600),
    flushCheckPeriodSeconds: r.integer("tempo.flushCheckPeriodSeconds", raw.flushCheckPeriodSeconds, DEFAULTS.tempoFlushCheckPeriodSeconds, 1, 3600),
    maxLiveTraces: r.integer("tempo.maxLiveTraces", raw.maxLiveTraces, DEFAULTS.tempoMaxLiveTraces, 1000, 10_000_000),
    replicas,
    replicationFactor,
    maxBlockDurationSeconds: r.integer("tempo.maxBlockDurationSeconds", raw.maxBlockDurationSeconds, DEFAULTS.tempoMaxBlockDurationSeconds, 10, 7200),
    objectStorage: objectStorage.kind === "inStack" && objectStorage.bucket === "" ? { ...objectStorage, bucket: defaultBucket(r, stackName) } : objectStorage,
  };
}

/**
 * The in-stack bucket when the stack file names none: `tracing-stack-<stack>`, made a valid S3 name
 * (lowercase; runs of other characters, and of dots, become one hyphen; at most 63 characters,
 * ending in a letter or digit).
 */
function defaultBucket(r: Reader, stackName: string): string {
  const bucket = `${PROJECT_NAME}-${stackName}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .slice(0, 63)
    .replace(/-+$/, "");
  if (!S3_BUCKET.test(bucket)) {
    r.problem("tempo.objectStorage.bucket", `the default "${bucket}" made from the stack name is not a valid S3 bucket name.`, "name the bucket: 3-63 lowercase letters, digits and hyphens.");
  }
  return bucket;
}

function readObjectStorage(r: Reader, raw: Record<string, unknown>, microservices: boolean): ObjectStorageConfig {
  const fields = ["kind", "endpoint", "bucket", "region", "accessKeyId", "caCertificate"];
  r.unknownFields("tempo.objectStorage", raw, fields);
  const kind = raw.kind ?? "inStack";
  const region = r.string("tempo.objectStorage.region", raw.region, DEFAULTS.objectStorageRegion);
  const bucket = raw.bucket === undefined ? "" : r.string("tempo.objectStorage.bucket", raw.bucket, "");
  if (bucket !== "" && !S3_BUCKET.test(bucket)) {
    r.problem("tempo.objectStorage.bucket", `"${bucket}" is not a valid S3 bucket name.`, "use 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit.");
  }
  if (kind === "inStack") {
    for (const field of ["endpoint", "accessKeyId", "caCertificate"]) {
      if (raw[field] !== undefined) {
        r.problem(`tempo.objectStorage.${field}`, "applies to an external store only; the in-stack store's endpoint, keys and CA are the stack's own.", `remove it, or set tempo.objectStorage.kind to external.`);
      }
    }
    if (microservices && r.has("objectStorageSecretAccessKey")) {
      r.problem("objectStorageSecretAccessKey", "is set while the object store is the in-stack one, whose keys the stack generates.", "remove it (`pulumi config rm objectStorageSecretAccessKey`), or set tempo.objectStorage.kind to external.");
    }
    return { kind: "inStack", bucket, region };
  }
  if (kind !== "external") {
    r.problem("tempo.objectStorage.kind", `unknown object storage ${JSON.stringify(kind)}.`, "set it to inStack (a SeaweedFS container of the stack) or external (an S3-compatible endpoint you run).");
    return { kind: "inStack", bucket, region };
  }
  const endpoint = r.string("tempo.objectStorage.endpoint", raw.endpoint, "s3.example.com:443");
  if (raw.endpoint === undefined) {
    r.problem("tempo.objectStorage.endpoint", "is required for an external store.", "set it to the store's host:port, e.g. s3.eu-west-1.amazonaws.com:443.");
  } else if (/^[a-z]+:\/\//i.test(endpoint)) {
    r.problem(
      "tempo.objectStorage.endpoint",
      `"${endpoint}" has a scheme; Tempo's S3 client takes a plain host:port and fails on a URL (grafana/tempo#3696). TLS is always on and verified.`,
      `set it to "${withPort(endpoint.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, ""), /^https:/i.test(endpoint) ? 443 : 80)}".`,
    );
  } else if (!HOST_PORT.test(endpoint)) {
    r.problem("tempo.objectStorage.endpoint", `"${endpoint}" is not host:port.`, "set it to the store's host name and port, e.g. s3.eu-west-1.amazonaws.com:443.");
  }
  if (bucket === "") r.problem("tempo.objectStorage.bucket", "is required for an external store.", "name the bucket Tempo writes its blocks to (it must exist).");
  const accessKeyId = r.string("tempo.objectStorage.accessKeyId", raw.accessKeyId, "missing");
  if (raw.accessKeyId === undefined) r.problem("tempo.objectStorage.accessKeyId", "is required for an external store.", "set the access key id Tempo signs its requests with.");
  if (!r.has("objectStorageSecretAccessKey")) {
    r.problem("objectStorageSecretAccessKey", "is not set, and an external store needs the secret of tempo.objectStorage.accessKeyId.", "run `pulumi config set --secret objectStorageSecretAccessKey <secret>`.");
  }
  let caCertificate: string | undefined;
  if (raw.caCertificate !== undefined) {
    caCertificate = r.string("tempo.objectStorage.caCertificate", raw.caCertificate, "");
    if (!/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(caCertificate)) {
      r.problem("tempo.objectStorage.caCertificate", "is not a PEM certificate.", "paste the PEM of the CA that signed the store's certificate, or remove it to trust the image's system CAs.");
      caCertificate = undefined;
    }
  }
  return { kind: "external", endpoint, bucket, region, accessKeyId, ...(caCertificate ? { caCertificate } : {}) };
}
