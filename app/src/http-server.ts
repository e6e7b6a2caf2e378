import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ServerTlsMaterial } from './tls-material';

export type AppServer = http.Server | https.Server;

export function createAppServer(tls: ServerTlsMaterial | undefined, listener: http.RequestListener): AppServer {
  if (!tls) return http.createServer(listener);
  // Mutual TLS: the handshake fails unless the client presents a certificate chaining to clientCa
  // (that CA only, not the system store), so no unverified client ever gets an HTTP answer.
  const clientAuth: https.ServerOptions = tls.clientCa ? { requestCert: true, rejectUnauthorized: true, ca: tls.clientCa } : {};
  return https.createServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2', ...clientAuth }, listener);
}

export function listen(server: AppServer, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error(`unexpected listen address ${String(address)}`));
      else resolve(address);
    });
  });
}

/**
 * Stops accepting connections, lets in-flight requests finish, and cuts off whatever is still
 * open after graceMs so shutdown time stays bounded. Idle keep-alive connections are closed as
 * they appear, because Node 18's server.close() leaves them open.
 */
export function closeServer(server: AppServer, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      resolve();
    });
    server.closeIdleConnections();
  });
}
