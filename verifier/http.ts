/**
 * HTTPS client that trusts exactly one CA (the stack's): node's https with `ca` set to the given
 * PEM, which replaces the default root store. Certificate and host name are always verified;
 * there is deliberately no way to turn verification off, and http:// URLs are refused.
 *
 * Failures are classified (unreachable / tls / timeout / http) so the caller can choose an exit code
 * and say which TLS check failed.
 */
import * as https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { X509Certificate } from 'node:crypto';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export type HttpFailureKind = 'unreachable' | 'tls' | 'timeout';

export class HttpFailure extends Error {
  constructor(
    readonly kind: HttpFailureKind,
    readonly url: string,
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'HttpFailure';
  }
}

export interface RequestOptions {
  timeoutMs: number;
  headers?: Record<string, string>;
  method?: 'GET' | 'POST';
  body?: string;
}

export interface HttpsClient {
  request(url: string, options: RequestOptions): Promise<HttpResponse>;
  /** Human description of the trusted CA, for messages ("CA CN=tracing-stack CA from --ca-file ca.pem"). */
  readonly caDescription: string;
  close(): void;
}

const MAX_BODY_BYTES = 32 * 1024 * 1024;

const UNTRUSTED_CHAIN_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
]);

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EPIPE',
  'EADDRNOTAVAIL',
]);

interface NodeTlsError extends Error {
  code?: string;
  reason?: string;
  host?: string;
  cert?: { subject?: Record<string, string>; subjectaltname?: string };
}

function isNodeError(err: unknown): err is NodeTlsError {
  return err instanceof Error;
}

/** Subject CN + SHA-256 fingerprint of the first certificate in a PEM bundle. */
export function describeCa(pem: string): string {
  try {
    const cert = new X509Certificate(pem);
    const cn = /CN=([^\n,]+)/.exec(cert.subject)?.[1] ?? cert.subject.replace(/\n/g, ', ');
    return `CA "${cn}" (SHA-256 ${cert.fingerprint256.slice(0, 23)}…)`;
  } catch {
    return 'the given CA';
  }
}

/** Turns a node request error into an HttpFailure with a message that says what to check. */
export function classifyError(err: unknown, url: string, caDescription: string): HttpFailure {
  if (err instanceof HttpFailure) return err;
  if (!isNodeError(err)) return new HttpFailure('unreachable', url, `request to ${url} failed: ${String(err)}`);
  const code = err.code ?? '';
  const host = (() => {
    try {
      return new URL(url).host;
    } catch {
      return url;
    }
  })();
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const sans = err.cert?.subjectaltname ?? 'none';
    return new HttpFailure(
      'tls',
      url,
      `TLS verification failed for ${url}: wrong name — the certificate is signed by the trusted CA but does not name "${err.host ?? host}" (its SANs: ${sans})`,
      code,
    );
  }
  if (UNTRUSTED_CHAIN_CODES.has(code)) {
    return new HttpFailure(
      'tls',
      url,
      `TLS verification failed for ${url}: certificate from another CA — the server's certificate is not signed by ${caDescription} (${code})`,
      code,
    );
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return new HttpFailure('tls', url, `TLS verification failed for ${url}: the server's certificate is ${code === 'CERT_HAS_EXPIRED' ? 'expired' : 'not yet valid'} (${code})`, code);
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || /wrong version number|packet length too long/i.test(err.message)) {
    return new HttpFailure('tls', url, `TLS handshake with ${host} failed: the server does not speak TLS on this port (plain HTTP?) (${code || 'EPROTO'})`, code);
  }
  if (code.startsWith('ERR_SSL_') || code === 'EPROTO' || code.startsWith('ERR_TLS_')) {
    return new HttpFailure('tls', url, `TLS handshake with ${host} failed: ${err.message} (${code})`, code);
  }
  if (code === 'ETIMEDOUT' || code === 'ABORT_ERR' || err.name === 'AbortError') {
    return new HttpFailure('timeout', url, `no answer from ${url} in time (timeout)`, code || 'ETIMEDOUT');
  }
  if (UNREACHABLE_CODES.has(code)) {
    return new HttpFailure('unreachable', url, `cannot reach ${host}: ${code === 'ECONNREFUSED' ? 'connection refused' : code === 'ENOTFOUND' ? 'host not found' : err.message} (${code})`, code);
  }
  return new HttpFailure('unreachable', url, `request to ${url} failed: ${err.message}${code ? ` (${code})` : ''}`, code || undefined);
}

export function createHttpsClient(caPem: string, caSource: string): HttpsClient {
  const caDescription = `${describeCa(caPem)} from ${caSource}`;
  // One agent per client: `ca` replaces node's default roots, so only the stack CA is trusted.
  const agent = new https.Agent({ ca: caPem, keepAlive: false, maxSockets: 8 });

  function request(url: string, options: RequestOptions): Promise<HttpResponse> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return Promise.reject(new HttpFailure('unreachable', url, `not a URL: ${url}`));
    }
    if (parsed.protocol !== 'https:') {
      return Promise.reject(new HttpFailure('tls', url, `refusing ${parsed.protocol}// URL ${url}: TLS is mandatory, use https://`));
    }
    const timeoutMs = Math.max(1, Math.floor(options.timeoutMs));
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(classifyError(err, url, caDescription));
      };
      const headers: Record<string, string> = { ...(options.headers ?? {}) };
      if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
      const req = https.request(parsed, { method: options.method ?? 'GET', agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            req.destroy(new Error(`response from ${url} is larger than ${MAX_BODY_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      const timer = setTimeout(() => {
        const err: NodeTlsError = new Error(`timeout after ${timeoutMs} ms`);
        err.code = 'ETIMEDOUT';
        req.destroy(err);
      }, timeoutMs);
      req.on('error', fail);
      if (options.body !== undefined) req.write(options.body);
      req.end();
    });
  }

  return {
    request,
    caDescription,
    close: () => agent.destroy(),
  };
}
