/**
 * Tempo /metrics with the metrics-generator, built from the real recording
 * fixtures/recorded/tempo-generator-healthy.prom (Tempo of this stack, span-metrics and
 * service-graphs on, remote-writing to https://prometheus:9090/api/v1/write, healthy).
 *
 * The generator families (tempo_metrics_generator_*, tempo_distributor_metrics_generator_*,
 * prometheus_remote_storage_*) are cut out of the recording verbatim; a broken variant changes only
 * the sample values a test names (e.g. samples_retried_total rising) or drops a family. They are
 * appended to the scripted ingestion counters of healthyMetrics(), so the traces verify as usual.
 */
import { fixture, healthyMetrics, type MetricsContext } from './fakeStack';

export const GENERATOR_RECORDING = 'recorded/tempo-generator-healthy.prom';
export const REMOTE_WRITE_URL = 'https://prometheus:9090/api/v1/write';

const GENERATOR_FAMILY = /^(tempo_metrics_generator_|tempo_distributor_metrics_generator_|prometheus_remote_storage_)/;

function familyOf(line: string): string {
  if (line.startsWith('# ')) return line.split(' ')[2] ?? '';
  return /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? '';
}

/** The generator families of a /metrics text, HELP/TYPE lines included. */
export function generatorSection(text: string): string {
  return `${text
    .split('\n')
    .filter((line) => line.trim() !== '' && GENERATOR_FAMILY.test(familyOf(line)))
    .join('\n')}\n`;
}

/** Sets the value of every sample of `name` whose label text contains `labels` (e.g. 'processor="span-metrics"'). */
export function setSample(text: string, name: string, value: number, labels = ''): string {
  let hits = 0;
  const out = text
    .split('\n')
    .map((line) => {
      if (line.startsWith('#')) return line;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)(.*)$/.exec(line);
      if (!m || m[1] !== name || !(m[2] ?? '').includes(labels)) return line;
      hits += 1;
      return `${m[1]}${m[2] ?? ''} ${value}${m[4] ?? ''}`;
    })
    .join('\n');
  if (hits === 0) throw new Error(`setSample: no sample ${name}{${labels}} in the text`);
  return out;
}

/** Removes a family (HELP, TYPE and samples). */
export function dropFamily(text: string, name: string): string {
  return text
    .split('\n')
    .filter((line) => familyOf(line) !== name)
    .join('\n');
}

/** The values a test sets; anything not named keeps the recorded value. */
export interface GeneratorState {
  /** tempo_metrics_generator_spans_received_total; null drops the family (never received a span) */
  spansReceived?: number | null;
  spanMetricsProcessor?: number;
  serviceGraphsProcessor?: number;
  samplesTotal?: number;
  samplesFailed?: number;
  samplesRetried?: number;
  samplesPending?: number;
  droppedSpans?: number;
  expiredEdges?: number;
}

export function generatorText(state: GeneratorState = {}): string {
  let text = generatorSection(fixture(GENERATOR_RECORDING));
  const set = (name: string, value: number | undefined, labels = ''): void => {
    if (value !== undefined) text = setSample(text, name, value, labels);
  };
  if (state.spansReceived === null) text = dropFamily(text, 'tempo_metrics_generator_spans_received_total');
  else set('tempo_metrics_generator_spans_received_total', state.spansReceived);
  set('tempo_metrics_generator_active_processors', state.spanMetricsProcessor, 'processor="span-metrics"');
  set('tempo_metrics_generator_active_processors', state.serviceGraphsProcessor, 'processor="service-graphs"');
  const queue = `url="${REMOTE_WRITE_URL}"`;
  set('prometheus_remote_storage_samples_total', state.samplesTotal, queue);
  set('prometheus_remote_storage_samples_failed_total', state.samplesFailed, queue);
  set('prometheus_remote_storage_samples_retried_total', state.samplesRetried, queue);
  set('prometheus_remote_storage_samples_pending', state.samplesPending, queue);
  set('tempo_metrics_generator_processor_service_graphs_dropped_spans', state.droppedSpans);
  set('tempo_metrics_generator_processor_service_graphs_expired_edges', state.expiredEdges);
  return text;
}

/** Before the traffic in the healthy recording's terms: fewer spans received, fewer samples sent. */
export const GENERATOR_BEFORE: GeneratorState = { spansReceived: 20, samplesTotal: 100 };

/** Healthy ingestion (counts every trace sent) + the generator section: `before` until the traffic, `after` from then on. */
export function tempoWithGenerator(before: GeneratorState, after: GeneratorState): (ctx: MetricsContext) => string {
  const ingestion = healthyMetrics('2.x');
  const beforeText = generatorText(before);
  const afterText = generatorText(after);
  return (ctx) => `${ingestion(ctx)}${ctx.sent === 0 ? beforeText : afterText}`;
}
