/**
 * Synthetic traffic when there is no app: creates `count` traces of two spans each with the
 * OpenTelemetry SDK and exports them with the OTLP/HTTP exporter to `<otlpHttpUrl>/v1/traces`,
 * trusting exactly the stack CA (the exporter's https agent gets `ca`; verification stays on) and,
 * under mutual TLS, presenting the verifier's client certificate (`cert` and `key`).
 */
import { context, trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { classifyError, HttpFailure } from './http';
import type { ClientCertificate } from './options';

export const SYNTHETIC_SERVICE_NAME = 'tracing-stack-verify';
export const SPANS_PER_SYNTHETIC_TRACE = 2;

export function otlpTracesUrl(otlpHttpUrl: string): string {
  const base = otlpHttpUrl.replace(/\/+$/, '');
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
}

export interface SyntheticResult {
  traceIds: string[];
  spansSent: number;
  url: string;
  /** set when the endpoint answered the export with an HTTP error: the spans reached it and were refused */
  rejected?: string;
}

export async function sendSyntheticTraces(opts: {
  otlpHttpUrl: string;
  caPem: string;
  caDescription: string;
  clientCertificate?: ClientCertificate;
  /** describeClientCertificate() of it, for messages */
  clientCertDescription?: string;
  count: number;
  timeoutMs: number;
}): Promise<SyntheticResult> {
  const url = otlpTracesUrl(opts.otlpHttpUrl);
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': SYNTHETIC_SERVICE_NAME }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  const tracer = provider.getTracer('tracing-stack-verifier');
  const traceIds: string[] = [];
  for (let i = 0; i < opts.count; i++) {
    const root = tracer.startSpan('verify-root', { attributes: { 'verify.sequence': i } });
    const child = tracer.startSpan('verify-child', {}, trace.setSpan(context.active(), root));
    child.end();
    root.end();
    traceIds.push(root.spanContext().traceId);
  }
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();

  const exporter = new OTLPTraceExporter({
    url,
    timeoutMillis: Math.max(100, Math.floor(opts.timeoutMs)),
    // Only the stack CA is trusted; rejectUnauthorized stays at its default (true).
    httpAgentOptions: {
      ca: opts.caPem,
      ...(opts.clientCertificate ? { cert: opts.clientCertificate.certPem, key: opts.clientCertificate.keyPem } : {}),
      keepAlive: false,
    },
  });
  let rejected: string | undefined;
  try {
    const result = await new Promise<{ code: ExportResultCode; error?: Error }>((resolve) => exporter.export(spans, resolve));
    if (result.code !== ExportResultCode.SUCCESS) {
      const err = result.error;
      const status = err && 'code' in err && typeof err.code === 'number' ? err.code : undefined;
      if (status !== undefined || err?.name === 'OTLPExporterError') {
        // The endpoint answered with an HTTP error (4xx, or 429/5xx until the retries ran out):
        // the spans got there, so Tempo's counters can still tell what happened to them.
        rejected = `the OTLP endpoint ${url} rejected the synthetic spans${status !== undefined ? ` with HTTP ${status}` : ' (HTTP 429/5xx until the retries ran out)'}: ${err?.message || 'no detail'}`;
      } else {
        if (err && /timed out/i.test(err.message)) {
          throw new HttpFailure('timeout', url, `no answer from ${url} in time (timeout)`, 'ETIMEDOUT');
        }
        // The exporter's sockets are out of sight: a refusal by hanging up reads as a reset here; the
        // collector (Go) refuses with an alert, which is recognised.
        throw classifyError(err ?? new Error('export failed'), url, opts.caDescription, opts.clientCertDescription ? { clientCertificate: opts.clientCertDescription } : {});
      }
    }
  } finally {
    await exporter.shutdown().catch(() => undefined);
    await provider.shutdown().catch(() => undefined);
  }
  return { traceIds, spansSent: spans.length, url, ...(rejected ? { rejected } : {}) };
}
