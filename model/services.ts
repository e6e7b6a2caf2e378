import { COLLECTOR_IMAGE_BUILD, CONTAINER_PATHS, CONTAINER_PORTS, FILE_MODES, IMAGE_UIDS, SERVICE_GID, STOP_TIMEOUT_SECONDS } from "./constants";
import type { ServiceId, StackConfig } from "./config";
import type { CertificateSpec, ContainerFile, HealthcheckModel, ImageModel, PortModel, RenderedConfigKind, ServiceModel } from "./types";
import type { HostPortName } from "./config";

/** The TLS material every service receives: its own certificate and key, and the stack CA it trusts. */
export interface TlsFilePaths {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export function tlsFilePaths(service: ServiceId): TlsFilePaths {
  const dir = CONTAINER_PATHS[service].tlsDir;
  return { caFile: `${dir}/ca.crt`, certFile: `${dir}/${service}.crt`, keyFile: `${dir}/${service}.key` };
}

/**
 * Certificates and the CA are world-readable by design. The private key is root:root 0440: the
 * service reads it through its group (it runs as `<uid>:0`), other users of the container cannot.
 */
export function tlsFiles(service: ServiceId): ContainerFile[] {
  const paths = tlsFilePaths(service);
  return [
    { path: paths.caFile, content: { kind: "caCertificate" }, mode: FILE_MODES.public },
    { path: paths.certFile, content: { kind: "serviceCertificate", service }, mode: FILE_MODES.public },
    { path: paths.keyFile, content: { kind: "servicePrivateKey", service }, mode: FILE_MODES.privateKey },
  ];
}

/** A config file the renderers write (configs/renderStackConfigs): world-readable, holds no secret. */
export function configFile(path: string, config: RenderedConfigKind): ContainerFile {
  return { path, content: { kind: "config", config }, mode: FILE_MODES.public };
}

function published(config: StackConfig, hostPortName: HostPortName): PortModel["published"] {
  return { hostPortName, address: config.hostBindAddress, port: config.hostPorts[hostPortName] };
}

export function containerName(config: StackConfig, service: ServiceId): string {
  return `${config.stackName}-${config.networkAliases[service]}`;
}

function certificateFor(config: StackConfig, service: ServiceId): CertificateSpec {
  const alias = config.networkAliases[service];
  const container = containerName(config, service);
  return {
    commonName: alias,
    dnsNames: [...new Set([alias, container, "localhost"])],
    ipAddresses: ["127.0.0.1"],
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
export type ServiceSkeleton = Omit<ServiceModel, "files" | "env" | "command" | "healthcheck"> & {
  healthcheck?: HealthcheckModel;
};

function skeleton(
  config: StackConfig,
  id: ServiceId,
  image: ImageModel,
  ports: PortModel[],
  volumes: ServiceModel["volumes"] = [],
): ServiceSkeleton {
  return {
    id,
    containerName: containerName(config, id),
    networkAlias: config.networkAliases[id],
    image,
    user: `${IMAGE_UIDS[id]}:${SERVICE_GID}`,
    ports,
    certificate: certificateFor(config, id),
    volumes,
    // Every process here shuts down cleanly on SIGTERM (Docker's default); the timeout is what differs.
    stop: { signal: "SIGTERM", timeoutSeconds: STOP_TIMEOUT_SECONDS[id] },
  };
}

export function serviceSkeletons(config: StackConfig): Record<ServiceId, ServiceSkeleton> {
  const internalGrpcTls = config.tls.tempoInternalGrpc;
  // Grafana's HTTPS server has no client CA setting: it authenticates users by login instead.
  const clientAuth: PortModel["clientAuth"] = config.tls.mutual ? "required" : "none";
  const appImage: ImageModel =
    config.images.app.kind === "build"
      ? { kind: "build", context: config.images.app.context, dockerfile: config.images.app.dockerfile, imageName: config.images.app.imageName }
      : pinned(config.images.app.image);
  return {
    tempo: skeleton(
      config,
      "tempo",
      pinned(config.images.tempo),
      [
        { name: "httpApi", containerPort: CONTAINER_PORTS.tempoHttpApi, protocol: "http", tls: "tls", clientAuth, published: published(config, "tempoApi") },
        { name: "internalGrpc", containerPort: CONTAINER_PORTS.tempoInternalGrpc, protocol: "grpc", tls: internalGrpcTls, clientAuth: internalGrpcTls === "tls" ? clientAuth : "none" },
        { name: "otlpGrpc", containerPort: CONTAINER_PORTS.tempoOtlpGrpc, protocol: "grpc", tls: "tls", clientAuth },
        { name: "otlpHttp", containerPort: CONTAINER_PORTS.tempoOtlpHttp, protocol: "http", tls: "tls", clientAuth },
      ],
      [{ volumeName: `${config.stackName}-tempo-data`, containerPath: CONTAINER_PATHS.tempo.dataDir, retainOnDelete: config.keepDataVolume }],
    ),
    collector: skeleton(
      config,
      "collector",
      collectorImage(config.images.collector),
      [
        { name: "otlpGrpc", containerPort: CONTAINER_PORTS.collectorOtlpGrpc, protocol: "grpc", tls: "tls", clientAuth, published: published(config, "collectorOtlpGrpc") },
        { name: "otlpHttp", containerPort: CONTAINER_PORTS.collectorOtlpHttp, protocol: "http", tls: "tls", clientAuth, published: published(config, "collectorOtlpHttp") },
        { name: "healthCheck", containerPort: CONTAINER_PORTS.collectorHealthCheck, protocol: "http", tls: "tls", clientAuth },
      ],
      // The sending queue outlives the container, like Tempo's data: spans accepted while Tempo
      // is down survive a collector restart or replacement.
      [{ volumeName: `${config.stackName}-collector-queue`, containerPath: CONTAINER_PATHS.collector.queueDir, retainOnDelete: config.keepDataVolume }],
    ),
    app: skeleton(config, "app", appImage, [
      { name: "http", containerPort: CONTAINER_PORTS.appHttp, protocol: "http", tls: "tls", clientAuth, published: published(config, "app") },
    ]),
    // The same image under another service name; only the app calls it, so nothing is published.
    appBackend: skeleton(config, "appBackend", appImage, [
      { name: "http", containerPort: CONTAINER_PORTS.appHttp, protocol: "http", tls: "tls", clientAuth },
    ]),
    grafana: skeleton(config, "grafana", pinned(config.images.grafana), [
      { name: "http", containerPort: CONTAINER_PORTS.grafanaHttp, protocol: "http", tls: "tls", clientAuth: "none", published: published(config, "grafana") },
    ]),
    prometheus: skeleton(config, "prometheus", pinned(config.images.prometheus), [
      { name: "http", containerPort: CONTAINER_PORTS.prometheusHttp, protocol: "http", tls: "tls", clientAuth, published: published(config, "prometheus") },
    ]),
  };
}

export function portOf(service: Pick<ServiceModel, "id" | "ports">, name: string): PortModel {
  const port = service.ports.find((p) => p.name === name);
  if (!port) throw new Error(`model bug: ${service.id} has no port named ${name}`);
  return port;
}

/** PEMs a file may hold, from wherever the caller keeps them (Pulumi outputs, openssl output). */
export interface TlsMaterialSource<T> {
  caCertificate: T;
  certificate(service: ServiceId): T;
  privateKey(service: ServiceId): T;
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
  }
}
