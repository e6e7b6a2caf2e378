import { renderConfigYaml } from "../yaml";
import { CONTAINER_PATHS, PROJECT_NAME } from "../../model/constants";
import { linkById, linkUrl } from "../../model/links";
import { instancesOfComponent, portOf, singleInstance, tlsFilePaths } from "../../model/services";
import type { TlsFilePaths } from "../../model/services";
import type { LinkModel, PortModel, StackTopology } from "../../model/types";

/**
 * Settings every internal gRPC client of Tempo needs. Tempo's single binary dials itself, so
 * when its gRPC server has TLS, each client (ingester, generator, frontend worker) must too:
 * the seeds' failure was TLS on the server and plaintext clients.
 */
function internalGrpcClient(link: LinkModel): Record<string, unknown> {
  if (link.tls === "plaintext") return { tls_enabled: false };
  return {
    tls_enabled: true,
    tls_ca_path: link.clientCaFile,
    tls_server_name: link.serverName,
    ...(link.clientCertificate ? { tls_cert_path: link.clientCertificate.certFile, tls_key_path: link.clientCertificate.keyFile } : {}),
  };
}

/**
 * dskit server TLS (Tempo's HTTP API and internal gRPC). A client CA alone is refused at start-up:
 * `client_auth_type` must say to require and verify (the docs' example only verifies if given).
 */
function dskitServerTls(port: PortModel, certFile: string, keyFile: string, caFile: string): Record<string, unknown> {
  return {
    cert_file: certFile,
    key_file: keyFile,
    ...(port.clientAuth === "required" ? { client_auth_type: "RequireAndVerifyClientCert", client_ca_file: caFile } : {}),
  };
}

/**
 * The embedded collector receivers: a client CA makes them require and verify client certificates
 * (configtls). A plaintext port (only the benchmark's TLS/plaintext comparison builds one) has none.
 */
function receiverTls(port: PortModel, certFile: string, keyFile: string, caFile: string): Record<string, unknown> {
  if (port.tls === "plaintext") return {};
  return { tls: { cert_file: certFile, key_file: keyFile, ...(port.clientAuth === "required" ? { client_ca_file: caFile } : {}) } };
}

/** The metrics-generator processors the stack's dashboards and verification read. */
export const METRICS_GENERATOR_PROCESSORS = ["service-graphs", "span-metrics"] as const;

/** Prometheus' remote-write receiver path (enabled by --web.enable-remote-write-receiver). */
export const PROMETHEUS_REMOTE_WRITE_PATH = "/api/v1/write";

/** How often the generator turns spans into samples and hands them to remote write; matches Prometheus' scrape interval. */
export const GENERATOR_COLLECTION_INTERVAL = "10s";

/**
 * Remote write from the metrics-generator to Prometheus, verified against the stack CA like every
 * other client (Tempo embeds Prometheus' own remote-write client and its tls_config).
 */
function remoteWrite(link: LinkModel): Record<string, unknown> {
  return {
    url: `${linkUrl(link)}${PROMETHEUS_REMOTE_WRITE_PATH}`,
    // Exemplars carry trace ids: the RED panels link from a latency point to the trace behind it.
    send_exemplars: true,
    ...(link.tls === "tls"
      ? {
          tls_config: {
            ca_file: link.clientCaFile,
            server_name: link.serverName,
            ...(link.clientCertificate ? { cert_file: link.clientCertificate.certFile, key_file: link.clientCertificate.keyFile } : {}),
          },
        }
      : {}),
  };
}

/** The HTTP API and internal gRPC servers: the same on the single binary and on every microservice. */
function serverSection(tempo: PortsOf, tls: TlsFilePaths): Record<string, unknown> {
  const httpApi = portOf(tempo, "httpApi");
  const internalGrpc = portOf(tempo, "internalGrpc");
  return {
    http_listen_address: "0.0.0.0",
    http_listen_port: httpApi.containerPort,
    grpc_listen_address: "0.0.0.0",
    grpc_listen_port: internalGrpc.containerPort,
    log_level: "info",
    // Bounds the HTTP drain at shutdown (default 30 s), so a restart fits the container's stop timeout.
    graceful_shutdown_timeout: "10s",
    http_tls_config: dskitServerTls(httpApi, tls.certFile, tls.keyFile, tls.caFile),
    ...(internalGrpc.tls === "tls" ? { grpc_tls_config: dskitServerTls(internalGrpc, tls.certFile, tls.keyFile, tls.caFile) } : {}),
  };
}

/** The distributor's OTLP receivers, TLS with client certificates as the ports say. */
function otlpReceivers(tempo: PortsOf, tls: TlsFilePaths): Record<string, unknown> {
  const otlpGrpc = portOf(tempo, "otlpGrpc");
  const otlpHttp = portOf(tempo, "otlpHttp");
  return {
    otlp: {
      protocols: {
        // Since Tempo 2.7 receivers bind to localhost unless told otherwise.
        grpc: { endpoint: `0.0.0.0:${otlpGrpc.containerPort}`, ...receiverTls(otlpGrpc, tls.certFile, tls.keyFile, tls.caFile) },
        http: { endpoint: `0.0.0.0:${otlpHttp.containerPort}`, ...receiverTls(otlpHttp, tls.certFile, tls.keyFile, tls.caFile) },
      },
    },
  };
}

/** The metrics-generator's registry and remote write to Prometheus; its ring differs by mode. */
function generatorSection(model: StackTopology, ring: Record<string, unknown>): Record<string, unknown> {
  return {
    ring,
    registry: {
      collection_interval: GENERATOR_COLLECTION_INTERVAL,
      // Tells generated series apart from Tempo's own (scraped) metrics in Prometheus.
      external_labels: { source: "tempo", stack: model.config.stackName },
    },
    // The generator's remote-write WAL. Tempo clears it at start-up (generator/storage/instance.go),
    // so it needs no volume of its own.
    storage: {
      path: `${CONTAINER_PATHS.tempo.dataDir}/generator/wal`,
      remote_write: [remoteWrite(linkById(model.links, "tempo-to-prometheus-remote-write"))],
      // The last remote write at shutdown may take this long (default 1 m, longer than any stop timeout).
      remote_write_flush_deadline: "10s",
    },
  };
}

/** Processors are per tenant; the single-tenant stack enables them, and sizes live traces, for every tenant. */
function overridesSection(model: StackTopology): Record<string, unknown> {
  return {
    defaults: {
      metrics_generator: { processors: [...METRICS_GENERATOR_PROCESSORS] },
      // Sized for the stack's trace idle and sweep periods (see tempoMaxLiveTraces in model/constants.ts).
      ingestion: { max_traces_per_user: model.config.tempo.maxLiveTraces },
    },
  };
}

type PortsOf = Parameters<typeof portOf>[0];

export function renderTempoConfig(model: StackTopology): string {
  return model.config.tempo.mode === "monolithic" ? renderMonolithicTempoConfig(model) : renderMicroservicesTempoConfig(model);
}

function renderMonolithicTempoConfig(model: StackTopology): string {
  const tempo = singleInstance(model.services, "tempo");
  const tls = tlsFilePaths("tempo");
  const internal = linkById(model.links, "tempo-internal");
  const dataDir = CONTAINER_PATHS.tempo.dataDir;
  const grpcClient = internalGrpcClient(internal);

  const document = {
    target: "all",
    server: serverSection(tempo, tls),
    distributor: { receivers: otlpReceivers(tempo, tls) },
    ingester: {
      lifecycler: {
        // The ring advertises this address and the distributor dials it: loopback is a SAN.
        address: internal.dialHost,
        ring: { kvstore: { store: "inmemory" }, replication_factor: 1 },
        // Default 15 s of /ready answering 503 only slows a single-node stack down.
        min_ready_duration: "0s",
      },
      trace_idle_period: `${model.config.tempo.traceIdlePeriodSeconds}s`,
      flush_check_period: `${model.config.tempo.flushCheckPeriodSeconds}s`,
    },
    ingester_client: { grpc_client_config: grpcClient },
    metrics_generator_client: { grpc_client_config: grpcClient },
    metrics_generator: generatorSection(model, { instance_addr: internal.dialHost }),
    querier: {
      frontend_worker: {
        frontend_address: `${internal.dialHost}:${internal.dialPort}`,
        grpc_client_config: grpcClient,
      },
    },
    storage: {
      trace: {
        backend: "local",
        wal: { path: `${dataDir}/wal` },
        local: { path: `${dataDir}/blocks` },
      },
    },
    overrides: overridesSection(model),
    usage_report: { reporting_enabled: false },
  };
  return renderConfigYaml(model.config.stackName, document);
}

/**
 * Memberlist (dskit kv/memberlist): every Tempo container that owns or watches a ring gossips over
 * TCP with TLS, each dialled peer verified against the stack CA under the gossip alias all their
 * certificates carry (the listener asks diallers for none: dskit's transport has no such setting). The
 * cluster label is the stack's own, so two stacks on one network never merge their rings
 * (grafana/tempo#4273): a packet with another label is dropped.
 */
function memberlist(link: LinkModel, clusterLabel: string, own: { certFile: string; keyFile: string }): Record<string, unknown> {
  const tls =
    link.tls === "tls"
      ? {
          tls_enabled: true,
          // One TLS config serves both ends: the listener's certificate, and what each dialler checks.
          tls_cert_path: own.certFile,
          tls_key_path: own.keyFile,
          tls_ca_path: link.clientCaFile,
          tls_server_name: link.serverName,
        }
      : { tls_enabled: false };
  return {
    bind_port: link.dialPort,
    // `dns+` resolves every A record of the alias: one join address reaches every container.
    join_members: [`dns+${link.dialHost}:${link.dialPort}`],
    cluster_label: clusterLabel,
    cluster_label_verification_disabled: false,
    ...tls,
  };
}

const MEMBERLIST_RING = { kvstore: { store: "memberlist" } };

/**
 * Tempo's S3 client: endpoint as plain host:port (a scheme breaks it, grafana/tempo#3696), TLS always
 * on and verified (the client never sets `insecure`). The key pair comes from the environment.
 */
function s3Storage(model: StackTopology): Record<string, unknown> {
  const storage = model.config.tempo.objectStorage;
  if (storage.kind === "external") {
    return {
      bucket: storage.bucket,
      endpoint: storage.endpoint,
      region: storage.region,
      ...(storage.caCertificate ? { tls_ca_path: CONTAINER_PATHS.tempo.objectStorageCaFile } : {}),
    };
  }
  const link = model.links.find((l) => l.server === "objectStore");
  if (!link || !link.clientCertificate) throw new Error("model bug: the in-stack object store is reached over mutual TLS");
  return {
    bucket: storage.bucket,
    endpoint: `${link.dialHost}:${link.dialPort}`,
    region: storage.region,
    // SeaweedFS serves buckets by path, not by virtual host names Docker's DNS does not know.
    forcepathstyle: true,
    tls_ca_path: link.clientCaFile,
    tls_server_name: link.serverName,
    tls_cert_path: link.clientCertificate.certFile,
    tls_key_path: link.clientCertificate.keyFile,
  };
}

/**
 * One config for every microservice (each picks its part with `-target`), as in Tempo's
 * example/docker-compose/distributed: servers, clients, rings and storage in one place.
 */
function renderMicroservicesTempoConfig(model: StackTopology): string {
  const { config } = model;
  const anyTempo = instancesOfComponent(model.services, "tempoDistributor")[0];
  if (!anyTempo) throw new Error("model bug: microservices mode without a distributor");
  const tls = tlsFilePaths("tempoDistributor");
  const toIngesters = linkById(model.links, "tempo-distributor-to-ingester");
  const toGenerator = linkById(model.links, "tempo-distributor-to-metrics-generator");
  const toFrontend = linkById(model.links, "tempo-querier-to-query-frontend");
  const gossip = linkById(model.links, "tempo-memberlist");

  const document = {
    server: serverSection(anyTempo, tls),
    memberlist: memberlist(gossip, `${PROJECT_NAME}-${config.stackName}`, tls),
    distributor: { ring: MEMBERLIST_RING, receivers: otlpReceivers(anyTempo, tls) },
    ingester: {
      lifecycler: {
        ring: { ...MEMBERLIST_RING, replication_factor: config.tempo.replicationFactor },
      },
      trace_idle_period: `${config.tempo.traceIdlePeriodSeconds}s`,
      flush_check_period: `${config.tempo.flushCheckPeriodSeconds}s`,
      max_block_duration: `${config.tempo.maxBlockDurationSeconds}s`,
    },
    // Distributors and queriers dial every ingester by its ring address (an IP): each ingester's
    // certificate carries the ingesters' shared alias, which is the name checked.
    ingester_client: { grpc_client_config: internalGrpcClient(toIngesters) },
    metrics_generator_client: { grpc_client_config: internalGrpcClient(toGenerator) },
    metrics_generator: generatorSection(model, MEMBERLIST_RING),
    querier: {
      frontend_worker: {
        frontend_address: `${toFrontend.dialHost}:${toFrontend.dialPort}`,
        grpc_client_config: internalGrpcClient(toFrontend),
      },
    },
    compactor: { ring: MEMBERLIST_RING },
    storage: {
      trace: {
        backend: "s3",
        s3: s3Storage(model),
        wal: { path: `${CONTAINER_PATHS.tempo.dataDir}/wal` },
        // How soon queriers and the compactor see blocks the ingesters flushed (Tempo's default: 5 m).
        blocklist_poll: "30s",
      },
    },
    overrides: overridesSection(model),
    usage_report: { reporting_enabled: false },
  };
  return renderConfigYaml(config.stackName, document);
}
