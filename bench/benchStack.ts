/**
 * The benchmark's stack: the e2e suite's (dev's settings, the program's pinned images) under its own name
 * and host ports, in three variants measured in one run:
 * - `tls`: as the program deploys it (monolithic Tempo, collector -> Tempo over mutual TLS);
 * - `plaintext`: its one deliberate alteration, the collector -> Tempo link in plaintext, to measure
 *   what TLS costs on that hop. The model never builds that link; the variant replaces the two
 *   rendered configs it touches, as the e2e suite's broken variants do;
 * - `microservices`: Tempo in microservices mode with Pulumi.distributed.yaml's Tempo settings
 *   (distributors, ingesters with replication, object store), as the program deploys it: no alteration.
 */
import { parse, stringify } from "yaml";
import { renderCollectorConfig, TEMPO_EXPORTER_ID } from "../configs/collector/collectorConfig";
import { renderTempoConfig } from "../configs/tempo/tempoConfig";
import type { InputAlteration } from "../e2e/deploy/realValueMocks";
import { renderPrometheusConfig } from "../configs/prometheus/prometheusConfig";
import { e2eSettings, stackFileSettings, type Settings } from "../e2e/support/e2eStack";
import { alterations, replaceUpload } from "../e2e/support/stackRuns";
import { CONTAINER_PATHS } from "../model/constants";
import type { StackTopology } from "../model";

export const BENCH_STACK = "bench";
const BENCH_HOST_PORTS = { grafana: 25000, tempoApi: 25200, app: 25010, collectorOtlpGrpc: 25317, collectorOtlpHttp: 25318, prometheus: 25090 };

export type CollectorToTempo = "tls" | "plaintext";
export type BenchVariant = CollectorToTempo | "microservices";
/** The order a full run measures them in. */
export const BENCH_VARIANTS: readonly BenchVariant[] = ["tls", "plaintext", "microservices"];

/** The monolithic stack's settings; for `microservices` the same plus Pulumi.distributed.yaml's `tempo` settings. */
export function benchSettings(variant: BenchVariant = "tls"): Settings {
  const monolithic: Settings = { ...e2eSettings({ traces: 5, deadlineSeconds: 120 }), hostPorts: BENCH_HOST_PORTS };
  if (variant !== "microservices") return monolithic;
  const distributed = stackFileSettings("distributed").tempo as Settings;
  return { ...monolithic, tempo: { ...(monolithic.tempo as Settings | undefined), ...distributed, mode: "microservices" } };
}

/** The variant's link from the collector to Tempo (microservices: to its distributors, over mutual TLS). */
export function collectorToTempoOf(variant: BenchVariant): CollectorToTempo {
  return variant === "plaintext" ? "plaintext" : "tls";
}

/** How often the stack's Prometheus scrapes Tempo's containers, from the config the program renders for it. */
export function scrapeIntervalSeconds(topology: StackTopology): number {
  const rendered = parse(renderPrometheusConfig(topology)) as { global?: { scrape_interval?: string } };
  const match = /^(\d+)s$/.exec(rendered.global?.scrape_interval ?? "");
  if (!match) throw new Error(`the rendered Prometheus config has no scrape interval in seconds (${rendered.global?.scrape_interval})`);
  return Number(match[1]);
}

/** Tempo's OTLP/gRPC receiver without TLS and the collector's exporter dialling it in plaintext. */
export function plaintextCollectorToTempo(topology: StackTopology): StackTopology {
  const tempo = topology.services.tempo;
  return {
    ...topology,
    services: {
      ...topology.services,
      tempo: { ...tempo, ports: tempo.ports.map((p) => (p.name === "otlpGrpc" ? { ...p, tls: "plaintext", clientAuth: "none" } : p)) },
    },
    links: topology.links.map((l) => (l.id === "collector-to-tempo" ? { ...l, tls: "plaintext", clientAuth: "none", clientCertificate: undefined } : l)),
  };
}

export function variantAlteration(topology: StackTopology, variant: BenchVariant): InputAlteration | undefined {
  if (variant !== "plaintext") return undefined;
  const plain = plaintextCollectorToTempo(topology);
  return alterations(
    replaceUpload("tempo", CONTAINER_PATHS.tempo.configFile, renderTempoConfig(plain)),
    replaceUpload("collector", CONTAINER_PATHS.collector.configFile, plaintextExporter(renderCollectorConfig(topology))),
  );
}

/**
 * The stack's collector config with its Tempo exporter switched to plaintext. The renderer refuses a
 * plaintext link (the stack never has one), so the bench edits the rendered config, for itself only.
 */
function plaintextExporter(collectorConfig: string): string {
  const doc = parse(collectorConfig) as { exporters: Record<string, Record<string, unknown>> };
  doc.exporters[TEMPO_EXPORTER_ID]!.tls = { insecure: true };
  return stringify(doc);
}
