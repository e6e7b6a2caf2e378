/**
 * Turns the environment into the service's settings, refusing any setting that would make it
 * export spans or call its downstream service without verified TLS, or drop spans silently. No
 * I/O here, so every rule is unit-tested; the files it names are read and checked by tls-material.ts.
 */

export type Env = Readonly<Record<string, string | undefined>>;

/** Every message names the variable to fix, because that is what an operator searches for. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** A value together with the variable it came from, so later errors can name that variable. */
export interface Setting {
  variable: string;
  value: string;
}

/** TLS_CLIENT_AUTH: whether the HTTPS server demands a client certificate (mutual TLS). */
export const CLIENT_AUTH_MODES = ['require', 'none'] as const;

export type ClientAuthMode = (typeof CLIENT_AUTH_MODES)[number];

export interface ServerTlsFiles {
  cert: Setting;
  key: Setting;
  /** TLS_CA_FILE, present exactly when TLS_CLIENT_AUTH=require: every client must present a certificate it signed. */
  clientCa?: Setting;
}

export interface ServerConfig {
  host: string;
  port: number;
  /** Serve HTTPS with these files; absent means plain HTTP (local development only). */
  tls?: ServerTlsFiles;
}

/** The CA that verifies a server, and an optional client certificate and key for mTLS (both or neither). */
export interface ClientTlsFiles {
  ca: Setting;
  clientCert?: Setting;
  clientKey?: Setting;
}

export type CollectorTlsFiles = ClientTlsFiles;

export interface ExporterConfig {
  endpoint: Setting;
  /** Absent only when OTEL_EXPORTER_OTLP_INSECURE=true explicitly allowed a plain-text endpoint. */
  tls?: CollectorTlsFiles;
}

/** Another instance of this service that the deepest work level calls (DOWNSTREAM_URL). */
export interface DownstreamConfig {
  /** As given, so messages quote what the operator wrote. */
  url: Setting;
  /** https://host[:port], the base every request is built on. */
  origin: string;
  tls: ClientTlsFiles;
}

export const SAMPLER_NAMES = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

export type SamplerName = (typeof SAMPLER_NAMES)[number];

export interface SamplerConfig {
  name: SamplerName;
  /** Only used by the *traceidratio samplers. */
  ratio: number;
}

export interface BatchConfig {
  scheduledDelayMillis?: number;
  exportTimeoutMillis?: number;
  maxQueueSize?: number;
  maxExportBatchSize?: number;
}

export interface AppConfig {
  serviceName: string;
  server: ServerConfig;
  exporter: ExporterConfig;
  /** Absent means the SDK default, parentbased_always_on. */
  sampler?: SamplerConfig;
  batch: BatchConfig;
  /** Absent means no downstream call: /api/work does all its work in this service. */
  downstream?: DownstreamConfig;
}

export const DEFAULT_SERVICE_NAME = 'tracing-stack-app';
export const DEFAULT_HOST = '0.0.0.0';
export const DEFAULT_PORT = 3010;
/** The OTLP specification's default gRPC endpoint; plain text, so it is refused unless insecure is allowed. */
export const DEFAULT_OTLP_GRPC_ENDPOINT = 'http://localhost:4317';

/** Blank counts as unset, as the OpenTelemetry specification requires. */
function read(env: Env, variable: string): Setting | undefined {
  const value = env[variable]?.trim();
  return value ? { variable, value } : undefined;
}

/** The traces-specific variable wins over the generic one, as in every OpenTelemetry SDK. */
function readOtlp(env: Env, suffix: string): Setting | undefined {
  return read(env, `OTEL_EXPORTER_OTLP_TRACES_${suffix}`) ?? read(env, `OTEL_EXPORTER_OTLP_${suffix}`);
}

export function parsePort(setting: Setting | undefined, problems: string[]): number {
  if (!setting) return DEFAULT_PORT;
  const port = /^\d+$/.test(setting.value) ? Number(setting.value) : NaN;
  if (!Number.isInteger(port) || port > 65535) {
    problems.push(`${setting.variable}="${setting.value}" is not a TCP port (0-65535)`);
    return DEFAULT_PORT;
  }
  return port;
}

function isClientAuthMode(value: string): value is ClientAuthMode {
  return (CLIENT_AUTH_MODES as readonly string[]).includes(value);
}

/**
 * Unset means "none", as before the setting existed. Exported because the healthcheck must agree
 * with the server on whether to present a client certificate.
 */
export function parseClientAuth(setting: Setting | undefined, problems: string[]): ClientAuthMode {
  if (!setting) return 'none';
  const value = setting.value.toLowerCase();
  if (isClientAuthMode(value)) return value;
  problems.push(
    `${setting.variable}="${setting.value}" is not supported; use "require" (HTTPS clients must present a certificate signed by TLS_CA_FILE) or "none" (the default)`,
  );
  return 'none';
}

function parseServer(env: Env, problems: string[]): ServerConfig {
  const host = read(env, 'HOST')?.value ?? DEFAULT_HOST;
  const port = parsePort(read(env, 'PORT'), problems);
  const cert = read(env, 'TLS_CERT_FILE');
  const key = read(env, 'TLS_KEY_FILE');
  const clientAuth = parseClientAuth(read(env, 'TLS_CLIENT_AUTH'), problems);
  const clientCa = read(env, 'TLS_CA_FILE');
  if (cert && !key) problems.push('TLS_KEY_FILE is not set but TLS_CERT_FILE is: HTTPS needs both the certificate and its private key');
  if (key && !cert) problems.push('TLS_CERT_FILE is not set but TLS_KEY_FILE is: HTTPS needs both the certificate and its private key');
  if (clientAuth === 'require') {
    // With only one half of the pair set, the message above already says what to add.
    if (!cert && !key) {
      problems.push(
        `TLS_CLIENT_AUTH=require needs HTTPS, but TLS_CERT_FILE and TLS_KEY_FILE are not set: set them to the service's certificate and key, or set TLS_CLIENT_AUTH=none`,
      );
    }
    if (!clientCa) {
      problems.push(
        `TLS_CA_FILE is not set but TLS_CLIENT_AUTH=require: set TLS_CA_FILE to the CA file (PEM) that signs the clients' certificates, or set TLS_CLIENT_AUTH=none`,
      );
    }
  }
  if (!cert || !key) return { host, port };
  // Outside "require", TLS_CA_FILE is left to the healthcheck (the CA it verifies this server with).
  return { host, port, tls: clientAuth === 'require' && clientCa ? { cert, key, clientCa } : { cert, key } };
}

function parseBoolean(setting: Setting | undefined, problems: string[]): boolean {
  if (!setting) return false;
  const value = setting.value.toLowerCase();
  if (value === 'true') return true;
  if (value !== 'false') problems.push(`${setting.variable}="${setting.value}" must be "true" or "false"`);
  return false;
}

function parseExporter(env: Env, problems: string[]): ExporterConfig {
  const protocol = readOtlp(env, 'PROTOCOL');
  if (protocol && protocol.value !== 'grpc') {
    problems.push(`${protocol.variable}="${protocol.value}" is not supported: this service exports spans with OTLP over gRPC only ("grpc")`);
  }
  const insecure = parseBoolean(readOtlp(env, 'INSECURE'), problems);
  const given = readOtlp(env, 'ENDPOINT');
  const endpoint = given ?? { variable: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: DEFAULT_OTLP_GRPC_ENDPOINT };

  let url: URL;
  try {
    url = new URL(endpoint.value);
  } catch {
    problems.push(`${endpoint.variable}="${endpoint.value}" is not a URL: use https://<collector-host>:4317`);
    return { endpoint };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    problems.push(`${endpoint.variable}="${endpoint.value}" must start with https:// (the scheme decides whether TLS is used)`);
    return { endpoint };
  }
  if (url.pathname !== '/' && url.pathname !== '') {
    problems.push(`${endpoint.variable}="${endpoint.value}" has a path: an OTLP/gRPC endpoint is scheme://host:port only (/v1/traces is for OTLP/HTTP)`);
  }
  if (url.protocol === 'http:') {
    if (!insecure) {
      const what = given ? `is "${endpoint.value}", a plain-text endpoint` : `is not set and the OTLP default ${DEFAULT_OTLP_GRPC_ENDPOINT} is plain text`;
      problems.push(
        `${endpoint.variable} ${what}: use an https:// endpoint and set OTEL_EXPORTER_OTLP_CERTIFICATE to the CA file that signed the collector's certificate ` +
          '(or set OTEL_EXPORTER_OTLP_INSECURE=true to send spans unencrypted on purpose)',
      );
    }
    return { endpoint };
  }

  const ca = readOtlp(env, 'CERTIFICATE');
  const clientCert = readOtlp(env, 'CLIENT_CERTIFICATE');
  const clientKey = readOtlp(env, 'CLIENT_KEY');
  if (!ca) {
    problems.push(
      `OTEL_EXPORTER_OTLP_CERTIFICATE is not set: ${endpoint.variable} is https://, so the CA file (PEM) that signed the collector's certificate is required to verify it`,
    );
  }
  if (clientCert && !clientKey) {
    problems.push('OTEL_EXPORTER_OTLP_CLIENT_KEY is not set but OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE is: mTLS needs both');
  }
  if (clientKey && !clientCert) {
    problems.push('OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE is not set but OTEL_EXPORTER_OTLP_CLIENT_KEY is: mTLS needs both');
  }
  if (!ca) return { endpoint };
  return clientCert && clientKey ? { endpoint, tls: { ca, clientCert, clientKey } } : { endpoint, tls: { ca } };
}

/** Every request leaves with TLS, so only https://host[:port] is accepted; the service appends /api/work itself. */
function parseDownstreamUrl(setting: Setting, problems: string[]): string | undefined {
  const example = 'https://<host>:<port>, e.g. https://app-backend:3010';
  let url: URL;
  try {
    url = new URL(setting.value);
  } catch {
    problems.push(`${setting.variable}="${setting.value}" is not a URL: use ${example}`);
    return undefined;
  }
  let valid = true;
  if (url.protocol === 'http:') {
    problems.push(
      `${setting.variable}="${setting.value}" is plain HTTP: the stack uses TLS everywhere, so use ${example}, with DOWNSTREAM_CA_FILE naming the CA that signed its certificate`,
    );
    valid = false;
  } else if (url.protocol !== 'https:') {
    // "host:port" parses as scheme "host:" and path "port"; only the scheme is worth reporting.
    problems.push(`${setting.variable}="${setting.value}" must start with https:// (${example})`);
    return undefined;
  }
  if (url.pathname !== '/' && url.pathname !== '') {
    problems.push(`${setting.variable}="${setting.value}" has a path (${url.pathname}): give the base URL only, ${example}; the service appends /api/work itself`);
    valid = false;
  }
  if (url.search || url.hash || url.username || url.password) {
    problems.push(`${setting.variable}="${setting.value}" has a query, fragment or user info: give the base URL only, ${example}`);
    valid = false;
  }
  return valid ? url.origin : undefined;
}

function parseDownstream(env: Env, problems: string[]): DownstreamConfig | undefined {
  const url = read(env, 'DOWNSTREAM_URL');
  const ca = read(env, 'DOWNSTREAM_CA_FILE');
  const clientCert = read(env, 'DOWNSTREAM_CLIENT_CERTIFICATE');
  const clientKey = read(env, 'DOWNSTREAM_CLIENT_KEY');
  if (!url) {
    // A leftover DOWNSTREAM_* setting most likely means DOWNSTREAM_URL was forgotten, and the
    // missing call would only show as a missing edge in the service graph.
    for (const orphan of [ca, clientCert, clientKey]) {
      if (orphan) {
        problems.push(
          `${orphan.variable} is set but DOWNSTREAM_URL is not: set DOWNSTREAM_URL to the https:// base URL of the service to call (e.g. https://app-backend:3010), or unset ${orphan.variable}`,
        );
      }
    }
    return undefined;
  }
  const origin = parseDownstreamUrl(url, problems);
  if (!ca) {
    problems.push(
      `DOWNSTREAM_CA_FILE is not set: DOWNSTREAM_URL is https://, so the CA file (PEM) that signed the downstream service's certificate is required to verify it`,
    );
  }
  if (clientCert && !clientKey) problems.push('DOWNSTREAM_CLIENT_KEY is not set but DOWNSTREAM_CLIENT_CERTIFICATE is: mTLS needs both');
  if (clientKey && !clientCert) problems.push('DOWNSTREAM_CLIENT_CERTIFICATE is not set but DOWNSTREAM_CLIENT_KEY is: mTLS needs both');
  if (!origin || !ca) return undefined;
  return { url, origin, tls: clientCert && clientKey ? { ca, clientCert, clientKey } : { ca } };
}

function isSamplerName(value: string): value is SamplerName {
  return (SAMPLER_NAMES as readonly string[]).includes(value);
}

function parseSampler(env: Env, problems: string[]): SamplerConfig | undefined {
  const sampler = read(env, 'OTEL_TRACES_SAMPLER');
  if (!sampler) return undefined;
  if (!isSamplerName(sampler.value)) {
    problems.push(`${sampler.variable}="${sampler.value}" is not supported; use one of: ${SAMPLER_NAMES.join(', ')}`);
    return undefined;
  }
  const arg = read(env, 'OTEL_TRACES_SAMPLER_ARG');
  if (!sampler.value.endsWith('traceidratio') || !arg) return { name: sampler.value, ratio: 1 };
  const ratio = Number(arg.value);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    problems.push(`${arg.variable}="${arg.value}" must be a number between 0 and 1 for ${sampler.value}`);
    return undefined;
  }
  return { name: sampler.value, ratio };
}

function parseCount(env: Env, variable: string, min: number, problems: string[]): number | undefined {
  const setting = read(env, variable);
  if (!setting) return undefined;
  const value = /^\d+$/.test(setting.value) ? Number(setting.value) : NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    problems.push(`${variable}="${setting.value}" must be a whole number >= ${min}`);
    return undefined;
  }
  return value;
}

function parseBatch(env: Env, problems: string[]): BatchConfig {
  // Unset values stay undefined so the SDK's own defaults apply.
  return {
    scheduledDelayMillis: parseCount(env, 'OTEL_BSP_SCHEDULE_DELAY', 0, problems),
    exportTimeoutMillis: parseCount(env, 'OTEL_BSP_EXPORT_TIMEOUT', 1, problems),
    maxQueueSize: parseCount(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 1, problems),
    maxExportBatchSize: parseCount(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 1, problems),
  };
}

/**
 * OTEL_RESOURCE_ATTRIBUTES is applied by the SDK's env detector, which skips malformed input
 * without a word; checking it here turns a typo into a start-up error instead of missing attributes.
 */
function parseResourceAttributes(env: Env, problems: string[]): Record<string, string> {
  const setting = read(env, 'OTEL_RESOURCE_ATTRIBUTES');
  const attributes: Record<string, string> = {};
  if (!setting) return attributes;
  for (const pair of setting.value.split(',')) {
    if (!pair.trim()) continue;
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq).trim() : '';
    if (!key) {
      problems.push(`${setting.variable} entry "${pair.trim()}" is not key=value (expected e.g. service.version=1.2.3,deployment.environment=prod)`);
      continue;
    }
    try {
      attributes[key] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      problems.push(`${setting.variable} entry "${pair.trim()}" has a value that is not valid percent-encoding`);
    }
  }
  return attributes;
}

/** Parses and validates everything at once so one start attempt reports every problem. */
export function parseConfig(env: Env): AppConfig {
  const problems: string[] = [];
  const resourceAttributes = parseResourceAttributes(env, problems);
  const config: AppConfig = {
    // Precedence from the specification: OTEL_SERVICE_NAME, then service.name in OTEL_RESOURCE_ATTRIBUTES.
    serviceName: read(env, 'OTEL_SERVICE_NAME')?.value ?? resourceAttributes['service.name'] ?? DEFAULT_SERVICE_NAME,
    server: parseServer(env, problems),
    exporter: parseExporter(env, problems),
    sampler: parseSampler(env, problems),
    batch: parseBatch(env, problems),
    downstream: parseDownstream(env, problems),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
