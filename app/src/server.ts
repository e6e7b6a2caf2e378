/**
 * Entry point. The order matters: the configuration is checked first, so a bad setting stops
 * the process before it serves a single untraced request; telemetry starts second; only then are
 * the HTTP modules loaded, so the instrumentation can patch them.
 */
import { ConfigError, parseConfig, type AppConfig } from './config';
import { createLogger, describeError } from './log';
import type { ReadinessState } from './routes/monitoring';
import { startTelemetry } from './telemetry';
import { readTlsMaterial, type TlsMaterial } from './tls-material';

/** Upper bound for the whole shutdown, inside Docker's default 10 s stop grace period plus margin. */
export const SHUTDOWN_TIMEOUT_MS = 10_000;
/** Share of it that in-flight requests get before their connections are cut; the rest is for the span flush. */
export const DRAIN_TIMEOUT_MS = 4_000;

const logger = createLogger();

function loadSettings(): { config: AppConfig; tls: TlsMaterial } | undefined {
  try {
    const config = parseConfig(process.env);
    return { config, tls: readTlsMaterial(config) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) logger.error(problem);
    logger.error('invalid configuration; not starting');
    return undefined;
  }
}

async function main(): Promise<void> {
  const settings = loadSettings();
  if (!settings) {
    process.exitCode = 1;
    return;
  }
  const { config, tls } = settings;

  const telemetry = startTelemetry({ config, collectorTls: tls.collector, logger });
  const collectorTls = tls.collector ? (tls.collector.clientCert ? 'mtls' : 'tls') : 'plaintext';
  logger.info('telemetry started', {
    service_name: config.serviceName,
    otlp_endpoint: config.exporter.endpoint.value,
    otlp_transport: collectorTls,
    otlp_ca_file: config.exporter.tls?.ca.value,
    sampler: config.sampler?.name ?? 'parentbased_always_on',
  });
  let readiness: ReadinessState = 'starting';

  // Loaded only now: see the comment at the top of this file.
  const { createRequestListener } = await import('./app');
  const { RequestMetrics } = await import('./metrics');
  const { closeServer, createAppServer, listen } = await import('./http-server');
  const { DownstreamClient } = await import('./downstream');
  // readTlsMaterial read the CA (and mTLS pair) whenever DOWNSTREAM_URL is set.
  const downstream = config.downstream && tls.downstream ? new DownstreamClient({ origin: config.downstream.origin, tls: tls.downstream }) : undefined;

  const server = createAppServer(
    tls.server,
    createRequestListener({ metrics: new RequestMetrics(), readiness: { state: () => readiness }, logger, serviceName: config.serviceName, downstream }),
  );
  const address = await listen(server, config.server.port, config.server.host);
  readiness = 'ready';
  logger.info('listening', {
    url: `${tls.server ? 'https' : 'http'}://${address.address}:${address.port}`,
    port: address.port,
    // Logged so an operator can tell why clients without a certificate are refused.
    tls_client_auth: tls.server?.clientCa ? 'require' : 'none',
    downstream_url: downstream?.origin,
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    readiness = 'draining';
    const startedAt = Date.now();
    logger.info('shutting down: no new connections, flushing spans', { signal });
    const deadline = setTimeout(() => {
      logger.error('shutdown timed out; pending spans may be lost', { timeout_ms: SHUTDOWN_TIMEOUT_MS });
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    closeServer(server, DRAIN_TIMEOUT_MS)
      .then(() => {
        downstream?.close();
        return telemetry.shutdown();
      })
      .then(
        () => {
          clearTimeout(deadline);
          logger.info('shutdown complete; pending spans flushed', { duration_ms: Date.now() - startedAt });
          process.exit(0);
        },
        (error: unknown) => {
          clearTimeout(deadline);
          logger.error('shutdown could not flush pending spans', { error: describeError(error) });
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  logger.error('failed to start', { error: describeError(error) });
  process.exit(1);
});
