/**
 * Pure: once the traces are verified, did their span metrics and the service-graph edge reach
 * Prometheus, and if not, which link is broken? Follows the path of the data:
 *
 *   distributor -> metrics-generator (its span-metrics / service-graphs processors)
 *     -> remote write to Prometheus -> span metrics of CLIENT, of SERVER -> the edge CLIENT -> SERVER
 *
 * Decided from Tempo's /metrics before the traffic and at the end (the generator's counters and its
 * remote-write queues) and from what Prometheus answers. A diagnosis further down the path is only
 * given when nothing further up explains the missing data.
 */
import type { Diagnosis } from './diagnose';
import {
  GENERATOR_METRICS,
  type GeneratorCounters,
  type GeneratorDelta,
  generatorDelta,
  type RemoteWriteDelta,
} from './tempoMetrics';
import { SERVICE_GRAPH_REQUESTS, SPAN_METRICS_CALLS } from './prometheus';

export interface MetricsDiagnoseInput {
  prometheusUrl: string;
  client: string;
  server: string;
  /** sum(traces_spanmetrics_calls_total{service=CLIENT}); undefined = no such series */
  clientCalls?: number;
  /** sum(traces_spanmetrics_calls_total{service=SERVER}); undefined = no such series or not read */
  serverCalls?: number;
  /** sum(traces_service_graph_request_total{client=CLIENT,server=SERVER}); undefined = no such series */
  edgeRequests?: number;
  /**
   * The same two sums before the traffic: seen means risen above them, so series an earlier run left
   * in Prometheus do not count. Absent = 0.
   */
  baseline?: { clientCalls?: number; edgeRequests?: number };
  /** services that have span metrics in Prometheus (for messages), when read */
  servicesWithSpanMetrics?: string[];
  /** edges of the service graph in Prometheus, "client -> server" (for messages), when read */
  edges?: string[];
  /** Tempo's generator counters before the traffic and at the end (absent when a reading failed) */
  generatorBefore?: GeneratorCounters;
  generatorAfter?: GeneratorCounters;
  /** seconds from the start of the traffic to the last Prometheus answer */
  waitedSeconds: number;
}

export interface MetricsDiagnoseResult {
  verified: boolean;
  generatorDelta?: GeneratorDelta;
  diagnoses: Diagnosis[];
}

const PROCESSOR_KEYS = [
  'tempo overrides.defaults.metrics_generator.processors (must list span-metrics and service-graphs)',
  'tempo metrics_generator section (and, outside the single binary, the metrics-generator target running)',
  'tempo metrics_generator_client.grpc_client_config.tls_* (the distributor → generator internal gRPC link, TLS on both sides or neither)',
];

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

function listOrNone(list: readonly string[] | undefined, none: string): string {
  if (list === undefined) return 'not read';
  return list.length > 0 ? list.join(', ') : none;
}

/** Queues whose samples fail, are retried, or pile up while nothing is sent. */
function failingQueues(delta: GeneratorDelta): [string, RemoteWriteDelta][] {
  return Object.entries(delta.remoteWrite).filter(
    ([, q]) => q.samplesFailed > 0 || q.samplesRetried > 0 || (q.samplesPending > 0 && q.samplesTotal === 0),
  );
}

export function diagnoseMetrics(input: MetricsDiagnoseInput): MetricsDiagnoseResult {
  const { client, server, prometheusUrl } = input;
  const clientSeen = (input.clientCalls ?? 0) > (input.baseline?.clientCalls ?? 0);
  const serverSeen = (input.serverCalls ?? 0) > 0;
  const edgeSeen = (input.edgeRequests ?? 0) > (input.baseline?.edgeRequests ?? 0);
  const verified = clientSeen && edgeSeen;
  const result: MetricsDiagnoseResult = { verified, diagnoses: [] };
  const before = input.generatorBefore;
  const after = input.generatorAfter;
  const delta = before && after ? generatorDelta(before, after) : undefined;
  if (delta) result.generatorDelta = delta;
  if (verified) return result;

  const found: Diagnosis[] = [];
  const edgeName = `${client} -> ${server}`;

  // 1. the generator: spans in, processors on ------------------------------------------------
  let spansNotRising = false;
  let spanMetricsOff = false;
  let serviceGraphsOff = false;
  if (after && delta) {
    spansNotRising = after.spansReceived === undefined || (delta.spansReceived ?? 0) === 0;
    const active = after.activeProcessors;
    spanMetricsOff = active !== undefined && !((active['span-metrics'] ?? 0) > 0);
    serviceGraphsOff = active !== undefined && !((active['service-graphs'] ?? 0) > 0);
    if (spansNotRising || spanMetricsOff || serviceGraphsOff) {
      const parts: string[] = [];
      if (spansNotRising) {
        parts.push(
          after.spansReceived === undefined
            ? `Tempo's metrics-generator has received no span at all (${GENERATOR_METRICS.spansReceived} is absent)`
            : `Tempo's metrics-generator received no span of this traffic (${GENERATOR_METRICS.spansReceived} stayed at ${fmt(after.spansReceived)})`,
        );
      }
      const off = [spanMetricsOff ? 'span-metrics' : '', serviceGraphsOff ? 'service-graphs' : ''].filter((p) => p !== '');
      if (off.length > 0) parts.push(`its ${off.join(' and ')} processor${off.length > 1 ? 's are' : ' is'} not active (${GENERATOR_METRICS.activeProcessors} = 0)`);
      const evidence: Record<string, number | string> = {
        generatorSpansReceived: after.spansReceived === undefined ? 'absent' : (delta.spansReceived ?? 0),
      };
      if (after.activeProcessors) {
        for (const p of ['span-metrics', 'service-graphs']) evidence[`activeProcessors{processor="${p}"}`] = after.activeProcessors[p] ?? 0;
      }
      found.push({
        code: 'GENERATOR_PROCESSORS_OFF',
        message:
          `${parts.join(', and ')}, although the traces were stored: the distributor forwards spans to the generator only for tenants with processors, ` +
          'so no span metrics and no service graph are produced — check that overrides.defaults.metrics_generator.processors lists span-metrics and service-graphs.',
        configKeys: PROCESSOR_KEYS,
        evidence,
      });
    }
  }

  // 2. remote write to Prometheus -------------------------------------------------------------
  const failing = delta ? failingQueues(delta) : [];
  const remoteWriteFailing = failing.length > 0;
  if (remoteWriteFailing) {
    const urls = failing.map(([url]) => url);
    const describe = failing
      .map(([url, q]) => `${url} (${fmt(q.samplesFailed)} samples failed, ${fmt(q.samplesRetried)} retried, ${fmt(q.samplesPending)} pending, ${fmt(q.samplesTotal)} sent)`)
      .join(', ');
    const wrongPath = urls.filter((u) => !/\/api\/v1\/write\/?$/.test(u.replace(/\?.*$/, '')));
    const evidence: Record<string, number | string> = {};
    for (const [url, q] of failing) {
      evidence[`samplesFailed{url="${url}"}`] = q.samplesFailed;
      evidence[`samplesRetried{url="${url}"}`] = q.samplesRetried;
      evidence[`samplesPending{url="${url}"}`] = q.samplesPending;
      evidence[`samplesSent{url="${url}"}`] = q.samplesTotal;
    }
    found.push({
      code: 'REMOTE_WRITE_FAILING',
      message:
        `Tempo's metrics-generator cannot remote-write to ${describe}: ` +
        (wrongPath.length > 0 ? `the path of ${wrongPath.join(', ')} is not /api/v1/write; ` : '') +
        "check its TLS settings (the stack CA, a server name in Prometheus' certificate), that Prometheus accepts remote writes " +
        '(--web.enable-remote-write-receiver) and that the URL path is /api/v1/write.',
      configKeys: [
        'tempo metrics_generator.storage.remote_write[].tls_config.ca_file (the stack CA)',
        "tempo metrics_generator.storage.remote_write[].tls_config.server_name (a name in Prometheus' certificate SANs)",
        'prometheus started with --web.enable-remote-write-receiver (otherwise /api/v1/write answers 404)',
        `tempo metrics_generator.storage.remote_write[].url (https://<prometheus>:9090/api/v1/write; now ${urls.join(', ')})`,
      ],
      evidence,
    });
  }

  const spanMetricsBlocked = spansNotRising || spanMetricsOff || remoteWriteFailing;
  const edgeBlocked = spansNotRising || serviceGraphsOff || remoteWriteFailing;

  // 3. Prometheus: span metrics of the client --------------------------------------------------
  if (!clientSeen && !spanMetricsBlocked) {
    const queues = after ? Object.keys(after.remoteWrite) : undefined;
    const sent = delta ? Object.values(delta.remoteWrite).reduce((t, q) => t + q.samplesTotal, 0) : undefined;
    const tempoSide =
      queues === undefined
        ? "Tempo's generator counters could not be read at the end"
        : queues.length === 0
          ? "Tempo has no remote-write queue at all (no prometheus_remote_storage_* series with a url): metrics_generator.storage.remote_write looks empty"
          : `Tempo's generator received ${plural(delta?.spansReceived ?? 0, 'span')} and remote-wrote ${plural(sent ?? 0, 'sample')} to ${queues.join(', ')} without errors`;
    found.push({
      code: 'SPAN_METRICS_MISSING',
      message:
        `${tempoSide}, but Prometheus at ${prometheusUrl} has no ${SPAN_METRICS_CALLS}{service="${client}"} after ${Math.round(input.waitedSeconds)}s ` +
        `(services with span metrics there: ${listOrNone(input.servicesWithSpanMetrics, 'none')}): ` +
        'Tempo writes to another Prometheus, the service name differs, or the metrics need longer than the deadline.',
      configKeys: [
        `tempo metrics_generator.storage.remote_write[].url (must be this Prometheus, ${prometheusUrl}, as seen from Tempo)`,
        `the app's OTEL_SERVICE_NAME vs --service-graph-edge (client "${client}")`,
        'tempo metrics_generator.registry.collection_interval (15s by default) / verifier --deadline-seconds',
      ],
      evidence: {
        ...(input.clientCalls !== undefined ? { clientCalls: input.clientCalls } : { clientCalls: 'absent' }),
        servicesWithSpanMetrics: listOrNone(input.servicesWithSpanMetrics, 'none'),
        ...(sent !== undefined ? { remoteWriteSamplesSent: sent } : {}),
      },
    });
  }

  // 4. the second service ----------------------------------------------------------------------
  if (clientSeen && !serverSeen && !edgeSeen && !spanMetricsBlocked) {
    found.push({
      code: 'NO_SECOND_SERVICE',
      message:
        `Prometheus has span metrics for ${client} (${fmt(input.clientCalls ?? 0)} calls) but none for ${server}` +
        ` (services with span metrics: ${listOrNone(input.servicesWithSpanMetrics, 'none')}): ` +
        `${client} does not call its backend (its DOWNSTREAM_URL), or ${server} does not export spans, so there is no second service for the edge.`,
      configKeys: [
        `${client} DOWNSTREAM_URL (the backend's https:// URL, as seen from the app container)`,
        `${server} OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_CERTIFICATE (it must export its spans to the collector)`,
        `${server} OTEL_SERVICE_NAME (must be "${server}", the server of --service-graph-edge)`,
      ],
      evidence: { clientCalls: input.clientCalls ?? 0, serverCalls: input.serverCalls ?? 'absent' },
    });
  }

  // 5. the edge --------------------------------------------------------------------------------
  if (clientSeen && serverSeen && !edgeSeen && !edgeBlocked) {
    const dropped = delta?.serviceGraphDroppedSpans ?? 0;
    const expired = delta?.serviceGraphExpiredEdges ?? 0;
    found.push({
      code: 'SERVICE_GRAPH_EDGE_MISSING',
      message:
        `${client} and ${server} both have span metrics (${fmt(input.clientCalls ?? 0)} and ${fmt(input.serverCalls ?? 0)} calls) but the service graph has no edge ${edgeName} ` +
        `(${SERVICE_GRAPH_REQUESTS}; edges there: ${listOrNone(input.edges, 'none')}): the trace context is not propagated from ${client} to ${server} ` +
        `(no traceparent on the call, or ${server} does not continue it), so the server spans do not pair with the client spans` +
        (dropped > 0 || expired > 0
          ? `; meanwhile ${GENERATOR_METRICS.serviceGraphDroppedSpans} rose by ${fmt(dropped)} and ${GENERATOR_METRICS.serviceGraphExpiredEdges} by ${fmt(expired)} (unpaired edges)`
          : '') +
        '.',
      configKeys: [
        `${client}: the HTTP client call to DOWNSTREAM_URL must carry traceparent (HTTP client instrumentation / propagator active) inside a CLIENT span`,
        `${server}: its HTTP server span must continue the incoming traceparent (SERVER span as the child of the CLIENT span)`,
        'tempo metrics_generator.processor.service_graphs.wait and max_items (when dropped spans or expired edges rose)',
      ],
      evidence: {
        clientCalls: input.clientCalls ?? 0,
        serverCalls: input.serverCalls ?? 0,
        edges: listOrNone(input.edges, 'none'),
        serviceGraphDroppedSpans: dropped,
        serviceGraphExpiredEdges: expired,
      },
    });
  }

  if (found.length === 0) {
    // Not reached with the conditions above; kept so a not-verified result always says something.
    found.push({
      code: 'SPAN_METRICS_MISSING',
      message: `the span metrics of ${client} and the edge ${edgeName} did not both show up in Prometheus at ${prometheusUrl} before the deadline.`,
      configKeys: ['verifier --deadline-seconds', 'tempo metrics_generator.registry.collection_interval'],
      evidence: { clientCalls: input.clientCalls ?? 'absent', edgeRequests: input.edgeRequests ?? 'absent' },
    });
  }
  result.diagnoses = found;
  return result;
}
