/**
 * Engine swarm under mocks (Pulumi.swarm.yaml): the same model as Swarm services, their files as
 * Swarm secrets and configs, one overlay network, the verification told which tasks to expect.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { renderStackConfigs } from "../../configs/renderStackConfigs";
import { buildStackModel, loadStackModelFromFile, parseStackConfig, StackConfigError } from "../../model";
import type { ServiceModel } from "../../model";
import { swarmServicePolicy } from "../../engines/swarm";
import { swarmDuration } from "../../components/swarmService";
import { fakePem, ofType, PROJECT_DIR, runProgram, waitsFor } from "../support/pulumiMocks";
import type { ProgramRun, RecordedResource } from "../support/pulumiMocks";
import { stackFileSettings } from "../../e2e/support/e2eStack";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const isSecret = (v: unknown): boolean => typeof v === "object" && v !== null && SECRET_SIG in v;
const reveal = <T>(v: unknown): T => (isSecret(v) ? (v as { value: T }).value : (v as T));

interface FileRef { fileName: string; fileUid: string; fileGid: string; fileMode: number; secretId?: string; secretName?: string; configId?: string; configName?: string }
interface ContainerSpec {
  image: string;
  user: string;
  hostname: string;
  env?: Record<string, string>;
  secrets?: FileRef[];
  configs?: FileRef[];
  mounts?: Array<{ type: string; source: string; target: string }>;
  healthcheck?: { tests: string[] };
  stopGracePeriod: string;
}
interface ServiceInputs {
  name: string;
  mode: { replicated: { replicas: number } };
  taskSpec: { containerSpec: ContainerSpec; placement?: { maxReplicas?: number }; networksAdvanceds: Array<{ id: string; aliases?: string[] }> };
  updateConfig: { failureAction: string; order: string; parallelism: number };
  rollbackConfig: { order: string };
  endpointSpec: { mode: string; ports: Array<{ targetPort: number; publishedPort: number; publishMode: string }> };
  convergeConfig: { timeout: string };
}

const model = loadStackModelFromFile("swarm", PROJECT_DIR);
let run: ProgramRun;
before(async () => {
  run = await runProgram("swarm");
});

const services = (): RecordedResource[] => ofType(run, "docker:index/service:Service");
const serviceOf = (id: string): ServiceInputs => {
  const found = services().find((s) => s.name === id);
  assert.ok(found, `no Swarm service ${id}`);
  return found.inputs as unknown as ServiceInputs;
};
const specOf = (id: string): ContainerSpec => serviceOf(id).taskSpec.containerSpec;
const byId = (type: string, id: string): RecordedResource => {
  const found = ofType(run, type).find((r) => `${r.name}-id` === id);
  assert.ok(found, `no ${type} with id ${id}`);
  return found;
};
const decoded = (r: RecordedResource): string => Buffer.from(reveal<string>(r.inputs.data), "base64").toString("utf8");

describe("engine swarm: the stack as Swarm services", () => {
  it("runs one service per component, with the component's replicas as tasks, and no container", () => {
    assert.equal(ofType(run, "docker:index/container:Container").length, 0);
    assert.deepEqual(services().map((s) => s.name).sort(), Object.keys(model.services).sort());
    for (const service of Object.values(model.services)) {
      const inputs = serviceOf(service.id);
      assert.equal(inputs.name, service.containerName);
      assert.match(inputs.name, /^swarm-/);
      assert.equal(inputs.mode.replicated.replicas, service.tasks, service.id);
    }
    assert.equal(serviceOf("tempoIngester").mode.replicated.replicas, 3);
    assert.equal(serviceOf("tempoDistributor").mode.replicated.replicas, 2);
    assert.equal(serviceOf("tempoQuerier").mode.replicated.replicas, 2);
  });

  it("puts every service on one attachable, encrypted, internal overlay network under its aliases", () => {
    const networks = ofType(run, "docker:index/network:Network").filter((n) => n.name === "network");
    assert.equal(networks.length, 1);
    const network = networks[0]!.inputs;
    assert.equal(network.driver, "overlay");
    assert.equal(network.attachable, true);
    assert.equal(network.internal, true);
    assert.deepEqual(network.options, { encrypted: "" });
    for (const service of Object.values(model.services)) {
      const attached = serviceOf(service.id).taskSpec.networksAdvanceds;
      const publishes = service.ports.some((p) => p.published);
      // Publishing services also join the edge network (a route out, where Swarm binds host-mode ports); nothing that gossips does.
      assert.deepEqual(attached, [{ id: `${networks[0]!.name}-id`, aliases: service.networkAliases }, ...(publishes ? [{ id: "edge-network-id" }] : [])], service.id);
      if (publishes) assert.ok(!service.networkAliases.includes("tempo-gossip-ring"), service.id);
    }
    assert.ok(specOf("tempoIngester").hostname.includes("{{.Task.Slot}}"), "a rescheduled ingester must keep its ring name");
    const edge = ofType(run, "docker:index/network:Network").find((n) => n.name === "edge-network")!.inputs;
    assert.equal(edge.name, "swarm-tracing-stack-edge");
    assert.equal(edge.internal, undefined);
    assert.deepEqual(edge.options, { encrypted: "" });
  });

  it("mounts every key and key file as a Swarm secret readable by the service's uid and group only, everything else as a config", () => {
    for (const service of Object.values(renderStackConfigs(model).services)) {
      const spec = specOf(service.id);
      const [uid, gid] = service.user.split(":");
      const mounted = [...(spec.secrets ?? []), ...(spec.configs ?? [])];
      assert.deepEqual(mounted.map((f) => f.fileName).sort(), service.files.map((f) => f.path).sort(), service.id);
      for (const file of service.files) {
        const ref = mounted.find((f) => f.fileName === file.path)!;
        assert.equal(ref.fileUid, uid, `${service.id} ${file.path}`);
        assert.equal(ref.fileGid, gid, `${service.id} ${file.path}`);
        assert.equal(ref.fileMode.toString(8), file.mode.replace(/^0/, ""), `${service.id} ${file.path}`);
        if (file.mode === "0440") {
          assert.ok(ref.secretId, `${service.id} ${file.path} must be a Swarm secret (tmpfs, never on a node's disk)`);
          assert.ok(!(ref.fileMode & 0o004), `${service.id} ${file.path} readable by every user`);
          const secret = byId("docker:index/secret:Secret", ref.secretId);
          assert.ok(isSecret(secret.inputs.data), `${service.id} ${file.path}: the data must stay a Pulumi secret`);
        } else {
          assert.ok(ref.configId, `${service.id} ${file.path} must be a Swarm config`);
        }
      }
      const key = (spec.secrets ?? []).find((f) => f.fileName.endsWith(".key"))!;
      assert.equal(decoded(byId("docker:index/secret:Secret", key.secretId!)), fakePem("PRIVATE KEY", `pki-${service.id}-key`));
    }
    // Nothing secret in any environment: the S3 keys and Grafana's password are secret files.
    for (const service of services()) {
      const env = (service.inputs.taskSpec as ServiceInputs["taskSpec"]).containerSpec.env ?? {};
      assert.ok(!isSecret(env), `${service.name}'s environment holds a secret`);
      assert.ok(!Object.values(env).some((v) => v.includes("generated-password-for-tests")), service.name);
    }
  });

  it("names every secret and config after its content, so a changed file is a new object that rolls its service", () => {
    const objects = [...ofType(run, "docker:index/secret:Secret"), ...ofType(run, "docker:index/serviceConfig:ServiceConfig")];
    for (const object of objects) {
      const name = String(object.inputs.name);
      assert.match(name, /^swarm-[A-Za-z0-9.-]+-[0-9a-f]{12}$/, object.name);
      assert.ok(name.length <= 64, `${name} is longer than Swarm allows`);
    }
    // Different certificates, different names; the same CA everywhere, the same hash.
    const certName = (id: string): string => String(byId("docker:index/serviceConfig:ServiceConfig", specOf(id).configs!.find((f) => /\/(tempo|collector)\.crt$/.test(f.fileName))!.configId!).inputs.name);
    assert.notEqual(certName("tempoIngester").slice(-12), certName("tempoDistributor").slice(-12));
    const caHash = (id: string): string => String(byId("docker:index/serviceConfig:ServiceConfig", specOf(id).configs!.find((f) => f.fileName.endsWith("ca.crt"))!.configId!).inputs.name).slice(-12);
    assert.equal(caHash("tempoIngester"), caHash("collector"));
  });

  it("keeps at most one ingester per node, and gives every task of a stateful service its own volume", () => {
    assert.equal(serviceOf("tempoIngester").taskSpec.placement?.maxReplicas, 1);
    assert.equal(serviceOf("tempoDistributor").taskSpec.placement?.maxReplicas, 0, "0: no limit, as the provider reads it back");
    assert.deepEqual(specOf("tempoIngester").mounts?.map((m) => [m.type, m.source, m.target]), [["volume", "swarm-tempo-ingester-data-{{.Task.Slot}}", "/var/tempo"]]);
    assert.deepEqual(specOf("objectStore").mounts?.map((m) => m.source), ["swarm-object-store-data"]);
    assert.deepEqual(specOf("collector").mounts?.map((m) => m.source), ["swarm-collector-queue"]);
  });

  it("rolls updates one task at a time, rolling back on failure, starting the new task first only where nothing is shared", () => {
    for (const service of Object.values(model.services)) {
      const inputs = serviceOf(service.id);
      assert.equal(inputs.updateConfig.failureAction, "rollback", service.id);
      assert.equal(inputs.updateConfig.parallelism, 1, service.id);
      const expected = service.volumes.length > 0 ? "stop-first" : "start-first";
      assert.equal(inputs.updateConfig.order, expected, service.id);
      assert.equal(inputs.rollbackConfig.order, expected, service.id);
      assert.equal(inputs.convergeConfig.timeout, "3m", `${service.id}: \`pulumi up\` waits for its tasks`);
      assert.equal(specOf(service.id).stopGracePeriod, `${service.stop.timeoutSeconds}s`, service.id);
      if (service.healthcheck) assert.deepEqual(specOf(service.id).healthcheck?.tests, service.healthcheck.test, service.id);
    }
  });

  it("publishes through the routing mesh (a virtual IP) and resolves every other service's alias to each of its tasks", () => {
    for (const service of Object.values(model.services)) {
      const endpoint = serviceOf(service.id).endpointSpec;
      const published = service.ports.filter((p) => p.published);
      assert.equal(endpoint.mode, published.length > 0 ? "vip" : "dnsrr", service.id);
      assert.deepEqual(
        endpoint.ports.map((p) => [p.targetPort, p.publishedPort, p.publishMode]),
        published.map((p) => [p.containerPort, p.published!.port, "ingress"]),
        service.id,
      );
    }
    assert.deepEqual(serviceOf("tempoQueryFrontend").endpointSpec.ports.map((p) => p.publishedPort), [38200]);
  });

  it("pulls pinned images on every node by their exact tag and builds only the app and the collector", () => {
    assert.equal(ofType(run, "docker:index/remoteImage:RemoteImage").length, 0);
    assert.equal(ofType(run, "docker:index/image:Image").length, 2);
    assert.equal(specOf("tempoIngester").image, "grafana/tempo:2.10.8");
    assert.equal(specOf("objectStore").image, "chrislusf/seaweedfs:4.53");
    assert.equal(specOf("app").image, "tracing-stack/app:swarm");
  });

  it("starts what reads blocks only once the object store (whose health means its bucket exists) runs", () => {
    const registration = run.registrations.find((r) => r.type === "tracing-stack:index:SwarmService" && r.name === "tempoIngester")!;
    assert.ok(waitsFor(run, registration, "docker:index/service:Service").includes("objectStore"));
  });

  it("verifies the stack and every service's running tasks after deploying", () => {
    const command = ofType(run, "command:local:Command").find((c) => c.name === "verify-ingestion")!;
    const env = reveal<Record<string, string>>(command.inputs.environment);
    const expected = Object.values(model.services).map((s) => `${s.containerName}=${s.tasks}`).sort();
    assert.deepEqual(env.VERIFY_SWARM_SERVICES!.split(",").sort(), expected);
    assert.ok(expected.includes("swarm-tempo-ingester=3"));
    assert.equal(env.VERIFY_INGESTERS, "3");
    const registration = run.registrations.find((r) => r.type === "command:local:Command" && r.name === "verify-ingestion")!;
    assert.deepEqual(waitsFor(run, registration, "docker:index/service:Service"), Object.keys(model.services).sort());
  });

  it("removes the stack's volumes from every node on destroy, after every service is gone", () => {
    const cleanup = ofType(run, "command:local:Command").find((c) => c.name === "volume-cleanup");
    assert.ok(cleanup, "no volume cleanup");
    const script = String(cleanup.inputs.delete);
    assert.match(script, /docker service create .*--mode global-job/);
    assert.match(script, /--mount type=bind,source=\/var\/run\/docker\.sock/);
    assert.match(script, /tracing-stack\.stack=swarm/);
    assert.match(script, / tracing-stack\/app:swarm /, "the job runs the app image, which has node");
    // Destroy goes in reverse: what depends on the cleanup goes first, so no task holds a volume when it runs.
    for (const id of Object.keys(model.services)) {
      const registration = run.registrations.find((r) => r.type === "tracing-stack:index:SwarmService" && r.name === id)!;
      assert.ok(waitsFor(run, registration, "command:local:Command").includes("volume-cleanup"), id);
    }
  });

  it("never writes a TLS shortcut or a floating tag", () => {
    const text = JSON.stringify(run.resources.map((r) => r.inputs)) + Object.values(renderStackConfigs(model).services).flatMap((s) => s.files.map((f) => JSON.stringify(f.content))).join("");
    assert.doesNotMatch(text, /insecure|tlsSkipVerify|:latest"/i);
  });
});

describe("engine swarm: durations as the provider reads a service back", () => {
  it("drops Go's trailing zero units (1m, not 1m0s), so an unchanged service plans no change", () => {
    assert.deepEqual([2, 30, 60, 90, 180, 3600, 3660].map(swarmDuration), ["2s", "30s", "1m", "1m30s", "3m", "1h", "1h1m"]);
  });
});

describe("engine swarm: settings", () => {
  const settings = (): Record<string, unknown> => stackFileSettings("swarm");
  const problems = (raw: Record<string, unknown>): string => {
    try {
      parseStackConfig("swarm", raw);
      return "";
    } catch (error) {
      assert.ok(error instanceof StackConfigError);
      return error.message;
    }
  };

  it("refuses what Swarm cannot honour, before any resource, naming the setting and the fix", () => {
    assert.match(problems({ ...settings(), engine: "kubernetes" }), /tracing-stack:engine: unknown engine "kubernetes"\. Fix: set it to one of: docker, swarm\./);
    assert.match(problems({ ...settings(), hostBindAddress: "127.0.0.1" }), /tracing-stack:hostBindAddress: has no effect under engine swarm/);
    assert.match(problems({ ...settings(), tls: { mutual: false } }), /tracing-stack:tls\.mutual: is false while engine is swarm/);
    assert.match(problems({ ...settings(), swarm: { publishMode: "nodeport" } }), /tracing-stack:swarm\.publishMode: unknown publish mode "nodeport"/);
    assert.match(problems({ ...settings(), swarm: { dialAddress: "https://manager:2376" } }), /tracing-stack:swarm\.dialAddress: "https:\/\/manager:2376" is neither a host name nor an IPv4 address/);
    assert.match(problems({ ...settings(), swarm: { spread: true } }), /tracing-stack:swarm\.spread: is not a known setting/);
    assert.match(problems({ swarm: { publishMode: "host" } }), /tracing-stack:swarm: applies to engine swarm only/);
    const external = { ...settings(), tempo: { mode: "microservices", objectStorage: { kind: "external", endpoint: "s3.example.com:443", bucket: "b", accessKeyId: "AKIA" } }, objectStorageSecretAccessKey: "s" };
    assert.match(problems(external), /tracing-stack:tempo\.objectStorage\.kind: is external while engine is swarm/);
  });

  it("puts the address users dial into every certificate, and dials it for the verification", () => {
    const config = parseStackConfig("swarm", { ...settings(), swarm: { dialAddress: "10.0.0.11" } });
    const dialled = loadStackModelFromFile("swarm", PROJECT_DIR);
    assert.equal(dialled.hostUrls.tempoApi, "https://localhost:38200");
    const withIp = renderStackConfigs(loadModel(config));
    assert.equal(withIp.hostUrls.tempoApi, "https://10.0.0.11:38200");
    for (const service of Object.values(withIp.services)) assert.ok(service.certificate.ipAddresses.includes("10.0.0.11"), service.id);
  });

  it("with host-mode publishing, resolves published services to their tasks and stops them before starting their successors", () => {
    assert.match(problems({ ...settings(), swarm: { publishMode: "host" } }), /tracing-stack:swarm\.publishedOn: is not set while swarm\.publishMode is host/);
    assert.match(problems({ ...settings(), swarm: { publishMode: "host", publishedOn: "edge-1" } }), /tracing-stack:swarm\.publishedOn: "edge-1" is not a Swarm placement constraint/);
    const config = parseStackConfig("swarm", { ...settings(), swarm: { publishMode: "host", publishedOn: "node.hostname==edge-1" } });
    const m = loadModel(config);
    const engine = config.engine as Extract<typeof config.engine, { kind: "swarm" }>;
    const policy = (s: ServiceModel) => swarmServicePolicy(engine, s);
    assert.equal(policy(m.services.tempoQueryFrontend!).endpointMode, "dnsrr");
    assert.equal(policy(m.services.tempoQueryFrontend!).updateOrder, "stop-first");
    assert.equal(policy(m.services.tempoQuerier!).updateOrder, "start-first");
    assert.deepEqual(policy(m.services.tempoQueryFrontend!).placementConstraints, ["node.hostname==edge-1"]);
    assert.deepEqual(policy(m.services.tempoIngester!).placementConstraints, []);
  });
});

function loadModel(config: ReturnType<typeof parseStackConfig>): ReturnType<typeof buildStackModel> {
  return buildStackModel(config);
}
