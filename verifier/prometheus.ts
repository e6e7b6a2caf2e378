/**
 * Prometheus' HTTP API, the few queries the verifier needs: instant queries
 * (`GET <url>/api/v1/query?query=...`, JSON) over the same one-CA HTTPS client as everything else.
 *
 * Label values are PromQL string literals: backslash and double quote (and line breaks) are
 * escaped, so any service name is matched exactly and cannot change the query.
 */
import type { HttpsClient } from './http';

export const SPAN_METRICS_CALLS = 'traces_spanmetrics_calls_total';
export const SERVICE_GRAPH_REQUESTS = 'traces_service_graph_request_total';
export const SERVICE_GRAPH_FAILED = 'traces_service_graph_request_failed_total';

/** A PromQL double-quoted string literal for `value`. */
export function promString(value: string): string {
  const escaped = value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  return `"${escaped}"`;
}

/** `sum(traces_spanmetrics_calls_total{service="<service>"})` */
export function spanMetricsQuery(service: string): string {
  return `sum(${SPAN_METRICS_CALLS}{service=${promString(service)}})`;
}

/** `sum(traces_service_graph_request_total{client="<client>",server="<server>"})` (or the failed counter) */
export function edgeQuery(client: string, server: string, which: 'requests' | 'failed' = 'requests'): string {
  const metric = which === 'requests' ? SERVICE_GRAPH_REQUESTS : SERVICE_GRAPH_FAILED;
  return `sum(${metric}{client=${promString(client)},server=${promString(server)}})`;
}

/** For messages: which services have span metrics at all. */
export const SPAN_METRICS_BY_SERVICE = `sum by (service) (${SPAN_METRICS_CALLS})`;
/** For messages: which edges the service graph has. */
export const EDGES_BY_CLIENT_SERVER = `sum by (client, server) (${SERVICE_GRAPH_REQUESTS})`;

/**
 * Prometheus answered, but not with a usable query result. `transient`: a 5xx (e.g. 503 while the
 * TSDB loads) that a later query may not get; otherwise (4xx, not JSON, not the query API) retrying
 * will not help: the URL is not Prometheus' HTTP API, or the query is refused.
 */
export class PrometheusAnswerError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
    readonly status: number,
  ) {
    super(message);
    this.name = 'PrometheusAnswerError';
  }
}

export interface VectorSample {
  labels: Record<string, string>;
  value: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function excerpt(body: string): string {
  const one = body.replace(/\s+/g, ' ').trim();
  return one.length > 120 ? `${one.slice(0, 120)}...` : one;
}

/** The samples of an instant-query answer (`data.resultType` vector or scalar); throws PrometheusAnswerError otherwise. */
export function parseQueryAnswer(body: string, status: number, where: string): VectorSample[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body) as unknown;
  } catch {
    throw new PrometheusAnswerError(
      `${where} answered HTTP ${status} with something that is not JSON ("${excerpt(body)}"): is --prometheus-url Prometheus' HTTP API?`,
      status >= 500,
      status,
    );
  }
  if (!isObject(doc) || (doc['status'] !== 'success' && doc['status'] !== 'error')) {
    throw new PrometheusAnswerError(`${where} answered HTTP ${status} with JSON that is not a Prometheus API answer ("${excerpt(body)}")`, status >= 500, status);
  }
  if (doc['status'] === 'error' || status !== 200) {
    const type = typeof doc['errorType'] === 'string' ? `${doc['errorType']}: ` : '';
    const error = typeof doc['error'] === 'string' ? doc['error'] : 'no error message';
    throw new PrometheusAnswerError(`${where} answered HTTP ${status}: ${type}${error}`, status >= 500 || status === 0, status);
  }
  const data = doc['data'];
  if (!isObject(data)) throw new PrometheusAnswerError(`${where}: the answer has no data`, false, status);
  const parseValue = (pair: unknown): number | undefined => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[1] !== 'string') return undefined;
    const n = Number(pair[1]);
    return Number.isFinite(n) ? n : undefined;
  };
  if (data['resultType'] === 'scalar') {
    const value = parseValue(data['result']);
    return value === undefined ? [] : [{ labels: {}, value }];
  }
  if (data['resultType'] !== 'vector' || !Array.isArray(data['result'])) {
    throw new PrometheusAnswerError(`${where}: expected an instant vector, got resultType ${String(data['resultType'])}`, false, status);
  }
  const samples: VectorSample[] = [];
  for (const entry of data['result'] as unknown[]) {
    if (!isObject(entry)) continue;
    const value = parseValue(entry['value']);
    if (value === undefined) continue;
    const labels: Record<string, string> = {};
    const metric = entry['metric'];
    if (isObject(metric)) {
      for (const [k, v] of Object.entries(metric)) if (typeof v === 'string') labels[k] = v;
    }
    samples.push({ labels, value });
  }
  return samples;
}

/** The query URL for `query` on `prometheusUrl` (which may carry a path prefix). */
export function queryUrl(prometheusUrl: string, query: string): string {
  return `${prometheusUrl.replace(/\/+$/, '')}/api/v1/query?query=${encodeURIComponent(query)}`;
}

/**
 * One instant query. Connection and TLS failures propagate as HttpFailure (the caller decides);
 * any other unusable answer is a PrometheusAnswerError.
 */
export async function queryVector(client: HttpsClient, prometheusUrl: string, query: string, timeoutMs: number): Promise<VectorSample[]> {
  const url = queryUrl(prometheusUrl, query);
  const res = await client.request(url, { timeoutMs, headers: { accept: 'application/json' } });
  return parseQueryAnswer(res.body, res.status, `Prometheus ${prometheusUrl}/api/v1/query (${query})`);
}

/** Sum of a query's samples; undefined when the result is empty (no such series). */
export function sumSamples(samples: readonly VectorSample[]): number | undefined {
  if (samples.length === 0) return undefined;
  return samples.reduce((total, s) => total + s.value, 0);
}
