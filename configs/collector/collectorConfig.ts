import { parse } from "yaml";
import { renderConfigYaml } from "../yaml";
import { CONTAINER_PATHS, CONTAINER_PORTS } from "../../model/constants";
import { linkById, LOOPBACK_ADDRESS } from "../../model/links";
import { portOf, singleInstance, tlsFilePaths } from "../../model/services";
import type { LinkModel, StackTopology } from "../../model/types";

/** Exporter type for OTLP over gRPC in collector >= v0.144.0 (`otlp` is a deprecated alias). */
export const OTLP_GRPC_EXPORTER_TYPE = "otlp_grpc";
export const TEMPO_EXPORTER_ID = `${OTLP_GRPC_EXPORTER_TYPE}/tempo`;
/** The storage extension that holds the exporter's sending queue on the collector's data volume. */
export const QUEUE_STORAGE_ID = "file_storage/queue";

/** The exporter's TLS client settings from its link; the stack's collector never exports in plaintext. */
function exporterTls(link: LinkModel): Record<string, unknown> {
  if (link.tls !== "tls") throw new Error("model bug: the collector-to-Tempo link is always TLS");
  return {
    ca_file: link.clientCaFile,
    server_name_override: link.serverName,
    ...(link.clientCertificate ? { cert_file: link.clientCertificate.certFile, key_file: link.clientCertificate.keyFile } : {}),
  };
}

export function renderCollectorConfig(model: StackTopology): string {
  const collector = singleInstance(model.services, "collector");
  const tls = tlsFilePaths("collector");
  // configtls: a client CA on a server makes it require and verify client certificates.
  const serverTls = (portName: string): Record<string, unknown> => ({
    cert_file: tls.certFile,
    key_file: tls.keyFile,
    ...(portOf(collector, portName).clientAuth === "required" ? { client_ca_file: tls.caFile } : {}),
  });
  const toTempo = linkById(model.links, "collector-to-tempo");
  // Several distributors share one alias: gRPC's DNS resolver takes every address behind it and
  // round_robin spreads the exporter's calls over all of them (one connection per distributor),
  // instead of pinning every span to whichever address came first.
  const balanced = toTempo.serverInstances > 1;

  const document = {
    receivers: {
      otlp: {
        protocols: {
          // The receiver binds to localhost by default: inside a container nobody could reach it.
          grpc: { endpoint: `0.0.0.0:${portOf(collector, "otlpGrpc").containerPort}`, tls: serverTls("otlpGrpc") },
          http: { endpoint: `0.0.0.0:${portOf(collector, "otlpHttp").containerPort}`, tls: serverTls("otlpHttp") },
        },
      },
    },
    processors: {
      // First in the pipeline, so an overloaded collector refuses data instead of being OOM-killed.
      memory_limiter: { check_interval: "1s", limit_mib: 400, spike_limit_mib: 100 },
      batch: { send_batch_size: 512, timeout: "1s" },
    },
    exporters: {
      [TEMPO_EXPORTER_ID]: {
        endpoint: balanced ? `dns:///${toTempo.dialHost}:${toTempo.dialPort}` : `${toTempo.dialHost}:${toTempo.dialPort}`,
        ...(balanced ? { balancer_name: "round_robin" } : {}),
        tls: exporterTls(toTempo),
        // The exporter gzips by default. Collector and Tempo share one Docker network on one host,
        // where bytes cost nothing and gzip costs CPU at both ends (bench before/after in issue 10).
        compression: "none",
        // Queue and retry carry spans across a Tempo restart instead of dropping them. The queue
        // lives in file_storage on a named volume, so a collector restarted (or replaced) while
        // Tempo is down resends what it had accepted instead of losing it.
        sending_queue: { enabled: true, num_consumers: 4, queue_size: 10000, storage: QUEUE_STORAGE_ID },
        retry_on_failure: { enabled: true, initial_interval: "1s", max_interval: "10s", max_elapsed_time: "10m" },
      },
    },
    extensions: {
      [QUEUE_STORAGE_ID]: {
        directory: CONTAINER_PATHS.collector.queueDir,
        // Reclaims the space of sent batches when the collector starts and once the queue drains.
        compaction: { on_start: true, on_rebound: true, directory: CONTAINER_PATHS.collector.queueDir },
      },
      health_check: { endpoint: `0.0.0.0:${portOf(collector, "healthCheck").containerPort}`, tls: serverTls("healthCheck") },
    },
    service: {
      extensions: ["health_check", QUEUE_STORAGE_ID],
      pipelines: {
        traces: {
          receivers: ["otlp"],
          processors: ["memory_limiter", "batch"],
          exporters: [TEMPO_EXPORTER_ID],
        },
      },
      telemetry: {
        logs: { level: "info" },
        // The collector's own counters (accepted, refused, sent, failed spans; queue size) for the
        // benchmark and for diagnosis. The pull reader has no TLS setting, so it listens on the
        // container's loopback only: nothing outside the container's network namespace reaches it.
        metrics: { level: "normal", readers: [{ pull: { exporter: { prometheus: { host: LOOPBACK_ADDRESS, port: CONTAINER_PORTS.collectorTelemetry } } } }] },
      },
    },
  };
  return renderConfigYaml(model.config.stackName, document);
}

export interface CollectorComponentTypes {
  receivers: string[];
  processors: string[];
  exporters: string[];
  extensions: string[];
}

/**
 * Component types a rendered config uses (`otlp_grpc/tempo` -> `otlp_grpc`). The builder
 * manifest for the end-to-end collector is made from this, so the binary has exactly what the
 * config needs.
 */
export function collectorComponentTypes(renderedConfig: string): CollectorComponentTypes {
  const doc = parse(renderedConfig) as Record<string, Record<string, unknown> | undefined>;
  const typesOf = (section: string): string[] => [
    ...new Set(Object.keys(doc[section] ?? {}).map((id) => id.split("/")[0] ?? id)),
  ].sort();
  return {
    receivers: typesOf("receivers"),
    processors: typesOf("processors"),
    exporters: typesOf("exporters"),
    extensions: typesOf("extensions"),
  };
}
