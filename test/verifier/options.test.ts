import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadStackModelFromFile } from '../../model';
import {
  DEFAULTS,
  parseCliArgs,
  parseServiceGraphEdge,
  type PemInput,
  resolveOptions,
  selectCaInput,
  selectClientCertificateInput,
  UsageError,
  USAGE,
  type VerifyOptions,
} from '../../verifier/options';
import { type CliIo, runCli } from '../../verifier/cli';
import { currentStackName, stackDefaults } from '../../verifier/stackDefaults';
import { mintTestPki, type TestPki } from './helpers/certs';
import { assertNoKey, closedPort } from './helpers/fakeStack';

let pki: TestPki;
before(() => {
  pki = mintTestPki();
});
after(() => pki.cleanup());

const ROOT = join(__dirname, '..', '..');

function resolve(argv: string[], env: Record<string, string> = {}, sd: Partial<VerifyOptions> = {}): VerifyOptions {
  const args = parseCliArgs(argv);
  const ca = selectCaInput(args, env, sd);
  const pem = ca.kind === 'pem' ? { pem: ca.pem, source: ca.source } : ca.kind === 'file' ? { pem: pki.caPem, source: ca.source } : undefined;
  return resolveOptions({ args, env, stackDefaults: sd, ...(pem ? { ca: pem } : {}) });
}

describe('options', () => {
  test('flags with defaults', () => {
    const o = resolve(['--tempo-url', 'https://localhost:3200/', '--ca-file', '/x/ca.pem', '--app-url', 'https://localhost:3010']);
    assert.equal(o.tempoUrl, 'https://localhost:3200', 'trailing slash dropped');
    assert.equal(o.appUrl, 'https://localhost:3010');
    assert.equal(o.caSource, '--ca-file /x/ca.pem');
    assert.equal(o.traces, DEFAULTS.traces);
    assert.equal(o.minFraction, 1);
    assert.equal(o.deadlineSeconds, 120);
    assert.equal(o.json, false);
    assert.equal(o.otlpHttpUrl, undefined);
  });

  test('every flag', () => {
    const o = resolve([
      '--tempo-url', 'https://127.0.0.1:32000', '--ca-file', 'ca.pem', '--otlp-http-url', 'https://127.0.0.1:4318',
      '--collector-metrics-url', 'https://127.0.0.1:8889/metrics', '--traces', '25', '--min-fraction', '0.8',
      '--deadline-seconds', '45', '--depth', '3', '--tenant', 'team-a', '--json', '--progress', '--poll-interval-ms', '250',
      '--backoff-initial-ms', '100', '--backoff-max-ms', '1000', '--request-timeout-ms', '2000',
    ]);
    assert.equal(o.otlpHttpUrl, 'https://127.0.0.1:4318');
    assert.equal(o.collectorMetricsUrl, 'https://127.0.0.1:8889/metrics');
    assert.deepEqual(
      [o.traces, o.minFraction, o.deadlineSeconds, o.depth, o.tenant, o.json, o.progress, o.pollIntervalMs, o.backoffInitialMs, o.backoffMaxMs, o.requestTimeoutMs],
      [25, 0.8, 45, 3, 'team-a', true, true, 250, 100, 1000, 2000],
    );
  });

  test('environment fallbacks (the Pulumi command passes the CA PEM itself)', () => {
    const o = resolve([], {
      VERIFY_TEMPO_URL: 'https://localhost:3200',
      VERIFY_APP_URL: 'https://localhost:3010',
      VERIFY_CA_PEM: pki.caPem,
      VERIFY_TRACES: '7',
      VERIFY_MIN_FRACTION: '0.5',
      VERIFY_DEADLINE_SECONDS: '30',
    });
    assert.equal(o.caSource, 'VERIFY_CA_PEM');
    assert.equal(o.caPem.trim(), pki.caPem.trim());
    assert.deepEqual([o.traces, o.minFraction, o.deadlineSeconds], [7, 0.5, 30]);
  });

  test('precedence: flag > environment > stack defaults', () => {
    const sd: Partial<VerifyOptions> = { tempoUrl: 'https://stack:1', appUrl: 'https://stack-app:1', traces: 3, caPem: pki.caPem, caSource: 'pulumi stack output caCertificate --stack dev' };
    const fromStack = resolve(['--stack', 'dev'], {}, sd);
    assert.equal(fromStack.tempoUrl, 'https://stack:1');
    assert.equal(fromStack.traces, 3);
    assert.equal(fromStack.caSource, 'pulumi stack output caCertificate --stack dev');
    assert.equal(fromStack.stack, 'dev');
    const fromEnv = resolve(['--stack', 'dev'], { VERIFY_TEMPO_URL: 'https://env:2', VERIFY_TRACES: '4' }, sd);
    assert.equal(fromEnv.tempoUrl, 'https://env:2');
    assert.equal(fromEnv.traces, 4);
    const fromFlag = resolve(['--stack', 'dev', '--tempo-url', 'https://flag:3', '--traces', '5', '--ca-file', 'mine.pem'], { VERIFY_TEMPO_URL: 'https://env:2' }, sd);
    assert.equal(fromFlag.tempoUrl, 'https://flag:3');
    assert.equal(fromFlag.traces, 5);
    assert.equal(fromFlag.caSource, '--ca-file mine.pem');
  });

  test('the app wins over synthetic spans when both are known', () => {
    const o = resolve(['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1', '--otlp-http-url', 'https://c:4318']);
    assert.equal(o.appUrl, 'https://a:1');
    assert.equal(o.otlpHttpUrl, undefined);
  });

  test('--prometheus-url and --service-graph-edge', () => {
    const o = resolve([
      '--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1',
      '--prometheus-url', 'https://localhost:9090/', '--service-graph-edge', ' tracing-stack-app , tracing-stack-app-backend ',
    ]);
    assert.equal(o.prometheusUrl, 'https://localhost:9090');
    assert.deepEqual(o.serviceGraphEdge, { client: 'tracing-stack-app', server: 'tracing-stack-app-backend' });
    const plain = resolve(['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1']);
    assert.equal(plain.prometheusUrl, undefined);
    assert.equal(plain.serviceGraphEdge, undefined);
  });

  test('VERIFY_PROMETHEUS_URL and VERIFY_SERVICE_GRAPH_EDGE (the post-deploy command); flags win', () => {
    const env = { VERIFY_TEMPO_URL: 'https://t:1', VERIFY_APP_URL: 'https://a:1', VERIFY_CA_PEM: pki.caPem, VERIFY_PROMETHEUS_URL: 'https://p:9090', VERIFY_SERVICE_GRAPH_EDGE: 'app,backend' };
    const o = resolve([], env);
    assert.equal(o.prometheusUrl, 'https://p:9090');
    assert.deepEqual(o.serviceGraphEdge, { client: 'app', server: 'backend' });
    const flags = resolve(['--prometheus-url', 'https://q:9091', '--service-graph-edge', 'x,y'], env);
    assert.equal(flags.prometheusUrl, 'https://q:9091');
    assert.deepEqual(flags.serviceGraphEdge, { client: 'x', server: 'y' });
  });

  test('stack defaults give Prometheus and the edge; environment and flags win over them', () => {
    const sd: Partial<VerifyOptions> = {
      tempoUrl: 'https://stack:1', appUrl: 'https://stack-app:1', caPem: pki.caPem, caSource: 'stack',
      prometheusUrl: 'https://stack-prom:9090', serviceGraphEdge: { client: 'stack-app', server: 'stack-backend' },
    };
    const fromStack = resolve(['--stack', 'dev'], {}, sd);
    assert.equal(fromStack.prometheusUrl, 'https://stack-prom:9090');
    assert.deepEqual(fromStack.serviceGraphEdge, { client: 'stack-app', server: 'stack-backend' });
    const fromEnv = resolve(['--stack', 'dev'], { VERIFY_SERVICE_GRAPH_EDGE: 'env-a,env-b', VERIFY_PROMETHEUS_URL: 'https://env-prom:1' }, sd);
    assert.deepEqual(fromEnv.serviceGraphEdge, { client: 'env-a', server: 'env-b' });
    assert.equal(fromEnv.prometheusUrl, 'https://env-prom:1');
  });

  test('parseServiceGraphEdge', () => {
    assert.deepEqual(parseServiceGraphEdge('a,b'), { client: 'a', server: 'b' });
    assert.deepEqual(parseServiceGraphEdge('svc "x",y\\z'), { client: 'svc "x"', server: 'y\\z' }, 'quotes and backslashes are escaped when queried, not refused');
  });

  for (const [what, argv, message] of [
    ['http:// Tempo URL', ['--tempo-url', 'http://localhost:3200', '--ca-file', 'c', '--app-url', 'https://a:1'], /uses http:\/\/; TLS is mandatory/],
    ['http:// app URL', ['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'http://a:1'], /--app-url: http:\/\/a:1 uses http:\/\//],
    ['http:// collector metrics URL', ['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1', '--collector-metrics-url', 'http://c:8888/metrics'], /--collector-metrics-url/],
    ['not a URL', ['--tempo-url', 'localhost:3200', '--ca-file', 'c', '--app-url', 'https://a:1'], /must be an https:\/\/ URL|is not a URL/],
    ['no Tempo URL', ['--ca-file', 'c', '--app-url', 'https://a:1'], /no Tempo URL/],
    ['no CA', ['--tempo-url', 'https://t:1', '--app-url', 'https://a:1'], /no CA: pass --ca-file/],
    ['no traffic source', ['--tempo-url', 'https://t:1', '--ca-file', 'c'], /no traffic source/],
    ['traces 0', ['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1', '--traces', '0'], /--traces: 0 is out of range/],
    ['traces not an integer', ['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1', '--traces', '2.5'], /not an integer/],
    ['fraction above 1', ['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1', '--min-fraction', '1.5'], /--min-fraction/],
    ['fraction 0', ['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1', '--min-fraction', '0'], /--min-fraction: 0 is out of range \(> 0/],
    ['negative deadline', ['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1', '--deadline-seconds', '-1'], /--deadline-seconds/],
    ['backoff max below initial', ['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1', '--backoff-initial-ms', '500', '--backoff-max-ms', '100'], /backoff-max-ms/],
    ['an option to skip TLS', ['--insecure', '--tempo-url', 'https://t:1'], /cannot be turned off/],
    ['a stray argument', ['https://t:1'], /positional|Unexpected argument/i],
    ['edge without a comma', ['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1', '--prometheus-url', 'https://p:1', '--service-graph-edge', 'tracing-stack-app'], /--service-graph-edge: "tracing-stack-app" must be two service names separated by one comma, CLIENT,SERVER/],
    ['edge with three names', ['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1', '--prometheus-url', 'https://p:1', '--service-graph-edge', 'a,b,c'], /must be two service names separated by one comma/],
    ['edge with an empty server', ['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1', '--prometheus-url', 'https://p:1', '--service-graph-edge', 'a, '], /has an empty server service name/],
    ['edge with an empty client', ['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1', '--prometheus-url', 'https://p:1', '--service-graph-edge', ',b'], /has an empty client service name/],
    ['edge from a service to itself', ['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1', '--prometheus-url', 'https://p:1', '--service-graph-edge', 'a,a'], /client and server are both "a"/],
    ['edge with a control character', ['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1', '--prometheus-url', 'https://p:1', '--service-graph-edge', 'a\tb,c'], /control character/],
    ['edge without a Prometheus URL', ['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1', '--service-graph-edge', 'a,b'], /--service-graph-edge a,b needs --prometheus-url/],
    ['Prometheus URL without an edge', ['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1', '--prometheus-url', 'https://p:1'], /--prometheus-url needs --service-graph-edge CLIENT,SERVER/],
    ['http:// Prometheus URL', ['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1', '--prometheus-url', 'http://p:9090', '--service-graph-edge', 'a,b'], /--prometheus-url: http:\/\/p:9090 uses http:\/\/; TLS is mandatory/],
    ['edge with synthetic spans only', ['--tempo-url', 'https://t:1', '--ca-file', 'c', '--otlp-http-url', 'https://c:4318', '--prometheus-url', 'https://p:1', '--service-graph-edge', 'a,b'], /--service-graph-edge needs the app/],
  ] as const) {
    test(`usage error: ${what}`, () => {
      assert.throws(() => resolve([...argv]), (err: unknown) => err instanceof UsageError && message.test(err.message));
    });
  }

  test('a malformed VERIFY_SERVICE_GRAPH_EDGE names the variable', () => {
    const env = { VERIFY_TEMPO_URL: 'https://t:1', VERIFY_APP_URL: 'https://a:1', VERIFY_CA_PEM: pki.caPem, VERIFY_PROMETHEUS_URL: 'https://p:9090', VERIFY_SERVICE_GRAPH_EDGE: 'app' };
    assert.throws(() => resolve([], env), (err: unknown) => err instanceof UsageError && /^VERIFY_SERVICE_GRAPH_EDGE: "app" must be two service names/.test(err.message));
  });

  test('a CA that is not a PEM certificate is a usage error', () => {
    const args = parseCliArgs(['--tempo-url', 'https://t:1', '--app-url', 'https://a:1']);
    assert.throws(() => resolveOptions({ args, env: {}, stackDefaults: {}, ca: { pem: 'hello', source: '--ca-file x' } }), /not a PEM certificate/);
    const broken = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    assert.throws(() => resolveOptions({ args, env: {}, stackDefaults: {}, ca: { pem: broken, source: '--ca-file x' } }), /cannot be parsed as an X.509 certificate/);
  });
});

describe('client certificate options', () => {
  const BASE = ['--tempo-url', 'https://t:1', '--ca-file', 'ca.pem', '--app-url', 'https://a:1'];

  /** Resolves like the CLI does: selects each half, reads the chosen files, then resolveOptions. */
  function resolveClient(argv: string[], env: Record<string, string> = {}, sd: Partial<VerifyOptions> = {}): VerifyOptions {
    const args = parseCliArgs([...BASE, ...argv]);
    const read = (input: PemInput): { pem: string; source: string } | undefined =>
      input.kind === 'pem' ? { pem: input.pem, source: input.source } : input.kind === 'file' ? { pem: readFileSync(input.path, 'utf8'), source: input.source } : undefined;
    const { cert, key } = selectClientCertificateInput(args, env, sd);
    const certRead = read(cert);
    const keyRead = read(key);
    return resolveOptions({
      args,
      env,
      stackDefaults: sd,
      ca: { pem: pki.caPem, source: '--ca-file ca.pem' },
      ...(certRead || keyRead ? { clientCertificate: { ...(certRead ? { cert: certRead } : {}), ...(keyRead ? { key: keyRead } : {}) } } : {}),
    });
  }

  const stackPair = (): Partial<VerifyOptions> => ({
    clientCertificate: { certPem: pki.otherCaClient.cert, keyPem: pki.otherCaClient.key, certSource: 'pulumi stack output clientCertificate --stack dev', keySource: 'pulumi stack output clientPrivateKey --stack dev' },
  });

  /** Fails unless resolving throws a UsageError matching `message` that shows no part of any test key. */
  function assertUsageError(fn: () => unknown, message: RegExp): void {
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof UsageError, String(err));
      assert.match(err.message, message);
      assertNoKey(err.message, pki.client.key, 'the usage error');
      assertNoKey(err.message, pki.otherCaClient.key, 'the usage error');
      return true;
    });
  }

  test('none given: no client certificate', () => {
    assert.equal(resolveClient([]).clientCertificate, undefined);
  });

  test('--client-cert-file and --client-key-file', () => {
    const o = resolveClient(['--client-cert-file', pki.clientCertFile, '--client-key-file', pki.clientKeyFile]);
    assert.equal(o.clientCertificate?.certSource, `--client-cert-file ${pki.clientCertFile}`);
    assert.equal(o.clientCertificate?.keySource, `--client-key-file ${pki.clientKeyFile}`);
    assert.equal(o.clientCertificate?.certPem.trim(), pki.client.cert.trim());
    assert.equal(o.clientCertificate?.keyPem.trim(), pki.client.key.trim());
  });

  test('VERIFY_CLIENT_CERT_FILE / VERIFY_CLIENT_KEY_FILE', () => {
    const o = resolveClient([], { VERIFY_CLIENT_CERT_FILE: pki.clientCertFile, VERIFY_CLIENT_KEY_FILE: pki.clientKeyFile });
    assert.equal(o.clientCertificate?.certSource, `VERIFY_CLIENT_CERT_FILE ${pki.clientCertFile}`);
    assert.equal(o.clientCertificate?.keySource, `VERIFY_CLIENT_KEY_FILE ${pki.clientKeyFile}`);
    assert.equal(o.clientCertificate?.keyPem.trim(), pki.client.key.trim());
  });

  test('VERIFY_CLIENT_CERT_PEM / VERIFY_CLIENT_KEY_PEM (the post-deploy command passes the PEMs themselves)', () => {
    const o = resolveClient([], { VERIFY_CLIENT_CERT_PEM: pki.client.cert, VERIFY_CLIENT_KEY_PEM: pki.client.key });
    assert.deepEqual([o.clientCertificate?.certSource, o.clientCertificate?.keySource], ['VERIFY_CLIENT_CERT_PEM', 'VERIFY_CLIENT_KEY_PEM']);
    assert.equal(o.clientCertificate?.certPem.trim(), pki.client.cert.trim());
  });

  test('precedence, like the CA: flag > VERIFY_*_PEM > VERIFY_*_FILE > the stack outputs', () => {
    const env = { VERIFY_CLIENT_CERT_PEM: pki.client.cert, VERIFY_CLIENT_KEY_PEM: pki.client.key, VERIFY_CLIENT_CERT_FILE: '/nonexistent.crt', VERIFY_CLIENT_KEY_FILE: '/nonexistent.key' };
    const fromPem = resolveClient([], env, stackPair());
    assert.deepEqual([fromPem.clientCertificate?.certSource, fromPem.clientCertificate?.keySource], ['VERIFY_CLIENT_CERT_PEM', 'VERIFY_CLIENT_KEY_PEM']);
    const fromFlag = resolveClient(['--client-cert-file', pki.otherCaClientCertFile, '--client-key-file', pki.otherCaClientKeyFile], env, stackPair());
    assert.equal(fromFlag.clientCertificate?.certSource, `--client-cert-file ${pki.otherCaClientCertFile}`);
    assert.equal(fromFlag.clientCertificate?.certPem.trim(), pki.otherCaClient.cert.trim());
    const fromStack = resolveClient(['--stack', 'dev'], {}, stackPair());
    assert.equal(fromStack.clientCertificate?.certSource, 'pulumi stack output clientCertificate --stack dev');
    assert.equal(fromStack.clientCertificate?.keySource, 'pulumi stack output clientPrivateKey --stack dev');
  });

  test('each half resolved on its own: the certificate by flag and the key from the environment', () => {
    const o = resolveClient(['--client-cert-file', pki.clientCertFile], { VERIFY_CLIENT_KEY_PEM: pki.client.key });
    assert.deepEqual([o.clientCertificate?.certSource, o.clientCertificate?.keySource], [`--client-cert-file ${pki.clientCertFile}`, 'VERIFY_CLIENT_KEY_PEM']);
  });

  const BOTH = /--client-cert-file PATH and --client-key-file PATH \(or VERIFY_CLIENT_CERT_FILE \/ VERIFY_CLIENT_CERT_PEM and VERIFY_CLIENT_KEY_FILE \/ VERIFY_CLIENT_KEY_PEM\), or neither/;
  for (const [what, argv, env] of [
    ['the certificate by flag only', ['--client-cert-file', 'x.crt'], {}],
    ['the key by flag only', ['--client-key-file', 'x.key'], {}],
    ['VERIFY_CLIENT_CERT_PEM only', [], { VERIFY_CLIENT_CERT_PEM: 'pem' }],
    ['VERIFY_CLIENT_KEY_FILE only', [], { VERIFY_CLIENT_KEY_FILE: 'x.key' }],
  ] as const) {
    test(`both or neither: ${what} is a usage error naming both settings`, () => {
      const args = parseCliArgs([...BASE, ...argv]);
      const { cert, key } = selectClientCertificateInput(args, env, stackPair());
      const half = (input: PemInput): { pem: string; source: string } | undefined => (input.kind === 'none' ? undefined : { pem: 'not read', source: input.source });
      const c = half(cert);
      const k = half(key);
      assert.ok((c === undefined) !== (k === undefined), 'one half only, and not completed from the stack');
      assertUsageError(
        () => resolveOptions({ args, env, stackDefaults: stackPair(), ca: { pem: pki.caPem, source: 'ca' }, clientCertificate: { ...(c ? { cert: c } : {}), ...(k ? { key: k } : {}) } }),
        new RegExp(`^a client (certificate|key) \\(.+\\) without its (key|certificate): mutual TLS needs both — pass ${BOTH.source}`),
      );
    });
  }

  test('one half given and the stack has a pair: still a usage error (never a certificate with a key from elsewhere)', () => {
    assertUsageError(() => resolveClient(['--client-key-file', pki.clientKeyFile], {}, stackPair()), /^a client key \(--client-key-file .+\) without its certificate/);
  });

  test('the key must belong to the certificate', () => {
    assertUsageError(
      () => resolveClient(['--client-cert-file', pki.clientCertFile, '--client-key-file', pki.otherCaClientKeyFile]),
      /^the client key from --client-key-file .*intruder\.key does not belong to the client certificate from --client-cert-file .*verifier\.crt \(CN=verifier\)/,
    );
  });

  test('swapped certificate and key: both halves say so', () => {
    assertUsageError(() => resolveClient(['--client-cert-file', pki.clientKeyFile, '--client-key-file', pki.clientCertFile]), /^the client certificate from .* holds a private key — are the client certificate and key settings swapped\?/);
    assertUsageError(
      () => resolveClient([], { VERIFY_CLIENT_CERT_PEM: pki.client.cert, VERIFY_CLIENT_KEY_PEM: pki.client.cert }),
      /^the client key from VERIFY_CLIENT_KEY_PEM is not a PEM private key: it holds a certificate — are the client certificate and key settings swapped\?/,
    );
  });

  test('a server certificate (extended key usage serverAuth only) cannot be the client certificate', () => {
    assertUsageError(
      () => resolveClient([], { VERIFY_CLIENT_CERT_PEM: pki.server.cert, VERIFY_CLIENT_KEY_PEM: pki.server.key }),
      /^the client certificate from VERIFY_CLIENT_CERT_PEM \(CN=tempo\) is not for client authentication: its extended key usage is serverAuth, without clientAuth/,
    );
  });

  test('an encrypted key, a key that does not parse, a certificate that is not PEM', () => {
    const encrypted = '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAhXx8YQmH7VrgICCAAw\n-----END ENCRYPTED PRIVATE KEY-----\n';
    assertUsageError(() => resolveClient([], { VERIFY_CLIENT_CERT_PEM: pki.client.cert, VERIFY_CLIENT_KEY_PEM: encrypted }), /^the client key from VERIFY_CLIENT_KEY_PEM is encrypted; the verifier needs it unencrypted/);
    // A damaged copy of the real key: the message must not quote any of it (nor OpenSSL's words about it).
    const damaged = pki.client.key.replace(/\n([A-Za-z0-9+/]{8})/, '\n!!!!!!!!');
    assertUsageError(() => resolveClient([], { VERIFY_CLIENT_CERT_PEM: pki.client.cert, VERIFY_CLIENT_KEY_PEM: damaged }), /^the client key from VERIFY_CLIENT_KEY_PEM cannot be parsed as a private key( \([A-Z_]+\))?$/);
    assertUsageError(() => resolveClient([], { VERIFY_CLIENT_CERT_PEM: 'hello', VERIFY_CLIENT_KEY_PEM: pki.client.key }), /^the client certificate from VERIFY_CLIENT_CERT_PEM is not a PEM certificate \(no "-----BEGIN CERTIFICATE-----"\)/);
  });

  test('the PEM itself in a *_FILE setting is refused without showing it', () => {
    assertUsageError(() => resolveClient([], { VERIFY_CLIENT_CERT_FILE: pki.clientCertFile, VERIFY_CLIENT_KEY_FILE: pki.client.key }), /^VERIFY_CLIENT_KEY_FILE holds a PEM, not a file name: pass the file's path, or the PEM itself in VERIFY_CLIENT_KEY_PEM \(the value is not shown\)$/);
    assertUsageError(() => resolveClient([`--client-key-file=${pki.client.key}`, '--client-cert-file', pki.clientCertFile]), /^--client-key-file holds a PEM, not a file name/);
    // Without "=", the PEM's leading dashes already make the argument parser refuse it (without showing it either).
    assertUsageError(() => resolveClient(['--client-key-file', pki.client.key, '--client-cert-file', pki.clientCertFile]), /^Option '--client-key-file' argument is ambiguous/);
  });

  test('a file holding certificate and key: only the certificate goes into certPem', () => {
    const o = resolveClient([], { VERIFY_CLIENT_CERT_PEM: `${pki.client.cert}${pki.client.key}`, VERIFY_CLIENT_KEY_PEM: `${pki.client.cert}${pki.client.key}` });
    assert.doesNotMatch(o.clientCertificate?.certPem ?? '', /PRIVATE KEY/);
    assert.doesNotMatch(o.clientCertificate?.keyPem ?? '', /CERTIFICATE/);
    assert.match(o.clientCertificate?.keyPem ?? '', /^-----BEGIN PRIVATE KEY-----/);
  });

  test('--help documents both settings, their variables and the stack outputs', () => {
    assert.match(USAGE, /--client-cert-file PATH [\s\S]*\[VERIFY_CLIENT_CERT_FILE, or VERIFY_CLIENT_CERT_PEM\]/);
    assert.match(USAGE, /--client-key-file PATH [\s\S]*\[VERIFY_CLIENT_KEY_FILE, or VERIFY_CLIENT_KEY_PEM\]/);
    assert.match(USAGE, /both or neither/);
    assert.match(USAGE, /clientCertificate and clientPrivateKey/);
  });
});

describe('stackDefaults', () => {
  /** `pulumi stack output NAME`: the test PKI's CA and client pair, as the stack's outputs. */
  const outputs = (): Record<string, string> => ({ caCertificate: pki.caPem, clientCertificate: pki.client.cert, clientPrivateKey: pki.client.key });

  test('reads the dev stack model: host URLs and verification settings; CA and, under mutual TLS (the default), the client pair through the Pulumi CLI', async () => {
    const calls: string[][] = [];
    const sd = await stackDefaults('dev', ROOT, {
      runPulumi: async (args) => {
        calls.push(args);
        return `${outputs()[args[2] ?? ''] ?? ''}\n`;
      },
    });
    assert.match(sd.tempoUrl ?? '', /^https:\/\/[^/]+:\d+$/);
    assert.match(sd.appUrl ?? '', /^https:\/\//);
    assert.match(sd.otlpHttpUrl ?? '', /^https:\/\//);
    assert.equal(typeof sd.traces, 'number');
    assert.equal(typeof sd.deadlineSeconds, 'number');
    assert.equal(loadStackModelFromFile('dev', ROOT).config.tls.mutual, true);
    assert.deepEqual(calls, ['caCertificate', 'clientCertificate', 'clientPrivateKey'].map((name) => ['stack', 'output', name, '--stack', 'dev', '--show-secrets']));
    assert.equal(sd.caPem, pki.caPem.trim());
    assert.equal(sd.caSource, 'pulumi stack output caCertificate --stack dev');
    assert.deepEqual(sd.clientCertificate, {
      certPem: pki.client.cert.trim(),
      keyPem: pki.client.key.trim(),
      certSource: 'pulumi stack output clientCertificate --stack dev',
      keySource: 'pulumi stack output clientPrivateKey --stack dev',
    });
    // Prometheus and the edge from the same model `pulumi up` deploys
    const model = loadStackModelFromFile('dev', ROOT);
    assert.equal(sd.prometheusUrl, model.hostUrls.prometheus);
    assert.match(sd.prometheusUrl ?? '', /^https:\/\/[^/]+:\d+$/);
    assert.deepEqual(sd.serviceGraphEdge, { client: model.config.appServiceName, server: model.config.appBackendServiceName });
    assert.notEqual(sd.serviceGraphEdge?.client, sd.serviceGraphEdge?.server);
  });

  test('does not call Pulumi when the CA and the client pair are given otherwise', async () => {
    const sd = await stackDefaults('dev', ROOT, {
      needCa: false,
      needClientCertificate: false,
      runPulumi: async () => {
        throw new Error('must not be called');
      },
    });
    assert.equal(sd.caPem, undefined);
    assert.equal(sd.clientCertificate, undefined);
  });

  test('the CA given otherwise: only the client pair is read', async () => {
    const calls: string[] = [];
    const sd = await stackDefaults('dev', ROOT, {
      needCa: false,
      runPulumi: async (args) => {
        calls.push(args[2] ?? '');
        return outputs()[args[2] ?? ''] ?? '';
      },
    });
    assert.deepEqual(calls.sort(), ['clientCertificate', 'clientPrivateKey']);
    assert.equal(sd.caPem, undefined);
    assert.equal(sd.clientCertificate?.certSource, 'pulumi stack output clientCertificate --stack dev');
  });

  test('a stack without mutual TLS (tls.mutual: false): no client outputs are asked for', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verifier-stack-'));
    try {
      writeFileSync(join(dir, 'Pulumi.nomtls.yaml'), `${readFileSync(join(ROOT, 'Pulumi.dev.yaml'), 'utf8')}\n  tracing-stack:tls:\n    mutual: false\n`);
      assert.equal(loadStackModelFromFile('nomtls', dir).config.tls.mutual, false);
      const calls: string[] = [];
      const sd = await stackDefaults('nomtls', dir, {
        runPulumi: async (args) => {
          calls.push(args[2] ?? '');
          return outputs()[args[2] ?? ''] ?? '';
        },
      });
      assert.deepEqual(calls, ['caCertificate']);
      assert.equal(sd.clientCertificate, undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a mutual-TLS stack without the client outputs: a usage error that names tls.mutual and the flags, never a value', async () => {
    await assert.rejects(
      stackDefaults('dev', ROOT, {
        runPulumi: async (args) => {
          if (args[2] === 'caCertificate') return pki.caPem;
          if (args[2] === 'clientCertificate') return pki.client.cert;
          throw new Error(`Command failed: pulumi ${args.join(' ')}: error: current stack does not have output property '${args[2] ?? ''}'`);
        },
      }),
      (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.match(err.message, /^--stack dev: the stack requires client certificates \(tls\.mutual\), but cannot read the client key with `pulumi stack output clientPrivateKey --stack dev --show-secrets` \(.*does not have output property 'clientPrivateKey'\); pass --client-cert-file PATH and --client-key-file PATH/);
        assertNoKey(err.message, pki.client.key, 'the error');
        return true;
      },
    );
  });

  test('no Pulumi CLI: a usage error that says to pass --ca-file', async () => {
    await assert.rejects(
      stackDefaults('dev', ROOT, {
        runPulumi: async () => {
          throw new Error('the pulumi CLI is not on PATH');
        },
      }),
      (err: unknown) => err instanceof UsageError && /not on PATH.*pass --ca-file/.test(err.message),
    );
  });

  test('unknown stack: a usage error naming the missing stack file and the flags to pass', async () => {
    await assert.rejects(stackDefaults('nope', ROOT, { needCa: false }), (err: unknown) => err instanceof UsageError && /Pulumi\.nope\.yaml does not exist; pass --tempo-url, --ca-file and --app-url/.test(err.message));
  });
});

describe('runCli with --stack defaults (in process)', () => {
  function io(over: Partial<CliIo>): CliIo & { out: string[]; err: string[] } {
    const out: string[] = [];
    const err: string[] = [];
    return {
      out,
      err,
      stdout: { write: (c: string) => out.push(c) > 0 },
      stderr: { write: (c: string) => err.push(c) > 0, isTTY: false },
      env: {},
      projectDir: ROOT,
      readFile: () => pki.caPem,
      stackDefaults: async () => ({}),
      currentStack: async () => undefined,
      ...over,
    };
  }

  test('no flags: verifies the selected Pulumi stack, with its CA from the stack output', async () => {
    const port = await closedPort();
    const calls: Array<[string, boolean]> = [];
    const cli = io({
      currentStack: async () => 'dev',
      stackDefaults: async (stack, _dir, opts) => {
        calls.push([stack, opts.needCa]);
        return { tempoUrl: `https://127.0.0.1:${port}`, appUrl: `https://127.0.0.1:${port}`, caPem: pki.caPem, caSource: 'pulumi stack output caCertificate --stack dev', deadlineSeconds: 0.3 };
      },
    });
    const code = await runCli(['--json', '--backoff-initial-ms', '50'], cli);
    assert.equal(code, 2);
    assert.deepEqual(calls, [['dev', true]]);
    const report = JSON.parse(cli.out.join('')) as { stack: string; caSource: string; diagnoses: { code: string }[] };
    assert.equal(report.stack, 'dev');
    assert.equal(report.caSource, 'pulumi stack output caCertificate --stack dev');
    assert.equal(report.diagnoses[0]?.code, 'TEMPO_UNREACHABLE');
  });

  test('--ca-file given: the stack defaults are asked without the CA', async () => {
    const calls: boolean[] = [];
    const cli = io({
      stackDefaults: async (_s, _d, opts) => {
        calls.push(opts.needCa);
        return { tempoUrl: 'http://localhost:3200' };
      },
    });
    const code = await runCli(['--stack', 'dev', '--ca-file', pki.caFile], cli);
    assert.equal(code, 64, 'an http:// URL from the stack is refused like any other');
    assert.deepEqual(calls, [false]);
    assert.match(cli.err.join(''), /TLS is mandatory/);
  });

  test('--stack under mutual TLS: the client pair comes from the stack outputs into the run; the report names its sources, never the key', async () => {
    const port = await closedPort();
    const calls: Array<{ needCa: boolean; needClientCertificate: boolean }> = [];
    const cli = io({
      stackDefaults: async (_stack, _dir, opts) => {
        calls.push(opts);
        return {
          tempoUrl: `https://127.0.0.1:${port}`,
          appUrl: `https://127.0.0.1:${port}`,
          caPem: pki.caPem,
          caSource: 'pulumi stack output caCertificate --stack dev',
          deadlineSeconds: 0.3,
          clientCertificate: { certPem: pki.client.cert, keyPem: pki.client.key, certSource: 'pulumi stack output clientCertificate --stack dev', keySource: 'pulumi stack output clientPrivateKey --stack dev' },
        };
      },
    });
    const code = await runCli(['--stack', 'dev', '--json', '--backoff-initial-ms', '50'], cli);
    assert.equal(code, 2);
    assert.deepEqual(calls, [{ needCa: true, needClientCertificate: true }]);
    const out = cli.out.join('');
    const report = JSON.parse(out) as { clientCertificate: Record<string, string> };
    assert.deepEqual(report.clientCertificate, {
      subject: 'verifier',
      issuer: 'stack-ca',
      certSource: 'pulumi stack output clientCertificate --stack dev',
      keySource: 'pulumi stack output clientPrivateKey --stack dev',
    });
    assertNoKey(out + cli.err.join(''), pki.client.key, 'the output');
  });

  test('one half by flag with --stack: the stack is not asked for the pair, and the missing half is a usage error', async () => {
    const calls: Array<{ needCa: boolean; needClientCertificate: boolean }> = [];
    const cli = io({
      stackDefaults: async (_s, _d, opts) => {
        calls.push(opts);
        return { tempoUrl: 'https://127.0.0.1:1', appUrl: 'https://127.0.0.1:1', caPem: pki.caPem, caSource: 'stack' };
      },
    });
    assert.equal(await runCli(['--stack', 'dev', '--client-cert-file', pki.clientCertFile], cli), 64);
    assert.deepEqual(calls, [{ needCa: true, needClientCertificate: false }]);
    assert.match(cli.err.join(''), /a client certificate \(--client-cert-file .*\) without its key: .*--client-key-file PATH/);
  });

  test('an unreadable client key file: a usage error with the path and the error code', async () => {
    const readFile = (path: string): string => {
      if (path === pki.clientKeyFile) throw Object.assign(new Error('permission denied'), { code: 'EACCES' });
      return readFileSync(path, 'utf8');
    };
    const cli = io({ readFile });
    const code = await runCli(['--tempo-url', 'https://127.0.0.1:1', '--app-url', 'https://127.0.0.1:1', '--ca-file', pki.caFile, '--client-cert-file', pki.clientCertFile, '--client-key-file', pki.clientKeyFile], cli);
    assert.equal(code, 64);
    assert.ok(cli.err.join('').includes(`cannot read the client key file ${pki.clientKeyFile} (EACCES)`), cli.err.join(''));
  });

  test('a failing stack lookup is a usage error (exit 64)', async () => {
    const cli = io({
      stackDefaults: async () => {
        throw new UsageError('--stack nope: Pulumi.nope.yaml does not exist');
      },
    });
    assert.equal(await runCli(['--stack', 'nope'], cli), 64);
    assert.match(cli.err.join(''), /Pulumi\.nope\.yaml does not exist/);
  });

  test('currentStackName: the selected stack, or undefined without a Pulumi CLI', async () => {
    assert.equal(await currentStackName(ROOT, async () => 'dev\n'), 'dev');
    assert.equal(
      await currentStackName(ROOT, async () => {
        throw new Error('the pulumi CLI is not on PATH');
      }),
      undefined,
    );
  });
});

describe('--ingesters / --replication-factor (Tempo in microservices mode)', () => {
  const BASE = ['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1'];
  const PROMETHEUS = ['--prometheus-url', 'https://p:9090', '--service-graph-edge', 'app,backend'];

  test('parsed from the command line', () => {
    const args = parseCliArgs(['--ingesters', '3', '--replication-factor', '3']);
    assert.equal(args.ingesters, '3');
    assert.equal(args.replicationFactor, '3');
  });

  test('with Prometheus: the counters are read through it, every ingester and the factor known', () => {
    const o = resolve([...BASE, ...PROMETHEUS, '--ingesters', '3', '--replication-factor', '3']);
    assert.deepEqual(o.distributed, { ingesters: 3, replicationFactor: 3 });
    assert.equal(o.prometheusUrl, 'https://p:9090');
  });

  test('without a factor each trace is held once', () => {
    assert.deepEqual(resolve([...BASE, ...PROMETHEUS, '--ingesters', '2']).distributed, { ingesters: 2, replicationFactor: 1 });
  });

  test('a monolithic run has none', () => {
    assert.equal(resolve([...BASE, ...PROMETHEUS]).distributed, undefined);
    assert.equal(resolve(BASE).distributed, undefined);
  });

  test('VERIFY_INGESTERS and VERIFY_REPLICATION_FACTOR (the post-deploy command); flags win', () => {
    const env = {
      VERIFY_TEMPO_URL: 'https://t:1', VERIFY_APP_URL: 'https://a:1', VERIFY_CA_PEM: pki.caPem,
      VERIFY_PROMETHEUS_URL: 'https://p:9090', VERIFY_SERVICE_GRAPH_EDGE: 'app,backend',
      VERIFY_INGESTERS: '5', VERIFY_REPLICATION_FACTOR: '3',
    };
    assert.deepEqual(resolve([], env).distributed, { ingesters: 5, replicationFactor: 3 });
    assert.deepEqual(resolve(['--ingesters', '3', '--replication-factor', '1'], env).distributed, { ingesters: 3, replicationFactor: 1 });
    assert.deepEqual(resolve(['--replication-factor', '5'], env).distributed, { ingesters: 5, replicationFactor: 5 }, 'a flag and a variable combine');
  });

  for (const [what, argv, env, message] of [
    ['--ingesters without Prometheus', [...BASE, '--ingesters', '3', '--replication-factor', '3'], {}, /^--ingesters needs --prometheus-url https:\/\/HOST:PORT \(or VERIFY_PROMETHEUS_URL\)/],
    ['VERIFY_INGESTERS without Prometheus', BASE, { VERIFY_INGESTERS: '3' }, /^--ingesters needs --prometheus-url/],
    ['more copies than ingesters', [...BASE, ...PROMETHEUS, '--ingesters', '3', '--replication-factor', '5'], {}, /^--replication-factor 5 is more than --ingesters 3: no ring could hold that many copies$/],
    ['more copies than ingesters, from the environment', [...BASE, ...PROMETHEUS], { VERIFY_INGESTERS: '1', VERIFY_REPLICATION_FACTOR: '3' }, /^--replication-factor 3 is more than --ingesters 1/],
    ['--replication-factor alone', [...BASE, ...PROMETHEUS, '--replication-factor', '3'], {}, /^--replication-factor goes with --ingesters N/],
    ['VERIFY_REPLICATION_FACTOR alone', [...BASE, ...PROMETHEUS], { VERIFY_REPLICATION_FACTOR: '3' }, /^--replication-factor goes with --ingesters N/],
    ['no ingesters', [...BASE, ...PROMETHEUS, '--ingesters', '0'], {}, /^--ingesters: 0 is out of range/],
    ['ingesters not a number', [...BASE, ...PROMETHEUS, '--ingesters', 'three'], {}, /^--ingesters: "three" is not an integer/],
    ['a fractional factor', [...BASE, ...PROMETHEUS, '--ingesters', '3', '--replication-factor', '1.5'], {}, /^--replication-factor: "1\.5" is not an integer/],
  ] as const) {
    test(`usage error: ${what}`, () => {
      assert.throws(() => resolve([...argv], { ...env }), (err: unknown) => err instanceof UsageError && message.test(err.message), what);
    });
  }

  test('the usage text names both flags and their variables', () => {
    for (const s of ['--ingesters N', 'VERIFY_INGESTERS', '--replication-factor N', 'VERIFY_REPLICATION_FACTOR']) assert.ok(USAGE.includes(s), s);
  });

  // The usage states the rule the verifier applies: quorum floor(N/2)+1 x traces (diagnose.ts, distributedCheck.ts).
  test('the usage states the write-quorum rule the verifier applies', () => {
    const help = USAGE.slice(USAGE.indexOf('--replication-factor N'), USAGE.indexOf('--traces N'));
    assert.match(help, /quorum/);
    assert.doesNotMatch(help, /sum must rise by N x traces/);
  });

  // A distributed run reads its counters from Prometheus whether or not an edge is checked.
  test('--ingesters with --prometheus-url and no --service-graph-edge', () => {
    const o = resolve([...BASE, '--prometheus-url', 'https://p:9090', '--ingesters', '3', '--replication-factor', '3']);
    assert.deepEqual(o.distributed, { ingesters: 3, replicationFactor: 3 });
  });

  // `--stack distributed` reads the counters through /federate, not the query-frontend's own /metrics.
  test('--stack of a microservices stack verifies through /federate with its ingesters and factor', async () => {
    const sd = await stackDefaults('distributed', ROOT, { needCa: false, needClientCertificate: false, runPulumi: async () => '' });
    assert.deepEqual(sd.distributed, { ingesters: 3, replicationFactor: 3 });
  });
});

describe('--swarm-services (engine swarm)', () => {
  const BASE = ['--tempo-url', 'https://t:1', '--ca-file', 'c', '--app-url', 'https://a:1'];

  test('from the flag or VERIFY_SWARM_SERVICES (the post-deploy command); the flag wins', () => {
    assert.deepEqual(resolve([...BASE, '--swarm-services', 'prod-tempo-ingester=3,prod-app=1']).swarmServices, [
      { name: 'prod-tempo-ingester', tasks: 3 },
      { name: 'prod-app', tasks: 1 },
    ]);
    const env = { VERIFY_TEMPO_URL: 'https://t:1', VERIFY_APP_URL: 'https://a:1', VERIFY_CA_PEM: pki.caPem, VERIFY_SWARM_SERVICES: 'prod-app=2' };
    assert.deepEqual(resolve([], env).swarmServices, [{ name: 'prod-app', tasks: 2 }]);
    assert.deepEqual(resolve(['--swarm-services', 'prod-app=1'], env).swarmServices, [{ name: 'prod-app', tasks: 1 }]);
    assert.equal(resolve(BASE).swarmServices, undefined, 'engine docker checks no tasks');
  });

  test('a malformed list is a usage error naming the flag and the form', () => {
    assert.throws(() => resolve([...BASE, '--swarm-services', 'prod-app']), /--swarm-services: "prod-app" is not NAME=TASKS/);
  });
});
