import { PanelBuilder as TablePanel } from "@grafana/grafana-foundation-sdk/table";
import { TempoQueryBuilder } from "@grafana/grafana-foundation-sdk/tempo";
import type { StackTopology } from "../../../model/types";
import { prometheusPanel, quoted, RATE_WINDOW, stackDashboard, tempoDatasource, type PromPanel } from "./panels";

export const INGESTION_DASHBOARD_UID_PREFIX = "tracing-ingestion";

/**
 * One panel per step of Tempo's own troubleshooting order: received by the distributor, refused,
 * appended to the ingester (or failing: the seeds' internal-TLS fault), traces created, discarded,
 * then the metrics-generator and its remote write. Tempo creates some counters only at their first
 * event (append failures, discards): `or vector(0)` makes a healthy stack show 0, not "No data".
 */
const INGESTION_PANELS: readonly PromPanel[] = [
  {
    title: "Spans received by the distributor",
    queries: [{ expr: `sum(rate(tempo_distributor_spans_received_total[${RATE_WINDOW}]))`, legend: "spans/s" }],
    description: "Zero while the app sends traffic: the collector-to-Tempo link (endpoint, port 4317, TLS) is broken.",
  },
  {
    title: "Spans refused by the receiver",
    queries: [{ expr: `sum by (receiver, transport) (rate(tempo_receiver_refused_spans[${RATE_WINDOW}])) or vector(0)`, legend: "{{receiver}} {{transport}}" }],
    description: "Non-zero: Tempo received spans but could not hand them to the ingester.",
  },
  {
    title: "Ingester append failures",
    queries: [{ expr: `sum(rate(tempo_distributor_ingester_append_failures_total[${RATE_WINDOW}])) or vector(0)`, legend: "failures/s" }],
    description: "Non-zero: the distributor cannot reach the ingester over internal gRPC (TLS on one side only?). Tempo creates this counter at the first failure; 0 until then.",
  },
  {
    title: "Traces created by the ingester",
    queries: [{ expr: `sum(rate(tempo_ingester_traces_created_total[${RATE_WINDOW}]))`, legend: "traces/s" }],
    description: "The proof of storage. Rises a few seconds after traffic, once idle traces are swept.",
  },
  {
    title: "Discarded spans by reason",
    queries: [{ expr: `sum by (reason) (rate(tempo_discarded_spans_total[${RATE_WINDOW}])) or vector(0)`, legend: "{{reason}}" }],
    description: "Spans dropped by limits (overrides); the reason label says which. Tempo creates this counter at the first discard; 0 until then.",
  },
  {
    title: "Live traces in the ingester",
    queries: [{ expr: "sum(tempo_ingester_live_traces)", legend: "live traces" }],
    description: "Traces held in memory waiting for the idle period.",
  },
  {
    title: "Spans received by the metrics-generator",
    queries: [{ expr: `sum(rate(tempo_metrics_generator_spans_received_total[${RATE_WINDOW}]))`, legend: "spans/s" }],
    description: "Zero while spans reach the distributor: the span-metrics / service-graphs processors are not enabled (overrides.defaults.metrics_generator.processors).",
  },
  {
    title: "Remote write to Prometheus",
    queries: [
      { expr: `sum(rate(prometheus_remote_storage_samples_total[${RATE_WINDOW}]))`, legend: "samples sent/s" },
      { expr: `sum(rate(prometheus_remote_storage_samples_retried_total[${RATE_WINDOW}]))`, legend: "samples retried/s" },
      { expr: `sum(rate(prometheus_remote_storage_samples_failed_total[${RATE_WINDOW}]))`, legend: "samples failed/s" },
    ],
    description: "The generator's samples on their way to Prometheus. Retries or failures: check remote_write's tls_config (stack CA, server name) and Prometheus' remote-write receiver.",
  },
];

/** Grafana dashboard JSON for the ingestion health of one stack, built with Grafana's own SDK. */
export function ingestionHealthDashboard(model: StackTopology): Record<string, unknown> {
  const builder = stackDashboard("Tracing ingestion health", INGESTION_DASHBOARD_UID_PREFIX, model);
  for (const panel of INGESTION_PANELS) builder.withPanel(prometheusPanel(panel));
  builder.withPanel(
    new TablePanel()
      .title(`Recent traces of ${model.config.appServiceName}`)
      .description("Trace search in Tempo; open a row to see the spans.")
      .datasource(tempoDatasource)
      .withTarget(
        new TempoQueryBuilder()
          .queryType("traceql")
          .query(`{ resource.service.name = ${quoted(model.config.appServiceName)} }`)
          .limit(20)
          .refId("A"),
      )
      .height(10)
      .span(24),
  );
  return builder.build() as unknown as Record<string, unknown>;
}
