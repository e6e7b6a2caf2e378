/**
 * Span metrics and the service graph in Prometheus (--service-graph-edge): the PromQL the verifier
 * sends, Tempo's generator counters from the real recording, the pure diagnosis, and whole runs
 * against the scripted HTTPS stack whose Prometheus holds the series the real one answered.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { diagnoseMetrics, type MetricsDiagnoseInput } from '../../verifier/metricsDiagnose';
import type { VerifyOptions } from '../../verifier/options';
import { edgeQuery, parseQueryAnswer, PrometheusAnswerError, promString, queryUrl, spanMetricsQuery, sumSamples } from '../../verifier/prometheus';
import { formatHuman, summaryLine } from '../../verifier/report';
import { generatorDelta, parsePrometheusText, readGeneratorCounters, type GeneratorCounters } from '../../verifier/tempoMetrics';
import { isFailingRequest } from '../../verifier/traffic';
import { runVerification } from '../../verifier/verify';
import { closedPort, type FakeStack, fakeStackOptions, fixture, healthyMetrics, useFakeStacks } from './helpers/fakeStack';
import { APP, appOnlyState, BACKEND, evaluatePromQuery, healthyState, recordedState, type PromSeries } from './helpers/fakePrometheus';
import { GENERATOR_BEFORE, GENERATOR_RECORDING, generatorText, REMOTE_WRITE_URL, tempoWithGenerator, type GeneratorState } from './helpers/generatorMetrics';

const generator = (state: GeneratorState = {}): GeneratorCounters => readGeneratorCounters(parsePrometheusText(generatorText(state)));

describe('PromQL', () => {
  test('label values are PromQL string literals: backslash and double quote escaped', () => {
    assert.equal(promString('tracing-stack-app'), '"tracing-stack-app"');
    assert.equal(promString('a"b'), '"a\\"b"');
    assert.equal(promString('a\\b'), '"a\\\\b"');
    assert.equal(promString('a\\"}) or vector(1) #'), '"a\\\\\\"}) or vector(1) #"');
    assert.equal(promString('line\nbreak'), '"line\\nbreak"');
  });

  test('the queries of the brief, exactly', () => {
    assert.equal(spanMetricsQuery(APP), 'sum(traces_spanmetrics_calls_total{service="tracing-stack-app"})');
    assert.equal(edgeQuery(APP, BACKEND), 'sum(traces_service_graph_request_total{client="tracing-stack-app",server="tracing-stack-app-backend"})');
    assert.equal(edgeQuery(APP, BACKEND, 'failed'), 'sum(traces_service_graph_request_failed_total{client="tracing-stack-app",server="tracing-stack-app-backend"})');
    assert.equal(spanMetricsQuery('x"y'), 'sum(traces_spanmetrics_calls_total{service="x\\"y"})');
  });

  test('query URL: /api/v1/query on the base URL (path prefix kept), the query URL-encoded', () => {
    assert.equal(queryUrl('https://localhost:9090', 'sum(a{b="c"})'), 'https://localhost:9090/api/v1/query?query=sum(a%7Bb%3D%22c%22%7D)');
    assert.equal(queryUrl('https://h/prom/', 'up'), 'https://h/prom/api/v1/query?query=up');
  });

  test('answers recorded from the real Prometheus: an empty sum is "no series", a vector is summed', () => {
    assert.deepEqual(parseQueryAnswer(fixture('recorded/prometheus-sum-no-series.json'), 200, 'q'), []);
    assert.equal(sumSamples(parseQueryAnswer(fixture('recorded/prometheus-sum-no-series.json'), 200, 'q')), undefined);
    const calls = parseQueryAnswer(fixture('recorded/prometheus-spanmetrics-calls.json'), 200, 'q');
    assert.equal(calls.length, 5);
    assert.equal(sumSamples(calls), 45);
    assert.equal(calls[4]?.labels['service'], BACKEND);
  });

  test('unusable answers: 4xx and non-JSON are final, 5xx transient', () => {
    const final = (body: string, status: number): boolean => {
      try {
        parseQueryAnswer(body, status, 'q');
      } catch (err) {
        assert.ok(err instanceof PrometheusAnswerError);
        return !err.transient;
      }
      throw new Error('no error');
    };
    assert.equal(final('404 page not found\n', 404), true);
    assert.equal(final('<html></html>', 200), true);
    assert.equal(final('{"status":"error","errorType":"bad_data","error":"parse error"}', 400), true);
    assert.equal(final('{"status":"error","errorType":"unavailable","error":"TSDB not ready"}', 503), false);
  });

  test('the fake Prometheus evaluates only well-formed queries (so bad escaping fails the tests)', () => {
    const series: PromSeries[] = [{ metric: { __name__: 'traces_spanmetrics_calls_total', service: 'we"ird\\svc' }, value: 3 }];
    const ok = evaluatePromQuery(spanMetricsQuery('we"ird\\svc'), series);
    assert.equal(ok.status, 200);
    assert.equal(sumSamples(parseQueryAnswer(JSON.stringify(ok.body), 200, 'q')), 3);
    assert.equal(evaluatePromQuery('sum(traces_spanmetrics_calls_total{service="we"ird\\svc"})', series).status, 400);
  });
});

describe('failing requests (fail=1)', () => {
  test('every 5th request, at least one from 2 traces on, never the only one', () => {
    const failing = (count: number): number[] => Array.from({ length: count }, (_, i) => i).filter((i) => isFailingRequest(i, count));
    assert.deepEqual(failing(1), []);
    assert.deepEqual(failing(2), [1]);
    assert.deepEqual(failing(4), [3]);
    assert.deepEqual(failing(5), [4]);
    assert.deepEqual(failing(10), [4, 9]);
    assert.deepEqual(failing(12), [4, 9]);
  });
});

describe('Tempo generator counters (the real recording)', () => {
  test('reads spans received, active processors, service-graph counters and the remote-write queue by url', () => {
    const g = readGeneratorCounters(parsePrometheusText(fixture(GENERATOR_RECORDING)));
    assert.equal(g.spansReceived, 70);
    assert.equal(g.activeProcessors?.['span-metrics'], 1);
    assert.equal(g.activeProcessors?.['service-graphs'], 1);
    assert.equal(g.activeProcessors?.['local-blocks'], 0);
    assert.equal(g.serviceGraphEdges, 20);
    assert.equal(g.serviceGraphExpiredEdges, 0);
    assert.equal(g.serviceGraphDroppedSpans, 0);
    assert.deepEqual(Object.keys(g.remoteWrite), [REMOTE_WRITE_URL]);
    assert.deepEqual(g.remoteWrite[REMOTE_WRITE_URL], { samplesTotal: 292, samplesFailed: 0, samplesRetried: 0, samplesPending: 0 });
  });

  test('absent families: no spans received, no processors, no queue', () => {
    const g = readGeneratorCounters(parsePrometheusText('# TYPE tempo_build_info gauge\ntempo_build_info{version="2.10.8"} 1\n'));
    assert.equal(g.spansReceived, undefined);
    assert.equal(g.activeProcessors, undefined);
    assert.deepEqual(g.remoteWrite, {});
  });

  test('delta: counters rise, pending is the last gauge, a queue new since the first reading counts from 0', () => {
    const d = generatorDelta(generator(GENERATOR_BEFORE), generator({ samplesRetried: 120, samplesPending: 35 }));
    assert.equal(d.spansReceived, 50);
    assert.deepEqual(d.remoteWrite[REMOTE_WRITE_URL], { samplesTotal: 192, samplesFailed: 0, samplesRetried: 120, samplesPending: 35 });
    const fresh = readGeneratorCounters(parsePrometheusText('# TYPE tempo_build_info gauge\ntempo_build_info 1\n'));
    assert.equal(generatorDelta(fresh, generator()).remoteWrite[REMOTE_WRITE_URL]?.samplesTotal, 292);
  });
});

describe('diagnoseMetrics', () => {
  const base = (over: Partial<MetricsDiagnoseInput>): MetricsDiagnoseInput => ({
    prometheusUrl: 'https://localhost:9090',
    client: APP,
    server: BACKEND,
    generatorBefore: generator(GENERATOR_BEFORE),
    generatorAfter: generator(),
    waitedSeconds: 30,
    ...over,
  });
  const codes = (input: MetricsDiagnoseInput): string[] => diagnoseMetrics(input).diagnoses.map((d) => d.code);

  test('verified: span metrics of the client and the edge', () => {
    const r = diagnoseMetrics(base({ clientCalls: 30, edgeRequests: 10 }));
    assert.equal(r.verified, true);
    assert.deepEqual(r.diagnoses, []);
    assert.equal(r.generatorDelta?.spansReceived, 50);
  });

  test('REMOTE_WRITE_FAILING from retried samples; names the url and what to check', () => {
    const r = diagnoseMetrics(base({ generatorBefore: generator({ ...GENERATOR_BEFORE, samplesTotal: 292 }), generatorAfter: generator({ samplesRetried: 120 }) }));
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['REMOTE_WRITE_FAILING']);
    const d = r.diagnoses[0];
    assert.match(d?.message ?? '', /cannot remote-write to https:\/\/prometheus:9090\/api\/v1\/write \(0 samples failed, 120 retried/);
    assert.match(d?.message ?? '', /--web\.enable-remote-write-receiver/);
    const keys = d?.configKeys.join('\n') ?? '';
    assert.match(keys, /metrics_generator\.storage\.remote_write\[\]\.tls_config\.ca_file/);
    assert.match(keys, /tls_config\.server_name/);
    assert.match(keys, /--web\.enable-remote-write-receiver/);
    assert.match(keys, /\/api\/v1\/write/);
    assert.equal(d?.evidence[`samplesRetried{url="${REMOTE_WRITE_URL}"}`], 120);
  });

  test('REMOTE_WRITE_FAILING from failed samples, and from pending samples while nothing is sent', () => {
    assert.deepEqual(codes(base({ generatorAfter: generator({ samplesFailed: 7 }) })), ['REMOTE_WRITE_FAILING']);
    const stuck = base({ generatorBefore: generator({ ...GENERATOR_BEFORE, samplesTotal: 292 }), generatorAfter: generator({ samplesPending: 35 }) });
    assert.deepEqual(codes(stuck), ['REMOTE_WRITE_FAILING']);
    // pending while samples are being sent is a queue at work, not a failure
    assert.deepEqual(codes(base({ generatorAfter: generator({ samplesPending: 35 }), clientCalls: 30, serverCalls: 10 })), ['SERVICE_GRAPH_EDGE_MISSING']);
  });

  test('REMOTE_WRITE_FAILING points at a remote-write URL without /api/v1/write', () => {
    const text = generatorText({ samplesRetried: 50 }).split(REMOTE_WRITE_URL).join('https://prometheus:9090');
    const r = diagnoseMetrics(base({ generatorAfter: readGeneratorCounters(parsePrometheusText(text)) }));
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['REMOTE_WRITE_FAILING']);
    assert.match(r.diagnoses[0]?.message ?? '', /the path of https:\/\/prometheus:9090 is not \/api\/v1\/write/);
  });

  test('GENERATOR_PROCESSORS_OFF: processors 0 and no spans received', () => {
    const off: GeneratorState = { spansReceived: null, spanMetricsProcessor: 0, serviceGraphsProcessor: 0 };
    const r = diagnoseMetrics(base({ generatorBefore: generator(off), generatorAfter: generator(off) }));
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['GENERATOR_PROCESSORS_OFF']);
    assert.match(r.diagnoses[0]?.message ?? '', /absent/);
    assert.match(r.diagnoses[0]?.message ?? '', /span-metrics and service-graphs processors are not active/);
    assert.match(r.diagnoses[0]?.configKeys[0] ?? '', /^tempo overrides\.defaults\.metrics_generator\.processors/);
  });

  test('GENERATOR_PROCESSORS_OFF: spans received flat; or only the service-graphs processor off', () => {
    assert.deepEqual(codes(base({ generatorAfter: generator({ spansReceived: 20 }) })), ['GENERATOR_PROCESSORS_OFF']);
    const graphsOff = base({ generatorAfter: generator({ serviceGraphsProcessor: 0 }), clientCalls: 30, serverCalls: 10 });
    assert.deepEqual(codes(graphsOff), ['GENERATOR_PROCESSORS_OFF'], 'the processor explains the missing edge');
  });

  test('processors off and remote write failing: both, the generator first', () => {
    const r = codes(base({ generatorAfter: generator({ spanMetricsProcessor: 0, samplesFailed: 3 }) }));
    assert.deepEqual(r, ['GENERATOR_PROCESSORS_OFF', 'REMOTE_WRITE_FAILING']);
  });

  test('NO_SECOND_SERVICE: span metrics for the client only', () => {
    const r = diagnoseMetrics(base({ clientCalls: 30, servicesWithSpanMetrics: [APP] }));
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['NO_SECOND_SERVICE']);
    assert.match(r.diagnoses[0]?.message ?? '', /span metrics for tracing-stack-app \(30 calls\) but none for tracing-stack-app-backend/);
    assert.match(r.diagnoses[0]?.message ?? '', /DOWNSTREAM_URL/);
    assert.deepEqual(codes(base({ clientCalls: 30, serverCalls: 0 })), ['NO_SECOND_SERVICE'], 'a zero sum is no span metrics either');
  });

  test('SERVICE_GRAPH_EDGE_MISSING: both services, no edge; lists the edges there are', () => {
    const r = diagnoseMetrics(base({ clientCalls: 30, serverCalls: 8, edges: [`user -> ${APP}`, `user -> ${BACKEND}`], generatorAfter: generator({ droppedSpans: 4 }) }));
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['SERVICE_GRAPH_EDGE_MISSING']);
    const m = r.diagnoses[0]?.message ?? '';
    assert.match(m, /no edge tracing-stack-app -> tracing-stack-app-backend/);
    assert.match(m, /edges there: user -> tracing-stack-app, user -> tracing-stack-app-backend/);
    assert.match(m, /traceparent/);
    assert.match(m, /dropped_spans rose by 4/);
  });

  test('SPAN_METRICS_MISSING when Tempo wrote fine but Prometheus has nothing for the client', () => {
    const r = diagnoseMetrics(base({ servicesWithSpanMetrics: ['other'] }));
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['SPAN_METRICS_MISSING']);
    assert.match(r.diagnoses[0]?.message ?? '', /remote-wrote 192 samples to https:\/\/prometheus:9090\/api\/v1\/write without errors/);
    assert.match(r.diagnoses[0]?.message ?? '', /services with span metrics there: other/);
  });

  test('stale span metrics do not hide a broken pipeline: remote write failing wins over the later codes', () => {
    assert.deepEqual(codes(base({ clientCalls: 30, generatorAfter: generator({ samplesRetried: 5 }) })), ['REMOTE_WRITE_FAILING']);
  });

  test('without Tempo readings the Prometheus side still decides', () => {
    assert.deepEqual(codes(base({ generatorAfter: undefined, clientCalls: 30 })), ['NO_SECOND_SERVICE']);
    assert.deepEqual(codes(base({ generatorAfter: undefined })), ['SPAN_METRICS_MISSING']);
  });
});

// ------------------------------------------------------------------------------ whole runs

const fake = useFakeStacks();

function options(s: FakeStack, overrides: Partial<VerifyOptions> = {}): VerifyOptions {
  return fakeStackOptions(s, fake.pki().caPem, {
    prometheusUrl: s.url,
    serviceGraphEdge: { client: APP, server: BACKEND },
    prometheusPollIntervalMs: 60,
    ...overrides,
  });
}

/** Prometheus holding nothing of this run until the traffic happened and `lag` queries were answered. */
function afterTraffic(state: () => PromSeries[], lag = 0): (ctx: { call: number; sent: number }) => PromSeries[] {
  let firstCall: number | undefined;
  return ({ call, sent }) => {
    if (sent === 0) return [];
    firstCall ??= call;
    return call - firstCall >= lag ? state() : [];
  };
}

describe('runVerification with --service-graph-edge', { concurrency: 8 }, () => {
  test('healthy: verified, the metrics section filled, the summary line names the edge', async () => {
    const s = await fake.stack({ metrics: tempoWithGenerator(GENERATOR_BEFORE, {}), prometheus: afterTraffic(() => healthyState(), 3) });
    const r = await runVerification(options(s, { deadlineSeconds: 6 }));
    assert.equal(r.outcome, 'verified', JSON.stringify(r.diagnoses));
    assert.equal(r.exitCode, 0);
    const m = r.metrics;
    assert.ok(m);
    assert.equal(m.prometheusUrl, s.url);
    assert.deepEqual({ ...m.spanMetrics, seenAfterMs: typeof m.spanMetrics.seenAfterMs }, { service: APP, calls: 47, seenAfterMs: 'number' });
    assert.equal(m.serviceGraphEdge.client, APP);
    assert.equal(m.serviceGraphEdge.server, BACKEND);
    assert.equal(m.serviceGraphEdge.requests, 10);
    assert.equal(m.serviceGraphEdge.failed, 2);
    // A baseline before the traffic, then the series show up with the 4th query: one pause for the edge,
    // two for the span metrics (polled again only while missing).
    assert.deepEqual(s.promQueries.slice(0, 8), [
      spanMetricsQuery(APP), edgeQuery(APP, BACKEND),
      spanMetricsQuery(APP), edgeQuery(APP, BACKEND), spanMetricsQuery(APP), edgeQuery(APP, BACKEND), spanMetricsQuery(APP), edgeQuery(APP, BACKEND, 'failed'),
    ]);
    assert.ok((m.spanMetrics.seenAfterMs ?? 0) >= 2 * 60, `waited for the series (seen after ${m.spanMetrics.seenAfterMs} ms)`);
    assert.ok((m.serviceGraphEdge.seenAfterMs ?? 0) >= 60 && (m.serviceGraphEdge.seenAfterMs ?? 0) < (m.spanMetrics.seenAfterMs ?? 0));
    assert.ok((m.spanMetrics.seenAfterMs ?? 0) <= r.timings.elapsedMs);
    assert.equal(m.tempoGenerator?.delta.spansReceived, 50);
    assert.equal(m.tempoGenerator?.delta.remoteWrite[REMOTE_WRITE_URL]?.samplesTotal, 192);
    assert.equal(m.tempoGenerator?.after.activeProcessors?.['span-metrics'], 1);
    const seen = (Math.max(m.spanMetrics.seenAfterMs ?? 0, m.serviceGraphEdge.seenAfterMs ?? 0) / 1000).toFixed(1);
    assert.equal(
      summaryLine(r),
      `verified: 10 traces sent, tempo_ingester_traces_created_total +10, 10 of 10 looked up found, in ${(r.timings.elapsedMs / 1000).toFixed(1)} s, ` +
        `span metrics and edge ${APP} -> ${BACKEND} in Prometheus after ${seen} s`,
    );
    const human = formatHuman(r);
    assert.match(human, /span metrics of tracing-stack-app: 47 calls, seen after \d+\.\d s/);
    assert.match(human, /edge tracing-stack-app -> tracing-stack-app-backend: 10 requests, 2 failed, seen after/);
    assert.match(human, /remote write https:\/\/prometheus:9090\/api\/v1\/write: \+192 samples sent, \+0 failed, \+0 retried, 0 pending/);
  });

  test('the failing requests: every 5th asks fail=1, their 500s carry trace ids and count as sent traces', async () => {
    const s = await fake.stack({ metrics: tempoWithGenerator(GENERATOR_BEFORE, {}), prometheus: afterTraffic(() => healthyState()) });
    const r = await runVerification(options(s, { deadlineSeconds: 6 }));
    assert.equal(r.outcome, 'verified');
    assert.equal(s.appQueries.length, 10);
    assert.equal(s.appQueries.filter((q) => q === '?depth=1&fail=1').length, 2);
    assert.equal(s.appQueries.filter((q) => q === '?depth=1').length, 8);
    assert.equal(r.traffic.tracesSent, 10, 'the failed requests are traces too');
    assert.deepEqual(r.traffic.statusCounts, { '200': 8, '500': 2 });
    assert.equal(r.traffic.failingRequests, 2);
    assert.deepEqual(r.traffic.problems, [], 'the intended 500s are not problems');
    assert.equal(r.lookup.found, 10, 'the failed requests are looked up like the others');
    assert.deepEqual(r.notes, []);
  });

  test('without --service-graph-edge: no fail=1, no Prometheus query, no metrics section', async () => {
    const s = await fake.stack({ metrics: healthyMetrics('2.x'), prometheus: () => healthyState() });
    const { serviceGraphEdge: _e, prometheusUrl: _p, ...base } = options(s, { deadlineSeconds: 5 });
    const r = await runVerification(base);
    assert.equal(r.outcome, 'verified');
    assert.ok(s.appQueries.every((q) => !q.includes('fail')), s.appQueries.join(' '));
    assert.deepEqual(r.traffic.statusCounts, { '200': 10 });
    assert.equal(r.traffic.failingRequests, undefined);
    assert.equal(s.promQueries.length, 0);
    assert.equal(r.metrics, undefined);
    assert.doesNotMatch(summaryLine(r), /Prometheus/);
  });

  test('two traces: one of them fails on purpose', async () => {
    const s = await fake.stack({ metrics: tempoWithGenerator(GENERATOR_BEFORE, {}), prometheus: afterTraffic(() => healthyState()) });
    const r = await runVerification(options(s, { traces: 2, deadlineSeconds: 5 }));
    assert.equal(r.outcome, 'verified');
    assert.deepEqual(s.appQueries.filter((q) => q.includes('fail=1')).length, 1);
  });

  test('traces not verified: Prometheus is not asked, the traces diagnosis stands', async () => {
    const s = await fake.stack({ metrics: [fixture('tempo-2.x-fresh.prom')], traces: 'none', prometheus: () => healthyState() });
    const r = await runVerification(options(s, { deadlineSeconds: 1.5 }));
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['NO_SPANS_RECEIVED']);
    assert.equal(s.promQueries.length, 2, 'only the baseline before the traffic');
    assert.equal(r.metrics, undefined);
  });

  test('series left in Prometheus by an earlier run do not pass: they must rise with this traffic', async () => {
    // Prometheus still shows the edge and the span metrics of a run before; this run's remote write is failing.
    const s = await fake.stack({
      metrics: tempoWithGenerator({ ...GENERATOR_BEFORE, samplesTotal: 300 }, { samplesTotal: 300, samplesRetried: 120, samplesPending: 35 }),
      prometheus: () => healthyState(),
    });
    const r = await runVerification(options(s, { deadlineSeconds: 2.5 }));
    assert.equal(r.outcome, 'not_verified');
    assert.equal(r.exitCode, 1);
    assert.equal(r.metrics?.spanMetrics.seenAfterMs, null);
    assert.equal(r.metrics?.serviceGraphEdge.seenAfterMs, null);
    assert.ok(r.diagnoses.map((d) => d.code).includes('REMOTE_WRITE_FAILING'), JSON.stringify(r.diagnoses));
  });

  test('remote write failing (samples_retried_total rising): REMOTE_WRITE_FAILING, exit 1', async () => {
    const s = await fake.stack({
      metrics: tempoWithGenerator({ ...GENERATOR_BEFORE, samplesTotal: 300 }, { samplesTotal: 300, samplesRetried: 120, samplesPending: 35 }),
      prometheus: () => [],
    });
    const r = await runVerification(options(s, { deadlineSeconds: 2.5 }));
    assert.equal(r.outcome, 'not_verified');
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['REMOTE_WRITE_FAILING']);
    assert.match(r.diagnoses[0]?.message ?? '', /https:\/\/prometheus:9090\/api\/v1\/write/);
    assert.equal(r.lookup.found, 10, 'the traces themselves were verified');
    assert.equal(r.metrics?.spanMetrics.seenAfterMs, null);
    assert.equal(r.metrics?.spanMetrics.calls, null);
    assert.equal(r.metrics?.tempoGenerator?.delta.remoteWrite[REMOTE_WRITE_URL]?.samplesRetried, 120);
    assert.ok(r.timings.elapsedMs <= 2500 + 300, `ends at the deadline (${r.timings.elapsedMs} ms)`);
    assert.ok(s.promQueries.length >= 4, 'polled Prometheus until the deadline');
    assert.match(summaryLine(r), /^NOT verified: .*span metrics of tracing-stack-app not in Prometheus, edge tracing-stack-app -> tracing-stack-app-backend not in Prometheus \[REMOTE_WRITE_FAILING\]$/);
    assert.match(formatHuman(r), /NOT VERIFIED — traces are stored in Tempo, but their span metrics/);
  });

  test('processors off: GENERATOR_PROCESSORS_OFF', async () => {
    const off: GeneratorState = { spansReceived: null, spanMetricsProcessor: 0, serviceGraphsProcessor: 0 };
    const s = await fake.stack({ metrics: tempoWithGenerator(off, off), prometheus: () => [] });
    const r = await runVerification(options(s, { deadlineSeconds: 2 }));
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['GENERATOR_PROCESSORS_OFF']);
  });

  test('backend missing: NO_SECOND_SERVICE', async () => {
    const s = await fake.stack({ metrics: tempoWithGenerator(GENERATOR_BEFORE, {}), prometheus: afterTraffic(appOnlyState) });
    const r = await runVerification(options(s, { deadlineSeconds: 2 }));
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['NO_SECOND_SERVICE']);
    assert.equal(r.metrics?.spanMetrics.calls, 37);
    assert.notEqual(r.metrics?.spanMetrics.seenAfterMs, null);
    assert.equal(r.metrics?.serviceGraphEdge.seenAfterMs, null);
    assert.ok(s.promQueries.includes(spanMetricsQuery(BACKEND)), 'asked for the server span metrics');
    assert.match(r.diagnoses[0]?.message ?? '', /services with span metrics: tracing-stack-app\)/);
  });

  test('edge missing (the real Prometheus answers: edges from "user" only): SERVICE_GRAPH_EDGE_MISSING', async () => {
    const s = await fake.stack({ metrics: tempoWithGenerator(GENERATOR_BEFORE, {}), prometheus: afterTraffic(recordedState) });
    const r = await runVerification(options(s, { deadlineSeconds: 2 }));
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['SERVICE_GRAPH_EDGE_MISSING']);
    assert.match(r.diagnoses[0]?.message ?? '', /edges there: user -> tracing-stack-app, user -> tracing-stack-app-backend/);
  });

  test('Prometheus with a certificate from another CA: PROMETHEUS_UNREACHABLE, exit 2, at once', async () => {
    const s = await fake.stack({ metrics: tempoWithGenerator(GENERATOR_BEFORE, {}) });
    const prom = await fake.stack({ prometheus: () => healthyState() }, 'otherCaServer');
    const r = await runVerification(options(s, { prometheusUrl: prom.url, deadlineSeconds: 10 }));
    assert.equal(r.exitCode, 2);
    assert.equal(r.outcome, 'unreachable');
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['PROMETHEUS_UNREACHABLE']);
    assert.match(r.diagnoses[0]?.message ?? '', /certificate from another CA/);
    assert.ok(r.diagnoses[0]?.configKeys.some((k) => k.includes('--ca-file')));
    assert.equal(r.lookup.found, 10);
    assert.ok(r.timings.elapsedMs < 3000, `a TLS failure does not wait for the deadline (${r.timings.elapsedMs} ms)`);
    assert.match(formatHuman(r), /COULD NOT VERIFY — traces are stored in Tempo, but Prometheus could not be queried/);
  });

  test('nothing listening at the Prometheus URL: PROMETHEUS_UNREACHABLE, exit 2, within the deadline', async () => {
    const s = await fake.stack({ metrics: tempoWithGenerator(GENERATOR_BEFORE, {}) });
    const port = await closedPort();
    const r = await runVerification(options(s, { prometheusUrl: `https://127.0.0.1:${port}`, deadlineSeconds: 2 }));
    assert.equal(r.exitCode, 2);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['PROMETHEUS_UNREACHABLE']);
    assert.match(r.diagnoses[0]?.message ?? '', /connection refused/);
    assert.ok(r.timings.elapsedMs <= 2000 + 300, `${r.timings.elapsedMs} ms`);
  });

  test('a URL that is not Prometheus (404): PROMETHEUS_UNREACHABLE at once', async () => {
    const s = await fake.stack({ metrics: tempoWithGenerator(GENERATOR_BEFORE, {}) });
    const r = await runVerification(options(s, { deadlineSeconds: 10 }));
    assert.equal(r.exitCode, 2);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['PROMETHEUS_UNREACHABLE']);
    assert.match(r.diagnoses[0]?.message ?? '', /HTTP 404/);
    assert.ok(r.timings.elapsedMs < 3000);
  });

  test('Prometheus answering 503 until the deadline: retried, then PROMETHEUS_UNREACHABLE', async () => {
    const s = await fake.stack({ metrics: tempoWithGenerator(GENERATOR_BEFORE, {}), prometheus: () => [], prometheusStatus: 503 });
    const r = await runVerification(options(s, { deadlineSeconds: 2 }));
    assert.equal(r.exitCode, 2);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['PROMETHEUS_UNREACHABLE']);
    assert.match(r.diagnoses[0]?.message ?? '', /HTTP 503: unavailable: TSDB not ready/);
    assert.ok(s.promQueries.length >= 3, 'retried');
  });

  test('service names with a double quote and a backslash are matched exactly', async () => {
    const client = 'app "quoted" \\ one';
    const server = 'back\\end"';
    const s = await fake.stack({ metrics: tempoWithGenerator(GENERATOR_BEFORE, {}), prometheus: afterTraffic(() => healthyState({ client, server })) });
    const r = await runVerification(options(s, { serviceGraphEdge: { client, server }, deadlineSeconds: 5 }));
    assert.equal(r.outcome, 'verified', JSON.stringify(r.diagnoses));
    assert.equal(r.metrics?.serviceGraphEdge.requests, 10);
  });
});
