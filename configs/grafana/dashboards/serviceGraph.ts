import { PanelBuilder as NodeGraphPanel } from "@grafana/grafana-foundation-sdk/nodegraph";
import { TempoQueryBuilder } from "@grafana/grafana-foundation-sdk/tempo";
import type { StackTopology } from "../../../model/types";
import { prometheusPanel, RATE_WINDOW, stackDashboard, tempoDatasource, type PromPanel } from "./panels";

export const SERVICE_GRAPH_DASHBOARD_UID_PREFIX = "tracing-graph";

const edgeRequests = `sum by (client, server) (rate(traces_service_graph_request_total[${RATE_WINDOW}]))`;

/** The failed-requests series exists only after a first failure; `* 0` keeps healthy edges at 0. */
const EDGE_PANELS: readonly PromPanel[] = [
  {
    title: "Requests per edge",
    description: "Requests from client to server per second (traces_service_graph_request_total). 'user' is the virtual client of requests that entered the stack from outside.",
    queries: [{ expr: edgeRequests, legend: "{{client}} → {{server}}" }],
    unit: "reqps",
    width: 8,
  },
  {
    title: "Failed requests per edge",
    description: "Requests per second where the client or the server span had status ERROR (traces_service_graph_request_failed_total).",
    queries: [{ expr: `sum by (client, server) (rate(traces_service_graph_request_failed_total[${RATE_WINDOW}])) or ${edgeRequests} * 0`, legend: "{{client}} → {{server}}" }],
    unit: "reqps",
    width: 8,
  },
  {
    title: "Server latency per edge (p95)",
    description: "95th percentile of the server side of each edge (traces_service_graph_request_server_seconds).",
    queries: [
      {
        expr: `histogram_quantile(0.95, sum by (le, client, server) (rate(traces_service_graph_request_server_seconds_bucket[${RATE_WINDOW}])))`,
        legend: "{{client}} → {{server}}",
      },
    ],
    unit: "s",
    width: 8,
  },
];

/**
 * The service graph: Grafana's node graph of the Tempo datasource's service map (which reads the
 * service-graph metrics from Prometheus through `serviceMap.datasourceUid`), and each edge's rates.
 */
export function serviceGraphDashboard(model: StackTopology): Record<string, unknown> {
  const builder = stackDashboard("Service graph", SERVICE_GRAPH_DASHBOARD_UID_PREFIX, model);
  builder.withPanel(
    new NodeGraphPanel()
      .title("Service graph")
      .description("Services as nodes, calls as edges, from Tempo's service-graphs processor. Click a node for its RED figures and traces.")
      .datasource(tempoDatasource)
      .withTarget(new TempoQueryBuilder().queryType("serviceMap").refId("A"))
      .height(14)
      .span(24),
  );
  for (const panel of EDGE_PANELS) builder.withPanel(prometheusPanel(panel));
  return builder.build() as unknown as Record<string, unknown>;
}
