import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { describeError, type Logger } from './log';

/**
 * Makes exporter outages visible without flooding the log. The SDK reports failed exports only
 * through its diagnostic logger, which is silent unless OTEL_LOG_LEVEL is set, so a collector
 * outage would otherwise drop spans without a trace. This wrapper logs one line when a run of
 * failures starts and one when exports succeed again, however many batches fail in between.
 */
export class BurstLoggingExporter implements SpanExporter {
  private failedBatches = 0;
  private droppedSpans = 0;

  constructor(
    private readonly inner: SpanExporter,
    private readonly endpoint: string,
    private readonly logger: Logger,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) {
        this.recovered();
      } else {
        this.failed(spans.length, result.error);
      }
      resultCallback(result);
    });
  }

  async shutdown(): Promise<void> {
    if (this.failedBatches > 0) {
      this.logger.error('shutting down while span export is failing', this.burstFields());
    }
    await this.inner.shutdown();
  }

  async forceFlush(): Promise<void> {
    await this.inner.forceFlush?.();
  }

  private failed(spanCount: number, error: Error | undefined): void {
    if (this.failedBatches === 0) {
      this.logger.error('span export failing; spans are dropped until the collector accepts them again', {
        endpoint: this.endpoint,
        error: error ? describeError(error) : 'unknown error',
      });
    }
    this.failedBatches += 1;
    this.droppedSpans += spanCount;
  }

  private recovered(): void {
    if (this.failedBatches === 0) return;
    this.logger.info('span export recovered', this.burstFields());
    this.failedBatches = 0;
    this.droppedSpans = 0;
  }

  private burstFields(): Record<string, string | number> {
    return { endpoint: this.endpoint, failed_batches: this.failedBatches, dropped_spans: this.droppedSpans };
  }
}
