/**
 * argv + environment (+ stack defaults) -> validated VerifyOptions. Pure: no file or network access
 * (the CLI reads the CA file, the client certificate and key files and the stack defaults and passes
 * their contents in).
 *
 * Precedence: command-line flag > VERIFY_* environment variable > --stack defaults > built-in default.
 * TLS is mandatory: http:// URLs are rejected and there is no option to skip verification.
 */
import { parseArgs } from 'node:util';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { parseSwarmServices } from './swarmTasks';

export interface VerifyOptions {
  /** Tempo's HTTP API, https:// (e.g. https://127.0.0.1:32000) */
  tempoUrl: string;
  /** PEM of the CA that signed Tempo's (and the app's / collector's) certificates; the only CA trusted */
  caPem: string;
  /** where caPem came from, for messages: "--ca-file ./ca.pem", "VERIFY_CA_PEM", "pulumi stack output caCertificate" */
  caSource: string;
  /**
   * Presented on every TLS connection: under mutual TLS (the stack's default) every endpoint refuses
   * clients without a certificate the stack CA signed. Absent: no client certificate is presented.
   */
  clientCertificate?: ClientCertificate;
  /** the instrumented app: GET <appUrl>/api/work?depth=N answers with x-trace-id */
  appUrl?: string;
  /** OTLP/HTTP endpoint (collector) to send synthetic spans to when there is no app URL */
  otlpHttpUrl?: string;
  /** collector's own Prometheus metrics (https), optional */
  collectorMetricsUrl?: string;
  /** the collector's published OTLP gRPC endpoint (https://host:port): probed with a TLS handshake, optional */
  collectorOtlpUrl?: string;
  /** Prometheus' HTTP API (https), where Tempo's metrics-generator remote-writes; required by serviceGraphEdge */
  prometheusUrl?: string;
  /**
   * The service-graph edge the app traffic must create (the app calling its backend): after the
   * traces are verified, span metrics for `client` and this edge must show up in Prometheus.
   * Also makes every 5th app request a failing one (`fail=1`), so error series exist.
   */
  serviceGraphEdge?: ServiceGraphEdge;
  /** pause between Prometheus queries while waiting for the span metrics and the edge (default 2000; not a flag) */
  prometheusPollIntervalMs?: number;
  /**
   * Tempo in microservices mode: its counters are spread over its containers, which publish no
   * port, so they are read from Prometheus (which scrapes every one) through /federate. Every
   * ingester must be ACTIVE in the ring, at least a write quorum (floor(rf/2)+1) of them must count
   * traces, and their sum must rise by quorum x traces x minFraction: a push succeeds once a quorum
   * of its ingesters took it, and the distributor cancels the rest (grafana/tempo#5342).
   */
  distributed?: { ingesters: number; replicationFactor: number };
  /**
   * Engine swarm: the stack's services and the tasks each must run, read from the manager's
   * Engine API (DOCKER_HOST); the run fails while one is short of them.
   */
  swarmServices?: Array<{ name: string; tasks: number }>;
  /** traces to send */
  traces: number;
  /** fraction of the traces sent that the traces-created counter must rise by (0 < f <= 1) */
  minFraction: number;
  /** the whole run (ready wait, traffic, polling) ends by this many seconds */
  deadlineSeconds: number;
  /** depth parameter of the app's /api/work (spans per trace grow with it) */
  depth: number;
  /** X-Scope-OrgID for a multi-tenant Tempo */
  tenant?: string;
  /** print exactly one JSON document on stdout instead of the human summary */
  json: boolean;
  /** progress lines on stderr even when stderr is not a terminal */
  progress: boolean;
  /**
   * Output for a post-deploy step (`pulumi up`): verified -> the JSON report on stdout and one
   * summary line on stderr; not verified -> nothing on stdout and the diagnosis first on stderr.
   */
  postDeploy: boolean;
  /** Pulumi stack the defaults came from */
  stack?: string;
  /** pause between /metrics polls */
  pollIntervalMs: number;
  /** first and largest pause between /ready attempts (exponential backoff) */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** upper bound for one HTTP request (also bounded by the deadline) */
  requestTimeoutMs: number;
}

export interface ServiceGraphEdge {
  client: string;
  server: string;
}

/**
 * The verifier's client certificate and its key. The key is a secret: it goes into TLS contexts only,
 * never into a message, the report or any other output (the sources name files and variables only).
 */
export interface ClientCertificate {
  /** the certificate (and any intermediates after it): CERTIFICATE blocks only */
  certPem: string;
  /** its unencrypted private key: the one PRIVATE KEY block */
  keyPem: string;
  /** where certPem came from: "--client-cert-file ./verifier.crt", "VERIFY_CLIENT_CERT_PEM", "pulumi stack output clientCertificate --stack dev" */
  certSource: string;
  /** where keyPem came from, the same way (a file name or a variable name, never the key) */
  keySource: string;
}

/** The settings that give the verifier its client certificate, as error messages and diagnoses name them. */
export const CLIENT_CERT_SETTINGS = '--client-cert-file/--client-key-file (VERIFY_CLIENT_CERT_*/VERIFY_CLIENT_KEY_*, pulumi stack output clientCertificate/clientPrivateKey)';

export const DEFAULTS = {
  traces: 10,
  minFraction: 1.0,
  deadlineSeconds: 120,
  depth: 2,
  pollIntervalMs: 1000,
  backoffInitialMs: 250,
  backoffMaxMs: 5000,
  requestTimeoutMs: 10000,
  prometheusPollIntervalMs: 2000,
} as const;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Flags as given on the command line, before environment and defaults. */
export interface CliArgs {
  tempoUrl?: string;
  caFile?: string;
  clientCertFile?: string;
  clientKeyFile?: string;
  appUrl?: string;
  otlpHttpUrl?: string;
  collectorMetricsUrl?: string;
  collectorOtlpUrl?: string;
  prometheusUrl?: string;
  serviceGraphEdge?: string;
  ingesters?: string;
  replicationFactor?: string;
  swarmServices?: string;
  traces?: string;
  minFraction?: string;
  deadlineSeconds?: string;
  depth?: string;
  tenant?: string;
  json: boolean;
  progress: boolean;
  postDeploy: boolean;
  stack?: string;
  pollIntervalMs?: string;
  backoffInitialMs?: string;
  backoffMaxMs?: string;
  requestTimeoutMs?: string;
  help: boolean;
}

export const USAGE = `Usage: tracing-stack-verify [options]
       npm run verify -- [options]

Proves that traces sent through the stack are stored by Tempo: waits for Tempo's /ready, reads its
ingestion counters, drives traffic through the app (or sends synthetic OTLP spans), then polls until
the traces-created counter has risen and at least one of the exact trace ids is fetched back.

With no flags, the Pulumi stack selected in the project is verified (after \`pulumi up\`).

Options (environment fallback in brackets):
  --stack NAME                  take the URLs and settings from the stack model of Pulumi.NAME.yaml,
                                the CA from \`pulumi stack output caCertificate\` and, when the stack
                                requires mutual TLS, the client certificate and key from the outputs
                                clientCertificate and clientPrivateKey
  --tempo-url URL               Tempo HTTP API, https:// only          [VERIFY_TEMPO_URL]
  --ca-file PATH                CA certificate (PEM) to trust; the only one trusted
                                                                        [VERIFY_CA_FILE, or VERIFY_CA_PEM = the PEM itself]
  --client-cert-file PATH       client certificate (PEM) presented on every connection, for a stack
                                that requires mutual TLS (tls.mutual, the default): signed by the stack
                                CA, for client authentication; with --client-key-file, both or neither
                                                                        [VERIFY_CLIENT_CERT_FILE, or VERIFY_CLIENT_CERT_PEM]
  --client-key-file PATH        its private key (PEM, unencrypted); never printed
                                                                        [VERIFY_CLIENT_KEY_FILE, or VERIFY_CLIENT_KEY_PEM]
  --app-url URL                 instrumented app, https://              [VERIFY_APP_URL]
  --otlp-http-url URL           OTLP/HTTP endpoint for synthetic spans when there is no app
                                                                        [VERIFY_OTLP_HTTP_URL]
  --collector-metrics-url URL   collector's Prometheus metrics, https:// (optional)
                                                                        [VERIFY_COLLECTOR_METRICS_URL]
  --collector-otlp-url URL      the collector's published OTLP gRPC endpoint, https:// (optional): a TLS
                                handshake there tells "not answering" from "TLS refused" from "no spans"
                                                                        [VERIFY_COLLECTOR_OTLP_URL]
  --prometheus-url URL          Prometheus HTTP API, https:// only, where Tempo's metrics-generator
                                remote-writes; goes with --service-graph-edge
                                                                        [VERIFY_PROMETHEUS_URL]
  --service-graph-edge CLIENT,SERVER
                                after the traces are stored, wait for span metrics of CLIENT and the
                                service-graph edge CLIENT -> SERVER in Prometheus; every 5th app request
                                then asks the app to fail (fail=1)      [VERIFY_SERVICE_GRAPH_EDGE]
  --ingesters N                 Tempo runs in microservices mode with N ingesters: its counters are read
                                from Prometheus (--prometheus-url, /federate), every ingester must be
                                ACTIVE in the ring and a write quorum of them count traces
                                                                        [VERIFY_INGESTERS]
  --replication-factor N        with --ingesters: the ring's replication_factor; a write succeeds on a
                                quorum of floor(N/2)+1 ingesters, so their summed counter must rise by
                                quorum x traces x min-fraction (default 1)    [VERIFY_REPLICATION_FACTOR]
  --swarm-services NAME=N,...   the stack runs on Docker Swarm: each service must have N running tasks,
                                read from the manager at DOCKER_HOST (TLS: DOCKER_TLS_VERIFY and
                                DOCKER_CERT_PATH, as the docker CLI)    [VERIFY_SWARM_SERVICES]
  --traces N                    traces to send (default ${DEFAULTS.traces})              [VERIFY_TRACES]
  --min-fraction F              fraction of them the counter must rise by, 0 < F <= 1 (default ${DEFAULTS.minFraction})
                                                                        [VERIFY_MIN_FRACTION]
  --deadline-seconds S          give up after S seconds (default ${DEFAULTS.deadlineSeconds})  [VERIFY_DEADLINE_SECONDS]
  --depth N                     depth parameter of the app's /api/work (default ${DEFAULTS.depth})
  --tenant ID                   X-Scope-OrgID for a multi-tenant Tempo  [VERIFY_TENANT]
  --json                        print one JSON document on stdout
  --progress                    progress on stderr even when it is not a terminal
  --post-deploy                 for a deployment's last step: when verified, the JSON report on stdout
                                and one summary line on stderr; when not, nothing on stdout and the
                                diagnosis first on stderr (what \`pulumi up\` shows in its error)
  --poll-interval-ms MS         pause between /metrics polls (default ${DEFAULTS.pollIntervalMs})
  --backoff-initial-ms MS       first pause between /ready attempts (default ${DEFAULTS.backoffInitialMs})
  --backoff-max-ms MS           largest pause between /ready attempts (default ${DEFAULTS.backoffMaxMs})
  --request-timeout-ms MS       timeout of one HTTP request (default ${DEFAULTS.requestTimeoutMs})
  -h, --help                    this text

TLS is always verified against the given CA; there is no option to skip it.

Exit codes: 0 verified, 1 not verified (with a diagnosis), 2 could not reach Tempo/app/Prometheus, TLS
failure (a server refusing the client certificate included), Tempo never ready or /metrics not
Prometheus, 64 usage error.
`;

/** Parses argv (without node and script). Throws UsageError on unknown flags or stray arguments. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        'tempo-url': { type: 'string' },
        'ca-file': { type: 'string' },
        'client-cert-file': { type: 'string' },
        'client-key-file': { type: 'string' },
        'app-url': { type: 'string' },
        'otlp-http-url': { type: 'string' },
        'collector-metrics-url': { type: 'string' },
        'collector-otlp-url': { type: 'string' },
        'prometheus-url': { type: 'string' },
        'service-graph-edge': { type: 'string' },
        ingesters: { type: 'string' },
        'replication-factor': { type: 'string' },
        'swarm-services': { type: 'string' },
        traces: { type: 'string' },
        'min-fraction': { type: 'string' },
        'deadline-seconds': { type: 'string' },
        depth: { type: 'string' },
        tenant: { type: 'string' },
        json: { type: 'boolean', default: false },
        progress: { type: 'boolean', default: false },
        'post-deploy': { type: 'boolean', default: false },
        stack: { type: 'string' },
        'poll-interval-ms': { type: 'string' },
        'backoff-initial-ms': { type: 'string' },
        'backoff-max-ms': { type: 'string' },
        'request-timeout-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new UsageError(/insecure|skip|verify/i.test(message) ? `${message}. TLS verification cannot be turned off.` : message);
  }
  const v = parsed.values;
  const args: CliArgs = { json: v.json === true, progress: v.progress === true, postDeploy: v['post-deploy'] === true, help: v.help === true };
  const set = <K extends keyof CliArgs>(key: K, value: CliArgs[K] | undefined): void => {
    if (value !== undefined) args[key] = value;
  };
  set('tempoUrl', v['tempo-url']);
  set('caFile', v['ca-file']);
  set('clientCertFile', v['client-cert-file']);
  set('clientKeyFile', v['client-key-file']);
  set('appUrl', v['app-url']);
  set('otlpHttpUrl', v['otlp-http-url']);
  set('collectorMetricsUrl', v['collector-metrics-url']);
  set('collectorOtlpUrl', v['collector-otlp-url']);
  set('prometheusUrl', v['prometheus-url']);
  set('serviceGraphEdge', v['service-graph-edge']);
  set('ingesters', v.ingesters);
  set('replicationFactor', v['replication-factor']);
  set('swarmServices', v['swarm-services']);
  set('traces', v.traces);
  set('minFraction', v['min-fraction']);
  set('deadlineSeconds', v['deadline-seconds']);
  set('depth', v.depth);
  set('tenant', v.tenant);
  set('stack', v.stack);
  set('pollIntervalMs', v['poll-interval-ms']);
  set('backoffInitialMs', v['backoff-initial-ms']);
  set('backoffMaxMs', v['backoff-max-ms']);
  set('requestTimeoutMs', v['request-timeout-ms']);
  return args;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Where a PEM (the CA, the client certificate or key) comes from, before reading it: the CLI reads a file, or uses a PEM directly. */
export type PemInput = { kind: 'file'; path: string; source: string } | { kind: 'pem'; pem: string; source: string } | { kind: 'none' };

export type CaInput = PemInput;

/** A PEM that was read, with where it came from. */
export interface ReadPem {
  pem: string;
  source: string;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value.trim() : undefined;
}

/** Decides which CA input wins (flag > env > stack defaults), without reading anything. */
export function selectCaInput(args: CliArgs, env: Env, stackDefaults: Partial<VerifyOptions>): CaInput {
  const flagFile = nonEmpty(args.caFile);
  if (flagFile) return { kind: 'file', path: flagFile, source: `--ca-file ${flagFile}` };
  const envPem = nonEmpty(env['VERIFY_CA_PEM']);
  if (envPem) return { kind: 'pem', pem: envPem, source: 'VERIFY_CA_PEM' };
  const envFile = nonEmpty(env['VERIFY_CA_FILE']);
  if (envFile) return { kind: 'file', path: envFile, source: `VERIFY_CA_FILE ${envFile}` };
  if (stackDefaults.caPem) return { kind: 'pem', pem: stackDefaults.caPem, source: stackDefaults.caSource ?? `stack ${args.stack ?? ''}`.trim() };
  return { kind: 'none' };
}

/**
 * A *_FILE setting holding the PEM itself (e.g. VERIFY_CLIENT_KEY_FILE="$(cat key.pem)"): refused
 * before anything tries to open it, since "cannot read <value>" would print the key.
 */
function refusePemAsPath(value: string, setting: string, pemSetting: string): void {
  if (/-----BEGIN |\n/.test(value)) {
    throw new UsageError(`${setting} holds a PEM, not a file name: pass the file's path, or the PEM itself in ${pemSetting} (the value is not shown)`);
  }
}

/**
 * Decides where the client certificate and key come from, the way selectCaInput does for the CA and
 * for each of them on its own: flag > VERIFY_*_PEM > VERIFY_*_FILE. The stack's pair is used only
 * when neither is given, so a certificate is never paired with a key from somewhere else; one
 * without the other is refused by resolveOptions.
 */
export function selectClientCertificateInput(args: CliArgs, env: Env, stackDefaults: Partial<VerifyOptions>): { cert: PemInput; key: PemInput } {
  const select = (flagValue: string | undefined, flag: string, prefix: 'VERIFY_CLIENT_CERT' | 'VERIFY_CLIENT_KEY'): PemInput => {
    const flagFile = nonEmpty(flagValue);
    if (flagFile) {
      refusePemAsPath(flagFile, flag, `${prefix}_PEM`);
      return { kind: 'file', path: flagFile, source: `${flag} ${flagFile}` };
    }
    const envPem = nonEmpty(env[`${prefix}_PEM`]);
    if (envPem) return { kind: 'pem', pem: envPem, source: `${prefix}_PEM` };
    const envFile = nonEmpty(env[`${prefix}_FILE`]);
    if (envFile) {
      refusePemAsPath(envFile, `${prefix}_FILE`, `${prefix}_PEM`);
      return { kind: 'file', path: envFile, source: `${prefix}_FILE ${envFile}` };
    }
    return { kind: 'none' };
  };
  const cert = select(args.clientCertFile, '--client-cert-file', 'VERIFY_CLIENT_CERT');
  const key = select(args.clientKeyFile, '--client-key-file', 'VERIFY_CLIENT_KEY');
  const sd = stackDefaults.clientCertificate;
  if (cert.kind === 'none' && key.kind === 'none' && sd) {
    return { cert: { kind: 'pem', pem: sd.certPem, source: sd.certSource }, key: { kind: 'pem', pem: sd.keyPem, source: sd.keySource } };
  }
  return { cert, key };
}

/** id-kp-clientAuth and anyExtendedKeyUsage: a certificate whose extended key usage lists neither cannot authenticate a client. */
const CLIENT_AUTH_EKUS = ['1.3.6.1.5.5.7.3.2', '2.5.29.37.0'];
const EKU_NAMES: Record<string, string> = { '1.3.6.1.5.5.7.3.1': 'serverAuth', '1.3.6.1.5.5.7.3.2': 'clientAuth', '1.3.6.1.5.5.7.3.3': 'codeSigning', '1.3.6.1.5.5.7.3.4': 'emailProtection' };

/**
 * The client certificate: its CERTIFICATE blocks only (a combined cert+key file must not carry the
 * key into a field that is treated as public), parseable, and usable for client authentication —
 * Go servers (Tempo, the collector, Prometheus) refuse one whose extended key usage lacks clientAuth.
 */
export function validateClientCertPem(pem: string, source: string): string {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  if (!blocks) {
    const swapped = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(pem) ? ': it holds a private key — are the client certificate and key settings swapped?' : ' (no "-----BEGIN CERTIFICATE-----")';
    throw new UsageError(`the client certificate from ${source} is not a PEM certificate${swapped}`);
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(blocks[0] as string);
  } catch (err) {
    throw new UsageError(`the client certificate from ${source} cannot be parsed as an X.509 certificate: ${err instanceof Error ? err.message : String(err)}`);
  }
  const ekus = cert.keyUsage;
  if (ekus !== undefined && !ekus.some((oid) => CLIENT_AUTH_EKUS.includes(oid))) {
    throw new UsageError(
      `the client certificate from ${source} (${cert.subject.replace(/\n/g, ', ')}) is not for client authentication: its extended key usage is ${ekus.map((oid) => EKU_NAMES[oid] ?? oid).join(', ')}, without clientAuth; servers refuse it`,
    );
  }
  return `${blocks.join('\n')}\n`;
}

/**
 * The client key: the one PRIVATE KEY block, unencrypted and parseable. Messages never quote it, and
 * never the parser's message either (only its error code): nothing of the key can reach an output.
 */
export function validateClientKeyPem(pem: string, source: string): string {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(pem)) {
    throw new UsageError(`the client key from ${source} is encrypted; the verifier needs it unencrypted (e.g. \`openssl pkey -in KEY -out KEY.plain\`)`);
  }
  const block = /-----BEGIN ([A-Z0-9]+ )?PRIVATE KEY-----[\s\S]*?-----END \1?PRIVATE KEY-----/.exec(pem)?.[0];
  if (!block) {
    const swapped = pem.includes('-----BEGIN CERTIFICATE-----') ? ': it holds a certificate — are the client certificate and key settings swapped?' : ' (no "-----BEGIN ... PRIVATE KEY-----")';
    throw new UsageError(`the client key from ${source} is not a PEM private key${swapped}`);
  }
  try {
    createPrivateKey(block);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`the client key from ${source} cannot be parsed as a private key${code ? ` (${code})` : ''}`);
  }
  return `${block}\n`;
}

/**
 * Both or neither; when both, each valid and the key the certificate's. Undefined: no client
 * certificate. `read` holds what selectClientCertificateInput chose, already read by the caller.
 */
export function resolveClientCertificate(read: { cert?: ReadPem; key?: ReadPem } | undefined): ClientCertificate | undefined {
  const cert = read?.cert;
  const key = read?.key;
  if (!cert && !key) return undefined;
  if (!cert || !key) {
    const given = cert ? `a client certificate (${cert.source}) without its key` : `a client key (${key?.source ?? ''}) without its certificate`;
    throw new UsageError(
      `${given}: mutual TLS needs both — pass --client-cert-file PATH and --client-key-file PATH ` +
        '(or VERIFY_CLIENT_CERT_FILE / VERIFY_CLIENT_CERT_PEM and VERIFY_CLIENT_KEY_FILE / VERIFY_CLIENT_KEY_PEM), or neither',
    );
  }
  const certPem = validateClientCertPem(cert.pem, cert.source);
  const keyPem = validateClientKeyPem(key.pem, key.source);
  const certificate = new X509Certificate(certPem);
  if (!certificate.checkPrivateKey(createPrivateKey(keyPem))) {
    throw new UsageError(`the client key from ${key.source} does not belong to the client certificate from ${cert.source} (${certificate.subject.replace(/\n/g, ', ')}): give the key it was issued for`);
  }
  return { certPem, keyPem, certSource: cert.source, keySource: key.source };
}

export function validateCaPem(pem: string, source: string): string {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UsageError(`the CA from ${source} is not a PEM certificate (no "-----BEGIN CERTIFICATE-----")`);
  }
  try {
    new X509Certificate(pem);
  } catch (err) {
    throw new UsageError(`the CA from ${source} cannot be parsed as an X.509 certificate: ${err instanceof Error ? err.message : String(err)}`);
  }
  return pem;
}

export function validateHttpsUrl(value: string, flag: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag}: "${value}" is not a URL`);
  }
  if (url.protocol === 'http:') {
    throw new UsageError(`${flag}: ${value} uses http://; TLS is mandatory in this stack, use https:// (there is no option to skip TLS)`);
  }
  if (url.protocol !== 'https:') {
    throw new UsageError(`${flag}: ${value} must be an https:// URL`);
  }
  if (url.search || url.hash) throw new UsageError(`${flag}: ${value} must not carry a query or fragment`);
  return url.toString().replace(/\/+$/, '');
}

/**
 * "CLIENT,SERVER" -> the edge. Two service names, trimmed, non-empty and different; a service name
 * may contain anything but a comma and control characters (it is escaped for PromQL when queried).
 */
export function parseServiceGraphEdge(raw: string, flag = '--service-graph-edge'): ServiceGraphEdge {
  const parts = raw.split(',').map((p) => p.trim());
  const example = 'e.g. tracing-stack-app,tracing-stack-app-backend';
  if (parts.length !== 2) {
    throw new UsageError(`${flag}: "${raw}" must be two service names separated by one comma, CLIENT,SERVER (${example})`);
  }
  const [client, server] = parts as [string, string];
  if (client === '' || server === '') {
    throw new UsageError(`${flag}: "${raw}" has an empty ${client === '' ? 'client' : 'server'} service name; expected CLIENT,SERVER (${example})`);
  }
  if (/[\u0000-\u001f\u007f]/.test(client + server)) {
    throw new UsageError(`${flag}: "${JSON.stringify(raw).slice(1, -1)}" contains a control character; expected two service names CLIENT,SERVER`);
  }
  if (client === server) {
    throw new UsageError(`${flag}: client and server are both "${client}"; an edge needs two different services (${example})`);
  }
  return { client, server };
}

function parseNumber(raw: string, flag: string, opts: { integer: boolean; min: number; max: number; minExclusive?: boolean }): number {
  const n = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(n) || (opts.integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag}: "${raw}" is not ${opts.integer ? 'an integer' : 'a number'}`);
  }
  if ((opts.minExclusive ? n <= opts.min : n < opts.min) || n > opts.max) {
    throw new UsageError(`${flag}: ${raw} is out of range (${opts.minExclusive ? '>' : '>='} ${opts.min} and <= ${opts.max})`);
  }
  return n;
}

export interface ResolveInput {
  args: CliArgs;
  env: Env;
  /** from stackDefaults() when --stack was given, else {} */
  stackDefaults: Partial<VerifyOptions>;
  /** the CA PEM, already read by the caller according to selectCaInput() */
  ca?: ReadPem;
  /** the client certificate and key, each already read by the caller according to selectClientCertificateInput() (absent: not given) */
  clientCertificate?: { cert?: ReadPem; key?: ReadPem };
}

/** Merges flag > env > stack defaults > built-in defaults and validates everything. */
export function resolveOptions(input: ResolveInput): VerifyOptions {
  const { args, env, stackDefaults: sd } = input;
  const pick = (flag: string | undefined, envName: string, fallback: string | undefined): string | undefined =>
    nonEmpty(flag) ?? nonEmpty(env[envName]) ?? nonEmpty(fallback);

  const tempoRaw = pick(args.tempoUrl, 'VERIFY_TEMPO_URL', sd.tempoUrl);
  if (!tempoRaw) {
    throw new UsageError('no Tempo URL: pass --tempo-url https://HOST:PORT (or VERIFY_TEMPO_URL, or --stack NAME after `pulumi up`; no Pulumi stack is selected here)');
  }
  const tempoUrl = validateHttpsUrl(tempoRaw, '--tempo-url');

  if (!input.ca) {
    throw new UsageError('no CA: pass --ca-file PATH (or VERIFY_CA_PEM with the PEM itself, or --stack NAME); TLS is always verified against it');
  }
  const caPem = validateCaPem(input.ca.pem, input.ca.source);
  const clientCertificate = resolveClientCertificate(input.clientCertificate);

  const appRaw = pick(args.appUrl, 'VERIFY_APP_URL', sd.appUrl);
  const otlpRaw = pick(args.otlpHttpUrl, 'VERIFY_OTLP_HTTP_URL', sd.otlpHttpUrl);
  if (!appRaw && !otlpRaw) {
    throw new UsageError('no traffic source: pass --app-url https://APP (traces through the app) or --otlp-http-url https://COLLECTOR:4318 (synthetic spans)');
  }
  const collectorRaw = pick(args.collectorMetricsUrl, 'VERIFY_COLLECTOR_METRICS_URL', sd.collectorMetricsUrl);
  const collectorOtlpRaw = pick(args.collectorOtlpUrl, 'VERIFY_COLLECTOR_OTLP_URL', sd.collectorOtlpUrl);
  const prometheusRaw = pick(args.prometheusUrl, 'VERIFY_PROMETHEUS_URL', sd.prometheusUrl);
  const edgeFlag = nonEmpty(args.serviceGraphEdge);
  const edgeEnv = nonEmpty(env['VERIFY_SERVICE_GRAPH_EDGE']);
  const edgeRaw = edgeFlag ?? edgeEnv;

  const num = (flag: string | undefined, envName: string, fallback: number | undefined, name: string, spec: Parameters<typeof parseNumber>[2]): number => {
    const raw = nonEmpty(flag) ?? nonEmpty(env[envName]);
    return raw !== undefined ? parseNumber(raw, name, spec) : (fallback as number);
  };

  const options: VerifyOptions = {
    tempoUrl,
    caPem,
    caSource: input.ca.source,
    ...(clientCertificate ? { clientCertificate } : {}),
    traces: num(args.traces, 'VERIFY_TRACES', sd.traces ?? DEFAULTS.traces, '--traces', { integer: true, min: 1, max: 10000 }),
    minFraction: num(args.minFraction, 'VERIFY_MIN_FRACTION', sd.minFraction ?? DEFAULTS.minFraction, '--min-fraction', { integer: false, min: 0, max: 1, minExclusive: true }),
    deadlineSeconds: num(args.deadlineSeconds, 'VERIFY_DEADLINE_SECONDS', sd.deadlineSeconds ?? DEFAULTS.deadlineSeconds, '--deadline-seconds', { integer: false, min: 0, max: 3600, minExclusive: true }),
    depth: num(args.depth, 'VERIFY_DEPTH', sd.depth ?? DEFAULTS.depth, '--depth', { integer: true, min: 0, max: 20 }),
    json: args.json || args.postDeploy,
    progress: args.progress,
    postDeploy: args.postDeploy,
    pollIntervalMs: num(args.pollIntervalMs, 'VERIFY_POLL_INTERVAL_MS', DEFAULTS.pollIntervalMs, '--poll-interval-ms', { integer: true, min: 10, max: 60000 }),
    backoffInitialMs: num(args.backoffInitialMs, 'VERIFY_BACKOFF_INITIAL_MS', DEFAULTS.backoffInitialMs, '--backoff-initial-ms', { integer: true, min: 10, max: 60000 }),
    backoffMaxMs: num(args.backoffMaxMs, 'VERIFY_BACKOFF_MAX_MS', DEFAULTS.backoffMaxMs, '--backoff-max-ms', { integer: true, min: 10, max: 300000 }),
    requestTimeoutMs: num(args.requestTimeoutMs, 'VERIFY_REQUEST_TIMEOUT_MS', DEFAULTS.requestTimeoutMs, '--request-timeout-ms', { integer: true, min: 50, max: 300000 }),
  };
  if (options.backoffMaxMs < options.backoffInitialMs) {
    throw new UsageError('--backoff-max-ms must be >= --backoff-initial-ms');
  }
  // The app wins when both are known (e.g. both in the stack defaults): it tests the whole path.
  if (appRaw) options.appUrl = validateHttpsUrl(appRaw, '--app-url');
  else if (otlpRaw) options.otlpHttpUrl = validateHttpsUrl(otlpRaw, '--otlp-http-url');
  if (collectorRaw) options.collectorMetricsUrl = validateHttpsUrl(collectorRaw, '--collector-metrics-url');
  if (collectorOtlpRaw) options.collectorOtlpUrl = validateHttpsUrl(collectorOtlpRaw, '--collector-otlp-url');
  const edge = edgeRaw !== undefined ? parseServiceGraphEdge(edgeRaw, edgeFlag !== undefined ? '--service-graph-edge' : 'VERIFY_SERVICE_GRAPH_EDGE') : sd.serviceGraphEdge;
  if (prometheusRaw) options.prometheusUrl = validateHttpsUrl(prometheusRaw, '--prometheus-url');
  const ingestersRaw = nonEmpty(args.ingesters) ?? nonEmpty(env['VERIFY_INGESTERS']);
  const replicationRaw = nonEmpty(args.replicationFactor) ?? nonEmpty(env['VERIFY_REPLICATION_FACTOR']);
  if (ingestersRaw !== undefined) {
    const ingesters = parseNumber(ingestersRaw, '--ingesters', { integer: true, min: 1, max: 100 });
    const replicationFactor = replicationRaw !== undefined ? parseNumber(replicationRaw, '--replication-factor', { integer: true, min: 1, max: 100 }) : 1;
    if (replicationFactor > ingesters) throw new UsageError(`--replication-factor ${replicationFactor} is more than --ingesters ${ingesters}: no ring could hold that many copies`);
    if (!options.prometheusUrl) {
      throw new UsageError("--ingesters needs --prometheus-url https://HOST:PORT (or VERIFY_PROMETHEUS_URL): a distributed Tempo's counters are read from the Prometheus that scrapes its containers");
    }
    options.distributed = { ingesters, replicationFactor };
  } else if (replicationRaw !== undefined) {
    throw new UsageError('--replication-factor goes with --ingesters N (Tempo in microservices mode)');
  } else if (sd.distributed && options.prometheusUrl) {
    // --stack of a microservices stack: its ingesters and replication factor come from the model.
    options.distributed = sd.distributed;
  }
  if (edge) {
    if (!options.prometheusUrl) {
      throw new UsageError(
        `--service-graph-edge ${edge.client},${edge.server} needs --prometheus-url https://HOST:PORT (or VERIFY_PROMETHEUS_URL): the span metrics and the edge are read from Prometheus`,
      );
    }
    if (!options.appUrl) {
      throw new UsageError(
        `--service-graph-edge needs the app (--app-url / VERIFY_APP_URL): synthetic OTLP spans come from one service only and never create the edge ${edge.client} -> ${edge.server}`,
      );
    }
    options.serviceGraphEdge = edge;
  } else if (options.prometheusUrl && !options.distributed) {
    throw new UsageError(
      '--prometheus-url needs --service-graph-edge CLIENT,SERVER (or VERIFY_SERVICE_GRAPH_EDGE): the services whose span metrics and edge are checked in Prometheus',
    );
  }
  const swarmRaw = nonEmpty(args.swarmServices) ?? nonEmpty(env['VERIFY_SWARM_SERVICES']);
  if (swarmRaw !== undefined) {
    const parsed = parseSwarmServices(swarmRaw);
    if (typeof parsed === 'string') throw new UsageError(`--swarm-services: ${parsed}`);
    options.swarmServices = parsed;
  }
  const tenant = pick(args.tenant, 'VERIFY_TENANT', sd.tenant);
  if (tenant) options.tenant = tenant;
  if (args.stack) options.stack = args.stack;
  return options;
}
