import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { VerifyOptions } from '../../verifier/options';
import { runVerification, type ProgressSink } from '../../verifier/verify';
import { useFakeStacks, closedPort, type FakeStack, fakeStackOptions, fixture, healthyMetrics } from './helpers/fakeStack';

const fake = useFakeStacks();
const stack = fake.stack;

function options(s: FakeStack, overrides: Partial<VerifyOptions> = {}): VerifyOptions {
  return fakeStackOptions(s, fake.pki().caPem, overrides);
}

const FRESH = fixture('tempo-2.x-fresh.prom');

describe('runVerification against a scripted HTTPS Tempo', { concurrency: 8 }, () => {
  test('healthy 2.x stack: verified, every id found, counters reported', async () => {
    const s = await stack({ metrics: healthyMetrics('2.x') });
    const r = await runVerification(options(s, { deadlineSeconds: 5 }));
    assert.equal(r.outcome, 'verified');
    assert.equal(r.exitCode, 0);
    assert.equal(r.traffic.tracesSent, 10);
    assert.equal(r.tracesCreated?.metric, 'tempo_ingester_traces_created_total');
    assert.equal(r.counters?.delta.tracesCreated, 10);
    assert.equal(r.lookup.found, 10, 'after verification the remaining ids are looked up too');
    assert.equal(r.lookup.foundTraces[0]?.spanCount, 2);
    assert.deepEqual(r.lookup.foundTraces[0]?.services, ['tracing-stack-app']);
    assert.equal(r.lookup.foundTraces[0]?.api, 'v2');
    assert.deepEqual(r.diagnoses, []);
  });

  test('rise detection: keeps polling while the counter climbs, verifies once it reached the traces sent', async () => {
    let afterTraffic = -1;
    const s = await stack({
      metrics: ({ call, sent }) => {
        if (sent > 0 && afterTraffic < 0) afterTraffic = call;
        const created = sent === 0 ? 0 : Math.min(sent, (call - afterTraffic) * 2);
        return `# TYPE tempo_distributor_spans_received_total counter\ntempo_distributor_spans_received_total ${sent * 3}\n# TYPE tempo_distributor_ingester_appends_total counter\ntempo_distributor_ingester_appends_total ${sent}\n# TYPE tempo_ingester_traces_created_total counter\ntempo_ingester_traces_created_total{tenant="single-tenant"} ${100 + created}\n`;
      },
    });
    const r = await runVerification(options(s, { deadlineSeconds: 5 }));
    assert.equal(r.outcome, 'verified');
    assert.equal(r.counters?.delta.tracesCreated, 10);
    assert.ok((s.calls['metrics'] ?? 0) >= 6, `polled ${s.calls['metrics']} times`);
  });

  test('Tempo 3.x: falls back to tempo_live_store_traces_created_total and says so', async () => {
    const s = await stack({ metrics: healthyMetrics('3.x') });
    const r = await runVerification(options(s, { deadlineSeconds: 5 }));
    assert.equal(r.outcome, 'verified');
    assert.equal(r.tracesCreated?.metric, 'tempo_live_store_traces_created_total');
    assert.match(r.tracesCreated?.reason ?? '', /3\.x/);
  });

  test('internal gRPC TLS on one side only: not verified, INGESTER_APPEND_FAILING', async () => {
    const s = await stack({ metrics: [FRESH, fixture('tempo-2.x-internal-tls-broken-after.prom')], traces: 'none' });
    const t0 = Date.now();
    const r = await runVerification(options(s));
    assert.equal(r.exitCode, 1);
    assert.equal(r.outcome, 'not_verified');
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['INGESTER_APPEND_FAILING']);
    assert.ok(Date.now() - t0 < 3000 + 1000, 'stops at the deadline');
  });

  test('appends fine but traces not swept: TRACES_NOT_CREATED', async () => {
    const s = await stack({ metrics: [FRESH, fixture('tempo-2.x-not-swept-after.prom')] });
    const r = await runVerification(options(s));
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['TRACES_NOT_CREATED']);
    // live traces are fetchable before the sweep: the lookup may already find them
    assert.ok(r.lookup.looked > 0);
  });

  test('limits: SPANS_DISCARDED with the reasons', async () => {
    const s = await stack({ metrics: [FRESH, fixture('tempo-2.x-discarded-after.prom')], traces: 'none' });
    const r = await runVerification(options(s));
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['SPANS_DISCARDED']);
    assert.deepEqual(r.counters?.delta.discardedByReason, { rate_limited: 20, trace_too_large: 10 });
  });

  test('nothing reaches Tempo: NO_SPANS_RECEIVED', async () => {
    const s = await stack({ metrics: [FRESH], traces: 'none' });
    const r = await runVerification(options(s));
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['NO_SPANS_RECEIVED']);
  });

  test('collector metrics reachable and its exporter failing: COLLECTOR_EXPORT_FAILING first', async () => {
    const s = await stack({
      metrics: [FRESH],
      traces: 'none',
      collectorMetrics: [fixture('collector-before.prom'), fixture('collector-export-failing-after.prom')],
    });
    const r = await runVerification(options(s, { collectorMetricsUrl: `${s.url}/collector/metrics` }));
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['COLLECTOR_EXPORT_FAILING', 'NO_SPANS_RECEIVED']);
    assert.equal(r.collector?.delta?.exporterSendFailed, 30);
  });

  test('collector metrics unreachable: noted, not fatal', async () => {
    const s = await stack({ metrics: healthyMetrics('2.x') });
    const port = await closedPort();
    const r = await runVerification(options(s, { deadlineSeconds: 5, collectorMetricsUrl: `https://127.0.0.1:${port}/metrics` }));
    assert.equal(r.outcome, 'verified');
    assert.match(r.collector?.error ?? '', /collector metrics not usable/);
  });

  test('counter rose but the ids cannot be fetched: TRACES_NOT_FOUND', async () => {
    const s = await stack({ metrics: healthyMetrics('2.x'), traces: 'none' });
    const r = await runVerification(options(s));
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['TRACES_NOT_FOUND']);
  });

  test('trace API failing with 500: TRACES_NOT_FOUND carries the error', async () => {
    const s = await stack({ metrics: healthyMetrics('2.x'), traces: 'error' });
    const r = await runVerification(options(s));
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['TRACES_NOT_FOUND']);
    assert.match(r.diagnoses[0]?.message ?? '', /HTTP 500/);
  });

  test('a hanging query path does not leave the verdict on a stale /metrics reading', async () => {
    const broken = fixture('tempo-2.x-internal-tls-broken-after.prom');
    const s = await stack({ metrics: [FRESH, FRESH, broken], traces: 'hang' });
    const r = await runVerification(options(s, { deadlineSeconds: 3, requestTimeoutMs: 1000 }));
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['INGESTER_APPEND_FAILING']);
    assert.ok((s.calls['metrics'] ?? 0) >= 3, `metrics read ${s.calls['metrics']} times`);
    assert.ok(r.timings.elapsedMs <= 3300, `took ${r.timings.elapsedMs} ms`);
  });

  test('no /api/v2 route: falls back to /api/traces/<id>', async () => {
    const s = await stack({ metrics: healthyMetrics('2.x'), traces: 'v1-only' });
    const r = await runVerification(options(s, { deadlineSeconds: 5 }));
    assert.equal(r.outcome, 'verified');
    assert.equal(r.lookup.foundTraces[0]?.api, 'v1');
  });

  test('app answering with traceparent only: ids taken from it', async () => {
    const s = await stack({ metrics: healthyMetrics('2.x'), app: 'traceparent-only' });
    const r = await runVerification(options(s, { deadlineSeconds: 5 }));
    assert.equal(r.outcome, 'verified');
  });

  test('app without trace ids: APP_NO_TRACE_ID, exit 1', async () => {
    const s = await stack({ app: 'no-trace-id' });
    const r = await runVerification(options(s));
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['APP_NO_TRACE_ID']);
  });

  test('app unreachable: APP_UNREACHABLE, exit 2', async () => {
    const s = await stack({});
    const port = await closedPort();
    const r = await runVerification(options(s, { appUrl: `https://127.0.0.1:${port}` }));
    assert.equal(r.exitCode, 2);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['APP_UNREACHABLE']);
    assert.match(r.diagnoses[0]?.message ?? '', /connection refused/);
  });

  test('app with a certificate from another CA: TLS_VERIFICATION_FAILED names the app', async () => {
    const tempo = await stack({});
    const app = await stack({}, 'otherCaServer');
    const r = await runVerification(options(tempo, { appUrl: app.url }));
    assert.equal(r.exitCode, 2);
    assert.equal(r.diagnoses[0]?.code, 'TLS_VERIFICATION_FAILED');
    assert.match(r.diagnoses[0]?.message ?? '', /^the app: .*another CA/);
  });

  test('synthetic OTLP spans through the OTel SDK exporter: verified', async () => {
    const s = await stack({ metrics: healthyMetrics('2.x') });
    const { appUrl: _unused, ...base } = options(s, { deadlineSeconds: 8 });
    const r = await runVerification({ ...base, otlpHttpUrl: s.url });
    assert.equal(r.outcome, 'verified', JSON.stringify(r.diagnoses));
    assert.equal(r.traffic.kind, 'otlp');
    assert.equal(r.traffic.spansSent, 20);
    assert.equal(s.sentIds.size, 10, 'the fake receiver got the 10 synthetic trace ids');
    assert.deepEqual(new Set(r.traceIds), s.sentIds);
  });

  test('OTLP endpoint rejecting the export, nothing reaches Tempo: OTLP_EXPORT_FAILED first, exit 1', async () => {
    const s = await stack({ otlp: 'reject' });
    const { appUrl: _unused, ...base } = options(s);
    const r = await runVerification({ ...base, otlpHttpUrl: s.url });
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['OTLP_EXPORT_FAILED', 'NO_SPANS_RECEIVED']);
    assert.match(r.diagnoses[0]?.message ?? '', /HTTP 400/);
  });

  test('OTLP endpoint rejecting the export because Tempo refuses the spans: the counters explain it first', async () => {
    const s = await stack({ otlp: 'reject', metrics: [FRESH, fixture('tempo-2.x-internal-tls-broken-after.prom')] });
    const { appUrl: _unused, ...base } = options(s);
    const r = await runVerification({ ...base, otlpHttpUrl: s.url });
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['INGESTER_APPEND_FAILING', 'OTLP_EXPORT_FAILED']);
    assert.equal(r.traffic.tracesSent, 10, 'the rejected traces still count as sent');
  });

  test('/ready blaming only the query-frontend (real Tempo with internal TLS on one side): ingestion is checked anyway', async () => {
    const s = await stack({ ready: 'no-queriers', metrics: [FRESH, fixture('tempo-2.x-internal-tls-broken-after.prom')], traces: 'none' });
    const r = await runVerification(options(s, { deadlineSeconds: 2 }));
    assert.equal(r.exitCode, 1, JSON.stringify(r.diagnoses));
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['INGESTER_APPEND_FAILING', 'TEMPO_NOT_READY']);
    assert.ok(r.diagnoses[1]?.configKeys.includes('tempo querier.frontend_worker.grpc_client_config.tls_enabled'));
    assert.match(r.notes[0] ?? '', /checking ingestion anyway/);
    assert.ok((s.calls['ready'] ?? 0) >= 2, 'waited a grace period first');
  });

  test('OTLP endpoint with a certificate from another CA: TLS_VERIFICATION_FAILED', async () => {
    const tempo = await stack({});
    const otlp = await stack({}, 'otherCaServer');
    const { appUrl: _unused, ...base } = options(tempo, { deadlineSeconds: 3 });
    const r = await runVerification({ ...base, otlpHttpUrl: otlp.url });
    assert.equal(r.exitCode, 2);
    assert.equal(r.diagnoses[0]?.code, 'TLS_VERIFICATION_FAILED');
    assert.match(r.diagnoses[0]?.message ?? '', /OTLP endpoint/);
  });

  test('/ready 503 twice, then ready: waits with backoff and goes on', async () => {
    const s = await stack({ ready: 2, metrics: healthyMetrics('2.x') });
    const r = await runVerification(options(s, { deadlineSeconds: 5 }));
    assert.equal(r.outcome, 'verified');
    assert.equal(s.calls['ready'], 3);
    assert.ok((r.timings.readyAfterMs ?? 0) >= 20 + 40, 'backed off between attempts');
  });

  test('/metrics answering 404: NOT_PROMETHEUS, exit 2', async () => {
    const s = await stack({ metricsStatus: 404, metrics: ['404 page not found\n'] });
    const r = await runVerification(options(s));
    assert.equal(r.exitCode, 2);
    assert.equal(r.diagnoses[0]?.code, 'NOT_PROMETHEUS');
    assert.match(r.diagnoses[0]?.message ?? '', /HTTP 404/);
  });

  test('/metrics serving HTML: NOT_PROMETHEUS, exit 2', async () => {
    const s = await stack({ metricsContentType: 'text/html; charset=utf-8', metrics: ['<!doctype html><html></html>'] });
    const r = await runVerification(options(s));
    assert.equal(r.exitCode, 2);
    assert.equal(r.diagnoses[0]?.code, 'NOT_PROMETHEUS');
    assert.match(r.diagnoses[0]?.message ?? '', /text\/html/);
  });

  test('progress reports what it waits for', async () => {
    const messages: string[] = [];
    let cleared = false;
    const progress: ProgressSink = { update: (m) => messages.push(m), clear: () => (cleared = true) };
    const s = await stack({ metrics: [FRESH], traces: 'none' });
    await runVerification(options(s, { deadlineSeconds: 1 }), { progress });
    assert.ok(messages.some((m) => m.startsWith('waiting for Tempo') && m.includes('/ready')));
    assert.ok(messages.some((m) => m.includes('requests to')));
    assert.ok(messages.some((m) => m.startsWith('waiting for tempo_ingester_traces_created_total to rise by 10')));
    assert.ok(cleared);
  });
});
