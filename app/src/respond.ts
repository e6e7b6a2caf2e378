import type { ServerResponse } from 'node:http';

export function sendJson(res: ServerResponse, statusCode: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(statusCode, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    // Health and trace answers are about this instant; a cached one would mislead.
    'cache-control': 'no-store',
  });
  res.end(payload);
}

export function sendText(res: ServerResponse, statusCode: number, contentType: string, body: string): void {
  res.writeHead(statusCode, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}
