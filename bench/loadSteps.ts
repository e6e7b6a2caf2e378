/**
 * Stepping the offered rate up on a running stack: each step drives load into the collector for a
 * fixed time, waits for the pipeline to hand everything on, reads every hop's counters and the
 * containers' CPU and memory, and judges it. Stepping stops at the first step that loses, refuses or
 * queues spans (or where the generator itself falls behind); one step between the last good rate
 * and that one narrows the figure. Tempo's counters come from the target's TempoCounterSource: its
 * own /metrics, or (microservices) Prometheus' /federate, whose readings lag by up to a scrape.
 */
import { groupUsageByComponent, sampleUsage } from "./containerUsage";
import { runLoadStep, type LoadStepOptions } from "./loadGenerator";
import { delta, readCollectorCounters, type CollectorCounters, type TempoCounterSource, type TempoReading } from "./pipelineCounters";
import { judgeStep, type StepFigures, type StepVerdict } from "./stepVerdict";
import type { ClientTls } from "../e2e/support/https";

export interface SteppingTarget {
  /** the collector's OTLP/gRPC receiver as the generator dials it */
  otlpGrpcUrl: string;
  tlsServerName: string;
  client: ClientTls;
  /** where Tempo's counters are read: its /metrics (monolithic) or Prometheus' /federate (microservices) */
  tempoCounters: TempoCounterSource;
  /** 1 monolithic; the distributed stack's tempo.replicationFactor in microservices mode */
  replicationFactor: number;
  collectorContainer: string;
  collectorTelemetryPort: number;
  helperImage: string;
  /** service id -> its container's name (for docker stats) and its component (for the per-component sums) */
  containers: Record<string, { name: string; component: string }>;
}

export interface SteppingPlan {
  /** rates tried in order until one fails */
  spansPerSecond: number[];
  /** try one rate halfway between the last good and the first failing rate */
  refine: boolean;
  stepSeconds: number;
  drainLimitSeconds: number;
  sustainedDrainSeconds: number;
  workers: number;
  spansPerRequest: number;
  spansPerTrace: number;
  maxInFlightPerWorker: number;
  lateToleranceMs: number;
  log: (line: string) => void;
}

export interface JudgedStep extends StepFigures {
  verdict: StepVerdict;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function readCounters(target: SteppingTarget): Promise<{ collector: CollectorCounters; tempo: TempoReading }> {
  const [collector, tempo] = await Promise.all([
    readCollectorCounters(target.collectorContainer, target.collectorTelemetryPort, target.helperImage),
    target.tempoCounters.read(),
  ]);
  return { collector, tempo };
}

/**
 * Counters that answer for the pipeline at `sinceMs` or later. Read from Tempo itself, the first
 * reading does; through Prometheus, the next scrape of every container (within the source's lag).
 */
async function readCountersSince(target: SteppingTarget, sinceMs: number): Promise<{ collector: CollectorCounters; tempo: TempoReading }> {
  const deadline = sinceMs + (target.tempoCounters.lagSeconds + 10) * 1000;
  for (;;) {
    const reading = await readCounters(target);
    if (reading.tempo.takenAtMs >= sinceMs) return reading;
    if (Date.now() > deadline) throw new Error(`${target.tempoCounters.description}: no reading newer than ${new Date(sinceMs).toISOString()} within ${target.tempoCounters.lagSeconds + 10} s (is Prometheus scraping Tempo?)`);
    await sleep(1000);
  }
}

async function runStep(target: SteppingTarget, plan: SteppingPlan, spansPerSecond: number): Promise<JudgedStep> {
  // The pipeline is idle between steps: a reading of that state is the step's baseline.
  const before = await readCountersSince(target, Date.now());
  const usage = sampleUsage(Object.values(target.containers).map((c) => c.name), 1000);
  const options: LoadStepOptions = {
    otlpGrpcUrl: target.otlpGrpcUrl,
    tlsServerName: target.tlsServerName,
    caPem: target.client.ca,
    ...(target.client.cert && target.client.key ? { clientCertificatePem: target.client.cert, clientKeyPem: target.client.key } : {}),
    spansPerSecond,
    durationSeconds: plan.stepSeconds,
    workers: plan.workers,
    spansPerRequest: plan.spansPerRequest,
    spansPerTrace: plan.spansPerTrace,
    maxInFlightPerWorker: plan.maxInFlightPerWorker,
    lateToleranceMs: plan.lateToleranceMs,
    serviceName: "bench-load",
    exportTimeoutMs: 10_000,
  };
  const generator = await runLoadStep(options).catch(async (error: unknown) => {
    await usage.stop();
    throw error;
  });
  // Drained: the collector has sent on all it accepted (each send acknowledged by a distributor), its
  // queue is empty, and a reading of Tempo's counters taken after that counts every span sent.
  // Read from Tempo itself, both hold in one reading. Through Prometheus, Tempo's count lags by up
  // to a scrape interval: the drain time is the collector's, and Tempo's count is awaited for the
  // source's lag beyond the drain limit (tempoCountLimitSeconds), so the lag is never taken for loss.
  const lagSeconds = target.tempoCounters.lagSeconds;
  const tempoCountLimitSeconds = plan.drainLimitSeconds + lagSeconds;
  const drainStarted = Date.now();
  let after = await readCounters(target);
  let readAt = drainStarted;
  let drainSeconds: number | null = null;
  let handedOnAtMs: number | null = null;
  let tempoCountedSeconds: number | null = null;
  // CPU is averaged over the step and its drain, not over the wait for Prometheus' next scrape.
  let usageStopped: ReturnType<typeof usage.stop> | undefined;
  for (;;) {
    const collector = delta(before.collector, after.collector, ["queueSize"]);
    const tempo = delta(before.tempo.counters, after.tempo.counters, ["liveTraces"]);
    // A batch the collector still holds (batch timeout 1 s) is not in the queue yet: wait for Tempo's count too.
    const handedOn = collector.exporterSent + collector.exporterSendFailed >= collector.receiverAccepted && collector.queueSize === 0;
    const tempoHasAll = tempo.distributorReceived + tempo.discarded >= collector.exporterSent;
    if (handedOnAtMs === null && handedOn && (lagSeconds > 0 || tempoHasAll)) {
      // Through Prometheus: Tempo's count must come from scrapes after this reading of the collector.
      handedOnAtMs = lagSeconds > 0 ? Date.now() : readAt;
      drainSeconds = (Date.now() - drainStarted) / 1000;
      usageStopped = usage.stop();
      usageStopped.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    }
    if (handedOnAtMs !== null && tempoHasAll && after.tempo.takenAtMs >= handedOnAtMs) {
      tempoCountedSeconds = (Date.now() - drainStarted) / 1000;
      break;
    }
    const limit = handedOnAtMs === null ? plan.drainLimitSeconds : tempoCountLimitSeconds;
    if (Date.now() - drainStarted >= limit * 1000) break;
    await sleep(1000);
    readAt = Date.now();
    after = await readCounters(target);
  }
  const byContainer = await (usageStopped ?? usage.stop());
  const usageByService = Object.fromEntries(Object.entries(target.containers).map(([service, container]) => [service, byContainer[container.name]!]));
  const componentOf = Object.fromEntries(Object.entries(target.containers).map(([service, container]) => [service, container.component]));
  const figures: StepFigures = {
    offeredSpansPerSecond: spansPerSecond,
    durationSeconds: plan.stepSeconds,
    generator,
    collector: delta(before.collector, after.collector, ["queueSize"]),
    tempo: delta(before.tempo.counters, after.tempo.counters, ["liveTraces"]),
    drainSeconds: drainSeconds === null ? null : Number(drainSeconds.toFixed(1)),
    drainLimitSeconds: plan.drainLimitSeconds,
    tempoCountedSeconds: tempoCountedSeconds === null ? null : Number(tempoCountedSeconds.toFixed(1)),
    tempoCountLimitSeconds,
    replicationFactor: target.replicationFactor,
    sustainedDrainSeconds: plan.sustainedDrainSeconds,
    usage: usageByService,
    usageByComponent: groupUsageByComponent(usageByService, componentOf),
  };
  return { ...figures, verdict: judgeStep(figures) };
}

function describeStep(step: JudgedStep): string {
  const cpu = Object.entries(step.usageByComponent).map(([component, u]) => `${component} ${u.cpuCores.toFixed(2)}`).join(", ");
  const outcome = step.verdict.zeroLoss ? "zero loss" : step.verdict.problems.join("; ");
  return `${step.offeredSpansPerSecond} spans/s for ${step.durationSeconds} s: sent ${step.generator.spansSent}, Tempo received ${step.tempo.distributorReceived}, drained in ${step.drainSeconds ?? "-"} s${step.tempoCountedSeconds !== step.drainSeconds ? ` (Tempo's count read after ${step.tempoCountedSeconds ?? "-"} s)` : ""}, p99 ${step.generator.exportLatencyMs.p99} ms; cores ${cpu}: ${outcome}`;
}

/** Runs the plan's steps; returns every step run, in order. */
export async function stepUp(target: SteppingTarget, plan: SteppingPlan): Promise<JudgedStep[]> {
  const steps: JudgedStep[] = [];
  let lastGood: number | undefined;
  for (const rate of plan.spansPerSecond) {
    const step = await runStep(target, plan, rate);
    steps.push(step);
    plan.log(describeStep(step));
    if (!step.verdict.zeroLoss) {
      if (plan.refine && lastGood !== undefined && !step.verdict.generatorLimited) {
        const middle = Math.round((lastGood + rate) / 2 / 500) * 500;
        if (middle > lastGood && middle < rate) {
          // Let Tempo's live traces of the failed step be flushed before the next measurement.
          await sleep(5000);
          const narrowed = await runStep(target, plan, middle);
          steps.push(narrowed);
          plan.log(describeStep(narrowed));
        }
      }
      break;
    }
    lastGood = rate;
    await sleep(3000);
  }
  return steps;
}

/** The highest offered rate with zero loss, or undefined when none had. */
export function highestZeroLoss(steps: readonly JudgedStep[]): JudgedStep | undefined {
  return steps.filter((s) => s.verdict.zeroLoss).sort((a, b) => b.offeredSpansPerSecond - a.offeredSpansPerSecond)[0];
}
