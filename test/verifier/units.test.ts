/** Small pure pieces: TLS error classification, trace-id extraction, trace summaries, report, progress. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DIAGNOSIS_CODES } from '../../verifier/diagnose';
import { EXIT_CODES } from '../../verifier/exitCodes';
import { classifyError, HttpFailure } from '../../verifier/http';
import { createProgress } from '../../verifier/progress';
import { formatHuman, toJson } from '../../verifier/report';
import { otlpTracesUrl } from '../../verifier/syntheticSpans';
import { normalizeTraceId, summarizeTrace } from '../../verifier/traceLookup';
import { isValidTraceId, traceIdFromHeaders } from '../../verifier/traffic';
import type { VerifyResult } from '../../verifier/verify';

function nodeError(code: string, message = code, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code }, extra);
}

describe('classifyError', () => {
  const url = 'https://localhost:3200/ready';
  const ca = 'CA "stack-ca" (SHA-256 AA…) from --ca-file ca.pem';
  for (const code of ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']) {
    test(`${code} is a certificate from another CA`, () => {
      const f = classifyError(nodeError(code), url, ca);
      assert.equal(f.kind, 'tls');
      assert.match(f.message, /certificate from another CA — the server's certificate is not signed by CA "stack-ca"/);
    });
  }
  test('a name mismatch says wrong name, the host and the SANs', () => {
    const f = classifyError(nodeError('ERR_TLS_CERT_ALTNAME_INVALID', 'mismatch', { host: 'localhost', cert: { subjectaltname: 'DNS:tempo' } }), url, ca);
    assert.equal(f.kind, 'tls');
    assert.match(f.message, /wrong name .*"localhost" \(its SANs: DNS:tempo\)/);
  });
  test('expired certificate', () => assert.match(classifyError(nodeError('CERT_HAS_EXPIRED'), url, ca).message, /expired/));
  test('plain HTTP on the port', () => {
    const f = classifyError(nodeError('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'), url, ca);
    assert.equal(f.kind, 'tls');
    assert.match(f.message, /does not speak TLS/);
  });
  test('connection refused, unknown host, timeout', () => {
    assert.equal(classifyError(nodeError('ECONNREFUSED'), url, ca).kind, 'unreachable');
    assert.match(classifyError(nodeError('ENOTFOUND'), url, ca).message, /host not found/);
    assert.equal(classifyError(nodeError('ETIMEDOUT'), url, ca).kind, 'timeout');
  });
  test('an HttpFailure passes through', () => {
    const f = new HttpFailure('tls', url, 'x');
    assert.equal(classifyError(f, url, ca), f);
  });
});

/**
 * What node 20's https client really reported against servers requiring client certificates (a Go
 * net/http server with RequireAndVerifyClientCert, like Tempo, the collector and Prometheus; and node's
 * https with requestCert + rejectUnauthorized, like the app), recorded by experiment.
 */
const OPENSSL = (reason: string, alert: number): string =>
  `805C460CF57F0000:error:0A000000:SSL routines:ssl3_read_bytes:${reason}:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number ${alert}\n`;

describe('classifyError: a server refusing the client certificate (mutual TLS)', () => {
  const url = 'https://127.0.0.1:3200/ready';
  const ca = 'CA "stack-ca" (SHA-256 AA…) from --ca-file ca.pem';
  const presented = 'client certificate "intruder" issued by "other-ca" from --client-cert-file c.crt, not signed by the trusted CA "stack-ca"';
  const SETTINGS = '--client-cert-file/--client-key-file (VERIFY_CLIENT_CERT_*/VERIFY_CLIENT_KEY_*, pulumi stack output clientCertificate/clientPrivateKey)';

  for (const [server, code, message, alert] of [
    ['TLS 1.3 (Go or node), no certificate', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', OPENSSL('tlsv13 alert certificate required', 116), 'certificate required'],
    ['TLS 1.2 (Go or node), no certificate', 'EPROTO', `write EPROTO ${OPENSSL('sslv3 alert handshake failure', 40)}`, 'handshake failure'],
  ] as const) {
    test(`${server}: ${code} — none presented`, () => {
      const f = classifyError(nodeError(code, message), url, ca);
      assert.equal(f.kind, 'client-certificate');
      assert.equal(f.message, `127.0.0.1:3200 refused the TLS handshake: it requires a client certificate (mutual TLS) and the verifier presented none (alert "${alert}", ${code}); give the verifier a certificate and key signed by the stack CA with ${SETTINGS}`);
    });
  }

  for (const [server, code, message, alert] of [
    ['Go TLS 1.3, certificate from another CA', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', OPENSSL('tlsv1 alert unknown ca', 48), 'unknown ca'],
    ['Go TLS 1.3, stack-CA certificate without clientAuth', 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', OPENSSL('sslv3 alert bad certificate', 42), 'bad certificate'],
    ['Go TLS 1.2, certificate from another CA', 'EPROTO', `write EPROTO ${OPENSSL('tlsv1 alert unknown ca', 48)}`, 'unknown ca'],
    ['Go TLS 1.2, stack-CA certificate without clientAuth', 'EPROTO', `write EPROTO ${OPENSSL('sslv3 alert bad certificate', 42)}`, 'bad certificate'],
  ] as const) {
    test(`${server}: ${code} — the presented certificate refused`, () => {
      const f = classifyError(nodeError(code, message), url, ca, { clientCertificate: presented });
      assert.equal(f.kind, 'client-certificate');
      assert.equal(f.message, `127.0.0.1:3200 refused the verifier's ${presented} in the TLS handshake (alert "${alert}", ${code}); it must be signed by the CA the server trusts for clients (the stack CA) and be for client authentication: check ${SETTINGS}`);
    });
  }

  test('node (the app) hanging up on a certificate from another CA: ECONNRESET after the key exchange', () => {
    for (const message of ['socket hang up', 'Client network socket disconnected before secure TLS connection was established']) {
      const f = classifyError(nodeError('ECONNRESET', message), url, ca, { clientCertificate: presented, serverHandshake: true });
      assert.equal(f.kind, 'client-certificate');
      assert.match(f.message, new RegExp(`^127\\.0\\.0\\.1:3200 hung up during the TLS handshake, after presenting its certificate and before any answer \\(ECONNRESET: ${message}\\), as a server requiring client certificates \\(mutual TLS\\) does with one it does not accept: the verifier presented its client certificate "intruder"`));
      assert.ok(f.message.endsWith(`check ${SETTINGS}`));
    }
  });

  test('a reset before any TLS from the server (Docker proxy, nothing behind it) stays unreachable: retried, not blamed on the certificate', () => {
    const f = classifyError(nodeError('ECONNRESET', 'Client network socket disconnected before secure TLS connection was established'), url, ca, { clientCertificate: presented, serverHandshake: false });
    assert.equal(f.kind, 'unreachable');
    assert.equal(classifyError(nodeError('ECONNRESET', 'socket hang up'), url, ca).kind, 'unreachable');
  });

  test('"handshake failure" with a certificate presented is some other TLS problem', () => {
    const f = classifyError(nodeError('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', OPENSSL('sslv3 alert handshake failure', 40)), url, ca, { clientCertificate: presented });
    assert.equal(f.kind, 'tls');
  });

  test('the server certificate failing on this side is still about the server certificate', () => {
    const f = classifyError(nodeError('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), url, ca, { clientCertificate: presented, serverHandshake: true });
    assert.equal(f.kind, 'tls');
    assert.match(f.message, /certificate from another CA — the server's certificate/);
  });
});

describe('trace ids from the app', () => {
  const id = '4bf92f3577b34da6a3ce929d0e0e4736';
  test('x-trace-id, normalized to lowercase', () => assert.equal(traceIdFromHeaders({ 'x-trace-id': id.toUpperCase() }), id));
  test('traceparent fallback', () => assert.equal(traceIdFromHeaders({ traceparent: `00-${id}-00f067aa0ba902b7-01` }), id));
  test('invalid ids are ignored', () => {
    assert.equal(traceIdFromHeaders({ 'x-trace-id': 'abc' }), undefined);
    assert.equal(traceIdFromHeaders({ 'x-trace-id': '0'.repeat(32) }), undefined);
    assert.equal(isValidTraceId(id), true);
  });
});

describe('trace summaries', () => {
  const id = '4bf92f3577b34da6a3ce929d0e0e4736';
  const b64 = Buffer.from(id, 'hex').toString('base64');
  test('Tempo renders ids as base64 or hex', () => {
    assert.equal(normalizeTraceId(b64), id);
    assert.equal(normalizeTraceId(id.toUpperCase()), id);
  });
  test('v2 layout, spans of another trace are not counted', () => {
    const body = {
      trace: {
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'app' } }] },
            scopeSpans: [{ spans: [{ traceId: b64 }, { traceId: id }, { traceId: Buffer.alloc(16, 1).toString('base64') }] }],
          },
        ],
      },
    };
    assert.deepEqual(summarizeTrace(body, id), { spanCount: 2, foreignSpans: 1, services: ['app'] });
  });
  test('v1 layout with batches and the legacy instrumentationLibrarySpans', () => {
    const body = { batches: [{ instrumentationLibrarySpans: [{ spans: [{ traceId: b64 }] }] }, { scopeSpans: [{ spans: [{}] }] }] };
    assert.equal(summarizeTrace(body, id).spanCount, 2);
  });
  test('unexpected shapes count nothing', () => {
    assert.equal(summarizeTrace(null, id).spanCount, 0);
    assert.equal(summarizeTrace({ trace: 'x' }, id).spanCount, 0);
  });
  test('OTLP/HTTP traces URL', () => {
    assert.equal(otlpTracesUrl('https://localhost:4318'), 'https://localhost:4318/v1/traces');
    assert.equal(otlpTracesUrl('https://localhost:4318/v1/traces'), 'https://localhost:4318/v1/traces');
  });
});

function sampleResult(): VerifyResult {
  return {
    outcome: 'not_verified',
    exitCode: EXIT_CODES.NOT_VERIFIED,
    stage: 'done',
    tempoUrl: 'https://localhost:3200',
    caSource: '--ca-file ca.pem',
    traffic: { kind: 'app', url: 'https://localhost:3010', tracesRequested: 10, tracesSent: 10, requests: 10, problems: [] },
    traceIds: [],
    lookup: { looked: 3, found: 0, foundTraces: [] },
    diagnoses: [{ code: 'INGESTER_APPEND_FAILING', message: 'appends fail', configKeys: ['tempo server.grpc_tls_config'], evidence: {} }],
    warnings: [],
    timings: { startedAt: new Date(0).toISOString(), elapsedMs: 12345, deadlineSeconds: 120 },
    notes: [],
  };
}

describe('report', () => {
  test('human summary names the diagnosis, the keys and the exit code', () => {
    const text = formatHuman(sampleResult());
    assert.match(text, /^Tempo ingestion check: NOT VERIFIED/);
    assert.match(text, /\[INGESTER_APPEND_FAILING\] appends fail\n\s+check:\n\s+- tempo server\.grpc_tls_config/);
    assert.match(text, /Time\s+12\.3 s \(deadline 120 s\)/);
    assert.match(text, /exit 1\n$/);
  });
  test('JSON is one document with a schema tag', () => {
    const parsed = JSON.parse(toJson(sampleResult())) as { schema: string; exitCode: number };
    assert.equal(parsed.schema, 'tracing-stack-verify/v1');
    assert.equal(parsed.exitCode, 1);
  });
  test('exit codes and diagnosis codes are stable', () => {
    assert.deepEqual(EXIT_CODES, { VERIFIED: 0, NOT_VERIFIED: 1, UNREACHABLE: 2, USAGE: 64, INTERNAL_ERROR: 70 });
    for (const code of ['NO_SPANS_RECEIVED', 'INGESTER_APPEND_FAILING', 'TRACES_NOT_CREATED', 'SPANS_DISCARDED', 'COLLECTOR_EXPORT_FAILING', 'TRACES_NOT_FOUND', 'TEMPO_UNREACHABLE', 'TLS_VERIFICATION_FAILED', 'CLIENT_CERTIFICATE_REFUSED', 'TEMPO_NOT_READY', 'NOT_PROMETHEUS', 'PROMETHEUS_UNREACHABLE', 'GENERATOR_PROCESSORS_OFF', 'REMOTE_WRITE_FAILING', 'SPAN_METRICS_MISSING', 'NO_SECOND_SERVICE', 'SERVICE_GRAPH_EDGE_MISSING']) {
      assert.ok((DIAGNOSIS_CODES as readonly string[]).includes(code), code);
    }
  });
});

describe('progress', () => {
  function sink(isTTY: boolean): { out: string[]; stream: { write(c: string): boolean; isTTY: boolean; columns: number } } {
    const out: string[] = [];
    return { out, stream: { write: (c: string) => out.push(c) > 0, isTTY, columns: 60 } };
  }
  test('not a terminal: one line per new message, with the elapsed time', () => {
    let t = 1000;
    const { out, stream } = sink(false);
    const p = createProgress(stream, { tty: false, now: () => t });
    p.update('waiting for Tempo /ready');
    p.update('waiting for Tempo /ready');
    t += 2500;
    p.update('reading /metrics');
    p.clear();
    assert.deepEqual(out, ['[0.0s] waiting for Tempo /ready\n', '[2.5s] reading /metrics\n']);
  });
  test('terminal: rewrites one line in place and clears it', () => {
    const { out, stream } = sink(true);
    const p = createProgress(stream, { tty: true, now: () => 0 });
    p.update('x'.repeat(200));
    p.clear();
    assert.ok(out[0]?.startsWith('\r\x1b[2K[0.0s] x'));
    assert.ok((out[0]?.length ?? 0) < 80, 'truncated to the terminal width');
    assert.equal(out[out.length - 1], '\r\x1b[2K');
    assert.ok(out.every((c) => !c.includes('\n')));
  });
});
