/**
 * End to end, Tempo in microservices mode (Pulumi.distributed.yaml's settings under the suite's own
 * stack name and host ports): the program's own resources through OpenTofu and the real Docker
 * provider, as in realStack.test.ts. Tempo is the pinned official image (skipped with the reason when
 * the engine lacks it); SeaweedFS, the collector and Prometheus are built from source here.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { renderTempoConfig } from "../../configs/tempo/tempoConfig";
import { CONTAINER_PATHS } from "../../model/constants";
import { instancesOfComponent } from "../../model";
import type { LinkModel, StackTopology } from "../../model";
import type { InputAlteration } from "../../e2e/deploy/realValueMocks";
import { deployTools, prepareRealComponents } from "../../e2e/deploy/prepare";
import { describeImage, ensurePinnedImage, needs } from "../../e2e/support/pinnedImages";
import type { StackDeployment, UpResult } from "../../e2e/deploy/stackDeployment";
import { alterations, deployStack, destroyAndListLeft, replaceUpload } from "../../e2e/support/stackRuns";
import { docker, memoryMiB, type ContainerTimes } from "../../e2e/support/docker";
import { get, sleep, waitFor, type ClientTls } from "../../e2e/support/https";
import { clientTlsOf, countFound, diagnosisCodes, NOT_DEPLOYED, sendTraces, stackFileSettings, steadyTraffic, topologyOf, withLink, type Settings } from "../../e2e/support/e2eStack";
import { checkDashboards, registeredDashboards } from "../../e2e/support/dashboardQueries";

const STACK = "e2edist";
const HOST_PORTS = { grafana: 43000, tempoApi: 43200, app: 43010, collectorOtlpGrpc: 44317, collectorOtlpHttp: 44318, prometheus: 49090 };
const figures: Record<string, unknown> = {};

prepareRealComponents();
const tools = deployTools();

/**
 * The distributed stack file's settings, with blocks cut after 15 s (the stack file: 5 min) so the
 * suite sees them flushed to object storage and compacted within a minute or two.
 */
function distributedSettings(verification: Settings = { traces: 10, deadlineSeconds: 180 }): Settings {
  const file = stackFileSettings("distributed");
  return { ...file, hostPorts: HOST_PORTS, tempo: { ...(file.tempo as Settings), maxBlockDurationSeconds: 15 }, verification };
}

const topology = (settings: Settings = distributedSettings()): StackTopology => topologyOf(STACK, settings);
const tempo = ensurePinnedImage("tempo", topology().config.images.tempo);
console.log(`[e2e distributed] Tempo: ${describeImage(tempo)}`);
const needsTempo = needs(tempo);

/** Container names of one Tempo component's replicas (`e2edist-tempo-ingester-2`, ...). */
function containersOf(component: Parameters<typeof instancesOfComponent>[1]): string[] {
  return instancesOfComponent(topology().services, component).map((s) => s.containerName);
}
/** The program's resource names of one component's replicas (`tempoIngester-2`, ...). */
function instanceIdsOf(component: Parameters<typeof instancesOfComponent>[1]): string[] {
  return instancesOfComponent(topology().services, component).map((s) => s.id);
}

const destroyAndCheck = (deployment: StackDeployment): Promise<string[]> => destroyAndListLeft(deployment, STACK);

/** One PromQL instant query against the stack's published Prometheus: value per `instance` (or the whole vector summed). */
async function promQuery(prometheusUrl: string, client: ClientTls, query: string): Promise<Array<{ labels: Record<string, string>; value: number }>> {
  const reply = await get(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`, client);
  if (reply.status !== 200) throw new Error(`Prometheus answered HTTP ${reply.status} to ${query}: ${reply.body.slice(0, 300)}`);
  const body = JSON.parse(reply.body) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  return body.data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
}

async function promSum(prometheusUrl: string, client: ClientTls, query: string): Promise<number> {
  return (await promQuery(prometheusUrl, client, query)).reduce((sum, r) => sum + r.value, 0);
}

/** Every link whose server is `server`, changed the same way: all Tempo containers share one config. */
function withLinksTo(t: StackTopology, server: LinkModel["server"], change: Partial<LinkModel>): StackTopology {
  return t.links.filter((l) => l.server === server).reduce((acc, l) => withLink(acc, l.id, change), t);
}

/** The same altered tempo.yaml uploaded to some Tempo containers only: one side of a link broken. */
function tempoConfigFor(containerIds: string[], rendered: string): InputAlteration {
  return alterations(...containerIds.map((id) => replaceUpload(id, CONTAINER_PATHS.tempo.configFile, rendered)));
}

describe("end to end: Tempo in microservices mode, object storage and mutual TLS on every hop", { timeout: 60 * 60 * 1000 }, () => {
  describe("a healthy distributed stack", () => {
    let deployment: StackDeployment;
    let up: UpResult;
    let times: ContainerTimes[];
    let client: ClientTls;
    let urls: { tempo: string; app: string; prometheus: string };

    before(async () => {
      if (!tempo.available) return;
      ({ deployment, up, containerTimes: times } = await deployStack("distributed", distributedSettings(), { tools, stack: STACK, notDeployed: NOT_DEPLOYED }));
      client = clientTlsOf(deployment.program.outputs);
      urls = { tempo: String(deployment.program.outputs.tempoApiUrl), app: String(deployment.program.outputs.appUrl), prometheus: String(deployment.program.outputs.prometheusUrl) };
    });

    it("deploys; the verification passes with every ingester ACTIVE in the ring and a write quorum of them counting the traces", needsTempo, async () => {
      if (!up.ok) {
        const names = Object.values(topology().services).map((s) => s.containerName);
        for (const name of names) console.log(`--- ${name}\n${(await docker(["logs", "--tail", "15", name]).catch((e: Error) => e.message))}`);
      }
      assert.ok(up.ok, `${up.failure?.stage} ${up.failure?.resource}: ${up.failure?.message}`);
      const report = JSON.parse(up.commands["verify-ingestion"]!.stdout) as {
        outcome: string;
        summary: string;
        traceIds: string[];
        counters: { delta: { tracesCreated: number }; required: number };
        distributed: { ingesters: number; replicationFactor: number; activeInRing: number; tracesCreatedPerIngester: Record<string, number> };
        timings: { elapsedMs: number; tracesVerifiedAfterMs?: number };
        metrics: { serviceGraphEdge: { requests: number } };
      };
      assert.equal(report.outcome, "verified");
      assert.equal(report.distributed.activeInRing, 3);
      const counting = Object.values(report.distributed.tracesCreatedPerIngester).filter((n) => n > 0).length;
      assert.ok(counting >= 2, `a write quorum (2 of 3) of ingesters must count the traces: ${JSON.stringify(report.distributed)}`);
      // Quorum x traces: every trace on at least two ingesters.
      assert.ok(report.counters.delta.tracesCreated >= 2 * report.traceIds.length, JSON.stringify(report.counters));
      assert.ok(report.metrics.serviceGraphEdge.requests > 0, "span metrics and the edge reach Prometheus from the metrics-generator");
      assert.equal(await countFound(urls.tempo, client, report.traceIds, 30_000), report.traceIds.length);
      const firstCreated = Math.min(...times.map((t) => t.createdMs));
      figures.healthy = {
        containers: times.length,
        secondsFromFirstContainerToVerified: (up.finishedAtMs - firstCreated) / 1000,
        secondsApply: up.seconds.apply,
        secondsVerification: up.seconds.commands,
        verifierSeconds: report.timings.elapsedMs / 1000,
        tracesCreatedPerIngester: report.distributed.tracesCreatedPerIngester,
        summary: report.summary,
      };
    });

    it("spreads the collector's exports over both distributors and Prometheus scrapes every Tempo container over mutual TLS", needsTempo, async () => {
      await sendTraces(urls.app, client, 30);
      const perDistributor = await waitFor(async () => {
        const rows = await promQuery(urls.prometheus, client, "sum by (instance) (tempo_distributor_spans_received_total)");
        return rows.length === 2 && rows.every((r) => r.value > 0) ? rows : undefined;
      }, 60_000, 2000);
      assert.ok(perDistributor, "both distributors must receive spans (gRPC round_robin over their shared alias)");
      const up = await promQuery(urls.prometheus, client, "up");
      const tempoContainers = Object.values(topology().services).filter((s) => s.component.startsWith("tempo")).length;
      assert.equal(up.length, tempoContainers, `one scrape target per Tempo container: ${up.map((r) => r.labels.instance).join(", ")}`);
      assert.ok(up.every((r) => r.value === 1), `every target scraped: ${JSON.stringify(up)}`);
      figures.spansPerDistributor = Object.fromEntries(perDistributor.map((r) => [r.labels.instance, r.value]));
    });

    it("a second plan of the same resources shows no changes", needsTempo, async () => {
      const plan = await deployment.plan();
      assert.equal(plan.exitCode, 0, `tofu plan -detailed-exitcode = ${plan.exitCode}:\n${plan.output.slice(-4000)}`);
    });

    it("one ingester stopped mid-stream: ingestion goes on with a quorum of 2 of 3, and every trace sent before, during and after is found", needsTempo, async () => {
      const [, second] = containersOf("tempoIngester");
      const before = await sendTraces(urls.app, client, 10);
      await docker(["stop", second!]);
      const during = await sendTraces(urls.app, client, 10);
      await sleep(5000);
      await docker(["start", second!]);
      const afterRestart = await sendTraces(urls.app, client, 10);
      const sent = [...before, ...during, ...afterRestart];
      const found = await countFound(urls.tempo, client, sent, 180_000);
      figures.ingesterStoppedMidStream = { sent: sent.length, found };
      assert.equal(found, sent.length, `only ${found} of ${sent.length} traces sent around one ingester's stop were found`);
    });

    it("traces flushed to object storage survive every ingester replaced with fresh volumes, and the compactor completes a cycle on those blocks", needsTempo, async () => {
      // The restarted ingester must be back in the ring first: a quorum for every write.
      await waitFor(async () => ((await promSum(urls.prometheus, client, 'max(tempo_ring_members{name="ingester",state="ACTIVE"})')) === 3 ? true : undefined), 120_000, 2000);
      const flushedBefore = await promSum(urls.prometheus, client, "sum(tempo_ingester_blocks_flushed_total)");
      const sent = await sendTraces(urls.app, client, 20);
      // Blocks are cut after 15 s and flushed; each ingester flushes its own copy.
      const flushed = await waitFor(async () => {
        const rows = await promQuery(urls.prometheus, client, "sum by (instance) (tempo_ingester_blocks_flushed_total)");
        const total = rows.reduce((sum, r) => sum + r.value, 0);
        return total >= flushedBefore + 2 ? total : undefined;
      }, 180_000, 2000);
      assert.ok(flushed !== undefined, "the ingesters flushed no block to object storage");
      const failedFlushes = await promSum(urls.prometheus, client, "sum(tempo_ingester_failed_flushes_total)");
      // Queriers learn of flushed blocks at their next blocklist poll (30 s).
      await sleep(35_000);

      const ingesters = instanceIdsOf("tempoIngester");
      const volumes = instancesOfComponent(topology().services, "tempoIngester").flatMap((s) => s.volumes.map((v) => v.volumeName));
      await docker(["rm", "-f", ...containersOf("tempoIngester")]);
      await docker(["volume", "rm", ...volumes]);
      const replaced = await deployment.up();
      assert.ok(replaced.ok, `${replaced.failure?.stage} ${replaced.failure?.resource}: ${replaced.failure?.message}`);
      assert.equal(replaced.commands["verify-ingestion"] !== undefined, true, "new ingesters are verified again");
      const found = await countFound(urls.tempo, client, sent, 180_000);

      // Three copies of each block (one per ingester) are the compactor's first work.
      const compacted = await waitFor(async () => {
        const n = await promSum(urls.prometheus, client, "sum(tempodb_compaction_blocks_total)");
        return n > 0 ? n : undefined;
      }, 240_000, 5000);
      const compactionErrors = await promSum(urls.prometheus, client, "sum(tempodb_compaction_errors_total)");
      figures.replacedIngesters = { ingesters, sent: sent.length, foundAfterReplacement: found, blocksFlushed: flushed! - flushedBefore, failedFlushes, blocksCompacted: compacted ?? 0, compactionErrors, secondsUp: replaced.seconds.total };
      assert.equal(found, sent.length, `only ${found} of ${sent.length} flushed traces were read back from the bucket after every ingester was replaced`);
      assert.ok(compacted !== undefined && compacted > 0, "the compactor compacted no block");
      assert.equal(compactionErrors, 0);
      assert.equal(failedFlushes, 0);
    });

    it("every query of every dashboard, Distributed Tempo's included, returns data from the real Prometheus and Tempo", needsTempo, async () => {
      const dashboards = registeredDashboards(deployment.program.registrations);
      assert.equal(dashboards.length, 5, "the four of every stack and Distributed Tempo");
      const traffic = steadyTraffic(urls.app, client, 250);
      const checked = await checkDashboards(dashboards, { prometheusUrl: urls.prometheus, tempoUrl: urls.tempo, client }, traffic, 150_000);
      figures.dashboards = { dashboards: dashboards.map((d) => d.title), queries: checked.queries.length, traceIdsOpened: checked.traceIdsOpened, secondsFromSteadyTrafficToEveryPanelWithData: checked.secondsToEveryPanelWithData };
      assert.deepEqual(checked.noData, [], `panels that would show "No data":\n${checked.noData.join("\n")}`);
      assert.deepEqual(checked.unresolvedTraceIds, [], "trace ids behind TraceQL hits and exemplars that Tempo does not return");
    });

    it("memory per container (figures)", needsTempo, async () => {
      const names = Object.values(topology().services).filter((s) => s.component !== "grafana").map((s) => s.containerName);
      figures.memoryMiB = Object.fromEntries(await Promise.all(names.map(async (n) => [n.slice(STACK.length + 1), Math.round(await memoryMiB(n))])));
    });

    after(async () => {
      if (!tempo.available) return;
      const left = await destroyAndCheck(deployment);
      figures.leftAfterDestroy = left;
      assert.deepEqual(left, [], "pulumi destroy must leave no container, network or volume of the stack");
    });
  });

  describe("seed-like failures, reintroduced in the registered inputs, fail the deployment with their own diagnosis", () => {
    const settings = (): Settings => distributedSettings({ traces: 5, deadlineSeconds: 60 });
    const t = (): StackTopology => topology(settings());
    const cases: Array<[string, () => InputAlteration, string]> = [
      // One ingester gossips in plaintext while every other member speaks TLS: it never joins the ring.
      ["memberlist TLS on one side only (one ingester without it)", () => tempoConfigFor([instanceIdsOf("tempoIngester")[2]!], renderTempoConfig(withLink(t(), "tempo-memberlist", { tls: "plaintext" }))), "MEMBERLIST_INCOMPLETE"],
      // The distributors dial the ingesters' TLS-only gRPC server in plaintext.
      ["an ingester client without TLS (the distributors')", () => tempoConfigFor(instanceIdsOf("tempoDistributor"), renderTempoConfig(withLink(t(), "tempo-distributor-to-ingester", { tls: "plaintext" }))), "INGESTER_APPEND_FAILING"],
      // The ingesters trust their own leaf certificate instead of the stack CA for the object store.
      ["Tempo's S3 client not trusting the stack CA (the ingesters')", () => tempoConfigFor(instanceIdsOf("tempoIngester"), renderTempoConfig(withLinksTo(t(), "objectStore", { clientCaFile: `${CONTAINER_PATHS.tempo.tlsDir}/tempo.crt` }))), "TEMPO_CONTAINERS_DOWN"],
    ];
    for (const [what, alter, expected] of cases) {
      it(`${what} -> ${expected}`, needsTempo, async () => {
        const { deployment, up } = await deployStack(`dist-seed-${expected.toLowerCase()}`, settings(), { tools, stack: STACK, alter: alter(), notDeployed: NOT_DEPLOYED });
        try {
          assert.equal(up.ok, false, "the deployment must fail");
          assert.equal(up.failure?.stage, "command");
          const codes = diagnosisCodes(up.failure!.message);
          const seeds = (figures.seeds ??= {}) as Record<string, string[]>;
          seeds[what] = codes;
          // Its own diagnosis, first: what a user reads before anything else.
          assert.equal(codes[0], expected, `expected ${expected} first, got ${codes.join(", ")}:\n${up.failure!.message}`);
        } finally {
          assert.deepEqual(await destroyAndCheck(deployment), []);
        }
      });
    }
  });

  after(() => {
    console.log(`\nE2E DISTRIBUTED FIGURES ${JSON.stringify(figures, null, 2)}`);
  });
});
