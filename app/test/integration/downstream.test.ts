/**
 * Two instances of the compiled service (dist/server.js, what the image runs) under different
 * OTEL_SERVICE_NAMEs, the first calling the second over HTTPS with certificates from a test CA, both
 * exporting to one OTLP/gRPC receiver over verified TLS. What Tempo's service-graph processor needs
 * is asserted on the spans as they arrive: one trace, a CLIENT span in the caller whose child is the
 * SERVER span of the downstream.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { after, afterEach, before, describe, it } from 'node:test';
import { AppProcess, assertRefusesToStart, assertBuilt, stackAppEnv } from '../helpers/app-process';
import { request } from '../helpers/http-client';
import { OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver';
import { LOCAL_SANS, TestPki, type KeyPair, type TestCa } from '../helpers/pki';

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;
const STATUS_CODE_ERROR = 2;
const CALLER = 'integration-frontend';
const BACKEND = 'integration-backend';

let pki: TestPki;
let stackCa: TestCa;
let collectorCert: KeyPair;
let appCert: KeyPair;
let receiver: OtlpReceiver;
const running: { apps: AppProcess[]; servers: https.Server[] } = { apps: [], servers: [] };

before(async () => {
  assertBuilt();
  pki = new TestPki();
  stackCa = pki.createCa('stack-ca');
  collectorCert = stackCa.issue('collector', LOCAL_SANS);
  appCert = stackCa.issue('app', LOCAL_SANS);
  receiver = await OtlpReceiver.start({ cert: collectorCert.cert, key: collectorCert.key });
});

afterEach(async () => {
  await Promise.all(running.apps.splice(0).map((app) => app.kill()));
  for (const server of running.servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

after(() => {
  receiver.close();
  pki.cleanup();
});

/** One instance of the image: HTTPS with a stack-CA certificate, exporting to the receiver. */
function appEnv(serviceName: string, extra: Record<string, string> = {}): Record<string, string> {
  return stackAppEnv(serviceName, { otlpEndpoint: receiver.endpoint, caFile: stackCa.cert, certFile: appCert.cert, keyFile: appCert.key }, extra);
}

async function startApp(env: Record<string, string>): Promise<{ app: AppProcess; baseUrl: string }> {
  const app = new AppProcess(env);
  running.apps.push(app);
  const port = await app.listeningPort();
  return { app, baseUrl: `https://127.0.0.1:${port}` };
}

/** The backend, then the caller pointed at it, as the stack runs them. */
async function startPair(backendCert: KeyPair = appCert, callerExtra: Record<string, string> = {}): Promise<{ caller: AppProcess; callerUrl: string; backendUrl: string }> {
  const backend = await startApp(appEnv(BACKEND, { TLS_CERT_FILE: backendCert.cert, TLS_KEY_FILE: backendCert.key }));
  const caller = await startApp(appEnv(CALLER, { DOWNSTREAM_URL: backend.baseUrl, DOWNSTREAM_CA_FILE: stackCa.cert, ...callerExtra }));
  return { caller: caller.app, callerUrl: caller.baseUrl, backendUrl: backend.baseUrl };
}

interface WorkAnswer {
  status: number;
  traceId: string;
  body: Record<string, unknown>;
}

async function work(baseUrl: string, query: string): Promise<WorkAnswer> {
  const res = await request(`${baseUrl}/api/work?${query}`, { ca: readFileSync(stackCa.cert), timeoutMs: 10_000 });
  const traceId = String(res.headers['x-trace-id'] ?? '');
  assert.match(traceId, /^[0-9a-f]{32}$/);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  assert.equal(body.traceId, traceId, 'the body names the trace of the x-trace-id header');
  return { status: res.status, traceId, body };
}

const ofService = (spans: ReceivedSpan[], service: string): ReceivedSpan[] => spans.filter((s) => s.resource['service.name'] === service);
const serverSpanOf = (spans: ReceivedSpan[], service: string): ReceivedSpan | undefined =>
  ofService(spans, service).find((s) => s.kind === SPAN_KIND_SERVER);

/** Waits until both services' spans of the trace arrived: each exports on its own. */
function waitForBoth(traceId: string, callerSpans: number, backendSpans: number): Promise<ReceivedSpan[]> {
  return receiver.waitForTrace(
    traceId,
    (spans) =>
      ofService(spans, CALLER).length >= callerSpans &&
      ofService(spans, BACKEND).length >= backendSpans &&
      serverSpanOf(spans, CALLER) !== undefined &&
      serverSpanOf(spans, BACKEND) !== undefined,
  );
}

function exceptions(spans: ReceivedSpan[]): { span: string; type: unknown; message: unknown }[] {
  return spans.flatMap((s) =>
    s.events.filter((e) => e.name === 'exception').map((e) => ({ span: s.name, type: e.attributes['exception.type'], message: e.attributes['exception.message'] })),
  );
}

describe('a call to the downstream service (the service-graph edge)', () => {
  it('puts both services in one trace, the downstream SERVER span a child of the caller CLIENT span', async () => {
    const { callerUrl, backendUrl } = await startPair();
    const { status, traceId, body } = await work(callerUrl, 'depth=2');
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.service, CALLER);
    assert.deepEqual(
      (body.levels as { level: number }[]).map((l) => l.level),
      [1, 2],
    );
    const downstream = body.downstream as { url: string; service: string; traceId: string; levels: { level: number }[] };
    assert.equal(downstream.url, backendUrl);
    assert.equal(downstream.service, BACKEND);
    assert.equal(downstream.traceId, traceId, "the downstream's x-trace-id is the caller's trace id");
    assert.deepEqual(
      downstream.levels.map((l) => l.level),
      [1, 2],
    );

    const spans = await waitForBoth(traceId, 4, 3);
    const caller = ofService(spans, CALLER);
    const backend = ofService(spans, BACKEND);
    assert.deepEqual(caller.map((s) => s.name).sort(), ['GET', 'GET /api/work', 'work.level.1', 'work.level.2']);
    assert.deepEqual(backend.map((s) => s.name).sort(), ['GET /api/work', 'work.level.1', 'work.level.2']);

    const clientSpans = spans.filter((s) => s.kind === SPAN_KIND_CLIENT);
    assert.equal(clientSpans.length, 1, 'exactly one CLIENT span: the call');
    const [client] = clientSpans;
    assert.equal(client.resource['service.name'], CALLER);
    const callerLevel2 = caller.find((s) => s.name === 'work.level.2');
    assert.equal(client.parentSpanId, callerLevel2?.spanId, 'the call is made inside the deepest work level');
    assert.equal(client.attributes['http.request.method'], 'GET');
    assert.equal(client.attributes['url.full'], `${backendUrl}/api/work?depth=2&fail=0`);
    assert.equal(client.attributes['http.response.status_code'], 200);

    const backendServer = serverSpanOf(spans, BACKEND);
    assert.equal(backendServer?.parentSpanId, client.spanId, "the downstream SERVER span's parent is the caller's CLIENT span");
    const callerServer = serverSpanOf(spans, CALLER);
    assert.equal(callerServer?.parentSpanId, '', 'the caller starts the trace');
    assert.equal(exceptions(spans).length, 0);
  });

  it('forwards fail=1: the downstream fails, both services report ERROR, the caller answers 500 with its trace id', async () => {
    const { callerUrl, backendUrl } = await startPair();
    const { status, traceId, body } = await work(callerUrl, 'depth=2&fail=1');
    assert.equal(status, 500);
    assert.equal(body.service, CALLER);
    assert.equal(body.error, `downstream ${backendUrl} answered 500: simulated failure at work level 2`);
    assert.deepEqual(body.downstream, { url: backendUrl, status: 500, service: BACKEND, traceId, error: 'simulated failure at work level 2' });

    const spans = await waitForBoth(traceId, 4, 3);
    assert.equal(serverSpanOf(spans, CALLER)?.status.code, STATUS_CODE_ERROR);
    assert.equal(serverSpanOf(spans, BACKEND)?.status.code, STATUS_CODE_ERROR);
    const client = spans.find((s) => s.kind === SPAN_KIND_CLIENT);
    assert.equal(client?.status.code, STATUS_CODE_ERROR);
    assert.equal(client?.attributes['http.response.status_code'], 500);
    assert.equal(serverSpanOf(spans, BACKEND)?.parentSpanId, client?.spanId);
    for (const span of ofService(spans, CALLER).filter((s) => s.name.startsWith('work.level.'))) {
      assert.equal(span.status.code, STATUS_CODE_ERROR, `${CALLER} ${span.name}`);
    }

    // The failure is raised downstream only; the caller records it once, as a DownstreamFailure.
    assert.deepEqual(exceptions(ofService(spans, BACKEND)), [{ span: 'work.level.2', type: 'SimulatedFailure', message: 'simulated failure at work level 2' }]);
    assert.deepEqual(exceptions(ofService(spans, CALLER)), [
      { span: 'work.level.2', type: 'DownstreamFailure', message: `downstream ${backendUrl} answered 500: simulated failure at work level 2` },
    ]);
  });

  it('refuses a downstream whose certificate another CA signed: 500, and the TLS error on the CLIENT span', async () => {
    const rogue = pki.createCa('rogue-ca').issue('rogue-backend', LOCAL_SANS);
    const { caller, callerUrl, backendUrl } = await startPair(rogue);
    const { status, traceId, body } = await work(callerUrl, 'depth=1');
    assert.equal(status, 500);
    assert.match(String(body.error), new RegExp(`^downstream ${backendUrl} failed: unable to verify the first certificate`));

    const spans = await receiver.waitForTrace(traceId, (s) => serverSpanOf(s, CALLER) !== undefined && s.length >= 3);
    const client = spans.find((s) => s.kind === SPAN_KIND_CLIENT);
    assert.ok(client, spans.map((s) => s.name).join(', '));
    assert.equal(client.status.code, STATUS_CODE_ERROR);
    assert.match(client.status.message, /unable to verify the first certificate/);
    const tlsError = client.events.find((e) => e.name === 'exception');
    assert.match(String(tlsError?.attributes['exception.message']), /unable to verify the first certificate/);
    assert.equal(serverSpanOf(spans, CALLER)?.status.code, STATUS_CODE_ERROR);
    assert.equal(ofService(spans, CALLER).find((s) => s.name === 'work.level.1')?.events.find((e) => e.name === 'exception')?.attributes['exception.type'], 'DownstreamFailure');
    assert.equal(ofService(spans, BACKEND).length, 0, 'no request reached the unverified downstream');

    const logged = await caller.waitForLog((l) => l.msg === 'downstream call failed');
    assert.equal(logged.trace_id, traceId);
  });

  it('stops a DOWNSTREAM_URL loop after a few hops instead of multiplying requests', async () => {
    const port = await freePort();
    const selfUrl = `https://127.0.0.1:${port}`;
    await startApp(appEnv(CALLER, { PORT: String(port), DOWNSTREAM_URL: selfUrl, DOWNSTREAM_CA_FILE: stackCa.cert }));
    const { status, traceId, body } = await work(selfUrl, 'depth=1');
    assert.equal(status, 500);
    assert.match(String(body.error), /answered 508: not calling .* the DOWNSTREAM_URL settings probably form a loop/);
    const spans = await receiver.waitForTrace(traceId, (s) => s.filter((span) => span.kind === SPAN_KIND_SERVER).length >= 6);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(receiver.spansOf(traceId).filter((s) => s.kind === SPAN_KIND_SERVER).length, 6, `hops 0..5, then 508: ${spans.length} spans`);
  });
});

describe('mutual TLS to the downstream (DOWNSTREAM_CLIENT_CERTIFICATE / DOWNSTREAM_CLIENT_KEY)', () => {
  interface Seen {
    clientCn?: string;
    headers: IncomingHttpHeaders;
  }

  /** A stand-in downstream that requires a client certificate from the stack CA. */
  async function mtlsDownstream(): Promise<{ url: string; seen: Seen[] }> {
    const seen: Seen[] = [];
    const server = https.createServer(
      { cert: readFileSync(appCert.cert), key: readFileSync(appCert.key), ca: readFileSync(stackCa.cert), requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        seen.push({ clientCn: peer.subject?.CN, headers: req.headers });
        const traceId = String(req.headers.traceparent ?? '').split('-')[1] ?? '';
        res.writeHead(200, { 'content-type': 'application/json', 'x-trace-id': traceId });
        res.end(JSON.stringify({ service: 'mtls-backend', traceId, depth: 1, levels: [{ level: 1, checksum: '0123456789abcdef' }] }));
      },
    );
    running.servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
  }

  it('presents the client certificate, and the downstream receives the traceparent of the caller CLIENT span', async () => {
    const downstream = await mtlsDownstream();
    const clientCert = stackCa.issue('frontend-client', LOCAL_SANS);
    const { baseUrl } = await startApp(
      appEnv(CALLER, {
        DOWNSTREAM_URL: downstream.url,
        DOWNSTREAM_CA_FILE: stackCa.cert,
        DOWNSTREAM_CLIENT_CERTIFICATE: clientCert.cert,
        DOWNSTREAM_CLIENT_KEY: clientCert.key,
      }),
    );
    const { status, traceId, body } = await work(baseUrl, 'depth=1');
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal((body.downstream as { service: string }).service, 'mtls-backend');
    assert.equal(downstream.seen.length, 1);
    assert.equal(downstream.seen[0].clientCn, 'frontend-client');
    assert.equal(downstream.seen[0].headers['x-work-hops'], '1');

    const spans = await receiver.waitForTrace(traceId, (s) => s.length >= 3 && serverSpanOf(s, CALLER) !== undefined);
    const client = spans.find((s) => s.kind === SPAN_KIND_CLIENT);
    assert.equal(downstream.seen[0].headers.traceparent, `00-${traceId}-${client?.spanId}-01`);
  });

  it('is refused by an mTLS downstream without a client certificate, and answers 500', async () => {
    const downstream = await mtlsDownstream();
    const { baseUrl } = await startApp(appEnv(CALLER, { DOWNSTREAM_URL: downstream.url, DOWNSTREAM_CA_FILE: stackCa.cert }));
    const { status, body } = await work(baseUrl, 'depth=1');
    assert.equal(status, 500);
    assert.match(String(body.error), /^downstream .* failed: /);
    assert.equal(downstream.seen.length, 0);
  });
});

describe('downstream start-up checks', () => {
  async function refusesToStart(env: Record<string, string>, variable: string): Promise<void> {
    const app = new AppProcess(env);
    running.apps.push(app);
    await assertRefusesToStart(app, variable);
  }

  it('exits 1 naming DOWNSTREAM_URL when it is http://', async () => {
    await refusesToStart(appEnv(CALLER, { DOWNSTREAM_URL: 'http://127.0.0.1:3010', DOWNSTREAM_CA_FILE: stackCa.cert }), 'DOWNSTREAM_URL');
  });

  it('exits 1 naming DOWNSTREAM_CA_FILE when it is unset or cannot be read', async () => {
    await refusesToStart(appEnv(CALLER, { DOWNSTREAM_URL: 'https://127.0.0.1:3010' }), 'DOWNSTREAM_CA_FILE');
    await refusesToStart(appEnv(CALLER, { DOWNSTREAM_URL: 'https://127.0.0.1:3010', DOWNSTREAM_CA_FILE: pki.path('missing-ca.crt') }), 'DOWNSTREAM_CA_FILE');
  });

  it('logs the downstream it calls when it starts', async () => {
    const { app } = await startApp(appEnv(CALLER, { DOWNSTREAM_URL: 'https://127.0.0.1:3010/', DOWNSTREAM_CA_FILE: stackCa.cert }));
    const listening = await app.waitForLog((l) => l.msg === 'listening');
    assert.equal(listening.downstream_url, 'https://127.0.0.1:3010');
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
