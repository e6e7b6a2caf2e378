/**
 * The compiled service (dist/server.js, what the image runs) against a real OTLP/gRPC receiver
 * that serves TLS with certificates from a test CA minted for this run.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { AppProcess, assertRefusesToStart, assertBuilt, runHealthcheck, type LogLine } from '../helpers/app-process';
import { request } from '../helpers/http-client';
import { OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver';
import { LOCAL_SANS, TestPki, type KeyPair, type TestCa } from '../helpers/pki';

const SPAN_KIND_SERVER = 2;
const STATUS_CODE_ERROR = 2;

let pki: TestPki;
let stackCa: TestCa;
let collectorCert: KeyPair;
let appCert: KeyPair;
const running: { apps: AppProcess[]; receivers: OtlpReceiver[] } = { apps: [], receivers: [] };

before(() => {
  assertBuilt();
  pki = new TestPki();
  stackCa = pki.createCa('stack-ca');
  collectorCert = stackCa.issue('collector', LOCAL_SANS);
  appCert = stackCa.issue('app', LOCAL_SANS);
});

afterEach(async () => {
  await Promise.all(running.apps.splice(0).map((app) => app.kill()));
  for (const receiver of running.receivers.splice(0)) receiver.close();
});

after(() => pki.cleanup());

async function startReceiver(options: Parameters<typeof OtlpReceiver.start>[0]): Promise<OtlpReceiver> {
  const receiver = await OtlpReceiver.start(options);
  running.receivers.push(receiver);
  return receiver;
}

/** The settings the stack gives the container, pointed at a test receiver; short batching keeps tests fast. */
function appEnv(endpoint: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    OTEL_SERVICE_NAME: 'integration-app',
    OTEL_RESOURCE_ATTRIBUTES: 'service.version=1.2.3,deployment.environment=integration',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_CERTIFICATE: stackCa.cert,
    OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    HOST: '127.0.0.1',
    PORT: '0',
    ...extra,
  };
}

async function startApp(env: Record<string, string>): Promise<{ app: AppProcess; baseUrl: string }> {
  const app = new AppProcess(env);
  running.apps.push(app);
  const port = await app.listeningPort();
  const scheme = env.TLS_CERT_FILE ? 'https' : 'http';
  return { app, baseUrl: `${scheme}://127.0.0.1:${port}` };
}

async function work(baseUrl: string, query: string): Promise<{ status: number; traceId: string }> {
  const res = await request(`${baseUrl}/api/work?${query}`, { ca: readFileSync(stackCa.cert) });
  const traceId = String(res.headers['x-trace-id'] ?? '');
  assert.match(traceId, /^[0-9a-f]{32}$/);
  return { status: res.status, traceId };
}

const complete = (expected: number) => (spans: ReceivedSpan[]) => spans.length >= expected && spans.some((s) => s.kind === SPAN_KIND_SERVER);
const exportFailure = (line: LogLine): boolean => line.msg.startsWith('span export failing');

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

describe('spans over OTLP/gRPC with TLS verified against the stack CA', () => {
  it('delivers the work trace, with its resource, to a collector whose certificate the stack CA signed', async () => {
    const receiver = await startReceiver({ cert: collectorCert.cert, key: collectorCert.key });
    const { app, baseUrl } = await startApp(appEnv(receiver.endpoint, { TLS_CERT_FILE: appCert.cert, TLS_KEY_FILE: appCert.key }));
    const started = await app.waitForLog((l) => l.msg === 'telemetry started');
    assert.equal(started.otlp_transport, 'tls');

    const { status, traceId } = await work(baseUrl, 'depth=2');
    assert.equal(status, 200);
    const spans = await receiver.waitForTrace(traceId, complete(3));
    assert.deepEqual(spans.map((s) => s.name).sort(), ['GET /api/work', 'work.level.1', 'work.level.2']);
    const level2 = spans.find((s) => s.name === 'work.level.2');
    const level1 = spans.find((s) => s.name === 'work.level.1');
    assert.equal(level2?.parentSpanId, level1?.spanId);
    assert.equal(level2?.attributes['work.level'], 2);
    for (const span of spans) {
      assert.equal(span.resource['service.name'], 'integration-app');
      assert.equal(span.resource['service.version'], '1.2.3');
      assert.equal(span.resource['deployment.environment'], 'integration');
    }
  });

  it('traces no health or readiness probe: only real requests reach the collector', async () => {
    const receiver = await startReceiver({ cert: collectorCert.cert, key: collectorCert.key });
    const { baseUrl } = await startApp(appEnv(receiver.endpoint));
    for (const probe of ['/monitoring/health', '/monitoring/ready', '/monitoring/metrics']) {
      assert.equal((await request(`${baseUrl}${probe}`, {})).status, 200);
    }
    const { traceId } = await work(baseUrl, 'depth=1');
    await receiver.waitForTrace(traceId, complete(2));
    assert.deepEqual(receiver.spans.filter((s) => s.name.includes('/monitoring/')).map((s) => s.name), []);
    assert.deepEqual([...new Set(receiver.spans.map((s) => s.traceId))], [traceId]);
  });

  it('delivers the error span with its exception event', async () => {
    const receiver = await startReceiver({ cert: collectorCert.cert, key: collectorCert.key });
    const { baseUrl } = await startApp(appEnv(receiver.endpoint));
    const { status, traceId } = await work(baseUrl, 'depth=1&fail=1');
    assert.equal(status, 500);
    const spans = await receiver.waitForTrace(traceId, complete(2));
    const failed = spans.find((s) => s.name === 'work.level.1');
    assert.equal(failed?.status.code, STATUS_CODE_ERROR);
    const exception = failed?.events.find((e) => e.name === 'exception');
    assert.equal(exception?.attributes['exception.type'], 'SimulatedFailure');
  });

  it('presents the client certificate when the collector requires mTLS', async () => {
    const receiver = await startReceiver({ cert: collectorCert.cert, key: collectorCert.key, clientCa: stackCa.cert });
    const { baseUrl } = await startApp(
      appEnv(receiver.endpoint, { OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: appCert.cert, OTEL_EXPORTER_OTLP_CLIENT_KEY: appCert.key }),
    );
    const { traceId } = await work(baseUrl, 'depth=1');
    await receiver.waitForTrace(traceId, complete(2));
  });
});

describe('refusing collectors it cannot verify', () => {
  async function assertRefused(receiver: OtlpReceiver, env: Record<string, string>, reason: RegExp): Promise<void> {
    const { app, baseUrl } = await startApp(env);
    const { status } = await work(baseUrl, 'depth=1');
    assert.equal(status, 200, 'the service keeps serving while export fails');
    const failure = await app.waitForLog(exportFailure);
    assert.equal(failure.endpoint, receiver.endpoint);
    assert.match(String(failure.error), reason);
    assert.equal(receiver.exportCalls, 0, 'no span may reach an unverified collector');
  }

  it('refuses a collector certificate signed by another CA', async () => {
    const rogue = pki.createCa('rogue-ca').issue('rogue-collector', LOCAL_SANS);
    const receiver = await startReceiver({ cert: rogue.cert, key: rogue.key });
    await assertRefused(receiver, appEnv(receiver.endpoint), /unable to verify the first certificate/);
  });

  it('refuses a stack-CA certificate issued for another host name', async () => {
    const misnamed = stackCa.issue('misnamed-collector', ['DNS:collector.invalid']);
    const receiver = await startReceiver({ cert: misnamed.cert, key: misnamed.key });
    await assertRefused(receiver, appEnv(receiver.endpoint), /does not match certificate's altnames/);
  });

  it('is refused by an mTLS collector when it has no client certificate', async () => {
    const receiver = await startReceiver({ cert: collectorCert.cert, key: collectorCert.key, clientCa: stackCa.cert });
    await assertRefused(receiver, appEnv(receiver.endpoint), /certificate required/);
  });
});

describe('shutdown and outages', () => {
  it('flushes spans finished just before SIGTERM, then exits 0 within the shutdown bound', async () => {
    const receiver = await startReceiver({ cert: collectorCert.cert, key: collectorCert.key });
    // A one-minute batch delay: only the shutdown flush can deliver these spans in time.
    const { app, baseUrl } = await startApp(appEnv(receiver.endpoint, { OTEL_BSP_SCHEDULE_DELAY: '60000' }));
    const { traceId } = await work(baseUrl, 'depth=3');
    assert.equal(receiver.exportCalls, 0);

    const signalledAt = Date.now();
    app.signal('SIGTERM');
    const exit = await app.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, app.logText());
    assert.ok(Date.now() - signalledAt < 10_000);
    assert.equal(receiver.spansOf(traceId).length, 4, 'every span of the last request was flushed');
    assert.ok(app.logs.some((l) => l.msg.startsWith('shutdown complete')));
  });

  it('keeps serving while the collector is down, logs the outage once, and logs the recovery', async () => {
    const port = await freePort();
    const endpoint = `https://localhost:${port}`;
    const { app, baseUrl } = await startApp(appEnv(endpoint, { OTEL_EXPORTER_OTLP_TIMEOUT: '500' }));
    await work(baseUrl, 'depth=1');
    await app.waitForLog(exportFailure);
    // Several more batches fail while the collector stays down.
    for (let i = 0; i < 4; i += 1) {
      assert.equal((await work(baseUrl, 'depth=1')).status, 200);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal(app.logs.filter(exportFailure).length, 1, app.logText());

    const receiver = await startReceiver({ cert: collectorCert.cert, key: collectorCert.key, port });
    const deadline = Date.now() + 20_000;
    let traceId = '';
    while (receiver.exportCalls === 0 && Date.now() < deadline) {
      traceId = (await work(baseUrl, 'depth=1')).traceId;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const recovered = await app.waitForLog((l) => l.msg === 'span export recovered', 1_000);
    assert.ok(Number(recovered.failed_batches) >= 2, app.logText());
    await receiver.waitForTrace(traceId, complete(2));
  });
});

describe('start-up checks', () => {
  async function refusesToStart(env: Record<string, string>, variable: string): Promise<void> {
    const app = new AppProcess(env);
    running.apps.push(app);
    await assertRefusesToStart(app, variable);
  }

  it('exits 1 naming OTEL_EXPORTER_OTLP_ENDPOINT when the endpoint is http://', async () => {
    await refusesToStart(appEnv('http://localhost:4317'), 'OTEL_EXPORTER_OTLP_ENDPOINT');
  });

  it('exits 1 naming OTEL_EXPORTER_OTLP_CERTIFICATE when the CA file is missing', async () => {
    await refusesToStart(appEnv('https://localhost:4317', { OTEL_EXPORTER_OTLP_CERTIFICATE: pki.path('missing-ca.crt') }), 'OTEL_EXPORTER_OTLP_CERTIFICATE');
  });
});

describe('container healthcheck (dist/healthcheck.js)', () => {
  it('passes against the HTTPS service verifying with TLS_CA_FILE, and fails against a CA that did not sign it', async () => {
    const receiver = await startReceiver({ cert: collectorCert.cert, key: collectorCert.key });
    const { baseUrl } = await startApp(appEnv(receiver.endpoint, { TLS_CERT_FILE: appCert.cert, TLS_KEY_FILE: appCert.key }));
    const port = new URL(baseUrl).port;
    const probeEnv = { PORT: port, HOST: '127.0.0.1', TLS_CERT_FILE: appCert.cert };
    assert.equal(await runHealthcheck({ ...probeEnv, TLS_CA_FILE: stackCa.cert }), 0);
    assert.equal(await runHealthcheck({ ...probeEnv, OTEL_EXPORTER_OTLP_CERTIFICATE: stackCa.cert }), 0);
    const otherCa = pki.createCa('probe-other-ca');
    assert.equal(await runHealthcheck({ ...probeEnv, TLS_CA_FILE: otherCa.cert }), 1);
  });

  it('passes against a plain HTTP service and fails when nothing listens', async () => {
    const receiver = await startReceiver({ cert: collectorCert.cert, key: collectorCert.key });
    const { baseUrl } = await startApp(appEnv(receiver.endpoint));
    assert.equal(await runHealthcheck({ PORT: new URL(baseUrl).port }), 0);
    assert.equal(await runHealthcheck({ PORT: String(await freePort()) }), 1);
  });
});
