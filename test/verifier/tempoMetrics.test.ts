import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  chooseTracesCreatedMetric,
  counterIncrease,
  NotPrometheusError,
  parsePrometheusText,
  readCollectorCounters,
  readTempoCounters,
  requiredRise,
  riseReached,
  sumByLabel,
  sumMetric,
  tempoDelta,
} from '../../verifier/tempoMetrics';
import { fixture } from './helpers/fakeStack';

describe('parsePrometheusText', () => {
  test('reads counters without _total, label sets and # TYPE lines (seed numbers)', () => {
    const m = parsePrometheusText(fixture('tempo-2.x-internal-tls-broken-after.prom'));
    assert.equal(m.get('tempo_receiver_refused_spans')?.type, 'COUNTER');
    assert.equal(sumMetric(m, 'tempo_receiver_refused_spans'), 1126);
    assert.equal(sumMetric(m, 'tempo_distributor_ingester_append_failures_total'), 1105);
    assert.deepEqual(m.get('tempo_distributor_ingester_append_failures_total')?.samples[0]?.labels, { ingester: '127.0.0.1:9095' });
    assert.equal(sumMetric(m, 'tempo_ingester_traces_created_total'), undefined, 'absent family reads undefined');
  });

  test('sums across label sets and groups by a label', () => {
    const text = [
      '# TYPE tempo_discarded_spans_total counter',
      'tempo_discarded_spans_total{reason="rate_limited",tenant="a"} 3',
      'tempo_discarded_spans_total{reason="rate_limited",tenant="b"} 4',
      'tempo_discarded_spans_total{reason="trace_too_large",tenant="a"} 2',
      '',
    ].join('\n');
    const m = parsePrometheusText(text);
    assert.equal(sumMetric(m, 'tempo_discarded_spans_total'), 9);
    assert.deepEqual(sumByLabel(m, 'tempo_discarded_spans_total', 'reason'), { rate_limited: 7, trace_too_large: 2 });
    assert.equal(sumMetric(m, 'tempo_discarded_spans_total', (l) => l['tenant'] === 'a'), 5);
  });

  test('keeps the last sample when the body has no trailing newline, and accepts CRLF', () => {
    const noNewline = '# TYPE tempo_ingester_traces_created_total counter\ntempo_ingester_traces_created_total{tenant="single-tenant"} 1.5e1';
    assert.equal(sumMetric(parsePrometheusText(noNewline), 'tempo_ingester_traces_created_total'), 15);
    assert.equal(sumMetric(parsePrometheusText(noNewline.replace(/\n/g, '\r\n')), 'tempo_ingester_traces_created_total'), 15);
  });

  test('untyped samples, escaped label values, timestamps, histograms and +Inf/NaN', () => {
    const text = [
      'untyped_thing 5',
      'with_ts{path="C:\\\\DIR",msg="a \\"quoted\\" value"} 7 1395066363000',
      '# TYPE h histogram',
      'h_bucket{le="1"} 1',
      'h_bucket{le="+Inf"} 2',
      'h_sum 3',
      'h_count 2',
      'weird +Inf',
      'weirder NaN',
      '',
    ].join('\n');
    const m = parsePrometheusText(text);
    assert.equal(sumMetric(m, 'untyped_thing'), 5);
    assert.equal(m.get('with_ts')?.samples[0]?.labels['msg'], 'a "quoted" value');
    assert.equal(sumMetric(m, 'with_ts'), 7);
    assert.ok(m.has('h'));
    assert.equal(sumMetric(m, 'weird'), 0, 'non-finite values are not summed');
  });

  test('every fixture parses', () => {
    for (const name of [
      'tempo-2.x-fresh.prom',
      'tempo-2.x-healthy-after.prom',
      'tempo-2.x-internal-tls-broken-after.prom',
      'tempo-2.x-not-swept-after.prom',
      'tempo-2.x-discarded-after.prom',
      'tempo-3.x-fresh.prom',
      'tempo-3.x-healthy-after.prom',
      'collector-before.prom',
      'collector-healthy-after.prom',
      'collector-export-failing-after.prom',
    ]) {
      assert.ok(parsePrometheusText(fixture(name)).size > 0, name);
    }
  });

  for (const [what, body] of [
    ['an HTML page', '<html><head><title>Grafana</title></head><body>hi</body></html>\n'],
    ['JSON', '{"status":"success","data":[]}'],
    ['an empty body', '   \n'],
    ['plain words', 'ready\n'],
    ['a sample with a non-numeric value', 'tempo_foo{a="b"} twelve\n'],
    ['a broken label set', 'tempo_foo{a=b} 1\n'],
  ] as const) {
    test(`rejects ${what} with NotPrometheusError`, () => {
      assert.throws(() => parsePrometheusText(body), NotPrometheusError);
    });
  }
});

describe('Tempo counters', () => {
  test('reads the ingestion counters of a healthy 2.x reading', () => {
    const c = readTempoCounters(parsePrometheusText(fixture('tempo-2.x-healthy-after.prom')));
    assert.equal(c.spansReceived, 30);
    assert.equal(c.receiverAccepted, 30);
    assert.equal(c.receiverRefused, 0);
    assert.equal(c.ingesterAppends, 12);
    assert.equal(c.ingesterAppendFailures, 0);
    assert.equal(c.tracesCreated['tempo_ingester_traces_created_total'], 10);
    assert.equal(c.tempoVersion, '2.10.8');
    assert.equal(c.liveStoreSeen, false);
  });

  test('absent counters read 0 (Tempo creates them on first use)', () => {
    const c = readTempoCounters(parsePrometheusText(fixture('tempo-2.x-fresh.prom')));
    assert.equal(c.spansReceived, 0);
    assert.equal(c.ingesterAppendFailures, 0);
    assert.deepEqual(c.tracesCreated, {});
    assert.equal(c.liveTraces, 0);
  });

  test('prefers the 2.x counter', () => {
    const before = readTempoCounters(parsePrometheusText(fixture('tempo-2.x-fresh.prom')));
    const after = readTempoCounters(parsePrometheusText(fixture('tempo-2.x-healthy-after.prom')));
    const choice = chooseTracesCreatedMetric(before, after);
    assert.equal(choice.metric, 'tempo_ingester_traces_created_total');
    assert.equal(choice.present, true);
    assert.equal(tempoDelta(before, after, choice.metric).tracesCreated, 10);
  });

  test('falls back to tempo_live_store_traces_created_total on Tempo 3.x and says so', () => {
    const before = readTempoCounters(parsePrometheusText(fixture('tempo-3.x-fresh.prom')));
    const after = readTempoCounters(parsePrometheusText(fixture('tempo-3.x-healthy-after.prom')));
    const choice = chooseTracesCreatedMetric(before, after);
    assert.equal(choice.metric, 'tempo_live_store_traces_created_total');
    assert.match(choice.reason, /3\.x/);
    assert.equal(tempoDelta(before, after, choice.metric).tracesCreated, 10);
    // neither counter yet: Tempo 3 recognised from tempo_build_info / tempo_live_store_* families
    const fresh3 = chooseTracesCreatedMetric(before, before);
    assert.equal(fresh3.metric, 'tempo_live_store_traces_created_total');
    assert.equal(fresh3.present, false);
  });

  test('without a version label, tempo_live_store_* families mean 3.x only where no ingester family exists', () => {
    const withoutBuildInfo = (text: string): string => text.split('\n').filter((l) => !l.includes('tempo_build_info')).join('\n');
    // The official 2.10.8 image, fresh: it exports tempo_live_store_* families beside its ingester's.
    const tempo2108 = readTempoCounters(parsePrometheusText(withoutBuildInfo(fixture('real/tempo-2.10.8-healthy-fresh.prom'))));
    assert.equal(tempo2108.tempoVersion, undefined);
    assert.equal(tempo2108.liveStoreSeen, true);
    assert.equal(chooseTracesCreatedMetric(tempo2108, tempo2108).metric, 'tempo_ingester_traces_created_total');
    const tempo3 = readTempoCounters(parsePrometheusText(withoutBuildInfo(fixture('tempo-3.x-fresh.prom'))));
    assert.equal(chooseTracesCreatedMetric(tempo3, tempo3).metric, 'tempo_live_store_traces_created_total');
  });

  test('neither counter on a fresh 2.x: the 2.x counter, marked absent', () => {
    const fresh = readTempoCounters(parsePrometheusText(fixture('tempo-2.x-fresh.prom')));
    const choice = chooseTracesCreatedMetric(fresh, fresh);
    assert.equal(choice.metric, 'tempo_ingester_traces_created_total');
    assert.equal(choice.present, false);
    assert.match(choice.reason, /read as 0/);
  });
});

describe('rise detection', () => {
  test('counterIncrease handles a counter reset (Tempo restarted)', () => {
    assert.equal(counterIncrease(10, 25), 15);
    assert.equal(counterIncrease(10, 10), 0);
    assert.equal(counterIncrease(100, 7), 7);
  });

  test('required rise is ceil(fraction * sent), at least 1', () => {
    assert.equal(requiredRise(10, 1), 10);
    assert.equal(requiredRise(10, 0.5), 5);
    assert.equal(requiredRise(10, 0.55), 6);
    assert.equal(requiredRise(3, 0.1), 1);
    assert.equal(requiredRise(10, 0.3), 3, 'no floating-point overshoot (10 * 0.3 = 3.0000000000000004)');
  });

  test('riseReached', () => {
    assert.equal(riseReached(10, 10, 1), true);
    assert.equal(riseReached(9, 10, 1), false);
    assert.equal(riseReached(9, 10, 0.9), true);
    assert.equal(riseReached(0, 0, 1), false, 'nothing sent is never verified');
  });

  test('delta per discard reason only lists reasons that rose', () => {
    const before = readTempoCounters(parsePrometheusText('# TYPE tempo_discarded_spans_total counter\ntempo_discarded_spans_total{reason="rate_limited",tenant="t"} 5\n'));
    const after = readTempoCounters(parsePrometheusText(fixture('tempo-2.x-discarded-after.prom')));
    const d = tempoDelta(before, after, 'tempo_ingester_traces_created_total');
    assert.deepEqual(d.discardedByReason, { rate_limited: 15, trace_too_large: 10 });
    assert.equal(d.discardedTotal, 25);
  });
});

describe('collector counters', () => {
  test('counts the OTLP exporters only, so a debug exporter cannot mask a failing Tempo exporter', () => {
    const c = readCollectorCounters(parsePrometheusText(fixture('collector-export-failing-after.prom')));
    assert.deepEqual(c.exporters, ['otlp_grpc/tempo']);
    assert.equal(c.exporterSent, 0);
    assert.equal(c.exporterSendFailed, 30);
    assert.equal(c.receiverAccepted, 30);
  });

  test('older names without _total are read too', () => {
    const c = readCollectorCounters(
      parsePrometheusText('otelcol_exporter_sent_spans{exporter="otlp/tempo"} 4\notelcol_exporter_send_failed_spans{exporter="otlp/tempo"} 1\notelcol_receiver_accepted_spans{receiver="otlp"} 5\n'),
    );
    assert.equal(c.exporterSent, 4);
    assert.equal(c.exporterSendFailed, 1);
    assert.equal(c.receiverAccepted, 5);
  });
});
