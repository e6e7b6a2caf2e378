/**
 * End to end, on the program's own resources: index.ts runs under real-value mocks, its bridged
 * docker:* resources are created by OpenTofu with the real Terraform Docker provider (the code
 * @pulumi/docker bridges), its app image is built by the engine, and its post-deploy command runs
 * as pulumi-command runs it. Tempo is the official image the program pins, taken from the local
 * engine or pulled, never built (AGPL-3.0): without it, every scenario that needs it is skipped with
 * one line that says how to provide it. The collector and Prometheus are built from source here
 * (Apache-2.0); see e2e/deploy/ and e2e/prepare/.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { renderCollectorConfig } from "../../configs/collector/collectorConfig";
import { renderTempoConfig } from "../../configs/tempo/tempoConfig";
import { CONTAINER_PATHS } from "../../model/constants";
import { buildStackModel, isTempoComponent, parseStackConfig } from "../../model";
import { renderStackConfigs } from "../../configs/renderStackConfigs";
import type { StackTopology } from "../../model";
import type { InputAlteration } from "../../e2e/deploy/realValueMocks";
import { deployTools, prepareRealComponents } from "../../e2e/deploy/prepare";
import { describeImage, ensurePinnedImage, missingImageLine, needs } from "../../e2e/support/pinnedImages";
import type { StackDeployment, UpResult } from "../../e2e/deploy/stackDeployment";
import { deployStack, destroyAndListLeft, replaceUpload, type Upload } from "../../e2e/support/stackRuns";
import type { TofuTools } from "../../e2e/deploy/tofu";
import { stackFiles } from "../support/pulumiMocks";
import { docker, memoryMiB, type ContainerTimes } from "../../e2e/support/docker";
import { checkDashboards, registeredDashboards } from "../../e2e/support/dashboardQueries";
import { get, reachOutcome, sleep, waitFor, type ClientTls } from "../../e2e/support/https";
import {
  clientTlsOf, counter, countFound, diagnosisCodes, e2eSettings, E2E_STACK, NOT_DEPLOYED, PROJECT_DIR, sendTraces, stackFileSettings, steadyTraffic, topologyOf, withLink,
  type Settings,
} from "../../e2e/support/e2eStack";

const run = promisify(execFile);
const CONTAINER = "docker:index/container:Container";
const figures: Record<string, unknown> = {};

// Before any scenario is defined: whether one runs or is skipped depends on the pinned Tempo image.
prepareRealComponents();
const tools: TofuTools = deployTools();
const tempo = ensurePinnedImage("tempo", topologyOf(E2E_STACK, e2eSettings()).config.images.tempo);
console.log(`[e2e] Tempo: ${describeImage(tempo)}`);
const needsTempo = needs(tempo);
/** What a scenario that runs without Tempo leaves out of the stack, and why. */
const TEMPO_NOT_DEPLOYED = tempo.available
  ? []
  : [
    { type: "tracing-stack:index:ServiceContainer", name: "tempo", why: missingImageLine(tempo) },
    { type: "tracing-stack:index:ServiceImage", name: "tempo-image", why: missingImageLine(tempo) },
    { type: "tracing-stack:index:PostDeployVerification", name: "verify-ingestion", why: "needs Tempo" },
  ];

async function deploy(label: string, settings: Settings, alter?: InputAlteration, stack = E2E_STACK, notDeployed = NOT_DEPLOYED): ReturnType<typeof deployStack> {
  return deployStack(label, settings, { tools, alter, stack, notDeployed });
}

/** `pulumi destroy`, then nothing with the stack's prefix may be left. */
function destroyAndCheck(deployment: StackDeployment, stack = E2E_STACK): Promise<string[]> {
  return destroyAndListLeft(deployment, stack);
}

async function logs(container: string): Promise<string> {
  const out = await run("docker", ["logs", "--tail", "30", container]).catch((e: { stdout?: string; stderr?: string }) => e);
  return `--- ${container}\n${out.stdout ?? ""}${out.stderr ?? ""}`;
}

/** Mode and owner of a file inside a container, from the Engine's archive API (what `docker cp` reads). */
async function fileMode(container: string, path: string): Promise<string> {
  const { stdout } = await run("sh", ["-c", `docker cp ${container}:${path} - | tar -tv --numeric-owner`]);
  const [mode, owner] = stdout.trim().split(/\s+/);
  return `${mode} ${owner}`;
}

/** A client certificate and key signed by a CA the stack has never seen (openssl, throwaway). */
async function otherCaClient(): Promise<{ cert: string; key: string }> {
  const dir = join(PROJECT_DIR, "e2e", ".work", "other-ca");
  await mkdir(dir, { recursive: true });
  const sh = (script: string) => run("sh", ["-c", script], { cwd: dir });
  await sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 1 -subj '/CN=not the stack CA' 2>/dev/null");
  await sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client.key -out client.csr -subj '/CN=stranger' 2>/dev/null");
  await sh("printf 'extendedKeyUsage=clientAuth\\n' > ext.cnf && openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 1 -extfile ext.cnf 2>/dev/null");
  const { readFile } = await import("node:fs/promises");
  return { cert: await readFile(join(dir, "client.crt"), "utf8"), key: await readFile(join(dir, "client.key"), "utf8") };
}

async function recordFixture(name: string, text: string): Promise<void> {
  if (process.env.E2E_RECORD_FIXTURES !== "1") return;
  const dir = join(PROJECT_DIR, "test", "verifier", "fixtures", "recorded");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, name), text);
}

describe("end to end: the program's own resources through OpenTofu and the real Docker provider", { timeout: 85 * 60 * 1000 }, () => {
  describe("a healthy stack", () => {
    let deployment: StackDeployment;
    let up: UpResult;
    let times: ContainerTimes[];
    let client: ClientTls;
    let urls: { tempo: string; app: string; collector: string; prometheus: string };

    before(async () => {
      if (!tempo.available) return;
      ({ deployment, up, containerTimes: times } = await deploy("healthy", e2eSettings()));
      client = clientTlsOf(deployment.program.outputs);
      urls = {
        tempo: String(deployment.program.outputs.tempoApiUrl),
        app: String(deployment.program.outputs.appUrl),
        collector: String(deployment.program.outputs.collectorOtlpGrpcUrl),
        prometheus: String(deployment.program.outputs.prometheusUrl),
      };
    });

    it("deploys, and the post-deploy verification passes and says so in one line", needsTempo, async () => {
      if (!up.ok) console.log(up.failure?.message, ...(await Promise.all(["tempo", "otel-collector", "app-backend", "app", "prometheus"].map((s) => logs(`${E2E_STACK}-${s}`)))));
      assert.ok(up.ok, `${up.failure?.stage} ${up.failure?.resource}: ${up.failure?.message}`);
      const verify = up.commands["verify-ingestion"];
      assert.ok(verify, "the verification command ran");
      const report = JSON.parse(verify.stdout) as {
        outcome: string;
        summary: string;
        traceIds: string[];
        counters: { delta: { tracesCreated: number } };
        timings: { elapsedMs: number; readyAfterMs?: number; trafficMs?: number; tracesVerifiedAfterMs?: number };
        metrics: { spanMetrics: { service: string; calls: number; seenAfterMs: number }; serviceGraphEdge: { client: string; server: string; requests: number; failed: number; seenAfterMs: number } };
      };
      assert.equal(report.outcome, "verified");
      assert.ok(report.traceIds.length >= 10);
      assert.ok(report.counters.delta.tracesCreated >= 10);
      // What `pulumi up` shows while the step runs: the summary line, not the progress and the JSON.
      assert.deepEqual(verify.shownWhileRunning, [report.summary]);
      assert.match(report.summary, /^verified: 10 traces sent, tempo_ingester_traces_created_total \+\d+, \d+ of \d+ looked up found/);
      // Span metrics and the app -> backend edge reached the real Prometheus through remote write.
      const model = topologyOf(E2E_STACK, e2eSettings());
      assert.equal(report.metrics.spanMetrics.service, model.config.appServiceName);
      assert.ok(report.metrics.spanMetrics.calls > 0);
      assert.deepEqual([report.metrics.serviceGraphEdge.client, report.metrics.serviceGraphEdge.server], [model.config.appServiceName, model.config.appBackendServiceName]);
      assert.ok(report.metrics.serviceGraphEdge.requests > 0);
      assert.ok(report.metrics.serviceGraphEdge.failed > 0, "the verification's fail=1 requests fail across the edge");
      assert.equal(await countFound(urls.tempo, client, report.traceIds, 30_000), report.traceIds.length);
      // The deployment's critical path on the daemon's clock: first container created -> verified.
      const firstCreated = Math.min(...times.map((t) => t.createdMs));
      const verificationStarted = up.finishedAtMs - report.timings.elapsedMs;
      figures.healthy = {
        secondsFromFirstContainerToVerified: (up.finishedAtMs - firstCreated) / 1000,
        secondsFromFirstContainerToTracesVerified: report.timings.tracesVerifiedAfterMs === undefined ? null : (verificationStarted + report.timings.tracesVerifiedAfterMs - firstCreated) / 1000,
        containers: Object.fromEntries(times.map((t) => [t.name, {
          createdAt: (t.createdMs - firstCreated) / 1000,
          ...(t.startedMs !== undefined ? { startedAt: (t.startedMs - firstCreated) / 1000 } : {}),
          ...(t.healthyMs !== undefined ? { healthyAt: (t.healthyMs - firstCreated) / 1000 } : {}),
        }])),
        verificationStartedAt: (verificationStarted - firstCreated) / 1000,
        verifierSeconds: { tempoReady: (report.timings.readyAfterMs ?? 0) / 1000, traffic: (report.timings.trafficMs ?? 0) / 1000, tracesVerified: (report.timings.tracesVerifiedAfterMs ?? 0) / 1000, total: report.timings.elapsedMs / 1000 },
        secondsApply: up.seconds.apply,
        secondsVerification: up.seconds.commands,
        secondsToVerified: up.seconds.total,
        tracesSent: report.traceIds.length,
        tracesFound: report.traceIds.length,
        secondsFromFirstSpanToSpanMetricsInPrometheus: report.metrics.spanMetrics.seenAfterMs / 1000,
        secondsFromFirstSpanToServiceGraphEdgeInPrometheus: report.metrics.serviceGraphEdge.seenAfterMs / 1000,
        summary: report.summary,
      };
      const tempoMetrics = (await get(`${urls.tempo}/metrics`, client)).body;
      await recordFixture("tempo-e2e-healthy.prom", tempoMetrics);
      // The same reading serves the generator tests: span-metrics and service-graphs on, remote write healthy.
      await recordFixture("tempo-generator-healthy.prom", tempoMetrics);
    });

    it("under mutual TLS every published endpoint refuses a client without a certificate and one from another CA, and answers the stack's client", needsTempo, async () => {
      const otherCa = await otherCaClient();
      const endpoints: Array<[string, string, "http" | "grpc"]> = [
        ["tempo API", urls.tempo, "http"],
        ["app", urls.app, "http"],
        ["prometheus", urls.prometheus, "http"],
        ["collector OTLP/gRPC", urls.collector, "grpc"],
        ["collector OTLP/HTTP", String(deployment.program.outputs.collectorOtlpHttpUrl), "http"],
      ];
      const refusals: Record<string, Record<string, string>> = {};
      for (const [name, url, protocol] of endpoints) {
        const outcomes = {
          stackClient: await reachOutcome(url, protocol, client),
          noCertificate: await reachOutcome(url, protocol, { ca: client.ca }),
          otherCaCertificate: await reachOutcome(url, protocol, { ca: client.ca, cert: otherCa.cert, key: otherCa.key }),
        };
        refusals[name] = outcomes;
        assert.equal(outcomes.stackClient, "answered", `${name} must answer the stack's client certificate`);
        assert.match(outcomes.noCertificate, /^refused/, `${name} must refuse a client without a certificate`);
        assert.match(outcomes.otherCaCertificate, /^refused/, `${name} must refuse a certificate from another CA`);
      }
      figures.mutualTlsRefusals = refusals;
    });

    it("every query of every dashboard returns data from the real Prometheus and Tempo, and every exemplar opens its trace", needsTempo, async () => {
      const dashboards = registeredDashboards(deployment.program.registrations);
      assert.equal(dashboards.length, 4);
      // Dashboards show traffic: drive the app at 4 requests/s (every 5th failing) while polling, as a
      // user's services would. Span metrics reach Prometheus 10-25 s after their spans (generator
      // collection, then the remote-write WAL watcher's 15 s read timer).
      const traffic = steadyTraffic(urls.app, client, 250);
      const checked = await checkDashboards(dashboards, { prometheusUrl: urls.prometheus, tempoUrl: urls.tempo, client }, { stop: async () => (figures.dashboardTraffic = await traffic.stop()) }, 120_000);
      assert.deepEqual(checked.noData, [], `panels that would show "No data":\n${checked.noData.join("\n")}`);
      assert.deepEqual(checked.unresolvedTraceIds, [], "trace ids behind TraceQL hits and exemplars that Tempo does not return");
      figures.dashboards = {
        dashboards: dashboards.map((d) => d.title),
        queries: checked.queries.length,
        byKind: Object.fromEntries(["promql", "traceql", "serviceMap"].map((k) => [k, checked.queries.filter((q) => q.kind === k).length])),
        traceIdsOpened: checked.traceIdsOpened,
        secondsFromSteadyTrafficToEveryPanelWithData: checked.secondsToEveryPanelWithData,
      };
    });

    it("runs every service as <image uid>:0 with its key root:root 0440 (readable by the service, not by other users)", needsTempo, async () => {
      const expected: Array<[string, string, string]> = [
        ["tempo", "10001:0", `${CONTAINER_PATHS.tempo.tlsDir}/tempo.key`],
        ["otel-collector", "10001:0", `${CONTAINER_PATHS.collector.tlsDir}/collector.key`],
        ["app", "1000:0", `${CONTAINER_PATHS.app.tlsDir}/app.key`],
        ["app-backend", "1000:0", `${CONTAINER_PATHS.appBackend.tlsDir}/appBackend.key`],
        ["prometheus", "65534:0", `${CONTAINER_PATHS.prometheus.tlsDir}/prometheus.key`],
      ];
      for (const [alias, user, key] of expected) {
        const container = `${E2E_STACK}-${alias}`;
        assert.equal((await docker(["inspect", "-f", "{{.Config.User}}", container])).trim(), user);
        assert.equal(await fileMode(container, key), "-r--r----- 0/0");
      }
    });

    it("a second plan of the same resources shows no changes", needsTempo, async () => {
      const plan = await deployment.plan();
      assert.equal(plan.exitCode, 0, `tofu plan -detailed-exitcode = ${plan.exitCode}:\n${plan.output.slice(-4000)}`);
    });

    it("carries a burst through app -> collector -> Tempo over TLS (figures)", needsTempo, async () => {
      const before = counter((await get(`${urls.tempo}/metrics`, client)).body, "tempo_distributor_spans_received_total");
      const started = Date.now();
      const workers = 8;
      const perWorker = 25;
      await Promise.all(Array.from({ length: workers }, () => sendTraces(urls.app, client, perWorker, 3)));
      const settled = await waitFor(async () => {
        const now = counter((await get(`${urls.tempo}/metrics`, client)).body, "tempo_distributor_spans_received_total");
        return now - before >= workers * perWorker * 4 ? now : undefined;
      }, 60_000, 250);
      assert.ok(settled !== undefined, "Tempo did not receive every span of the burst");
      const seconds = (Date.now() - started) / 1000;
      figures.burst = { requests: workers * perWorker, spansReceivedByTempo: settled - before, seconds, spansPerSecond: Math.round((settled - before) / seconds) };
      figures.memoryMiB = Object.fromEntries(await Promise.all(["tempo", "otel-collector", "app", "app-backend", "prometheus"].map(async (s) => [s, Math.round(await memoryMiB(`${E2E_STACK}-${s}`))])));
    });

    it("with the collector stopped, the verification says the collector does not answer, first", needsTempo, async () => {
      await docker(["stop", `${E2E_STACK}-otel-collector`]);
      try {
        const rerun = await deployment.rerunCommand("verify-ingestion", (inputs) => ({ ...inputs, create: String(inputs.create).replace(/--deadline-seconds \d+/, "--deadline-seconds 30") }));
        assert.equal(rerun.ok, false);
        const message = rerun.message!;
        const firstDiagnosis = message.split("\n").find((l) => /^\s*\[[A-Z_]+\]/.test(l));
        assert.match(firstDiagnosis ?? "", new RegExp(`\\[COLLECTOR_NOT_ANSWERING\\] the collector does not answer at ${urls.collector.replace(/[.]/g, "\\.")} \\(connection refused`));
        assert.ok(message.indexOf("Diagnosis:") < message.indexOf("Details:"), "the diagnosis comes before the details");
        figures.collectorStopped = { firstLines: message.split("\n").slice(1, 5) };
      } finally {
        await docker(["start", `${E2E_STACK}-otel-collector`]);
      }
    });

    it("Tempo down mid-stream loses nothing, and Tempo replaced by `up --replace` keeps every trace and is verified again", needsTempo, async () => {
      await waitFor(async () => ((await get(`${urls.tempo}/ready`, client)).status === 200 ? true : undefined), 90_000);
      await waitFor(async () => ((await sendTraces(urls.app, client, 1)).length === 1 ? true : undefined), 60_000); // collector back and warm
      await docker(["stop", `${E2E_STACK}-tempo`]);
      const sent = await sendTraces(urls.app, client, 20);
      await sleep(5000);
      await docker(["start", `${E2E_STACK}-tempo`]);
      const found = await countFound(urls.tempo, client, sent, 120_000);
      figures.tempoDownMidStream = { sent: sent.length, found };
      assert.equal(found, sent.length, `only ${found} of ${sent.length} traces sent while Tempo was down were stored`);

      const replaced = await deployment.replace(CONTAINER, "tempo");
      assert.ok(replaced.ok, replaced.failure?.message);
      // The container id is one of the verification's triggers: a new Tempo is proven again.
      assert.ok(replaced.commands["verify-ingestion"], "the verification re-ran after Tempo was replaced");
      const foundAfter = await countFound(urls.tempo, client, sent, 120_000);
      figures.tempoReplaced = { storedBefore: sent.length, foundAfter, secondsUp: replaced.seconds.total };
      assert.equal(foundAfter, sent.length);
    });

    it("a collector restarted while Tempo is down keeps its queue on disk: every trace it accepted is stored once Tempo is back", needsTempo, async () => {
      await waitFor(async () => ((await get(`${urls.tempo}/ready`, client)).status === 200 ? true : undefined), 90_000);
      await waitFor(async () => ((await sendTraces(urls.app, client, 1)).length === 1 ? true : undefined), 60_000);
      await docker(["stop", `${E2E_STACK}-tempo`]);
      const sent = await sendTraces(urls.app, client, 20);
      // Past the batch processor (1 s) into the file_storage queue, where the exporter retries.
      await sleep(4000);
      const restartStarted = Date.now();
      await docker(["restart", `${E2E_STACK}-otel-collector`]);
      const secondsCollectorRestart = (Date.now() - restartStarted) / 1000;
      await sleep(2000);
      await docker(["start", `${E2E_STACK}-tempo`]);
      const found = await countFound(urls.tempo, client, sent, 180_000);
      figures.collectorRestartedWhileTempoDown = { sent: sent.length, found, secondsCollectorRestart };
      assert.equal(found, sent.length, `only ${found} of ${sent.length} traces queued before the collector restarted were stored`);
    });

    it("Tempo restarted under load loses nothing and stops within its stop timeout", needsTempo, async () => {
      await waitFor(async () => ((await get(`${urls.tempo}/ready`, client)).status === 200 ? true : undefined), 90_000);
      const sent: string[] = [];
      let sending = true;
      const load = (async () => {
        while (sending) {
          sent.push(...(await sendTraces(urls.app, client, 1).catch(() => [])));
          await sleep(100);
        }
      })();
      await sleep(3000);
      const since = Math.floor(Date.now() / 1000);
      const restartStarted = Date.now();
      await docker(["restart", `${E2E_STACK}-tempo`]);
      const secondsRestart = (Date.now() - restartStarted) / 1000;
      await waitFor(async () => ((await get(`${urls.tempo}/ready`, client)).status === 200 ? true : undefined), 90_000);
      await sleep(3000);
      sending = false;
      await load;
      // SIGKILL (9) after the SIGTERM (15) would mean Docker had to kill it at the timeout.
      const signals = (await docker(["events", "--since", String(since), "--until", String(Math.ceil(Date.now() / 1000)), "--filter", `container=${E2E_STACK}-tempo`, "--filter", "event=kill", "--format", "{{.Actor.Attributes.signal}}"])).split("\n").filter(Boolean);
      const found = await countFound(urls.tempo, client, sent, 180_000);
      figures.tempoRestartUnderLoad = { sent: sent.length, found, secondsRestart, stopSignals: signals, stopTimeoutSeconds: 30 };
      assert.equal(found, sent.length, `only ${found} of ${sent.length} traces sent around Tempo's restart were stored`);
      assert.ok(secondsRestart < 30 + 10, `the restart took ${secondsRestart} s`);
    });

    after(async () => {
      if (!tempo.available) return;
      const left = await destroyAndCheck(deployment);
      figures.leftAfterDestroy = left;
      assert.deepEqual(left, [], "pulumi destroy must leave no container, network or volume of the stack");
    });
  });

  describe("the seeds' failures and a broken remote write, reintroduced in the registered inputs, fail the deployment with the matching diagnosis", () => {
    const settings = (): Settings => e2eSettings({ traces: 5, deadlineSeconds: 45 });
    const topology = (): StackTopology => topologyOf(E2E_STACK, settings());
    const cases: Array<[string, () => InputAlteration, string]> = [
      ["internal gRPC TLS on the server only", () => replaceUpload("tempo", CONTAINER_PATHS.tempo.configFile, renderTempoConfig(withLink(topology(), "tempo-internal", { tls: "plaintext" }))), "INGESTER_APPEND_FAILING"],
      ["the collector exporting to Tempo's internal port 9095", () => replaceUpload("collector", CONTAINER_PATHS.collector.configFile, renderCollectorConfig(withLink(topology(), "collector-to-tempo", { dialPort: 9095 }))), "NO_SPANS_RECEIVED"],
      ["the collector's exporter without the CA", () => replaceUpload("collector", CONTAINER_PATHS.collector.configFile, renderCollectorConfig(withLink(topology(), "collector-to-tempo", { clientCaFile: undefined }))), "NO_SPANS_RECEIVED"],
      // Mutual TLS one-sided: Tempo's receivers demand a client certificate the collector does not present.
      ["the collector presenting no client certificate to Tempo", () => replaceUpload("collector", CONTAINER_PATHS.collector.configFile, renderCollectorConfig(withLink(topology(), "collector-to-tempo", { clientCertificate: undefined }))), "NO_SPANS_RECEIVED"],
      ["a Tempo certificate without the alias the collector dials", () => ({ type, name, inputs }) => (type === "tls:index/certRequest:CertRequest" && name === "pki-tempo-csr" ? { ...inputs, dnsNames: ["localhost"] } : inputs), "NO_SPANS_RECEIVED"],
      // Traces are stored; span metrics never reach Prometheus: the generator trusts Tempo's own leaf certificate, not the stack CA.
      ["the metrics-generator's remote write not trusting the stack CA", () => replaceUpload("tempo", CONTAINER_PATHS.tempo.configFile, renderTempoConfig(withLink(topology(), "tempo-to-prometheus-remote-write", { clientCaFile: `${CONTAINER_PATHS.tempo.tlsDir}/tempo.crt` }))), "REMOTE_WRITE_FAILING"],
    ];
    for (const [what, alter, expected] of cases) {
      it(`${what} -> ${expected}`, needsTempo, async () => {
        const { deployment, up } = await deploy(`seed-${expected.toLowerCase()}`, settings(), alter());
        try {
          assert.equal(up.ok, false, "the deployment must fail");
          assert.equal(up.failure?.stage, "command");
          const codes = diagnosisCodes(up.failure!.message);
          assert.ok(codes.includes(expected), `expected ${expected}, got ${codes.join(", ")}:\n${up.failure!.message}`);
          if (expected === "INGESTER_APPEND_FAILING") await recordFixture("tempo-e2e-internal-tls-server-only.prom", (await get(`${deployment.program.outputs.tempoApiUrl}/metrics`, clientTlsOf(deployment.program.outputs))).body);
        } finally {
          assert.deepEqual(await destroyAndCheck(deployment), []);
        }
      });
    }
  });

  it("the first real deployment's upload shape (owner/group on every upload) fails on this engine as it did for users", async () => {
    // The program before this fix: user <uid>:<image gid>, uploads with owner/group, keys 0400.
    // Without the Tempo image the collector's container shows the same failure, so this runs either way.
    const oldGroups: Record<string, string> = { tempo: "10001", collector: "10001", app: "1000" };
    const oldShape: InputAlteration = ({ type, name, inputs }) => {
      if (type !== CONTAINER || !(name in oldGroups)) return inputs;
      const uid = String(inputs.user).split(":")[0]!;
      const uploads = (inputs.uploads as Upload[]).map((u) => ({ ...u, owner: uid, group: oldGroups[name]!, permissions: u.permissions === "0440" ? "0400" : u.permissions }));
      return { ...inputs, user: `${uid}:${oldGroups[name]}`, uploads };
    };
    const { deployment, up } = await deploy("old-upload-shape", e2eSettings(), oldShape, E2E_STACK, [...NOT_DEPLOYED, ...TEMPO_NOT_DEPLOYED]);
    try {
      assert.equal(up.ok, false);
      assert.equal(up.failure?.stage, "apply");
      assert.match(up.failure!.message, /Unable to upload volume content: Error response from daemon: getent unable to find entry "10001:10001" in passwd database/);
      figures.oldUploadShape = up.failure!.message.split("\n").find((l) => /getent/.test(l))?.trim();
    } finally {
      assert.deepEqual(await destroyAndCheck(deployment), []);
    }
  });

  /**
   * Deploys every stack file's registered Tempo or collector container with its uploads, user and
   * image, running the program's own config check once instead of the service; returns its exit code
   * per stack (0 = accepted), failing with the check's output otherwise.
   */
  /**
   * A stack file's settings for a check on this engine. A Swarm stack registers its configs as Swarm
   * configs, not container uploads: it is checked with the same settings on one host, after
   * asserting that the config it registers is byte for byte the one checked.
   */
  function onOneHost(stack: string, service: "tempo" | "collector"): Settings {
    const settings = stackFileSettings(stack);
    if (settings.engine !== "swarm") return settings;
    const { engine: _engine, swarm: _swarm, ...dockerSettings } = settings;
    const path = service === "tempo" ? CONTAINER_PATHS.tempo.configFile : CONTAINER_PATHS.collector.configFile;
    const rendered = (s: Settings): string[] =>
      Object.values(renderStackConfigs(buildStackModel(parseStackConfig(stack, s))).services)
        .flatMap((svc) => svc.files.filter((f) => f.path === path).map((f) => (f.content as { text: string }).text));
    const onSwarm = [...new Set(rendered(settings))];
    assert.equal(onSwarm.length, 1, `${stack}: one ${service} config for every task`);
    assert.deepEqual([...new Set(rendered(dockerSettings))], onSwarm, `${stack}: the ${service} config checked on one host must be the one the swarm stack registers`);
    return dockerSettings;
  }

  async function checkRenderedConfigs(service: "tempo" | "collector"): Promise<Record<string, number>> {
    const checked: Record<string, number> = {};
    for (const stack of stackFiles()) {
      const settings = onOneHost(stack, service);
      const model = topologyOf(stack, settings);
      // Every Tempo container (one, or each microservice's replicas: one config, different -target), or the collector.
      const targets = Object.values(model.services).filter((s) => (service === "tempo" ? isTempoComponent(s.component) : s.component === "collector")).map((s) => s.id);
      const check: InputAlteration = ({ type, name, inputs }) => {
        if (type !== CONTAINER || !targets.includes(name)) return inputs;
        const command = inputs.command as string[];
        // Same uploads, user and image; run the check once instead of the service, publish nothing.
        const { ports: _ports, healthcheck: _healthcheck, wait: _wait, waitTimeout: _waitTimeout, ...rest } = inputs;
        return { ...rest, command: service === "tempo" ? [...command, "-config.verify=true"] : ["validate", ...command], restart: "no", mustRun: false, attach: true, logs: true };
      };
      // Tempo's containers start once the object store is healthy (its bucket exists): it stays for the Tempo check.
      const keep = (s: { id: string; component: string }) => targets.includes(s.id) || s.component === "grafana" || (service === "tempo" && s.component === "objectStore");
      const notNeeded = Object.values(model.services).filter((s) => !keep(s)).map((s) => ({ type: "tracing-stack:index:ServiceContainer", name: s.id, why: `not needed to check the ${service} config` }));
      const imagesNotNeeded = ["app-image", ...(service === "tempo" ? ["collector-image"] : ["tempo-image", "objectStore-image"])]
        .filter((name) => name !== "objectStore-image" || model.components.includes("objectStore"))
        .map((name) => ({ type: "tracing-stack:index:ServiceImage", name, why: `not needed to check the ${service} config` }));
      const notDeployed = [
        ...NOT_DEPLOYED,
        ...notNeeded,
        ...imagesNotNeeded,
        { type: "tracing-stack:index:PostDeployVerification", name: "verify-ingestion", why: "nothing runs to verify" },
      ];
      if (service === "tempo") {
        const image = model.config.images.tempo;
        assert.equal(image, tempo.ref, `${stack} pins ${image}; the suite checks configs with ${tempo.ref}`);
      }
      const { deployment, up } = await deploy(`config-check-${service}-${stack}`, settings, check, stack, notDeployed);
      try {
        assert.ok(up.ok, `${stack}: ${up.failure?.message}`);
        for (const target of targets) {
          const state = await deployment.stateOf(CONTAINER, target);
          checked[targets.length === 1 ? stack : `${stack} ${target}`] = Number(state?.exit_code);
          assert.equal(state?.exit_code, 0, `${stack}: ${target} rejected its rendered config:\n${String(state?.container_logs ?? "")}`);
        }
      } finally {
        const left = await destroyAndCheck(deployment, stack);
        // keepDataVolume stacks keep data volumes on destroy (retainOnDelete): expected, then removed here.
        const deployedVolumes = Object.values(model.services).filter((s) => keep(s) && s.component !== "grafana").flatMap((s) => s.volumes.map((v) => `volume ${v.volumeName}`));
        const retained = settings.keepDataVolume === true ? deployedVolumes.sort() : [];
        assert.deepEqual(left.sort(), retained);
        for (const volume of retained) await docker(["volume", "rm", volume.replace(/^volume /, "")]);
      }
    }
    return checked;
  }

  it("the collector (otelcol validate) accepts what every stack file registers, uploaded by the provider", async () => {
    figures.collectorConfigChecks = await checkRenderedConfigs("collector");
  });

  it("Tempo (-config.verify) accepts what every stack file registers, uploaded by the provider", needsTempo, async () => {
    figures.tempoConfigChecks = await checkRenderedConfigs("tempo");
  });

  it("Grafana runs for real", { skip: "Grafana is not deployed by this suite: its provisioning needs the Grafana Terraform provider, which cannot be built here; its resources are checked under mocks (test/unit), and what it would query runs against the real Prometheus and Tempo above" }, () => undefined);

  after(() => {
    console.log(`\nE2E FIGURES ${JSON.stringify(figures, null, 2)}`);
  });
});
