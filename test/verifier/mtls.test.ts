/**
 * Mutual TLS: every endpoint of the scripted stack refuses clients without a certificate the stack CA
 * signed. With the pair the verifier verifies end to end (Tempo, the app, collector metrics, the
 * collector's OTLP endpoint, OTLP/HTTP, Prometheus); without one, or with one from another CA, it stops
 * at once with CLIENT_CERTIFICATE_REFUSED (exit 2) naming the client certificate settings.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { probeTlsEndpoint } from '../../verifier/collectorProbe';
import { EXIT_CODES } from '../../verifier/exitCodes';
import type { VerifyOptions } from '../../verifier/options';
import { toJson, formatHuman } from '../../verifier/report';
import { runVerification } from '../../verifier/verify';
import { APP, BACKEND, healthyState } from './helpers/fakePrometheus';
import { assertNoKey, clientCertificateOf, type FakeStack, fakeStackOptions, fixture, healthyMetrics, useFakeStacks } from './helpers/fakeStack';
import { GENERATOR_BEFORE, tempoWithGenerator } from './helpers/generatorMetrics';

const fake = useFakeStacks();

function options(s: FakeStack, overrides: Partial<VerifyOptions> = {}): VerifyOptions {
  return fakeStackOptions(s, fake.pki().caPem, overrides);
}

/** The settings every client-certificate diagnosis must point at, as the options name them. */
const SETTINGS = /--client-cert-file\/--client-key-file \(VERIFY_CLIENT_CERT_\*\/VERIFY_CLIENT_KEY_\*, pulumi stack output clientCertificate\/clientPrivateKey\)/;

/** A port that accepts TCP and closes at once, like Docker's proxy before the container listens. */
function acceptAndClose(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = net.createServer((socket) => socket.destroy());
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({ url: `https://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

describe('mutual TLS against a scripted stack that requires client certificates', { concurrency: 8 }, () => {
  test('with the pair: verified end to end — Tempo, the app, collector metrics and OTLP endpoint, Prometheus — every request presenting it', async () => {
    const s = await fake.mtlsStack({
      metrics: tempoWithGenerator(GENERATOR_BEFORE, {}),
      prometheus: ({ sent }) => (sent > 0 ? healthyState() : []),
    });
    const r = await runVerification(
      options(s, {
        deadlineSeconds: 8,
        clientCertificate: clientCertificateOf(fake.pki()),
        collectorMetricsUrl: `${s.url}/collector/metrics`,
        collectorOtlpUrl: s.url,
        prometheusUrl: s.url,
        serviceGraphEdge: { client: APP, server: BACKEND },
      }),
    );
    assert.equal(r.outcome, 'verified', JSON.stringify(r.diagnoses));
    assert.equal(r.exitCode, EXIT_CODES.VERIFIED);
    assert.deepEqual(r.diagnoses, []);
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(r.collectorEndpoint?.map((p) => p.status), ['answers'], 'the collector probe presented the pair');
    assert.equal(r.collector?.error, undefined, 'collector metrics were read with the pair');
    assert.ok(r.collector?.before, 'collector metrics were read with the pair');
    assert.equal(r.metrics?.serviceGraphEdge.requests, 10, 'Prometheus was queried with the pair');
    const routes = new Set(s.log.map((l) => l.split(' ')[1]));
    for (const route of ['/ready', '/metrics', '/api/work', '/collector/metrics', '/api/v1/query']) assert.ok(routes.has(route), `${route} was requested`);
    assert.ok(s.log.some((l) => /\/api\/(v2\/)?traces\//.test(l)), 'trace lookups were requested');
    assert.ok(s.clientCns.length > 20);
    assert.ok(s.clientCns.every((cn) => cn === 'verifier'), `every request presented the verifier's certificate: ${[...new Set(s.clientCns)].join(', ')}`);
    assert.deepEqual(r.clientCertificate, { subject: 'verifier', issuer: 'stack-ca', certSource: 'the test client certificate', keySource: 'the test client key' });
    assertNoKey(toJson(r), fake.pki().client.key, 'the JSON report');
    assertNoKey(formatHuman(r), fake.pki().client.key, 'the human report');
    assert.match(formatHuman(r), /Client\s+certificate "verifier" issued by "stack-ca" from the test client certificate, key from the test client key/);
  });

  test('with the pair: synthetic spans through the OTel exporter are accepted by an OTLP/HTTP endpoint requiring it', async () => {
    const s = await fake.mtlsStack({ metrics: healthyMetrics('2.x') });
    const { appUrl: _unused, ...base } = options(s, { deadlineSeconds: 8, clientCertificate: clientCertificateOf(fake.pki()) });
    const r = await runVerification({ ...base, otlpHttpUrl: s.url });
    assert.equal(r.outcome, 'verified', JSON.stringify(r.diagnoses));
    assert.equal(s.sentIds.size, 10, 'the exporter presented the pair and the receiver took the spans');
    assert.ok(s.clientCns.includes('verifier'));
  });

  for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
    test(`${maxVersion}: without a pair, Tempo refuses the handshake: CLIENT_CERTIFICATE_REFUSED, unreachable, exit 2, at once`, async () => {
      const s = await fake.mtlsStack({ metrics: healthyMetrics('2.x') }, { maxVersion });
      const r = await runVerification(options(s, { deadlineSeconds: 20 }));
      assert.equal(r.outcome, 'unreachable');
      assert.equal(r.exitCode, EXIT_CODES.UNREACHABLE);
      assert.equal(r.stage, 'ready');
      assert.deepEqual(r.diagnoses.map((d) => d.code), ['CLIENT_CERTIFICATE_REFUSED']);
      const d = r.diagnoses[0]!;
      // TLS 1.3: the alert "certificate required"; TLS 1.2: the generic "handshake failure" a server sends a client without one
      const alert = maxVersion === 'TLSv1.3' ? 'certificate required' : 'handshake failure';
      assert.match(d.message, new RegExp(`^Tempo /ready: 127\\.0\\.0\\.1:\\d+ refused the TLS handshake: it requires a client certificate \\(mutual TLS\\) and the verifier presented none \\(alert "${alert}"`));
      assert.match(d.message, SETTINGS);
      assert.match(d.configKeys[0] ?? '', SETTINGS);
      assert.match(d.configKeys[1] ?? '', /tempo server\.http_tls_config\.client_auth_type/);
      assert.equal(d.evidence['url'], `${s.url}/ready`);
      assert.ok(r.timings.elapsedMs < 2000, `did not wait for the 20 s deadline (${r.timings.elapsedMs} ms)`);
      assert.equal(s.log.length, 0, 'no request got through');
    });

    test(`${maxVersion}: with a pair from another CA, Tempo hangs up on it: CLIENT_CERTIFICATE_REFUSED naming the certificate and its issuer, exit 2`, async () => {
      const s = await fake.mtlsStack({ metrics: healthyMetrics('2.x') }, { maxVersion });
      const r = await runVerification(options(s, { deadlineSeconds: 20, clientCertificate: clientCertificateOf(fake.pki(), 'otherCaClient') }));
      assert.equal(r.outcome, 'unreachable');
      assert.equal(r.exitCode, EXIT_CODES.UNREACHABLE);
      assert.deepEqual(r.diagnoses.map((d) => d.code), ['CLIENT_CERTIFICATE_REFUSED']);
      const d = r.diagnoses[0]!;
      assert.match(d.message, /^Tempo \/ready: 127\.0\.0\.1:\d+ hung up during the TLS handshake, after presenting its certificate and before any answer \(ECONNRESET/);
      assert.match(d.message, /the verifier presented its client certificate "intruder" issued by "other-ca" from the test otherCaClient certificate, not signed by the trusted CA "stack-ca"/);
      assert.match(d.message, SETTINGS);
      assert.ok(r.timings.elapsedMs < 2000, `did not wait for the 20 s deadline (${r.timings.elapsedMs} ms)`);
      assertNoKey(toJson(r) + formatHuman(r), fake.pki().otherCaClient.key, 'the reports');
    });
  }

  test('a port that accepts and closes (Docker proxy, nothing behind it) is still waited for: TEMPO_UNREACHABLE, not a client certificate problem', async () => {
    const proxy = await acceptAndClose();
    try {
      const r = await runVerification({ ...options({ url: proxy.url } as FakeStack, { deadlineSeconds: 1 }), appUrl: proxy.url });
      assert.deepEqual(r.diagnoses.map((d) => d.code), ['TEMPO_UNREACHABLE']);
      assert.ok(Number(r.diagnoses[0]?.evidence['attempts']) >= 2, 'the resets were retried until the deadline');
    } finally {
      await proxy.close();
    }
  });

  test('the app requires client certificates, Tempo does not: the refusal names the app and its TLS_CLIENT_AUTH', async () => {
    const tempo = await fake.stack({ metrics: healthyMetrics('2.x') });
    const app = await fake.mtlsStack({});
    const r = await runVerification(options(tempo, { appUrl: app.url }));
    assert.equal(r.exitCode, EXIT_CODES.UNREACHABLE);
    assert.equal(r.stage, 'traffic');
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['CLIENT_CERTIFICATE_REFUSED']);
    assert.match(r.diagnoses[0]!.message, /^the app: .*presented none/);
    assert.match(r.diagnoses[0]!.configKeys[1] ?? '', /TLS_CLIENT_AUTH=require/);
  });

  test('the OTLP/HTTP endpoint requires client certificates: the refusal names the OTLP endpoint', async () => {
    const tempo = await fake.stack({ metrics: healthyMetrics('2.x') });
    const otlp = await fake.mtlsStack({});
    const { appUrl: _unused, ...base } = options(tempo, { deadlineSeconds: 5 });
    const r = await runVerification({ ...base, otlpHttpUrl: otlp.url });
    assert.equal(r.exitCode, EXIT_CODES.UNREACHABLE);
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['CLIENT_CERTIFICATE_REFUSED']);
    assert.match(r.diagnoses[0]!.message, /^the OTLP endpoint: .*requires a client certificate .*presented none/);
    assert.match(r.diagnoses[0]!.message, SETTINGS);
    assert.match(r.diagnoses[0]!.configKeys[1] ?? '', /receivers\.otlp\.protocols\.http\.tls\.client_ca_file/);
  });

  test('Prometheus requires client certificates, Tempo does not: the traces are stored, then CLIENT_CERTIFICATE_REFUSED at once', async () => {
    const tempo = await fake.stack({ metrics: tempoWithGenerator(GENERATOR_BEFORE, {}) });
    const prom = await fake.mtlsStack({ prometheus: () => healthyState() });
    const r = await runVerification(options(tempo, { deadlineSeconds: 20, prometheusUrl: prom.url, serviceGraphEdge: { client: APP, server: BACKEND } }));
    assert.equal(r.exitCode, EXIT_CODES.UNREACHABLE);
    assert.equal(r.outcome, 'unreachable');
    assert.equal(r.lookup.found, 10, 'the traces were verified first');
    assert.deepEqual(r.diagnoses.map((d) => d.code), ['CLIENT_CERTIFICATE_REFUSED']);
    assert.match(r.diagnoses[0]!.message, /^the traces are stored, but Prometheus at https:\/\/127\.0\.0\.1:\d+ could not be queried: .*presented none/);
    assert.match(r.diagnoses[0]!.configKeys[1] ?? '', /prometheus web config tls_server_config\.client_auth_type/);
    assert.ok(r.timings.elapsedMs < 8000, `did not wait for the deadline (${r.timings.elapsedMs} ms)`);
  });

  for (const [what, which] of [['none', undefined], ['one from another CA', 'otherCaClient']] as const) {
    test(`the collector's OTLP endpoint refusing ${what}: CLIENT_CERTIFICATE_REFUSED first, about the verifier's certificate`, async () => {
      const tempo = await fake.stack({ metrics: [fixture('tempo-2.x-fresh.prom')], traces: 'none' });
      const collector = await fake.mtlsStack({});
      const r = await runVerification(options(tempo, { deadlineSeconds: 1, collectorOtlpUrl: collector.url, ...(which ? { clientCertificate: clientCertificateOf(fake.pki(), which) } : {}) }));
      assert.deepEqual(r.collectorEndpoint?.map((p) => p.status), ['client-certificate'], 'probed once: only an endpoint that answered is probed again');
      assert.deepEqual(r.diagnoses.map((d) => d.code), ['CLIENT_CERTIFICATE_REFUSED', 'NO_SPANS_RECEIVED']);
      const d = r.diagnoses[0]!;
      assert.match(d.message, new RegExp(`^the collector at ${collector.url.replace(/\./g, '\\.')} refused the verifier's TLS handshake`));
      assert.match(d.message, which ? /does not accept the verifier's client certificate "intruder" issued by "other-ca"/ : /the verifier presented none/);
      assert.match(d.configKeys[0] ?? '', SETTINGS);
      assert.match(d.configKeys[1] ?? '', /receivers\.otlp\.protocols\.grpc\.tls\.client_ca_file/);
    });
  }
});

describe('probeTlsEndpoint under mutual TLS', { concurrency: true }, () => {
  for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
    test(`${maxVersion}: answers with the pair; refused for none and for one from another CA`, async () => {
      const s = await fake.mtlsStack({}, { maxVersion });
      const pki = fake.pki();
      const ok = await probeTlsEndpoint(s.url, pki.caPem, 3000, clientCertificateOf(pki));
      assert.equal(ok.status, 'answers', ok.detail);
      const none = await probeTlsEndpoint(s.url, pki.caPem, 3000);
      assert.equal(none.status, 'client-certificate', none.detail);
      assert.match(none.detail ?? '', maxVersion === 'TLSv1.3' ? /alert "certificate required" \(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED\)/ : /alert "handshake failure"/);
      const other = await probeTlsEndpoint(s.url, pki.caPem, 3000, clientCertificateOf(pki, 'otherCaClient'));
      assert.equal(other.status, 'client-certificate', other.detail);
      assert.ok(other.ms < 1000, `a refusal is seen at once (${other.ms} ms)`);
    });
  }

  test('a server that does not ask for client certificates still answers at once, with or without a pair', async () => {
    const s = await fake.stack({});
    const pki = fake.pki();
    for (const pair of [undefined, clientCertificateOf(pki)]) {
      const r = await probeTlsEndpoint(s.url, pki.caPem, 3000, pair);
      assert.equal(r.status, 'answers', r.detail);
      assert.ok(r.ms < 500, `no waiting for a verdict when the server sends its session ticket (${r.ms} ms)`);
    }
  });
});
