/**
 * `npm run bench`: how many spans/s one stack stores without losing any, on this machine.
 *
 * On the e2e suite's real containers (the program's own resources through OpenTofu and the real
 * Docker provider, the official Tempo image the program pins, the collector built here), for the collector -> Tempo link in TLS,
 * then in plaintext, then for Tempo in microservices mode (Pulumi.distributed.yaml's Tempo settings,
 * collector -> distributors over mutual TLS): deploy, step the offered OTLP/gRPC load up until a step
 * loses, refuses or queues spans, destroy. Prints a table and writes the figures as JSON.
 *
 *   npm run bench                  full: 5,000 spans/s steps of 20 s up to 80,000
 *   npm run bench -- --short       CI: two 5 s steps per variant; prints figures, asserts nothing about speed
 *   --out FILE                     where the JSON goes (default bench/results/latest.json)
 *   --only tls|plaintext|microservices   one variant
 *   --skip-if-image-missing        exit 0 (after saying why) instead of 3 when the Tempo image is missing
 *
 * Without the pinned Tempo image it prints no figures: it says which image is missing and how to
 * provide it, and exits 3 (0 with --skip-if-image-missing, for CI on a machine without it).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { deployTools, helperImage, prepareRealComponents } from "../e2e/deploy/prepare";
import { describeImage, ensurePinnedImage, missingImageLine } from "../e2e/support/pinnedImages";
import { docker } from "../e2e/support/docker";
import { clientTlsOf, PROJECT_DIR, topologyOf } from "../e2e/support/e2eStack";
import { deployStack } from "../e2e/support/stackRuns";
import { CONTAINER_PORTS, instancesOfComponent } from "../model";
import { BENCH_STACK, BENCH_VARIANTS, benchSettings, collectorToTempoOf, scrapeIntervalSeconds, variantAlteration, type BenchVariant } from "./benchStack";
import { stepUp, type SteppingPlan } from "./loadSteps";
import { prometheusFederateSource, tempoMetricsSource, type TempoCounterSource } from "./pipelineCounters";
import { formatTable, summarize, type VariantResult } from "./report";

const { values: args } = parseArgs({
  options: { short: { type: "boolean", default: false }, out: { type: "string" }, only: { type: "string" }, "skip-if-image-missing": { type: "boolean", default: false } },
});
const started = Date.now();
const log = (line: string): void => console.log(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}`);

const FULL_RATES = Array.from({ length: 16 }, (_, i) => (i + 1) * 5000);
// 16 requests in flight per worker and 1 s of lateness allowed: on 2 cores shared with the stack, a
// scheduling hiccup of a few hundred ms stalled 4 in-flight requests and counted as "behind" at
// 10,000 spans/s, though the rate over the step was held (first full run).
const generator = { workers: 2, spansPerRequest: 500, spansPerTrace: 5, maxInFlightPerWorker: 16, lateToleranceMs: 1000 };
const plan: SteppingPlan = args.short
  ? { spansPerSecond: [2000, 5000], refine: false, stepSeconds: 5, drainLimitSeconds: 30, sustainedDrainSeconds: 3, ...generator, log }
  : { spansPerSecond: FULL_RATES, refine: true, stepSeconds: 20, drainLimitSeconds: 30, sustainedDrainSeconds: 3, ...generator, log };
if (args.only !== undefined && !(BENCH_VARIANTS as readonly string[]).includes(args.only)) throw new Error(`--only must be one of ${BENCH_VARIANTS.join(", ")} (got ${args.only})`);
const variants: readonly BenchVariant[] = args.only === undefined ? BENCH_VARIANTS : [args.only as BenchVariant];

async function benchVariant(variant: BenchVariant, tools: ReturnType<typeof deployTools>): Promise<VariantResult> {
  const settings = benchSettings(variant);
  const topology = topologyOf(BENCH_STACK, settings);
  const microservices = topology.config.tempo.mode === "microservices";
  const replicationFactor = microservices ? topology.config.tempo.replicationFactor : 1;
  const collectorToTempo = collectorToTempoOf(variant);
  log(
    microservices
      ? `deploying the ${BENCH_STACK} stack, Tempo in microservices mode (${instancesOfComponent(topology.services, "tempoDistributor").length} distributors, ${instancesOfComponent(topology.services, "tempoIngester").length} ingesters, replication factor ${replicationFactor}), collector -> distributors over ${collectorToTempo}`
      : `deploying the ${BENCH_STACK} stack, collector -> Tempo over ${collectorToTempo}`,
  );
  const { deployment, up } = await deployStack(`bench-${variant}`, settings, { tools, stack: BENCH_STACK, alter: variantAlteration(topology, variant) });
  try {
    if (!up.ok) throw new Error(`the ${variant} stack did not deploy: ${up.failure?.stage} ${up.failure?.resource}: ${up.failure?.message}`);
    log(`deployed and verified in ${up.seconds.total.toFixed(1)} s`);
    const collector = topology.services.collector;
    // The generator dials the collector's container address: the published port would add Docker's
    // userland proxy (this engine runs without iptables), a hop users' services do not pay.
    const collectorIp = (await docker(["inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", collector.containerName])).trim();
    // Every container of the model but Grafana (not deployed here): in microservices mode each
    // distributor, ingester, ... and the object store, grouped per component in the report.
    const containers = Object.fromEntries(
      Object.values(topology.services)
        .filter((service) => service.component !== "grafana")
        .map((service) => [service.id, { name: service.containerName, component: service.component }]),
    );
    const client = clientTlsOf(deployment.program.outputs);
    // Monolithic Tempo publishes its API, /metrics included; the microservices publish no port but
    // the query-frontend's, so their counters come from the stack's Prometheus, which scrapes each.
    const tempoCounters: TempoCounterSource = microservices
      ? prometheusFederateSource(String(deployment.program.outputs.prometheusUrl), client, scrapeIntervalSeconds(topology))
      : tempoMetricsSource(String(deployment.program.outputs.tempoApiUrl), client);
    log(`Tempo's counters from ${tempoCounters.description}`);
    const steps = await stepUp(
      {
        otlpGrpcUrl: `https://${collectorIp}:${CONTAINER_PORTS.collectorOtlpGrpc}`,
        tlsServerName: collector.networkAlias,
        client,
        tempoCounters,
        replicationFactor,
        collectorContainer: collector.containerName,
        collectorTelemetryPort: CONTAINER_PORTS.collectorTelemetry,
        helperImage: helperImage(),
        containers,
      },
      plan,
    );
    return {
      variant,
      collectorToTempo,
      tempoMode: topology.config.tempo.mode,
      replicationFactor,
      tempoCounters: { source: tempoCounters.description, lagSeconds: tempoCounters.lagSeconds },
      steps,
    };
  } finally {
    const destroyed = await deployment.destroy();
    log(destroyed.exitCode === 0 ? `destroyed the ${variant} stack` : `destroy of the ${variant} stack failed: ${destroyed.output.slice(-2000)}`);
  }
}

async function main(): Promise<void> {
  let phase = Date.now();
  prepareRealComponents();
  log(`real components ready in ${((Date.now() - phase) / 1000).toFixed(0)} s`);
  const tools = deployTools();
  // Figures are only worth printing for the Tempo users run: the official image by the program's pin.
  const tempo = ensurePinnedImage("tempo", topologyOf(BENCH_STACK, benchSettings()).config.images.tempo);
  if (!tempo.available) {
    console.log(`bench: not run, no figures: ${missingImageLine(tempo)}`);
    process.exit(args["skip-if-image-missing"] ? 0 : 3);
  }
  log(`Tempo: ${describeImage(tempo)}`);
  const results: VariantResult[] = [];
  for (const variant of variants) {
    phase = Date.now();
    results.push(await benchVariant(variant, tools));
    log(`${variant} variant took ${((Date.now() - phase) / 1000).toFixed(0)} s`);
  }
  const summary = summarize(results);
  console.log(`\n${formatTable(results, summary, { cpus: cpus().length })}\n`);
  const out = args.out ?? join(PROJECT_DIR, "bench", "results", "latest.json");
  mkdirSync(dirname(out), { recursive: true });
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "unknown", memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)), dockerServer: (await docker(["version", "--format", "{{.Server.Version}}"])).trim() };
  writeFileSync(out, `${JSON.stringify({ startedAt: new Date(started).toISOString(), mode: args.short ? "short" : "full", machine, tempo: { image: tempo.ref, version: tempo.version }, plan: { ...plan, log: undefined }, summary, variants: results }, null, 2)}\n`);
  log(`figures written to ${out}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
