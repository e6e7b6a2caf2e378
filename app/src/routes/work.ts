import { SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { DownstreamFailure, HOPS_HEADER, MAX_HOPS, type DownstreamClient, type DownstreamWork } from '../downstream';
import type { Logger } from '../log';
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

export interface WorkDeps {
  /** OTEL_SERVICE_NAME, put in the answers so a caller can tell which service did the work. */
  serviceName: string;
  logger: Logger;
  /** Set by DOWNSTREAM_URL: the deepest level calls this service's /api/work instead of failing itself. */
  downstream?: DownstreamClient;
}

interface WorkOutcome {
  levels: LevelResult[];
  downstream?: DownstreamWork;
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

/**
 * With a downstream, the deepest level calls it (inside its span, so the CLIENT span is that
 * level's child) and forwards ?fail=1 instead of raising SimulatedFailure itself: the failure is
 * raised in the downstream service and comes back as a DownstreamFailure.
 */
function runLevel(level: number, plan: WorkPlan, callDownstream?: () => Promise<DownstreamWork>): Promise<WorkOutcome> {
  return tracer.startActiveSpan(
    `work.level.${level}`,
    { attributes: { 'work.depth': plan.depth, 'work.level': level } },
    async (span): Promise<WorkOutcome> => {
      try {
        span.addEvent('work.started', { 'work.level': level });
        const checksum = await simulateWork(level);
        span.setAttribute('work.checksum', checksum);
        let below: WorkOutcome = { levels: [] };
        if (level < plan.depth) below = await runLevel(level + 1, plan, callDownstream);
        else if (callDownstream) below = { levels: [], downstream: await callDownstream() };
        else if (plan.fail) throw new SimulatedFailure(level);
        span.addEvent('work.completed', { 'work.levels_below': below.levels.length });
        return { levels: [{ level, checksum }, ...below.levels], downstream: below.downstream };
      } catch (error) {
        markFailed(span, error, level === plan.depth);
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** The x-work-hops request header: how many services this request has already crossed. */
export function incomingHops(req: IncomingMessage): number {
  const value = req.headers[HOPS_HEADER];
  return typeof value === 'string' && /^\d{1,3}$/.test(value) ? Number(value) : 0;
}

export async function handleWork(res: ServerResponse, params: URLSearchParams, deps: WorkDeps, hops: number): Promise<void> {
  const plan = parseWorkQuery(params);
  if ('error' in plan) {
    sendJson(res, 400, { error: plan.error, traceId: activeTraceId() });
    return;
  }
  const service = deps.serviceName;
  const { downstream, logger } = deps;
  if (downstream && hops >= MAX_HOPS) {
    const error = `not calling ${downstream.origin}: this request has already crossed ${hops} services (${HOPS_HEADER}), so the DOWNSTREAM_URL settings probably form a loop`;
    sendJson(res, 508, { service, error, traceId: activeTraceId() });
    return;
  }
  try {
    const outcome = await runLevel(1, plan, downstream && (() => downstream.work(plan, hops)));
    const body = { service, traceId: activeTraceId(), depth: plan.depth, levels: outcome.levels };
    sendJson(res, 200, outcome.downstream ? { ...body, downstream: outcome.downstream } : body);
  } catch (error) {
    if (error instanceof DownstreamFailure) {
      // A downstream's 500 is its own (traced) business; no answer at all is worth a log line here.
      if (error.transportError) {
        logger.warn('downstream call failed', { downstream: error.detail.url, error: error.detail.error, trace_id: activeTraceId() });
      }
      sendJson(res, 500, { service, error: error.message, traceId: activeTraceId(), downstream: error.detail });
      return;
    }
    if (!(error instanceof SimulatedFailure)) throw error;
    sendJson(res, 500, { service, error: error.message, traceId: activeTraceId() });
  }
}
