/**
 * The Prometheus side of the fake stack: a handful of series (taken from the real Prometheus answers
 * in fixtures/recorded/prometheus-*.json) and an evaluator for the only query shapes the verifier
 * sends, with PromQL's string-literal escapes:
 *
 *   sum(NAME{label="value",...})         -> [] when no series matches, else one sample without labels
 *   sum by (l1, l2) (NAME{...})          -> one sample per group
 *
 * Anything else is answered HTTP 400 bad_data, as Prometheus does for a query it cannot parse, so a
 * wrongly escaped label value fails the test instead of matching by accident.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PromSeries {
  /** labels including __name__ */
  metric: Record<string, string>;
  value: number;
}

export interface PromAnswer {
  status: number;
  body: unknown;
}

interface RecordedAnswer {
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

/** Series from a recorded /api/v1/query answer of a plain selector. */
export function recordedSeries(name: string): PromSeries[] {
  const doc = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', name), 'utf8')) as RecordedAnswer;
  return doc.data.result.map((r) => ({ metric: { ...r.metric }, value: Number(r.value[1]) }));
}

/** The real Prometheus of the stack: span metrics of the app and the backend (health checks only), edges from "user" only. */
export const RECORDED_SPAN_METRICS = 'recorded/prometheus-spanmetrics-calls.json';
export const RECORDED_SERVICE_GRAPH = 'recorded/prometheus-service-graph-request-total.json';

export const APP = 'tracing-stack-app';
export const BACKEND = 'tracing-stack-app-backend';

/** A recorded series with other labels / value: the shape (external labels, __metrics_gen_instance) stays real. */
export function variant(base: PromSeries, labels: Record<string, string | undefined>, value: number, name?: string): PromSeries {
  const metric = { ...base.metric };
  for (const [k, v] of Object.entries(labels)) {
    if (v === undefined) delete metric[k];
    else metric[k] = v;
  }
  if (name) metric['__name__'] = name;
  return { metric, value };
}

function first(series: PromSeries[], match: (s: PromSeries) => boolean, what: string): PromSeries {
  const found = series.find(match);
  if (!found) throw new Error(`fakePrometheus: no recorded series for ${what}`);
  return found;
}

/** The recorded state as is: both services have span metrics, the graph has user -> app and user -> backend only. */
export function recordedState(): PromSeries[] {
  return [...recordedSeries(RECORDED_SPAN_METRICS), ...recordedSeries(RECORDED_SERVICE_GRAPH)];
}

/** Only the app has span metrics (the backend exports nothing): the recorded state without the backend. */
export function appOnlyState(): PromSeries[] {
  return recordedState().filter((s) => s.metric['service'] !== BACKEND && s.metric['server'] !== BACKEND);
}

/**
 * Healthy: the recorded state plus what the app calling its backend adds — the backend's
 * GET /api/work server spans and the edge client -> server (with failures, from the fail=1 requests).
 */
export function healthyState(opts: { client?: string; server?: string; requests?: number; failed?: number } = {}): PromSeries[] {
  const client = opts.client ?? APP;
  const server = opts.server ?? BACKEND;
  const recorded = recordedState();
  const backendSpan = first(recorded, (s) => s.metric['service'] === BACKEND, 'the backend span metrics');
  const appSpan = first(recorded, (s) => s.metric['service'] === APP && s.metric['span_name'] === 'GET /api/work', 'the app span metrics');
  const userEdge = first(recorded, (s) => s.metric['server'] === BACKEND, 'an edge to the backend');
  const out = [...recorded];
  out.push(
    variant(appSpan, { service: client }, 10),
    variant(backendSpan, { service: server, span_name: 'GET /api/work' }, 10),
    // A real edge between two instrumented services has no connection_type.
    variant(userEdge, { client, server, connection_type: undefined }, opts.requests ?? 10),
  );
  if ((opts.failed ?? 2) > 0) {
    out.push(variant(userEdge, { client, server, connection_type: undefined }, opts.failed ?? 2, 'traces_service_graph_request_failed_total'));
  }
  return out;
}

// ------------------------------------------------------------------------------ evaluator

function unescapePromString(body: string): string {
  return body.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c === 't' ? '\t' : c));
}

const STRING = String.raw`"((?:[^"\\]|\\.)*)"`;
const MATCHER = new RegExp(String.raw`^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*${STRING}\s*(?:,|$)`);

/** `{a="x",b="y"}` body -> matchers; undefined when it does not parse. */
function parseMatchers(body: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let rest = body;
  while (rest.trim() !== '') {
    const m = MATCHER.exec(rest);
    if (!m) return undefined;
    out[m[1] as string] = unescapePromString(m[2] as string);
    rest = rest.slice(m[0].length);
  }
  return out;
}

const SELECTOR = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$/s;
const SUM = /^sum\s*\((.*)\)$/s;
const SUM_BY = /^sum\s+by\s*\(([^)]*)\)\s*\((.*)\)$/s;

function selectorSeries(selector: string, series: PromSeries[]): PromSeries[] | undefined {
  const m = SELECTOR.exec(selector.trim());
  if (!m) return undefined;
  const matchers = parseMatchers(m[2] ?? '');
  if (!matchers) return undefined;
  return series.filter((s) => s.metric['__name__'] === m[1] && Object.entries(matchers).every(([k, v]) => (s.metric[k] ?? '') === v));
}

function vector(result: { metric: Record<string, string>; value: number }[]): PromAnswer {
  return {
    status: 200,
    body: { status: 'success', data: { resultType: 'vector', result: result.map((r) => ({ metric: r.metric, value: [1795317609.41, String(r.value)] })) } },
  };
}

export function evaluatePromQuery(query: string, series: PromSeries[]): PromAnswer {
  const bad = (why: string): PromAnswer => ({ status: 400, body: { status: 'error', errorType: 'bad_data', error: `invalid parameter "query": ${why}` } });
  const q = query.trim();
  const by = SUM_BY.exec(q);
  if (by) {
    const labels = (by[1] ?? '').split(',').map((l) => l.trim()).filter((l) => l !== '');
    const selected = selectorSeries(by[2] ?? '', series);
    if (!selected) return bad(`1:1: parse error in ${JSON.stringify(by[2])}`);
    const groups = new Map<string, { metric: Record<string, string>; value: number }>();
    for (const s of selected) {
      const metric: Record<string, string> = {};
      for (const l of labels) if (s.metric[l] !== undefined) metric[l] = s.metric[l] as string;
      const key = JSON.stringify(metric);
      const g = groups.get(key) ?? { metric, value: 0 };
      g.value += s.value;
      groups.set(key, g);
    }
    return vector([...groups.values()]);
  }
  const sum = SUM.exec(q);
  if (sum) {
    const selected = selectorSeries(sum[1] ?? '', series);
    if (!selected) return bad(`1:1: parse error in ${JSON.stringify(sum[1])}`);
    return vector(selected.length === 0 ? [] : [{ metric: {}, value: selected.reduce((t, s) => t + s.value, 0) }]);
  }
  return bad(`unsupported by the fake: ${JSON.stringify(q)}`);
}
