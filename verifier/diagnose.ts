/**
 * Pure: counters before/after the traffic (+ optional collector counters, + trace lookups)
 * -> verified or not, and why not, following Tempo's troubleshooting order:
 * did the distributor receive spans? did the appends to the ingester succeed? were traces created?
 * could the exact ids be fetched back?
 *
 * Each diagnosis carries a stable code (used by the e2e suite and the README), one or two
 * sentences, the config keys to check, and the counter deltas behind it.
 */
import {
  chooseTracesCreatedMetric,
  collectorDelta,
  type CollectorCounters,
  type CollectorDelta,
  requiredRise,
  TEMPO_METRICS,
  type TempoCounters,
  type TempoDelta,
  tempoDelta,
  type TracesCreatedChoice,
} from './tempoMetrics';

export const DIAGNOSIS_CODES = [
  'NO_SPANS_RECEIVED',
  'INGESTER_APPEND_FAILING',
  'TRACES_NOT_CREATED',
  'SPANS_DISCARDED',
  'COLLECTOR_EXPORT_FAILING',
  'TRACES_NOT_FOUND',
  'TEMPO_UNREACHABLE',
  'TLS_VERIFICATION_FAILED',
  // a server refused the verifier's client certificate, or refused it for having none (mutual TLS)
  'CLIENT_CERTIFICATE_REFUSED',
  'TEMPO_NOT_READY',
  'NOT_PROMETHEUS',
  'APP_UNREACHABLE',
  'APP_NO_TRACE_ID',
  'OTLP_EXPORT_FAILED',
  'COLLECTOR_NOT_ANSWERING',
  'COLLECTOR_TLS_FAILED',
  // span metrics and service graph in Prometheus (--service-graph-edge), checked once the traces are verified
  'PROMETHEUS_UNREACHABLE',
  'GENERATOR_PROCESSORS_OFF',
  'REMOTE_WRITE_FAILING',
  'SPAN_METRICS_MISSING',
  'NO_SECOND_SERVICE',
  'SERVICE_GRAPH_EDGE_MISSING',
  // Tempo in microservices mode (--ingesters): the ring and each ingester's own counters
  'INGESTER_RING_INCOMPLETE',
  'INGESTER_NOT_COUNTING',
  'FLUSHES_FAILING',
  'TEMPO_CONTAINERS_DOWN',
  'MEMBERLIST_INCOMPLETE',
  // engine swarm (--swarm-services): a service short of its desired running tasks, or the manager unreachable
  'SWARM_TASKS_MISSING',
  'SWARM_UNREACHABLE',
] as const;

export type DiagnosisCode = (typeof DIAGNOSIS_CODES)[number];

export interface Diagnosis {
  code: DiagnosisCode;
  /** One or two sentences a person can act on. */
  message: string;
  /** Tempo / collector / app config keys to check, most likely first. */
  configKeys: string[];
  /** Counter deltas or other facts behind the diagnosis. */
  evidence: Record<string, number | string>;
}

export type TrafficKind = 'app' | 'otlp';

export interface LookupSummary {
  /** distinct trace ids looked up at least once */
  looked: number;
  /** trace ids fetched back from Tempo with at least one span of that trace */
  found: number;
  /** last non-404 failure of the trace API, if any (e.g. "HTTP 500 from /api/v2/traces/...") */
  lastError?: string;
}

export interface DiagnoseInput {
  trafficKind: TrafficKind;
  tracesSent: number;
  minFraction: number;
  /**
   * Tempo in microservices mode: each push goes to `factor` ingesters and succeeds once `quorum`
   * of them took it; the distributor then cancels the rest (grafana/tempo#5342), which counts as an
   * append failure. So the summed counter rises by at least quorum x traces, and up to
   * (factor - quorum) of every factor appends may fail on a healthy stack.
   */
  replication?: { factor: number; quorum: number };
  tempoBefore: TempoCounters;
  tempoAfter: TempoCounters;
  collector?: { before: CollectorCounters; after: CollectorCounters };
  lookup: LookupSummary;
  /** seconds between the end of the traffic and the last reading */
  waitedSeconds: number;
}

export interface DiagnoseResult {
  verified: boolean;
  tracesCreated: TracesCreatedChoice;
  delta: TempoDelta;
  collectorDelta?: CollectorDelta;
  /** traces the counter had to rise by */
  required: number;
  /** why it is not verified; empty when verified */
  diagnoses: Diagnosis[];
  /** problems seen although the traces were verified (e.g. some spans discarded) */
  warnings: Diagnosis[];
}

const DISCARD_REASON_KEYS: Record<string, string[]> = {
  rate_limited: ['overrides.defaults.ingestion.rate_limit_bytes', 'overrides.defaults.ingestion.burst_size_bytes'],
  live_traces_exceeded: ['overrides.defaults.ingestion.max_traces_per_user'],
  trace_too_large: ['overrides.defaults.global.max_bytes_per_trace'],
  trace_too_large_to_compact: ['overrides.defaults.global.max_bytes_per_trace'],
};

const COLLECTOR_TO_TEMPO_KEYS = [
  'collector exporters.otlp_grpc.endpoint (Tempo OTLP gRPC receiver, port 4317 — not the internal gRPC port 9095)',
  'collector exporters.otlp_grpc.tls.ca_file (the stack CA)',
  'collector exporters.otlp_grpc.tls.server_name_override / the endpoint host must be in the SANs of distributor.receivers.otlp.protocols.grpc.tls.cert_file',
  'tempo distributor.receivers.otlp.protocols.grpc.endpoint (0.0.0.0:4317 inside a container)',
];

const APP_TO_COLLECTOR_KEYS = [
  'app OTEL_EXPORTER_OTLP_ENDPOINT (the collector OTLP receiver, https://)',
  'app OTEL_EXPORTER_OTLP_CERTIFICATE (the stack CA)',
  'collector receivers.otlp.protocols.grpc.endpoint / receivers.otlp.protocols.http.endpoint (0.0.0.0 inside a container) and their tls.cert_file',
];

const INTERNAL_GRPC_KEYS = [
  'tempo server.grpc_tls_config',
  'tempo ingester_client.grpc_client_config.tls_enabled',
  'tempo ingester_client.grpc_client_config.tls_ca_path',
  'tempo ingester_client.grpc_client_config.tls_server_name',
  'tempo metrics_generator_client.grpc_client_config.tls_enabled',
  'tempo querier.frontend_worker.grpc_client_config.tls_enabled',
];

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function tracesNotCreatedKeys(metric: string): string[] {
  return metric === TEMPO_METRICS.tracesCreated3x
    ? ['tempo live_store.max_trace_idle', 'tempo live_store.flush_check_period', 'verifier --deadline-seconds']
    : ['tempo ingester.trace_idle_period', 'tempo ingester.flush_check_period', 'verifier --deadline-seconds'];
}

export function diagnose(input: DiagnoseInput): DiagnoseResult {
  const { tempoBefore, tempoAfter, tracesSent, lookup } = input;
  const choice = chooseTracesCreatedMetric(tempoBefore, tempoAfter);
  const d = tempoDelta(tempoBefore, tempoAfter, choice.metric);
  const cd = input.collector ? collectorDelta(input.collector.before, input.collector.after) : undefined;
  const required = requiredRise(tracesSent, input.minFraction) * (input.replication?.quorum ?? 1);
  const riseOk = tracesSent > 0 && d.tracesCreated >= required;
  const verified = riseOk && lookup.found >= 1;

  const found: Diagnosis[] = [];
  const spansReachedTempo = d.spansReceived > 0 || d.receiverAccepted > 0 || d.receiverRefused > 0;
  const toleratedAppendFailures = input.replication ? Math.floor((d.ingesterAppends * (input.replication.factor - input.replication.quorum)) / input.replication.factor) : 0;
  const appendFailing = d.ingesterAppendFailures > toleratedAppendFailures || (d.receiverRefused > 0 && d.discardedTotal === 0);

  if (cd && cd.exporterSendFailed > 0) {
    found.push({
      code: 'COLLECTOR_EXPORT_FAILING',
      message:
        `The collector failed to export ${plural(cd.exporterSendFailed, 'span')} (otelcol_exporter_send_failed_spans rose) ` +
        `and sent ${cd.exporterSent}: the collector → Tempo link is broken (wrong port, TLS not trusted, or server name not in Tempo's certificate).`,
      configKeys: COLLECTOR_TO_TEMPO_KEYS,
      evidence: { collectorSendFailedSpans: cd.exporterSendFailed, collectorSentSpans: cd.exporterSent },
    });
  }

  if (!spansReachedTempo) {
    let where: string;
    let keys: string[];
    if (input.trafficKind === 'otlp') {
      where = 'Tempo counted none of the synthetic spans: check the link from the OTLP endpoint the verifier sent to (the collector) to Tempo.';
      keys = COLLECTOR_TO_TEMPO_KEYS;
    } else if (cd && cd.receiverAccepted === 0 && cd.exporterSent === 0) {
      where = 'The collector did not receive the spans either: the app → collector link is broken.';
      keys = APP_TO_COLLECTOR_KEYS;
    } else if (cd && cd.exporterSendFailed > 0) {
      where = 'The collector received spans but its exporter to Tempo is failing (see COLLECTOR_EXPORT_FAILING).';
      keys = COLLECTOR_TO_TEMPO_KEYS;
    } else if (cd && cd.exporterSent > 0) {
      where = `The collector reports ${plural(cd.exporterSent, 'span')} sent, yet Tempo counted none: the collector exports somewhere other than this Tempo.`;
      keys = COLLECTOR_TO_TEMPO_KEYS;
    } else {
      where = 'Either the collector → Tempo link (port 4317 not 9095, TLS CA, server name) or the app → collector link is broken.';
      keys = [...COLLECTOR_TO_TEMPO_KEYS, ...APP_TO_COLLECTOR_KEYS];
    }
    found.push({
      code: 'NO_SPANS_RECEIVED',
      message: `Tempo's distributor received no spans (${TEMPO_METRICS.spansReceived} did not rise after ${plural(tracesSent, 'trace')} were sent). ${where}`,
      configKeys: keys,
      evidence: {
        distributorSpansReceived: d.spansReceived,
        ...(cd ? { collectorReceiverAcceptedSpans: cd.receiverAccepted, collectorSentSpans: cd.exporterSent, collectorSendFailedSpans: cd.exporterSendFailed } : {}),
      },
    });
  }

  if (spansReachedTempo && appendFailing) {
    found.push({
      code: 'INGESTER_APPEND_FAILING',
      message:
        `Tempo received ${plural(d.spansReceived, 'span')} but refused ${d.receiverRefused} and ${plural(d.ingesterAppendFailures, 'append')} to the ingester failed ` +
        `(${d.ingesterAppends} attempted): the distributor → ingester internal gRPC link (127.0.0.1:9095) is broken, typically TLS on one side only — ` +
        'server.grpc_tls_config is set while the internal clients dial plaintext, or the reverse.',
      configKeys: INTERNAL_GRPC_KEYS,
      evidence: {
        distributorSpansReceived: d.spansReceived,
        receiverRefusedSpans: d.receiverRefused,
        ingesterAppends: d.ingesterAppends,
        ingesterAppendFailures: d.ingesterAppendFailures,
        tracesCreated: d.tracesCreated,
      },
    });
  }

  const discarded: Diagnosis | undefined =
    d.discardedTotal > 0
      ? {
          code: 'SPANS_DISCARDED',
          message:
            `Tempo discarded ${plural(d.discardedTotal, 'span')} (${TEMPO_METRICS.discardedSpans}) with reason ` +
            Object.entries(d.discardedByReason)
              .map(([reason, n]) => `${reason || '(none)'}=${n}`)
              .join(', ') +
            ': a per-tenant limit is rejecting them.',
          configKeys: [
            ...new Set(
              Object.keys(d.discardedByReason).flatMap(
                (reason) => DISCARD_REASON_KEYS[reason] ?? [`tempo overrides.defaults (reason "${reason}": see Tempo's log)`],
              ),
            ),
          ],
          evidence: Object.fromEntries(Object.entries(d.discardedByReason).map(([r, n]) => [`discarded{reason="${r}"}`, n])),
        }
      : undefined;
  if (discarded && !verified) found.push(discarded);

  const allDiscarded = d.discardedTotal > 0 && d.ingesterAppends === 0;
  if (spansReachedTempo && !riseOk && !appendFailing && !allDiscarded) {
    const live = tempoAfter.liveTraces !== undefined ? `; ${plural(tempoAfter.liveTraces, 'trace')} still live in memory` : '';
    const keys = tracesNotCreatedKeys(choice.metric);
    found.push({
      code: 'TRACES_NOT_CREATED',
      message:
        `Spans reached Tempo (${d.spansReceived} received, ${d.ingesterAppends} appends, no append failures) but ${choice.metric} rose by ` +
        `${d.tracesCreated} of the ${required} required within ${Math.round(input.waitedSeconds)}s${live}: traces are counted only when the idle sweep ` +
        `moves them out of memory — check ${keys[0]} and ${keys[1]}, or wait longer.`,
      configKeys: keys,
      evidence: {
        distributorSpansReceived: d.spansReceived,
        ingesterAppends: d.ingesterAppends,
        tracesCreated: d.tracesCreated,
        required,
        ...(tempoAfter.liveTraces !== undefined ? { liveTraces: tempoAfter.liveTraces } : {}),
      },
    });
  }

  if (riseOk && lookup.found === 0) {
    found.push({
      code: 'TRACES_NOT_FOUND',
      message:
        `${choice.metric} rose by ${d.tracesCreated} (≥ ${required}) but none of the ${plural(lookup.looked, 'trace id')} the traffic returned could be fetched from ` +
        `/api/v2/traces/<id> or /api/traces/<id>` +
        (lookup.lastError ? ` (last error: ${lookup.lastError})` : ' (404 each time)') +
        ': either the query path (querier → query-frontend internal gRPC) is broken or the ids the app reports are not the ids it exports.',
      configKeys: [
        'tempo querier.frontend_worker.grpc_client_config.tls_enabled / tls_server_name',
        'tempo multitenancy_enabled (then pass --tenant)',
        'app: x-trace-id must be the trace id of the exported span',
      ],
      evidence: { tracesCreated: d.tracesCreated, idsLookedUp: lookup.looked, idsFound: lookup.found, ...(lookup.lastError ? { lastError: lookup.lastError } : {}) },
    });
  }

  const warnings: Diagnosis[] = [];
  if (verified) {
    warnings.push(...found.filter((f) => f.code === 'COLLECTOR_EXPORT_FAILING'));
    if (discarded) warnings.push(discarded);
    if (appendFailing && spansReachedTempo) {
      warnings.push({
        code: 'INGESTER_APPEND_FAILING',
        message: `Traces were stored, but ${plural(d.ingesterAppendFailures, 'append')} to the ingester failed and ${d.receiverRefused} spans were refused meanwhile.`,
        configKeys: INTERNAL_GRPC_KEYS,
        evidence: { ingesterAppendFailures: d.ingesterAppendFailures, receiverRefusedSpans: d.receiverRefused },
      });
    }
  }

  const result: DiagnoseResult = {
    verified,
    tracesCreated: choice,
    delta: d,
    required,
    diagnoses: verified ? [] : found,
    warnings,
  };
  if (cd) result.collectorDelta = cd;
  return result;
}
