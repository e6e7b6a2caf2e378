import { Counter, Histogram, Registry } from 'prom-client';

type Label = 'method' | 'route' | 'status_code';

/**
 * The service's own request counts in Prometheus text format. A private registry (not
 * prom-client's global one) keeps each server instance, and each test, independent.
 */
export class RequestMetrics {
  private readonly registry = new Registry();

  private readonly requests = new Counter<Label>({
    name: 'http_requests_total',
    help: 'HTTP requests handled, by method, matched route and status code',
    labelNames: ['method', 'route', 'status_code'],
    registers: [this.registry],
  });

  private readonly duration = new Histogram<Label>({
    name: 'http_request_duration_seconds',
    help: 'Time from request received to response finished, by method, matched route and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  /** `route` must be a route pattern or "unmatched", never the raw path: raw paths explode label cardinality. */
  observe(method: string, route: string, statusCode: number, seconds: number): void {
    const labels = { method, route, status_code: String(statusCode) };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
