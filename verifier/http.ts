/**
 * HTTPS client that trusts exactly one CA (the stack's): node's https with `ca` set to the given
 * PEM, which replaces the default root store. Certificate and host name are always verified;
 * there is deliberately no way to turn verification off, and http:// URLs are refused. Under mutual
 * TLS it presents the verifier's client certificate on every connection.
 *
 * Failures are classified (unreachable / tls / client-certificate / timeout / http) so the caller can
 * choose an exit code and say which TLS check failed, and on which side.
 */
import * as https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { X509Certificate } from 'node:crypto';
import { CLIENT_CERT_SETTINGS, type ClientCertificate } from './options';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** 'client-certificate': the server refused the verifier's client certificate, or refused it for having none (mutual TLS). */
export type HttpFailureKind = 'unreachable' | 'tls' | 'client-certificate' | 'timeout';

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
  /** Human description of the client certificate presented (never its key); undefined when none is. */
  readonly clientCertDescription?: string;
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

/** The CN of a distinguished name as node prints it, else the whole name on one line. */
export function commonName(dn: string): string {
  return /CN=([^\n,]+)/.exec(dn)?.[1] ?? dn.replace(/\n/g, ', ');
}

/**
 * 'client certificate "verifier" issued by "stack-ca" from --client-cert-file v.crt', and what is
 * visibly wrong with it: not signed by the trusted CA (the stack's servers trust that one CA for
 * clients too), or expired. Describes the certificate only: the key is never looked at here.
 */
export function describeClientCertificate(certificate: ClientCertificate, caPem: string): string {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificate.certPem);
  } catch {
    return `the client certificate from ${certificate.certSource}`;
  }
  let signedByCa = true;
  try {
    const ca = new X509Certificate(caPem);
    signedByCa = cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    // an unreadable CA was refused when the options were resolved; say nothing about it here
  }
  const expired = Date.parse(cert.validTo) < Date.now();
  return (
    `client certificate "${commonName(cert.subject)}" issued by "${commonName(cert.issuer)}" from ${certificate.certSource}` +
    (signedByCa ? '' : `, not signed by the trusted ${describeCa(caPem)}`) +
    (expired ? `, expired ${cert.validTo}` : '')
  );
}

/**
 * TLS alerts a server sends about the client's certificate, by node's error code. The verifier is
 * always the client, so these are always about its own certificate (a server certificate it does not
 * trust gives UNABLE_TO_VERIFY_LEAF_SIGNATURE & co., decided on this side, not an alert).
 */
const CLIENT_CERT_ALERT_CODES: Record<string, string> = {
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'certificate required',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'bad certificate',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'unknown ca',
  ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE: 'unsupported certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED: 'certificate revoked',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'certificate expired',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'certificate unknown',
  ERR_SSL_TLSV1_ALERT_ACCESS_DENIED: 'access denied',
};
/** Over TLS 1.2 node's https reports the same alerts as EPROTO, with the alert only in OpenSSL's message. */
const CLIENT_CERT_ALERT_TEXT = /\balert (certificate required|bad certificate|unknown ca|unsupported certificate|certificate revoked|certificate expired|certificate unknown|access denied)\b/i;

/**
 * The alert a server refused the verifier's client certificate with ("certificate required",
 * "unknown ca", ...), or undefined when the error is about something else. A TLS 1.2 server asks a
 * client without a certificate to go with the generic "handshake failure": counted only when none
 * was presented (with one, that alert means something else, e.g. no common cipher).
 */
export function clientCertificateAlert(code: string, message: string, presented: boolean): string | undefined {
  const known = CLIENT_CERT_ALERT_CODES[code] ?? CLIENT_CERT_ALERT_TEXT.exec(message)?.[1]?.toLowerCase();
  if (known) return known;
  if (!presented && (code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' || /\balert handshake failure\b/i.test(message))) return 'handshake failure';
  return undefined;
}

/**
 * The message for a refused client certificate: which server, what it said (an alert, or hanging up
 * during the handshake as node's https does), what was presented, and the settings to fix it with.
 */
export function clientCertificateRefusal(host: string, how: { alert?: string; code: string; message?: string }, presented: string | undefined): string {
  const said = how.alert ? `alert "${how.alert}", ${how.code}` : `${how.code}${how.message ? `: ${how.message}` : ''}`;
  if (how.alert && !presented) {
    return `${host} refused the TLS handshake: it requires a client certificate (mutual TLS) and the verifier presented none (${said}); give the verifier a certificate and key signed by the stack CA with ${CLIENT_CERT_SETTINGS}`;
  }
  if (how.alert && presented) {
    return `${host} refused the verifier's ${presented} in the TLS handshake (${said}); it must be signed by the CA the server trusts for clients (the stack CA) and be for client authentication: check ${CLIENT_CERT_SETTINGS}`;
  }
  return (
    `${host} hung up during the TLS handshake, after presenting its certificate and before any answer (${said}), as a server requiring client certificates (mutual TLS) does with ` +
    (presented ? `one it does not accept: the verifier presented its ${presented}` : 'a client presenting none, and the verifier presented none') +
    `; check ${CLIENT_CERT_SETTINGS}`
  );
}

/** What a request knew about its connection when it failed. */
export interface ClassifyContext {
  /** the client certificate presented, described (describeClientCertificate); absent: none was presented */
  clientCertificate?: string;
  /** the server took part in the TLS key exchange on this connection and had not answered yet */
  serverHandshake?: boolean;
}

/** Turns a node request error into an HttpFailure with a message that says what to check. */
export function classifyError(err: unknown, url: string, caDescription: string, context: ClassifyContext = {}): HttpFailure {
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
  const alert = clientCertificateAlert(code, err.message, context.clientCertificate !== undefined);
  // A reset after the server took part in the key exchange is a TLS server hanging up on us, not a
  // port with nothing behind it (Docker's proxy while the container starts resets before any TLS).
  if (alert || (code === 'ECONNRESET' && context.serverHandshake === true)) {
    const how = alert ? { alert, code: code || 'EPROTO' } : { code, message: err.message };
    return new HttpFailure('client-certificate', url, clientCertificateRefusal(host, how, context.clientCertificate), code || undefined);
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

export function createHttpsClient(caPem: string, caSource: string, clientCertificate?: ClientCertificate): HttpsClient {
  const caDescription = `${describeCa(caPem)} from ${caSource}`;
  const clientCertDescription = clientCertificate ? describeClientCertificate(clientCertificate, caPem) : undefined;
  // One agent per client: `ca` replaces node's default roots, so only the stack CA is trusted; under
  // mutual TLS every connection presents the client certificate.
  const agent = new https.Agent({
    ca: caPem,
    ...(clientCertificate ? { cert: clientCertificate.certPem, key: clientCertificate.keyPem } : {}),
    keepAlive: false,
    maxSockets: 8,
  });

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
      let serverHandshake = false;
      let answered = false;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(classifyError(err, url, caDescription, { ...(clientCertDescription ? { clientCertificate: clientCertDescription } : {}), serverHandshake: serverHandshake && !answered }));
      };
      const headers: Record<string, string> = { ...(options.headers ?? {}) };
      if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
      const req = https.request(parsed, { method: options.method ?? 'GET', agent, headers }, (res) => {
        answered = true;
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
      // A server refusing the client certificate may just hang up (node's https does: after a TLS 1.3
      // handshake, or midway through a TLS 1.2 one), which alone looks like any reset. Keys derived
      // with the server ('keylog') or a finished handshake mean a TLS server was there and refused.
      req.on('socket', (socket) => {
        const sawServer = (): void => {
          serverHandshake = true;
        };
        socket.once('keylog', sawServer);
        socket.once('secureConnect', sawServer);
      });
      if (options.body !== undefined) req.write(options.body);
      req.end();
    });
  }

  return {
    request,
    caDescription,
    ...(clientCertDescription ? { clientCertDescription } : {}),
    close: () => agent.destroy(),
  };
}
