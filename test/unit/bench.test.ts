import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BENCH_STACK, BENCH_VARIANTS, benchSettings, collectorToTempoOf, scrapeIntervalSeconds, variantAlteration, type BenchVariant } from "../../bench/benchStack";
import { groupUsageByComponent, summarizeUsage, workingSetBytes, type ContainerUsage } from "../../bench/containerUsage";
import type { LoadStepResult } from "../../bench/loadGenerator";
import { highestZeroLoss, type JudgedStep } from "../../bench/loadSteps";
import { delta, parseCollectorCounters, parseFederatedTempo, parseSampleLine, parseTempoCounters, TEMPO_COUNTER_FAMILIES, tempoFederateUrl } from "../../bench/pipelineCounters";
import { formatTable, summarize, type VariantResult } from "../../bench/report";
import { judgeStep, type StepFigures } from "../../bench/stepVerdict";
import { counter, topologyOf } from "../../e2e/support/e2eStack";
import { instancesOfComponent } from "../../model";

function generator(sent: number, change: Partial<LoadStepResult> = {}): LoadStepResult {
  return {
    offeredSpansPerSecond: sent / 10, spansSent: sent, spansAccepted: sent, spansFailed: 0, errors: {}, spansBehindSchedule: 0,
    elapsedSeconds: 10, achievedSpansPerSecond: sent / 10, exportLatencyMs: { p50: 3, p95: 8, p99: 12, max: 20 }, generatorCpuSeconds: 1, ...change,
  };
}

/** Service id -> component as the model names them: `tempoIngester-2` belongs to `tempoIngester`. */
const componentsOf = (usage: Record<string, ContainerUsage>): Record<string, string> => Object.fromEntries(Object.keys(usage).map((id) => [id, id.replace(/-\d+$/, "")]));

/** A step in which every span offered reached Tempo's distributor (monolithic unless changed). */
function cleanStep(rate: number, change: Partial<StepFigures> = {}): StepFigures {
  const sent = rate * 10;
  const drainSeconds = "drainSeconds" in change ? (change.drainSeconds ?? null) : 1.2;
  const usage = change.usage ?? { collector: { cpuCores: 0.4, peakMemoryMiB: 80 }, tempo: { cpuCores: 0.7, peakMemoryMiB: 300 } };
  return {
    offeredSpansPerSecond: rate, durationSeconds: 10, generator: generator(sent),
    collector: { receiverAccepted: sent, receiverRefused: 0, exporterSent: sent, exporterSendFailed: 0, exporterEnqueueFailed: 0, queueSize: 0 },
    tempo: { receiverAccepted: sent, receiverRefused: 0, distributorReceived: sent, discarded: 0, discardedLiveTracesExceeded: 0, discardedRateLimited: 0, discardedTraceTooLarge: 0, ingesterAppendFailures: 0, liveTraces: 900 },
    drainSeconds, drainLimitSeconds: 30, tempoCountedSeconds: drainSeconds, tempoCountLimitSeconds: 30, replicationFactor: 1, sustainedDrainSeconds: 3,
    usage, usageByComponent: groupUsageByComponent(usage, componentsOf(usage)),
    ...change,
  };
}

const judged = (step: StepFigures): JudgedStep => ({ ...step, verdict: judgeStep(step) });

/** A variant's result as run.ts returns it. */
function result(variant: BenchVariant, steps: JudgedStep[]): VariantResult {
  const microservices = variant === "microservices";
  return {
    variant,
    collectorToTempo: collectorToTempoOf(variant),
    tempoMode: microservices ? "microservices" : "monolithic",
    replicationFactor: microservices ? 3 : 1,
    tempoCounters: microservices ? { source: "Prometheus' /federate (Tempo's containers scraped every 10 s)", lagSeconds: 15 } : { source: "Tempo's /metrics", lagSeconds: 0 },
    steps,
  };
}

/** The distributed stack's containers under load: two distributors, three ingesters, ... */
const MICROSERVICES_USAGE: Record<string, ContainerUsage> = {
  "tempoDistributor-1": { cpuCores: 0.3, peakMemoryMiB: 90 },
  "tempoDistributor-2": { cpuCores: 0.25, peakMemoryMiB: 85 },
  "tempoIngester-1": { cpuCores: 0.2, peakMemoryMiB: 200 },
  "tempoIngester-2": { cpuCores: 0.22, peakMemoryMiB: 210 },
  "tempoIngester-3": { cpuCores: 0.18, peakMemoryMiB: 190.5 },
  tempoQueryFrontend: { cpuCores: 0.01, peakMemoryMiB: 40 },
  objectStore: { cpuCores: 0.02, peakMemoryMiB: 60 },
  collector: { cpuCores: 0.35, peakMemoryMiB: 30 },
};

/** A microservices step: counters through Prometheus, 15 s of lag allowed on top of the drain limit. */
function microservicesStep(rate: number, change: Partial<StepFigures> = {}): StepFigures {
  return cleanStep(rate, { replicationFactor: 3, tempoCountedSeconds: 11.4, tempoCountLimitSeconds: 45, usage: MICROSERVICES_USAGE, usageByComponent: groupUsageByComponent(MICROSERVICES_USAGE, componentsOf(MICROSERVICES_USAGE)), ...change });
}

describe("a benchmark step's verdict", () => {
  it("is zero loss only when every hop counted every span and the queue drained", () => {
    assert.deepEqual(judgeStep(cleanStep(5000)), { zeroLoss: true, generatorLimited: false, fellBehindOnly: false, problems: [], notes: [] });
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
    const table = formatTable([result("tls", [judged(cleanStep(5000, { drainSeconds: 5.5 }))])], summarize([]));
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
    const summary = summarize([result("tls", tls), result("plaintext", plaintext)]);
    assert.deepEqual(summary.highestZeroLossSpansPerSecond, { tls: 12_500, plaintext: 15_000 });
    assert.equal(summary.tlsToPlaintextRatio, 0.833);
    const table = formatTable([result("tls", tls)], summary);
    assert.match(table, /highest zero-loss rate:\n +TLS +plaintext\n +12500 spans\/s +15000 spans\/s\n/);
    assert.match(table, /TLS \/ plaintext: +83\.3 %/);
    assert.match(table, /at 15000: Tempo discarded 3 spans/);
  });

  it("has no ratio when a variant had no zero-loss step", () => {
    const summary = summarize([result("tls", [judged(cleanStep(5000, { drainSeconds: null }))]), result("plaintext", [judged(cleanStep(5000))])]);
    assert.deepEqual(summary.highestZeroLossSpansPerSecond, { tls: null, plaintext: 5000 });
    assert.equal(summary.tlsToPlaintextRatio, null);
  });

  it("calls a rate every step passed a lower bound, and compares no lower bounds", () => {
    const variants = [result("tls", [judged(cleanStep(2000)), judged(cleanStep(5000))]), result("plaintext", [judged(cleanStep(2000)), judged(cleanStep(5000))])];
    const summary = summarize(variants);
    assert.deepEqual(summary.limitFound, { tls: false, plaintext: false });
    assert.equal(summary.tlsToPlaintextRatio, null);
    const table = formatTable(variants, summary);
    assert.match(table, /\n +>= 5000 spans\/s +>= 5000 spans\/s\n/);
    assert.match(table, />=: no step lost spans: a lower bound, not the limit/);
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

describe("Tempo's counters through Prometheus' /federate (microservices mode)", () => {
  // As Prometheus' /federate writes them: one untyped family per name, every series with the
  // `instance` and `job` of the container it was scraped from, and its scrape time in ms.
  const FEDERATED = [
    "# TYPE tempo_distributor_spans_received_total untyped",
    'tempo_distributor_spans_received_total{instance="tempo-distributor-1:3200",job="tempo-distributor",tenant="single-tenant"} 60000 1733580001234',
    'tempo_distributor_spans_received_total{instance="tempo-distributor-2:3200",job="tempo-distributor",tenant="single-tenant"} 40000 1733580004321',
    "# TYPE tempo_receiver_accepted_spans untyped",
    'tempo_receiver_accepted_spans{instance="tempo-distributor-1:3200",job="tempo-distributor",receiver="otlp/otlp_receiver",transport="grpc"} 60000 1733580001234',
    'tempo_receiver_accepted_spans{instance="tempo-distributor-2:3200",job="tempo-distributor",receiver="otlp/otlp_receiver",transport="grpc"} 40000 1733580004321',
    "# TYPE tempo_receiver_refused_spans untyped",
    'tempo_receiver_refused_spans{instance="tempo-distributor-1:3200",job="tempo-distributor",receiver="otlp/otlp_receiver",transport="grpc"} 0 1733580001234',
    "# TYPE tempo_distributor_ingester_append_failures_total untyped",
    'tempo_distributor_ingester_append_failures_total{ingester="172.18.0.7:9095",instance="tempo-distributor-1:3200",job="tempo-distributor"} 4 1733580001234',
    'tempo_distributor_ingester_append_failures_total{ingester="172.18.0.8:9095",instance="tempo-distributor-2:3200",job="tempo-distributor"} 3 1733580004321',
    "# TYPE tempo_discarded_spans_total untyped",
    'tempo_discarded_spans_total{instance="tempo-ingester-2:3200",job="tempo-ingester",reason="live_traces_exceeded",tenant="single-tenant"} 5 1733580002000',
    "# TYPE tempo_ingester_live_traces untyped",
    'tempo_ingester_live_traces{instance="tempo-ingester-1:3200",job="tempo-ingester",tenant="single-tenant"} 100 1733580000999',
    'tempo_ingester_live_traces{instance="tempo-ingester-2:3200",job="tempo-ingester",tenant="single-tenant"} 110 1733580002000',
    'tempo_ingester_live_traces{instance="tempo-ingester-3:3200",job="tempo-ingester",tenant="single-tenant"} 90 1733580003000',
    "",
  ].join("\n");

  it("takes each line's value, not the timestamp after it", () => {
    const line = 'tempo_distributor_spans_received_total{instance="tempo-distributor-1:3200",job="tempo-distributor",tenant="single-tenant"} 60000 1733580001234';
    assert.deepEqual(parseSampleLine(line), {
      name: "tempo_distributor_spans_received_total",
      labels: { instance: "tempo-distributor-1:3200", job: "tempo-distributor", tenant: "single-tenant" },
      value: 60000,
      timestampMs: 1733580001234,
    });
    // The e2e helper takes a line's last field: on /federate, the timestamp.
    assert.equal(counter(line, "tempo_distributor_spans_received_total"), 1733580001234);
    assert.deepEqual(parseSampleLine("otelcol_exporter_queue_size 3"), { name: "otelcol_exporter_queue_size", labels: {}, value: 3 });
    assert.equal(parseSampleLine("up 1 1733580001234")?.timestampMs, 1733580001234);
    assert.equal(parseSampleLine('h_bucket{le="+Inf"} 7 1733580001234')?.value, 7);
    assert.equal(parseSampleLine("g +Inf")?.value, Infinity);
    assert.deepEqual(parseSampleLine('m{path="/a b} {c}",msg="say \\"hi\\"\\n"} 2.5 17')?.labels, { path: "/a b} {c}", msg: 'say "hi"\n' });
    assert.equal(parseSampleLine("# TYPE m untyped"), undefined);
    assert.equal(parseSampleLine(""), undefined);
    assert.throws(() => parseSampleLine('m{a="unterminated} 1'), /unterminated label value/);
  });

  it("sums every family over the distributors and ingesters, and dates the reading by its oldest sample", () => {
    const reading = parseFederatedTempo(FEDERATED);
    assert.deepEqual(reading.counters, {
      receiverAccepted: 100_000,
      receiverRefused: 0,
      distributorReceived: 100_000,
      discarded: 5,
      discardedLiveTracesExceeded: 5,
      discardedRateLimited: 0,
      discardedTraceTooLarge: 0,
      ingesterAppendFailures: 7,
      liveTraces: 300,
    });
    assert.equal(reading.takenAtMs, 1733580000999);
  });

  it("refuses a federation without timestamps: its age would be unknown", () => {
    assert.throws(() => parseFederatedTempo('tempo_distributor_spans_received_total{instance="d:3200"} 5\n'), /without a timestamp/);
  });

  it("asks /federate for exactly the families it reads, with or without _total", () => {
    const url = new URL(tempoFederateUrl("https://127.0.0.1:25090/"));
    assert.equal(url.pathname, "/federate");
    const selector = url.searchParams.get("match[]")!;
    const pattern = /^\{__name__=~"(.*)"\}$/.exec(selector)![1]!;
    const matches = (name: string): boolean => new RegExp(`^(?:${pattern})$`).test(name); // Prometheus anchors its regexes
    for (const family of TEMPO_COUNTER_FAMILIES) {
      assert.ok(matches(family) && matches(`${family}_total`), family);
      assert.ok(!matches(`${family}_created`), `${family}_created`);
    }
    assert.ok(!matches("tempo_ingester_traces_created_total"));
  });
});

describe("the microservices variant", () => {
  it("is the distributed stack file's Tempo on the bench's own stack, ports and monolithic settings, unaltered", () => {
    assert.deepEqual(BENCH_VARIANTS, ["tls", "plaintext", "microservices"]);
    const settings = benchSettings("microservices");
    const monolithic = benchSettings("tls");
    assert.deepEqual(settings.hostPorts, monolithic.hostPorts);
    assert.deepEqual(settings.verification, monolithic.verification);
    const topology = topologyOf(BENCH_STACK, settings);
    assert.equal(topology.config.stackName, BENCH_STACK);
    assert.equal(topology.config.tempo.mode, "microservices");
    assert.equal(topology.config.tempo.replicationFactor, 3);
    assert.equal(instancesOfComponent(topology.services, "tempoDistributor").length, 2);
    assert.equal(instancesOfComponent(topology.services, "tempoIngester").length, 3);
    assert.equal(topology.config.tempo.traceIdlePeriodSeconds, topologyOf(BENCH_STACK, monolithic).config.tempo.traceIdlePeriodSeconds);
    assert.equal(variantAlteration(topology, "microservices"), undefined);
    assert.equal(collectorToTempoOf("microservices"), "tls");
    assert.equal(topologyOf(BENCH_STACK, monolithic).config.tempo.mode, "monolithic");
    assert.equal(scrapeIntervalSeconds(topology), 10);
  });

  it("sums CPU and peak memory per component, keeping each container's figures", () => {
    const grouped = groupUsageByComponent(MICROSERVICES_USAGE, componentsOf(MICROSERVICES_USAGE));
    assert.deepEqual(grouped.tempoDistributor, { containers: ["tempoDistributor-1", "tempoDistributor-2"], cpuCores: 0.55, peakMemoryMiB: 175 });
    assert.deepEqual(grouped.tempoIngester, { containers: ["tempoIngester-1", "tempoIngester-2", "tempoIngester-3"], cpuCores: 0.6, peakMemoryMiB: 600.5 });
    assert.deepEqual(grouped.collector, { containers: ["collector"], cpuCores: 0.35, peakMemoryMiB: 30 });
    assert.deepEqual(Object.keys(grouped), ["tempoDistributor", "tempoIngester", "tempoQueryFrontend", "objectStore", "collector"]);
    assert.throws(() => groupUsageByComponent({ stray: { cpuCores: 1, peakMemoryMiB: 1 } }, {}), /no component known for stray/);
  });

  it("takes appends cancelled beyond the write quorum for no loss, and a Tempo count never read after the hand-off for one", () => {
    const replicated = judgeStep(microservicesStep(5000, { tempo: { ...cleanStep(5000).tempo, ingesterAppendFailures: 7 } }));
    assert.equal(replicated.zeroLoss, true, replicated.problems.join(" | "));
    assert.match(replicated.notes.join(), /7 ingester appends cancelled or failed beyond the write quorum \(replication factor 3/);
    const single = judgeStep(cleanStep(5000, { tempo: { ...cleanStep(5000).tempo, ingesterAppendFailures: 7 } }));
    assert.equal(single.zeroLoss, false);
    assert.match(single.problems.join(), /7 appends from Tempo's distributor to its ingester failed/);
    // 11.4 s to see Tempo's count through Prometheus is the scrape's lag, not a backlog.
    assert.equal(judgeStep(microservicesStep(5000)).zeroLoss, true);
    const unread = judgeStep(microservicesStep(5000, { tempoCountedSeconds: null }));
    assert.equal(unread.zeroLoss, false);
    assert.match(unread.problems.join(), /no reading of Tempo's counters taken after the collector had handed on its spans counted all 50000 within 45 s/);
  });

  it("prints the three variants' zero-loss rates side by side, per component, and what the microservices figure means", () => {
    const tls = [judged(cleanStep(5000)), judged(cleanStep(10_000)), judged(cleanStep(15_000, { drainSeconds: 6 }))];
    const plaintext = [judged(cleanStep(5000)), judged(cleanStep(10_000)), judged(cleanStep(15_000)), judged(cleanStep(20_000, { drainSeconds: null }))];
    const micro = [judged(microservicesStep(2500)), judged(microservicesStep(5000, { tempo: { ...cleanStep(5000).tempo, ingesterAppendFailures: 3 } })), judged(microservicesStep(7500, { drainSeconds: null }))];
    const variants = [result("tls", tls), result("plaintext", plaintext), result("microservices", micro)];
    const summary = summarize(variants);
    assert.deepEqual(summary.highestZeroLossSpansPerSecond, { tls: 10_000, plaintext: 15_000, microservices: 5000 });
    assert.deepEqual(summary.limitFound, { tls: true, plaintext: true, microservices: true });
    assert.equal(summary.tlsToPlaintextRatio, 0.667);
    assert.equal(summary.microservicesToMonolithicRatio, 0.5);
    assert.deepEqual(summary.usageByComponentAtHighest.microservices?.tempoIngester, { containers: ["tempoIngester-1", "tempoIngester-2", "tempoIngester-3"], cpuCores: 0.6, peakMemoryMiB: 600.5 });
    assert.deepEqual(summary.usageByComponentAtHighest.tls?.tempo, { containers: ["tempo"], cpuCores: 0.7, peakMemoryMiB: 300 });

    const table = formatTable(variants, summary, { cpus: 2 });
    assert.match(table, /highest zero-loss rate:\n +TLS +plaintext +microservices\n +10000 spans\/s +15000 spans\/s +5000 spans\/s\n/);
    assert.match(table, /microservices \/ monolithic \(TLS\): +50\.0 %/);
    assert.match(table, /note: on one 2-core host the microservices variant measures the cost of replication \(every span written to 3 ingesters\), not a speed-up/);
    assert.match(table, /Tempo microservices \(replication factor 3\), collector -> distributors over tls:/);
    assert.match(table, /tempoDistributor x2 cores\/MiB +tempoIngester x3 cores\/MiB/);
    assert.match(table, /^5000 .* 0\.55\/175 +0\.60\/601 .* zero loss$/m);
    assert.match(table, /counted s/);
    assert.match(table, /up to 15 s behind: "drain s" is the collector's hand-off/);
    assert.match(table, /limited to 45 s instead of 30 s \(the lag is no loss\)/);
    assert.match(table, /at 5000: 3 ingester appends cancelled or failed beyond the write quorum/);
    // Monolithic tables keep their columns: one per container, no lag column.
    const tlsTable = table.slice(0, table.indexOf("collector -> Tempo over plaintext"));
    assert.match(tlsTable, /spans\/s +sent +in Tempo +lost +drain s +p99 ms +collector cores\/MiB +tempo cores\/MiB +verdict/);
    assert.doesNotMatch(tlsTable, /counted s/);
  });

  it("has no microservices note or ratio when the variant was not run", () => {
    const variants = [result("tls", [judged(cleanStep(5000))])];
    const table = formatTable(variants, summarize(variants), { cpus: 2 });
    assert.doesNotMatch(table, /microservices/);
    assert.match(table, /highest zero-loss rate:\n +TLS\n +>= 5000 spans\/s\n/);
  });
});
