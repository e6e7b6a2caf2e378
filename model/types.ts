import type { AppImageSource, HostPortName, ServiceId, StackConfig, TlsMode } from "./config";

export type { AppImageSource, HostPortName, ServiceId, StackConfig, TlsMode };

export type Protocol = "grpc" | "http";

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

/**
 * Where a file's bytes come from. PEMs are resolved by the PKI component, never held in the model.
 * A `config` file is declared by the model and rendered by configs/renderStackConfigs, which turns
 * it into `text` before any engine sees it: the model never imports the renderers.
 */
export type FileContent =
  | { kind: "config"; config: RenderedConfigKind }
  | { kind: "text"; text: string }
  | { kind: "caCertificate" }
  | { kind: "serviceCertificate"; service: ServiceId }
  | { kind: "servicePrivateKey"; service: ServiceId };

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

export type EnvValue = { kind: "text"; value: string } | { kind: "grafanaAdminPassword" };

export interface VolumeMount {
  /** Docker volume name: carries the stack name so stacks do not share data. */
  volumeName: string;
  containerPath: string;
  /** Kept on `pulumi destroy` (stack config `keepDataVolume`). */
  retainOnDelete: boolean;
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
  id: ServiceId;
  /** Docker container name: `<stack>-<alias>`. */
  containerName: string;
  networkAlias: string;
  image: ImageModel;
  /** `uid:gid` the process runs as: the image's uid, group 0 (which may read the uploaded files). */
  user: string;
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
export type LinkClient = ServiceId | "host";

/**
 * One connection the stack relies on, as its client is configured to make it.
 * The renderers read links to write client settings, so each link is the only source of its endpoint.
 */
export interface LinkModel {
  id: string;
  description: string;
  client: LinkClient;
  server: ServiceId;
  serverPortName: string;
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
  services: Record<ServiceId, ServiceModel>;
  links: LinkModel[];
  /** Per service, the services whose containers must be up before it starts (from the links). */
  startsAfter: Record<ServiceId, ServiceId[]>;
  /** Every service once, each after all it starts after: the order containers are declared in. */
  startOrder: ServiceId[];
  ca: { commonName: string; validityHours: number; earlyRenewalHours: number };
  /** The certificate the stack issues for programs on the host (verifier, users' services) under mutual TLS. */
  hostClientCertificate: CertificateSpec;
  /** URLs a user (and the verifier) opens on the Docker host. */
  hostUrls: { grafana: string; tempoApi: string; app: string; prometheus: string; collectorOtlpGrpc: string; collectorOtlpHttp: string };
}

/** What the config renderers read: topology without the rendered files. A StackModel is one too. */
export interface StackTopology {
  config: StackConfig;
  services: Record<ServiceId, Omit<ServiceModel, "files" | "env" | "command" | "healthcheck">>;
  links: LinkModel[];
}
