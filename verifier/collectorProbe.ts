/**
 * Does the collector's published OTLP gRPC endpoint answer, and with a certificate the stack CA
 * signed for that host name? One TLS handshake (ALPN h2, as gRPC clients offer) tells apart the
 * things a user must do differently about: nothing listens (container stopped, port not published),
 * TLS refused (wrong CA or name), the verifier's client certificate refused (mutual TLS), or the
 * endpoint is fine and the problem is further on.
 */
import { isIP } from 'node:net';
import { connect } from 'node:tls';
import { clientCertificateAlert } from './http';
import type { ClientCertificate } from './options';

export type ProbeStatus = 'answers' | 'refused' | 'timeout' | 'unreachable' | 'tls' | 'client-certificate';

export interface ProbeResult {
  url: string;
  status: ProbeStatus;
  /** what went wrong, as the socket said it */
  detail?: string;
  ms: number;
}

const TLS_ERROR = /CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME|ALTNAME|ssl|tls|handshake|alert/i;

/**
 * After a TLS 1.3 handshake, how long to wait for the server's word on the client certificate: a
 * server that accepts it sends a session ticket or its first bytes (a gRPC server's HTTP/2 SETTINGS)
 * within milliseconds; one that refuses it sends an alert or hangs up as fast.
 */
const CLIENT_CERT_VERDICT_MS = 1000;

export function probeTlsEndpoint(url: string, caPem: string, timeoutMs: number, clientCertificate?: ClientCertificate): Promise<ProbeResult> {
  const { hostname, port } = new URL(url);
  const host = hostname.replace(/^\[|\]$/g, '');
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    let verdictTimer: NodeJS.Timeout | undefined;
    const done = (status: ProbeStatus, detail?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(verdictTimer);
      socket.destroy();
      resolve({ url, status, ...(detail ? { detail } : {}), ms: Date.now() - started });
    };
    const socket = connect({
      host,
      port: Number(port || 443),
      ca: caPem,
      ...(clientCertificate ? { cert: clientCertificate.certPem, key: clientCertificate.keyPem } : {}),
      ...(isIP(host) ? {} : { servername: host }),
      // h2 first, as gRPC clients offer it (grpc-go refuses handshakes without it); http/1.1 lets an
      // OTLP/HTTP-only endpoint answer too.
      ALPNProtocols: ['h2', 'http/1.1'],
      rejectUnauthorized: true,
    });
    let serverHandshake = false;
    let handshakeDone = false;
    let serverSpoke = false;
    socket.once('keylog', () => {
      serverHandshake = true;
    });
    // Listened to from the start: node asks OpenSSL for session tickets only when someone listens.
    const accepted = (): void => {
      serverSpoke = true;
      if (handshakeDone) done('answers');
    };
    socket.once('session', accepted);
    socket.once('data', accepted);
    socket.setTimeout(timeoutMs, () => done('timeout', `no TLS handshake within ${timeoutMs} ms`));
    socket.once('secureConnect', () => {
      handshakeDone = true;
      // Up to TLS 1.2 the server checks the client certificate before it finishes the handshake. In
      // TLS 1.3 the client finishes first and the server checks afterwards: wait for its word.
      if (serverSpoke || socket.getProtocol() !== 'TLSv1.3') {
        done('answers');
        return;
      }
      verdictTimer = setTimeout(() => done('answers'), Math.min(CLIENT_CERT_VERDICT_MS, timeoutMs));
    });
    socket.once('close', () => {
      // Hanging up right after the handshake, without a word, is how node's https refuses a client certificate.
      if (handshakeDone) done('client-certificate', 'the server closed the connection right after the TLS handshake, before any answer');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const alert = clientCertificateAlert(err.code ?? '', err.message, clientCertificate !== undefined);
      if (alert) done('client-certificate', `alert "${alert}" (${err.code ?? 'EPROTO'})`);
      else if (err.code === 'ECONNRESET' && (serverHandshake || handshakeDone)) done('client-certificate', `${err.code} ${err.message} (after the TLS key exchange)`);
      else if (err.code === 'ECONNREFUSED') done('refused', 'connection refused');
      else if (err.code === 'ECONNRESET' || (err.code && TLS_ERROR.test(err.code)) || TLS_ERROR.test(err.message)) done('tls', `${err.code ?? ''} ${err.message}`.trim());
      else done('unreachable', `${err.code ?? ''} ${err.message}`.trim());
    });
  });
}
