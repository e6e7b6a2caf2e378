/**
 * Mutual TLS on the service's own HTTPS server (TLS_CLIENT_AUTH=require), with the compiled
 * dist/server.js and dist/healthcheck.js as child processes and certificates minted for this run:
 * only clients whose certificate the stack CA signed get an HTTP answer, the container healthcheck
 * gets through with the service's own certificate, and the app -> backend call works when both
 * services require client certificates.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, afterEach, before, describe, it } from 'node:test';
import { AppProcess, assertBuilt, assertRefusesToStart, runHealthcheck, stackAppEnv } from '../helpers/app-process';
import { request, type HttpResult, type RequestOptions } from '../helpers/http-client';
import { OtlpReceiver } from '../helpers/otlp-receiver';
import { LOCAL_SANS, TestPki, type KeyPair, type TestCa } from '../helpers/pki';

const CALLER = 'mtls-frontend';
const BACKEND = 'mtls-backend';

let pki: TestPki;
let stackCa: TestCa;
let appCert: KeyPair;
/** What an HTTPS client of the stack presents: a certificate the stack CA signed. */
let clientCert: KeyPair;
/** The same kind of certificate, from a CA the service does not trust. */
let rogueCert: KeyPair;
let receiver: OtlpReceiver;
const running: AppProcess[] = [];

before(async () => {
  assertBuilt();
  pki = new TestPki();
  stackCa = pki.createCa('stack-ca');
  appCert = stackCa.issue('app', LOCAL_SANS);
  clientCert = stackCa.issue('stack-client', LOCAL_SANS);
  rogueCert = pki.createCa('rogue-ca').issue('rogue-client', LOCAL_SANS);
  const collectorCert = stackCa.issue('collector', LOCAL_SANS);
  receiver = await OtlpReceiver.start({ cert: collectorCert.cert, key: collectorCert.key });
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.kill()));
});

after(() => {
  receiver.close();
  pki.cleanup();
});

/** The settings the stack gives the container: HTTPS with a stack-CA certificate, exporting to the receiver. */
function appEnv(serviceName: string, extra: Record<string, string> = {}): Record<string, string> {
  return stackAppEnv(serviceName, { otlpEndpoint: receiver.endpoint, caFile: stackCa.cert, certFile: appCert.cert, keyFile: appCert.key }, { TLS_CA_FILE: stackCa.cert, ...extra });
}

const REQUIRE = { TLS_CLIENT_AUTH: 'require' };

async function startApp(env: Record<string, string>): Promise<{ app: AppProcess; baseUrl: string; port: string }> {
  const app = new AppProcess(env);
  running.push(app);
  const port = await app.listeningPort();
  return { app, baseUrl: `https://127.0.0.1:${port}`, port: String(port) };
}

/** GET over HTTPS verifying the server against the stack CA, presenting pair when given. */
function get(url: string, pair?: KeyPair, options: RequestOptions = {}): Promise<HttpResult> {
  const identity = pair ? { cert: readFileSync(pair.cert), key: readFileSync(pair.key) } : {};
  return request(url, { ca: readFileSync(stackCa.cert), timeoutMs: 10_000, ...identity, ...options });
}

/**
 * The server must end the connection during or right after the handshake: any HTTP answer,
 * even an error status, means an unverified client reached the request handler.
 */
async function assertRefused(url: string, pair?: KeyPair): Promise<void> {
  const outcome = await get(url, pair).then(
    (res) => res,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) assert.fail(`${url}: expected the TLS handshake to be refused, got HTTP ${(outcome as HttpResult).status}`);
  const code = (outcome as NodeJS.ErrnoException).code ?? '';
  // TLS 1.3 reports the refusal as an alert after the client's side of the handshake; a reset or
  // hang-up is also a refusal, as long as no HTTP answer arrived.
  assert.match(`${code} ${outcome.message}`, /CERTIFICATE_REQUIRED|UNKNOWN_CA|certificate|ECONNRESET|EPIPE|socket hang up/i);
}

describe('TLS_CLIENT_AUTH=require on the HTTPS server', () => {
  it('answers a client whose certificate the stack CA signed, on /monitoring/health and /api/work', async () => {
    const { app, baseUrl } = await startApp(appEnv(BACKEND, REQUIRE));
    const listening = await app.waitForLog((l) => l.msg === 'listening');
    assert.equal(listening.tls_client_auth, 'require');

    const health = await get(`${baseUrl}/monitoring/health`, clientCert);
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { status: 'ok' });
    const work = await get(`${baseUrl}/api/work?depth=2`, clientCert);
    assert.equal(work.status, 200, work.body);
    assert.equal((JSON.parse(work.body) as { service: string }).service, BACKEND);
  });

  it('refuses a client without a certificate before any HTTP answer', async () => {
    const { baseUrl } = await startApp(appEnv(BACKEND, REQUIRE));
    await assertRefused(`${baseUrl}/monitoring/health`);
    await assertRefused(`${baseUrl}/api/work?depth=1`);
  });

  it('refuses a client whose certificate another CA signed', async () => {
    const { baseUrl } = await startApp(appEnv(BACKEND, REQUIRE));
    await assertRefused(`${baseUrl}/monitoring/health`, rogueCert);
    await assertRefused(`${baseUrl}/api/work?depth=1`, rogueCert);
  });

  it('still serves the other clients after refusing one', async () => {
    const { baseUrl } = await startApp(appEnv(BACKEND, REQUIRE));
    await assertRefused(`${baseUrl}/monitoring/health`);
    assert.equal((await get(`${baseUrl}/monitoring/health`, clientCert)).status, 200);
  });
});

describe('TLS_CLIENT_AUTH unset or none (no regression)', () => {
  it('answers a client without a certificate', async () => {
    const settings: Record<string, string>[] = [{}, { TLS_CLIENT_AUTH: 'none' }];
    for (const extra of settings) {
      const { app, baseUrl } = await startApp(appEnv(BACKEND, extra));
      assert.equal((await app.waitForLog((l) => l.msg === 'listening')).tls_client_auth, 'none');
      assert.equal((await get(`${baseUrl}/monitoring/health`)).status, 200, JSON.stringify(extra));
      assert.equal((await get(`${baseUrl}/api/work?depth=1`)).status, 200, JSON.stringify(extra));
    }
  });
});

describe('container healthcheck under TLS_CLIENT_AUTH=require', () => {
  it('passes presenting the service certificate, and fails with a pair from another CA or none at all', async () => {
    const { port } = await startApp(appEnv(BACKEND, REQUIRE));
    // The container's own settings, as the HEALTHCHECK sees them.
    const probeEnv = { PORT: port, HOST: '127.0.0.1', TLS_CERT_FILE: appCert.cert, TLS_KEY_FILE: appCert.key, TLS_CA_FILE: stackCa.cert };
    assert.equal(await runHealthcheck({ ...probeEnv, TLS_CLIENT_AUTH: 'require' }), 0);
    assert.equal(await runHealthcheck({ ...probeEnv, TLS_CLIENT_AUTH: 'require', TLS_CERT_FILE: rogueCert.cert, TLS_KEY_FILE: rogueCert.key }), 1);
    // Without the setting the probe presents nothing, which the server refuses.
    assert.equal(await runHealthcheck(probeEnv), 1);
  });
});

describe('app -> backend when both require client certificates', () => {
  async function startPair(callerExtra: Record<string, string>): Promise<{ callerUrl: string; backendUrl: string }> {
    const backend = await startApp(appEnv(BACKEND, REQUIRE));
    const caller = await startApp(appEnv(CALLER, { ...REQUIRE, DOWNSTREAM_URL: backend.baseUrl, DOWNSTREAM_CA_FILE: stackCa.cert, ...callerExtra }));
    return { callerUrl: caller.baseUrl, backendUrl: backend.baseUrl };
  }

  interface WorkBody {
    service: string;
    error?: string;
    downstream?: { url: string; service?: string; status?: number; error?: string };
  }

  async function work(callerUrl: string): Promise<{ status: number; body: WorkBody }> {
    const res = await get(`${callerUrl}/api/work?depth=1`, clientCert);
    return { status: res.status, body: JSON.parse(res.body) as WorkBody };
  }

  it('calls the backend presenting DOWNSTREAM_CLIENT_CERTIFICATE / DOWNSTREAM_CLIENT_KEY', async () => {
    const callerClient = stackCa.issue('frontend-client', LOCAL_SANS);
    const { callerUrl, backendUrl } = await startPair({ DOWNSTREAM_CLIENT_CERTIFICATE: callerClient.cert, DOWNSTREAM_CLIENT_KEY: callerClient.key });
    const { status, body } = await work(callerUrl);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.service, CALLER);
    assert.equal(body.downstream?.url, backendUrl);
    assert.equal(body.downstream?.service, BACKEND);
  });

  it('answers 500 when it has no client certificate for the backend', async () => {
    const { callerUrl, backendUrl } = await startPair({});
    const { status, body } = await work(callerUrl);
    assert.equal(status, 500, JSON.stringify(body));
    assert.match(String(body.error), new RegExp(`^downstream ${backendUrl} failed: `));
    assert.equal(body.downstream?.status, undefined, 'the backend refused the handshake: no HTTP answer');
  });

  it('answers 500 when its client certificate is from another CA', async () => {
    const { callerUrl, backendUrl } = await startPair({ DOWNSTREAM_CLIENT_CERTIFICATE: rogueCert.cert, DOWNSTREAM_CLIENT_KEY: rogueCert.key });
    const { status, body } = await work(callerUrl);
    assert.equal(status, 500, JSON.stringify(body));
    assert.match(String(body.error), new RegExp(`^downstream ${backendUrl} failed: `));
  });
});

describe('TLS_CLIENT_AUTH start-up checks', () => {
  async function refusesToStart(env: Record<string, string>, variable: string, message: RegExp): Promise<void> {
    const app = new AppProcess(env);
    running.push(app);
    await assertRefusesToStart(app, variable);
    assert.ok(app.logs.some((l) => l.level === 'error' && message.test(l.msg)), app.logText());
  }

  it('exits 1 naming TLS_CLIENT_AUTH when "require" is set on plain HTTP', async () => {
    await refusesToStart(appEnv(BACKEND, { ...REQUIRE, TLS_CERT_FILE: '', TLS_KEY_FILE: '' }), 'TLS_CLIENT_AUTH', /TLS_CLIENT_AUTH=require needs HTTPS.*TLS_CERT_FILE/);
  });

  it('exits 1 naming TLS_CA_FILE when "require" has no CA, or one that cannot be read', async () => {
    await refusesToStart(appEnv(BACKEND, { ...REQUIRE, TLS_CA_FILE: '' }), 'TLS_CA_FILE', /TLS_CA_FILE is not set but TLS_CLIENT_AUTH=require/);
    await refusesToStart(appEnv(BACKEND, { ...REQUIRE, TLS_CA_FILE: pki.path('missing-ca.crt') }), 'TLS_CA_FILE', /cannot be read/);
  });

  it('exits 1 naming TLS_CLIENT_AUTH and its accepted values for an unknown value', async () => {
    await refusesToStart(appEnv(BACKEND, { TLS_CLIENT_AUTH: 'yes' }), 'TLS_CLIENT_AUTH', /TLS_CLIENT_AUTH="yes".*"require".*"none"/);
  });
});
