/**
 * Docker HEALTHCHECK probe: `node dist/healthcheck.js` exits 0 when GET /monitoring/health answers
 * 200, 1 otherwise. A Node script instead of curl keeps the runtime image free of extra tools and
 * lets the probe verify the service's HTTPS certificate rather than skipping verification.
 *
 * It reads the container's own settings: PORT, HOST, TLS_CERT_FILE (HTTPS when set) and, as the
 * CA to trust, TLS_CA_FILE or else OTEL_EXPORTER_OTLP_CERTIFICATE. The server certificate must
 * carry the SAN "localhost", the name this probe verifies. With TLS_CLIENT_AUTH=require the server
 * refuses clients without a certificate, so the probe then presents the service's own certificate
 * and key (TLS_CERT_FILE, TLS_KEY_FILE), which must therefore allow client authentication.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { DEFAULT_PORT, parseClientAuth, parsePort, type Env, type Setting } from './config';

const TIMEOUT_MS = 4_000;
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

export interface ProbeTarget {
  url: string;
  ca?: Buffer;
  /** The client certificate and key, presented only when the server requires one. */
  cert?: Buffer;
  key?: Buffer;
}

function setting(env: Env, variable: string): Setting | undefined {
  const value = env[variable]?.trim();
  return value ? { variable, value } : undefined;
}

export function probeTarget(env: Env): ProbeTarget {
  const problems: string[] = [];
  const port = parsePort(setting(env, 'PORT'), problems) || DEFAULT_PORT;
  const clientAuth = parseClientAuth(setting(env, 'TLS_CLIENT_AUTH'), problems);
  if (problems.length > 0) throw new Error(problems.join('; '));
  const host = env.HOST?.trim();
  // A wildcard listener is reached on loopback; IPv4 because Node 18 does not fall back from ::1.
  const address = !host || WILDCARD_HOSTS.has(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

  const certFile = env.TLS_CERT_FILE?.trim();
  if (!certFile) {
    // The server refuses to start like this; say why rather than probe a plain-HTTP port.
    if (clientAuth === 'require') throw new Error('TLS_CLIENT_AUTH=require needs HTTPS: set TLS_CERT_FILE and TLS_KEY_FILE');
    return { url: `http://${address}:${port}/monitoring/health` };
  }
  const caFile = env.TLS_CA_FILE?.trim() || env.OTEL_EXPORTER_OTLP_CERTIFICATE?.trim();
  if (!caFile) throw new Error('TLS_CERT_FILE is set, so the probe uses HTTPS: set TLS_CA_FILE to the CA that signed it');
  const target: ProbeTarget = { url: `https://${address}:${port}/monitoring/health`, ca: readFileSync(caFile) };
  if (clientAuth === 'none') return target;
  const keyFile = env.TLS_KEY_FILE?.trim();
  if (!keyFile) throw new Error('TLS_CLIENT_AUTH=require, so the probe presents the service certificate: set TLS_KEY_FILE to its key');
  return { ...target, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

export function probe(target: ProbeTarget): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(target.url);
    const options = { method: 'GET', timeout: TIMEOUT_MS };
    const req =
      url.protocol === 'https:'
        ? // servername makes the certificate check use "localhost" even though we dial an IP address.
          https.request(url, { ...options, ca: target.ca, cert: target.cert, key: target.key, servername: 'localhost' })
        : http.request(url, options);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

if (require.main === module) {
  Promise.resolve()
    .then(() => probe(probeTarget(process.env)))
    .then((status) => {
      if (status === 200) process.exit(0);
      process.stderr.write(`healthcheck: /monitoring/health answered ${status}\n`);
      process.exit(1);
    })
    .catch((error: unknown) => {
      process.stderr.write(`healthcheck: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
}
