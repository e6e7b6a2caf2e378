import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BurstLoggingExporter } from '../src/export-logging';
import type { LogFields, Logger } from '../src/log';

interface Logged {
  level: 'info' | 'warn' | 'error';
  message: string;
  fields?: LogFields;
}

function capturingLogger(): { logger: Logger; lines: Logged[] } {
  const lines: Logged[] = [];
  return {
    lines,
    logger: {
      info: (message, fields) => lines.push({ level: 'info', message, fields }),
      warn: (message, fields) => lines.push({ level: 'warn', message, fields }),
      error: (message, fields) => lines.push({ level: 'error', message, fields }),
    },
  };
}

/** An exporter whose next results the test scripts: true succeeds, false fails like an unreachable collector. */
class ScriptedExporter implements SpanExporter {
  shutdowns = 0;
  constructor(private readonly outcomes: boolean[]) {}
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const ok = this.outcomes.shift() ?? true;
    done(ok ? { code: ExportResultCode.SUCCESS } : { code: ExportResultCode.FAILED, error: new Error('14 UNAVAILABLE: No connection established') });
  }
  async shutdown(): Promise<void> {
    this.shutdowns += 1;
  }
}

const ENDPOINT = 'https://collector:4317';
const spans = (n: number): ReadableSpan[] => new Array<ReadableSpan>(n);

function exportOnce(exporter: SpanExporter, n: number): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans(n), resolve));
}

describe('BurstLoggingExporter', () => {
  it('logs one error at the start of a run of failures, with the endpoint and the error, and one line on recovery', async () => {
    const { logger, lines } = capturingLogger();
    const exporter = new BurstLoggingExporter(new ScriptedExporter([false, false, false, true, true]), ENDPOINT, logger);
    const results = [];
    for (const n of [2, 3, 4, 1, 1]) results.push((await exportOnce(exporter, n)).code);

    assert.deepEqual(results, [ExportResultCode.FAILED, ExportResultCode.FAILED, ExportResultCode.FAILED, ExportResultCode.SUCCESS, ExportResultCode.SUCCESS]);
    assert.equal(lines.length, 2, JSON.stringify(lines));
    assert.equal(lines[0].level, 'error');
    assert.equal(lines[0].fields?.endpoint, ENDPOINT);
    assert.match(String(lines[0].fields?.error), /UNAVAILABLE/);
    assert.equal(lines[1].level, 'info');
    assert.match(lines[1].message, /recovered/);
    assert.deepEqual(lines[1].fields, { endpoint: ENDPOINT, failed_batches: 3, dropped_spans: 9 });
  });

  it('starts a new burst, with a new error line, when failures come back after a recovery', async () => {
    const { logger, lines } = capturingLogger();
    const exporter = new BurstLoggingExporter(new ScriptedExporter([false, true, false, false]), ENDPOINT, logger);
    for (let i = 0; i < 4; i += 1) await exportOnce(exporter, 1);
    assert.deepEqual(
      lines.map((l) => l.level),
      ['error', 'info', 'error'],
    );
  });

  it('stays silent while exports succeed', async () => {
    const { logger, lines } = capturingLogger();
    const exporter = new BurstLoggingExporter(new ScriptedExporter([true, true, true]), ENDPOINT, logger);
    for (let i = 0; i < 3; i += 1) await exportOnce(exporter, 5);
    assert.deepEqual(lines, []);
  });

  it('reports the spans lost in an unfinished burst at shutdown and shuts the real exporter down', async () => {
    const { logger, lines } = capturingLogger();
    const inner = new ScriptedExporter([false, false]);
    const exporter = new BurstLoggingExporter(inner, ENDPOINT, logger);
    await exportOnce(exporter, 2);
    await exportOnce(exporter, 2);
    await exporter.shutdown();
    assert.equal(inner.shutdowns, 1);
    assert.equal(lines.length, 2);
    assert.deepEqual(lines[1].fields, { endpoint: ENDPOINT, failed_batches: 2, dropped_spans: 4 });
  });
});
