/**
 * Does the collector's published OTLP gRPC endpoint answer, and with a certificate the stack CA
 * signed for that host name? One TLS handshake (ALPN h2, as gRPC clients offer) tells apart the
 * three things a user must do differently about: nothing listens (container stopped, port not
 * published), TLS refused (wrong CA or name), or the endpoint is fine and the problem is further on.
 */
import { isIP } from 'node:net';
import { connect } from 'node:tls';

export type ProbeStatus = 'answers' | 'refused' | 'timeout' | 'unreachable' | 'tls';

export interface ProbeResult {
  url: string;
  status: ProbeStatus;
  /** what went wrong, as the socket said it */
  detail?: string;
  ms: number;
}

const TLS_ERROR = /CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME|ALTNAME|ssl|tls|handshake|alert/i;

export function probeTlsEndpoint(url: string, caPem: string, timeoutMs: number): Promise<ProbeResult> {
  const { hostname, port } = new URL(url);
  const host = hostname.replace(/^\[|\]$/g, '');
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (status: ProbeStatus, detail?: string): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ url, status, ...(detail ? { detail } : {}), ms: Date.now() - started });
    };
    const socket = connect({
      host,
      port: Number(port || 443),
      ca: caPem,
      ...(isIP(host) ? {} : { servername: host }),
      // h2 first, as gRPC clients offer it (grpc-go refuses handshakes without it); http/1.1 lets an
      // OTLP/HTTP-only endpoint answer too.
      ALPNProtocols: ['h2', 'http/1.1'],
      rejectUnauthorized: true,
    });
    socket.setTimeout(timeoutMs, () => done('timeout', `no TLS handshake within ${timeoutMs} ms`));
    socket.once('secureConnect', () => done('answers'));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') done('refused', 'connection refused');
      else if (err.code === 'ECONNRESET' || (err.code && TLS_ERROR.test(err.code)) || TLS_ERROR.test(err.message)) done('tls', `${err.code ?? ''} ${err.message}`.trim());
      else done('unreachable', `${err.code ?? ''} ${err.message}`.trim());
    });
  });
}
