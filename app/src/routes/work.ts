import { SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendJson } from '../respond';
import { activeTraceId } from '../trace-context';
import { APP_VERSION } from '../version';

export const MIN_DEPTH = 1;
export const MAX_DEPTH = 10;
export const DEFAULT_DEPTH = 3;

// Resolved through the global API on every call, so it works whether or not the SDK started first.
const tracer = trace.getTracer('tracing-stack-app/work', APP_VERSION);

export interface WorkPlan {
  depth: number;
  fail: boolean;
}

export interface LevelResult {
  level: number;
  checksum: string;
}

/** Thrown on purpose by ?fail=1 so the error path can be seen end to end in Tempo. */
export class SimulatedFailure extends Error {
  constructor(level: number) {
    super(`simulated failure at work level ${level}`);
    this.name = 'SimulatedFailure';
  }
}

export function parseWorkQuery(params: URLSearchParams): WorkPlan | { error: string } {
  const rawDepth = params.get('depth');
  const depth = rawDepth === null ? DEFAULT_DEPTH : /^\d{1,2}$/.test(rawDepth) ? Number(rawDepth) : NaN;
  if (!(depth >= MIN_DEPTH && depth <= MAX_DEPTH)) {
    return { error: `depth must be a whole number from ${MIN_DEPTH} to ${MAX_DEPTH} (got "${rawDepth}")` };
  }
  const rawFail = params.get('fail');
  if (rawFail === null || rawFail === '0' || rawFail === 'false') return { depth, fail: false };
  if (rawFail === '1' || rawFail === 'true') return { depth, fail: true };
  return { error: `fail must be 1 or 0 (got "${rawFail}")` };
}

/** Stands in for real work: an async wait (so context must survive an await) plus a little CPU. */
async function simulateWork(level: number): Promise<string> {
  await sleep(2 + level);
  return createHash('sha256').update(`work-level-${level}`).digest('hex').slice(0, 16);
}

function markFailed(span: Span, error: unknown, raisedHere: boolean): void {
  const err = error instanceof Error ? error : new Error(String(error));
  // The exception is recorded once, on the span where it was raised; the spans it passes through
  // on the way out only get ERROR status, so Tempo shows one exception, not one per level.
  if (raisedHere) span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
}

function runLevel(level: number, plan: WorkPlan): Promise<LevelResult[]> {
  return tracer.startActiveSpan(
    `work.level.${level}`,
    { attributes: { 'work.depth': plan.depth, 'work.level': level } },
    async (span): Promise<LevelResult[]> => {
      try {
        span.addEvent('work.started', { 'work.level': level });
        const checksum = await simulateWork(level);
        span.setAttribute('work.checksum', checksum);
        if (level === plan.depth && plan.fail) throw new SimulatedFailure(level);
        const below = level < plan.depth ? await runLevel(level + 1, plan) : [];
        span.addEvent('work.completed', { 'work.levels_below': below.length });
        return [{ level, checksum }, ...below];
      } catch (error) {
        markFailed(span, error, level === plan.depth);
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

export async function handleWork(res: ServerResponse, params: URLSearchParams): Promise<void> {
  const plan = parseWorkQuery(params);
  if ('error' in plan) {
    sendJson(res, 400, { error: plan.error, traceId: activeTraceId() });
    return;
  }
  try {
    const levels = await runLevel(1, plan);
    sendJson(res, 200, { traceId: activeTraceId(), depth: plan.depth, levels });
  } catch (error) {
    if (!(error instanceof SimulatedFailure)) throw error;
    sendJson(res, 500, { error: error.message, traceId: activeTraceId() });
  }
}
