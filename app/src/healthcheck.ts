/**
 * Docker HEALTHCHECK probe: `node dist/healthcheck.js` exits 0 when GET /monitoring/health answers
 * 200, 1 otherwise. A Node script instead of curl keeps the runtime image free of extra tools and
 * lets the probe verify the service's HTTPS certificate rather than skipping verification.
 *
 * It reads the container's own settings: PORT, HOST, TLS_CERT_FILE (HTTPS when set) and, as the
 * CA to trust, TLS_CA_FILE or else OTEL_EXPORTER_OTLP_CERTIFICATE. The server certificate must
 * carry the SAN "localhost", the name this probe verifies.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { DEFAULT_PORT, parsePort, type Env } from './config';

const TIMEOUT_MS = 4_000;
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

export interface ProbeTarget {
  url: string;
  ca?: Buffer;
}

export function probeTarget(env: Env): ProbeTarget {
  const problems: string[] = [];
  const portSetting = env.PORT?.trim() ? { variable: 'PORT', value: env.PORT.trim() } : undefined;
  const port = parsePort(portSetting, problems) || DEFAULT_PORT;
  if (problems.length > 0) throw new Error(problems.join('; '));
  const host = env.HOST?.trim();
  // A wildcard listener is reached on loopback; IPv4 because Node 18 does not fall back from ::1.
  const address = !host || WILDCARD_HOSTS.has(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

  if (!env.TLS_CERT_FILE?.trim()) return { url: `http://${address}:${port}/monitoring/health` };
  const caFile = env.TLS_CA_FILE?.trim() || env.OTEL_EXPORTER_OTLP_CERTIFICATE?.trim();
  if (!caFile) throw new Error('TLS_CERT_FILE is set, so the probe uses HTTPS: set TLS_CA_FILE to the CA that signed it');
  return { url: `https://${address}:${port}/monitoring/health`, ca: readFileSync(caFile) };
}

export function probe(target: ProbeTarget): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(target.url);
    const options = { method: 'GET', timeout: TIMEOUT_MS };
    const req =
      url.protocol === 'https:'
        ? // servername makes the certificate check use "localhost" even though we dial an IP address.
          https.request(url, { ...options, ca: target.ca, servername: 'localhost' })
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
