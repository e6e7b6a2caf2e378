import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { renderTempoConfig } from "../../configs/tempo/tempoConfig";
import { assembleStackModel, buildStackModel, buildTopology, loadStackModelFromFile, parseStackConfig, projectSettingsFromStackFile } from "../../model";
import type { LinkModel, StackModel, StackTopology } from "../../model";
import { docker, memoryMiB, removeByPrefix } from "../../e2e/harness/docker";
import { get, sleep, waitFor } from "../../e2e/harness/https";
import { mintPki } from "../../e2e/harness/pki";
import type { MintedPki } from "../../e2e/harness/pki";
import { buildAppImage, prepareRealComponents } from "../../e2e/harness/prepare";
import { logsOf, removeService, startService, startServiceFiles, startStack } from "../../e2e/harness/stack";
import { runVerifier } from "../../e2e/harness/verifierRun";
import { readdirSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";

const PROJECT_DIR = join(__dirname, "..", "..");
/** The suite's own stack: dev's settings, its own names and host ports so a real dev stack is never touched. */
const E2E_STACK = "e2e";
const E2E_HOST_PORTS = { grafana: 23000, tempoApi: 23200, app: 23010, collectorOtlpGrpc: 24317, collectorOtlpHttp: 24318, prometheus: 29090 };

function e2eTopology(): StackTopology {
  const devSettings = projectSettingsFromStackFile(readFileSync(join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8"));
  const defaults = parseStackConfig(E2E_STACK, devSettings).images;
  // The Tempo the suite could build offline (see e2e/prepare/lib.sh) replaces the release pin.
  const images = { ...(devSettings.images as Record<string, unknown> | undefined), tempo: builtTempoImage() ?? defaults.tempo };
  return buildTopology(parseStackConfig(E2E_STACK, { ...devSettings, images, hostPorts: E2E_HOST_PORTS, verification: { traces: 10, deadlineSeconds: 120 } }));
}

function builtTempoImage(): string | undefined {
  const result = spawnSync("bash", ["-c", `source ${JSON.stringify(join(PROJECT_DIR, "e2e", "prepare", "lib.sh"))} && echo "grafana/tempo:$TEMPO_VERSION"`], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function withLink(topology: StackTopology, id: string, change: Partial<LinkModel>): StackTopology {
  return { ...topology, links: topology.links.map((l) => (l.id === id ? { ...l, ...change } : l)) };
}

const figures: Record<string, unknown> = {};

async function teardown(): Promise<void> {
  await removeByPrefix(`${E2E_STACK}-`);
}

async function deploy(model: StackModel): Promise<MintedPki> {
  await teardown();
  const pki = await mintPki(model);
  await startStack(model, pki);
  return pki;
}

async function tempoMetrics(model: StackModel, pki: MintedPki): Promise<string> {
  return (await get(`${model.hostUrls.tempoApi}/metrics`, pki.caCertificatePem)).body;
}

function counter(metrics: string, name: string): number {
  return metrics
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.trim().split(/\s+/).pop()), 0);
}

async function sendTraces(model: StackModel, pki: MintedPki, count: number, depth = 2): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const reply = await get(`${model.hostUrls.app}/api/work?depth=${depth}`, pki.caCertificatePem);
    assert.equal(reply.status, 200, reply.body);
    ids.push(String(reply.headers["x-trace-id"]));
  }
  return ids;
}

async function traceFound(model: StackModel, pki: MintedPki, id: string): Promise<boolean> {
  const reply = await get(`${model.hostUrls.tempoApi}/api/v2/traces/${id}`, pki.caCertificatePem);
  return reply.status === 200;
}

async function countFound(model: StackModel, pki: MintedPki, ids: string[], timeoutMs: number): Promise<number> {
  const found = new Set<string>();
  await waitFor(async () => {
    for (const id of ids) if (!found.has(id) && (await traceFound(model, pki, id).catch(() => false))) found.add(id);
    return found.size === ids.length ? true : undefined;
  }, timeoutMs, 2000);
  return found.size;
}

async function recordFixture(name: string, text: string): Promise<void> {
  if (process.env.E2E_RECORD_FIXTURES !== "1") return;
  const dir = join(PROJECT_DIR, "test", "verifier", "fixtures", "recorded");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, name), text);
}

describe("end to end: real Tempo, collector and app on the program's own configs", { timeout: 80 * 60 * 1000 }, () => {
  const topology = e2eTopology();
  const healthy = assembleStackModel(topology);

  before(async () => {
    prepareRealComponents();
    const app = healthy.services.app.image;
    assert.equal(app.kind, "build");
    if (app.kind === "build") await buildAppImage(app.imageName);
  });
  after(teardown);

  it("1. healthy stack: the verifier passes and every trace sent is found", async () => {
    const started = Date.now();
    const pki = await deploy(healthy);
    const result = await runVerifier(healthy, pki.caCertificatePem);
    figures.secondsFromDockerRunToVerifiedIngestion = (Date.now() - started) / 1000;
    if (result.exitCode !== 0) {
      console.log(result.stderr, JSON.stringify(result.report.diagnoses, null, 2), await logsOf(healthy, "tempo"), await logsOf(healthy, "collector"), await logsOf(healthy, "app"));
    }
    assert.equal(result.exitCode, 0, JSON.stringify(result.report.diagnoses));
    assert.equal(result.report.outcome, "verified");
    assert.ok(result.report.traceIds.length >= 10);
    assert.ok((result.report.counters?.delta.tracesCreated ?? 0) >= 10, JSON.stringify(result.report.counters));
    assert.equal(await countFound(healthy, pki, result.report.traceIds, 30_000), result.report.traceIds.length);
    await recordFixture("tempo-e2e-healthy.prom", await tempoMetrics(healthy, pki));

    // 6. Throughput of a short bounded burst through app -> collector -> Tempo, all over TLS.
    const before = counter(await tempoMetrics(healthy, pki), "tempo_distributor_spans_received_total");
    const burstStart = Date.now();
    const workers = 8;
    const perWorker = 25;
    await Promise.all(Array.from({ length: workers }, () => sendTraces(healthy, pki, perWorker, 3)));
    const settled = await waitFor(async () => {
      const now = counter(await tempoMetrics(healthy, pki), "tempo_distributor_spans_received_total");
      return now - before >= workers * perWorker * 4 ? now : undefined;
    }, 60_000, 250);
    const seconds = (Date.now() - burstStart) / 1000;
    const spans = (settled ?? counter(await tempoMetrics(healthy, pki), "tempo_distributor_spans_received_total")) - before;
    figures.burst = { requests: workers * perWorker, spansReceivedByTempo: spans, seconds, spansPerSecond: Math.round(spans / seconds) };
    figures.memoryMiB = Object.fromEntries(await Promise.all(["tempo", "collector", "app"].map(async (id) => [id, Math.round(await memoryMiB(healthy.services[id as "tempo"].containerName))])));
  });

  it("3+4. Tempo down mid-stream loses nothing, and a replaced Tempo keeps its data", async () => {
    const pki = await deploy(healthy);
    await waitFor(async () => ((await get(`${healthy.hostUrls.tempoApi}/ready`, pki.caCertificatePem)).status === 200 ? true : undefined), 90_000);
    await sendTraces(healthy, pki, 2); // the pipeline is warm before Tempo goes away
    await docker(["stop", healthy.services.tempo.containerName]);
    const sent = await sendTraces(healthy, pki, 20);
    await sleep(5000);
    await docker(["start", healthy.services.tempo.containerName]);
    const found = await countFound(healthy, pki, sent, 120_000);
    figures.tempoDownMidStream = { sent: sent.length, found };
    assert.equal(found, sent.length, `only ${found} of ${sent.length} traces sent while Tempo was down were stored`);

    // Replace the container as `pulumi up` would: stop, remove, create anew on the same volume.
    await docker(["stop", healthy.services.tempo.containerName]);
    await removeService(healthy, "tempo");
    await startService(healthy, pki, "tempo");
    const foundAfterReplace = await countFound(healthy, pki, sent, 120_000);
    figures.tempoReplaced = { storedBefore: sent.length, foundAfter: foundAfterReplace };
    assert.equal(foundAfterReplace, sent.length);
  });

  describe("2. the seeds' failures, reintroduced through the model, fail the verifier with the matching diagnosis", () => {
    const broken: Array<[string, StackTopology, string]> = [
      ["internal gRPC TLS on the server only", withLink(topology, "tempo-internal", { tls: "plaintext" }), "INGESTER_APPEND_FAILING"],
      ["the collector exporting to Tempo's internal port 9095", withLink(topology, "collector-to-tempo", { dialPort: 9095 }), "NO_SPANS_RECEIVED"],
      ["the collector's exporter without the CA", withLink(topology, "collector-to-tempo", { clientCaFile: undefined }), "NO_SPANS_RECEIVED"],
      [
        "a Tempo certificate without the alias the collector dials",
        { ...topology, services: { ...topology.services, tempo: { ...topology.services.tempo, certificate: { ...topology.services.tempo.certificate, dnsNames: ["localhost"] } } } },
        "NO_SPANS_RECEIVED",
      ],
    ];
    for (const [name, brokenTopology, expected] of broken) {
      it(`${name} -> ${expected}`, async () => {
        const model = assembleStackModel(brokenTopology);
        const pki = await deploy(model);
        const result = await runVerifier(model, pki.caCertificatePem, { traces: 5, deadlineSeconds: 45 });
        const codes = result.report.diagnoses.map((d) => d.code);
        assert.equal(result.exitCode, 1, `expected "not verified", got ${result.exitCode}: ${codes.join(", ")} ${result.stderr}`);
        assert.ok(codes.includes(expected), `expected ${expected}, got ${codes.join(", ")}`);
        if (expected === "INGESTER_APPEND_FAILING") await recordFixture("tempo-e2e-internal-tls-server-only.prom", await tempoMetrics(model, pki));
      });
    }
  });

  it("5. the real binaries accept the rendered configs of every stack file", async () => {
    for (const file of readdirSync(PROJECT_DIR).filter((f) => /^Pulumi\..+\.yaml$/.test(f))) {
      const stack = file.replace(/^Pulumi\.|\.yaml$/g, "");
      // Configs do not depend on the image; the check runs them through the Tempo built offline.
      const settings = projectSettingsFromStackFile(readFileSync(join(PROJECT_DIR, file), "utf8"));
      const images = { ...(settings.images as Record<string, unknown> | undefined), tempo: builtTempoImage() };
      const model = buildStackModel(parseStackConfig(stack, { ...settings, images }));
      assert.equal(renderTempoConfig(model), renderTempoConfig(loadStackModelFromFile(stack, PROJECT_DIR)));
      const pki = await mintPki(model);
      for (const id of ["tempo", "collector"] as const) {
        const service = model.services[id];
        const configPath = service.files[0]!.path;
        const check = id === "tempo" ? [`-config.file=${configPath}`, "-config.verify=true"] : ["validate", `--config=${configPath}`];
        const name = `${E2E_STACK}-check-${id}`;
        await docker(["rm", "-f", name]).catch(() => undefined);
        await docker(["create", "--name", name, "--user", service.user, service.image.kind === "pinned" ? service.image.ref : "", ...check]);
        await startServiceFiles(name, service, pki);
        const output = await docker(["start", "-a", name]).catch((error: Error) => assert.fail(`${stack}: ${id} rejected its rendered config: ${error.message}`));
        const status = (await docker(["inspect", "-f", "{{.State.ExitCode}}", name])).trim();
        await docker(["rm", "-f", name]);
        assert.equal(status, "0", `${stack}: ${id} rejected its config: ${output}`);
      }
    }
  });

  it("Grafana and Prometheus run for real", {
    skip: "no offline source: neither has an image in a reachable registry nor a build from the Go module proxy/npm/Debian within CI's budget; their side (datasources, dashboard, provider TLS) is covered by the mocks and the rendered-config wiring tests",
  }, () => undefined);

  after(() => {
    console.log(`\nE2E FIGURES ${JSON.stringify(figures, null, 2)}`);
  });
});
