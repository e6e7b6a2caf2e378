/**
 * VerifyResult -> human summary (stdout) or one JSON document (stdout, --json).
 */
import type { Diagnosis } from './diagnose';
import { TEMPO_METRICS, type TempoCounters } from './tempoMetrics';
import type { MetricsSection, VerifyResult } from './verify';

export const JSON_SCHEMA = 'tracing-stack-verify/v1';

export function toJson(result: VerifyResult): string {
  return `${JSON.stringify({ schema: JSON_SCHEMA, summary: summaryLine(result), ...result }, null, 2)}\n`;
}

/** One line a deployment can show: what was sent, counted, found, and how long it took. */
export function summaryLine(result: VerifyResult): string {
  const created = result.counters ? `${result.tracesCreated?.metric ?? 'traces created'} +${fmt(result.counters.delta.tracesCreated)}` : 'traces created: not read';
  const found = `${result.lookup.found} of ${result.lookup.looked} looked up found`;
  const head = result.outcome === 'verified' ? 'verified' : result.outcome === 'not_verified' ? 'NOT verified' : 'could not verify';
  const codes = result.diagnoses.length > 0 ? ` [${result.diagnoses.map((d) => d.code).join(', ')}]` : '';
  const metrics = result.metrics ? `, ${metricsSummary(result.metrics)}` : '';
  return `${head}: ${result.traffic.tracesSent} traces sent, ${created}, ${found}, in ${(result.timings.elapsedMs / 1000).toFixed(1)} s${metrics}${codes}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * "span metrics and edge A -> B in Prometheus after 21.3 s" (the later of the two), or what is missing:
 * "span metrics of A in Prometheus after 3.0 s, edge A -> B not in Prometheus".
 */
export function metricsSummary(m: MetricsSection): string {
  const edge = `edge ${m.serviceGraphEdge.client} -> ${m.serviceGraphEdge.server}`;
  const spanSeen = m.spanMetrics.seenAfterMs;
  const edgeSeen = m.serviceGraphEdge.seenAfterMs;
  if (spanSeen !== null && edgeSeen !== null) return `span metrics and ${edge} in Prometheus after ${seconds(Math.max(spanSeen, edgeSeen))}`;
  const span = spanSeen !== null ? `span metrics of ${m.spanMetrics.service} in Prometheus after ${seconds(spanSeen)}` : `span metrics of ${m.spanMetrics.service} not in Prometheus`;
  const edgePart = edgeSeen !== null ? `${edge} in Prometheus after ${seconds(edgeSeen)}` : `${edge} not in Prometheus`;
  return `${span}, ${edgePart}`;
}

/**
 * The report for a failed deployment: headline and diagnosis first (what the user must act on),
 * then the details of the run.
 */
export function formatDiagnosisFirst(result: VerifyResult): string {
  const out: string[] = [`Tempo ingestion check: ${headline(result)}`, ''];
  if (result.diagnoses.length > 0) {
    out.push('Diagnosis:', ...diagnosisLines(result.diagnoses, '  '), '');
  }
  const details = formatHuman({ ...result, diagnoses: [] }).split('\n').slice(2);
  out.push('Details:', ...details);
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}

const HEADLINE: Record<VerifyResult['outcome'], string> = {
  verified: 'VERIFIED — traces sent through the stack are stored in Tempo',
  not_verified: 'NOT VERIFIED — traces did not get stored in Tempo',
  unreachable: 'COULD NOT VERIFY — Tempo or the traffic source could not be reached',
};

/** With a metrics section the traces were stored: the headline says what the rest is about. */
const METRICS_HEADLINE: Record<VerifyResult['outcome'], string> = {
  verified: 'VERIFIED — traces sent through the stack are stored in Tempo, and their span metrics and service graph are in Prometheus',
  not_verified: 'NOT VERIFIED — traces are stored in Tempo, but their span metrics / service-graph edge did not show up in Prometheus',
  unreachable: 'COULD NOT VERIFY — traces are stored in Tempo, but Prometheus could not be queried',
};

function headline(result: VerifyResult): string {
  return (result.metrics ? METRICS_HEADLINE : HEADLINE)[result.outcome];
}

function fmt(n: number | undefined): string {
  if (n === undefined) return '-';
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

function counterRows(before: TempoCounters, after: TempoCounters, createdMetric: string): [string, number | undefined, number | undefined][] {
  const discarded = (c: TempoCounters): number => Object.values(c.discardedByReason).reduce((a, b) => a + b, 0);
  return [
    [TEMPO_METRICS.spansReceived, before.spansReceived, after.spansReceived],
    [TEMPO_METRICS.receiverAccepted[0], before.receiverAccepted, after.receiverAccepted],
    [TEMPO_METRICS.receiverRefused[0], before.receiverRefused, after.receiverRefused],
    [TEMPO_METRICS.ingesterAppends, before.ingesterAppends, after.ingesterAppends],
    [TEMPO_METRICS.ingesterAppendFailures, before.ingesterAppendFailures, after.ingesterAppendFailures],
    [TEMPO_METRICS.discardedSpans, discarded(before), discarded(after)],
    [createdMetric, before.tracesCreated[createdMetric as keyof TempoCounters['tracesCreated']], after.tracesCreated[createdMetric as keyof TempoCounters['tracesCreated']]],
  ];
}

function diagnosisLines(list: Diagnosis[], indent: string): string[] {
  const lines: string[] = [];
  for (const d of list) {
    lines.push(`${indent}[${d.code}] ${d.message}`);
    if (d.configKeys.length > 0) {
      lines.push(`${indent}  check:`);
      for (const key of d.configKeys) lines.push(`${indent}    - ${key}`);
    }
  }
  return lines;
}

function count(n: number | null, word: string): string {
  return n === null ? `no ${word} (no series)` : `${fmt(n)} ${word}`;
}

function metricsLines(m: MetricsSection): string[] {
  const lines: string[] = [];
  const seen = (ms: number | null): string => (ms === null ? 'not seen before the deadline' : `seen after ${seconds(ms)}`);
  const e = m.serviceGraphEdge;
  lines.push(`  Prometheus ${m.prometheusUrl}`);
  lines.push(`             span metrics of ${m.spanMetrics.service}: ${count(m.spanMetrics.calls, 'calls')}, ${seen(m.spanMetrics.seenAfterMs)}`);
  lines.push(
    `             edge ${e.client} -> ${e.server}: ${count(e.requests, 'requests')}${e.failed !== null ? `, ${fmt(e.failed)} failed` : ''}, ${seen(e.seenAfterMs)}`,
  );
  if (m.lastError) lines.push(`             ! ${m.lastError}`);
  const g = m.tempoGenerator;
  if (g) {
    const processors = g.after.activeProcessors
      ? ['span-metrics', 'service-graphs'].map((p) => `${p}=${fmt(g.after.activeProcessors?.[p] ?? 0)}`).join(', ')
      : 'not reported';
    lines.push(
      `  Generator  spans received ${g.delta.spansReceived === undefined ? 'absent' : `+${fmt(g.delta.spansReceived)}`}; active processors ${processors}` +
        `; service graph dropped spans +${fmt(g.delta.serviceGraphDroppedSpans)}, expired edges +${fmt(g.delta.serviceGraphExpiredEdges)}`,
    );
    const queues = Object.entries(g.delta.remoteWrite);
    if (queues.length === 0) lines.push('             remote write: no queue');
    for (const [url, q] of queues) {
      lines.push(`             remote write ${url}: +${fmt(q.samplesTotal)} samples sent, +${fmt(q.samplesFailed)} failed, +${fmt(q.samplesRetried)} retried, ${fmt(q.samplesPending)} pending`);
    }
  }
  return lines;
}

export function formatHuman(result: VerifyResult): string {
  const out: string[] = [];
  out.push(`Tempo ingestion check: ${headline(result)}`);
  out.push('');
  out.push(`  Tempo      ${result.tempoUrl}${result.tempoVersion ? ` (Tempo ${result.tempoVersion})` : ''}${result.stack ? ` [stack ${result.stack}]` : ''}`);
  out.push(`  Trust      ${result.caSource}`);
  const cc = result.clientCertificate;
  if (cc) out.push(`  Client     certificate "${cc.subject}" issued by "${cc.issuer}" from ${cc.certSource}, key from ${cc.keySource}`);
  const t = result.traffic;
  const via = t.kind === 'app' ? `app ${t.url}` : `synthetic OTLP spans to ${t.url}`;
  out.push(
    `  Traffic    ${via}: ${t.tracesSent} of ${t.tracesRequested} traces sent` +
      (t.requests !== undefined ? ` (${t.requests} requests)` : '') +
      (t.spansSent !== undefined ? ` (${t.spansSent} spans)` : '') +
      (t.failingRequests ? `, ${t.failingRequests} with fail=1 on purpose` : ''),
  );
  for (const p of t.problems.slice(0, 3)) out.push(`             ! ${p}`);

  if (result.counters && result.tracesCreated) {
    const { before, after, delta, required } = result.counters;
    const metric = result.tracesCreated.metric;
    out.push(`  Counter    ${metric}: rose by ${fmt(delta.tracesCreated)}, needed ${required} (${result.tracesCreated.reason})`);
    out.push('');
    const rows = counterRows(before, after, metric);
    const width = Math.max(...rows.map((r) => r[0].length));
    out.push(`  ${'counter'.padEnd(width)}  ${'before'.padStart(8)}  ${'after'.padStart(8)}  ${'change'.padStart(8)}`);
    for (const [name, b, a] of rows) {
      const change = a !== undefined || b !== undefined ? (a ?? 0) - (b ?? 0) : undefined;
      out.push(`  ${name.padEnd(width)}  ${fmt(b).padStart(8)}  ${fmt(a).padStart(8)}  ${(change === undefined ? '-' : change >= 0 ? `+${fmt(change)}` : fmt(change)).padStart(8)}`);
    }
    const reasons = Object.entries(delta.discardedByReason);
    if (reasons.length > 0) out.push(`  discarded by reason: ${reasons.map(([r, n]) => `${r}=${n}`).join(', ')}`);
    out.push('');
  }

  if (result.collector) {
    const c = result.collector;
    if (c.delta) {
      out.push(
        `  Collector  ${c.url}: received +${fmt(c.delta.receiverAccepted)} spans, exported +${fmt(c.delta.exporterSent)}, export failures +${fmt(c.delta.exporterSendFailed)}` +
          (c.after?.exporters.length ? ` (exporters: ${c.after.exporters.join(', ')})` : ''),
      );
    }
    if (c.error) out.push(`  Collector  ${c.error}`);
  }

  if (result.stage === 'done' || result.lookup.looked > 0) {
    const example = result.lookup.foundTraces[0];
    out.push(
      `  Lookup     ${result.lookup.found} of ${result.lookup.looked} trace ids looked up were found` +
        (example ? ` (e.g. ${example.traceId}: ${example.spanCount} spans${example.services.length ? ` from ${example.services.join(', ')}` : ''} via ${example.api === 'v2' ? '/api/v2/traces' : '/api/traces'})` : '') +
        (result.lookup.lastError ? `; last error: ${result.lookup.lastError}` : ''),
    );
  }
  if (result.metrics) out.push(...metricsLines(result.metrics));
  out.push(`  Time       ${(result.timings.elapsedMs / 1000).toFixed(1)} s (deadline ${result.timings.deadlineSeconds} s${result.timings.readyAfterMs !== undefined ? `, ready after ${(result.timings.readyAfterMs / 1000).toFixed(1)} s` : ''})`);
  for (const note of result.notes.slice(0, 3)) out.push(`  Note       ${note}`);

  if (result.diagnoses.length > 0) {
    out.push('');
    out.push('Diagnosis:');
    out.push(...diagnosisLines(result.diagnoses, '  '));
  }
  if (result.warnings.length > 0) {
    out.push('');
    out.push('Warnings:');
    out.push(...diagnosisLines(result.warnings, '  '));
  }
  out.push('');
  out.push(`exit ${result.exitCode}`);
  return `${out.join('\n')}\n`;
}
