/**
 * Prometheus text -> the ingestion counters Tempo (and the collector) expose.
 *
 * Parsing is done by `parse-prometheus-text-format` (prom2json-compatible output). Two of its
 * quirks are handled here: it drops the last sample when the text has no trailing newline, and it
 * does not reject garbage (an HTML page parses as a metric named `<html>`), so every family name
 * and value is validated afterwards and a body that is not Prometheus text raises NotPrometheusError.
 *
 * Counter families are created lazily by Tempo (a CounterVec has no series until its first
 * increment), so an absent counter reads as 0 and is reported as absent where that matters.
 */
import parsePrometheusTextFormat = require('parse-prometheus-text-format');

export class NotPrometheusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotPrometheusError';
  }
}

export interface MetricSample {
  labels: Record<string, string>;
  value: number;
  /** The sample's own timestamp when the exposition gives one (Prometheus /federate: its scrape time) */
  timestampMs?: number;
}

export interface MetricFamily {
  name: string;
  type: string;
  samples: MetricSample[];
}

export type ParsedMetrics = ReadonlyMap<string, MetricFamily>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const PROM_FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf|inf|NaN|nan)$/;

function parsePromFloat(raw: string): number {
  const lower = raw.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Number.POSITIVE_INFINITY;
  if (lower === '-inf') return Number.NEGATIVE_INFINITY;
  if (lower === 'nan' || lower === '+nan' || lower === '-nan') return Number.NaN;
  return Number(raw);
}

function excerpt(text: string): string {
  const firstLine = text.trim().split('\n', 1)[0] ?? '';
  return firstLine.length > 80 ? `${firstLine.slice(0, 80)}...` : firstLine;
}

/** Parses a Prometheus text exposition. Throws NotPrometheusError if the body is not one. */
export function parsePrometheusText(text: string): ParsedMetrics {
  const normalized = text.replace(/\r\n?/g, '\n');
  if (normalized.trim().length === 0) {
    throw new NotPrometheusError('the body is empty, expected Prometheus text exposition');
  }
  let raw: parsePrometheusTextFormat.MetricFamily[];
  try {
    // The trailing newline is required: without it the library silently drops the last sample.
    raw = parsePrometheusTextFormat(normalized.endsWith('\n') ? normalized : `${normalized}\n`);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new NotPrometheusError(`the body is not Prometheus text exposition (${detail})`);
  }
  const families = new Map<string, MetricFamily>();
  for (const family of raw) {
    if (!METRIC_NAME.test(family.name)) {
      throw new NotPrometheusError(
        `the body is not Prometheus text exposition: "${excerpt(family.name)}" is not a metric name (body starts with "${excerpt(normalized)}")`,
      );
    }
    const samples: MetricSample[] = [];
    for (const sample of family.metrics) {
      if (sample.value === undefined) continue; // histogram/summary aggregates: not needed here
      if (!PROM_FLOAT.test(sample.value)) {
        throw new NotPrometheusError(
          `the body is not Prometheus text exposition: metric ${family.name} has value "${excerpt(sample.value)}"`,
        );
      }
      const timestampMs = sample.timestamp_ms === undefined ? undefined : Number(sample.timestamp_ms);
      samples.push({ labels: sample.labels ?? {}, value: parsePromFloat(sample.value), ...(timestampMs !== undefined && Number.isFinite(timestampMs) ? { timestampMs } : {}) });
    }
    const existing = families.get(family.name);
    if (existing) {
      existing.samples.push(...samples); // the same family split in two blocks: merge
    } else {
      families.set(family.name, { name: family.name, type: family.type, samples });
    }
  }
  if (families.size === 0) {
    throw new NotPrometheusError(
      `the body contains no Prometheus metrics (body starts with "${excerpt(normalized)}")`,
    );
  }
  return families;
}

export type LabelFilter = (labels: Record<string, string>) => boolean;

/** Sum of a metric over all label sets (optionally filtered); undefined when the family is absent. */
export function sumMetric(metrics: ParsedMetrics, name: string, filter?: LabelFilter): number | undefined {
  const family = metrics.get(name);
  if (!family) return undefined;
  let total = 0;
  for (const s of family.samples) {
    if (filter && !filter(s.labels)) continue;
    if (Number.isFinite(s.value)) total += s.value;
  }
  return total;
}

/** Sum of a metric grouped by the value of one label (missing label -> ""). */
export function sumByLabel(metrics: ParsedMetrics, name: string, label: string, filter?: LabelFilter): Record<string, number> {
  const out: Record<string, number> = {};
  const family = metrics.get(name);
  if (!family) return out;
  for (const s of family.samples) {
    if (filter && !filter(s.labels)) continue;
    if (!Number.isFinite(s.value)) continue;
    const key = s.labels[label] ?? '';
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

/** The first of `names` present in the exposition, with its sum. */
function firstPresent(metrics: ParsedMetrics, names: readonly string[], filter?: LabelFilter): { name: string; value: number } | undefined {
  for (const name of names) {
    const value = sumMetric(metrics, name, filter);
    if (value !== undefined) return { name, value };
  }
  return undefined;
}

export const TEMPO_METRICS = {
  spansReceived: 'tempo_distributor_spans_received_total',
  receiverAccepted: ['tempo_receiver_accepted_spans', 'tempo_receiver_accepted_spans_total'],
  receiverRefused: ['tempo_receiver_refused_spans', 'tempo_receiver_refused_spans_total'],
  ingesterAppends: 'tempo_distributor_ingester_appends_total',
  ingesterAppendFailures: 'tempo_distributor_ingester_append_failures_total',
  discardedSpans: 'tempo_discarded_spans_total',
  tracesCreated2x: 'tempo_ingester_traces_created_total',
  tracesCreated3x: 'tempo_live_store_traces_created_total',
  liveTraces2x: 'tempo_ingester_live_traces',
  liveTraces3x: 'tempo_live_store_live_traces',
  buildInfo: 'tempo_build_info',
} as const;

export type TracesCreatedMetric = typeof TEMPO_METRICS.tracesCreated2x | typeof TEMPO_METRICS.tracesCreated3x;

/** One reading of Tempo's /metrics, reduced to the ingestion-health counters (absent counters read 0). */
export interface TempoCounters {
  spansReceived: number;
  receiverAccepted: number;
  receiverRefused: number;
  ingesterAppends: number;
  ingesterAppendFailures: number;
  /** tempo_discarded_spans_total summed per `reason` label */
  discardedByReason: Record<string, number>;
  /** value of each traces-created counter that is present in this reading */
  tracesCreated: Partial<Record<TracesCreatedMetric, number>>;
  /** tempo_ingester_live_traces (2.x) or tempo_live_store_live_traces (3.x), if present */
  liveTraces?: number;
  /** `version` label of tempo_build_info, if present */
  tempoVersion?: string;
  /** any tempo_live_store_* family present: Tempo 3.x has them, but so does 2.10.x (registered, unused) */
  liveStoreSeen: boolean;
  /** any tempo_ingester_* family present: only Tempo 2.x has an ingester */
  ingesterSeen: boolean;
}

export function readTempoCounters(metrics: ParsedMetrics): TempoCounters {
  const tracesCreated: Partial<Record<TracesCreatedMetric, number>> = {};
  const created2x = sumMetric(metrics, TEMPO_METRICS.tracesCreated2x);
  if (created2x !== undefined) tracesCreated[TEMPO_METRICS.tracesCreated2x] = created2x;
  const created3x = sumMetric(metrics, TEMPO_METRICS.tracesCreated3x);
  if (created3x !== undefined) tracesCreated[TEMPO_METRICS.tracesCreated3x] = created3x;

  const buildInfo = metrics.get(TEMPO_METRICS.buildInfo);
  const tempoVersion = buildInfo?.samples.find((s) => s.labels['version'])?.labels['version'];
  const counters: TempoCounters = {
    spansReceived: sumMetric(metrics, TEMPO_METRICS.spansReceived) ?? 0,
    receiverAccepted: firstPresent(metrics, TEMPO_METRICS.receiverAccepted)?.value ?? 0,
    receiverRefused: firstPresent(metrics, TEMPO_METRICS.receiverRefused)?.value ?? 0,
    ingesterAppends: sumMetric(metrics, TEMPO_METRICS.ingesterAppends) ?? 0,
    ingesterAppendFailures: sumMetric(metrics, TEMPO_METRICS.ingesterAppendFailures) ?? 0,
    discardedByReason: sumByLabel(metrics, TEMPO_METRICS.discardedSpans, 'reason'),
    tracesCreated,
    liveStoreSeen: [...metrics.keys()].some((n) => n.startsWith('tempo_live_store_')),
    ingesterSeen: [...metrics.keys()].some((n) => n.startsWith('tempo_ingester_')),
  };
  const live = sumMetric(metrics, TEMPO_METRICS.liveTraces2x) ?? sumMetric(metrics, TEMPO_METRICS.liveTraces3x);
  if (live !== undefined) counters.liveTraces = live;
  if (tempoVersion !== undefined) counters.tempoVersion = tempoVersion;
  return counters;
}

export interface TracesCreatedChoice {
  metric: TracesCreatedMetric;
  /** whether the chosen counter was present in the reading taken after the traffic */
  present: boolean;
  /** why this counter was chosen, for the report */
  reason: string;
}

/**
 * Prefer Tempo 2.x's tempo_ingester_traces_created_total; fall back to Tempo 3.x's
 * tempo_live_store_traces_created_total when the 2.x counter is absent. When neither exists yet
 * (counters appear on first use), guess from tempo_build_info / tempo_live_store_* families.
 */
export function chooseTracesCreatedMetric(before: TempoCounters, after: TempoCounters): TracesCreatedChoice {
  const v2 = TEMPO_METRICS.tracesCreated2x;
  const v3 = TEMPO_METRICS.tracesCreated3x;
  if (after.tracesCreated[v2] !== undefined) return { metric: v2, present: true, reason: `${v2} is present (Tempo 2.x ingester)` };
  if (after.tracesCreated[v3] !== undefined) return { metric: v3, present: true, reason: `${v2} is absent and ${v3} is present (Tempo 3.x live-store)` };
  if (before.tracesCreated[v2] !== undefined) return { metric: v2, present: false, reason: `${v2} was present before the traffic only` };
  if (before.tracesCreated[v3] !== undefined) return { metric: v3, present: false, reason: `${v3} was present before the traffic only` };
  // The version Tempo reports decides. Without one, only an ingester says 2.x: Tempo 2.10 registers
  // the tempo_live_store_* families too (seen on the official 2.10.8 image), so they alone prove nothing.
  const major = Number.parseInt((after.tempoVersion ?? before.tempoVersion ?? '').replace(/^v/, ''), 10);
  const looksLike3x = Number.isFinite(major) ? major >= 3 : after.liveStoreSeen && !after.ingesterSeen;
  if (looksLike3x) {
    return { metric: v3, present: false, reason: `neither traces-created counter exists yet; Tempo looks like 3.x, so ${v3} (read as 0)` };
  }
  return { metric: v2, present: false, reason: `neither traces-created counter exists yet (no trace has been created since Tempo started); using ${v2} (read as 0)` };
}

/** Increase of a counter between two readings; a decrease means Tempo restarted (counter reset). */
export function counterIncrease(before: number, after: number): number {
  return after >= before ? after - before : after;
}

export interface TempoDelta {
  spansReceived: number;
  receiverAccepted: number;
  receiverRefused: number;
  ingesterAppends: number;
  ingesterAppendFailures: number;
  discardedByReason: Record<string, number>;
  discardedTotal: number;
  tracesCreated: number;
}

export function tempoDelta(before: TempoCounters, after: TempoCounters, created: TracesCreatedMetric): TempoDelta {
  const discardedByReason: Record<string, number> = {};
  let discardedTotal = 0;
  for (const reason of new Set([...Object.keys(before.discardedByReason), ...Object.keys(after.discardedByReason)])) {
    const inc = counterIncrease(before.discardedByReason[reason] ?? 0, after.discardedByReason[reason] ?? 0);
    if (inc > 0) {
      discardedByReason[reason] = inc;
      discardedTotal += inc;
    }
  }
  return {
    spansReceived: counterIncrease(before.spansReceived, after.spansReceived),
    receiverAccepted: counterIncrease(before.receiverAccepted, after.receiverAccepted),
    receiverRefused: counterIncrease(before.receiverRefused, after.receiverRefused),
    ingesterAppends: counterIncrease(before.ingesterAppends, after.ingesterAppends),
    ingesterAppendFailures: counterIncrease(before.ingesterAppendFailures, after.ingesterAppendFailures),
    discardedByReason,
    discardedTotal,
    tracesCreated: counterIncrease(before.tracesCreated[created] ?? 0, after.tracesCreated[created] ?? 0),
  };
}

/** Traces that must be counted for the rise to pass: ceil(fraction * sent), at least 1. */
export function requiredRise(tracesSent: number, minFraction: number): number {
  return Math.max(1, Math.ceil(tracesSent * minFraction - 1e-9));
}

export function riseReached(increase: number, tracesSent: number, minFraction: number): boolean {
  return tracesSent > 0 && increase >= requiredRise(tracesSent, minFraction);
}

// ---------------------------------------------------------------- collector

export const COLLECTOR_METRICS = {
  exporterSent: ['otelcol_exporter_sent_spans_total', 'otelcol_exporter_sent_spans'],
  exporterSendFailed: ['otelcol_exporter_send_failed_spans_total', 'otelcol_exporter_send_failed_spans'],
  receiverAccepted: ['otelcol_receiver_accepted_spans_total', 'otelcol_receiver_accepted_spans'],
  receiverRefused: ['otelcol_receiver_refused_spans_total', 'otelcol_receiver_refused_spans'],
} as const;

/** One reading of the collector's own telemetry, reduced to the span-flow counters. */
export interface CollectorCounters {
  /** spans the OTLP exporters (exporter label otlp*, or all exporters if none is named so) sent */
  exporterSent: number;
  exporterSendFailed: number;
  receiverAccepted: number;
  receiverRefused: number;
  /** exporters counted above */
  exporters: string[];
}

export function readCollectorCounters(metrics: ParsedMetrics): CollectorCounters {
  const names = new Set<string>();
  for (const group of [COLLECTOR_METRICS.exporterSent, COLLECTOR_METRICS.exporterSendFailed]) {
    for (const name of group) {
      for (const s of metrics.get(name)?.samples ?? []) {
        const exporter = s.labels['exporter'];
        if (exporter) names.add(exporter);
      }
    }
  }
  // A debug exporter in the same pipeline would mask a failing Tempo exporter: count OTLP ones.
  const otlp = [...names].filter((n) => n.startsWith('otlp'));
  const counted = otlp.length > 0 ? otlp : [...names];
  const isCounted: LabelFilter = (labels) => counted.length === 0 || counted.includes(labels['exporter'] ?? '');
  return {
    exporterSent: firstPresent(metrics, COLLECTOR_METRICS.exporterSent, isCounted)?.value ?? 0,
    exporterSendFailed: firstPresent(metrics, COLLECTOR_METRICS.exporterSendFailed, isCounted)?.value ?? 0,
    receiverAccepted: firstPresent(metrics, COLLECTOR_METRICS.receiverAccepted)?.value ?? 0,
    receiverRefused: firstPresent(metrics, COLLECTOR_METRICS.receiverRefused)?.value ?? 0,
    exporters: counted.sort(),
  };
}

export interface CollectorDelta {
  exporterSent: number;
  exporterSendFailed: number;
  receiverAccepted: number;
  receiverRefused: number;
}

export function collectorDelta(before: CollectorCounters, after: CollectorCounters): CollectorDelta {
  return {
    exporterSent: counterIncrease(before.exporterSent, after.exporterSent),
    exporterSendFailed: counterIncrease(before.exporterSendFailed, after.exporterSendFailed),
    receiverAccepted: counterIncrease(before.receiverAccepted, after.receiverAccepted),
    receiverRefused: counterIncrease(before.receiverRefused, after.receiverRefused),
  };
}

// ---------------------------------------------------------------- metrics-generator

/** Tempo's metrics-generator and its remote-write queues, as Tempo's own /metrics shows them. */
export const GENERATOR_METRICS = {
  spansReceived: 'tempo_metrics_generator_spans_received_total',
  activeProcessors: 'tempo_metrics_generator_active_processors',
  serviceGraphEdges: 'tempo_metrics_generator_processor_service_graphs_edges',
  serviceGraphExpiredEdges: 'tempo_metrics_generator_processor_service_graphs_expired_edges',
  serviceGraphDroppedSpans: 'tempo_metrics_generator_processor_service_graphs_dropped_spans',
  remoteSamplesTotal: 'prometheus_remote_storage_samples_total',
  remoteSamplesFailed: 'prometheus_remote_storage_samples_failed_total',
  remoteSamplesRetried: 'prometheus_remote_storage_samples_retried_total',
  remoteSamplesPending: 'prometheus_remote_storage_samples_pending',
} as const;

/** The processors the span metrics and the service graph come from (`processor` label values). */
export const GENERATOR_PROCESSORS = ['span-metrics', 'service-graphs'] as const;

/** One remote-write queue (labels `{remote_name, tenant, url}`), summed per `url`. */
export interface RemoteWriteCounters {
  /** prometheus_remote_storage_samples_total: samples sent */
  samplesTotal: number;
  /** prometheus_remote_storage_samples_failed_total: non-recoverable send errors */
  samplesFailed: number;
  /** prometheus_remote_storage_samples_retried_total: recoverable send errors (TLS, connection, 5xx) */
  samplesRetried: number;
  /** prometheus_remote_storage_samples_pending (gauge) */
  samplesPending: number;
}

/** One reading of the metrics-generator counters (families appear on first use: absent reads as noted). */
export interface GeneratorCounters {
  /** tempo_metrics_generator_spans_received_total; absent when the generator never received a span */
  spansReceived?: number;
  /** tempo_metrics_generator_active_processors by `processor`; absent when the family is */
  activeProcessors?: Record<string, number>;
  serviceGraphEdges: number;
  serviceGraphExpiredEdges: number;
  serviceGraphDroppedSpans: number;
  /** remote-write queues by `url` label */
  remoteWrite: Record<string, RemoteWriteCounters>;
}

export function readGeneratorCounters(metrics: ParsedMetrics): GeneratorCounters {
  const spans = sumMetric(metrics, GENERATOR_METRICS.spansReceived);
  const counters: GeneratorCounters = {
    ...(spans !== undefined ? { spansReceived: spans } : {}),
    ...(metrics.has(GENERATOR_METRICS.activeProcessors) ? { activeProcessors: sumByLabel(metrics, GENERATOR_METRICS.activeProcessors, 'processor') } : {}),
    serviceGraphEdges: sumMetric(metrics, GENERATOR_METRICS.serviceGraphEdges) ?? 0,
    serviceGraphExpiredEdges: sumMetric(metrics, GENERATOR_METRICS.serviceGraphExpiredEdges) ?? 0,
    serviceGraphDroppedSpans: sumMetric(metrics, GENERATOR_METRICS.serviceGraphDroppedSpans) ?? 0,
    remoteWrite: {},
  };
  const fields: [keyof RemoteWriteCounters, string][] = [
    ['samplesTotal', GENERATOR_METRICS.remoteSamplesTotal],
    ['samplesFailed', GENERATOR_METRICS.remoteSamplesFailed],
    ['samplesRetried', GENERATOR_METRICS.remoteSamplesRetried],
    ['samplesPending', GENERATOR_METRICS.remoteSamplesPending],
  ];
  for (const [field, name] of fields) {
    for (const [url, value] of Object.entries(sumByLabel(metrics, name, 'url'))) {
      // prometheus_remote_storage_samples_in_total and friends carry no url: they are not queues.
      if (url === '') continue;
      const queue = (counters.remoteWrite[url] ??= { samplesTotal: 0, samplesFailed: 0, samplesRetried: 0, samplesPending: 0 });
      queue[field] += value;
    }
  }
  return counters;
}

export interface RemoteWriteDelta {
  samplesTotal: number;
  samplesFailed: number;
  samplesRetried: number;
  /** the gauge in the last reading */
  samplesPending: number;
}

export interface GeneratorDelta {
  /** undefined when the counter is absent in the last reading */
  spansReceived?: number;
  serviceGraphEdges: number;
  serviceGraphExpiredEdges: number;
  serviceGraphDroppedSpans: number;
  remoteWrite: Record<string, RemoteWriteDelta>;
}

export function generatorDelta(before: GeneratorCounters, after: GeneratorCounters): GeneratorDelta {
  const delta: GeneratorDelta = {
    ...(after.spansReceived !== undefined ? { spansReceived: counterIncrease(before.spansReceived ?? 0, after.spansReceived) } : {}),
    serviceGraphEdges: counterIncrease(before.serviceGraphEdges, after.serviceGraphEdges),
    serviceGraphExpiredEdges: counterIncrease(before.serviceGraphExpiredEdges, after.serviceGraphExpiredEdges),
    serviceGraphDroppedSpans: counterIncrease(before.serviceGraphDroppedSpans, after.serviceGraphDroppedSpans),
    remoteWrite: {},
  };
  for (const [url, a] of Object.entries(after.remoteWrite)) {
    const b = before.remoteWrite[url] ?? { samplesTotal: 0, samplesFailed: 0, samplesRetried: 0, samplesPending: 0 };
    delta.remoteWrite[url] = {
      samplesTotal: counterIncrease(b.samplesTotal, a.samplesTotal),
      samplesFailed: counterIncrease(b.samplesFailed, a.samplesFailed),
      samplesRetried: counterIncrease(b.samplesRetried, a.samplesRetried),
      samplesPending: a.samplesPending,
    };
  }
  return delta;
}
