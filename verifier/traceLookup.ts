/**
 * Fetches one trace by id from Tempo: /api/v2/traces/<id> first, then /api/traces/<id>.
 * 404 means "not found yet". Counts the spans of that trace id and the services they came from.
 */
import type { HttpsClient } from './http';

export type LookupOutcome =
  | { status: 'found'; api: 'v2' | 'v1'; spanCount: number; services: string[] }
  | { status: 'not_found' }
  | { status: 'error'; message: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? (v as unknown[]) : [];
}

/** Tempo renders span traceIds as hex or as base64 of the 16 bytes; normalize to lowercase hex. */
export function normalizeTraceId(raw: string): string {
  if (/^[0-9a-fA-F]{32}$/.test(raw)) return raw.toLowerCase();
  const bytes = Buffer.from(raw, 'base64');
  return bytes.length === 16 ? bytes.toString('hex') : raw.toLowerCase();
}

export interface SpanSummary {
  spanCount: number;
  /** spans whose traceId is present and differs from the requested id */
  foreignSpans: number;
  services: string[];
}

/** Counts the spans of an OTLP-JSON trace as Tempo returns it (v2: {trace:{resourceSpans}}, v1: {batches}). */
export function summarizeTrace(body: unknown, traceId: string): SpanSummary {
  const root = isObject(body) && isObject(body['trace']) ? body['trace'] : body;
  const summary: SpanSummary = { spanCount: 0, foreignSpans: 0, services: [] };
  if (!isObject(root)) return summary;
  const services = new Set<string>();
  const resourceSpans = [...asArray(root['resourceSpans']), ...asArray(root['batches'])];
  for (const rs of resourceSpans) {
    if (!isObject(rs)) continue;
    const resource = rs['resource'];
    if (isObject(resource)) {
      for (const attr of asArray(resource['attributes'])) {
        const value = isObject(attr) ? attr['value'] : undefined;
        if (isObject(attr) && attr['key'] === 'service.name' && isObject(value)) {
          const sv = value['stringValue'];
          if (typeof sv === 'string') services.add(sv);
        }
      }
    }
    const scopes = [...asArray(rs['scopeSpans']), ...asArray(rs['instrumentationLibrarySpans'])];
    for (const scope of scopes) {
      if (!isObject(scope)) continue;
      for (const span of asArray(scope['spans'])) {
        if (!isObject(span)) continue;
        const id = span['traceId'];
        if (typeof id === 'string' && id !== '' && normalizeTraceId(id) !== traceId) {
          summary.foreignSpans += 1;
          continue;
        }
        summary.spanCount += 1;
      }
    }
  }
  summary.services = [...services].sort();
  return summary;
}

function bodyExcerpt(body: string): string {
  const one = body.replace(/\s+/g, ' ').trim();
  return one.length > 120 ? `${one.slice(0, 120)}...` : one;
}

async function fetchOne(client: HttpsClient, url: string, traceId: string, api: 'v2' | 'v1', timeoutMs: number, tenant?: string): Promise<LookupOutcome> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (tenant) headers['x-scope-orgid'] = tenant;
  const res = await client.request(url, { timeoutMs, headers });
  if (res.status === 404) return { status: 'not_found' };
  if (res.status !== 200) {
    return { status: 'error', message: `HTTP ${res.status} from ${new URL(url).pathname}${res.body ? `: ${bodyExcerpt(res.body)}` : ''}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body) as unknown;
  } catch {
    return { status: 'error', message: `${new URL(url).pathname} did not return JSON: ${bodyExcerpt(res.body)}` };
  }
  const summary = summarizeTrace(parsed, traceId);
  if (summary.spanCount === 0) return { status: 'not_found' };
  return { status: 'found', api, spanCount: summary.spanCount, services: summary.services };
}

/**
 * v2 first, then v1. Network/TLS failures propagate as HttpFailure (the caller decides);
 * HTTP errors of both endpoints become { status: 'error' } (v2's error is kept if v1 says 404).
 */
export async function lookupTrace(
  client: HttpsClient,
  tempoUrl: string,
  traceId: string,
  opts: { timeoutMs: () => number; tenant?: string },
): Promise<LookupOutcome> {
  const v2 = await fetchOne(client, `${tempoUrl}/api/v2/traces/${traceId}`, traceId, 'v2', opts.timeoutMs(), opts.tenant);
  if (v2.status === 'found') return v2;
  const v1 = await fetchOne(client, `${tempoUrl}/api/traces/${traceId}`, traceId, 'v1', opts.timeoutMs(), opts.tenant);
  if (v1.status === 'found') return v1;
  if (v2.status === 'error' && v1.status !== 'error') return v2;
  return v1.status === 'error' ? v1 : { status: 'not_found' };
}
