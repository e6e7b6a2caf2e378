/**
 * What Grafana would query for the dashboards the program registers, run against the real
 * Prometheus and Tempo of a deployed stack. Grafana itself cannot run here (no image offline), so
 * this reads the dashboards' JSON as registered (`grafana:oss/dashboard:Dashboard` inputs), expands
 * their variables as Grafana does, and sends each query where Grafana's datasource would:
 *   - Prometheus time series targets: `/api/v1/query_range` over the dashboard's time range;
 *   - Tempo TraceQL targets: `/api/search?q=...`, then one hit fetched by id (opening a row);
 *   - Tempo `serviceMap` targets: the PromQL Grafana's Tempo datasource builds for the node graph
 *     (grafana/grafana public/app/plugins/datasource/tempo/datasource.ts, serviceMapQuery and
 *     rateQuery/makePromServiceMapRequest), as instant queries, `$__range` in whole seconds;
 *   - exemplars of panels with `exemplar: true`: `/api/v1/query_exemplars`, each trace id fetched from Tempo.
 * A query "returns data" when at least one series has a finite value: what a panel needs to draw.
 */
import { get, waitFor, type ClientTls } from "./https";

type Doc = Record<string, unknown>;

export type DashboardQuery =
  | { kind: "promql"; dashboard: string; panel: string; expr: string; exemplar: boolean }
  | { kind: "traceql"; dashboard: string; panel: string; query: string }
  | { kind: "serviceMap"; dashboard: string; panel: string; expr: string };

export interface QueryAnswer {
  query: DashboardQuery;
  /** Series (PromQL) or traces (TraceQL) with data. */
  found: number;
  problem?: string;
  /** Trace ids behind the answer: TraceQL hits or exemplars. */
  traceIds: string[];
}

/** Grafana's service map (node graph) metrics, in the order its datasource queries them. */
const SERVICE_MAP_METRICS = [
  "traces_service_graph_request_server_seconds_sum",
  "traces_service_graph_request_total",
  "traces_service_graph_request_failed_total",
  "traces_service_graph_request_server_seconds_bucket",
] as const;

/** The PromQL Grafana's Tempo datasource runs for a `serviceMap` target without a filter. */
export function grafanaServiceMapQueries(rangeSeconds: number): string[] {
  const range = `${Math.round(rangeSeconds)}s`;
  return SERVICE_MAP_METRICS.flatMap((metric) => [
    `sum by (client, server) (rate(${metric}[${range}]))`,
    `group by (client, connection_type, server) (${metric})`,
  ]);
}

/** Every value of every custom variable: Grafana lets the user pick each one. */
function variableValues(dashboard: Doc): Map<string, string[]> {
  const values = new Map<string, string[]>();
  const list = ((dashboard.templating as Doc | undefined)?.list as Doc[] | undefined) ?? [];
  for (const variable of list) {
    if (variable.type !== "custom") throw new Error(`dashboard ${String(dashboard.title)}: variable ${String(variable.name)} of type ${String(variable.type)} is not expanded by the suite`);
    values.set(String(variable.name), String(variable.query).split(",").map((v) => v.trim()).filter(Boolean));
  }
  return values;
}

/** Every assignment of values to the variables a panel uses: Grafana lets the user pick each one. */
function assignments(texts: string[], variables: Map<string, string[]>): Array<Map<string, string>> {
  let result: Array<Map<string, string>> = [new Map()];
  for (const [name, values] of variables) {
    if (!texts.some((t) => new RegExp(`\\$\\{${name}\\}|\\$${name}\\b`).test(t))) continue;
    result = result.flatMap((a) => values.map((v) => new Map([...a, [name, v]])));
  }
  return result;
}

/** `$name` and `${name}` replaced by the assigned values. */
function substitute(text: string, assignment: Map<string, string>): string {
  let out = text;
  for (const [name, value] of assignment) out = out.replace(new RegExp(`\\$\\{${name}\\}|\\$${name}\\b`, "g"), value);
  return out;
}

function panelsOf(dashboard: Doc): Doc[] {
  return ((dashboard.panels as Doc[] | undefined) ?? []).flatMap((p) => (p.type === "row" ? ((p.panels as Doc[] | undefined) ?? []) : [p]));
}

/** Every query Grafana would run for a dashboard, with variables expanded. */
export function dashboardQueries(dashboard: Doc, rangeSeconds: number): DashboardQuery[] {
  const title = String(dashboard.title);
  const variables = variableValues(dashboard);
  const queries: DashboardQuery[] = [];
  for (const panel of panelsOf(dashboard)) {
    const panelDatasource = panel.datasource as Doc | undefined;
    for (const target of (panel.targets as Doc[] | undefined) ?? []) {
      const type = String(((target.datasource as Doc | undefined) ?? panelDatasource)?.type);
      const text = String(target.expr ?? target.query ?? "");
      for (const assignment of assignments([String(panel.title), text], variables)) {
        const panelTitle = substitute(String(panel.title), assignment);
        if (type === "prometheus") {
          queries.push({ kind: "promql", dashboard: title, panel: panelTitle, expr: substitute(text, assignment), exemplar: target.exemplar === true });
        } else if (type === "tempo" && target.queryType === "traceql") {
          queries.push({ kind: "traceql", dashboard: title, panel: panelTitle, query: substitute(text, assignment) });
        } else if (type === "tempo" && target.queryType === "serviceMap") {
          for (const expr of grafanaServiceMapQueries(rangeSeconds)) queries.push({ kind: "serviceMap", dashboard: title, panel: panelTitle, expr });
        } else {
          throw new Error(`dashboard ${title}, panel ${String(panel.title)}: a ${type} target of query type ${String(target.queryType)} is not checked by the suite`);
        }
      }
    }
  }
  return queries;
}

interface PromSeries {
  values?: Array<[number, string]>;
  value?: [number, string];
}

async function promJson(url: string, client: ClientTls): Promise<Doc> {
  const reply = await get(url, client, 20_000);
  const body = JSON.parse(reply.body) as Doc;
  if (reply.status !== 200 || body.status !== "success") throw new Error(`HTTP ${reply.status}: ${reply.body.slice(0, 300)}`);
  return body.data as Doc;
}

const finite = (v: string): boolean => Number.isFinite(Number(v));

export interface QueryTargets {
  prometheusUrl: string;
  tempoUrl: string;
  client: ClientTls;
  /** Unix seconds: the dashboard's time range as Grafana would send it. */
  start: number;
  end: number;
}

async function answerPromql(q: DashboardQuery & { kind: "promql" | "serviceMap" }, t: QueryTargets): Promise<QueryAnswer> {
  const params = new URLSearchParams({ query: q.expr });
  let series: PromSeries[];
  if (q.kind === "serviceMap") {
    params.set("time", String(t.end));
    series = ((await promJson(`${t.prometheusUrl}/api/v1/query?${params}`, t.client)).result as PromSeries[]) ?? [];
  } else {
    params.set("start", String(t.start));
    params.set("end", String(t.end));
    params.set("step", "10");
    series = ((await promJson(`${t.prometheusUrl}/api/v1/query_range?${params}`, t.client)).result as PromSeries[]) ?? [];
  }
  const withData = series.filter((s) => (s.values ?? (s.value ? [s.value] : [])).some(([, v]) => finite(v)));
  const traceIds: string[] = [];
  if (q.kind === "promql" && q.exemplar) {
    const ex = new URLSearchParams({ query: q.expr, start: String(t.start), end: String(t.end) });
    const data = (await promJson(`${t.prometheusUrl}/api/v1/query_exemplars?${ex}`, t.client)) as unknown as Array<{ exemplars: Array<{ labels: Record<string, string> }> }>;
    for (const group of data ?? []) for (const e of group.exemplars) if (e.labels.traceID) traceIds.push(e.labels.traceID);
  }
  const problem = withData.length === 0 ? `no series with a value (${series.length} series, all empty or NaN)` : q.kind === "promql" && q.exemplar && traceIds.length === 0 ? "no exemplars: the panel has no link to a trace" : undefined;
  return { query: q, found: withData.length, traceIds, problem };
}

async function answerTraceql(q: DashboardQuery & { kind: "traceql" }, t: QueryTargets): Promise<QueryAnswer> {
  const params = new URLSearchParams({ q: q.query, limit: "20", start: String(Math.floor(t.start)), end: String(Math.ceil(t.end)) });
  const reply = await get(`${t.tempoUrl}/api/search?${params}`, t.client, 20_000);
  if (reply.status !== 200) return { query: q, found: 0, traceIds: [], problem: `Tempo answered HTTP ${reply.status}: ${reply.body.slice(0, 300)}` };
  const traces = ((JSON.parse(reply.body) as Doc).traces as Array<{ traceID: string }> | undefined) ?? [];
  return { query: q, found: traces.length, traceIds: traces.map((tr) => tr.traceID), problem: traces.length === 0 ? "no traces found" : undefined };
}

export async function answer(q: DashboardQuery, targets: QueryTargets): Promise<QueryAnswer> {
  try {
    return q.kind === "traceql" ? await answerTraceql(q, targets) : await answerPromql(q, targets);
  } catch (error) {
    return { query: q, found: 0, traceIds: [], problem: `query failed: ${(error as Error).message}` };
  }
}

/** Whether Tempo returns a trace by id, as Grafana's trace view fetches it (`/api/traces/<id>` or v2). */
export async function traceResolves(tempoUrl: string, client: ClientTls, traceId: string): Promise<boolean> {
  const id = traceId.padStart(32, "0");
  const reply = await get(`${tempoUrl}/api/v2/traces/${id}`, client, 20_000).catch(() => undefined);
  return reply?.status === 200;
}

export function describeQuery(q: DashboardQuery): string {
  return `${q.dashboard} / ${q.panel}: ${q.kind === "traceql" ? q.query : q.expr}`;
}

/** A dashboard as the program registers it (`grafana:oss/dashboard:Dashboard` inputs). */
export function registeredDashboards(registrations: ReadonlyArray<{ type: string; inputs: Record<string, unknown> }>): Doc[] {
  return registrations.filter((r) => r.type === "grafana:oss/dashboard:Dashboard").map((r) => JSON.parse(String(r.inputs.configJson)) as Doc);
}

export interface DashboardCheck {
  queries: DashboardQuery[];
  answers: QueryAnswer[];
  /** Panels that would show "No data", as `dashboard / panel: query -> why`. */
  noData: string[];
  /** Trace ids behind TraceQL hits and exemplars that Tempo does not return. */
  unresolvedTraceIds: string[];
  traceIdsOpened: number;
  secondsToEveryPanelWithData?: number;
}

/**
 * Every query of every registered dashboard over the dashboards' default range (now-30m), polled
 * while `traffic` runs until all return data (or `timeoutMs`), then every trace id behind a TraceQL
 * hit or an exemplar opened in Tempo, as a user clicking through would. Throws when a panel with
 * targets has no query checked: a panel the suite cannot read would otherwise pass unseen.
 */
export async function checkDashboards(
  dashboards: Doc[],
  targets: Omit<QueryTargets, "start" | "end">,
  traffic: { stop: () => Promise<unknown> },
  timeoutMs: number,
): Promise<DashboardCheck> {
  const end = Date.now() / 1000;
  const start = end - 30 * 60;
  const queries = dashboards.flatMap((d) => dashboardQueries(d, end - start));
  for (const d of dashboards) {
    const panels = (d.panels as Array<{ title: string; targets?: unknown[] }>).filter((p) => (p.targets ?? []).length > 0);
    for (const p of panels) {
      if (!queries.some((q) => q.dashboard === d.title && q.panel.startsWith(p.title.replace(/\$service.*/, "")))) throw new Error(`no query checked for ${String(d.title)} / ${p.title}`);
    }
  }
  const started = Date.now();
  let answers: QueryAnswer[] = [];
  let secondsToEveryPanelWithData: number | undefined;
  try {
    await waitFor(async () => {
      answers = await Promise.all(queries.map((q) => answer(q, { ...targets, start, end: Date.now() / 1000 })));
      if (answers.some((a) => a.problem)) return undefined;
      secondsToEveryPanelWithData = (Date.now() - started) / 1000;
      return true;
    }, timeoutMs, 5000);
  } finally {
    await traffic.stop();
  }
  const noData = answers.filter((a) => a.problem).map((a) => `${describeQuery(a.query)} -> ${a.problem}`);
  const traceIds = [...new Set(answers.flatMap((a) => a.traceIds))].slice(0, 25);
  const unresolvedTraceIds: string[] = [];
  for (const id of traceIds) if (!(await traceResolves(targets.tempoUrl, targets.client, id))) unresolvedTraceIds.push(id);
  return { queries, answers, noData, unresolvedTraceIds, traceIdsOpened: traceIds.length, ...(secondsToEveryPanelWithData !== undefined ? { secondsToEveryPanelWithData } : {}) };
}
