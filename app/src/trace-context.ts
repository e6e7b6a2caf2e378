import { context, isSpanContextValid, trace, type SpanContext } from '@opentelemetry/api';
import { RPCType, getRPCMetadata } from '@opentelemetry/core';
import type { ServerResponse } from 'node:http';

/** The context of the request's server span, created by the HTTP instrumentation before any handler runs. */
export function activeSpanContext(): SpanContext | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && isSpanContextValid(spanContext) ? spanContext : undefined;
}

export function activeTraceId(): string | undefined {
  return activeSpanContext()?.traceId;
}

/**
 * Puts the trace id on the response so a caller (or the stack's verifier) can look the exact trace
 * up in Tempo. traceparent uses the W3C format so tools can parse it without knowing this service.
 */
export function exposeTraceContext(res: ServerResponse): void {
  const spanContext = activeSpanContext();
  if (!spanContext) return;
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  res.setHeader('x-trace-id', spanContext.traceId);
  res.setHeader('traceparent', `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`);
}

/**
 * Tells the HTTP instrumentation which route matched, the supported hand-off for routers: it then
 * sets http.route and names the server span "GET /api/work" instead of just "GET".
 */
export function setHttpRoute(route: string): void {
  const rpcMetadata = getRPCMetadata(context.active());
  if (rpcMetadata?.type === RPCType.HTTP) rpcMetadata.route = route;
}
