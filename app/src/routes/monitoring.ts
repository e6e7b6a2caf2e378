import type { ServerResponse } from 'node:http';
import type { RequestMetrics } from '../metrics';
import { sendJson, sendText } from '../respond';

export type ReadinessState = 'starting' | 'ready' | 'draining';

export interface Readiness {
  state(): ReadinessState;
}

/** Liveness only: answers while the event loop runs, and checks no dependency, so a collector outage never restarts the service. */
export function handleHealth(res: ServerResponse): void {
  sendJson(res, 200, { status: 'ok' });
}

/** Ready once the tracer is started; not ready again while draining on shutdown, so load balancers stop sending work. */
export function handleReady(res: ServerResponse, readiness: Readiness): void {
  const state = readiness.state();
  sendJson(res, state === 'ready' ? 200 : 503, { status: state });
}

export async function handleMetrics(res: ServerResponse, metrics: RequestMetrics): Promise<void> {
  sendText(res, 200, metrics.contentType, await metrics.render());
}
