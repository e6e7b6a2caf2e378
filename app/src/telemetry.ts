/**
 * OpenTelemetry tracing for a Node.js HTTP service. This is the file to copy into your own
 * service; everything else in this package is the example service around it.
 *
 * Why it is built this way:
 * - The NodeSDK with the HTTP instrumentation gives every incoming and outgoing HTTP request a
 *   span and propagates W3C trace context, without touching handler code.
 * - The gRPC TLS credentials are built here from the CA file instead of being left to the
 *   exporter's environment handling, which falls back to the system trust store when the CA file
 *   is unreadable. createSsl verifies the collector's chain against that CA and its certificate
 *   name against the endpoint host; never add a checkServerIdentity override.
 * - A BatchSpanProcessor keeps exporting off the request path; on shutdown it must be flushed
 *   (see shutdown()), or the last batch is lost.
 * - Metrics and logs are switched off explicitly: with no options the NodeSDK starts OTLP/HTTP
 *   metric and log exporters towards localhost:4318 that fail without a word.
 *
 * Start it before anything loads `http` or `https`: the instrumentation patches those modules as
 * they are required, so server.ts imports the HTTP server only after startTelemetry() returns.
 */
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { defaultResource, envDetector, hostDetector, processDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { AppConfig, SamplerConfig } from './config';
import { BurstLoggingExporter } from './export-logging';
import type { Logger } from './log';
import type { CollectorTlsMaterial } from './tls-material';
import { APP_VERSION } from './version';

export interface TelemetryOptions {
  config: AppConfig;
  /** Required unless config.exporter allows plain text (OTEL_EXPORTER_OTLP_INSECURE=true). */
  collectorTls?: CollectorTlsMaterial;
  logger: Logger;
  /** Replaces the OTLP exporter; the tests pass an in-memory exporter here. */
  exporter?: SpanExporter;
}

export interface Telemetry {
  /** Exports every finished span now. */
  forceFlush(): Promise<void>;
  /** Flushes pending spans, then stops the SDK. Call once, when the process is stopping. */
  shutdown(): Promise<void>;
}

/** Path prefix of the probe endpoints (health, readiness, metrics). */
export const MONITORING_PATH_PREFIX = '/monitoring/';

/**
 * Docker's healthcheck and Prometheus-style scrapes hit /monitoring/* every few seconds. Traced,
 * they would bury the real requests in Tempo, add a "user -> app" edge to the service graph and
 * skew the RED dashboards, so they get no span (their own request metrics still count them).
 */
export function isMonitoringRequest(request: { url?: string }): boolean {
  return (request.url ?? '').startsWith(MONITORING_PATH_PREFIX);
}

export function collectorCredentials(tls: CollectorTlsMaterial | undefined): ChannelCredentials {
  if (!tls) return credentials.createInsecure();
  return credentials.createSsl(tls.ca, tls.clientKey ?? null, tls.clientCert ?? null);
}

export function createSampler(sampler: SamplerConfig | undefined): Sampler | undefined {
  if (!sampler) return undefined;
  switch (sampler.name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(sampler.ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(sampler.ratio) });
  }
}

export function startTelemetry(options: TelemetryOptions): Telemetry {
  const { config, logger } = options;
  const endpoint = config.exporter.endpoint.value;
  if (config.exporter.tls && !options.collectorTls && !options.exporter) {
    throw new Error('startTelemetry: the endpoint is https:// but no CA material was passed');
  }

  const exporter =
    options.exporter ?? new OTLPTraceExporter({ url: endpoint, credentials: collectorCredentials(options.collectorTls) });
  const processor = new BatchSpanProcessor({
    exporter: new BurstLoggingExporter(exporter, endpoint, logger),
    ...config.batch,
  });

  const sdk = new NodeSDK({
    serviceName: config.serviceName,
    // service.version defaults to this package's version; OTEL_RESOURCE_ATTRIBUTES (read by
    // envDetector) overrides it and adds deployment.environment and the rest.
    resource: defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_VERSION]: APP_VERSION })),
    resourceDetectors: [envDetector, processDetector, hostDetector],
    sampler: createSampler(config.sampler),
    spanProcessors: [processor],
    instrumentations: [new HttpInstrumentation({ ignoreIncomingRequestHook: isMonitoringRequest })],
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();

  return {
    forceFlush: () => processor.forceFlush(),
    shutdown: () => sdk.shutdown(),
  };
}
