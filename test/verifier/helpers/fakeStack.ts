/**
 * A scripted stand-in for Tempo, the app, the collector's OTLP/HTTP receiver, the collector's
 * metrics and Prometheus' query API, served over HTTPS with a certificate from the test PKI. Every
 * route is scripted by the test: /ready answers, the sequence of /metrics texts, whether trace lookups
 * find the ids the app handed out, how the app answers, and which series Prometheus holds. Under
 * mutual TLS (`clientCa`) it refuses clients without a certificate that CA signed, as node's https
 * does: the alert "certificate required" for none, hanging up on one from another CA.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { before, after } from 'node:test';
import { mintTestPki, type KeyPair, type TestPki } from './certs';
import { evaluatePromQuery, type PromSeries } from './fakePrometheus';
import type { ClientCertificate, VerifyOptions } from '../../../verifier/options';

export const FIXTURES = join(__dirname, '..', 'fixtures');

export function fixture(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

export interface MetricsContext {
  /** 0 for the first /metrics request */
  call: number;
  /** trace ids handed out by the app or received over OTLP so far */
  sent: number;
}

export interface PrometheusContext {
  /** 0 for the first /api/v1/query request */
  call: number;
  /** trace ids handed out by the app so far */
  sent: number;
  /** app requests that asked for fail=1 so far */
  failing: number;
}

export interface FakeStackScript {
  /** /ready: 'ok' (default), 'never' (503 forever), 'no-queriers' (503 from the query-frontend forever), or the number of 503 answers before 200 */
  ready?: 'ok' | 'never' | 'no-queriers' | number;
  /** /metrics texts by call (the last one repeats), or a function of the call */
  metrics?: string[] | ((ctx: MetricsContext) => string);
  metricsContentType?: string;
  metricsStatus?: number;
  /** trace API: 'store' finds every id sent, 'v1-only' has no v2 route, 'none' never finds, 'error' answers 500, 'hang' never answers */
  traces?: 'store' | 'v1-only' | 'none' | 'error' | 'hang';
  /** app: 'ok' answers with x-trace-id + traceparent, 'traceparent-only', 'no-trace-id' */
  app?: 'ok' | 'traceparent-only' | 'no-trace-id';
  /** OTLP/HTTP receiver: 'accept' (default) or 'reject' (HTTP 400) */
  otlp?: 'accept' | 'reject';
  /** collector metrics texts by call (the last one repeats) */
  collectorMetrics?: string[];
  /** Prometheus' /api/v1/query: the series it holds (queries are evaluated against them); absent = 404 like any unknown path */
  prometheus?: (ctx: PrometheusContext) => PromSeries[];
  /** Prometheus answering every query with this HTTP status and a Prometheus error body */
  prometheusStatus?: number;
}

/** How the fake's TLS listener is set up. */
export interface FakeTls {
  /** require client certificates signed by this CA (mutual TLS) */
  clientCa?: string;
  /** highest TLS version offered: TLS 1.2 servers refuse client certificates during the handshake, TLS 1.3 ones after it */
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
}

export interface FakeStack {
  url: string;
  port: number;
  /** subject CN of the client certificate of each request, '' for none, in order */
  clientCns: string[];
  sentIds: Set<string>;
  calls: Record<string, number>;
  /** request paths in order */
  log: string[];
  /** query strings of the app requests (/api/work), in order */
  appQueries: string[];
  /** PromQL of the /api/v1/query requests, in order */
  promQueries: string[];
  close(): Promise<void>;
}

function traceJson(traceId: string, layout: 'v2' | 'v1'): string {
  const b64 = Buffer.from(traceId, 'hex').toString('base64');
  const resourceSpans = [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'tracing-stack-app' } }] },
      scopeSpans: [
        {
          scope: { name: 'test' },
          spans: [
            // Tempo renders ids as base64; accept hex too.
            { traceId: b64, spanId: 'AAAAAAAAAAE=', name: 'GET /api/work' },
            { traceId, spanId: '0000000000000002', name: 'work depth 1' },
          ],
        },
      ],
    },
  ];
  return JSON.stringify(layout === 'v2' ? { trace: { resourceSpans } } : { batches: resourceSpans });
}

function collectOtlpTraceIds(body: string): string[] {
  const ids: string[] = [];
  const doc = JSON.parse(body) as { resourceSpans?: { scopeSpans?: { spans?: { traceId?: string }[] }[] }[] };
  for (const rs of doc.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        if (span.traceId) ids.push(span.traceId);
      }
    }
  }
  return ids;
}

export function startFakeStack(tls: KeyPair, script: FakeStackScript, listener: FakeTls = {}): Promise<FakeStack> {
  const sentIds = new Set<string>();
  const clientCns: string[] = [];
  const calls: Record<string, number> = {};
  const log: string[] = [];
  const appQueries: string[] = [];
  const promQueries: string[] = [];
  let failing = 0;
  const count = (route: string): number => {
    const n = calls[route] ?? 0;
    calls[route] = n + 1;
    return n;
  };

  const serverOptions: https.ServerOptions = {
    key: tls.key,
    cert: tls.cert,
    ...(listener.clientCa ? { ca: listener.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
    ...(listener.maxVersion ? { maxVersion: listener.maxVersion } : {}),
  };
  const server = https.createServer(serverOptions, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://fake');
    log.push(`${req.method} ${url.pathname}`);
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    clientCns.push(typeof peer.subject?.CN === 'string' ? peer.subject.CN : '');
    const send = (status: number, body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
      res.end(body);
    };
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = url.pathname;
      if (path === '/ready') {
        const n = count('ready');
        const ready = script.ready ?? 'ok';
        if (ready === 'ok' || (typeof ready === 'number' && n >= ready)) return send(200, 'ready\n');
        if (ready === 'no-queriers') return send(503, 'Query Frontend not ready: not ready: number of queriers connected to query-frontend is 0\n');
        return send(503, 'Ingester not ready: waiting for 15s after being ready\n');
      }
      if (path === '/metrics') {
        const n = count('metrics');
        const m = script.metrics ?? [fixture('tempo-2.x-fresh.prom')];
        const text = typeof m === 'function' ? m({ call: n, sent: sentIds.size }) : (m[Math.min(n, m.length - 1)] ?? '');
        return send(script.metricsStatus ?? 200, text, { 'content-type': script.metricsContentType ?? 'text/plain; version=0.0.4; charset=utf-8' });
      }
      if (path === '/collector/metrics') {
        const n = count('collector');
        const m = script.collectorMetrics ?? [fixture('collector-before.prom')];
        return send(200, m[Math.min(n, m.length - 1)] ?? '');
      }
      const traceMatch = /^\/api\/(v2\/)?traces\/([0-9a-f]+)$/.exec(path);
      if (traceMatch) {
        const isV2 = traceMatch[1] !== undefined;
        const id = traceMatch[2] ?? '';
        count(isV2 ? 'traceV2' : 'traceV1');
        const mode = script.traces ?? 'store';
        if (mode === 'hang') return undefined;
        if (mode === 'error') return send(500, 'rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed"\n');
        if (mode === 'v1-only' && isV2) return send(404, '404 page not found\n');
        if (mode === 'none' || !sentIds.has(id)) return send(404, 'trace not found\n');
        return send(200, traceJson(id, isV2 ? 'v2' : 'v1'), { 'content-type': 'application/json' });
      }
      if (path === '/api/work') {
        count('app');
        appQueries.push(url.search);
        const id = randomBytes(16).toString('hex');
        sentIds.add(id);
        const traceparent = `00-${id}-${randomBytes(8).toString('hex')}-01`;
        const mode = script.app ?? 'ok';
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (mode === 'ok') headers['x-trace-id'] = id;
        if (mode !== 'no-trace-id') headers['traceparent'] = traceparent;
        // Like the app: ?fail=1 fails on purpose with HTTP 500 and still names its trace.
        if (url.searchParams.get('fail') === '1') {
          failing += 1;
          return send(500, JSON.stringify({ error: 'simulated failure at work level 1', traceId: mode === 'no-trace-id' ? undefined : id }), headers);
        }
        return send(200, JSON.stringify({ traceId: mode === 'no-trace-id' ? undefined : id, depth: url.searchParams.get('depth') }), headers);
      }
      if (path === '/api/v1/query' && script.prometheus) {
        const n = count('prometheus');
        const query = url.searchParams.get('query') ?? '';
        promQueries.push(query);
        const json = { 'content-type': 'application/json' };
        if (script.prometheusStatus !== undefined) {
          return send(script.prometheusStatus, JSON.stringify({ status: 'error', errorType: 'unavailable', error: 'TSDB not ready' }), json);
        }
        const answer = evaluatePromQuery(query, script.prometheus({ call: n, sent: sentIds.size, failing }));
        return send(answer.status, JSON.stringify(answer.body), json);
      }
      if (path === '/v1/traces' && req.method === 'POST') {
        count('otlp');
        if ((script.otlp ?? 'accept') === 'reject') return send(400, 'bad request: unsupported content\n');
        for (const id of collectOtlpTraceIds(Buffer.concat(chunks).toString('utf8'))) sentIds.add(id);
        return send(200, '{}', { 'content-type': 'application/json' });
      }
      return send(404, '404 page not found\n');
    });
  });

  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        url: `https://127.0.0.1:${port}`,
        port,
        clientCns,
        sentIds,
        calls,
        log,
        appQueries,
        promQueries,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Metrics that follow the traffic: healthy Tempo counting every sent trace `lagCalls` readings after it was sent. */
export function healthyMetrics(version: '2.x' | '3.x'): (ctx: MetricsContext) => string {
  const counter = version === '2.x' ? 'tempo_ingester_traces_created_total' : 'tempo_live_store_traces_created_total';
  return ({ sent }) =>
    [
      '# HELP tempo_distributor_spans_received_total The total number of spans received per tenant',
      '# TYPE tempo_distributor_spans_received_total counter',
      `tempo_distributor_spans_received_total{tenant="single-tenant"} ${sent * 3}`,
      '# TYPE tempo_distributor_ingester_appends_total counter',
      `tempo_distributor_ingester_appends_total{ingester="127.0.0.1:9095"} ${sent}`,
      '# TYPE tempo_receiver_accepted_spans counter',
      `tempo_receiver_accepted_spans{receiver="otlp/otlp_receiver",transport="grpc"} ${sent * 3}`,
      `# TYPE ${counter} counter`,
      `${counter}{tenant="single-tenant"} ${sent}`,
      '',
    ].join('\n');
}

/**
 * Registers before/after hooks for a test file that serves fake stacks: one test PKI, every stack
 * closed at the end. `pki()` is valid inside tests.
 */
export function useFakeStacks(): {
  pki: () => TestPki;
  stack: (script: FakeStackScript, which?: 'server' | 'otherCaServer' | 'wrongName', tls?: FakeTls) => Promise<FakeStack>;
  /** like stack(), requiring client certificates from the stack CA (mutual TLS) */
  mtlsStack: (script: FakeStackScript, tls?: Omit<FakeTls, 'clientCa'>) => Promise<FakeStack>;
} {
  let pki: TestPki | undefined;
  const stacks: FakeStack[] = [];
  before(() => {
    pki = mintTestPki();
  });
  after(async () => {
    await Promise.all(stacks.map((s) => s.close()));
    pki?.cleanup();
  });
  const current = (): TestPki => {
    if (!pki) throw new Error('useFakeStacks: the test PKI exists only inside tests');
    return pki;
  };
  return {
    pki: current,
    stack: async (script, which = 'server', tls = {}) => {
      const s = await startFakeStack(current()[which], script, tls);
      stacks.push(s);
      return s;
    },
    mtlsStack: async (script, tls = {}) => {
      const s = await startFakeStack(current().server, script, { ...tls, clientCa: current().caPem });
      stacks.push(s);
      return s;
    },
  };
}

/** The test PKI's client certificate from the stack CA (or another CA), as resolved options carry it. */
export function clientCertificateOf(pki: TestPki, which: 'client' | 'otherCaClient' = 'client'): ClientCertificate {
  const pair = pki[which];
  return { certPem: pair.cert, keyPem: pair.key, certSource: `the test ${which} certificate`, keySource: `the test ${which} key` };
}

/**
 * The key's base64 lines, each long enough to be unmistakable: a key must not show up in any output,
 * whole or in part.
 */
export function keyFragments(keyPem: string): string[] {
  return keyPem.split('\n').filter((l) => !l.startsWith('-----') && l.trim().length >= 16);
}

/** Fails when any part of the key is in `text`. */
export function assertNoKey(text: string, keyPem: string, where: string): void {
  for (const fragment of keyFragments(keyPem)) {
    if (text.includes(fragment)) throw new Error(`the private key shows up in ${where}`);
  }
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----\s*[A-Za-z0-9+/]/.test(text)) throw new Error(`a PEM private key shows up in ${where}`);
}

/** Verifier options against one fake stack, with the test PKI's CA and short timings; tests override what they exercise. */
export function fakeStackOptions(s: FakeStack, caPem: string, overrides: Partial<VerifyOptions> = {}): VerifyOptions {
  return {
    tempoUrl: s.url,
    caPem,
    caSource: 'the test CA',
    appUrl: s.url,
    traces: 10,
    minFraction: 1,
    deadlineSeconds: 3,
    depth: 1,
    json: false,
    postDeploy: false,
    progress: false,
    pollIntervalMs: 40,
    backoffInitialMs: 20,
    backoffMaxMs: 80,
    requestTimeoutMs: 1000,
    ...overrides,
  };
}
