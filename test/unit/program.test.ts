import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { renderStackConfigs } from "../../configs/renderStackConfigs";
import { instancesOfComponent, isTempoComponent, loadStackModelFromFile } from "../../model";
import { fakePem, ofType, PROJECT_DIR, runProgram, stackFiles, VERIFIED_REPORT, waitsFor } from "../support/pulumiMocks";
import type { ProgramRun, RecordedResource } from "../support/pulumiMocks";
import { canReadRootOwned as canRead, OTHER_USER, parseUser } from "../support/filePermissions";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const isSecret = (v: unknown): boolean => typeof v === "object" && v !== null && SECRET_SIG in v;
const reveal = <T>(v: unknown): T => (isSecret(v) ? (v as { value: T }).value : (v as T));

interface Upload { file: string; content: string; owner?: string; group?: string; permissions: string }
interface Port { internal: number; external: number; ip: string }

const container = (run: ProgramRun, id: string): RecordedResource => {
  const found = ofType(run, "docker:index/container:Container").find((c) => c.name === id);
  assert.ok(found, `no container ${id}`);
  return found;
};
const uploads = (c: RecordedResource): Upload[] => reveal<Upload[]>(c.inputs.uploads);
const envs = (c: RecordedResource): string[] => reveal<string[]>(c.inputs.envs);

const runs = new Map<string, ProgramRun>();
before(async () => {
  for (const stack of stackFiles()) runs.set(stack, await runProgram(stack));
});

describe("the program under mocks", () => {
  it("ships at least two stack files", () => {
    assert.ok(stackFiles().includes("dev"));
    assert.ok(stackFiles().length >= 2);
  });

  // Engine docker's stacks; engine swarm's are test/unit/swarmEngine.test.ts'.
  for (const stack of stackFiles().filter((s) => loadStackModelFromFile(s, PROJECT_DIR).config.engine.kind === "docker")) {
    describe(`stack ${stack}`, () => {
      const model = loadStackModelFromFile(stack, PROJECT_DIR);
      const run = (): ProgramRun => runs.get(stack)!;
      /** Every container of this stack's model (monolithic: six; microservices: every replica). */
      const SERVICE_IDS = Object.keys(model.services);
      /** Tempo's containers: the single binary, or every replica of every microservice. */
      const TEMPO_IDS = SERVICE_IDS.filter((id) => isTempoComponent(model.services[id]!.component));
      const microservices = model.config.tempo.mode === "microservices";
      const volumeNames = Object.values(model.services).flatMap((service) => service.volumes.map((v) => v.volumeName));

      it("registers the whole stack", () => {
        const count = (type: string) => ofType(run(), type).length;
        assert.equal(count("tls:index/selfSignedCert:SelfSignedCert"), 1);
        // The CA, one per service, and the host client's.
        assert.equal(count("tls:index/privateKey:PrivateKey"), SERVICE_IDS.length + 2);
        assert.equal(count("tls:index/locallySignedCert:LocallySignedCert"), SERVICE_IDS.length + 1);
        assert.equal(count("docker:index/network:Network"), 1);
        // Monolithic: Tempo's data and the collector's queue. Microservices: each ingester's WAL, the object store's data, the queue.
        assert.equal(count("docker:index/volume:Volume"), microservices ? model.config.tempo.replicas.ingester + 2 : 2);
        // Tempo (one image for all its containers), Grafana, Prometheus (and the object store) pulled; the app and the collector built.
        assert.equal(count("docker:index/remoteImage:RemoteImage"), microservices ? 4 : 3);
        assert.equal(count("docker:index/image:Image"), 2);
        assert.deepEqual(ofType(run(), "docker:index/container:Container").map((c) => c.name).sort(), [...SERVICE_IDS].sort());
        assert.equal(count("pulumi:providers:grafana"), 1);
        assert.deepEqual(ofType(run(), "grafana:oss/dataSource:DataSource").map((d) => d.inputs.type).sort(), ["prometheus", "tempo"]);
        assert.equal(count("grafana:oss/folder:Folder"), 1);
        // Microservices-mode Tempo adds the Distributed Tempo dashboard to the four every stack has.
        assert.equal(count("grafana:oss/dashboard:Dashboard"), microservices ? 5 : 4);
        assert.equal(count("command:local:Command"), 1);
      });

      it("names every container, network and volume after the stack", () => {
        for (const c of ofType(run(), "docker:index/container:Container")) assert.match(c.inputs.name as string, new RegExp(`^${stack}-`));
        assert.equal(ofType(run(), "docker:index/network:Network")[0]!.inputs.name, `${stack}-tracing-stack`);
        assert.deepEqual(
          ofType(run(), "docker:index/volume:Volume").map((v) => v.inputs.name).sort(),
          microservices
            ? [`${stack}-collector-queue`, `${stack}-object-store-data`, ...[1, 2, 3].map((n) => `${stack}-tempo-ingester-data-${n}`)]
            : [`${stack}-collector-queue`, `${stack}-tempo-data`],
        );
        for (const c of ofType(run(), "docker:index/container:Container")) {
          assert.deepEqual(c.inputs.networksAdvanced, [{ name: `${stack}-tracing-stack`, aliases: model.services[c.name]!.networkAliases }]);
          assert.equal(c.inputs.name, model.services[c.name]!.containerName);
        }
      });

      it("publishes host ports from the stack file on the configured address", () => {
        const published = ofType(run(), "docker:index/container:Container").flatMap((c) => (c.inputs.ports as Port[] | undefined) ?? []);
        const expected = Object.values(model.config.hostPorts).sort((a, b) => a - b);
        assert.deepEqual(published.map((p) => p.external).sort((a, b) => a - b), expected);
        for (const p of published) assert.equal(p.ip, model.config.hostBindAddress);
      });

      it("uploads files without owner/group (no copyUIDGID), each key readable by its non-root process and by no other user, as a secret", () => {
        // The official images' uids: they own the images' data directories, so the process keeps them.
        const imageUid: Record<string, number> = { tempo: 10001, collector: 10001, app: 1000, appBackend: 1000, grafana: 472, prometheus: 65534, objectStore: 1000 };
        for (const id of SERVICE_IDS) {
          const component = model.services[id]!.component;
          const c = container(run(), id);
          assert.ok(isSecret(c.inputs.uploads), `${id} uploads carry a private key and must be secret`);
          for (const u of uploads(c)) {
            // Either one makes the Docker provider ask the daemon for copyUIDGID, which fails for a
            // user the host's passwd lacks ("getent unable to find entry"): the first real deploy's failure.
            assert.equal(u.owner, undefined, `${id} ${u.file} sets owner`);
            assert.equal(u.group, undefined, `${id} ${u.file} sets group`);
          }
          const user = parseUser(String(c.inputs.user));
          assert.equal(user.uid, imageUid[isTempoComponent(component) ? "tempo" : component], `${id} runs as its image's uid`);
          assert.notEqual(user.uid, 0, `${id} must not run as root`);
          const key = uploads(c).find((u) => u.file.endsWith(".key"));
          assert.ok(key, `${id} gets its key`);
          // Uploads without owner land root:root: the process (uid != 0) reads through the group bits.
          assert.ok(canRead(key.permissions, user), `${id} (user ${c.inputs.user}) cannot read its key (mode ${key.permissions})`);
          assert.ok(!canRead(key.permissions, OTHER_USER), `${id}'s key (mode ${key.permissions}) is readable by every user of the container`);
          assert.equal(key.content, fakePem("PRIVATE KEY", `pki-${id}-key`));
          for (const u of uploads(c)) assert.ok(canRead(u.permissions, user), `${id} cannot read ${u.file}`);
          const cert = uploads(c).find((u) => u.file.endsWith(".crt") && !u.file.endsWith("ca.crt"));
          // The container gets the signed certificate itself, so a renewed one replaces it on the next up.
          assert.equal(cert?.content, fakePem("CERTIFICATE", `pki-${id}-cert`));
          assert.equal(uploads(c).find((u) => u.file.endsWith("ca.crt"))?.content, fakePem("CERTIFICATE", "pki-ca"));
        }
      });

      it("renews certificates before expiry with SANs for every name a client dials", () => {
        for (const cert of ofType(run(), "tls:index/locallySignedCert:LocallySignedCert")) {
          assert.equal(cert.inputs.earlyRenewalHours, model.config.certificates.earlyRenewalHours);
          assert.equal(cert.inputs.validityPeriodHours, model.config.certificates.validityHours);
        }
        for (const id of SERVICE_IDS) {
          const csr = ofType(run(), "tls:index/certRequest:CertRequest").find((r) => r.name === `pki-${id}-csr`);
          assert.ok(csr);
          const names = csr.inputs.dnsNames as string[];
          const service = model.services[id]!;
          for (const expected of [...service.networkAliases, service.containerName, "localhost"]) assert.ok(names.includes(expected), `${id} cert lacks ${expected}`);
          assert.deepEqual(csr.inputs.ipAddresses, ["127.0.0.1"]);
        }
      });

      it("mounts every config file the model declares, rendered, byte for byte", () => {
        const rendered = renderStackConfigs(model);
        const declared = SERVICE_IDS.flatMap((id) => model.services[id]!.files.filter((f) => f.content.kind === "config").map((f) => `${id} ${f.path}`));
        // One Tempo config for every Tempo container: each picks its part with -target.
        assert.deepEqual(declared, [...TEMPO_IDS.map((id) => `${id} /etc/tempo/tempo.yaml`), "collector /etc/otelcol-contrib/config.yaml", "prometheus /etc/prometheus/prometheus.yml", "prometheus /etc/prometheus/web-config.yml"]);
        for (const id of SERVICE_IDS) {
          for (const file of rendered.services[id]!.files.filter((f) => f.content.kind === "text")) {
            const uploaded = uploads(container(run(), id)).find((u) => u.file === file.path);
            assert.equal(uploaded?.content, file.content.kind === "text" ? file.content.text : undefined, `${id} ${file.path}`);
          }
        }
      });

      it("keeps Tempo's data and the collector's queue on named volumes, retained only when the stack asks", () => {
        if (microservices) {
          // Each ingester its own WAL: a trace not yet flushed survives its ingester's restart.
          for (const ingester of instancesOfComponent(model.services, "tempoIngester")) {
            assert.deepEqual(container(run(), ingester.id).inputs.volumes, [{ volumeName: `${stack}-tempo-ingester-data-${ingester.replica}`, containerPath: "/var/tempo" }]);
          }
          assert.deepEqual(container(run(), "objectStore").inputs.volumes, [{ volumeName: `${stack}-object-store-data`, containerPath: "/data" }]);
        } else {
          assert.deepEqual(container(run(), "tempo").inputs.volumes, [{ volumeName: `${stack}-tempo-data`, containerPath: "/var/tempo" }]);
        }
        const collector = container(run(), "collector");
        assert.deepEqual(collector.inputs.volumes, [{ volumeName: `${stack}-collector-queue`, containerPath: "/var/lib/otelcol/file_storage" }]);
        for (const service of Object.values(model.services)) {
          for (const volume of service.volumes) assert.equal(volume.retainOnDelete, model.config.keepDataVolume, volume.volumeName);
        }
        assert.equal(volumeNames.length, new Set(volumeNames).size, "no two containers share a volume");
      });

      it("runs the pinned collector through its own image, whose queue directory belongs to the collector's uid", () => {
        const build = ofType(run(), "docker:index/image:Image").find((i) => String(i.inputs.imageName).includes("/otelcol-contrib:"));
        assert.ok(build, "the collector image is built");
        const args = (build.inputs.build as { args: Record<string, string> }).args;
        assert.equal(args.COLLECTOR_IMAGE, model.config.images.collector);
        const dockerfile = readFileSync(join(PROJECT_DIR, "images", "collector", "Dockerfile"), "utf8");
        assert.match(dockerfile, /^FROM \$\{COLLECTOR_IMAGE\}$/m);
        const uid = model.services.collector.user.split(":")[0];
        assert.match(dockerfile, new RegExp(`^COPY --chown=${uid}:0 queue/ ${model.services.collector.volumes[0]!.containerPath}/$`, "m"));
      });

      it("gives every service a stop timeout that replacement and destroy honour too", () => {
        for (const id of SERVICE_IDS) {
          const c = container(run(), id);
          assert.equal(c.inputs.stopSignal, "SIGTERM");
          assert.equal(c.inputs.stopTimeout, model.services[id]!.stop.timeoutSeconds);
          // Without it the provider kills the container at once when replacing or destroying it.
          assert.equal(c.inputs.destroyGraceSeconds, model.services[id]!.stop.timeoutSeconds);
        }
        for (const id of TEMPO_IDS) assert.ok(model.services[id]!.stop.timeoutSeconds >= 30, "Tempo's generator sleeps 5 s and its frontend may wait out a 30 s cleanup");
      });

      it("runs the app and its backend from one build, the app calling the backend over HTTPS under another service name", () => {
        const app = container(run(), "app");
        const backend = container(run(), "appBackend");
        assert.equal(app.inputs.image, backend.inputs.image);
        assert.equal(ofType(run(), "docker:index/image:Image").filter((i) => String(i.inputs.imageName).includes("/app:")).length, 1, "one build serves both");
        const envOf = (c: RecordedResource) => new Map(envs(c).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
        const appEnv = envOf(app);
        const backendEnv = envOf(backend);
        assert.equal(appEnv.get("OTEL_SERVICE_NAME"), model.config.appServiceName);
        assert.equal(backendEnv.get("OTEL_SERVICE_NAME"), model.config.appBackendServiceName);
        assert.notEqual(model.config.appServiceName, model.config.appBackendServiceName);
        assert.equal(appEnv.get("DOWNSTREAM_URL"), `https://${model.services.appBackend.networkAlias}:3010`);
        assert.equal(appEnv.get("DOWNSTREAM_CA_FILE"), "/etc/app/tls/ca.crt");
        assert.equal(backendEnv.get("DOWNSTREAM_URL"), undefined, "the backend calls nothing: one edge, no loop");
        assert.deepEqual(backend.inputs.ports, [], "only the app calls the backend: nothing published");
      });

      it("keeps the Grafana password secret and serves Grafana over HTTPS without anonymous access", () => {
        const grafana = container(run(), "grafana");
        const env = envs(grafana);
        // The password reaches Grafana as a 0440 secret file (GF_..._PASSWORD__FILE), never in its environment.
        assert.ok(!env.some((e) => e.includes("generated-password-for-tests")), "the password is in Grafana's environment");
        const passwordFile = env.find((e) => e.startsWith("GF_SECURITY_ADMIN_PASSWORD__FILE="))?.split("=")[1];
        const upload = uploads(grafana).find((u) => u.file === passwordFile);
        assert.equal(upload?.content, "generated-password-for-tests");
        assert.equal(upload?.permissions, "0440");
        assert.ok(isSecret(grafana.inputs.uploads));
        assert.ok(env.includes("GF_SERVER_PROTOCOL=https"));
        assert.ok(env.includes("GF_AUTH_ANONYMOUS_ENABLED=false"));
        assert.ok(run().secretOutputs.has("grafanaAdminPassword"));
        assert.equal(grafana.inputs.wait, true, "the provider may only act once Grafana is healthy");
      });

      it("talks to Grafana over HTTPS verifying the stack CA", () => {
        const provider = ofType(run(), "pulumi:providers:grafana")[0]!;
        assert.equal(provider.inputs.url, model.hostUrls.grafana);
        assert.match(provider.inputs.url as string, /^https:\/\/localhost:/);
        assert.equal(provider.inputs.caCert, fakePem("CERTIFICATE", "pki-ca"));
        assert.notEqual(provider.inputs.insecureSkipVerify, true);
        const tempoDs = ofType(run(), "grafana:oss/dataSource:DataSource").find((d) => d.inputs.type === "tempo")!;
        // Grafana queries Tempo's API: the single binary, or the query-frontend.
        const tempoApi = model.services[microservices ? "tempoQueryFrontend" : "tempo"]!;
        assert.equal(tempoDs.inputs.url, `https://${tempoApi.networkAlias}:3200`);
        const jsonData = JSON.parse(tempoDs.inputs.jsonDataEncoded as string) as Record<string, unknown>;
        assert.equal(jsonData.tlsAuthWithCACert, true);
        assert.ok(tempoApi.certificate.dnsNames.includes(jsonData.serverName as string));
        const secure = JSON.parse(reveal<string>(tempoDs.inputs.secureJsonDataEncoded)) as Record<string, unknown>;
        assert.ok(isSecret(tempoDs.inputs.secureJsonDataEncoded));
        assert.equal(secure.tlsCACert, fakePem("CERTIFICATE", "pki-ca"));
      });

      it("starts each container once what it calls is up, and everything else at once", () => {
        const CONTAINER = "docker:index/container:Container";
        const waits = (id: string): string[] => {
          const registration = run().registrations.find((r) => r.type === CONTAINER && r.name === id);
          assert.ok(registration, `no registration of container ${id}`);
          return waitsFor(run(), registration, CONTAINER);
        };
        // The app and its backend lose spans without the collector. The app calls its backend only
        // while serving requests, which come after every container is healthy: they start together.
        assert.deepEqual(waits("app"), ["collector"]);
        assert.deepEqual(waits("appBackend"), ["collector"]);
        // The collector queues for Tempo, remote write and scrapes retry, Grafana queries on demand.
        for (const id of ["collector", "prometheus", "grafana"]) assert.deepEqual(waits(id), [], `${id} waits for nothing`);
        // Tempo's internal clients retry; only what reads or writes blocks waits, for the store whose health means its bucket exists.
        for (const id of TEMPO_IDS) {
          // Tempo 2.10.8's distributor and metrics-generator modules never open the trace storage.
          const readsBlocks = microservices && !/^tempo(Distributor|MetricsGenerator)/.test(id);
          assert.deepEqual(waits(id), readsBlocks ? ["objectStore"] : [], `${id} waits for ${readsBlocks ? "the object store" : "nothing"}`);
        }
        if (microservices) assert.deepEqual(waits("objectStore"), []);
        // The verification and Grafana's provisioning still wait for what they use.
        const verification = run().registrations.find((r) => r.type === "command:local:Command");
        assert.ok(verification);
        assert.deepEqual(waitsFor(run(), verification, CONTAINER), [...SERVICE_IDS].sort());
        for (const dashboard of run().registrations.filter((r) => r.type === "grafana:oss/dashboard:Dashboard")) {
          assert.ok(waitsFor(run(), dashboard, CONTAINER).includes("grafana"), `${dashboard.name} waits for Grafana`);
        }
      });

      it("waits for health with probes that answer within seconds of the service being ready", () => {
        for (const id of ["app", "appBackend", "grafana"]) {
          const healthcheck = container(run(), id).inputs.healthcheck as Record<string, unknown>;
          assert.equal(container(run(), id).inputs.wait, true, `${id} is waited for`);
          // Docker runs the first probe one interval after the start.
          assert.ok(Number.parseFloat(String(healthcheck.interval)) <= 2, `${id} first probes after ${String(healthcheck.interval)}`);
          // The provider reads durations back as Go prints them: anything else is a change on every up.
          for (const key of ["interval", "timeout", "startPeriod"]) assert.match(String(healthcheck[key]), /^(\d+h)?(\d+m)?\d+s$/);
          assert.equal(healthcheck.startPeriod, "1m0s");
          // Engines below API 1.44 (Docker 20.10, Debian 12) refuse to create a container with it.
          assert.equal(healthcheck.startInterval, undefined);
        }
      });

      it("verifies ingestion after deploying, re-running when any container, image or the CA changes", () => {
        const verify = ofType(run(), "command:local:Command")[0]!;
        assert.match(verify.inputs.create as string, /bin\/tracing-stack-verify\.js" --post-deploy/);
        // pulumi-command streams stdout and stderr by default: only the summary/diagnosis (stderr) may show.
        assert.equal(verify.inputs.logging, "stderr");
        assert.equal(verify.inputs.update, verify.inputs.create);
        assert.match(verify.inputs.create as string, new RegExp(`--traces ${model.config.verification.traces} `));
        // The environment holds the client key, so Pulumi keeps all of it secret.
        assert.ok(isSecret(verify.inputs.environment), "the verification's environment is a secret");
        const env = reveal<Record<string, string>>(verify.inputs.environment);
        assert.equal(env.VERIFY_CLIENT_CERT_PEM, fakePem("CERTIFICATE", "pki-host-client-cert"));
        assert.equal(env.VERIFY_CLIENT_KEY_PEM, fakePem("PRIVATE KEY", "pki-host-client-key"));
        assert.equal(env.VERIFY_TEMPO_URL, model.hostUrls.tempoApi);
        assert.equal(env.VERIFY_APP_URL, model.hostUrls.app);
        assert.equal(env.VERIFY_COLLECTOR_OTLP_URL, model.hostUrls.collectorOtlpGrpc);
        assert.equal(env.VERIFY_PROMETHEUS_URL, model.hostUrls.prometheus);
        assert.equal(env.VERIFY_SERVICE_GRAPH_EDGE, `${model.config.appServiceName},${model.config.appBackendServiceName}`);
        assert.equal(env.VERIFY_CA_PEM, fakePem("CERTIFICATE", "pki-ca"));
        const triggers = verify.inputs.triggers as string[];
        for (const id of SERVICE_IDS) assert.ok(triggers.includes(`${id}-id`), `verification must re-run when ${id} is replaced`);
        assert.ok(triggers.includes("sha256:built-app-image"));
        assert.deepEqual(run().outputs.verification, VERIFIED_REPORT);
        assert.equal(run().outputs.verificationSummary, VERIFIED_REPORT.summary);
      });

      it("exports what users need", () => {
        const out = run().outputs;
        // Pulumi shows only what index.ts exports: every output of the program must be exported there.
        const indexText = readFileSync(join(PROJECT_DIR, "index.ts"), "utf8");
        for (const name of Object.keys(out)) assert.match(indexText, new RegExp(`^export const ${name} = outputs\\.${name};$`, "m"), `index.ts does not export ${name}`);
        assert.equal(out.grafanaUrl, model.hostUrls.grafana);
        assert.equal(out.tempoApiUrl, model.hostUrls.tempoApi);
        assert.equal(out.appUrl, model.hostUrls.app);
        assert.equal(out.caCertificate, fakePem("CERTIFICATE", "pki-ca"));
        // Under mutual TLS (the default) users' services need the stack's client identity.
        assert.equal(out.clientCertificate, fakePem("CERTIFICATE", "pki-host-client-cert"));
        assert.equal(out.clientPrivateKey, fakePem("PRIVATE KEY", "pki-host-client-key"));
        assert.ok(run().secretOutputs.has("clientPrivateKey"), "the client key is a secret output");
        assert.ok(!run().secretOutputs.has("clientCertificate"));
      });

      it("never writes a TLS shortcut or a floating tag", () => {
        const everything = JSON.stringify(run().resources.map((r) => r.inputs));
        for (const forbidden of [/insecure/i, /skip_?verify/i, /:latest\b/]) assert.doesNotMatch(everything, forbidden);
      });
    });
  }

  it("lets every stack run side by side on one Docker host", () => {
    const seen = { containers: new Map<string, string>(), ports: new Map<string, string>(), networks: new Map<string, string>(), volumes: new Map<string, string>() };
    const claim = (kind: keyof typeof seen, key: string, stack: string) => {
      const owner = seen[kind].get(key);
      assert.ok(owner === undefined, `${kind} ${key} is used by stacks ${owner} and ${stack}`);
      seen[kind].set(key, stack);
    };
    for (const [stack, run] of runs) {
      for (const c of ofType(run, "docker:index/container:Container")) {
        claim("containers", c.inputs.name as string, stack);
        for (const p of (c.inputs.ports as Port[] | undefined) ?? []) claim("ports", `${p.ip}:${p.external}`, stack);
      }
      for (const n of ofType(run, "docker:index/network:Network")) claim("networks", n.inputs.name as string, stack);
      for (const v of ofType(run, "docker:index/volume:Volume")) claim("volumes", v.inputs.name as string, stack);
    }
  });

  it("uses the configured Grafana password instead of generating one", async () => {
    const run = await runProgram("dev", { ...Object.fromEntries([["tracing-stack:grafanaAdminPassword", "from-config"]]) }, ["tracing-stack:grafanaAdminPassword"]);
    assert.equal(ofType(run, "random:index/randomPassword:RandomPassword").length, 0);
    assert.ok(uploads(container(run, "grafana")).some((u) => u.file.endsWith("admin-password") && u.content === "from-config"));
    assert.ok(run.secretOutputs.has("grafanaAdminPassword"));
  });
});
