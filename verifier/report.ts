/**
 * VerifyResult -> human summary (stdout) or one JSON document (stdout, --json).
 */
import type { Diagnosis } from './diagnose';
import { TEMPO_METRICS, type TempoCounters } from './tempoMetrics';
import type { VerifyResult } from './verify';

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
  return `${head}: ${result.traffic.tracesSent} traces sent, ${created}, ${found}, in ${(result.timings.elapsedMs / 1000).toFixed(1)} s${codes}`;
}

/**
 * The report for a failed deployment: headline and diagnosis first (what the user must act on),
 * then the details of the run.
 */
export function formatDiagnosisFirst(result: VerifyResult): string {
  const out: string[] = [`Tempo ingestion check: ${HEADLINE[result.outcome]}`, ''];
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

export function formatHuman(result: VerifyResult): string {
  const out: string[] = [];
  out.push(`Tempo ingestion check: ${HEADLINE[result.outcome]}`);
  out.push('');
  out.push(`  Tempo      ${result.tempoUrl}${result.tempoVersion ? ` (Tempo ${result.tempoVersion})` : ''}${result.stack ? ` [stack ${result.stack}]` : ''}`);
  out.push(`  Trust      ${result.caSource}`);
  const t = result.traffic;
  const via = t.kind === 'app' ? `app ${t.url}` : `synthetic OTLP spans to ${t.url}`;
  out.push(
    `  Traffic    ${via}: ${t.tracesSent} of ${t.tracesRequested} traces sent` +
      (t.requests !== undefined ? ` (${t.requests} requests)` : '') +
      (t.spansSent !== undefined ? ` (${t.spansSent} spans)` : ''),
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
