import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { summarizeUsage, workingSetBytes } from "../../bench/containerUsage";
import type { LoadStepResult } from "../../bench/loadGenerator";
import { highestZeroLoss, type JudgedStep } from "../../bench/loadSteps";
import { delta, parseCollectorCounters, parseTempoCounters } from "../../bench/pipelineCounters";
import { formatTable, summarize } from "../../bench/report";
import { judgeStep, type StepFigures } from "../../bench/stepVerdict";

function generator(sent: number, change: Partial<LoadStepResult> = {}): LoadStepResult {
  return {
    offeredSpansPerSecond: sent / 10, spansSent: sent, spansAccepted: sent, spansFailed: 0, errors: {}, spansBehindSchedule: 0,
    elapsedSeconds: 10, achievedSpansPerSecond: sent / 10, exportLatencyMs: { p50: 3, p95: 8, p99: 12, max: 20 }, generatorCpuSeconds: 1, ...change,
  };
}

/** A step in which every span offered reached Tempo's distributor. */
function cleanStep(rate: number, change: Partial<StepFigures> = {}): StepFigures {
  const sent = rate * 10;
  return {
    offeredSpansPerSecond: rate, durationSeconds: 10, generator: generator(sent),
    collector: { receiverAccepted: sent, receiverRefused: 0, exporterSent: sent, exporterSendFailed: 0, exporterEnqueueFailed: 0, queueSize: 0 },
    tempo: { receiverAccepted: sent, receiverRefused: 0, distributorReceived: sent, discarded: 0, discardedLiveTracesExceeded: 0, discardedRateLimited: 0, discardedTraceTooLarge: 0, ingesterAppendFailures: 0, liveTraces: 900 },
    drainSeconds: 1.2, drainLimitSeconds: 30, sustainedDrainSeconds: 3,
    usage: { collector: { cpuCores: 0.4, peakMemoryMiB: 80 }, tempo: { cpuCores: 0.7, peakMemoryMiB: 300 } },
    ...change,
  };
}

const judged = (step: StepFigures): JudgedStep => ({ ...step, verdict: judgeStep(step) });

describe("a benchmark step's verdict", () => {
  it("is zero loss only when every hop counted every span and the queue drained", () => {
    assert.deepEqual(judgeStep(cleanStep(5000)), { zeroLoss: true, generatorLimited: false, fellBehindOnly: false, problems: [] });
  });

  it("names each way spans go missing", () => {
    const base = cleanStep(5000);
    const cases: Array<[string, StepFigures, RegExp]> = [
      ["Tempo's distributor short of spans", { ...base, tempo: { ...base.tempo, distributorReceived: 49_000 } }, /Tempo's distributor received 49000 of 50000 spans \(1000 lost\)/],
      ["Tempo discarding", { ...base, tempo: { ...base.tempo, discarded: 10, discardedLiveTracesExceeded: 10 } }, /Tempo discarded 10 spans \(tempo_discarded_spans_total: live_traces_exceeded 10\)/],
      ["a backlog that took long to drain", { ...base, drainSeconds: 12.4 }, /needed 12.4 s after the step to hand on its backlog \(more than 3 s: it fell behind the offered rate\)/],
      ["the collector refusing", { ...base, collector: { ...base.collector, receiverRefused: 500 } }, /the collector refused 500 spans/],
      ["the collector's queue full", { ...base, collector: { ...base.collector, exporterEnqueueFailed: 500 } }, /queue was full for 500 spans/],
      ["a queue that never drains", { ...base, drainSeconds: null, collector: { ...base.collector, queueSize: 12 } }, /still held 12 batches 30 s after the step \(queued without bound\)/],
      ["the generator's requests failing", { ...base, generator: generator(50_000, { spansAccepted: 49_500, spansFailed: 500, errors: { "14 UNAVAILABLE": 1 } }) }, /500 spans failed at the collector's receiver \(1x 14 UNAVAILABLE\)/],
    ];
    for (const [name, step, expected] of cases) {
      const verdict = judgeStep(step);
      assert.equal(verdict.zeroLoss, false, name);
      assert.ok(verdict.problems.some((p) => expected.test(p)), `${name}: ${verdict.problems.join(" | ")}`);
    }
  });

  it("tells a pipeline that only fell behind from one that lost spans", () => {
    assert.equal(judgeStep(cleanStep(5000, { drainSeconds: 5.5 })).fellBehindOnly, true);
    const lossy = cleanStep(5000, { drainSeconds: 5.5 });
    assert.equal(judgeStep({ ...lossy, tempo: { ...lossy.tempo, distributorReceived: 1 } }).fellBehindOnly, false);
    const table = formatTable([{ collectorToTempo: "tls", steps: [judged(cleanStep(5000, { drainSeconds: 5.5 }))] }], summarize([]));
    assert.match(table, /fell behind\n/);
  });

  it("tells a generator that fell behind from a stack that lost spans", () => {
    const step = cleanStep(5000, { generator: generator(45_000, { spansBehindSchedule: 5000 }) });
    const verdict = judgeStep({ ...step, collector: { ...step.collector, receiverAccepted: 45_000, exporterSent: 45_000 }, tempo: { ...step.tempo, distributorReceived: 45_000 } });
    assert.equal(verdict.zeroLoss, false);
    assert.equal(verdict.generatorLimited, true);
    assert.match(verdict.problems.join(), /fell 5000 spans behind schedule/);
  });
});

describe("the benchmark's figures", () => {
  it("reports the highest zero-loss rate per variant, and TLS over plaintext", () => {
    const tls = [judged(cleanStep(5000)), judged(cleanStep(10_000)), judged(cleanStep(15_000, { tempo: { ...cleanStep(15_000).tempo, discarded: 3 } })), judged(cleanStep(12_500))];
    const plaintext = [judged(cleanStep(5000)), judged(cleanStep(10_000)), judged(cleanStep(15_000)), judged(cleanStep(20_000, { drainSeconds: null }))];
    assert.equal(highestZeroLoss(tls)?.offeredSpansPerSecond, 12_500);
    const summary = summarize([{ collectorToTempo: "tls", steps: tls }, { collectorToTempo: "plaintext", steps: plaintext }]);
    assert.deepEqual(summary.highestZeroLossSpansPerSecond, { tls: 12_500, plaintext: 15_000 });
    assert.equal(summary.tlsToPlaintextRatio, 0.833);
    const table = formatTable([{ collectorToTempo: "tls", steps: tls }], summary);
    assert.match(table, /highest zero-loss rate, TLS: +12500 spans\/s/);
    assert.match(table, /TLS \/ plaintext: +83\.3 %/);
    assert.match(table, /at 15000: Tempo discarded 3 spans/);
  });

  it("has no ratio when a variant had no zero-loss step", () => {
    const summary = summarize([{ collectorToTempo: "tls", steps: [judged(cleanStep(5000, { drainSeconds: null }))] }, { collectorToTempo: "plaintext", steps: [judged(cleanStep(5000))] }]);
    assert.deepEqual(summary.highestZeroLossSpansPerSecond, { tls: null, plaintext: 5000 });
    assert.equal(summary.tlsToPlaintextRatio, null);
  });

  it("calls a rate every step passed a lower bound, and compares no lower bounds", () => {
    const variants = [{ collectorToTempo: "tls" as const, steps: [judged(cleanStep(2000)), judged(cleanStep(5000))] }, { collectorToTempo: "plaintext" as const, steps: [judged(cleanStep(2000)), judged(cleanStep(5000))] }];
    const summary = summarize(variants);
    assert.deepEqual(summary.limitFound, { tls: false, plaintext: false });
    assert.equal(summary.tlsToPlaintextRatio, null);
    assert.match(formatTable(variants, summary), /TLS: +>= 5000 spans\/s \(no step lost spans: a lower bound, not the limit\)/);
  });
});

describe("container usage from the engine's stats", () => {
  it("averages cores over the readings and keeps the peak working set", () => {
    const usage = summarizeUsage([
      { atMs: 0, cpuNanoseconds: 0, memoryBytes: 100 * 2 ** 20 },
      { atMs: 1000, cpuNanoseconds: 0.5e9, memoryBytes: 180 * 2 ** 20 },
      { atMs: 4000, cpuNanoseconds: 3e9, memoryBytes: 150 * 2 ** 20 },
    ]);
    assert.deepEqual(usage, { cpuCores: 0.75, peakMemoryMiB: 180 });
  });

  it("leaves out the page cache the kernel can drop, as docker stats does", () => {
    assert.equal(workingSetBytes({ usage: 1000, stats: { total_inactive_file: 300 } }), 700);
    assert.equal(workingSetBytes({ usage: 1000, stats: { inactive_file: 200 } }), 800);
    assert.equal(workingSetBytes({ usage: 1000 }), 1000);
  });
});

describe("the pipeline's counters", () => {
  const fixture = (path: string): string => readFileSync(join(__dirname, path), "utf8");

  it("reads the collector's own counters as the real collector 0.159.0 exposes them", () => {
    const counters = parseCollectorCounters(fixture("fixtures/otelcol-0.159.0-telemetry.prom"));
    assert.equal(counters.receiverAccepted, 66_035);
    assert.equal(counters.exporterSent, 66_035);
    assert.equal(counters.receiverRefused, 0);
    assert.equal(counters.queueSize, 0);
  });

  it("reads Tempo's distributor counters from a real Tempo's /metrics", () => {
    const counters = parseTempoCounters(fixture("../verifier/fixtures/recorded/tempo-e2e-healthy.prom"));
    // Recorded from grafana/tempo:2.10.8 after the e2e's healthy verification: 10 traces of 7 spans, all swept.
    assert.equal(counters.distributorReceived, 70);
    assert.equal(counters.receiverAccepted, 70);
    assert.equal(counters.discarded, 0);
    assert.equal(counters.discardedLiveTracesExceeded, 0);
    assert.equal(counters.liveTraces, 0);
    const discarding = parseTempoCounters(`${fixture("../verifier/fixtures/recorded/tempo-e2e-healthy.prom")}\ntempo_discarded_spans_total{reason="live_traces_exceeded",tenant="t2"} 7\n`);
    assert.equal(discarding.discardedLiveTracesExceeded, 7);
    assert.equal(discarding.discarded, 7);
  });

  it("refuses text that is not the collector's or Tempo's metrics instead of counting zeros", () => {
    assert.throws(() => parseCollectorCounters("up 1\n"), /no otelcol_ metrics/);
    assert.throws(() => parseTempoCounters("up 1\n"), /no tempo_distributor_ metrics/);
  });

  it("subtracts counters and keeps gauges", () => {
    assert.deepEqual(delta({ sent: 10, queue: 4 }, { sent: 25, queue: 1 }, ["queue"]), { sent: 15, queue: 1 });
  });
});
