/**
 * Drives the instrumented app and collects the trace ids it reports.
 * The app answers GET <appUrl>/api/work?depth=N with `x-trace-id: <32 lowercase hex>` (and a
 * `traceparent` header, used as a fallback). With `&fail=1` it fails on purpose: HTTP 500, still with
 * `x-trace-id`, and that trace is stored like any other (it carries the error spans the
 * span-metrics and service-graph error series are made of).
 */
import { HttpFailure, type HttpsClient } from './http';

const TRACE_ID = /^[0-9a-f]{32}$/;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

export function isValidTraceId(id: string): boolean {
  return TRACE_ID.test(id) && !/^0+$/.test(id);
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The trace id of one app response: x-trace-id, else the trace-id field of traceparent. */
export function traceIdFromHeaders(headers: Record<string, string | string[] | undefined>): string | undefined {
  const direct = header(headers['x-trace-id'])?.trim().toLowerCase();
  if (direct && isValidTraceId(direct)) return direct;
  const tp = header(headers['traceparent'])?.trim().toLowerCase();
  const fromTp = tp ? TRACEPARENT.exec(tp)?.[1] : undefined;
  if (fromTp && isValidTraceId(fromTp)) return fromTp;
  return undefined;
}

/** Every FAIL_EVERY-th request asks the app to fail (when failing requests are wanted). */
export const FAIL_EVERY = 5;

/**
 * Whether request `index` (0-based) of `count` asks the app to fail: every 5th request, and at least
 * one (the last) when there are 2 to 4; never the only request of a run of one.
 */
export function isFailingRequest(index: number, count: number): boolean {
  if (count < 2 || index < 0 || index >= count) return false;
  if ((index + 1) % FAIL_EVERY === 0) return true;
  return count < FAIL_EVERY && index === count - 1;
}

export interface TrafficResult {
  /** distinct trace ids, in the order received */
  traceIds: string[];
  requests: number;
  /** requests sent with fail=1 (answered like any other: their trace ids count as sent traces) */
  failingRequests: number;
  /** of those, answered with a status below 500: the app ignored fail=1 */
  failingNotFailed: number;
  /** answers without a usable trace id, e.g. "HTTP 500 without x-trace-id" */
  problems: string[];
  statusCounts: Record<string, number>;
}

export interface DriveAppOptions {
  appUrl: string;
  count: number;
  depth: number;
  /** per-request timeout, already bounded by the deadline by the caller */
  timeoutMs: () => number;
  /** stop early (deadline) */
  shouldStop: () => boolean;
  onProgress?: (done: number, total: number) => void;
  concurrency?: number;
  /** ask the app to fail every 5th request (`fail=1`, see isFailingRequest) */
  withFailures?: boolean;
}

/**
 * Sends `count` requests to the app. A connection or TLS failure aborts at once (HttpFailure is
 * rethrown: the caller maps it to exit 2); HTTP errors are recorded and counted.
 */
export async function driveApp(client: HttpsClient, opts: DriveAppOptions): Promise<TrafficResult> {
  const result: TrafficResult = { traceIds: [], requests: 0, failingRequests: 0, failingNotFailed: 0, problems: [], statusCounts: {} };
  const seen = new Set<string>();
  const url = `${opts.appUrl}/api/work?depth=${opts.depth}`;
  const failUrl = `${url}&fail=1`;
  let next = 0;
  let fatal: HttpFailure | undefined;

  const worker = async (): Promise<void> => {
    while (!fatal && next < opts.count && !opts.shouldStop()) {
      const index = next;
      next += 1;
      const failing = opts.withFailures === true && isFailingRequest(index, opts.count);
      const target = failing ? failUrl : url;
      try {
        const res = await client.request(target, { timeoutMs: opts.timeoutMs(), headers: { accept: 'application/json' } });
        result.requests += 1;
        result.statusCounts[String(res.status)] = (result.statusCounts[String(res.status)] ?? 0) + 1;
        if (failing) {
          result.failingRequests += 1;
          if (res.status < 500) result.failingNotFailed += 1;
        }
        const id = traceIdFromHeaders(res.headers);
        if (id) {
          // Error answers are traces too (the intended fail=1 500s included): keep the id whatever the status.
          if (!seen.has(id)) {
            seen.add(id);
            result.traceIds.push(id);
          }
        } else if (result.problems.length < 5) {
          result.problems.push(`HTTP ${res.status} from ${target} without an x-trace-id header`);
        }
      } catch (err) {
        if (err instanceof HttpFailure) {
          fatal = err;
          return;
        }
        throw err;
      }
      opts.onProgress?.(result.requests, opts.count);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 4, opts.count)) }, () => worker()));
  if (fatal) throw fatal;
  return result;
}
