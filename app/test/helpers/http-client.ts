import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  /** CA to verify an https:// server with; the server certificate must name "localhost". */
  ca?: Buffer;
  /** Client certificate and key, presented to a server that requires mutual TLS. */
  cert?: Buffer;
  key?: Buffer;
  method?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** One request on a fresh connection, so no keep-alive socket outlives the test. */
export function request(url: string, options: RequestOptions = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const common = { method: options.method ?? 'GET', headers: { connection: 'close', ...options.headers }, agent: false as const, timeout: options.timeoutMs ?? 5_000 };
    const req =
      target.protocol === 'https:'
        ? https.request(target, { ...common, ca: options.ca, cert: options.cert, key: options.key, servername: 'localhost' })
        : http.request(target, common);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer`)));
    req.on('error', reject);
    req.end();
  });
}
