/**
 * After the traces are verified: poll Prometheus (every ~2 s, until the one deadline) until the span
 * metrics of the client service and the service-graph edge client -> server are both there. When they
 * are not, the queries the diagnosis needs (the server's span metrics, which services and edges exist)
 * are made with the time kept in reserve.
 *
 * Nothing here decides exit codes: a TLS failure or a URL that is not Prometheus' API ends the polling
 * at once and is returned as `fatal`; connection failures and 5xx answers are retried until the deadline.
 */
import { HttpFailure, type HttpsClient } from './http';
import type { ServiceGraphEdge } from './options';
import {
  EDGES_BY_CLIENT_SERVER,
  edgeQuery,
  PrometheusAnswerError,
  queryVector,
  SPAN_METRICS_BY_SERVICE,
  spanMetricsQuery,
  sumSamples,
  type VectorSample,
} from './prometheus';

export interface PrometheusPollDeps {
  client: HttpsClient;
  now: () => number;
  /** waits at most until the deadline */
  pause: (ms: number) => Promise<void>;
  /** ms until the deadline */
  remaining: () => number;
  requestTimeoutMs: number;
  pollIntervalMs: number;
  /** when the traffic started: seenAfterMs is measured from there */
  trafficStart: number;
  /**
   * The same sums read just before the traffic. Seen means risen above them: series an earlier run
   * left in Prometheus (visible for its 5 min lookback) cannot pass a stack whose remote write broke.
   */
  baseline?: PrometheusBaseline;
  onProgress?: (message: string) => void;
}

export interface PrometheusBaseline {
  clientCalls?: number;
  edgeRequests?: number;
}

/**
 * One reading of the client's span metrics and the edge before the traffic; any failure reads as
 * "no series" (0), and the polling after the traffic reports what is wrong with Prometheus.
 */
export async function readPrometheusBaseline(client: HttpsClient, prometheusUrl: string, edge: ServiceGraphEdge, timeoutMs: number): Promise<PrometheusBaseline> {
  const read = async (promql: string): Promise<number | undefined> => {
    try {
      return sumSamples(await queryVector(client, prometheusUrl, promql, timeoutMs));
    } catch {
      return undefined;
    }
  };
  const baseline: PrometheusBaseline = {};
  const clientCalls = await read(spanMetricsQuery(edge.client));
  if (clientCalls !== undefined) baseline.clientCalls = clientCalls;
  const edgeRequests = await read(edgeQuery(edge.client, edge.server));
  if (edgeRequests !== undefined) baseline.edgeRequests = edgeRequests;
  return baseline;
}

export interface PrometheusPollResult {
  /** sum(traces_spanmetrics_calls_total{service=CLIENT}) as last read; undefined = no series (or never read) */
  clientCalls?: number;
  clientSeenAfterMs?: number;
  edgeRequests?: number;
  edgeFailed?: number;
  edgeSeenAfterMs?: number;
  /** only read when not both seen */
  serverCalls?: number;
  servicesWithSpanMetrics?: string[];
  edges?: string[];
  /** at least one query was answered */
  answered: boolean;
  /** queries made */
  queries: number;
  /** the last failure (connection, timeout, 5xx) */
  lastError?: string;
  /** a failure retrying cannot fix: TLS (the client certificate refused included), or not Prometheus' query API */
  fatal?: { kind: 'tls' | 'client-certificate' | 'api'; message: string; code?: string };
  /** ms from the start of the traffic to the last answer */
  lastAnswerAfterMs?: number;
}

class Fatal extends Error {
  constructor(readonly detail: NonNullable<PrometheusPollResult['fatal']>) {
    super(detail.message);
  }
}

export async function pollPrometheus(prometheusUrl: string, edge: ServiceGraphEdge, deps: PrometheusPollDeps): Promise<PrometheusPollResult> {
  const result: PrometheusPollResult = { answered: false, queries: 0 };
  // Kept for the diagnosis queries after the polling, like the lookups keep time for /metrics.
  const reserveMs = Math.min(2000, deps.requestTimeoutMs);
  const timeout = (floorMs: number): number => Math.max(floorMs, Math.min(deps.requestTimeoutMs, deps.remaining()));

  /** One query; undefined when it failed in a way worth retrying (recorded in lastError). */
  const query = async (promql: string, floorMs = 1): Promise<VectorSample[] | undefined> => {
    result.queries += 1;
    try {
      const samples = await queryVector(deps.client, prometheusUrl, promql, timeout(floorMs));
      result.answered = true;
      result.lastAnswerAfterMs = deps.now() - deps.trafficStart;
      return samples;
    } catch (err) {
      if (err instanceof HttpFailure) {
        if (err.kind === 'tls' || err.kind === 'client-certificate') throw new Fatal({ kind: err.kind, message: err.message, ...(err.code ? { code: err.code } : {}) });
        result.lastError = err.message;
        return undefined;
      }
      if (err instanceof PrometheusAnswerError) {
        if (!err.transient) throw new Fatal({ kind: 'api', message: err.message });
        result.lastError = err.message;
        return undefined;
      }
      throw err;
    }
  };

  const bothSeen = (): boolean => result.clientSeenAfterMs !== undefined && result.edgeSeenAfterMs !== undefined;
  const edgeName = `${edge.client} -> ${edge.server}`;
  try {
    for (let attempt = 0; ; attempt += 1) {
      // The first round always runs (with a usable timeout), even when the traces took all the time.
      const floor = attempt === 0 ? Math.min(deps.requestTimeoutMs, 2000) : 1;
      if (result.clientSeenAfterMs === undefined) {
        const samples = await query(spanMetricsQuery(edge.client), floor);
        if (samples) {
          const calls = sumSamples(samples);
          if (calls === undefined) delete result.clientCalls;
          else result.clientCalls = calls;
          if ((calls ?? 0) > (deps.baseline?.clientCalls ?? 0)) result.clientSeenAfterMs = deps.now() - deps.trafficStart;
        }
      }
      if (result.edgeSeenAfterMs === undefined) {
        const samples = await query(edgeQuery(edge.client, edge.server), floor);
        if (samples) {
          const requests = sumSamples(samples);
          if (requests === undefined) delete result.edgeRequests;
          else result.edgeRequests = requests;
          if ((requests ?? 0) > (deps.baseline?.edgeRequests ?? 0)) result.edgeSeenAfterMs = deps.now() - deps.trafficStart;
        }
      }
      if (bothSeen()) {
        // For the report; the series exists only once a request failed, absent = 0.
        const failed = await query(edgeQuery(edge.client, edge.server, 'failed'), floor);
        result.edgeFailed = failed ? (sumSamples(failed) ?? 0) : 0;
        break;
      }
      if (deps.remaining() <= reserveMs) break;
      deps.onProgress?.(
        `waiting for span metrics of ${edge.client} (${result.clientSeenAfterMs !== undefined ? 'there' : 'not yet'}) and the edge ${edgeName} ` +
          `(${result.edgeSeenAfterMs !== undefined ? 'there' : 'not yet'}) in Prometheus ${prometheusUrl}` +
          (result.lastError && !result.answered ? `; ${result.lastError}` : ''),
      );
      await deps.pause(Math.min(deps.pollIntervalMs, Math.max(0, deps.remaining() - reserveMs)));
    }

    if (!bothSeen() && result.answered) {
      // What the diagnosis needs: does the second service have span metrics, which services and edges exist?
      const server = await query(spanMetricsQuery(edge.server));
      if (server) {
        const calls = sumSamples(server);
        if (calls !== undefined) result.serverCalls = calls;
      }
      const services = await query(SPAN_METRICS_BY_SERVICE);
      if (services) {
        result.servicesWithSpanMetrics = services
          .filter((s) => s.value > 0)
          .map((s) => s.labels['service'] ?? '')
          .sort();
      }
      const edges = await query(EDGES_BY_CLIENT_SERVER);
      if (edges) {
        result.edges = edges
          .filter((s) => s.value > 0)
          .map((s) => `${s.labels['client'] ?? '?'} -> ${s.labels['server'] ?? '?'}`)
          .sort();
      }
    }
  } catch (err) {
    if (!(err instanceof Fatal)) throw err;
    result.fatal = err.detail;
  }
  return result;
}
