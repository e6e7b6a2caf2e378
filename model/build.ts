import type { ComponentId, StackConfig } from "./config";
import { CONTAINER_PATHS, FILE_MODES, PROJECT_NAME } from "./constants";
import { HOST_DIAL_NAME, buildLinks, hostDialName, linkById, linkUrl } from "./links";
import { configFile, portOf, serviceSkeletons, singleInstance, stackComponents, TEMPO_MICROSERVICES, tlsFilePaths, tlsFiles } from "./services";
import type { ServiceSkeleton, TempoMicroservice } from "./services";
import { startDependencies, startOrder } from "./startOrder";
import type { ContainerFile, EnvValue, HealthcheckModel, ImageModel, ServiceModel, StackModel, StackTopology } from "./types";

/** The app reports its image tag as its version, so a trace names the build that produced it. */
function imageTag(image: ImageModel): string {
  const ref = image.kind === "pinned" ? image.ref : image.imageName;
  return ref.slice(ref.lastIndexOf(":") + 1);
}

const text = (value: string | number): EnvValue => ({ kind: "text", value: String(value) });

function urlOf(topology: StackTopology, linkId: string): string {
  return linkUrl(linkById(topology.links, linkId));
}

/**
 * Probes run inside the container against its own port over TLS, trusting the stack CA.
 * The first probe decides how soon dependants start, and Docker runs it one interval after the
 * start, so the interval is short. `start_interval` (fast probes only while starting) would be
 * better, but the daemon refuses a container that sets it below API 1.44 (Docker 25), seen with
 * Docker 20.10, still Debian 12's engine. Failures during the start period do not count; after it,
 * three in a row mark the container unhealthy.
 */
function healthcheck(test: string[]): HealthcheckModel {
  return { test, intervalSeconds: 2, timeoutSeconds: 3, retries: 3, startPeriodSeconds: 60 };
}

type ServiceDetails = Pick<ServiceModel, "command" | "env" | "files" | "healthcheck" | "entrypoint">;

function tempoService(_t: StackTopology, instance: ServiceSkeleton): ServiceDetails {
  const configPath = CONTAINER_PATHS.tempo.configFile;
  return {
    command: [`-config.file=${configPath}`],
    env: {},
    files: [configFile(configPath, "tempo"), ...tlsFiles("tempo", instance.id)],
  };
}

/**
 * One Tempo microservice: the shared config file, its `-target`, its own certificate. Its S3 key
 * pair is a 0440 AWS shared credentials file named by AWS_SHARED_CREDENTIALS_FILE (Tempo's
 * credential chain, tempodb/backend/s3/s3.go fetchCreds, reads it once the environment has no
 * keys), written from Pulumi secrets: neither the config file nor the environment holds a secret.
 */
function tempoMicroservice(t: StackTopology, instance: ServiceSkeleton): ServiceDetails {
  const configPath = CONTAINER_PATHS.tempo.configFile;
  const storage = t.config.tempo.objectStorage;
  const files: ContainerFile[] = [configFile(configPath, "tempo"), ...tlsFiles(instance.component, instance.id)];
  if (storage.kind === "external" && storage.caCertificate) {
    files.push({ path: CONTAINER_PATHS.tempo.objectStorageCaFile, content: { kind: "text", text: storage.caCertificate }, mode: FILE_MODES.public });
  }
  files.push({ path: CONTAINER_PATHS.tempo.objectStorageCredentialsFile, content: { kind: "objectStoreCredentials", format: "awsSharedCredentials" }, mode: FILE_MODES.privateKey });
  return {
    command: [`-config.file=${configPath}`, `-target=${TEMPO_MICROSERVICES[instance.component as TempoMicroservice].target}`],
    env: { AWS_SHARED_CREDENTIALS_FILE: text(CONTAINER_PATHS.tempo.objectStorageCredentialsFile) },
    files,
  };
}

/**
 * SeaweedFS' all-in-one server: master, volume and filer on the container's loopback, only the S3
 * gateway on the network, over TLS with the stack's certificate and requiring client certificates.
 * The image's entrypoint script is bypassed: it would su-exec to uid 1000 (which we run as anyway,
 * with group 0 to read the key) and force Go's FIPS mode.
 */
function objectStoreService(t: StackTopology, instance: ServiceSkeleton): ServiceDetails {
  const paths = CONTAINER_PATHS.objectStore;
  const tls = tlsFilePaths("objectStore");
  const s3 = portOf(instance, "s3");
  const storage = t.config.tempo.objectStorage;
  const bucketUrl = `https://${HOST_DIAL_NAME}:${s3.containerPort}/${storage.bucket}`;
  // Creating the bucket is the probe: the store is healthy once the bucket exists, and Tempo's
  // containers start only then. A second PUT answers 409 BucketAlreadyOwnedByYou. The key pair
  // is read from a 0440 file, never from the command line `docker inspect` shows.
  const createBucket = [
    `code=$(curl --silent --show-error --output /dev/null --write-out '%{http_code}'`,
    `--config ${paths.bucketOwnerCurlConfig} --aws-sigv4 aws:amz:${storage.region}:s3`,
    `--cacert ${tls.caFile} --cert ${tls.certFile} --key ${tls.keyFile}`,
    `--request PUT ${bucketUrl})`,
    `&& { [ "$code" = 200 ] || [ "$code" = 409 ]; }`,
  ].join(" ");
  return {
    entrypoint: ["/usr/bin/weed"],
    command: [
      "-logtostderr=true",
      "server",
      `-dir=${paths.dataDir}`,
      "-ip=127.0.0.1",
      "-ip.bind=127.0.0.1",
      "-master.telemetry=false",
      "-volume.max=0",
      "-s3",
      "-s3.ip.bind=0.0.0.0",
      `-s3.port=${s3.containerPort}`,
      // The Iceberg and Lance gateways of SeaweedFS 4.x: not used, not opened.
      "-s3.port.iceberg=0",
      "-s3.port.lance=0",
      `-s3.cert.file=${tls.certFile}`,
      `-s3.key.file=${tls.keyFile}`,
      `-s3.cacert.file=${tls.caFile}`,
      "-s3.tlsVerifyClientCert=true",
      `-s3.config=${paths.identitiesFile}`,
    ],
    env: {},
    files: [
      ...tlsFiles("objectStore", instance.id),
      { path: paths.identitiesFile, content: { kind: "objectStoreCredentials", format: "seaweedfsIdentities" }, mode: FILE_MODES.privateKey },
      { path: paths.bucketOwnerCurlConfig, content: { kind: "objectStoreCredentials", format: "curlConfig" }, mode: FILE_MODES.privateKey },
    ],
    healthcheck: healthcheck(["CMD", "sh", "-c", createBucket]),
  };
}

function collectorService(): ServiceDetails {
  const configPath = CONTAINER_PATHS.collector.configFile;
  return {
    command: [`--config=${configPath}`],
    env: {},
    files: [configFile(configPath, "collector"), ...tlsFiles("collector")],
  };
}

/**
 * Both containers of the app image: the app (called by the verifier and users) and its backend
 * (called by the app). Each exports its own spans to the collector under its own service name.
 */
function appImageService(
  t: StackTopology,
  id: "app" | "appBackend",
  serviceName: string,
  exportLinkId: string,
  downstreamLinkId?: string,
): ServiceDetails {
  const tls = tlsFilePaths(id);
  const self = singleInstance(t.services, id);
  const http = portOf(self, "http");
  const { config } = t;
  const downstream = downstreamLinkId ? linkById(t.links, downstreamLinkId) : undefined;
  const exportLink = linkById(t.links, exportLinkId);
  return {
    command: [],
    env: {
      OTEL_SERVICE_NAME: text(serviceName),
      OTEL_RESOURCE_ATTRIBUTES: text(`service.version=${imageTag(self.image)},deployment.environment=${config.deploymentEnvironment}`),
      OTEL_EXPORTER_OTLP_PROTOCOL: text("grpc"),
      OTEL_EXPORTER_OTLP_ENDPOINT: text(linkUrl(exportLink)),
      OTEL_EXPORTER_OTLP_CERTIFICATE: text(tls.caFile),
      OTEL_TRACES_SAMPLER: text("parentbased_always_on"),
      HOST: text("0.0.0.0"),
      PORT: text(http.containerPort),
      TLS_CERT_FILE: text(tls.certFile),
      TLS_KEY_FILE: text(tls.keyFile),
      TLS_CA_FILE: text(tls.caFile),
      ...(exportLink.clientCertificate
        ? { OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: text(exportLink.clientCertificate.certFile), OTEL_EXPORTER_OTLP_CLIENT_KEY: text(exportLink.clientCertificate.keyFile) }
        : {}),
      // The app's own server demands client certificates like every other server of the stack.
      TLS_CLIENT_AUTH: text(http.clientAuth === "required" ? "require" : "none"),
      ...(downstream ? { DOWNSTREAM_URL: text(linkUrl(downstream)) } : {}),
      ...(downstream?.clientCaFile ? { DOWNSTREAM_CA_FILE: text(downstream.clientCaFile) } : {}),
      ...(downstream?.clientCertificate
        ? { DOWNSTREAM_CLIENT_CERTIFICATE: text(downstream.clientCertificate.certFile), DOWNSTREAM_CLIENT_KEY: text(downstream.clientCertificate.keyFile) }
        : {}),
    },
    files: tlsFiles(id),
    healthcheck: healthcheck(["CMD", "node", "dist/healthcheck.js"]),
  };
}

function appService(t: StackTopology): ServiceDetails {
  return appImageService(t, "app", t.config.appServiceName, "app-to-collector", "app-to-app-backend");
}

function appBackendService(t: StackTopology): ServiceDetails {
  return appImageService(t, "appBackend", t.config.appBackendServiceName, "app-backend-to-collector");
}

function grafanaService(t: StackTopology): ServiceDetails {
  const tls = tlsFilePaths("grafana");
  const http = portOf(singleInstance(t.services, "grafana"), "http");
  return {
    command: [],
    env: {
      GF_SERVER_PROTOCOL: text(http.tls === "tls" ? "https" : "http"),
      GF_SERVER_HTTP_PORT: text(http.containerPort),
      GF_SERVER_CERT_FILE: text(tls.certFile),
      GF_SERVER_CERT_KEY: text(tls.keyFile),
      GF_SERVER_DOMAIN: text(hostDialName(t.config)),
      GF_SERVER_ROOT_URL: text(`${urlOf(t, "host-to-grafana")}/`),
      GF_SECURITY_ADMIN_USER: text("admin"),
      // Grafana reads any setting from a file given as <VAR>__FILE: the password stays out of the environment.
      GF_SECURITY_ADMIN_PASSWORD__FILE: text(CONTAINER_PATHS.grafana.adminPasswordFile),
      GF_SECURITY_COOKIE_SECURE: text("true"),
      GF_AUTH_ANONYMOUS_ENABLED: text("false"),
      GF_AUTH_DISABLE_LOGIN_FORM: text("false"),
      GF_ANALYTICS_REPORTING_ENABLED: text("false"),
      GF_ANALYTICS_CHECK_FOR_UPDATES: text("false"),
    },
    files: [...tlsFiles("grafana"), { path: CONTAINER_PATHS.grafana.adminPasswordFile, content: { kind: "grafanaAdminPassword" }, mode: FILE_MODES.privateKey }],
    // The Grafana image ships curl; --cacert keeps the probe verifying, like every other client.
    healthcheck: healthcheck([
      "CMD",
      "curl",
      "--fail",
      "--silent",
      "--cacert",
      tls.caFile,
      `https://${HOST_DIAL_NAME}:${http.containerPort}/api/health`,
    ]),
  };
}

function prometheusService(t: StackTopology): ServiceDetails {
  const paths = CONTAINER_PATHS.prometheus;
  const http = portOf(singleInstance(t.services, "prometheus"), "http");
  return {
    command: [
      `--config.file=${paths.configFile}`,
      `--web.config.file=${paths.webConfigFile}`,
      `--storage.tsdb.path=${paths.dataDir}`,
      `--web.listen-address=0.0.0.0:${http.containerPort}`,
      // Tempo's metrics-generator pushes span metrics and service graphs (link tempo-to-prometheus-remote-write).
      "--web.enable-remote-write-receiver",
      // Keeps the generator's exemplars (trace ids), so RED panels link to the traces behind them.
      "--enable-feature=exemplar-storage",
    ],
    env: {},
    files: [
      configFile(paths.configFile, "prometheus"),
      configFile(paths.webConfigFile, "prometheusWeb"),
      ...tlsFiles("prometheus"),
    ],
  };
}

const SERVICE_DETAILS: Record<ComponentId, (t: StackTopology, instance: ServiceSkeleton) => ServiceDetails> = {
  tempo: tempoService,
  tempoDistributor: tempoMicroservice,
  tempoIngester: tempoMicroservice,
  tempoQueryFrontend: tempoMicroservice,
  tempoQuerier: tempoMicroservice,
  tempoCompactor: tempoMicroservice,
  tempoMetricsGenerator: tempoMicroservice,
  objectStore: objectStoreService,
  collector: collectorService,
  app: appService,
  appBackend: appBackendService,
  grafana: grafanaService,
  prometheus: prometheusService,
};

/** Services, ports and links of a validated config, before config files are rendered. */
export function buildTopology(config: StackConfig): StackTopology {
  const services = serviceSkeletons(config);
  return { config, services, components: stackComponents(config), links: buildLinks(config, services) };
}

/**
 * Every container's files (config files declared, rendered later by configs/) and environment from a
 * topology. The tests call this on deliberately broken topologies to reintroduce the seeds' failures.
 */
export function assembleStackModel(topology: StackTopology): StackModel {
  const { config } = topology;
  const services: Record<string, ServiceModel> = {};
  for (const [id, instance] of Object.entries(topology.services)) {
    services[id] = { ...instance, ...SERVICE_DETAILS[instance.component](topology, instance) };
  }
  const startsAfter = startDependencies(services, topology.links);
  return {
    config,
    stackName: config.stackName,
    networkName: `${config.stackName}-${PROJECT_NAME}`,
    services,
    components: topology.components,
    links: topology.links,
    startsAfter,
    startOrder: startOrder(startsAfter),
    hostClientCertificate: {
      commonName: `${PROJECT_NAME} ${config.stackName} client`,
      // A client identity only: it serves no TLS and names no host.
      dnsNames: [],
      ipAddresses: [],
      allowedUses: ["digital_signature", "key_encipherment", "client_auth"],
      validityHours: config.certificates.validityHours,
      earlyRenewalHours: config.certificates.earlyRenewalHours,
    },
    ca: {
      commonName: `${PROJECT_NAME} ${config.stackName} CA`,
      // The CA outlives the certificates it signs, so renewing them never needs a new CA.
      validityHours: config.certificates.validityHours * 2,
      earlyRenewalHours: config.certificates.earlyRenewalHours,
    },
    hostUrls: {
      grafana: urlOf(topology, "host-to-grafana"),
      tempoApi: urlOf(topology, "host-to-tempo"),
      app: urlOf(topology, "host-to-app"),
      prometheus: urlOf(topology, "host-to-prometheus"),
      collectorOtlpGrpc: urlOf(topology, "host-to-collector-grpc"),
      collectorOtlpHttp: urlOf(topology, "host-to-collector-http"),
    },
  };
}

/**
 * The stack as plain data: every service, port, link, certificate and file, derived from the
 * validated config alone. Pure: the same config always gives the same model.
 */
export function buildStackModel(config: StackConfig): StackModel {
  return assembleStackModel(buildTopology(config));
}
