import { DashboardLinkBuilder, DashboardLinkType } from "@grafana/grafana-foundation-sdk/dashboard";
import type { StackTopology } from "../../../model/types";
import { dashboardUid, prometheusPanel, RATE_WINDOW, stackDashboard, type PromPanel } from "./panels";
import { TRACE_SEARCH_DASHBOARD_UID_PREFIX } from "./traceSearch";

export const RED_DASHBOARD_UID_PREFIX = "tracing-red";

/** Span metrics of server spans: one request each, as a caller sees it. */
const SERVER = `span_kind="SPAN_KIND_SERVER"`;
const ERROR = `status_code="STATUS_CODE_ERROR"`;
const QUANTILES = [0.5, 0.95, 0.99] as const;

/** Request rate, grouped by the given labels. */
function requests(by: string, matchers: string): string {
  return `sum by (${by}) (rate(traces_spanmetrics_calls_total{${matchers}}[${RATE_WINDOW}]))`;
}

/**
 * Share of failed requests. The error series exists only after a first failure, so a service
 * without failures gets `requests * 0`: it shows 0 %, not "No data".
 */
function errorRatio(by: string, matchers: string): string {
  const all = requests(by, matchers);
  return `(${requests(by, `${matchers}, ${ERROR}`)} or ${all} * 0) / ${all}`;
}

function latencyQuantile(q: number, by: string, matchers: string): string {
  return `histogram_quantile(${q}, sum by (le, ${by}) (rate(traces_spanmetrics_latency_bucket{${matchers}}[${RATE_WINDOW}])))`;
}

function redPanels(by: string, what: string, legend: string, matchers: string): PromPanel[] {
  return [
    {
      title: `Request rate by ${what}`,
      description: `Server spans per second from Tempo's span metrics (traces_spanmetrics_calls_total), by ${what}.`,
      queries: [{ expr: requests(by, matchers), legend }],
      unit: "reqps",
      width: 8,
    },
    {
      title: `Error rate by ${what}`,
      description: "Share of server spans with status ERROR (the app's ?fail=1 requests are errors on purpose).",
      queries: [{ expr: errorRatio(by, matchers), legend }],
      unit: "percentunit",
      width: 8,
    },
    {
      title: `Latency by ${what} (p50, p95, p99)`,
      description: "Quantiles of the span-duration histogram (traces_spanmetrics_latency_bucket). The dots are exemplars: click one to open the trace behind it.",
      queries: QUANTILES.map((q) => ({ expr: latencyQuantile(q, by, matchers), legend: `p${Math.round(q * 100)} ${legend}`, exemplars: true })),
      unit: "s",
      width: 8,
    },
  ];
}

/**
 * Rate, errors and duration of every service of the stack, from the span metrics Tempo's
 * metrics-generator writes to Prometheus. Each series links to the trace search for its service.
 */
export function serviceRedDashboard(model: StackTopology): Record<string, unknown> {
  const builder = stackDashboard("Service RED", RED_DASHBOARD_UID_PREFIX, model);
  const traceSearch = dashboardUid(TRACE_SEARCH_DASHBOARD_UID_PREFIX, model);
  const tracesOf = new DashboardLinkBuilder("Traces of ${__field.labels.service}")
    .type(DashboardLinkType.Link)
    .url(`/d/${traceSearch}?var-service=\${__field.labels.service}&\${__url_time_range}`);
  const panels = [
    ...redPanels("service", "service", "{{service}}", SERVER),
    ...redPanels("service, span_name", "operation", "{{service}} {{span_name}}", SERVER),
  ];
  for (const panel of panels) builder.withPanel(prometheusPanel(panel).dataLinks([tracesOf]));
  return builder.build() as unknown as Record<string, unknown>;
}
