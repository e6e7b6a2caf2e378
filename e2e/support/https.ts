import { request } from "node:https";

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * What a host client brings to the stack: the CA it trusts, and under mutual TLS the stack's
 * client certificate and key (the outputs clientCertificate / clientPrivateKey).
 */
export interface ClientTls {
  ca: string;
  cert?: string;
  key?: string;
}

/** GET over HTTPS trusting only the stack CA, presenting the client certificate when given, as every client of the stack does. */
export function get(url: string, client: ClientTls, timeoutMs = 10_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "GET", ca: client.ca, cert: client.cert, key: client.key, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${url}`)));
    req.on("error", reject);
    req.end();
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns a value or the deadline passes; returns undefined on timeout. */
export async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 1000): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch {
      // Not up yet: keep polling until the deadline.
    }
    await sleep(intervalMs);
  }
  return undefined;
}

/**
 * Whether an endpoint answers a client at the HTTP level: "answered" (any status, any gRPC
 * status), or the error that stopped it (a refused handshake under mutual TLS). gRPC endpoints
 * are asked over HTTP/2, as gRPC clients do; the collector refuses HTTP/1.1 there regardless.
 */
export async function reachOutcome(url: string, protocol: "http" | "grpc", client: ClientTls, timeoutMs = 10_000): Promise<string> {
  try {
    if (protocol === "http") {
      await get(`${url}/`, client, timeoutMs);
      return "answered";
    }
    const { connect } = await import("node:http2");
    return await new Promise<string>((resolve, reject) => {
      const session = connect(url, { ca: client.ca, cert: client.cert, key: client.key });
      const timer = setTimeout(() => {
        session.destroy();
        reject(new Error(`timeout after ${timeoutMs} ms`));
      }, timeoutMs);
      session.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      const stream = session.request({ ":method": "POST", ":path": "/opentelemetry.proto.collector.trace.v1.TraceService/Export", "content-type": "application/grpc" });
      stream.on("response", () => {
        clearTimeout(timer);
        session.close();
        resolve("answered");
      });
      stream.on("error", (error) => {
        clearTimeout(timer);
        session.destroy();
        reject(error);
      });
      stream.end();
    });
  } catch (error) {
    const e = error as { code?: string; message: string };
    return `refused: ${e.code ?? ""} ${e.message}`.trim();
  }
}
