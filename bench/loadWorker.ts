/**
 * One load-generator thread (started by bench/loadGenerator.ts with worker_threads): sends its share
 * of a load step as OTLP/gRPC export requests over TLS, on a fixed schedule, with a bounded number of
 * requests in flight, and reports exactly what happened to every span it was given.
 *
 * Pacing is open-loop: request k is due at `start + (spans before k) / rate`. A due request is sent as
 * soon as an in-flight slot is free, but never later than `lateToleranceMs` after its due time; past
 * that its spans are counted as `spansBehindSchedule` and never sent, so the offered rate stays what
 * the step says it is and the generator's own limit (CPU, or in-flight bound x latency) is never
 * reported as loss in the stack.
 */
import { randomBytes } from "node:crypto";
import { checkServerIdentity } from "node:tls";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { credentials, type ChannelCredentials } from "@grpc/grpc-js";
import { diag, DiagLogLevel, SpanKind, SpanStatusCode, type Attributes, type HrTime, type SpanContext } from "@opentelemetry/api";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { CompressionAlgorithm } from "@opentelemetry/otlp-exporter-base";
import { resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import type { LoadStepOptions } from "./loadGenerator";

/** One worker's share of a load step: the step's connection and span shape, its own rate and count. */
export type WorkerConfig = Pick<
  LoadStepOptions,
  "otlpGrpcUrl" | "caPem" | "clientCertificatePem" | "clientKeyPem" | "tlsServerName" | "spansPerRequest" | "spansPerTrace" | "serviceName" | "exportTimeoutMs"
> & {
  workerIndex: number;
  /** this worker's share of the step's rate */
  spansPerSecond: number;
  /** this worker's share of the step's spans */
  totalSpans: number;
  compression: "none" | "gzip";
  maxInFlight: number;
  lateToleranceMs: number;
};

export type ParentToWorker = { type: "start"; startAtEpochMs: number };

export interface WorkerResult {
  spansSent: number;
  spansAccepted: number;
  spansFailed: number;
  spansBehindSchedule: number;
  /** failed requests per distinct (normalized) error message */
  errors: Record<string, number>;
  latenciesMs: number[];
  /** epoch ms when the last request was answered (or given up), 0 when nothing was sent */
  lastCompletionEpochMs: number;
}

export type WorkerToParent = { type: "ready" } | { type: "done"; result: WorkerResult };

/** Epoch milliseconds with sub-millisecond resolution; comparable across threads (unlike performance.now()). */
export function epochNowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Keeps error keys few and stable: grpc-js puts timings of varying call phases and addresses into its messages. */
export function normalizeErrorMessage(message: string): string {
  return message
    .replace(/Deadline exceeded after .*/, "Deadline exceeded")
    .replace(/\d+\.\d+s/g, "<t>s")
    .replace(/remote_addr=[^\s,]+/g, "remote_addr=<addr>")
    .replace(/\.?\s*Resolution note:\s*$/, "")
    .trim()
    .slice(0, 300);
}

/** mTLS when a client key pair is given; the server certificate is always verified against caPem only. */
export function channelCredentials(config: Pick<WorkerConfig, "caPem" | "clientCertificatePem" | "clientKeyPem" | "tlsServerName">): ChannelCredentials {
  const ca = Buffer.from(config.caPem);
  const key = config.clientKeyPem ? Buffer.from(config.clientKeyPem) : null;
  const cert = config.clientCertificatePem ? Buffer.from(config.clientCertificatePem) : null;
  const serverName = config.tlsServerName;
  // The exporter builds the gRPC channel itself and takes no channel options, so the name to verify is
  // swapped in through checkServerIdentity: grpc-js still verifies the chain against `ca` and refuses an
  // unauthorized peer before this runs; this only changes which host name the certificate must carry.
  const verifyOptions = serverName ? { checkServerIdentity: (_host: string, peer: Parameters<typeof checkServerIdentity>[1]) => checkServerIdentity(serverName, peer) } : undefined;
  return credentials.createSsl(ca, key, cert, verifyOptions);
}

/**
 * The exporter only logs an OTLP partial success (`diag.warn("Received Partial Success response:", json)`)
 * and still reports SUCCESS for the request. Its delegate calls that warning and then our export callback
 * synchronously, one after the other, so a diag logger that parks the last partial success lets the
 * callback attribute `rejected_spans` to exactly its own request (checked against exporter 0.223.1).
 */
class PartialSuccessCapture {
  private pending: { rejectedSpans: number; errorMessage: string } | undefined;

  install(): void {
    const ignore = (): void => undefined;
    diag.setLogger(
      {
        error: ignore,
        info: ignore,
        debug: ignore,
        verbose: ignore,
        warn: (message: string, ...args: unknown[]) => {
          if (!message.startsWith("Received Partial Success response")) return;
          try {
            const parsed: unknown = JSON.parse(String(args[0]));
            if (typeof parsed === "object" && parsed !== null) {
              const record = parsed as { rejectedSpans?: unknown; errorMessage?: unknown };
              this.pending = { rejectedSpans: Number(record.rejectedSpans ?? 0) || 0, errorMessage: String(record.errorMessage ?? "") };
            }
          } catch {
            this.pending = { rejectedSpans: 0, errorMessage: "unparseable partial success" };
          }
        },
      },
      { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
    );
  }

  take(): { rejectedSpans: number; errorMessage: string } | undefined {
    const value = this.pending;
    this.pending = undefined;
    return value;
  }
}

const ROUTES = ["/api/orders", "/api/orders/{id}", "/api/users/{id}", "/api/cart", "/api/search", "/healthz"];
const METHODS = ["GET", "POST", "PUT", "DELETE"];
const NO_LINKS: ReadableSpan["links"] = [];
const NO_EVENTS: ReadableSpan["events"] = [];

function hrTime(epochMs: number): HrTime {
  const seconds = Math.floor(epochMs / 1000);
  return [seconds, Math.round((epochMs - seconds * 1000) * 1e6)];
}

/**
 * Builds plain ReadableSpan objects (no TracerProvider: its id generation, clock reads and span
 * processors would cost more CPU than the export itself). Trace ids are `random worker prefix +
 * worker index + counter`, so they are unique within a step by construction and across steps with
 * overwhelming probability; every trace lives inside one request (the last one may be shorter).
 */
export class SpanFactory {
  private readonly resource: Resource;
  private readonly scope = { name: "tracing-stack-bench", version: "1.0.0" };
  private readonly tracePrefix: string;
  private readonly spanPrefix: string;
  private traceCounter = 0;
  private spanCounter = 0;
  private readonly payloads: string[];

  constructor(
    serviceName: string,
    workerIndex: number,
    private readonly spansPerTrace: number,
  ) {
    this.resource = resourceFromAttributes({ "service.name": serviceName, "service.instance.id": `bench-worker-${workerIndex}` });
    const index = (workerIndex & 0xffff).toString(16).padStart(4, "0");
    this.tracePrefix = randomBytes(6).toString("hex") + index;
    this.spanPrefix = index;
    // 100-byte values so the collector and Tempo have realistic bytes to move; a small pool keeps this cheap.
    this.payloads = Array.from({ length: 64 }, () => randomBytes(50).toString("hex"));
  }

  batch(size: number): ReadableSpan[] {
    const spans: ReadableSpan[] = new Array<ReadableSpan>(size);
    const now = Date.now();
    let root: SpanContext | undefined;
    for (let i = 0; i < size; i++) {
      const isRoot = i % this.spansPerTrace === 0;
      const traceId = isRoot || root === undefined ? this.nextTraceId() : root.traceId;
      const context: SpanContext = { traceId, spanId: this.nextSpanId(), traceFlags: 1 };
      const seq = this.spanCounter;
      const status = seq % 97 === 0 ? 500 : 200;
      const startMs = now - 20 + (isRoot ? 0 : 1 + (i % this.spansPerTrace));
      const durationMs = isRoot ? 15 : 2;
      const attributes: Attributes = {
        "http.method": METHODS[seq % METHODS.length],
        "http.route": ROUTES[seq % ROUTES.length],
        "http.status_code": status,
        "bench.sequence": seq,
        "bench.payload": this.payloads[seq % this.payloads.length],
      };
      spans[i] = {
        name: isRoot ? `${attributes["http.method"]} ${attributes["http.route"]}` : `db.query ${i % this.spansPerTrace}`,
        kind: isRoot ? SpanKind.SERVER : SpanKind.CLIENT,
        spanContext: () => context,
        ...(isRoot || root === undefined ? {} : { parentSpanContext: root }),
        startTime: hrTime(startMs),
        endTime: hrTime(startMs + durationMs),
        duration: hrTime(durationMs),
        status: status >= 500 ? { code: SpanStatusCode.ERROR, message: "internal error" } : { code: SpanStatusCode.UNSET },
        attributes,
        links: NO_LINKS,
        events: NO_EVENTS,
        ended: true,
        resource: this.resource,
        instrumentationScope: this.scope,
        droppedAttributesCount: 0,
        droppedEventsCount: 0,
        droppedLinksCount: 0,
      };
      if (isRoot) root = context;
    }
    return spans;
  }

  private nextTraceId(): string {
    this.traceCounter++;
    return this.tracePrefix + this.traceCounter.toString(16).padStart(16, "0");
  }

  private nextSpanId(): string {
    this.spanCounter++;
    return this.spanPrefix + this.spanCounter.toString(16).padStart(12, "0");
  }
}

/** Runs one worker's share of a step; resolves when every span is accounted for. */
export function runWorkerShare(config: WorkerConfig, channel: ChannelCredentials, startAtEpochMs: number): Promise<WorkerResult> {
  const capture = new PartialSuccessCapture();
  capture.install();
  const exporter = new OTLPTraceExporter({
    url: config.otlpGrpcUrl,
    credentials: channel,
    timeoutMillis: config.exportTimeoutMs,
    // Explicit, so OTEL_EXPORTER_OTLP_COMPRESSION in the environment cannot change what is measured.
    compression: config.compression === "gzip" ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
    // The delegate frees its own slot only after our callback has run, so our bound alone must decide:
    // its limit gets headroom, and hitting it anyway would show up as an error, never silently.
    concurrencyLimit: config.maxInFlight * 4 + 16,
  });
  // Retries: the gRPC exporter has none (only the OTLP/HTTP delegate wraps its transport in the retrying
  // transport), and grpc-js only retries transparently calls that never reached the server, so every
  // request is answered once and the counts below are exact.
  const factory = new SpanFactory(config.serviceName, config.workerIndex, config.spansPerTrace);
  const result: WorkerResult = { spansSent: 0, spansAccepted: 0, spansFailed: 0, spansBehindSchedule: 0, errors: {}, latenciesMs: [], lastCompletionEpochMs: 0 };
  const countError = (message: string): void => {
    const key = normalizeErrorMessage(message);
    result.errors[key] = (result.errors[key] ?? 0) + 1;
  };

  const rateMsPerSpan = 1000 / config.spansPerSecond;
  const pending: { size: number; dueAt: number }[] = [];
  let scheduledSpans = 0;
  let inFlight = 0;
  const outstanding = new Set<{ size: number }>();
  let timer: NodeJS.Timeout | undefined;
  let pumping = false;
  let pumpAgain = false;
  let finished = false;

  return new Promise<WorkerResult>((resolve) => {
    const finish = (): void => {
      if (finished) return;
      finished = true;
      if (timer) clearTimeout(timer);
      // Anything still unanswered here outlived its deadline plus grace: it counts as failed, and a late
      // answer is ignored (finished) so nothing is counted twice.
      for (const request of outstanding) {
        result.spansFailed += request.size;
        countError("no answer before the step ended");
      }
      if (outstanding.size > 0) result.lastCompletionEpochMs = epochNowMs();
      const drained = outstanding.size === 0;
      outstanding.clear();
      // shutdown() waits for in-flight exports, so only a drained exporter is shut down politely.
      const closing = drained ? exporter.shutdown().catch(() => undefined) : Promise.resolve();
      void closing.then(() => resolve(result));
    };

    const send = (size: number): void => {
      const spans = factory.batch(size);
      const request = { size };
      outstanding.add(request);
      inFlight++;
      result.spansSent += size;
      const sentAt = epochNowMs();
      exporter.export(spans, (exportResult: ExportResult) => {
        if (finished) return;
        const now = epochNowMs();
        outstanding.delete(request);
        inFlight--;
        result.latenciesMs.push(now - sentAt);
        result.lastCompletionEpochMs = now;
        if (exportResult.code === ExportResultCode.SUCCESS) {
          const partial = capture.take();
          const rejected = Math.min(size, Math.max(0, Math.floor(partial?.rejectedSpans ?? 0)));
          result.spansAccepted += size - rejected;
          result.spansFailed += rejected;
          if (rejected > 0) countError(`partial success: ${partial?.errorMessage || "rejected_spans without a message"}`);
        } else {
          result.spansFailed += size;
          countError(exportResult.error?.message || "export failed without an error");
        }
        pump();
      });
    };

    const pump = (): void => {
      // export() can call back synchronously (e.g. when it refuses a request), which re-enters pump.
      if (pumping) {
        pumpAgain = true;
        return;
      }
      pumping = true;
      do {
        pumpAgain = false;
        const now = epochNowMs();
        while (scheduledSpans < config.totalSpans) {
          const dueAt = startAtEpochMs + scheduledSpans * rateMsPerSpan;
          if (dueAt > now) break;
          const size = Math.min(config.spansPerRequest, config.totalSpans - scheduledSpans);
          pending.push({ size, dueAt });
          scheduledSpans += size;
        }
        let head = pending[0];
        while (head !== undefined && now - head.dueAt > config.lateToleranceMs) {
          result.spansBehindSchedule += head.size;
          pending.shift();
          head = pending[0];
        }
        while (head !== undefined && inFlight < config.maxInFlight) {
          pending.shift();
          send(head.size);
          head = pending[0];
        }
      } while (pumpAgain);
      pumping = false;

      if (timer) clearTimeout(timer);
      timer = undefined;
      if (scheduledSpans < config.totalSpans) {
        const nextDue = startAtEpochMs + scheduledSpans * rateMsPerSpan;
        timer = setTimeout(pump, Math.max(1, Math.ceil(nextDue - epochNowMs())));
      } else if (pending[0] !== undefined) {
        // Waiting for a free slot; if none frees before the tolerance, this drops the stale requests.
        const staleAt = pending[0].dueAt + config.lateToleranceMs;
        timer = setTimeout(pump, Math.max(1, Math.ceil(staleAt - epochNowMs()) + 1));
      } else if (inFlight === 0) {
        finish();
      } else {
        // Every request carries a gRPC deadline of exportTimeoutMs and each answer re-arms this timer,
        // so it only fires when the last requests were sent longer ago than their deadline plus a grace.
        timer = setTimeout(finish, config.exportTimeoutMs + 1000);
      }
    };

    timer = setTimeout(pump, Math.max(0, Math.ceil(startAtEpochMs - epochNowMs())));
  });
}

function main(): void {
  const port = parentPort;
  if (isMainThread || !port) return;
  const config = workerData as WorkerConfig;
  // Built before "ready" so that an unusable client key or certificate fails the step up front.
  const channel = channelCredentials(config);
  port.on("message", (message: ParentToWorker) => {
    if (message.type !== "start") return;
    void runWorkerShare(config, channel, message.startAtEpochMs).then((result) => {
      const done: WorkerToParent = { type: "done", result };
      port.postMessage(done);
    });
  });
  const ready: WorkerToParent = { type: "ready" };
  port.postMessage(ready);
}

main();
