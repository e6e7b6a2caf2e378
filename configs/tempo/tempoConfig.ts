import { renderConfigYaml } from "../yaml";
import { CONTAINER_PATHS } from "../../model/constants";
import { linkById } from "../../model/links";
import { portOf, tlsFilePaths } from "../../model/services";
import type { LinkModel, StackTopology } from "../../model/types";

/**
 * Settings every internal gRPC client of Tempo needs. Tempo's single binary dials itself, so
 * when its gRPC server has TLS, each client (ingester, generator, frontend worker) must too:
 * the seeds' failure was TLS on the server and plaintext clients.
 */
function internalGrpcClient(link: LinkModel): Record<string, unknown> {
  if (link.tls === "plaintext") return { tls_enabled: false };
  return { tls_enabled: true, tls_ca_path: link.clientCaFile, tls_server_name: link.serverName };
}

export function renderTempoConfig(model: StackTopology): string {
  const tempo = model.services.tempo;
  const tls = tlsFilePaths("tempo");
  const serverTls = { cert_file: tls.certFile, key_file: tls.keyFile };
  const internal = linkById(model.links, "tempo-internal");
  const httpApi = portOf(tempo, "httpApi");
  const internalGrpc = portOf(tempo, "internalGrpc");
  const otlpGrpc = portOf(tempo, "otlpGrpc");
  const otlpHttp = portOf(tempo, "otlpHttp");
  const dataDir = CONTAINER_PATHS.tempo.dataDir;
  const grpcClient = internalGrpcClient(internal);

  const document = {
    target: "all",
    server: {
      http_listen_address: "0.0.0.0",
      http_listen_port: httpApi.containerPort,
      grpc_listen_address: "0.0.0.0",
      grpc_listen_port: internalGrpc.containerPort,
      log_level: "info",
      http_tls_config: serverTls,
      ...(internalGrpc.tls === "tls" ? { grpc_tls_config: serverTls } : {}),
    },
    distributor: {
      receivers: {
        otlp: {
          protocols: {
            // Since Tempo 2.7 receivers bind to localhost unless told otherwise.
            grpc: { endpoint: `0.0.0.0:${otlpGrpc.containerPort}`, tls: serverTls },
            http: { endpoint: `0.0.0.0:${otlpHttp.containerPort}`, tls: serverTls },
          },
        },
      },
    },
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
    metrics_generator: {
      ring: { instance_addr: internal.dialHost },
    },
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
    usage_report: { reporting_enabled: false },
  };
  return renderConfigYaml(model.config.stackName, document);
}
