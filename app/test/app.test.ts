/**
 * The service in-process with the real telemetry setup (startTelemetry), exporting into an
 * in-memory exporter through the same batch processor, so the spans asserted here are the spans
 * the OTLP exporter would send.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../src/config';
import type { AppServer } from '../src/http-server';
import type { Logger } from '../src/log';
import type { ReadinessState } from '../src/routes/monitoring';
import { startTelemetry, type Telemetry } from '../src/telemetry';

const TRACE_ID = /^[0-9a-f]{32}$/;
const silent: Logger = { info: () => {}, warn: () => {}, error: () => {} };

describe('instrumented app (in-memory exporter)', () => {
  const exporter = new InMemorySpanExporter();
  let telemetry: Telemetry;
  let server: AppServer;
  let closeServer: (server: AppServer, graceMs: number) => Promise<void>;
  let baseUrl: string;
  let readiness: ReadinessState = 'ready';

  before(async () => {
    // Read by the SDK's env detector, as in production.
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'service.version=9.9.9,deployment.environment=unit-test';
    const config = parseConfig({
      OTEL_SERVICE_NAME: 'unit-test-app',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317',
      OTEL_EXPORTER_OTLP_INSECURE: 'true',
    });
    telemetry = startTelemetry({ config, logger: silent, exporter });
    // Loaded after the SDK started, exactly like server.ts does.
    const { createRequestListener } = await import('../src/app');
    const { RequestMetrics } = await import('../src/metrics');
    const httpServer = await import('../src/http-server');
    closeServer = httpServer.closeServer;
    server = httpServer.createAppServer(undefined, createRequestListener({ metrics: new RequestMetrics(), readiness: { state: () => readiness }, logger: silent, serviceName: 'unit-test-app' }));
    const address = await httpServer.listen(server, 0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${address.port}`;
  });

  after(async () => {
    await closeServer(server, 100);
    await telemetry.shutdown();
  });

  /** Flushes until the trace's server span (the last to end) has been exported. */
  async function exportedTrace(traceId: string): Promise<ReadableSpan[]> {
    for (const deadline = Date.now() + 5_000; Date.now() < deadline; ) {
      await telemetry.forceFlush();
      const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
      if (spans.some((s) => s.kind === SpanKind.SERVER)) return spans;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no server span exported for trace ${traceId}`);
  }

  const byName = (spans: ReadableSpan[], name: string): ReadableSpan => {
    const span = spans.find((s) => s.name === name);
    assert.ok(span, `no span named ${name} among ${spans.map((s) => s.name).join(', ')}`);
    return span;
  };

  it('answers /api/work with the trace id in x-trace-id, traceparent and the body, all naming the exported trace', async () => {
    const res = await fetch(`${baseUrl}/api/work?depth=3`);
    assert.equal(res.status, 200);
    const traceId = res.headers.get('x-trace-id') ?? '';
    assert.match(traceId, TRACE_ID);
    const body = (await res.json()) as { service: string; traceId: string; depth: number; levels: { level: number }[]; downstream?: unknown };
    assert.equal(body.traceId, traceId);
    assert.equal(body.service, 'unit-test-app');
    assert.deepEqual(body.levels.map((l) => l.level), [1, 2, 3]);
    assert.equal(body.downstream, undefined, 'no DOWNSTREAM_URL, no downstream call');

    const spans = await exportedTrace(traceId);
    const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER);
    assert.ok(serverSpan);
    assert.equal(res.headers.get('traceparent'), `00-${traceId}-${serverSpan.spanContext().spanId}-01`);
    assert.equal(serverSpan.name, 'GET /api/work');
    assert.equal(serverSpan.attributes['http.route'], '/api/work');
    assert.equal(serverSpan.attributes['http.response.status_code'], 200);
  });

  it('nests work.level.N spans under the server span with work.depth, work.level and events', async () => {
    const res = await fetch(`${baseUrl}/api/work?depth=3`);
    const spans = await exportedTrace(res.headers.get('x-trace-id') ?? '');
    assert.equal(spans.length, 4, spans.map((s) => s.name).join(', '));

    let parent = spans.find((s) => s.kind === SpanKind.SERVER);
    for (const level of [1, 2, 3]) {
      const span = byName(spans, `work.level.${level}`);
      assert.equal(span.parentSpanContext?.spanId, parent?.spanContext().spanId, `work.level.${level} has the wrong parent`);
      assert.equal(span.kind, SpanKind.INTERNAL);
      assert.equal(span.attributes['work.depth'], 3);
      assert.equal(span.attributes['work.level'], level);
      assert.match(String(span.attributes['work.checksum']), /^[0-9a-f]{16}$/);
      assert.deepEqual(span.events.map((e) => e.name), ['work.started', 'work.completed']);
      assert.equal(span.status.code, SpanStatusCode.UNSET);
      parent = span;
    }
  });

  it('puts service.name, service.version and deployment.environment on every span resource', async () => {
    const res = await fetch(`${baseUrl}/api/work?depth=1`);
    const spans = await exportedTrace(res.headers.get('x-trace-id') ?? '');
    for (const span of spans) {
      assert.equal(span.resource.attributes['service.name'], 'unit-test-app');
      assert.equal(span.resource.attributes['service.version'], '9.9.9');
      assert.equal(span.resource.attributes['deployment.environment'], 'unit-test');
    }
  });

  it('fails on ?fail=1 with HTTP 500, an ERROR innermost span and exactly one recorded exception', async () => {
    const res = await fetch(`${baseUrl}/api/work?depth=2&fail=1`);
    assert.equal(res.status, 500);
    const traceId = res.headers.get('x-trace-id') ?? '';
    assert.match(traceId, TRACE_ID);
    const body = (await res.json()) as { traceId: string; error: string };
    assert.equal(body.traceId, traceId);
    assert.match(body.error, /simulated failure at work level 2/);

    const spans = await exportedTrace(traceId);
    const innermost = byName(spans, 'work.level.2');
    assert.equal(innermost.status.code, SpanStatusCode.ERROR);
    assert.equal(innermost.status.message, 'simulated failure at work level 2');
    const exception = innermost.events.find((e) => e.name === 'exception');
    assert.ok(exception, 'innermost span has no exception event');
    assert.equal(exception.attributes?.['exception.type'], 'SimulatedFailure');
    assert.equal(exception.attributes?.['exception.message'], 'simulated failure at work level 2');
    assert.match(String(exception.attributes?.['exception.stacktrace']), /runLevel|work/);

    const outer = byName(spans, 'work.level.1');
    assert.equal(outer.status.code, SpanStatusCode.ERROR, 'the failure propagates through the parent level');
    const exceptionEvents = spans.flatMap((s) => s.events).filter((e) => e.name === 'exception');
    assert.equal(exceptionEvents.length, 1, 'the exception is recorded once, where it was raised');
    const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER);
    assert.equal(serverSpan?.status.code, SpanStatusCode.ERROR, 'a 5xx marks the server span as an error');
  });

  it('rejects a depth outside 1..10 with 400 and does no work', async () => {
    for (const depth of ['0', '11', 'two', '']) {
      const res = await fetch(`${baseUrl}/api/work?depth=${depth}`);
      assert.equal(res.status, 400, `depth=${depth}`);
      const body = (await res.json()) as { error: string };
      assert.match(body.error, /depth must be a whole number from 1 to 10/);
      const spans = await exportedTrace(res.headers.get('x-trace-id') ?? '');
      assert.deepEqual(spans.map((s) => s.name), ['GET /api/work']);
    }
    assert.equal((await fetch(`${baseUrl}/api/work?fail=maybe`)).status, 400);
  });

  it('continues the caller trace from an incoming traceparent', async () => {
    const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const res = await fetch(`${baseUrl}/api/work?depth=1`, { headers: { traceparent: `00-${callerTrace}-${callerSpan}-01` } });
    assert.equal(res.headers.get('x-trace-id'), callerTrace);
    const spans = await exportedTrace(callerTrace);
    const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER);
    assert.equal(serverSpan?.parentSpanContext?.spanId, callerSpan);
  });

  it('serves health, readiness and Prometheus metrics, untraced (probes every few seconds would bury real traces)', async () => {
    const health = await fetch(`${baseUrl}/monitoring/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    assert.equal(health.headers.get('x-trace-id'), null);

    assert.equal((await fetch(`${baseUrl}/monitoring/ready`)).status, 200);
    readiness = 'draining';
    const draining = await fetch(`${baseUrl}/monitoring/ready`);
    readiness = 'ready';
    assert.equal(draining.status, 503);
    assert.deepEqual(await draining.json(), { status: 'draining' });
  });

  it('counts requests by route pattern in /monitoring/metrics, never by raw unmatched path', async () => {
    assert.equal((await fetch(`${baseUrl}/no/such/path?x=1`)).status, 404);
    const post = await fetch(`${baseUrl}/api/work`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET');
    const before = await metricValue('/monitoring/health', '200');
    await fetch(`${baseUrl}/monitoring/health`);
    await fetch(`${baseUrl}/monitoring/health`);

    const res = await fetch(`${baseUrl}/monitoring/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    assert.equal(await metricValue('/monitoring/health', '200'), before + 2);
    assert.match(text, /http_requests_total\{method="GET",route="\/api\/work",status_code="500"\} [1-9]/);
    assert.match(text, /http_requests_total\{method="GET",route="unmatched",status_code="404"\} [1-9]/);
    assert.match(text, /http_requests_total\{method="POST",route="\/api\/work",status_code="405"\} 1/);
    assert.doesNotMatch(text, /no\/such\/path/);
    assert.match(text, /http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/api\/work",status_code="200"\}/);
  });

  async function metricValue(route: string, status: string): Promise<number> {
    const text = await (await fetch(`${baseUrl}/monitoring/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`http_requests_total{method="GET",route="${route}",status_code="${status}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  }
});
