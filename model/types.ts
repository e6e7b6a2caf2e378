import type { AppImageSource, ComponentId, HostPortName, StackConfig, TempoMode, TlsMode } from "./config";

export type { AppImageSource, ComponentId, HostPortName, StackConfig, TempoMode, TlsMode };

/**
 * One container of a component: the component's id when it runs once (so a monolithic stack keeps
 * its resource names), `<component>-<n>` for each replica of a replicated one.
 */
export type InstanceId = string;

/** `memberlist`: Tempo's ring gossip (hashicorp/memberlist over TCP, TLS when enabled). */
export type Protocol = "grpc" | "http" | "memberlist";

/** Whether a TLS server demands a client certificate signed by the stack CA. */
export type ClientAuth = "required" | "none";

/** A port a service listens on inside its container, and where (if anywhere) it is published. */
export interface PortModel {
  /** Stable name, e.g. `otlpGrpc`; links refer to ports by it. */
  name: string;
  containerPort: number;
  protocol: Protocol;
  tls: TlsMode;
  clientAuth: ClientAuth;
  /** Published on the Docker host; absent for ports only the stack's network reaches. */
  published?: { hostPortName: HostPortName; address: string; port: number };
}

/** What a service's certificate must contain; the PKI component turns it into a signed certificate. */
export interface CertificateSpec {
  commonName: string;
  /** Every name a client may dial: network alias, container name, `localhost`. */
  dnsNames: string[];
  ipAddresses: string[];
  /** The certificate serves TLS and also authenticates its service as a client (mTLS-ready). */
  allowedUses: string[];
  validityHours: number;
  earlyRenewalHours: number;
}

/** The config files the renderers in configs/ write; the model only says which one goes where. */
export type RenderedConfigKind = "tempo" | "collector" | "prometheus" | "prometheusWeb";

/** Files that hold the in-stack object store's key pair: rendered by configs/ from the Pulumi secrets. */
export type ObjectStoreCredentialsFormat = "seaweedfsIdentities" | "curlConfig" | "awsSharedCredentials";

/**
 * Where a file's bytes come from. PEMs are resolved by the PKI component, never held in the model.
 * A `config` file is declared by the model and rendered by configs/renderStackConfigs, which turns
 * it into `text` before any engine sees it: the model never imports the renderers.
 */
export type FileContent =
  | { kind: "config"; config: RenderedConfigKind }
  | { kind: "text"; text: string }
  | { kind: "caCertificate" }
  | { kind: "serviceCertificate"; service: InstanceId }
  | { kind: "servicePrivateKey"; service: InstanceId }
  | { kind: "objectStoreCredentials"; format: ObjectStoreCredentialsFormat }
  | { kind: "grafanaAdminPassword" };

/**
 * A file uploaded into a container before it starts. Always root:root (the Docker provider can set
 * no other owner on every engine, see SERVICE_GID); who may read it is decided by `mode` alone.
 */
export interface ContainerFile {
  path: string;
  content: FileContent;
  /** Octal, as Docker uploads expect, e.g. "0440". */
  mode: string;
}

/**
 * Environment values are plain text: what `docker inspect` and `docker service inspect` show to
 * anyone with the Engine's API. Secrets reach processes as 0440 files (`FileContent`), never here.
 */
export type EnvValue = { kind: "text"; value: string };

export interface VolumeMount {
  /** Docker volume name: carries the stack name so stacks do not share data. */
  volumeName: string;
  containerPath: string;
  /** Kept on `pulumi destroy` (stack config `keepDataVolume`). */
  retainOnDelete: boolean;
  /**
   * One volume per task of the service (engine swarm, a component with several tasks): the engine
   * names each after the task's slot, so a rescheduled task finds its predecessor's data on that node.
   */
  perTask: boolean;
}

export interface HealthcheckModel {
  test: string[];
  intervalSeconds: number;
  timeoutSeconds: number;
  retries: number;
  startPeriodSeconds: number;
}

export type ImageModel =
  | { kind: "pinned"; ref: string }
  | { kind: "build"; context: string; dockerfile: string; imageName: string; args?: Record<string, string> };

/** How Docker stops a container: the signal its process shuts down cleanly on, and how long it may take. */
export interface StopModel {
  signal: "SIGTERM" | "SIGINT";
  /** Seconds between the signal and SIGKILL, on `docker stop`/`restart` and on replacement or destroy. */
  timeoutSeconds: number;
}

export interface ServiceModel {
  id: InstanceId;
  component: ComponentId;
  /** 1-based replica number of a replicated component; absent for a component that runs once. */
  replica?: number;
  /**
   * Identical processes the engine runs for this entry: 1 for a container (engine docker gives each
   * replica its own entry), the component's replicas for a Swarm service (one entry per component).
   */
  tasks: number;
  /** Docker container name: `<stack>-<alias>`, `<stack>-<alias>-<n>` for a replica. */
  containerName: string;
  /** The component's alias (shared by its replicas: DNS answers with all of them), then the replica's own. */
  networkAlias: string;
  /** Every name the container answers to on the stack network, `networkAlias` first. */
  networkAliases: string[];
  image: ImageModel;
  /** `uid:gid` the process runs as: the image's uid, group 0 (which may read the uploaded files). */
  user: string;
  /** Replaces the image's entrypoint when set. */
  entrypoint?: string[];
  command: string[];
  env: Record<string, EnvValue>;
  ports: PortModel[];
  certificate: CertificateSpec;
  files: ContainerFile[];
  volumes: VolumeMount[];
  /** Set where the image ships a tool that can probe over TLS; Pulumi then waits for health. */
  healthcheck?: HealthcheckModel;
  stop: StopModel;
}

/** Who opens a connection: a service, or a program on the Docker host (verifier, browser, Grafana provider). */
export type LinkClient = ComponentId | "host";

/**
 * One connection the stack relies on, as its client is configured to make it.
 * The renderers read links to write client settings, so each link is the only source of its endpoint.
 */
export interface LinkModel {
  id: string;
  description: string;
  client: LinkClient;
  server: ComponentId;
  serverPortName: string;
  /**
   * The name of each of the server's replicas, for clients that must reach every one (Prometheus
   * scrapes each, memberlist gossips with each); `dialHost` reaches any one of them.
   */
  serverInstanceHosts: string[];
  /**
   * Processes that answer behind `serverInstanceHosts`: more than the hosts when one name stands for
   * several tasks (a Swarm service's alias, which DNS answers with every task's address).
   */
  serverInstances: number;
  /** The deployment starts the client only once the server's container is up (and healthy, where it has a healthcheck). */
  clientStartsAfterServer: boolean;
  protocol: Protocol;
  /** The host name the client dials; must be a SAN of the server's certificate when TLS is on. */
  dialHost: string;
  /** The port the client dials: the server's container port, or its published host port. */
  dialPort: number;
  tls: TlsMode;
  /** In-container path of the CA the client trusts; undefined for host clients, which get the PEM. */
  clientCaFile?: string;
  /** The server's demand, copied from its port: with "required" the client must present a certificate. */
  clientAuth: ClientAuth;
  /**
   * The certificate and key the client presents (its own service certificate), when the server
   * requires one. Host clients present the stack's clientCertificate output instead.
   */
  clientCertificate?: { certFile: string; keyFile: string };
  /** The name the client checks in the server certificate. */
  serverName: string;
}

export interface StackModel {
  config: StackConfig;
  stackName: string;
  networkName: string;
  /** Every container of the stack, by instance id. */
  services: Record<InstanceId, ServiceModel>;
  /** The components this stack runs (which depends on tempo.mode and the object storage). */
  components: ComponentId[];
  links: LinkModel[];
  /** Per container, the containers that must be up before it starts (from the links). */
  startsAfter: Record<InstanceId, InstanceId[]>;
  /** Every container once, each after all it starts after: the order containers are declared in. */
  startOrder: InstanceId[];
  ca: { commonName: string; validityHours: number; earlyRenewalHours: number };
  /** The certificate the stack issues for programs on the host (verifier, users' services) under mutual TLS. */
  hostClientCertificate: CertificateSpec;
  /** URLs a user (and the verifier) opens on the Docker host. */
  hostUrls: { grafana: string; tempoApi: string; app: string; prometheus: string; collectorOtlpGrpc: string; collectorOtlpHttp: string };
}

/** What the config renderers read: topology without the rendered files. A StackModel is one too. */
export interface StackTopology {
  config: StackConfig;
  services: Record<InstanceId, Omit<ServiceModel, "files" | "env" | "command" | "healthcheck" | "entrypoint">>;
  components: ComponentId[];
  links: LinkModel[];
}
