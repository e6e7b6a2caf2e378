import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkDistributed, federateUrl, readIngesterView, withSummedIncrease, writeQuorum } from '../../verifier/distributedCheck';
import { parsePrometheusText, readTempoCounters } from '../../verifier/tempoMetrics';
import { FEDERATE_TIMESTAMP as TS, federateText, ingesterView as view } from './helpers/federate';

const ALL_ACTIVE = { 'tempo-distributor-1:3200': { ACTIVE: 3 }, 'tempo-querier-1:3200': { ACTIVE: 3 } };
const SPEC = { ingesters: 3, replicationFactor: 3 };
const codes = (r: ReturnType<typeof checkDistributed>): string[] => r.diagnoses.map((d) => d.code);

describe('federateUrl', () => {
  const url = new URL(federateUrl('https://localhost:39090/'));
  const selector = url.searchParams.get('match[]') ?? '';
  const names = /^\{__name__=~"([^"]+)"\}$/.exec(selector)?.[1] ?? '';
  // Prometheus anchors a label regex at both ends.
  const matches = (metric: string): boolean => new RegExp(`^(?:${names})$`).test(metric);

  test('asks the Prometheus given, once, for one selector', () => {
    assert.equal(`${url.origin}${url.pathname}`, 'https://localhost:39090/federate');
    assert.equal(url.searchParams.getAll('match[]').length, 1);
    assert.equal(federateUrl('https://localhost:39090'), federateUrl('https://localhost:39090/'));
    assert.notEqual(names, '', selector);
  });

  test('covers the counters the verdict is made of', () => {
    for (const metric of [
      'tempo_ingester_traces_created_total',
      'tempo_ring_members',
      'tempo_ingester_failed_flushes_total',
      'tempo_distributor_spans_received_total',
      'tempo_distributor_ingester_appends_total',
      'tempo_distributor_ingester_append_failures_total',
      'tempo_discarded_spans_total',
      'up',
    ]) {
      assert.ok(matches(metric), `${metric} is not federated by ${selector}`);
    }
  });

  test('and no more than its families: not every Tempo series', () => {
    for (const metric of ['go_goroutines', 'tempo_request_duration_seconds_bucket', 'tempo_ingester_traces_created', 'xtempo_ring_members']) {
      assert.ok(!matches(metric), `${metric} would be federated`);
    }
  });
});

describe('writeQuorum', () => {
  test('a majority of the replication factor', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 7].map(writeQuorum), [1, 2, 2, 3, 3, 4]);
  });
});

describe('readIngesterView', () => {
  test('traces created per ingester, by the instance Prometheus scraped', () => {
    const v = view({ created: [10, 7, 0], ring: ALL_ACTIVE });
    assert.deepEqual(v.tracesCreated, { 'tempo-ingester-1:3200': 10, 'tempo-ingester-2:3200': 7, 'tempo-ingester-3:3200': 0 });
    // The same text read as a single Tempo's counters sums them.
    assert.equal(readTempoCounters(parsePrometheusText(federateText({ created: [10, 7, 0] }))).tracesCreated.tempo_ingester_traces_created_total, 17);
  });

  test('sums the tenants of one ingester', () => {
    const text = `${federateText({ created: [4] })}tempo_ingester_traces_created_total{instance="tempo-ingester-1:3200",job="tempo-ingester",tenant="team-b"} 6 ${TS}\n`;
    assert.deepEqual(readIngesterView(parsePrometheusText(text)).tracesCreated, { 'tempo-ingester-1:3200': 10 });
  });

  test('the ring as the watcher seeing the most ACTIVE ingesters reports it, other rings ignored', () => {
    const v = view({ created: [1, 1, 1], ring: { 'tempo-distributor-1:3200': { ACTIVE: 2, JOINING: 1 }, 'tempo-querier-2:3200': { ACTIVE: 3 } } });
    assert.equal(v.activeInRing, 3);
    assert.equal(v.ringStates['ACTIVE'], 3);
    assert.equal(v.ringStates['JOINING'] ?? 0, 0, 'the states of the watcher chosen, not summed over watchers');
    const lagging = view({ ring: { 'tempo-distributor-1:3200': { ACTIVE: 2, JOINING: 1 } } });
    assert.equal(lagging.activeInRing, 2);
    assert.equal(lagging.ringStates['JOINING'], 1);
  });

  test('no ring reported at all is undefined; a ring without ACTIVE ingesters is 0', () => {
    assert.equal(view({ created: [1, 1, 1] }).activeInRing, undefined);
    assert.equal(view({ ring: { 'tempo-distributor-1:3200': { JOINING: 3 } } }).activeInRing, 0);
  });

  test('failed flushes per ingester', () => {
    assert.deepEqual(view({ failedFlushes: [0, 2, 0] }).failedFlushes, { 'tempo-ingester-1:3200': 0, 'tempo-ingester-2:3200': 2, 'tempo-ingester-3:3200': 0 });
  });
});

describe('checkDistributed', () => {
  const before = view({ created: [100, 100, 100], ring: ALL_ACTIVE, failedFlushes: [0, 0, 0] });

  test('healthy: every ingester ACTIVE, each counting its share', () => {
    const r = checkDistributed(before, view({ created: [107, 106, 107], ring: ALL_ACTIVE, failedFlushes: [0, 0, 0] }), SPEC);
    assert.deepEqual(r.diagnoses, []);
    assert.deepEqual(r.warnings, []);
    assert.equal(r.summary.activeInRing, 3);
    assert.deepEqual(r.summary.tracesCreatedPerIngester, { 'tempo-ingester-1:3200': 7, 'tempo-ingester-2:3200': 6, 'tempo-ingester-3:3200': 7 });
    assert.equal(r.summary.ingesters, 3);
    assert.equal(r.summary.replicationFactor, 3);
  });

  test('2 of 3 ingesters counting is a quorum of RF 3: the third may have had every write cancelled', () => {
    const r = checkDistributed(before, view({ created: [110, 110, 100], ring: ALL_ACTIVE }), SPEC);
    assert.deepEqual(r.diagnoses, []);
  });

  test('an ingester whose counter appears only after the traffic counts from 0', () => {
    const fresh = view({ created: [0, 0, undefined], ring: ALL_ACTIVE });
    const r = checkDistributed(fresh, view({ created: [0, 10, 10], ring: ALL_ACTIVE }), SPEC);
    assert.deepEqual(r.diagnoses, []);
    assert.equal(r.summary.tracesCreatedPerIngester['tempo-ingester-3:3200'], 10);
  });

  test('only 1 of 3 counting is INGESTER_NOT_COUNTING, with the quorum and the per-ingester rise', () => {
    const r = checkDistributed(before, view({ created: [120, 100, 100], ring: ALL_ACTIVE }), SPEC);
    assert.deepEqual(codes(r), ['INGESTER_NOT_COUNTING']);
    assert.equal(r.diagnoses[0]?.evidence['quorum'], 2);
    assert.equal(r.diagnoses[0]?.evidence['ingestersCounting'], 1);
    assert.match(r.diagnoses[0]?.message ?? '', /quorum of 2 of the 3 ingesters/);
    assert.match(r.diagnoses[0]?.message ?? '', /tempo-ingester-1:3200 \+20/);
    assert.ok(r.diagnoses[0]?.configKeys.some((k) => k.includes('ingester_client.grpc_client_config.tls_')));
  });

  test('RF 1: one ingester counting is enough; RF 5 of 5: three must', () => {
    assert.deepEqual(checkDistributed(before, view({ created: [110, 100, 100], ring: ALL_ACTIVE }), { ingesters: 3, replicationFactor: 1 }).diagnoses, []);
    const five = { 'tempo-distributor-1:3200': { ACTIVE: 5 } };
    const before5 = view({ created: [0, 0, 0, 0, 0], ring: five });
    assert.deepEqual(codes(checkDistributed(before5, view({ created: [9, 9, 0, 0, 0], ring: five }), { ingesters: 5, replicationFactor: 5 })), ['INGESTER_NOT_COUNTING']);
    assert.deepEqual(checkDistributed(before5, view({ created: [9, 9, 9, 0, 0], ring: five }), { ingesters: 5, replicationFactor: 5 }).diagnoses, []);
  });

  test('an ingester missing from the ring is INGESTER_RING_INCOMPLETE even when the traces were counted', () => {
    const after = view({ created: [110, 110, 100], ring: { 'tempo-distributor-1:3200': { ACTIVE: 2, Unhealthy: 1 }, 'tempo-querier-1:3200': { ACTIVE: 2, Unhealthy: 1 } } });
    const r = checkDistributed(before, after, SPEC);
    assert.deepEqual(codes(r), ['INGESTER_RING_INCOMPLETE']);
    assert.match(r.diagnoses[0]?.message ?? '', /^2 of 3 ingesters are ACTIVE in the ring \(members: 2 ACTIVE, .*1 Unhealthy/);
    assert.deepEqual(r.diagnoses[0]?.evidence, { activeInRing: 2, ingesters: 3 });
    assert.ok(r.diagnoses[0]?.configKeys.some((k) => k.includes('memberlist.cluster_label')));
    assert.equal(r.summary.activeInRing, 2);
  });

  test('no watcher of the ring scraped: INGESTER_RING_INCOMPLETE says nobody reports it', () => {
    const r = checkDistributed(before, view({ created: [110, 110, 110] }), SPEC);
    assert.deepEqual(codes(r), ['INGESTER_RING_INCOMPLETE']);
    assert.match(r.diagnoses[0]?.message ?? '', /^No Tempo container reports the ingester ring/);
    assert.equal(r.summary.activeInRing, null);
  });

  test('both at once: the ring first, then the counting', () => {
    const r = checkDistributed(before, view({ created: [110, 100, 100], ring: { 'tempo-distributor-1:3200': { ACTIVE: 1, LEAVING: 2 } } }), SPEC);
    assert.deepEqual(codes(r), ['INGESTER_RING_INCOMPLETE', 'INGESTER_NOT_COUNTING']);
  });

  test('flushes to object storage failing during the run: a FLUSHES_FAILING warning naming the ingesters, not a diagnosis', () => {
    const r = checkDistributed(before, view({ created: [110, 110, 110], ring: ALL_ACTIVE, failedFlushes: [0, 3, 1] }), SPEC);
    assert.deepEqual(r.diagnoses, []);
    assert.deepEqual(r.warnings.map((w) => w.code), ['FLUSHES_FAILING']);
    assert.deepEqual(r.warnings[0]?.evidence, { 'tempo-ingester-2:3200': 3, 'tempo-ingester-3:3200': 1 });
    assert.match(r.warnings[0]?.message ?? '', /tempo-ingester-2:3200 \+3/);
    assert.ok(r.warnings[0]?.configKeys.some((k) => k.includes('storage.trace.s3')));
  });

  test('failures from before the run are not reported again', () => {
    const failedBefore = view({ created: [100, 100, 100], ring: ALL_ACTIVE, failedFlushes: [5, 0, 0] });
    const r = checkDistributed(failedBefore, view({ created: [110, 110, 110], ring: ALL_ACTIVE, failedFlushes: [5, 0, 0] }), SPEC);
    assert.deepEqual(r.warnings, []);
  });

  test('a Tempo container whose last scrape failed is TEMPO_CONTAINERS_DOWN, naming it', () => {
    const up = { 'tempo-ingester-1:3200': 1, 'tempo-ingester-2:3200': 1, 'tempo-ingester-3:3200': 0, 'tempo-querier-1:3200': 0, 'tempo-distributor-1:3200': 1 } as const;
    const after = view({ created: [110, 110, 100], ring: ALL_ACTIVE, up });
    assert.deepEqual(after.down, ['tempo-ingester-3:3200', 'tempo-querier-1:3200']);
    const r = checkDistributed(before, after, SPEC);
    assert.deepEqual(codes(r), ['TEMPO_CONTAINERS_DOWN']);
    assert.match(r.diagnoses[0]?.message ?? '', /^2 Tempo container\(s\) did not answer Prometheus' last scrape \(tempo-ingester-3:3200, tempo-querier-1:3200\)/);
    assert.deepEqual(view({ created: [1], up: { 'tempo-ingester-1:3200': 1 } }).down, []);
  });

  describe('memberlist membership', () => {
    const gossipers = ['tempo-distributor-1:3200', 'tempo-distributor-2:3200', 'tempo-ingester-1:3200', 'tempo-ingester-2:3200', 'tempo-ingester-3:3200', 'tempo-querier-1:3200'];
    const members = (seen: (instance: string) => number): Record<string, number> => Object.fromEntries(gossipers.map((i) => [i, seen(i)]));

    test('every gossiping container seeing all of them: nothing to say', () => {
      const r = checkDistributed(before, view({ created: [110, 110, 110], ring: ALL_ACTIVE, memberlist: members(() => 6) }), SPEC);
      assert.deepEqual(r.warnings, []);
      assert.deepEqual(r.diagnoses, []);
    });

    test('one ingester gossiping alone (TLS or cluster label differing) explains the incomplete ring, first', () => {
      const lonely = 'tempo-ingester-3:3200';
      const after = view({ created: [110, 110, 100], ring: { 'tempo-distributor-1:3200': { ACTIVE: 2 } }, memberlist: members((i) => (i === lonely ? 1 : 5)) });
      const r = checkDistributed(before, after, SPEC);
      assert.deepEqual(codes(r).slice(0, 2), ['MEMBERLIST_INCOMPLETE', 'INGESTER_RING_INCOMPLETE']);
      assert.match(r.diagnoses[0]?.message ?? '', /^6 of 6 gossiping Tempo containers see fewer than 6 memberlist members \(tempo-ingester-3:3200 sees 1, /);
    });

    test('a split with the ring complete is a warning only', () => {
      const r = checkDistributed(before, view({ created: [110, 110, 110], ring: ALL_ACTIVE, memberlist: members((i) => (i === 'tempo-querier-1:3200' ? 5 : 6)) }), SPEC);
      assert.deepEqual(r.diagnoses, []);
      assert.deepEqual(r.warnings.map((w) => w.code), ['MEMBERLIST_INCOMPLETE']);
    });

    test('containers down explain missing members themselves: no membership diagnosis then', () => {
      const after = view({ created: [110, 110, 100], ring: ALL_ACTIVE, memberlist: members((i) => (i === 'tempo-ingester-3:3200' ? 0 : 5)), up: { 'tempo-ingester-3:3200': 0 } });
      const r = checkDistributed(before, after, SPEC);
      assert.ok(!codes(r).includes('MEMBERLIST_INCOMPLETE'), codes(r).join(', '));
      assert.equal(codes(r)[0], 'TEMPO_CONTAINERS_DOWN');
    });
  });

  describe('ingesters replaced between the readings', () => {
    test('a counter below its earlier value restarted from 0: its whole value is the rise', () => {
      const r = checkDistributed(view({ created: [60, 60, 60], ring: ALL_ACTIVE }), view({ created: [8, 66, 7], ring: ALL_ACTIVE }), SPEC);
      assert.deepEqual(r.summary.tracesCreatedPerIngester, { 'tempo-ingester-1:3200': 8, 'tempo-ingester-2:3200': 6, 'tempo-ingester-3:3200': 7 });
      assert.deepEqual(r.diagnoses, []);
    });

    test("the summed counter takes each ingester's own increase, not one sum that fell", () => {
      const beforeView = view({ created: [60, 60, 60] });
      const afterView = view({ created: [8, 66, 7] });
      const counters = (total: number) => ({ ...readTempoCounters(parsePrometheusText('tempo_ingester_traces_created_total 0\n')), tracesCreated: { tempo_ingester_traces_created_total: total } });
      const adjusted = withSummedIncrease(counters(180), counters(81), beforeView, afterView);
      assert.equal(adjusted.tracesCreated.tempo_ingester_traces_created_total, 180 + 21);
    });
  });
});
