import { DashboardBuilder, DashboardCursorSync } from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder as PrometheusQuery } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as TablePanel } from "@grafana/grafana-foundation-sdk/table";
import { TempoQueryBuilder } from "@grafana/grafana-foundation-sdk/tempo";
import { PanelBuilder as TimeseriesPanel } from "@grafana/grafana-foundation-sdk/timeseries";
import type { StackTopology } from "../../../model/types";
import { DATASOURCE_UIDS } from "../datasources";

export const INGESTION_DASHBOARD_UID_PREFIX = "tracing-ingestion";

const prometheus = { type: "prometheus", uid: DATASOURCE_UIDS.prometheus };
const tempo = { type: "tempo", uid: DATASOURCE_UIDS.tempo };

/**
 * One panel per step of Tempo's own troubleshooting order: received by the distributor, refused,
 * appended to the ingester (or failing: the seeds' internal-TLS fault), traces created, discarded.
 */
const INGESTION_PANELS: ReadonlyArray<{ title: string; expr: string; legend: string; description: string }> = [
  {
    title: "Spans received by the distributor",
    expr: "sum(rate(tempo_distributor_spans_received_total[1m]))",
    legend: "spans/s",
    description: "Zero while the app sends traffic: the collector-to-Tempo link (endpoint, port 4317, TLS) is broken.",
  },
  {
    title: "Spans refused by the receiver",
    expr: "sum by (receiver, transport) (rate(tempo_receiver_refused_spans[1m]))",
    legend: "{{receiver}} {{transport}}",
    description: "Non-zero: Tempo received spans but could not hand them to the ingester.",
  },
  {
    title: "Ingester append failures",
    expr: "sum by (ingester) (rate(tempo_distributor_ingester_append_failures_total[1m]))",
    legend: "{{ingester}}",
    description: "Non-zero: the distributor cannot reach the ingester over internal gRPC (TLS on one side only?).",
  },
  {
    title: "Traces created by the ingester",
    expr: "sum(rate(tempo_ingester_traces_created_total[1m]))",
    legend: "traces/s",
    description: "The proof of storage. Rises a few seconds after traffic, once idle traces are swept.",
  },
  {
    title: "Discarded spans by reason",
    expr: "sum by (reason) (rate(tempo_discarded_spans_total[1m]))",
    legend: "{{reason}}",
    description: "Spans dropped by limits (overrides); the reason label says which.",
  },
  {
    title: "Live traces in the ingester",
    expr: "sum(tempo_ingester_live_traces)",
    legend: "live traces",
    description: "Traces held in memory waiting for the idle period.",
  },
];

/** Grafana dashboard JSON for the ingestion health of one stack, built with Grafana's own SDK. */
export function ingestionHealthDashboard(model: StackTopology): Record<string, unknown> {
  const builder = new DashboardBuilder(`Tracing ingestion health (${model.config.stackName})`)
    .uid(`${INGESTION_DASHBOARD_UID_PREFIX}-${model.config.stackName}`.slice(0, 40))
    .tags(["tracing-stack", model.config.stackName])
    .refresh("10s")
    .time({ from: "now-30m", to: "now" })
    .tooltip(DashboardCursorSync.Crosshair);

  for (const panel of INGESTION_PANELS) {
    builder.withPanel(
      new TimeseriesPanel()
        .title(panel.title)
        .description(panel.description)
        .datasource(prometheus)
        .withTarget(new PrometheusQuery().expr(panel.expr).legendFormat(panel.legend).refId("A"))
        .height(8)
        .span(12),
    );
  }
  builder.withPanel(
    new TablePanel()
      .title(`Recent traces of ${model.config.appServiceName}`)
      .description("Trace search in Tempo; open a row to see the spans.")
      .datasource(tempo)
      .withTarget(
        new TempoQueryBuilder()
          .queryType("traceql")
          .query(`{ resource.service.name = "${model.config.appServiceName}" }`)
          .limit(20)
          .refId("A"),
      )
      .height(10)
      .span(24),
  );
  return builder.build() as unknown as Record<string, unknown>;
}
