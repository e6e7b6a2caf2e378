/**
 * The CLI as the Pulumi post-deploy command and users run it: a subprocess (bin/tracing-stack-verify.js)
 * against the scripted HTTPS Tempo of helpers/fakeStack.ts. Checks exit codes, that --json stdout is
 * exactly one JSON document, and the messages for bad input.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { assertNoKey, useFakeStacks, closedPort, fixture, healthyMetrics } from './helpers/fakeStack';
import { APP, BACKEND, healthyState } from './helpers/fakePrometheus';
import { GENERATOR_BEFORE, REMOTE_WRITE_URL, tempoWithGenerator } from './helpers/generatorMetrics';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'tracing-stack-verify.js');
const FAST = ['--poll-interval-ms', '50', '--backoff-initial-ms', '50', '--backoff-max-ms', '200', '--request-timeout-ms', '1000'];

const fake = useFakeStacks();
const stack = fake.stack;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(args: string[], env: Record<string, string> = {}, command: string[] = [BIN]): Promise<Run> {
  const cleanEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('VERIFY_') && !k.startsWith('NODE_TEST')) cleanEnv[k] = v;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    // PATH without a Pulumi CLI: the verifier must not pick up a stack selected on this machine.
    const child = spawn(process.execPath, [...command, ...args], { cwd: ROOT, env: { ...cleanEnv, PATH: dirname(process.execPath), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

function args(s: { url: string }, extra: string[] = []): string[] {
  return ['--tempo-url', s.url, '--ca-file', fake.pki().caFile, '--app-url', s.url, '--traces', '5', ...FAST, ...extra];
}

interface JsonReport {
  schema: string;
  outcome: string;
  exitCode: number;
  diagnoses: { code: string; message: string; configKeys: string[] }[];
  traffic: { tracesSent: number };
  lookup: { found: number };
  tracesCreated?: { metric: string };
  timings: { elapsedMs: number; deadlineSeconds: number };
}

/** stdout must be exactly one JSON document. */
function parseOnlyJson(stdout: string): JsonReport {
  const trimmed = stdout.trim();
  assert.ok(trimmed.startsWith('{') && trimmed.endsWith('}'), `stdout is not one JSON document:\n${stdout}`);
  return JSON.parse(trimmed) as JsonReport;
}

// Subprocess start-up (tsx compiling the verifier) varies with machine load: the deadline is checked on
// the verifier's own clock (timings.elapsedMs), the wall clock only loosely.
const STARTUP_SLACK_MS = 15000;
const DEADLINE_SLACK_MS = 300;

// Four at a time, not all 25: each starts a Node process, and on a 2-core CI machine 25 at once
// starved the fake servers past the runs' short deadlines (two runs failed there that way).
describe('tracing-stack-verify (subprocess)', { concurrency: 4 }, () => {
  test('healthy stack, --json: exit 0 and stdout is pure JSON', async () => {
    const s = await stack({ metrics: healthyMetrics('2.x') });
    const r = await run(args(s, ['--json', '--deadline-seconds', '10']));
    assert.equal(r.code, 0, r.stderr);
    const report = parseOnlyJson(r.stdout);
    assert.equal(report.schema, 'tracing-stack-verify/v1');
    assert.equal(report.outcome, 'verified');
    assert.equal(report.traffic.tracesSent, 5);
    assert.equal(report.lookup.found, 5);
    assert.equal(report.tracesCreated?.metric, 'tempo_ingester_traces_created_total');
    assert.equal(r.stderr, '', 'nothing on stderr when verified and stderr is not a terminal');
  });

  test('healthy stack, human summary: counters before/after, traces sent and found, time', async () => {
    const s = await stack({ metrics: healthyMetrics('2.x') });
    const r = await run(args(s, ['--deadline-seconds', '10']));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^Tempo ingestion check: VERIFIED/);
    assert.match(r.stdout, /counter\s+before\s+after\s+change/);
    assert.match(r.stdout, /tempo_ingester_traces_created_total\s+0\s+5\s+\+5/);
    assert.match(r.stdout, /5 of 5 traces sent/);
    assert.match(r.stdout, /5 of 5 trace ids looked up were found/);
    assert.match(r.stdout, /Time\s+\d+\.\d s \(deadline 10 s/);
  });

  test('--progress writes progress to stderr, stdout stays pure JSON', async () => {
    const s = await stack({ metrics: healthyMetrics('2.x'), ready: 1 });
    const r = await run(args(s, ['--json', '--progress', '--deadline-seconds', '10']));
    assert.equal(r.code, 0, r.stderr);
    parseOnlyJson(r.stdout);
    assert.match(r.stderr, /^\[\d+\.\ds\] waiting for Tempo https:\/\/127\.0\.0\.1:\d+\/ready/m);
  });

  test('the Pulumi way: no flags, VERIFY_TEMPO_URL / VERIFY_CA_PEM / VERIFY_APP_URL', async () => {
    const s = await stack({ metrics: healthyMetrics('2.x') });
    const r = await run(['--json', ...FAST], { VERIFY_TEMPO_URL: s.url, VERIFY_APP_URL: s.url, VERIFY_CA_PEM: fake.pki().caPem, VERIFY_TRACES: '3', VERIFY_DEADLINE_SECONDS: '10' });
    assert.equal(r.code, 0, r.stderr);
    const report = parseOnlyJson(r.stdout);
    assert.equal(report.traffic.tracesSent, 3);
  });

  test('internal TLS broken on one side: exit 1, INGESTER_APPEND_FAILING in JSON and a readable diagnosis on stderr', async () => {
    const s = await stack({ metrics: [fixture('tempo-2.x-fresh.prom'), fixture('tempo-2.x-internal-tls-broken-after.prom')], traces: 'none' });
    const r = await run(args(s, ['--json', '--deadline-seconds', '5']));
    assert.equal(r.code, 1, r.stderr);
    const report = parseOnlyJson(r.stdout);
    assert.equal(report.outcome, 'not_verified');
    assert.equal(report.diagnoses[0]?.code, 'INGESTER_APPEND_FAILING');
    assert.ok(report.diagnoses[0]?.configKeys.includes('tempo server.grpc_tls_config'));
    assert.match(r.stderr, /\[INGESTER_APPEND_FAILING\]/);
    assert.match(r.stderr, /server\.grpc_tls_config/);
  });

  test('--post-deploy, verified: the JSON report on stdout, exactly one summary line on stderr', async () => {
    const s = await stack({ metrics: healthyMetrics('2.x') });
    const r = await run(args(s, ['--post-deploy', '--deadline-seconds', '10']));
    assert.equal(r.code, 0, r.stderr);
    const report = parseOnlyJson(r.stdout) as JsonReport & { summary: string };
    assert.match(report.summary, /^verified: 5 traces sent, tempo_ingester_traces_created_total \+5, 5 of 5 looked up found, in \d+\.\d s$/);
    assert.equal(r.stderr, `${report.summary}\n`);
  });

  test('--post-deploy, not verified: nothing on stdout, the diagnosis before the details on stderr', async () => {
    const s = await stack({ metrics: [fixture('tempo-2.x-fresh.prom'), fixture('tempo-2.x-internal-tls-broken-after.prom')], traces: 'none' });
    const r = await run(args(s, ['--post-deploy', '--deadline-seconds', '2']));
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.split('\n');
    assert.match(lines[0]!, /^Tempo ingestion check: NOT VERIFIED/);
    assert.equal(lines[2], 'Diagnosis:');
    assert.match(lines[3]!, /^\s+\[INGESTER_APPEND_FAILING\]/);
    assert.ok(r.stderr.indexOf('Details:') > r.stderr.indexOf('server.grpc_tls_config'), r.stderr);
    assert.match(r.stderr, /Details:[\s\S]*tempo_distributor_ingester_append_failures_total/);
  });

  test('--collector-otlp-url on a port where nothing listens: COLLECTOR_NOT_ANSWERING comes before the counters\' diagnosis', async () => {
    const s = await stack({ metrics: [fixture('tempo-2.x-fresh.prom')], traces: 'none' });
    const port = await closedPort();
    const r = await run(args(s, ['--json', '--deadline-seconds', '2', '--collector-otlp-url', `https://localhost:${port}`]));
    assert.equal(r.code, 1, r.stderr);
    const report = parseOnlyJson(r.stdout);
    assert.deepEqual(report.diagnoses.map((d) => d.code), ['COLLECTOR_NOT_ANSWERING', 'NO_SPANS_RECEIVED']);
    assert.match(report.diagnoses[0]!.message, new RegExp(`^the collector does not answer at https://localhost:${port} \\(connection refused`));
  });

  test('--collector-otlp-url with a certificate from another CA: COLLECTOR_TLS_FAILED; with the stack CA: no collector diagnosis', async () => {
    const s = await stack({ metrics: [fixture('tempo-2.x-fresh.prom')], traces: 'none' });
    const otherCa = await stack({ metrics: healthyMetrics('2.x') }, 'otherCaServer');
    const refused = parseOnlyJson((await run(args(s, ['--json', '--deadline-seconds', '2', '--collector-otlp-url', otherCa.url]))).stdout);
    assert.equal(refused.diagnoses[0]?.code, 'COLLECTOR_TLS_FAILED');
    assert.match(refused.diagnoses[0]!.message, /answers, but the TLS handshake failed/);
    const healthy = await stack({ metrics: healthyMetrics('2.x') });
    const ok = parseOnlyJson((await run(args(healthy, ['--json', '--deadline-seconds', '10', '--collector-otlp-url', healthy.url]))).stdout) as JsonReport & { collectorEndpoint: Array<{ status: string }> };
    assert.equal(ok.outcome, 'verified');
    assert.deepEqual(ok.collectorEndpoint.map((p) => p.status), ['answers']);
    assert.deepEqual(ok.diagnoses, []);
  });

  test('unreachable URL: exit 2 within the deadline, says it cannot reach Tempo', async () => {
    const port = await closedPort();
    const url = `https://127.0.0.1:${port}`;
    const r = await run(['--tempo-url', url, '--ca-file', fake.pki().caFile, '--app-url', url, '--deadline-seconds', '2', '--json', ...FAST]);
    assert.equal(r.code, 2, r.stdout);
    const report = parseOnlyJson(r.stdout);
    assert.equal(report.diagnoses[0]?.code, 'TEMPO_UNREACHABLE');
    assert.match(report.diagnoses[0]?.message ?? '', /cannot reach Tempo at https:\/\/127\.0\.0\.1:\d+\/ready within \d\.\ds .*connection refused/);
    assert.ok(report.timings.elapsedMs <= 2000 + DEADLINE_SLACK_MS, `verifier ran ${report.timings.elapsedMs} ms`);
    assert.ok(r.ms < 2000 + STARTUP_SLACK_MS, `took ${r.ms} ms`);
    assert.match(r.stderr, /\[TEMPO_UNREACHABLE\]/, 'the human diagnosis is on stderr too');
  });

  test('certificate from another CA: exit 2 at once, says which TLS check failed', async () => {
    const s = await stack({}, 'otherCaServer');
    const r = await run(args(s, ['--json', '--deadline-seconds', '30']));
    assert.equal(r.code, 2, r.stderr);
    const report = parseOnlyJson(r.stdout);
    assert.equal(report.diagnoses[0]?.code, 'TLS_VERIFICATION_FAILED');
    assert.match(report.diagnoses[0]?.message ?? '', /certificate from another CA — the server's certificate is not signed by CA "stack-ca"/);
    assert.ok(report.timings.elapsedMs < 2000, `TLS failures do not wait for the 30 s deadline (took ${report.timings.elapsedMs} ms)`);
  });

  test('certificate with the wrong name: exit 2, names the host and the SANs', async () => {
    const s = await stack({}, 'wrongName');
    const r = await run(args(s, ['--deadline-seconds', '30']));
    assert.equal(r.code, 2);
    assert.match(r.stdout, /\[TLS_VERIFICATION_FAILED\].*wrong name .*"127\.0\.0\.1".*DNS:tempo\.internal/);
  });

  test('non-Prometheus body on /metrics: exit 2 with a clear message', async () => {
    const s = await stack({ metrics: ['<html><body>Welcome to nginx!</body></html>\n'], metricsContentType: 'text/plain' });
    const r = await run(args(s, ['--deadline-seconds', '5']));
    assert.equal(r.code, 2);
    assert.match(r.stdout, /\[NOT_PROMETHEUS\] GET https:\/\/127\.0\.0\.1:\d+\/metrics: the body is not Prometheus text exposition/);
  });

  test('/ready answering 503 forever: exit 2 within the deadline, message names /ready and the answer', async () => {
    const s = await stack({ ready: 'never' });
    const r = await run(args(s, ['--json', '--deadline-seconds', '2']));
    assert.equal(r.code, 2);
    const report = parseOnlyJson(r.stdout);
    assert.equal(report.diagnoses[0]?.code, 'TEMPO_NOT_READY');
    assert.match(report.diagnoses[0]?.message ?? '', /\/ready never became ready within \d\.\ds .*HTTP 503 "Ingester not ready/);
    assert.ok(report.timings.elapsedMs <= 2000 + DEADLINE_SLACK_MS, `verifier ran ${report.timings.elapsedMs} ms`);
    assert.ok(r.ms < 2000 + STARTUP_SLACK_MS, `took ${r.ms} ms`);
    assert.ok((s.calls['ready'] ?? 0) >= 3, 'retried with backoff');
  });

  test('usage errors exit 64: http:// URL, a skip-verification flag, missing inputs', async () => {
    const http = await run(['--tempo-url', 'http://127.0.0.1:3200', '--ca-file', fake.pki().caFile, '--app-url', 'https://127.0.0.1:1']);
    assert.equal(http.code, 64);
    assert.match(http.stderr, /TLS is mandatory/);
    const skip = await run(['--insecure-skip-verify', '--tempo-url', 'https://127.0.0.1:3200']);
    assert.equal(skip.code, 64);
    assert.match(skip.stderr, /Unknown option '--insecure-skip-verify'.*cannot be turned off/);
    const missing = await run(['--json']);
    assert.equal(missing.code, 64);
    const report = parseOnlyJson(missing.stdout);
    assert.equal(report.outcome, 'usage_error');
    assert.match(missing.stderr, /no Tempo URL/);
    const noCa = await run(['--tempo-url', 'https://127.0.0.1:3200', '--app-url', 'https://127.0.0.1:1']);
    assert.equal(noCa.code, 64);
    assert.match(noCa.stderr, /no CA: pass --ca-file/);
    const badCa = await run(['--tempo-url', 'https://127.0.0.1:3200', '--app-url', 'https://127.0.0.1:1', '--ca-file', BIN]);
    assert.equal(badCa.code, 64);
    assert.match(badCa.stderr, /not a PEM certificate/);
  });

  test('--post-deploy with --prometheus-url and --service-graph-edge: the metrics section and the edge in the summary line', async () => {
    const s = await stack({ metrics: tempoWithGenerator(GENERATOR_BEFORE, {}), prometheus: ({ sent }) => (sent > 0 ? healthyState() : []) });
    const r = await run(args(s, ['--post-deploy', '--deadline-seconds', '10', '--prometheus-url', s.url, '--service-graph-edge', `${APP},${BACKEND}`]));
    assert.equal(r.code, 0, r.stderr);
    const report = parseOnlyJson(r.stdout) as JsonReport & {
      summary: string;
      traffic: { statusCounts: Record<string, number>; failingRequests: number };
      metrics: {
        prometheusUrl: string;
        spanMetrics: { service: string; calls: number; seenAfterMs: number };
        serviceGraphEdge: { client: string; server: string; requests: number; failed: number; seenAfterMs: number };
        tempoGenerator: { delta: { spansReceived: number; remoteWrite: Record<string, { samplesTotal: number }> } };
      };
    };
    assert.match(
      report.summary,
      /^verified: 5 traces sent, tempo_ingester_traces_created_total \+5, 5 of 5 looked up found, in \d+\.\d s, span metrics and edge tracing-stack-app -> tracing-stack-app-backend in Prometheus after \d+\.\d s$/,
    );
    assert.equal(r.stderr, `${report.summary}\n`);
    const m = report.metrics;
    assert.deepEqual(Object.keys(m), ['prometheusUrl', 'spanMetrics', 'serviceGraphEdge', 'tempoGenerator']);
    assert.equal(m.prometheusUrl, s.url);
    assert.deepEqual(Object.keys(m.spanMetrics), ['service', 'calls', 'seenAfterMs']);
    assert.deepEqual(Object.keys(m.serviceGraphEdge), ['client', 'server', 'requests', 'failed', 'seenAfterMs']);
    assert.deepEqual([m.spanMetrics.service, m.spanMetrics.calls], [APP, 47]);
    assert.deepEqual([m.serviceGraphEdge.client, m.serviceGraphEdge.server, m.serviceGraphEdge.requests, m.serviceGraphEdge.failed], [APP, BACKEND, 10, 2]);
    assert.equal(typeof m.spanMetrics.seenAfterMs, 'number');
    assert.equal(m.tempoGenerator.delta.spansReceived, 50);
    assert.equal(m.tempoGenerator.delta.remoteWrite[REMOTE_WRITE_URL]?.samplesTotal, 192);
    assert.deepEqual(report.traffic.statusCounts, { '200': 4, '500': 1 }, 'the 5th request failed on purpose');
    assert.equal(report.traffic.failingRequests, 1);
  });

  test('the Pulumi way with VERIFY_PROMETHEUS_URL / VERIFY_SERVICE_GRAPH_EDGE: remote write failing is exit 1, the diagnosis first', async () => {
    const s = await stack({
      metrics: tempoWithGenerator({ ...GENERATOR_BEFORE, samplesTotal: 300 }, { samplesTotal: 300, samplesRetried: 90, samplesPending: 35 }),
      prometheus: () => [],
    });
    const r = await run(['--post-deploy', ...FAST], {
      VERIFY_TEMPO_URL: s.url,
      VERIFY_APP_URL: s.url,
      VERIFY_CA_PEM: fake.pki().caPem,
      VERIFY_TRACES: '3',
      // Room for the traces to be verified first on a loaded CI machine (3 s once ran out there
      // before they were, and the run stopped at the traces instead of at remote write).
      VERIFY_DEADLINE_SECONDS: '8',
      VERIFY_PROMETHEUS_URL: s.url,
      VERIFY_SERVICE_GRAPH_EDGE: `${APP},${BACKEND}`,
    });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.split('\n');
    assert.match(lines[0]!, /^Tempo ingestion check: NOT VERIFIED — traces are stored in Tempo, but their span metrics/);
    assert.match(lines[3]!, /^\s+\[REMOTE_WRITE_FAILING\] Tempo's metrics-generator cannot remote-write to https:\/\/prometheus:9090\/api\/v1\/write/);
    assert.match(r.stderr, /Details:[\s\S]*remote write https:\/\/prometheus:9090\/api\/v1\/write: \+0 samples sent, \+0 failed, \+90 retried, 35 pending/);
  });

  test('Prometheus with a certificate from another CA: exit 2, PROMETHEUS_UNREACHABLE', async () => {
    const s = await stack({ metrics: tempoWithGenerator(GENERATOR_BEFORE, {}) });
    const prom = await stack({ prometheus: () => healthyState() }, 'otherCaServer');
    const r = await run(args(s, ['--json', '--deadline-seconds', '20', '--prometheus-url', prom.url, '--service-graph-edge', `${APP},${BACKEND}`]));
    assert.equal(r.code, 2, r.stderr);
    const report = parseOnlyJson(r.stdout);
    assert.equal(report.outcome, 'unreachable');
    assert.deepEqual(report.diagnoses.map((d) => d.code), ['PROMETHEUS_UNREACHABLE']);
    assert.match(report.diagnoses[0]!.message, /certificate from another CA — the server's certificate is not signed by CA "stack-ca"/);
    assert.equal(report.lookup.found, 5, 'the traces were verified first');
    assert.ok(report.timings.elapsedMs < 5000, `did not wait for the deadline (${report.timings.elapsedMs} ms)`);
  });

  test('usage errors exit 64: a malformed --service-graph-edge, an edge without --prometheus-url', async () => {
    const base = ['--tempo-url', 'https://127.0.0.1:3200', '--ca-file', fake.pki().caFile, '--app-url', 'https://127.0.0.1:1'];
    const malformed = await run([...base, '--prometheus-url', 'https://127.0.0.1:9090', '--service-graph-edge', 'tracing-stack-app', '--json']);
    assert.equal(malformed.code, 64);
    assert.equal(parseOnlyJson(malformed.stdout).outcome, 'usage_error');
    assert.match(malformed.stderr, /--service-graph-edge: "tracing-stack-app" must be two service names separated by one comma, CLIENT,SERVER/);
    const noProm = await run([...base, '--service-graph-edge', 'a,b']);
    assert.equal(noProm.code, 64);
    assert.match(noProm.stderr, /needs --prometheus-url/);
    const badEnv = await run(base, { VERIFY_PROMETHEUS_URL: 'https://127.0.0.1:9090', VERIFY_SERVICE_GRAPH_EDGE: 'a,,b' });
    assert.equal(badEnv.code, 64);
    assert.match(badEnv.stderr, /VERIFY_SERVICE_GRAPH_EDGE: "a,,b" must be two service names/);
  });

  test('mutual TLS, --client-cert-file / --client-key-file: exit 0, the report names the certificate, never the key', async () => {
    const s = await fake.mtlsStack({ metrics: healthyMetrics('2.x') });
    const pki = fake.pki();
    const r = await run(args(s, ['--json', '--deadline-seconds', '10', '--client-cert-file', pki.clientCertFile, '--client-key-file', pki.clientKeyFile, '--collector-otlp-url', s.url]));
    assert.equal(r.code, 0, r.stderr);
    const report = parseOnlyJson(r.stdout) as JsonReport & { clientCertificate: Record<string, string>; collectorEndpoint: Array<{ status: string }> };
    assert.equal(report.outcome, 'verified');
    assert.deepEqual(report.clientCertificate, { subject: 'verifier', issuer: 'stack-ca', certSource: `--client-cert-file ${pki.clientCertFile}`, keySource: `--client-key-file ${pki.clientKeyFile}` });
    assert.deepEqual(report.collectorEndpoint.map((p) => p.status), ['answers']);
    assert.ok(s.clientCns.length > 0 && s.clientCns.every((cn) => cn === 'verifier'));
    assertNoKey(r.stdout + r.stderr, pki.client.key, 'stdout/stderr');
  });

  test('mutual TLS, the Pulumi way (VERIFY_CLIENT_CERT_PEM / VERIFY_CLIENT_KEY_PEM, --post-deploy): exit 0, the key nowhere', async () => {
    const s = await fake.mtlsStack({ metrics: healthyMetrics('2.x') });
    const pki = fake.pki();
    const r = await run(['--post-deploy', ...FAST], {
      VERIFY_TEMPO_URL: s.url,
      VERIFY_APP_URL: s.url,
      VERIFY_CA_PEM: pki.caPem,
      VERIFY_CLIENT_CERT_PEM: pki.client.cert,
      VERIFY_CLIENT_KEY_PEM: pki.client.key,
      VERIFY_TRACES: '3',
      VERIFY_DEADLINE_SECONDS: '10',
    });
    assert.equal(r.code, 0, r.stderr);
    const report = parseOnlyJson(r.stdout) as JsonReport & { clientCertificate: Record<string, string> };
    assert.deepEqual([report.clientCertificate['certSource'], report.clientCertificate['keySource']], ['VERIFY_CLIENT_CERT_PEM', 'VERIFY_CLIENT_KEY_PEM']);
    assertNoKey(r.stdout + r.stderr, pki.client.key, 'stdout/stderr');
  });

  test('mutual TLS without a client certificate: exit 2 at once, CLIENT_CERTIFICATE_REFUSED pointing at the settings, on stdout and stderr', async () => {
    const s = await fake.mtlsStack({ metrics: healthyMetrics('2.x') });
    const r = await run(args(s, ['--json', '--deadline-seconds', '30']));
    assert.equal(r.code, 2, r.stderr);
    const report = parseOnlyJson(r.stdout);
    assert.equal(report.outcome, 'unreachable');
    assert.equal(report.exitCode, 2);
    assert.deepEqual(report.diagnoses.map((d) => d.code), ['CLIENT_CERTIFICATE_REFUSED']);
    assert.match(report.diagnoses[0]!.message, /requires a client certificate \(mutual TLS\) and the verifier presented none \(alert "certificate required", ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED\)/);
    assert.ok(report.timings.elapsedMs < 2000, `no waiting for the 30 s deadline (${report.timings.elapsedMs} ms)`);
    assert.match(r.stderr, /\[CLIENT_CERTIFICATE_REFUSED\] Tempo \/ready: .*--client-cert-file\/--client-key-file \(VERIFY_CLIENT_CERT_\*\/VERIFY_CLIENT_KEY_\*, pulumi stack output clientCertificate\/clientPrivateKey\)/);
  });

  test('mutual TLS with a pair from another CA, --post-deploy: exit 2, the diagnosis first on stderr, the key nowhere', async () => {
    const s = await fake.mtlsStack({ metrics: healthyMetrics('2.x') });
    const pki = fake.pki();
    const r = await run(args(s, ['--post-deploy', '--deadline-seconds', '30']), { VERIFY_CLIENT_CERT_PEM: pki.otherCaClient.cert, VERIFY_CLIENT_KEY_PEM: pki.otherCaClient.key });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.split('\n');
    assert.match(lines[0]!, /^Tempo ingestion check: COULD NOT VERIFY/);
    assert.match(lines[3]!, /^\s+\[CLIENT_CERTIFICATE_REFUSED\] Tempo \/ready: 127\.0\.0\.1:\d+ hung up during the TLS handshake.*client certificate "intruder" issued by "other-ca" from VERIFY_CLIENT_CERT_PEM, not signed by the trusted CA "stack-ca"/);
    assert.match(r.stderr, /Client\s+certificate "intruder" issued by "other-ca" from VERIFY_CLIENT_CERT_PEM, key from VERIFY_CLIENT_KEY_PEM/);
    assertNoKey(r.stdout + r.stderr, pki.otherCaClient.key, 'stdout/stderr');
  });

  test('usage errors exit 64 without showing the key: one half only, the PEM in a *_FILE variable, a key that is not the certificate\'s', async () => {
    const pki = fake.pki();
    const base = ['--tempo-url', 'https://127.0.0.1:3200', '--ca-file', pki.caFile, '--app-url', 'https://127.0.0.1:1', '--json'];
    const halfOnly = await run([...base, '--client-key-file', pki.clientKeyFile]);
    assert.equal(halfOnly.code, 64);
    assert.equal(parseOnlyJson(halfOnly.stdout).outcome, 'usage_error');
    assert.match(halfOnly.stderr, /without its certificate: mutual TLS needs both — pass --client-cert-file PATH and --client-key-file PATH \(or VERIFY_CLIENT_CERT_FILE \/ VERIFY_CLIENT_CERT_PEM and VERIFY_CLIENT_KEY_FILE \/ VERIFY_CLIENT_KEY_PEM\), or neither/);
    const pemAsPath = await run([...base, '--client-cert-file', pki.clientCertFile], { VERIFY_CLIENT_KEY_FILE: pki.client.key });
    assert.equal(pemAsPath.code, 64);
    assert.match(pemAsPath.stderr, /VERIFY_CLIENT_KEY_FILE holds a PEM, not a file name/);
    const mismatch = await run([...base, '--client-cert-file', pki.clientCertFile], { VERIFY_CLIENT_KEY_PEM: pki.otherCaClient.key });
    assert.equal(mismatch.code, 64);
    assert.match(mismatch.stderr, /the client key from VERIFY_CLIENT_KEY_PEM does not belong to the client certificate/);
    for (const [name, r] of [['halfOnly', halfOnly], ['pemAsPath', pemAsPath], ['mismatch', mismatch]] as const) {
      assertNoKey(r.stdout + r.stderr, pki.client.key, `${name} stdout/stderr`);
      assertNoKey(r.stdout + r.stderr, pki.otherCaClient.key, `${name} stdout/stderr`);
    }
  });

  test('npm run verify entry (tsx verifier/cli.ts) prints the usage', async () => {
    const r = await run(['--help'], {}, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'verifier', 'cli.ts')]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: tracing-stack-verify/);
    assert.match(r.stdout, /there is no option to skip it/);
    assert.match(r.stdout, /--prometheus-url URL [\s\S]*\[VERIFY_PROMETHEUS_URL\]/);
    assert.match(r.stdout, /--service-graph-edge CLIENT,SERVER[\s\S]*\[VERIFY_SERVICE_GRAPH_EDGE\]/);
    assert.match(r.stdout, /--client-cert-file PATH [\s\S]*\[VERIFY_CLIENT_CERT_FILE, or VERIFY_CLIENT_CERT_PEM\]/);
    assert.match(r.stdout, /--client-key-file PATH [\s\S]*\[VERIFY_CLIENT_KEY_FILE, or VERIFY_CLIENT_KEY_PEM\]/);
  });
});
