/**
 * Orchestration with one deadline for everything:
 *   1. wait for Tempo /ready (exponential backoff),
 *   2. read the ingestion counters from /metrics (and the collector's, if given),
 *   3. drive traffic through the app (or send synthetic OTLP spans) and collect the trace ids,
 *   4. poll /metrics until the traces-created counter has risen enough and look the ids up,
 *   5. diagnose;
 *   6. with --service-graph-edge, once the traces are verified: poll Prometheus until the span metrics
 *      of the client and the service-graph edge are there, else diagnose from Tempo's generator
 *      counters and Prometheus' answers.
 * Nothing here prints: progress goes to the injected sink, the result to report.ts.
 */
import { X509Certificate } from 'node:crypto';
import { diagnose, type Diagnosis, type DiagnosisCode, type LookupSummary, type TrafficKind } from './diagnose';
import { EXIT_CODES, type ExitCode } from './exitCodes';
import { commonName, createHttpsClient, HttpFailure, type HttpsClient } from './http';
import { pollPrometheus, readPrometheusBaseline, type PrometheusBaseline } from './metricsCheck';
import { diagnoseMetrics } from './metricsDiagnose';
import { CLIENT_CERT_SETTINGS, DEFAULTS, type VerifyOptions } from './options';
import {
  type CollectorCounters,
  type CollectorDelta,
  type GeneratorCounters,
  type GeneratorDelta,
  NotPrometheusError,
  parsePrometheusText,
  readCollectorCounters,
  readGeneratorCounters,
  readTempoCounters,
  type TempoCounters,
  type TempoDelta,
  type TracesCreatedChoice,
} from './tempoMetrics';
import { type LookupOutcome, lookupTrace } from './traceLookup';
import { driveApp } from './traffic';
import { probeTlsEndpoint, type ProbeResult } from './collectorProbe';
import { checkSwarmTasks, dockerSwarmReader, type SwarmReader, type SwarmSummary } from './swarmTasks';
import { checkDistributed, type DistributedSummary, federateUrl, type IngesterView, readIngesterView, scrapedBefore, withSummedIncrease, writeQuorum } from './distributedCheck';

export type Outcome = 'verified' | 'not_verified' | 'unreachable';
export type Stage = 'ready' | 'metrics' | 'traffic' | 'poll' | 'done' | 'prometheus';

export interface FoundTrace {
  traceId: string;
  api: 'v2' | 'v1';
  spanCount: number;
  services: string[];
}

/**
 * The span metrics and the service-graph edge in Prometheus (--service-graph-edge), checked once the
 * traces are verified. Counts are the sums Prometheus answered (null: no such series); seenAfterMs is
 * from the start of the traffic to the first answer > 0 (null: not seen before the deadline).
 */
export interface MetricsSection {
  prometheusUrl: string;
  spanMetrics: { service: string; calls: number | null; seenAfterMs: number | null };
  serviceGraphEdge: { client: string; server: string; requests: number | null; failed: number | null; seenAfterMs: number | null };
  /** Tempo's metrics-generator counters before the traffic and at the end */
  tempoGenerator?: { before: GeneratorCounters; after: GeneratorCounters; delta: GeneratorDelta };
  /** the last failed Prometheus query, if any */
  lastError?: string;
}

export interface VerifyResult {
  /** Tempo in microservices mode: the ring and each ingester's share of the traces. */
  distributed?: DistributedSummary;
  /** Engine swarm: each service's running tasks, per node. */
  swarm?: SwarmSummary;
  outcome: Outcome;
  exitCode: ExitCode;
  /** where the run ended */
  stage: Stage;
  tempoUrl: string;
  caSource: string;
  /** the client certificate presented on every connection (mutual TLS), by subject and issuer CN and where it and its key came from; never the key */
  clientCertificate?: { subject: string; issuer: string; certSource: string; keySource: string };
  stack?: string;
  tempoVersion?: string;
  traffic: {
    kind: TrafficKind;
    url: string;
    tracesRequested: number;
    /** distinct trace ids obtained (app) or exported (synthetic) */
    tracesSent: number;
    requests?: number;
    spansSent?: number;
    statusCounts?: Record<string, number>;
    /** requests sent with fail=1 on purpose (--service-graph-edge): their HTTP 500s are expected */
    failingRequests?: number;
    problems: string[];
  };
  traceIds: string[];
  tracesCreated?: TracesCreatedChoice;
  counters?: { before: TempoCounters; after: TempoCounters; delta: TempoDelta; required: number };
  collector?: { url: string; before?: CollectorCounters; after?: CollectorCounters; delta?: CollectorDelta; error?: string };
  /** TLS handshakes with the collector's published OTLP endpoint (before the traffic, and after it when not verified) */
  collectorEndpoint?: ProbeResult[];
  lookup: LookupSummary & { foundTraces: FoundTrace[] };
  /** span metrics and service graph in Prometheus: present when --service-graph-edge was given and the traces were verified */
  metrics?: MetricsSection;
  diagnoses: Diagnosis[];
  warnings: Diagnosis[];
  timings: { startedAt: string; elapsedMs: number; readyAfterMs?: number; trafficMs?: number; /** when the traces were verified, before any Prometheus check */ tracesVerifiedAfterMs?: number; deadlineSeconds: number };
  notes: string[];
}

export interface ProgressSink {
  update(message: string): void;
  clear(): void;
}

export interface VerifyDeps {
  client?: HttpsClient;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  progress?: ProgressSink;
  /** Engine swarm: where the services' tasks are read (default: the manager at DOCKER_HOST). */
  swarm?: SwarmReader;
}

const NO_PROGRESS: ProgressSink = { update: () => undefined, clear: () => undefined };

class Abort extends Error {
  constructor(
    readonly code: DiagnosisCode,
    readonly exitCode: ExitCode,
    message: string,
    readonly configKeys: string[],
    readonly evidence: Record<string, number | string> = {},
  ) {
    super(message);
  }
}

/** /ready of a Tempo whose query-frontend has no querier connected (the read path's internal gRPC link). */
const QUERY_PATH_NOT_READY = /query.?frontend not ready|queriers connected to query-frontend is 0/i;
/** How long /ready may blame only the query path before the ingestion check goes on regardless. */
const QUERY_PATH_GRACE_MS = 15_000;

const TEMPO_HTTP_KEYS = ['tempo server.http_listen_port (3200) and the host port it is published on', 'verifier --tempo-url'];
const TEMPO_TLS_KEYS = [
  'tempo server.http_tls_config.cert_file (must be signed by the stack CA and list the host name in its SANs)',
  'verifier --ca-file / VERIFY_CA_PEM (the stack CA)',
];

/** First among the keys of CLIENT_CERTIFICATE_REFUSED: the verifier's side is what the user can change at once. */
const CLIENT_CERT_KEY = `verifier ${CLIENT_CERT_SETTINGS}: a certificate for client authentication signed by the stack CA, and its key`;

/** Where each server is told to require client certificates, and from which CA (the other side of CLIENT_CERTIFICATE_REFUSED). */
const CLIENT_AUTH_KEYS = {
  tempo: 'tempo server.http_tls_config.client_auth_type (RequireAndVerifyClientCert) and client_ca_file (the CA that must sign the client certificate)',
  app: "the app's TLS_CLIENT_AUTH=require and TLS_CA_FILE (the CA that must sign the client certificate)",
  otlpHttp: 'collector receivers.otlp.protocols.http.tls.client_ca_file (the CA that must sign the client certificate)',
  otlpGrpc: 'collector receivers.otlp.protocols.grpc.tls.client_ca_file (the CA that must sign the client certificate)',
  prometheus: 'prometheus web config tls_server_config.client_auth_type (RequireAndVerifyClientCert) and client_ca_file',
} as const;

/** TLS failures end the run at once: retrying does not change a certificate. */
function isTlsFailure(err: unknown): err is HttpFailure & { kind: 'tls' | 'client-certificate' } {
  return err instanceof HttpFailure && (err.kind === 'tls' || err.kind === 'client-certificate');
}

/** `keys`: for the server's certificate; `clientAuthKey`: where this server requires client certificates. */
function tlsAbort(failure: HttpFailure, what: string, keys: string[], clientAuthKey: string): Abort {
  const evidence = { url: failure.url, ...(failure.code ? { code: failure.code } : {}) };
  if (failure.kind === 'client-certificate') {
    return new Abort('CLIENT_CERTIFICATE_REFUSED', EXIT_CODES.UNREACHABLE, `${what}: ${failure.message}`, [CLIENT_CERT_KEY, clientAuthKey], evidence);
  }
  return new Abort('TLS_VERIFICATION_FAILED', EXIT_CODES.UNREACHABLE, `${what}: ${failure.message}`, keys, evidence);
}

/** CN of subject and issuer for the report; the PEM was validated when the options were resolved. */
function clientCertificateSummary(options: VerifyOptions): VerifyResult['clientCertificate'] {
  const c = options.clientCertificate;
  if (!c) return undefined;
  let subject = '';
  let issuer = '';
  try {
    const cert = new X509Certificate(c.certPem);
    subject = commonName(cert.subject);
    issuer = commonName(cert.issuer);
  } catch {
    // options built by hand (tests, a library caller) may skip validation: report the sources only
  }
  return { subject, issuer, certSource: c.certSource, keySource: c.keySource };
}

const COLLECTOR_ENDPOINT_KEYS = [
  'the collector container: is it running? (docker ps; docker logs <stack>-otel-collector)',
  'the collector host port (stack setting hostPorts.collectorOtlpGrpc) and receivers.otlp.protocols.grpc.endpoint (0.0.0.0:4317)',
];
const COLLECTOR_TLS_KEYS = [
  'collector receivers.otlp.protocols.grpc.tls.cert_file (signed by the stack CA, SANs localhost and 127.0.0.1)',
  'verifier --ca-file / VERIFY_CA_PEM (the stack CA)',
];

/** A diagnosis for a collector endpoint that did not complete a verified TLS handshake. `presented`: the client certificate described, if any. */
function collectorEndpointDiagnosis(probe: ProbeResult | undefined, presented: string | undefined): Diagnosis | undefined {
  if (!probe || probe.status === 'answers') return undefined;
  if (probe.status === 'client-certificate') {
    return {
      code: 'CLIENT_CERTIFICATE_REFUSED',
      message:
        `the collector at ${probe.url} refused the verifier's TLS handshake (${probe.detail ?? 'no detail'}): it requires a client certificate (mutual TLS) and ` +
        `${presented ? `does not accept the verifier's ${presented}` : 'the verifier presented none'}. This is about the verifier's certificate, not the app's.`,
      configKeys: [CLIENT_CERT_KEY, CLIENT_AUTH_KEYS.otlpGrpc],
      evidence: { url: probe.url, status: probe.status },
    };
  }
  if (probe.status === 'tls') {
    return {
      code: 'COLLECTOR_TLS_FAILED',
      message: `the collector at ${probe.url} answers, but the TLS handshake failed (${probe.detail ?? 'no detail'}): clients that trust the stack CA cannot send it spans.`,
      configKeys: COLLECTOR_TLS_KEYS,
      evidence: { url: probe.url, status: probe.status },
    };
  }
  return {
    code: 'COLLECTOR_NOT_ANSWERING',
    message: `the collector does not answer at ${probe.url} (${probe.detail ?? probe.status}): spans sent to it go nowhere, so check that it runs before any configuration.`,
    configKeys: COLLECTOR_ENDPOINT_KEYS,
    evidence: { url: probe.url, status: probe.status },
  };
}

/** Prometheus' /federate answering an empty body: nothing of Tempo scraped yet. */
class NothingScrapedYet extends Error {
  constructor(url: string) {
    super(`${url.split('?')[0]} has no series of Tempo's containers yet: Prometheus has not scraped them`);
    this.name = 'NothingScrapedYet';
  }
}

/** The shortest TLS handshake attempt worth making with the collector: anything less says nothing about it. */
const MIN_PROBE_MS = 1000;

export async function runVerification(options: VerifyOptions, deps: VerifyDeps = {}): Promise<VerifyResult> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const progress = deps.progress ?? NO_PROGRESS;
  const client = deps.client ?? createHttpsClient(options.caPem, options.caSource, options.clientCertificate);
  const ownsClient = deps.client === undefined;

  const startedAt = now();
  const deadlineAt = startedAt + options.deadlineSeconds * 1000;
  const remaining = (): number => deadlineAt - now();
  const requestTimeout = (): number => Math.max(1, Math.min(options.requestTimeoutMs, remaining()));
  const pause = (ms: number): Promise<void> => sleep(Math.max(0, Math.min(ms, remaining())));
  const tenantHeaders: Record<string, string> = options.tenant ? { 'x-scope-orgid': options.tenant } : {};

  const trafficKind: TrafficKind = options.appUrl ? 'app' : 'otlp';
  const result: VerifyResult = {
    outcome: 'unreachable',
    exitCode: EXIT_CODES.UNREACHABLE,
    stage: 'ready',
    tempoUrl: options.tempoUrl,
    caSource: options.caSource,
    traffic: {
      kind: trafficKind,
      url: options.appUrl ?? options.otlpHttpUrl ?? '',
      tracesRequested: options.traces,
      tracesSent: 0,
      problems: [],
    },
    traceIds: [],
    lookup: { looked: 0, found: 0, foundTraces: [] },
    diagnoses: [],
    warnings: [],
    timings: { startedAt: new Date(startedAt).toISOString(), elapsedMs: 0, deadlineSeconds: options.deadlineSeconds },
    notes: [],
  };
  if (options.stack) result.stack = options.stack;
  const clientCertificate = clientCertificateSummary(options);
  if (clientCertificate) result.clientCertificate = clientCertificate;

  // A distributed Tempo's counters live in containers that publish nothing: Prometheus has them all.
  const metricsUrl = options.distributed && options.prometheusUrl ? federateUrl(options.prometheusUrl) : `${options.tempoUrl}/metrics`;
  let ingestersBefore: IngesterView | undefined;
  let ingestersAfter: IngesterView | undefined;

  /** One /metrics reading. Throws Abort for TLS / not-Prometheus; HttpFailure for transient trouble. */
  const readTempo = async (): Promise<{ counters: TempoCounters; generator: GeneratorCounters; ingesters?: IngesterView }> => {
    let res;
    try {
      res = await client.request(metricsUrl, { timeoutMs: requestTimeout(), headers: { accept: 'text/plain;version=0.0.4', ...tenantHeaders } });
    } catch (err) {
      if (isTlsFailure(err)) throw tlsAbort(err, 'Tempo /metrics', TEMPO_TLS_KEYS, CLIENT_AUTH_KEYS.tempo);
      throw err;
    }
    if (res.status !== 200) {
      throw new Abort('NOT_PROMETHEUS', EXIT_CODES.UNREACHABLE, `GET ${metricsUrl} answered HTTP ${res.status}, expected Tempo's Prometheus metrics: is --tempo-url Tempo's HTTP API (port 3200)?`, TEMPO_HTTP_KEYS, { status: res.status });
    }
    // A Prometheus started with the stack has scraped nothing for up to one interval (10 s).
    if (options.distributed && res.body.trim() === '') throw new NothingScrapedYet(metricsUrl);
    const contentType = String(res.headers['content-type'] ?? '');
    try {
      if (/text\/html|application\/json/i.test(contentType)) {
        throw new NotPrometheusError(`the body is ${contentType.split(';')[0]}, not Prometheus text exposition`);
      }
      const parsed = parsePrometheusText(res.body);
      return { counters: readTempoCounters(parsed), generator: readGeneratorCounters(parsed), ...(options.distributed ? { ingesters: readIngesterView(parsed) } : {}) };
    } catch (err) {
      if (err instanceof NotPrometheusError) {
        throw new Abort('NOT_PROMETHEUS', EXIT_CODES.UNREACHABLE, `GET ${metricsUrl}: ${err.message}. Is --tempo-url Tempo's HTTP API (port 3200)?`, TEMPO_HTTP_KEYS, { contentType });
      }
      throw err;
    }
  };

  /**
   * The "before" reading; through Prometheus, once it has scraped Tempo (up to a quarter of the
   * deadline), and once it has scraped every Tempo container since this run began: a container
   * replaced just before (new ingesters under old names) still shows its predecessor's counter
   * until its first scrape, and a baseline taken from that would swallow part of the traffic.
   */
  const startedWallMs = Date.now();
  const firstReading = async (): ReturnType<typeof readTempo> => {
    const waitUntil = now() + (options.deadlineSeconds * 1000) / 4;
    for (;;) {
      try {
        const reading = await readTempo();
        const stale = reading.ingesters ? scrapedBefore(reading.ingesters, startedWallMs) : [];
        if (stale.length === 0 || now() >= waitUntil) {
          if (stale.length > 0) result.notes.push(`the "before" reading has containers Prometheus had not scraped since the run began: ${stale.join(', ')}`);
          return reading;
        }
        progress.update(`waiting for Prometheus to scrape ${stale.length} Tempo container(s) again before the "before" reading`);
        await pause(options.pollIntervalMs);
        continue;
      } catch (err) {
        if (!(err instanceof NothingScrapedYet) || now() >= waitUntil) {
          if (err instanceof NothingScrapedYet) {
            throw new Abort('TEMPO_UNREACHABLE', EXIT_CODES.UNREACHABLE, `${err.message} for ${Math.round((options.deadlineSeconds * 1000) / 4 / 1000)} s`, ["prometheus scrape_configs of Tempo's containers", 'verifier --prometheus-url']);
          }
          throw err;
        }
        progress.update(`waiting for Prometheus to scrape Tempo's containers (${metricsUrl.split('?')[0]})`);
        await pause(options.pollIntervalMs);
      }
    }
  };

  const collectorUrl = options.collectorMetricsUrl;
  if (collectorUrl) result.collector = { url: collectorUrl };
  /** The collector's metrics are optional: any failure is recorded, never fatal. */
  const readCollector = async (): Promise<CollectorCounters | undefined> => {
    if (!collectorUrl || !result.collector) return undefined;
    try {
      const res = await client.request(collectorUrl, { timeoutMs: requestTimeout(), headers: { accept: 'text/plain;version=0.0.4' } });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      const counters = readCollectorCounters(parsePrometheusText(res.body));
      delete result.collector.error;
      return counters;
    } catch (err) {
      result.collector.error = `collector metrics not usable (${collectorUrl}): ${err instanceof Error ? err.message : String(err)}`;
      return undefined;
    }
  };

  let queryPathNotReady: string | undefined;
  let otlpRejected: string | undefined;
  const queryPathDiagnosis = (body: string): Diagnosis => ({
    code: 'TEMPO_NOT_READY',
    message:
      `Tempo's /ready stays HTTP 503 "${body}": the querier's worker cannot connect to the query-frontend over the internal gRPC port ` +
      '(127.0.0.1:9095 in a single binary), so traces cannot be queried — typically TLS on one side only of the internal gRPC link.',
    configKeys: [
      'tempo querier.frontend_worker.grpc_client_config.tls_enabled',
      'tempo querier.frontend_worker.grpc_client_config.tls_ca_path',
      'tempo querier.frontend_worker.grpc_client_config.tls_server_name',
      'tempo server.grpc_tls_config',
    ],
    evidence: { ready: body },
  });

  try {
    // 1. /ready with backoff ------------------------------------------------------------------
    const readyUrl = `${options.tempoUrl}/ready`;
    let backoff = options.backoffInitialMs;
    let attempts = 0;
    let lastAnswer: { status: number; body: string } | undefined;
    let lastFailure: HttpFailure | undefined;
    /** since when /ready has blamed only the query path (query-frontend without queriers) */
    let queryPathNotReadySince: number | undefined;
    const queryPathGraceMs = Math.min(QUERY_PATH_GRACE_MS, (options.deadlineSeconds * 1000) / 4);
    for (;;) {
      attempts += 1;
      progress.update(`waiting for Tempo ${readyUrl} (attempt ${attempts}${lastAnswer ? `, last HTTP ${lastAnswer.status}` : lastFailure ? `, ${lastFailure.code ?? lastFailure.kind}` : ''})`);
      try {
        const res = await client.request(readyUrl, { timeoutMs: requestTimeout(), headers: tenantHeaders });
        if (res.status === 200) break;
        lastAnswer = { status: res.status, body: res.body.trim().slice(0, 200) };
        if (QUERY_PATH_NOT_READY.test(lastAnswer.body)) {
          queryPathNotReadySince ??= now();
          if (now() - queryPathNotReadySince >= queryPathGraceMs) {
            // Only the read path is down (its querier cannot reach the query-frontend over the
            // internal gRPC port): the write path can still be measured, so go on and say so.
            queryPathNotReady = lastAnswer.body;
            result.notes.push(`/ready still answers HTTP ${lastAnswer.status} "${lastAnswer.body}" after ${(queryPathGraceMs / 1000).toFixed(1)}s; checking ingestion anyway`);
            break;
          }
        } else {
          queryPathNotReadySince = undefined;
        }
      } catch (err) {
        if (!(err instanceof HttpFailure)) throw err;
        if (isTlsFailure(err)) throw tlsAbort(err, 'Tempo /ready', TEMPO_TLS_KEYS, CLIENT_AUTH_KEYS.tempo);
        lastFailure = err;
      }
      if (remaining() <= 0) {
        const waited = ((now() - startedAt) / 1000).toFixed(1);
        if (lastAnswer) {
          throw new Abort(
            'TEMPO_NOT_READY',
            EXIT_CODES.UNREACHABLE,
            `Tempo ${readyUrl} never became ready within ${waited}s (${attempts} attempts; last answer HTTP ${lastAnswer.status}${lastAnswer.body ? ` "${lastAnswer.body}"` : ''})`,
            ['tempo ingester.lifecycler.min_ready_duration (15s by default)', "Tempo's log (a module failing to start)", 'verifier --deadline-seconds'],
            { attempts, lastStatus: lastAnswer.status },
          );
        }
        throw new Abort(
          'TEMPO_UNREACHABLE',
          EXIT_CODES.UNREACHABLE,
          `cannot reach Tempo at ${readyUrl} within ${waited}s (${attempts} attempts): ${lastFailure?.message ?? 'no answer'}`,
          TEMPO_HTTP_KEYS,
          { attempts, ...(lastFailure?.code ? { code: lastFailure.code } : {}) },
        );
      }
      await pause(backoff);
      backoff = Math.min(backoff * 2, options.backoffMaxMs);
    }
    if (!queryPathNotReady) result.timings.readyAfterMs = now() - startedAt;

    // 2. counters before ----------------------------------------------------------------------
    result.stage = 'metrics';
    progress.update(`reading Tempo ${metricsUrl}`);
    let before: TempoCounters;
    let generatorBefore: GeneratorCounters;
    try {
      ({ counters: before, generator: generatorBefore, ingesters: ingestersBefore } = await firstReading());
    } catch (err) {
      if (err instanceof HttpFailure) {
        throw new Abort('TEMPO_UNREACHABLE', EXIT_CODES.UNREACHABLE, `Tempo was ready but ${metricsUrl} failed: ${err.message}`, TEMPO_HTTP_KEYS);
      }
      throw err;
    }
    if (before.tempoVersion) result.tempoVersion = before.tempoVersion;
    const collectorBefore = await readCollector();
    if (result.collector && collectorBefore) result.collector.before = collectorBefore;

    // 3. traffic --------------------------------------------------------------------------------
    const probeCollector = async (): Promise<ProbeResult | undefined> => {
      if (!options.collectorOtlpUrl) return undefined;
      progress.update(`TLS handshake with the collector at ${options.collectorOtlpUrl}`);
      const probe = await probeTlsEndpoint(options.collectorOtlpUrl, options.caPem, Math.max(1, Math.min(5000, requestTimeout())), options.clientCertificate);
      (result.collectorEndpoint ??= []).push(probe);
      return probe;
    };
    const probeBefore = await probeCollector();

    // Span metrics and the edge must rise because of this traffic, not be left over from a run before.
    let prometheusBaseline: PrometheusBaseline | undefined;
    if (options.serviceGraphEdge && options.prometheusUrl) {
      progress.update(`reading span metrics and the service graph in Prometheus ${options.prometheusUrl} before the traffic`);
      prometheusBaseline = await readPrometheusBaseline(client, options.prometheusUrl, options.serviceGraphEdge, Math.max(1, Math.min(5000, requestTimeout())));
    }

    result.stage = 'traffic';
    const trafficStart = now();
    if (options.appUrl) {
      const appUrl = options.appUrl;
      progress.update(`sending ${options.traces} requests to ${appUrl}/api/work`);
      try {
        const traffic = await driveApp(client, {
          appUrl,
          count: options.traces,
          depth: options.depth,
          // Failing requests (fail=1) give the span metrics and the service graph their error series.
          withFailures: options.serviceGraphEdge !== undefined,
          timeoutMs: requestTimeout,
          shouldStop: () => remaining() <= 0,
          onProgress: (done, total) => progress.update(`sent ${done}/${total} requests to ${appUrl}/api/work`),
        });
        result.traceIds = traffic.traceIds;
        result.traffic.requests = traffic.requests;
        result.traffic.statusCounts = traffic.statusCounts;
        result.traffic.problems = traffic.problems;
        if (options.serviceGraphEdge) result.traffic.failingRequests = traffic.failingRequests;
        if (traffic.failingNotFailed > 0) {
          result.notes.push(
            `${traffic.failingNotFailed} of ${traffic.failingRequests} requests with fail=1 were not answered with HTTP 5xx: the app ignores fail=1, so there are no error series`,
          );
        }
      } catch (err) {
        if (!(err instanceof HttpFailure)) throw err;
        if (isTlsFailure(err)) {
          throw tlsAbort(err, 'the app', ["the app's server certificate (must be signed by the stack CA, SANs localhost and 127.0.0.1)", 'verifier --app-url'], CLIENT_AUTH_KEYS.app);
        }
        throw new Abort('APP_UNREACHABLE', EXIT_CODES.UNREACHABLE, `cannot reach the app: ${err.message}`, ['verifier --app-url', "the app container's published port"]);
      }
      if (result.traceIds.length === 0) {
        throw new Abort(
          'APP_NO_TRACE_ID',
          EXIT_CODES.NOT_VERIFIED,
          `the app answered ${result.traffic.requests ?? 0} requests but none carried a trace id (x-trace-id or traceparent header): ${result.traffic.problems[0] ?? 'no answer before the deadline'}`,
          ['app: OpenTelemetry SDK started before the HTTP server, and the x-trace-id response header'],
          { requests: result.traffic.requests ?? 0 },
        );
      }
    } else if (options.otlpHttpUrl) {
      progress.update(`exporting ${options.traces} synthetic traces to ${options.otlpHttpUrl}`);
      // Loaded only here: the OpenTelemetry SDK costs about half a second of start-up.
      const { sendSyntheticTraces } = require('./syntheticSpans') as typeof import('./syntheticSpans');
      try {
        const synthetic = await sendSyntheticTraces({
          otlpHttpUrl: options.otlpHttpUrl,
          caPem: options.caPem,
          caDescription: client.caDescription,
          ...(options.clientCertificate ? { clientCertificate: options.clientCertificate } : {}),
          ...(client.clientCertDescription ? { clientCertDescription: client.clientCertDescription } : {}),
          count: options.traces,
          timeoutMs: requestTimeout(),
        });
        result.traceIds = synthetic.traceIds;
        result.traffic.url = synthetic.url;
        result.traffic.spansSent = synthetic.spansSent;
        if (synthetic.rejected) {
          otlpRejected = synthetic.rejected;
          result.traffic.problems.push(synthetic.rejected);
        }
      } catch (err) {
        if (err instanceof HttpFailure) {
          if (isTlsFailure(err)) {
            throw tlsAbort(
              err,
              'the OTLP endpoint',
              ['collector receivers.otlp.protocols.http.tls.cert_file (signed by the stack CA, SANs include the host)', 'verifier --otlp-http-url'],
              CLIENT_AUTH_KEYS.otlpHttp,
            );
          }
          throw new Abort('APP_UNREACHABLE', EXIT_CODES.UNREACHABLE, `cannot reach the OTLP endpoint: ${err.message}`, ['verifier --otlp-http-url', 'collector receivers.otlp.protocols.http.endpoint']);
        }
        throw err;
      }
    }
    result.traffic.tracesSent = result.traceIds.length;
    const trafficEnd = now();
    result.timings.trafficMs = trafficEnd - trafficStart;

    // 4. poll -------------------------------------------------------------------------------------
    result.stage = 'poll';
    const pending = [...result.traceIds];
    const foundIds = new Set<string>();
    let after: TempoCounters = before;
    let collectorAfter: CollectorCounters | undefined;
    let lastError: string | undefined;
    const looked = new Set<string>();
    // Lookups never eat the time of the last /metrics reading: a hanging query path (e.g. its
    // internal gRPC link broken) must not leave the verdict on a stale reading.
    const reserveMs = Math.min(2000, options.requestTimeoutMs);
    const lookupTimeout = (): number => Math.max(1, Math.min(options.requestTimeoutMs, remaining() - reserveMs));
    let lookupsPerPoll = 3;

    const lookupSome = async (limit: number): Promise<void> => {
      let done = 0;
      for (const id of [...pending]) {
        if (done >= limit || remaining() <= reserveMs) break;
        done += 1;
        looked.add(id);
        let outcome: LookupOutcome | undefined;
        try {
          outcome = await lookupTrace(client, options.tempoUrl, id, { timeoutMs: lookupTimeout, ...(options.tenant ? { tenant: options.tenant } : {}) });
        } catch (err) {
          if (isTlsFailure(err)) throw tlsAbort(err, 'Tempo trace API', TEMPO_TLS_KEYS, CLIENT_AUTH_KEYS.tempo);
          if (!(err instanceof HttpFailure)) throw err;
          if (err.kind === 'timeout') {
            lookupsPerPoll = 1; // the query path hangs: one id per poll from now on
            limit = Math.min(limit, done);
          }
          // A request cut short by the deadline says nothing about Tempo: keep the previous error.
          if (!(err.kind === 'timeout' && remaining() <= reserveMs)) lastError = err.message;
          outcome = undefined;
        }
        pending.splice(pending.indexOf(id), 1);
        if (outcome?.status === 'found') {
          foundIds.add(id);
          result.lookup.foundTraces.push({ traceId: id, api: outcome.api, spanCount: outcome.spanCount, services: outcome.services });
          continue;
        }
        if (outcome?.status === 'error') lastError = outcome.message;
        // not found (yet): to the back of the queue, so every id gets its turn
        pending.push(id);
      }
    };

    const evaluate = () =>
      diagnose({
        trafficKind,
        tracesSent: result.traceIds.length,
        minFraction: options.minFraction,
        ...(options.distributed ? { replication: { factor: options.distributed.replicationFactor, quorum: writeQuorum(options.distributed.replicationFactor) } } : {}),
        tempoBefore: before,
        tempoAfter: after,
        ...(collectorBefore && collectorAfter ? { collector: { before: collectorBefore, after: collectorAfter } } : {}),
        lookup: { looked: looked.size, found: foundIds.size, ...(lastError ? { lastError } : {}) },
        waitedSeconds: (now() - trafficEnd) / 1000,
      });

    let verdict = evaluate();
    let afterReadings = 0;
    for (;;) {
      await lookupSome(lookupsPerPoll);
      try {
        const reading = await readTempo();
        after = reading.counters;
        ingestersAfter = reading.ingesters ?? ingestersAfter;
        // One sum over replaced ingesters would take a restarted counter for a fall: sum each
        // ingester's own increase (a counter below its earlier value restarted from 0).
        if (ingestersBefore && ingestersAfter) after = withSummedIncrease(before, after, ingestersBefore, ingestersAfter);
        afterReadings += 1;
      } catch (err) {
        if (!(err instanceof HttpFailure) && !(err instanceof NothingScrapedYet)) throw err;
        result.notes.push(`a /metrics reading failed while polling: ${err.message}`);
      }
      if (collectorUrl) collectorAfter = (await readCollector()) ?? collectorAfter;
      verdict = evaluate();
      // A distributed Tempo: the sum can rise from other traffic (users' services, a roll's backlog)
      // before every ingester has swept the verification's traces, and Prometheus takes a refresh
      // to drop the targets of tasks a roll replaced. Keep polling while the per-ingester check
      // fails and there is time; its diagnosis stands only at the deadline.
      if (verdict.verified && options.distributed && ingestersBefore && ingestersAfter && remaining() > options.pollIntervalMs) {
        const pendingCheck = checkDistributed(ingestersBefore, ingestersAfter, options.distributed);
        if (pendingCheck.diagnoses.length > 0) {
          progress.update(`traces stored; waiting for every ingester's view to settle (${pendingCheck.diagnoses.map((d) => d.code).join(', ')})`);
          await pause(options.pollIntervalMs);
          continue;
        }
      }
      if (verdict.verified || remaining() <= 0) break;
      const rise = verdict.delta.tracesCreated;
      progress.update(
        `waiting for ${verdict.tracesCreated.metric} to rise by ${verdict.required} (now +${rise}); ` +
          `${foundIds.size} of ${looked.size} trace ids found so far`,
      );
      await pause(options.pollIntervalMs);
    }

    if (afterReadings === 0) {
      throw new Abort(
        'TEMPO_UNREACHABLE',
        EXIT_CODES.UNREACHABLE,
        `no reading of ${metricsUrl} succeeded after the traffic before the deadline (${options.deadlineSeconds}s)` +
          `${result.notes.length > 0 ? `: ${result.notes[result.notes.length - 1]}` : ''}; nothing can be concluded — raise --deadline-seconds`,
        [...TEMPO_HTTP_KEYS, 'verifier --deadline-seconds'],
      );
    }

    if (verdict.verified && pending.length > 0 && remaining() > 0) {
      progress.update(`verified; looking up the remaining ${pending.length} trace ids`);
      await lookupSome(pending.length);
    }

    // A distributed Tempo: the sum alone could hide an ingester out of the ring or never written to.
    if (options.distributed && ingestersBefore && ingestersAfter) {
      const checked = checkDistributed(ingestersBefore, ingestersAfter, options.distributed);
      result.distributed = checked.summary;
      verdict.warnings.push(...checked.warnings);
      if (checked.diagnoses.length > 0) {
        // Containers down and ingesters missing from the ring explain the counters: they come first.
        const causes = checked.diagnoses.filter((d) => ['TEMPO_CONTAINERS_DOWN', 'MEMBERLIST_INCOMPLETE', 'INGESTER_RING_INCOMPLETE'].includes(d.code));
        verdict.diagnoses.unshift(...causes);
        verdict.diagnoses.push(...checked.diagnoses.filter((d) => !causes.includes(d)));
        verdict.verified = false;
      }
    }

    // Engine swarm: a service short of tasks explains missing traces, and fails a stack that stored them.
    if (options.swarmServices) {
      progress.update(`checking that ${options.swarmServices.length} Swarm services run their desired tasks`);
      try {
        const checked = await checkSwarmTasks(options.swarmServices, deps.swarm ?? dockerSwarmReader(), { remainingMs: remaining, pause, pollIntervalMs: options.pollIntervalMs, now });
        result.swarm = checked.summary;
        if (checked.diagnosis) {
          verdict.diagnoses.unshift(checked.diagnosis);
          verdict.verified = false;
        }
      } catch (err) {
        verdict.diagnoses.unshift({
          code: 'SWARM_UNREACHABLE',
          message: `the swarm manager's Engine API did not answer (${(err as Error).message}); the services' tasks could not be checked.`,
          configKeys: ['DOCKER_HOST (a manager of the swarm), DOCKER_TLS_VERIFY and DOCKER_CERT_PATH for a remote one'],
          evidence: {},
        });
        verdict.verified = false;
      }
    }

    result.stage = 'done';
    result.tracesCreated = verdict.tracesCreated;
    result.counters = { before, after, delta: verdict.delta, required: verdict.required };
    if (after.tempoVersion) result.tempoVersion = after.tempoVersion;
    if (result.collector) {
      if (collectorAfter) result.collector.after = collectorAfter;
      if (verdict.collectorDelta) result.collector.delta = verdict.collectorDelta;
    }
    result.lookup = { looked: looked.size, found: foundIds.size, foundTraces: result.lookup.foundTraces, ...(lastError ? { lastError } : {}) };
    result.diagnoses = verdict.diagnoses;
    result.warnings = verdict.warnings;
    if (otlpRejected) {
      const rejection: Diagnosis = {
        code: 'OTLP_EXPORT_FAILED',
        message: `${otlpRejected}.`,
        configKeys: ['collector receivers.otlp.protocols.http.endpoint (0.0.0.0:4318) and its tls', 'verifier --otlp-http-url'],
        evidence: { url: result.traffic.url },
      };
      // First when nothing reached Tempo (the rejection is the cause), last when Tempo's counters explain it.
      if (verdict.verified) result.warnings.push(rejection);
      else if (verdict.delta.spansReceived === 0) result.diagnoses.unshift(rejection);
      else result.diagnoses.push(rejection);
    }
    if (queryPathNotReady) (verdict.verified ? result.warnings : result.diagnoses).push(queryPathDiagnosis(queryPathNotReady));
    // A collector that does not answer (or refuses TLS) explains everything after it: say it first.
    // Only with time left for a handshake: a probe cut to a millisecond by the deadline would blame
    // a healthy collector ("no TLS handshake within 1 ms") ahead of the real cause.
    const probeAfter = !verdict.verified && probeBefore?.status === 'answers' && remaining() >= MIN_PROBE_MS ? await probeCollector() : undefined;
    const endpointProblem = collectorEndpointDiagnosis(probeAfter ?? probeBefore, client.clientCertDescription);
    if (endpointProblem) (verdict.verified ? result.warnings : result.diagnoses).unshift(endpointProblem);
    result.outcome = verdict.verified ? 'verified' : 'not_verified';
    result.exitCode = verdict.verified ? EXIT_CODES.VERIFIED : EXIT_CODES.NOT_VERIFIED;
    if (verdict.verified) result.timings.tracesVerifiedAfterMs = now() - startedAt;

    // 6. span metrics and the service graph in Prometheus (only once the traces are verified) -------
    if (verdict.verified && options.serviceGraphEdge && options.prometheusUrl) {
      const edge = options.serviceGraphEdge;
      const prometheusUrl = options.prometheusUrl;
      result.stage = 'prometheus';
      const section: MetricsSection = {
        prometheusUrl,
        spanMetrics: { service: edge.client, calls: null, seenAfterMs: null },
        serviceGraphEdge: { client: edge.client, server: edge.server, requests: null, failed: null, seenAfterMs: null },
      };
      result.metrics = section;
      progress.update(`waiting for span metrics of ${edge.client} and the edge ${edge.client} -> ${edge.server} in Prometheus ${prometheusUrl}`);
      const polled = await pollPrometheus(prometheusUrl, edge, {
        client,
        now,
        pause,
        remaining,
        requestTimeoutMs: options.requestTimeoutMs,
        pollIntervalMs: options.prometheusPollIntervalMs ?? DEFAULTS.prometheusPollIntervalMs,
        trafficStart,
        ...(prometheusBaseline ? { baseline: prometheusBaseline } : {}),
        onProgress: (m) => progress.update(m),
      });
      section.spanMetrics.calls = polled.clientCalls ?? null;
      section.spanMetrics.seenAfterMs = polled.clientSeenAfterMs ?? null;
      section.serviceGraphEdge.requests = polled.edgeRequests ?? null;
      section.serviceGraphEdge.failed = polled.edgeFailed ?? null;
      section.serviceGraphEdge.seenAfterMs = polled.edgeSeenAfterMs ?? null;
      if (polled.lastError) section.lastError = polled.lastError;
      if (polled.fatal?.kind === 'client-certificate') {
        throw new Abort(
          'CLIENT_CERTIFICATE_REFUSED',
          EXIT_CODES.UNREACHABLE,
          `the traces are stored, but Prometheus at ${prometheusUrl} could not be queried: ${polled.fatal.message}`,
          [CLIENT_CERT_KEY, CLIENT_AUTH_KEYS.prometheus],
          { url: prometheusUrl, ...(polled.fatal.code ? { code: polled.fatal.code } : {}) },
        );
      }
      if (polled.fatal || !polled.answered) {
        const detail = polled.fatal?.message ?? polled.lastError ?? 'no answer before the deadline';
        throw new Abort(
          'PROMETHEUS_UNREACHABLE',
          EXIT_CODES.UNREACHABLE,
          polled.fatal?.kind === 'api'
            ? `the traces are stored, but ${prometheusUrl} is not a usable Prometheus query API: ${detail}`
            : `the traces are stored, but Prometheus at ${prometheusUrl} could not be queried${polled.fatal ? '' : ` within ${options.deadlineSeconds}s`}: ${detail}`,
          polled.fatal?.kind === 'tls'
            ? [
                "prometheus web config tls_server_config.cert_file (signed by the stack CA, the host name in its SANs)",
                'verifier --ca-file / VERIFY_CA_PEM (the stack CA)',
                'verifier --prometheus-url',
              ]
            : polled.fatal?.kind === 'api'
              ? ["verifier --prometheus-url (Prometheus' HTTP API, port 9090, without /api/v1)"]
              : [
                  'the prometheus container: is it running? (docker ps; docker logs <stack>-prometheus)',
                  'the Prometheus host port (stack setting hostPorts.prometheus) / verifier --prometheus-url',
                  'verifier --deadline-seconds',
                ],
          { url: prometheusUrl, ...(polled.fatal?.code ? { code: polled.fatal.code } : {}) },
        );
      }
      let generatorAfter: GeneratorCounters | undefined;
      try {
        generatorAfter = (await readTempo()).generator;
      } catch (err) {
        if (!(err instanceof HttpFailure) && !(err instanceof Abort)) throw err;
        result.notes.push(`the last reading of ${metricsUrl} (metrics-generator counters) failed: ${err.message}`);
      }
      const metricsVerdict = diagnoseMetrics({
        prometheusUrl,
        client: edge.client,
        server: edge.server,
        ...(polled.clientCalls !== undefined ? { clientCalls: polled.clientCalls } : {}),
        ...(polled.serverCalls !== undefined ? { serverCalls: polled.serverCalls } : {}),
        ...(polled.edgeRequests !== undefined ? { edgeRequests: polled.edgeRequests } : {}),
        ...(prometheusBaseline ? { baseline: prometheusBaseline } : {}),
        ...(polled.servicesWithSpanMetrics ? { servicesWithSpanMetrics: polled.servicesWithSpanMetrics } : {}),
        ...(polled.edges ? { edges: polled.edges } : {}),
        generatorBefore,
        ...(generatorAfter ? { generatorAfter } : {}),
        waitedSeconds: (polled.lastAnswerAfterMs ?? now() - trafficStart) / 1000,
      });
      if (generatorAfter && metricsVerdict.generatorDelta) {
        section.tempoGenerator = { before: generatorBefore, after: generatorAfter, delta: metricsVerdict.generatorDelta };
      }
      result.stage = 'done';
      if (!metricsVerdict.verified) {
        result.diagnoses = metricsVerdict.diagnoses;
        result.outcome = 'not_verified';
        result.exitCode = EXIT_CODES.NOT_VERIFIED;
      }
    }
  } catch (err) {
    if (!(err instanceof Abort)) throw err;
    result.diagnoses = [{ code: err.code, message: err.message, configKeys: err.configKeys, evidence: err.evidence }];
    result.exitCode = err.exitCode;
    result.outcome = err.exitCode === EXIT_CODES.NOT_VERIFIED ? 'not_verified' : 'unreachable';
  } finally {
    progress.clear();
    if (ownsClient) client.close();
    result.timings.elapsedMs = now() - startedAt;
  }
  return result;
}
