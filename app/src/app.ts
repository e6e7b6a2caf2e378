import { trace } from '@opentelemetry/api';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { DownstreamClient } from './downstream';
import { describeError, type Logger } from './log';
import type { RequestMetrics } from './metrics';
import { sendJson } from './respond';
import { handleHealth, handleMetrics, handleReady, type Readiness } from './routes/monitoring';
import { handleWork, incomingHops } from './routes/work';
import { activeTraceId, exposeTraceContext, setHttpRoute } from './trace-context';

export interface AppDeps {
  metrics: RequestMetrics;
  readiness: Readiness;
  logger: Logger;
  /** OTEL_SERVICE_NAME, named in the /api/work answers. */
  serviceName: string;
  /** Set by DOWNSTREAM_URL: the service /api/work calls at its deepest level. */
  downstream?: DownstreamClient;
}

type RouteHandler = (res: ServerResponse, params: URLSearchParams, req: IncomingMessage) => void | Promise<void>;

function parseUrl(req: IncomingMessage): URL | undefined {
  try {
    // Only the path and query matter; the base is a placeholder that never leaves this function.
    return new URL(req.url ?? '/', 'http://service.invalid');
  } catch {
    return undefined;
  }
}

export function createRequestListener(deps: AppDeps): RequestListener {
  const workDeps = { serviceName: deps.serviceName, logger: deps.logger, downstream: deps.downstream };
  const routes = new Map<string, RouteHandler>([
    ['/monitoring/health', (res) => handleHealth(res)],
    ['/monitoring/ready', (res) => handleReady(res, deps.readiness)],
    ['/monitoring/metrics', (res) => handleMetrics(res, deps.metrics)],
    ['/api/work', (res, params, req) => handleWork(res, params, workDeps, incomingHops(req))],
  ]);

  return (req, res) => {
    const startedAt = process.hrtime.bigint();
    const url = parseUrl(req);
    const handler = url && routes.get(url.pathname);
    const route = url && handler ? url.pathname : 'unmatched';
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
      deps.metrics.observe(req.method ?? 'UNKNOWN', route, res.statusCode, seconds);
    });
    exposeTraceContext(res);

    if (!url) return sendJson(res, 400, { error: 'malformed request target' });
    if (!handler) return sendJson(res, 404, { error: `no route for ${url.pathname}` });
    setHttpRoute(route);
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      return sendJson(res, 405, { error: `${req.method ?? 'this method'} is not allowed on ${route}` });
    }

    Promise.resolve()
      .then(() => handler(res, url.searchParams, req))
      .catch((error: unknown) => {
        // Unexpected failures (not ?fail=1): keep the evidence on the server span and in the log.
        const err = error instanceof Error ? error : new Error(String(error));
        trace.getActiveSpan()?.recordException(err);
        deps.logger.error('request failed', { route, error: describeError(err), trace_id: activeTraceId() });
        if (res.headersSent) res.destroy(err);
        else sendJson(res, 500, { error: 'internal error', traceId: activeTraceId() });
      });
  };
}
