/**
 * OTLP/gRPC load generator for the benchmark: drives a steady, paced rate of spans into a collector's
 * OTLP/gRPC receiver over TLS from several worker threads (bench/loadWorker.ts, one OTLPTraceExporter
 * and so one HTTP/2 connection each) and counts exactly what was accepted, refused, or never sent
 * because the generator itself fell behind.
 */
import { extname, join } from "node:path";
import { Worker } from "node:worker_threads";
import type { ParentToWorker, WorkerConfig, WorkerResult, WorkerToParent } from "./loadWorker";

export interface LoadStepOptions {
  /** e.g. https://localhost:24317 */
  otlpGrpcUrl: string;
  caPem: string;
  /** mutual TLS: present this client certificate when given */
  clientCertificatePem?: string;
  clientKeyPem?: string;
  /** TLS server name to verify, default: host of the url */
  tlsServerName?: string;
  spansPerSecond: number;
  durationSeconds: number;
  /** worker threads */
  workers: number;
  /** spans in one OTLP export request (e.g. 200..1000) */
  spansPerRequest: number;
  /** e.g. 5: one root + children, unique trace ids */
  spansPerTrace: number;
  serviceName: string;
  exportTimeoutMs: number;
  /** gRPC message compression (default none, the SDK's default); gzip moves CPU into both generator and collector */
  compression?: "none" | "gzip";
  /** requests one worker keeps in flight at most (default 4); a due request waits for a slot, see lateToleranceMs */
  maxInFlightPerWorker?: number;
  /** how late a due request may still be sent (default: max(100 ms, one request interval)); later ones count as behind schedule */
  lateToleranceMs?: number;
}

export interface LoadStepResult {
  offeredSpansPerSecond: number;
  /** spans in export requests that were started */
  spansSent: number;
  /** spans in requests the receiver answered with success (minus rejected_spans of a partial success) */
  spansAccepted: number;
  /** spans in requests that failed (grpc status error, timeout, TLS error), plus rejected_spans of partial successes */
  spansFailed: number;
  /** distinct error messages with the number of requests that got them */
  errors: Record<string, number>;
  /** spans the generator could not send on schedule (it fell behind): the generator's own limit, reported separately so it is never mistaken for stack loss */
  spansBehindSchedule: number;
  /** from the scheduled start until the later of the scheduled end and the last answer */
  elapsedSeconds: number;
  /** accepted / elapsed */
  achievedSpansPerSecond: number;
  /** request latency percentiles in ms, from the export() call (protobuf encoding included) to the answer */
  exportLatencyMs: { p50: number; p95: number; p99: number; max: number };
  /** CPU seconds the generator process used during the step (all its threads; includes anything else running in this process) */
  generatorCpuSeconds: number;
}

const DEFAULT_MAX_IN_FLIGHT_PER_WORKER = 4;
/** Workers load tsx, grpc-js and the SDK before they are ready; a cold start on a busy machine takes seconds. */
const WORKER_READY_TIMEOUT_MS = 60_000;
/** Lets every worker receive the start message before the first request is due, so all start together. */
const START_DELAY_MS = 100;

function validate(options: LoadStepOptions): void {
  const positive = (name: keyof LoadStepOptions, integer: boolean): void => {
    const value = options[name];
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
      throw new Error(`load step: ${name} must be a positive ${integer ? "integer" : "number"} (got ${String(value)})`);
    }
  };
  positive("spansPerSecond", false);
  positive("durationSeconds", false);
  positive("workers", true);
  positive("spansPerRequest", true);
  positive("spansPerTrace", true);
  positive("exportTimeoutMs", true);
  if (options.maxInFlightPerWorker !== undefined) positive("maxInFlightPerWorker", true);
  if (options.lateToleranceMs !== undefined) positive("lateToleranceMs", false);
  // TLS only: the exporter would pick plaintext for an http:// url unless told otherwise.
  if (!/^https:\/\/[^/]+/.test(options.otlpGrpcUrl)) {
    throw new Error(`load step: otlpGrpcUrl must be an https:// url (got ${options.otlpGrpcUrl})`);
  }
  if (!options.caPem.includes("BEGIN CERTIFICATE")) throw new Error("load step: caPem is not a PEM certificate");
  if (Boolean(options.clientCertificatePem) !== Boolean(options.clientKeyPem)) {
    throw new Error("load step: clientCertificatePem and clientKeyPem go together");
  }
}

/** Splits n into `parts` integers that differ by at most one. */
function split(n: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(n / parts) + (i < n % parts ? 1 : 0));
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? 0;
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

/**
 * Under tsx the worker's entry cannot be a .ts file: Node 20 loads a worker's entry before the inherited
 * `--import tsx` hooks apply ("Unknown file extension .ts"). So a .ts worker is started from a tiny
 * CommonJS bootstrap that registers tsx's require hook (resolved from here, so the cwd does not matter).
 */
function startWorker(config: WorkerConfig): Worker {
  const entry = join(__dirname, `loadWorker${extname(__filename)}`);
  if (extname(entry) !== ".ts") return new Worker(entry, { workerData: config });
  const bootstrap = `require(${JSON.stringify(require.resolve("tsx/cjs"))});\nrequire(${JSON.stringify(entry)});`;
  return new Worker(bootstrap, { eval: true, workerData: config });
}

/** Resolves with the worker's result; rejects if it dies, errors, is not ready in time, or the step is aborted. */
function runWorker(config: WorkerConfig, ready: () => void, started: Promise<number>, aborted: Promise<Error>): Promise<WorkerResult> {
  return new Promise<WorkerResult>((resolve, reject) => {
    const worker = startWorker(config);
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(readyTimer);
      outcome();
      void worker.terminate();
    };
    const readyTimer = setTimeout(
      () => settle(() => reject(new Error(`load worker ${config.workerIndex} was not ready within ${WORKER_READY_TIMEOUT_MS} ms`))),
      WORKER_READY_TIMEOUT_MS,
    );
    worker.on("message", (message: WorkerToParent) => {
      if (message.type === "ready") {
        clearTimeout(readyTimer);
        ready();
        void started.then((startAtEpochMs) => {
          const start: ParentToWorker = { type: "start", startAtEpochMs };
          worker.postMessage(start);
        });
      } else if (message.type === "done") {
        settle(() => resolve(message.result));
      }
    });
    void aborted.then((error) => settle(() => reject(error)));
    worker.on("error", (error) => settle(() => reject(new Error(`load worker ${config.workerIndex} failed: ${error.message}`))));
    worker.on("exit", (code) => settle(() => reject(new Error(`load worker ${config.workerIndex} exited (code ${code}) before reporting`))));
  });
}

export async function runLoadStep(options: LoadStepOptions): Promise<LoadStepResult> {
  validate(options);
  const totalSpans = Math.round(options.spansPerSecond * options.durationSeconds);
  const workerRate = options.spansPerSecond / options.workers;
  const lateToleranceMs = options.lateToleranceMs ?? Math.max(100, (1000 * options.spansPerRequest) / workerRate);
  const shares = split(totalSpans, options.workers);

  let readyCount = 0;
  let release: (startAtEpochMs: number) => void = () => undefined;
  const started = new Promise<number>((resolve) => (release = resolve));
  let cpuAtStart = process.cpuUsage();
  let startAtEpochMs = 0;
  const onReady = (): void => {
    readyCount++;
    if (readyCount < options.workers) return;
    // CPU and time are counted from here: worker start-up (tsx, module loading) is not part of the step.
    cpuAtStart = process.cpuUsage();
    startAtEpochMs = performance.timeOrigin + performance.now() + START_DELAY_MS;
    release(startAtEpochMs);
  };

  // One worker failing before the start would leave the others waiting for it forever: stop them all.
  let abort: (error: Error) => void = () => undefined;
  const aborted = new Promise<Error>((resolve) => (abort = resolve));

  const runs = shares.map((share, workerIndex) =>
    runWorker(
      {
        workerIndex,
        otlpGrpcUrl: options.otlpGrpcUrl,
        caPem: options.caPem,
        ...(options.clientCertificatePem ? { clientCertificatePem: options.clientCertificatePem } : {}),
        ...(options.clientKeyPem ? { clientKeyPem: options.clientKeyPem } : {}),
        ...(options.tlsServerName ? { tlsServerName: options.tlsServerName } : {}),
        spansPerSecond: workerRate,
        totalSpans: share,
        spansPerRequest: options.spansPerRequest,
        spansPerTrace: options.spansPerTrace,
        serviceName: options.serviceName,
        exportTimeoutMs: options.exportTimeoutMs,
        compression: options.compression ?? "none",
        maxInFlight: options.maxInFlightPerWorker ?? DEFAULT_MAX_IN_FLIGHT_PER_WORKER,
        lateToleranceMs,
      },
      onReady,
      started,
      aborted,
    ),
  );
  for (const run of runs) run.catch((error: unknown) => abort(error instanceof Error ? error : new Error(String(error))));
  // allSettled first so that one failing worker does not leave the others running unobserved.
  const settled = await Promise.allSettled(runs);
  const failure = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
  if (failure) throw failure.reason instanceof Error ? failure.reason : new Error(String(failure.reason));
  const results = settled.map((outcome) => (outcome as PromiseFulfilledResult<WorkerResult>).value);
  const cpu = process.cpuUsage(cpuAtStart);

  const sum = (pick: (result: WorkerResult) => number): number => results.reduce((total, result) => total + pick(result), 0);
  const errors: Record<string, number> = {};
  for (const result of results) {
    for (const [message, count] of Object.entries(result.errors)) errors[message] = (errors[message] ?? 0) + count;
  }
  const latencies = results.flatMap((result) => result.latenciesMs).sort((a, b) => a - b);
  const scheduledEnd = startAtEpochMs + options.durationSeconds * 1000;
  const lastAnswer = Math.max(0, ...results.map((result) => result.lastCompletionEpochMs));
  const elapsedSeconds = (Math.max(scheduledEnd, lastAnswer) - startAtEpochMs) / 1000;
  const spansAccepted = sum((result) => result.spansAccepted);

  return {
    offeredSpansPerSecond: options.spansPerSecond,
    spansSent: sum((result) => result.spansSent),
    spansAccepted,
    spansFailed: sum((result) => result.spansFailed),
    errors,
    spansBehindSchedule: sum((result) => result.spansBehindSchedule),
    elapsedSeconds: round(elapsedSeconds, 3),
    achievedSpansPerSecond: round(spansAccepted / elapsedSeconds, 1),
    exportLatencyMs: {
      p50: round(percentile(latencies, 50), 2),
      p95: round(percentile(latencies, 95), 2),
      p99: round(percentile(latencies, 99), 2),
      max: round(latencies[latencies.length - 1] ?? 0, 2),
    },
    generatorCpuSeconds: round((cpu.user + cpu.system) / 1e6, 3),
  };
}
