/**
 * Stepping the offered rate up on a running stack: each step drives load into the collector for a
 * fixed time, waits for the pipeline to hand everything on, reads every hop's counters and the
 * containers' CPU and memory, and judges it. Stepping stops at the first step that loses, refuses or
 * queues spans (or where the generator itself falls behind); one step between the last good rate
 * and that one narrows the figure.
 */
import { sampleUsage } from "./containerUsage";
import { runLoadStep, type LoadStepOptions } from "./loadGenerator";
import { delta, readCollectorCounters, readTempoCounters, type CollectorCounters, type TempoCounters } from "./pipelineCounters";
import { judgeStep, type StepFigures, type StepVerdict } from "./stepVerdict";
import type { ClientTls } from "../e2e/support/https";

export interface SteppingTarget {
  /** the collector's OTLP/gRPC receiver as the generator dials it */
  otlpGrpcUrl: string;
  tlsServerName: string;
  client: ClientTls;
  tempoApiUrl: string;
  collectorContainer: string;
  collectorTelemetryPort: number;
  helperImage: string;
  /** service id -> container name, for CPU and memory */
  containers: Record<string, string>;
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

async function readCounters(target: SteppingTarget): Promise<{ collector: CollectorCounters; tempo: TempoCounters }> {
  const [collector, tempo] = await Promise.all([
    readCollectorCounters(target.collectorContainer, target.collectorTelemetryPort, target.helperImage),
    readTempoCounters(target.tempoApiUrl, target.client),
  ]);
  return { collector, tempo };
}

async function runStep(target: SteppingTarget, plan: SteppingPlan, spansPerSecond: number): Promise<JudgedStep> {
  const before = await readCounters(target);
  const usage = sampleUsage(Object.values(target.containers), 1000);
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
  // Drained: the collector has sent on all it accepted and Tempo's distributor has all of it.
  const drainStarted = Date.now();
  let after = await readCounters(target);
  let drainSeconds: number | null = null;
  while (Date.now() - drainStarted < plan.drainLimitSeconds * 1000) {
    const collector = delta(before.collector, after.collector, ["queueSize"]);
    const tempo = delta(before.tempo, after.tempo, ["liveTraces"]);
    // A batch the collector still holds (batch timeout 1 s) is not in the queue yet: wait for Tempo's count too.
    const handedOn = collector.exporterSent + collector.exporterSendFailed >= collector.receiverAccepted && collector.queueSize === 0;
    if (handedOn && tempo.distributorReceived + tempo.discarded >= collector.exporterSent) {
      drainSeconds = (Date.now() - drainStarted) / 1000;
      break;
    }
    await sleep(1000);
    after = await readCounters(target);
  }
  const byContainer = await usage.stop();
  const usageByService = Object.fromEntries(Object.entries(target.containers).map(([service, container]) => [service, byContainer[container]!]));
  const figures: StepFigures = {
    offeredSpansPerSecond: spansPerSecond,
    durationSeconds: plan.stepSeconds,
    generator,
    collector: delta(before.collector, after.collector, ["queueSize"]),
    tempo: delta(before.tempo, after.tempo, ["liveTraces"]),
    drainSeconds: drainSeconds === null ? null : Number(drainSeconds.toFixed(1)),
    drainLimitSeconds: plan.drainLimitSeconds,
    sustainedDrainSeconds: plan.sustainedDrainSeconds,
    usage: usageByService,
  };
  return { ...figures, verdict: judgeStep(figures) };
}

function describeStep(step: JudgedStep): string {
  const cpu = Object.entries(step.usage).map(([service, u]) => `${service} ${u.cpuCores.toFixed(2)}`).join(", ");
  const outcome = step.verdict.zeroLoss ? "zero loss" : step.verdict.problems.join("; ");
  return `${step.offeredSpansPerSecond} spans/s for ${step.durationSeconds} s: sent ${step.generator.spansSent}, Tempo received ${step.tempo.distributorReceived}, drained in ${step.drainSeconds ?? "-"} s, p99 ${step.generator.exportLatencyMs.p99} ms; cores ${cpu}: ${outcome}`;
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
