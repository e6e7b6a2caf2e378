/**
 * Calls /api/work on another instance of this service (DOWNSTREAM_URL) over verified HTTPS.
 * This is what gives Tempo's service graph its edge: the HTTP instrumentation turns each call into a
 * CLIENT span under the active work span and injects its W3C traceparent, so the downstream's
 * SERVER span joins the same trace as that CLIENT span's child.
 *
 * Load this module only after telemetry started (server.ts imports it lazily): the instrumentation
 * patches `https` as it is required, and an unpatched `https` would call without a span or a
 * traceparent. The server certificate is verified against DOWNSTREAM_CA_FILE and its name against
 * the URL's host by Node's defaults; never add rejectUnauthorized: false or a checkServerIdentity
 * override here.
 */
import https from 'node:https';
import type { LevelResult, WorkPlan } from './routes/work';
import type { DownstreamTlsMaterial } from './tls-material';

/** The whole call (connect, TLS handshake, answer and body) must fit in this. */
export const DOWNSTREAM_TIMEOUT_MS = 5_000;
/** A work answer is a few hundred bytes; anything far bigger is not one. */
const MAX_BODY_BYTES = 1024 * 1024;
/**
 * How many services a request has already crossed. A DOWNSTREAM_URL chain that loops back (A calls
 * B calls A) would otherwise multiply requests until the timeouts stop it.
 */
export const HOPS_HEADER = 'x-work-hops';
export const MAX_HOPS = 5;

export interface DownstreamOptions {
  /** https://host[:port], from DownstreamConfig.origin. */
  origin: string;
  tls: DownstreamTlsMaterial;
  timeoutMs?: number;
}

/** The downstream's successful answer, as relayed in the caller's JSON under `downstream`. */
export interface DownstreamWork {
  url: string;
  /** The downstream's OTEL_SERVICE_NAME, from its JSON body. */
  service?: string;
  /** The downstream's x-trace-id response header: the trace its server span joined. */
  traceId?: string;
  levels: LevelResult[];
  /** Present when the downstream itself called a downstream. */
  downstream?: unknown;
}

/** What the caller's 500 answer says about the failed call. */
export interface DownstreamFailureDetail {
  url: string;
  /** Absent when no HTTP answer arrived (connection, TLS or timeout error). */
  status?: number;
  service?: string;
  traceId?: string;
  error: string;
}

/** The downstream call failed: an error status, or no usable answer at all. */
export class DownstreamFailure extends Error {
  readonly detail: DownstreamFailureDetail;

  constructor(detail: DownstreamFailureDetail, cause?: Error) {
    const what = detail.status === undefined ? 'failed' : `answered ${detail.status}`;
    super(`downstream ${detail.url} ${what}: ${detail.error}`, cause ? { cause } : undefined);
    this.name = 'DownstreamFailure';
    this.detail = detail;
  }

  /** True when no HTTP answer arrived: worth a log line, unlike a downstream's deliberate 500. */
  get transportError(): boolean {
    return this.detail.status === undefined;
  }
}

interface RawAnswer {
  status: number;
  traceId?: string;
  body: string;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    return asRecord(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function isLevelResult(value: unknown): value is LevelResult {
  const record = asRecord(value);
  return typeof record?.level === 'number' && typeof record.checksum === 'string';
}

const optionalString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export class DownstreamClient {
  readonly origin: string;
  private readonly agent: https.Agent;
  private readonly timeoutMs: number;

  constructor(options: DownstreamOptions) {
    this.origin = options.origin;
    this.timeoutMs = options.timeoutMs ?? DOWNSTREAM_TIMEOUT_MS;
    this.agent = new https.Agent({
      keepAlive: true,
      // Idle sockets are dropped after 4 s, before Node's default 5 s server keep-alive timeout
      // closes them under a new request.
      timeout: 4_000,
      maxSockets: 64,
      ca: options.tls.ca,
      cert: options.tls.clientCert,
      key: options.tls.clientKey,
      minVersion: 'TLSv1.2',
    });
  }

  /**
   * GET <origin>/api/work?depth=<depth>&fail=<1|0>. The fail flag is forwarded so the simulated
   * failure is raised in the downstream service. Resolves with the downstream's levels on 200 and
   * throws DownstreamFailure otherwise.
   */
  async work(plan: WorkPlan, hops: number): Promise<DownstreamWork> {
    const url = `${this.origin}/api/work?depth=${plan.depth}&fail=${plan.fail ? 1 : 0}`;
    let answer: RawAnswer;
    try {
      answer = await this.get(url, { accept: 'application/json', [HOPS_HEADER]: String(hops + 1) });
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      throw new DownstreamFailure({ url: this.origin, error: err.message }, err);
    }

    const body = parseJson(answer.body);
    const service = optionalString(body?.service);
    if (answer.status !== 200) {
      const error = optionalString(body?.error) ?? `HTTP ${answer.status}`;
      throw new DownstreamFailure({ url: this.origin, status: answer.status, service, traceId: answer.traceId, error });
    }
    const levels = body?.levels;
    if (!Array.isArray(levels) || !levels.every(isLevelResult)) {
      throw new DownstreamFailure({ url: this.origin, status: answer.status, service, traceId: answer.traceId, error: 'the answer is not /api/work JSON (no levels)' });
    }
    const work: DownstreamWork = { url: this.origin, service, traceId: answer.traceId, levels };
    if (body?.downstream !== undefined) work.downstream = body.downstream;
    return work;
  }

  /** Closes the idle keep-alive connections; call once, when the process is stopping. */
  close(): void {
    this.agent.destroy();
  }

  private get(url: string, headers: Record<string, string>): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (error: Error | undefined, answer?: RawAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        if (error || !answer) reject(error ?? new Error('no answer'));
        else resolve(answer);
      };

      const req = https.request(url, { method: 'GET', agent: this.agent, headers });
      // Destroying the request with the error also puts it on the CLIENT span (status ERROR, exception event).
      const deadline = setTimeout(() => {
        const error = new Error(`no answer within ${this.timeoutMs} ms`);
        req.destroy(error);
        settle(error);
      }, this.timeoutMs);

      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            const error = new Error(`answer body larger than ${MAX_BODY_BYTES} bytes`);
            req.destroy(error);
            settle(error);
          } else {
            chunks.push(chunk);
          }
        });
        res.on('end', () => {
          const traceId = res.headers['x-trace-id'];
          settle(undefined, {
            status: res.statusCode ?? 0,
            traceId: typeof traceId === 'string' ? traceId : undefined,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', (error) => settle(error));
        res.on('close', () => {
          if (!res.complete) settle(new Error('the connection closed before the whole answer arrived'));
        });
      });
      req.on('error', (error) => settle(error));
      req.end();
    });
  }
}
