/**
 * runVerification against a distributed stack: Tempo's containers publish nothing but the
 * query-frontend, so the counters come from Prometheus' /federate. The network is an HttpsClient
 * double (VerifyDeps.client) answering for the app, the query-frontend and Prometheus.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { HttpResponse, HttpsClient, RequestOptions } from '../../verifier/http';
import type { VerifyOptions } from '../../verifier/options';
import { runVerification } from '../../verifier/verify';
import { federateText, type FederateScript } from './helpers/federate';

const TEMPO = 'https://localhost:33200';
const APP = 'https://localhost:33010';
const PROMETHEUS = 'https://localhost:39090';

interface DoubleState {
  /** trace ids the app handed out */
  sent: string[];
  /** every URL requested, in order */
  requested: string[];
  /** /federate requests so far */
  federateCalls: number;
}

/**
 * The stack as the verifier sees it over HTTPS. `federate` says what Prometheus answers, given the
 * traces sent so far and the how-manieth /federate request this is.
 */
function stackDouble(federate: (sent: number, call: number) => FederateScript): { client: HttpsClient; state: DoubleState } {
  const state: DoubleState = { sent: [], requested: [], federateCalls: 0 };
  const answer = (status: number, body: string, headers: Record<string, string> = {}): HttpResponse => ({ status, body, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers } });
  const client: HttpsClient = {
    caDescription: 'the test CA',
    close: () => undefined,
    async request(url: string, _options: RequestOptions): Promise<HttpResponse> {
      state.requested.push(url);
      if (url === `${TEMPO}/ready`) return answer(200, 'ready\n');
      if (url.startsWith(`${PROMETHEUS}/federate?`)) {
        const call = state.federateCalls++;
        return answer(200, federateText(federate(state.sent.length, call)), { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      }
      if (url.startsWith(`${APP}/api/work?`)) {
        const id = randomBytes(16).toString('hex');
        state.sent.push(id);
        return answer(200, JSON.stringify({ traceId: id }), { 'content-type': 'application/json', 'x-trace-id': id });
      }
      const trace = /^https:\/\/localhost:33200\/api\/v2\/traces\/([0-9a-f]{32})$/.exec(url);
      if (trace && state.sent.includes(trace[1]!)) {
        const resourceSpans = [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'tracing-stack-app' } }] }, scopeSpans: [{ spans: [{ traceId: trace[1], spanId: '0000000000000001', name: 'GET /api/work' }] }] }];
        return answer(200, JSON.stringify({ trace: { resourceSpans } }), { 'content-type': 'application/json' });
      }
      return answer(404, '404 page not found\n');
    },
  };
  return { client, state };
}

function options(overrides: Partial<VerifyOptions> = {}): VerifyOptions {
  return {
    tempoUrl: TEMPO,
    caPem: 'unused: the client double is injected',
    caSource: 'the test CA',
    appUrl: APP,
    prometheusUrl: PROMETHEUS,
    distributed: { ingesters: 3, replicationFactor: 3 },
    traces: 10,
    minFraction: 1,
    deadlineSeconds: 3,
    depth: 1,
    json: false,
    postDeploy: false,
    progress: false,
    pollIntervalMs: 20,
    backoffInitialMs: 10,
    backoffMaxMs: 40,
    requestTimeoutMs: 500,
    ...overrides,
  };
}

const ALL_ACTIVE = { 'tempo-distributor-1:3200': { ACTIVE: 3 }, 'tempo-querier-1:3200': { ACTIVE: 3 } } as const;

/**
 * A healthy RF 3 stack after `sent` traces: 3 appends per trace, the slowest of each three cancelled
 * (an append failure, grafana/tempo#5342), so ingesters 1 and 2 took every trace and ingester 3 none.
 */
function quorumWrites(sent: number, ring: FederateScript['ring'] = ALL_ACTIVE): FederateScript {
  return {
    distributor: { spansReceived: sent * 2, appends: sent * 3, appendFailures: sent },
    created: [50 + sent, 40 + sent, 60],
    ring,
    failedFlushes: [0, 0, 0],
  };
}

describe('runVerification with --ingesters (counters through Prometheus /federate)', { concurrency: 2 }, () => {
  test('verified with 2 of 3 ingesters counting (a write quorum of RF 3), the sum rising by quorum x traces', async () => {
    const { client, state } = stackDouble((sent) => quorumWrites(sent));
    const r = await runVerification(options(), { client });
    assert.equal(r.outcome, 'verified', JSON.stringify(r.diagnoses, null, 2));
    assert.equal(r.exitCode, 0);
    assert.deepEqual(r.diagnoses, []);
    assert.equal(r.counters?.required, 20);
    assert.equal(r.counters?.delta.tracesCreated, 20);
    assert.equal(r.counters?.delta.ingesterAppendFailures, 10, 'the cancelled third of the appends');
    assert.ok(!r.warnings.some((w) => w.code === 'INGESTER_APPEND_FAILING'), JSON.stringify(r.warnings));
    assert.equal(r.distributed?.activeInRing, 3);
    assert.deepEqual(r.distributed?.tracesCreatedPerIngester, { 'tempo-ingester-1:3200': 10, 'tempo-ingester-2:3200': 10, 'tempo-ingester-3:3200': 0 });
    assert.ok(state.federateCalls >= 2, 'read before and after the traffic');
    assert.ok(!state.requested.includes(`${TEMPO}/metrics`), "the query-frontend's own /metrics has none of these counters");
    assert.ok(r.lookup.found >= 1);
  });

  test('only 2 of 3 ingesters ACTIVE in the ring: not verified, INGESTER_RING_INCOMPLETE, although the sum rose', async () => {
    const ring = { 'tempo-distributor-1:3200': { ACTIVE: 2, JOINING: 1 }, 'tempo-querier-1:3200': { ACTIVE: 2, JOINING: 1 } };
    const { client } = stackDouble((sent) => quorumWrites(sent, ring));
    const r = await runVerification(options(), { client });
    assert.equal(r.outcome, 'not_verified');
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['INGESTER_RING_INCOMPLETE']);
    assert.match(r.diagnoses[0]?.message ?? '', /^2 of 3 ingesters are ACTIVE in the ring/);
    assert.equal(r.counters?.delta.tracesCreated, 20, 'the sum alone would have passed');
    assert.equal(r.distributed?.activeInRing, 2);
  });

  test('only 1 ingester counting: not verified, INGESTER_NOT_COUNTING', async () => {
    const { client } = stackDouble((sent) => ({ ...quorumWrites(sent), created: [50 + sent * 2, 40, 60] }));
    const r = await runVerification(options(), { client });
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['INGESTER_NOT_COUNTING']);
  });

  test('a Prometheus that has scraped nothing yet (empty /federate) is waited for, not taken for a broken endpoint', async () => {
    const { client, state } = stackDouble((sent, call) => (call < 2 ? { nothingScraped: true } : quorumWrites(sent)));
    const r = await runVerification(options(), { client });
    assert.equal(r.outcome, 'verified', JSON.stringify(r.diagnoses, null, 2));
    assert.ok(state.federateCalls >= 4, `two empty answers, then the readings before and after (${state.federateCalls} calls)`);
  });

  test('the sum risen by other traffic before the second ingester swept its traces: polled until a quorum counted, then verified', async () => {
    // Background traffic lifts ingester 1 at once; ingester 2 counts the verification's traces only from the 5th reading on.
    const { client, state } = stackDouble((sent, call) => ({ ...quorumWrites(sent), created: [50 + sent * 3, call < 5 ? 40 : 40 + sent, 60] }));
    const r = await runVerification(options(), { client });
    assert.equal(r.outcome, 'verified', JSON.stringify(r.diagnoses, null, 2));
    assert.ok(state.federateCalls >= 6, `kept reading until ingester 2 counted (${state.federateCalls} calls)`);
    assert.equal(r.distributed?.tracesCreatedPerIngester['tempo-ingester-2:3200'], 10);
  });

  test('a replaced task\'s stale target down until Prometheus refreshes its DNS: waited for, then verified', async () => {
    const { client } = stackDouble((sent, call) => ({ ...quorumWrites(sent), up: { 'tempo-ingester-1:3200': 1, 'tempo-ingester-2:3200': 1, 'tempo-ingester-3:3200': 1, ...(call < 4 ? { '10.96.2.14:3200': 0 as const } : {}) } }));
    const r = await runVerification(options(), { client });
    assert.equal(r.outcome, 'verified', JSON.stringify(r.diagnoses, null, 2));
  });

  test('ingesters replaced just before: the "before" reading waits until Prometheus scraped every container since the run began', async () => {
    // Until the 3rd reading, /federate still holds the old ingester-2's counter (60, scraped before
    // the run): a baseline of 60 would swallow the new ingester-2's first 10 traces (it starts at 50).
    const started = Date.now();
    const up = { 'tempo-ingester-1:3200': 1 as const, 'tempo-ingester-2:3200': 1 as const, 'tempo-ingester-3:3200': 1 as const };
    const { client, state } = stackDouble((sent, call) =>
      call < 3 ? { ...quorumWrites(sent), created: [50 + sent, 60, 60], up, scrapedAtMs: started - 5000 } : { ...quorumWrites(sent), up, scrapedAtMs: Date.now() },
    );
    const r = await runVerification(options(), { client });
    assert.equal(r.outcome, 'verified', JSON.stringify(r.diagnoses, null, 2));
    assert.ok(state.federateCalls >= 4, `waited for a fresh scrape (${state.federateCalls} calls)`);
    assert.deepEqual(r.distributed?.tracesCreatedPerIngester, { 'tempo-ingester-1:3200': 10, 'tempo-ingester-2:3200': 10, 'tempo-ingester-3:3200': 0 });
  });

  test('flushes failing meanwhile: verified, with a FLUSHES_FAILING warning', async () => {
    const { client } = stackDouble((sent, call) => ({ ...quorumWrites(sent), failedFlushes: [0, call === 0 ? 0 : 2, 0] }));
    const r = await runVerification(options(), { client });
    assert.equal(r.outcome, 'verified', JSON.stringify(r.diagnoses));
    assert.deepEqual(r.warnings.map((w) => w.code), ['FLUSHES_FAILING']);
  });

  test('the sum short of quorum x traces keeps polling until the deadline: TRACES_NOT_CREATED', async () => {
    // Every trace reached one ingester only: a third of what RF 3 writes, below the quorum of 2.
    const { client, state } = stackDouble((sent) => ({ ...quorumWrites(sent), created: [50 + sent, 40, 60 + 0] }));
    const r = await runVerification(options({ deadlineSeconds: 1 }), { client });
    assert.equal(r.exitCode, 1);
    assert.equal(r.counters?.required, 20);
    assert.ok(r.diagnoses.some((d) => d.code === 'TRACES_NOT_CREATED'), JSON.stringify(r.diagnoses.map((d) => d.code)));
    assert.ok(state.federateCalls >= 3, `polled ${state.federateCalls} times`);
  });

  test('one ingester left ACTIVE, every push short of its quorum: the ring is said first, then the failing appends it explains', async () => {
    const ring = { 'tempo-distributor-1:3200': { ACTIVE: 1, Unhealthy: 2 } };
    const { client } = stackDouble((sent) => ({
      distributor: { spansReceived: sent * 2, appends: sent * 3, appendFailures: sent * 3 },
      created: [50, 40, 60],
      ring,
      up: { 'tempo-ingester-1:3200': 1, 'tempo-ingester-2:3200': 0, 'tempo-ingester-3:3200': 0 },
    }));
    const r = await runVerification(options({ deadlineSeconds: 1 }), { client });
    assert.equal(r.exitCode, 1);
    const found = r.diagnoses.map((d) => d.code);
    assert.deepEqual(found.slice(0, 2).sort(), ['INGESTER_RING_INCOMPLETE', 'TEMPO_CONTAINERS_DOWN'], found.join(', '));
    assert.ok(found.indexOf('INGESTER_APPEND_FAILING') > 1, found.join(', '));
    assert.ok(found.includes('INGESTER_NOT_COUNTING'), found.join(', '));
  });
});
