/**
 * Tempo in microservices mode, read back from what the containers receive: the one tempo.yaml all
 * of Tempo's containers share, the collector's and Prometheus' configs, the object store's container,
 * and the files and environment each container is given. test/support/wiring.ts understands
 * monolithic stacks only; the checks of the microservices hops live here.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { renderCollectorConfig } from "../../configs/collector/collectorConfig";
import { renderObjectStoreCredentials } from "../../configs/objectStore/credentials";
import { renderPrometheusConfig } from "../../configs/prometheus/prometheusConfig";
import { renderStackConfigs } from "../../configs/renderStackConfigs";
import { renderTempoConfig } from "../../configs/tempo/tempoConfig";
import { withLink } from "../../e2e/support/e2eStack";
import { assembleStackModel, buildStackModel, buildTopology, instancesOfComponent, isTempoComponent, loadStackModelFromFile, parseStackConfig } from "../../model";
import type { ComponentId, ContainerFile, ServiceModel, StackModel } from "../../model";
import { TEMPO_GOSSIP_ALIAS } from "../../model/constants";
import { PROJECT_DIR, stackFiles } from "../support/pulumiMocks";
import { canReadRootOwned, OTHER_USER, parseUser } from "../support/filePermissions";

type Doc = Record<string, any>;

const model = loadStackModelFromFile("distributed", PROJECT_DIR);
const tempo = parse(renderTempoConfig(model)) as Doc;

/** The targets each Tempo component runs, as `-target=` names them (Tempo's own module names). */
const TARGETS: Partial<Record<ComponentId, string>> = {
  tempoDistributor: "distributor",
  tempoIngester: "ingester",
  tempoQueryFrontend: "query-frontend",
  tempoQuerier: "querier",
  tempoCompactor: "compactor",
  tempoMetricsGenerator: "metrics-generator",
};

const microservices = (settings: Record<string, unknown> = {}, tempoSettings: Record<string, unknown> = {}) => ({
  ...settings,
  tempo: { mode: "microservices", ...tempoSettings },
});

function tempoContainers(m: StackModel): ServiceModel[] {
  return Object.values(m.services).filter((s) => isTempoComponent(s.component));
}

/** Every Tempo container but the query-frontend takes part in the rings' gossip. */
function gossipingContainers(m: StackModel): ServiceModel[] {
  return tempoContainers(m).filter((s) => s.component !== "tempoQueryFrontend");
}

function fileAt(service: ServiceModel, path: unknown): ContainerFile {
  const file = service.files.find((f) => f.path === path);
  assert.ok(file, `${service.id} receives no file at ${String(path)}`);
  return file;
}

/** The path is this container's own certificate / its own key (readable by its process only) / the stack CA. */
function assertOwnCertificate(service: ServiceModel, certPath: unknown, keyPath: unknown): void {
  assert.deepEqual(fileAt(service, certPath).content, { kind: "serviceCertificate", service: service.id }, `${service.id} ${String(certPath)}`);
  const key = fileAt(service, keyPath);
  assert.deepEqual(key.content, { kind: "servicePrivateKey", service: service.id }, `${service.id} ${String(keyPath)}`);
  assert.ok(canReadRootOwned(key.mode, parseUser(service.user)), `${service.id} cannot read its key ${String(keyPath)}`);
  assert.ok(!canReadRootOwned(key.mode, OTHER_USER), `${service.id}'s key ${String(keyPath)} is readable by anyone`);
}

function assertStackCa(service: ServiceModel, caPath: unknown): void {
  assert.deepEqual(fileAt(service, caPath).content, { kind: "caCertificate" }, `${service.id} ${String(caPath)}`);
}

function assertNameInEveryCertificate(m: StackModel, component: ComponentId, name: unknown, what: string): void {
  const replicas = instancesOfComponent(m.services, component);
  assert.ok(replicas.length > 0, `no ${component} container`);
  for (const replica of replicas) {
    assert.ok(replica.certificate.dnsNames.includes(String(name)), `${what} checks "${String(name)}", which is not a DNS name of ${replica.id}'s certificate (${replica.certificate.dnsNames.join(", ")})`);
  }
}

/** Every key anywhere in a parsed document, with its dotted path. */
function keysOf(value: unknown, path = ""): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => keysOf(v, `${path}[${i}]`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => [`${path}${path ? "." : ""}${k}`, ...keysOf(v, `${path}${path ? "." : ""}${k}`)]);
}

const REQUIRE_CLIENT_CERTS = "RequireAndVerifyClientCert";

/**
 * The microservices counterpart of test/support/wiring.ts: each internal client of the rendered
 * tempo.yaml against the servers it dials, as every container of both ends would load them.
 * `tempoYaml`: the file to check (the model's own rendering by default).
 */
function distributedTlsProblems(m: StackModel, tempoYaml: string = renderTempoConfig(m)): string[] {
  const doc = parse(tempoYaml) as Doc;
  const problems: string[] = [];
  const grpcServer = doc.server?.grpc_tls_config as Doc | undefined;
  const clients: Array<{ what: string; config: Doc | undefined; clients: ComponentId[]; server: ComponentId }> = [
    { what: "ingester_client", config: doc.ingester_client?.grpc_client_config, clients: ["tempoDistributor", "tempoQuerier"], server: "tempoIngester" },
    { what: "metrics_generator_client", config: doc.metrics_generator_client?.grpc_client_config, clients: ["tempoDistributor"], server: "tempoMetricsGenerator" },
    { what: "querier.frontend_worker", config: doc.querier?.frontend_worker?.grpc_client_config, clients: ["tempoQuerier"], server: "tempoQueryFrontend" },
  ];
  const certNamesOf = (component: ComponentId) => instancesOfComponent(m.services, component).map((s) => [s.id, s.certificate.dnsNames] as const);
  const checkName = (what: string, name: unknown, server: ComponentId): void => {
    for (const [id, names] of certNamesOf(server)) {
      if (!names.includes(String(name))) problems.push(`${what} verifies the name "${String(name)}", which is not in ${id}'s certificate`);
    }
  };
  const checkOwnFiles = (what: string, component: ComponentId, paths: { ca?: unknown; cert?: unknown; key?: unknown }): void => {
    for (const client of instancesOfComponent(m.services, component)) {
      const content = (p: unknown) => client.files.find((f) => f.path === p)?.content;
      if (paths.ca !== undefined && content(paths.ca)?.kind !== "caCertificate") problems.push(`${what} of ${client.id} trusts ${String(paths.ca)}, which is not the stack CA in that container`);
      if (paths.cert !== undefined) {
        const cert = content(paths.cert);
        if (cert?.kind !== "serviceCertificate" || cert.service !== client.id) problems.push(`${what} of ${client.id} presents ${String(paths.cert)}, which is not ${client.id}'s own certificate`);
        const key = content(paths.key);
        if (key?.kind !== "servicePrivateKey" || key.service !== client.id) problems.push(`${what} of ${client.id} signs with ${String(paths.key)}, which is not ${client.id}'s own key`);
      }
    }
  };
  for (const { what, config, clients: clientComponents, server } of clients) {
    if (!config) {
      problems.push(`${what} is missing`);
      continue;
    }
    const serverTls = grpcServer !== undefined;
    if (config.tls_enabled !== serverTls) {
      problems.push(`${what} has tls_enabled ${String(config.tls_enabled)} but the ${server} containers' server.grpc_tls_config ${serverTls ? "serves TLS" : "is plaintext"}`);
      continue;
    }
    if (!serverTls) continue;
    if (!config.tls_ca_path) problems.push(`${what} does not trust the stack CA (tls_ca_path missing)`);
    checkName(what, config.tls_server_name, server);
    if (grpcServer.client_auth_type === REQUIRE_CLIENT_CERTS && (!config.tls_cert_path || !config.tls_key_path)) {
      problems.push(`${what} presents no client certificate, but the ${server} containers' server.grpc_tls_config requires one`);
    }
    for (const client of clientComponents) checkOwnFiles(what, client, { ca: config.tls_ca_path, ...(config.tls_cert_path ? { cert: config.tls_cert_path, key: config.tls_key_path } : {}) });
  }
  const gossip = doc.memberlist as Doc | undefined;
  if (gossip?.tls_enabled !== true) problems.push("memberlist gossips without TLS");
  else {
    for (const member of gossipingContainers(m)) {
      if (!member.certificate.dnsNames.includes(String(gossip.tls_server_name))) problems.push(`memberlist verifies the name "${String(gossip.tls_server_name)}", which is not in ${member.id}'s certificate`);
    }
    for (const component of new Set(gossipingContainers(m).map((s) => s.component))) {
      checkOwnFiles("memberlist", component, { ca: gossip.tls_ca_path, cert: gossip.tls_cert_path, key: gossip.tls_key_path });
    }
  }
  const s3 = doc.storage?.trace?.s3 as Doc | undefined;
  const store = m.services.objectStore;
  if (s3 && store) {
    checkName("storage.trace.s3", s3.tls_server_name, "objectStore");
    if (store.command.includes("-s3.tlsVerifyClientCert=true") && (!s3.tls_cert_path || !s3.tls_key_path)) {
      problems.push("storage.trace.s3 presents no client certificate, but the object store requires one (-s3.tlsVerifyClientCert=true)");
    }
  }
  return problems;
}

describe("microservices tempo.yaml: memberlist", () => {
  const gossip = tempo.memberlist as Doc;

  it("gossips over TLS with each container's own certificate and key and the stack CA, files every gossiping container receives", () => {
    assert.equal(gossip.tls_enabled, true);
    const members = gossipingContainers(model);
    assert.equal(members.length, 2 + 3 + 2 + 1 + 1, "distributors, ingesters, queriers, compactor, metrics-generator");
    for (const member of members) {
      assertOwnCertificate(member, gossip.tls_cert_path, gossip.tls_key_path);
      assertStackCa(member, gossip.tls_ca_path);
    }
  });

  it("checks every peer under a name in the certificate of every gossiping container, and joins through that alias", () => {
    assert.equal(gossip.tls_server_name, TEMPO_GOSSIP_ALIAS);
    for (const member of gossipingContainers(model)) {
      assert.ok(member.certificate.dnsNames.includes(gossip.tls_server_name), `${member.id}: ${member.certificate.dnsNames.join(", ")}`);
      assert.ok(member.networkAliases.includes(TEMPO_GOSSIP_ALIAS), `${member.id} is not reachable under the gossip alias`);
      assert.ok(member.ports.some((p) => p.protocol === "memberlist" && p.containerPort === gossip.bind_port && p.tls === "tls"), `${member.id} has no memberlist port ${gossip.bind_port}`);
    }
    assert.deepEqual(gossip.join_members, [`dns+${TEMPO_GOSSIP_ALIAS}:${gossip.bind_port}`]);
    // The query-frontend runs no memberlist: behind the gossip alias it would be a dead address every join dials.
    const frontend = instancesOfComponent(model.services, "tempoQueryFrontend");
    assert.equal(frontend.length, 1);
    assert.ok(!frontend[0]!.networkAliases.includes(TEMPO_GOSSIP_ALIAS));
  });

  it("labels the cluster with the stack's own name, so two stacks on one network never merge their rings", () => {
    assert.match(gossip.cluster_label, /distributed/);
    assert.equal(gossip.cluster_label_verification_disabled, false);
    const other = parse(renderTempoConfig(buildStackModel(parseStackConfig("distributed-b", microservices())))) as Doc;
    assert.match(other.memberlist.cluster_label, /distributed-b/);
    assert.notEqual(other.memberlist.cluster_label, gossip.cluster_label);
  });
});

describe("microservices tempo.yaml: internal gRPC", () => {
  const clients: Array<[string, Doc, ComponentId, ComponentId[]]> = [
    ["ingester_client", tempo.ingester_client.grpc_client_config, "tempoIngester", ["tempoDistributor", "tempoQuerier"]],
    ["metrics_generator_client", tempo.metrics_generator_client.grpc_client_config, "tempoMetricsGenerator", ["tempoDistributor"]],
    ["querier.frontend_worker", tempo.querier.frontend_worker.grpc_client_config, "tempoQueryFrontend", ["tempoQuerier"]],
  ];

  for (const [what, config, server, clientComponents] of clients) {
    it(`${what}: TLS with the stack CA, the client's own certificate, and a name every ${server} certificate carries`, () => {
      assert.equal(config.tls_enabled, true);
      assertNameInEveryCertificate(model, server, config.tls_server_name, what);
      for (const component of clientComponents) {
        const containers = instancesOfComponent(model.services, component);
        assert.ok(containers.length > 0);
        for (const client of containers) {
          assertStackCa(client, config.tls_ca_path);
          assertOwnCertificate(client, config.tls_cert_path, config.tls_key_path);
        }
      }
    });
  }

  it("queriers dial the query-frontend by a name it answers to", () => {
    const [host, port] = String(tempo.querier.frontend_worker.frontend_address).split(":");
    const frontend = instancesOfComponent(model.services, "tempoQueryFrontend")[0]!;
    assert.ok(frontend.networkAliases.includes(host!), `${host} is not an alias of the query-frontend`);
    assert.ok(frontend.ports.some((p) => p.name === "internalGrpc" && p.containerPort === Number(port)));
  });

  it("every server, gRPC and HTTP, requires a client certificate from the stack CA", () => {
    for (const key of ["grpc_tls_config", "http_tls_config"]) {
      const serverTls = tempo.server[key] as Doc;
      assert.equal(serverTls.client_auth_type, REQUIRE_CLIENT_CERTS, key);
      for (const container of tempoContainers(model)) {
        assertStackCa(container, serverTls.client_ca_file);
        assertOwnCertificate(container, serverTls.cert_file, serverTls.key_file);
      }
    }
    for (const proto of ["grpc", "http"]) {
      const receiver = tempo.distributor.receivers.otlp.protocols[proto].tls as Doc;
      for (const distributor of instancesOfComponent(model.services, "tempoDistributor")) assertStackCa(distributor, receiver.client_ca_file);
    }
  });

  it("the rendered config's hops are consistent end to end, in every microservices stack file", () => {
    const stacks = stackFiles().filter((stack) => loadStackModelFromFile(stack, PROJECT_DIR).config.tempo.mode === "microservices");
    assert.ok(stacks.includes("distributed"), stacks.join(", "));
    for (const stack of stacks) assert.deepEqual(distributedTlsProblems(loadStackModelFromFile(stack, PROJECT_DIR)), [], stack);
    // Other replica counts and aliases keep every name in every certificate.
    const resized = buildStackModel(parseStackConfig("dev", microservices({ networkAliases: { tempoIngester: "ingest" } }, { replicas: { distributor: 1, ingester: 5, querier: 3 }, replicationFactor: 5 })));
    assert.deepEqual(distributedTlsProblems(resized), []);
  });
});

describe("microservices tempo.yaml: rings, targets and storage", () => {
  it("writes each trace to as many ingesters as the setting says", () => {
    assert.equal(tempo.ingester.lifecycler.ring.replication_factor, 3);
    const five = parse(renderTempoConfig(buildStackModel(parseStackConfig("dev", microservices({}, { replicas: { ingester: 5 }, replicationFactor: 5 }))))) as Doc;
    assert.equal(five.ingester.lifecycler.ring.replication_factor, 5);
    assert.equal(five.ingester.lifecycler.ring.kvstore.store, "memberlist");
    assert.equal(tempo.ingester.max_block_duration, "300s");
  });

  it("runs each target in its own containers, all from the one shared tempo.yaml", () => {
    const counts: Record<string, number> = {};
    for (const container of tempoContainers(model)) {
      const target = TARGETS[container.component];
      assert.ok(target, `${container.id} is not a microservice`);
      const configFlag = container.command.find((c) => c.startsWith("-config.file="));
      assert.ok(configFlag);
      assert.deepEqual(fileAt(container, configFlag.slice("-config.file=".length)).content, { kind: "config", config: "tempo" });
      assert.deepEqual(container.command.filter((c) => c.startsWith("-target=")), [`-target=${target}`], container.id);
      counts[target] = (counts[target] ?? 0) + 1;
    }
    assert.deepEqual(counts, { distributor: 2, ingester: 3, "query-frontend": 1, querier: 2, compactor: 1, "metrics-generator": 1 });
    assert.equal(model.services.tempo, undefined, "no single binary beside the microservices");
  });

  it("gives each ingester a WAL volume of its own", () => {
    const ingesters = instancesOfComponent(model.services, "tempoIngester");
    const volumes = ingesters.map((i) => i.volumes);
    for (const [i, own] of volumes.entries()) {
      assert.equal(own.length, 1, ingesters[i]!.id);
      assert.ok(String(tempo.storage.trace.wal.path).startsWith(`${own[0]!.containerPath}/`), "the WAL is on the volume");
    }
    const names = volumes.map((v) => v[0]!.volumeName);
    assert.equal(new Set(names).size, 3, names.join(", "));
    for (const name of names) assert.match(name, /^distributed-/);
  });

  it("stores blocks in the in-stack S3 store over verified mutual TLS, with no key in the file", () => {
    const storage = tempo.storage.trace as Doc;
    assert.equal(storage.backend, "s3");
    const s3 = storage.s3 as Doc;
    assert.equal(s3.endpoint, "object-store:8333");
    assert.doesNotMatch(s3.endpoint, /:\/\//, "Tempo's S3 client takes host:port (grafana/tempo#3696)");
    assert.equal(s3.bucket, "tracing-stack-distributed");
    assertNameInEveryCertificate(model, "objectStore", s3.tls_server_name, "storage.trace.s3");
    for (const container of tempoContainers(model)) {
      assertStackCa(container, s3.tls_ca_path);
      assertOwnCertificate(container, s3.tls_cert_path, s3.tls_key_path);
    }
    const store = model.services.objectStore!;
    assert.ok(store.networkAliases.includes(s3.endpoint.split(":")[0]));
    assert.equal(store.ports.find((p) => p.name === "s3")?.containerPort, Number(s3.endpoint.split(":")[1]));
    const text = renderTempoConfig(model);
    assert.doesNotMatch(text, /insecure\w*:\s*true/);
    assert.deepEqual(keysOf(tempo).filter((k) => /access_key|secret|password/i.test(k)), []);
  });

  it("hands every Tempo container its key pair as a 0440 AWS credentials file named by AWS_SHARED_CREDENTIALS_FILE, never in its environment or command", () => {
    for (const container of tempoContainers(model)) {
      const path = container.env.AWS_SHARED_CREDENTIALS_FILE?.value;
      assert.ok(path, container.id);
      const file = fileAt(container, path);
      assert.deepEqual(file.content, { kind: "objectStoreCredentials", format: "awsSharedCredentials" }, container.id);
      assert.equal(file.mode, "0440", container.id);
      assert.deepEqual(Object.keys(container.env).filter((k) => /^AWS_(ACCESS|SECRET)/.test(k)), [], container.id);
      assert.ok(container.command.every((c) => !/secret|access.?key/i.test(c)), container.id);
    }
  });

  it("renders every config file of the stack", () => {
    const rendered = renderStackConfigs(model);
    for (const service of Object.values(rendered.services)) {
      for (const file of service.files) assert.notEqual(file.content.kind, "config", `${service.id} ${file.path}`);
    }
  });
});

describe("collector and Prometheus in front of and behind the microservices", () => {
  it("the collector balances over every distributor (dns:/// + round_robin), with a name every distributor's certificate carries", () => {
    const exporter = (parse(renderCollectorConfig(model)) as Doc).exporters["otlp_grpc/tempo"] as Doc;
    assert.equal(exporter.endpoint, "dns:///tempo-distributor:4317");
    assert.equal(exporter.balancer_name, "round_robin");
    assertNameInEveryCertificate(model, "tempoDistributor", exporter.tls.server_name_override, "the collector exporter");
    for (const distributor of instancesOfComponent(model.services, "tempoDistributor")) assert.ok(distributor.networkAliases.includes("tempo-distributor"));
  });

  it("a monolithic stack's collector dials Tempo plainly", () => {
    const exporter = (parse(renderCollectorConfig(buildStackModel(parseStackConfig("dev", {})))) as Doc).exporters["otlp_grpc/tempo"] as Doc;
    assert.equal(exporter.endpoint, "tempo:4317");
    assert.equal(exporter.balancer_name, undefined);
  });

  it("Prometheus scrapes each Tempo component in its own job, every replica by its own name", () => {
    const jobs = (parse(renderPrometheusConfig(model)) as Doc).scrape_configs as Doc[];
    const components = Object.keys(TARGETS) as ComponentId[];
    assert.deepEqual(jobs.map((j) => j.job_name).sort(), components.map((c) => model.config.networkAliases[c]).sort());
    for (const component of components) {
      const job = jobs.find((j) => j.job_name === model.config.networkAliases[component])!;
      const replicas = instancesOfComponent(model.services, component);
      const targets = job.static_configs.flatMap((s: Doc) => s.targets) as string[];
      assert.equal(targets.length, replicas.length, job.job_name);
      assert.equal(new Set(targets).size, targets.length, `${job.job_name}: each replica once`);
      for (const replica of replicas) {
        const own = targets.filter((t) => replica.networkAliases.includes(t.split(":")[0]!));
        // The shared alias would answer with any replica: each target must name exactly one.
        assert.equal(own.length, 1, `${replica.id} is not scraped by a name of its own (${targets.join(", ")})`);
        assert.ok(replicas.filter((r) => r.networkAliases.includes(own[0]!.split(":")[0]!)).length === 1, `${own[0]} names more than ${replica.id}`);
        assert.equal(Number(own[0]!.split(":")[1]), replica.ports.find((p) => p.name === "httpApi")?.containerPort);
      }
      assert.equal(job.scheme, "https");
      assertNameInEveryCertificate(model, component, job.tls_config.server_name, `scrape job ${job.job_name}`);
      assert.ok(job.tls_config.cert_file, `${job.job_name} presents no client certificate`);
    }
  });
});

describe("external object storage", () => {
  const CA = "-----BEGIN CERTIFICATE-----\nMIIBexternalCA\n-----END CERTIFICATE-----\n";
  const external = (caCertificate?: string) =>
    buildStackModel(
      parseStackConfig(
        "dev",
        microservices(
          { objectStorageSecretAccessKey: "opaque" },
          { objectStorage: { kind: "external", endpoint: "minio.example.net:9000", bucket: "team-traces", region: "eu-central-1", accessKeyId: "AKIAEXAMPLE", ...(caCertificate ? { caCertificate } : {}) } },
        ),
      ),
    );

  it("renders the user's endpoint, bucket and region, and trusts the CA given, uploaded at that path", () => {
    const m = external(CA);
    const s3 = (parse(renderTempoConfig(m)) as Doc).storage.trace.s3 as Doc;
    assert.equal(s3.endpoint, "minio.example.net:9000");
    assert.equal(s3.bucket, "team-traces");
    assert.equal(s3.region, "eu-central-1");
    assert.ok(s3.tls_ca_path);
    for (const container of tempoContainers(m)) {
      assert.deepEqual(fileAt(container, s3.tls_ca_path).content, { kind: "text", text: CA }, container.id);
      // The key pair (the id from the stack file, the secret from its Pulumi secret) is one credentials file.
      assert.deepEqual(fileAt(container, container.env.AWS_SHARED_CREDENTIALS_FILE!.value).content, { kind: "objectStoreCredentials", format: "awsSharedCredentials" });
    }
    assert.doesNotMatch(renderTempoConfig(m), /insecure\w*:\s*true/);
  });

  it("without a CA trusts the image's system CAs: no tls_ca_path and no CA file", () => {
    const m = external();
    const s3 = (parse(renderTempoConfig(m)) as Doc).storage.trace.s3 as Doc;
    assert.equal(s3.tls_ca_path, undefined);
    for (const container of tempoContainers(m)) {
      assert.ok(!container.files.some((f) => f.content.kind === "text"), `${container.id} receives a CA nobody gave`);
    }
  });

  it("runs no in-stack store and nothing links to one", () => {
    const m = external(CA);
    assert.ok(!m.components.includes("objectStore"));
    assert.equal(m.services.objectStore, undefined);
    assert.deepEqual(m.links.filter((l) => l.server === "objectStore"), []);
  });
});

describe("the in-stack object store (SeaweedFS)", () => {
  const store = model.services.objectStore!;
  const flag = (name: string): string | undefined => store.command.find((c) => c.startsWith(`${name}=`))?.slice(name.length + 1);

  it("runs weed itself, serving S3 over TLS with its own certificate and requiring client certificates from the stack CA", () => {
    assert.deepEqual(store.entrypoint, ["/usr/bin/weed"]);
    assert.ok(store.command.includes("-s3.tlsVerifyClientCert=true"));
    assertOwnCertificate(store, flag("-s3.cert.file"), flag("-s3.key.file"));
    assertStackCa(store, flag("-s3.cacert.file"));
    const s3Port = store.ports.find((p) => p.name === "s3")!;
    assert.equal(flag("-s3.port"), String(s3Port.containerPort));
    assert.equal(s3Port.clientAuth, "required");
    assert.equal(s3Port.published, undefined, "only the stack's network reaches the store");
  });

  it("reads its identities and the probe's key pair from 0440 files written from the secrets", () => {
    const identities = fileAt(store, flag("-s3.config"));
    assert.deepEqual(identities.content, { kind: "objectStoreCredentials", format: "seaweedfsIdentities" });
    assert.equal(identities.mode, "0440");
    const curlConfig = store.files.find((f) => f.content.kind === "objectStoreCredentials" && f.content.format === "curlConfig");
    assert.ok(curlConfig);
    assert.equal(curlConfig.mode, "0440");
    for (const file of [identities, curlConfig]) {
      assert.ok(canReadRootOwned(file.mode, parseUser(store.user)), `${file.path} unreadable by the store`);
      assert.ok(!canReadRootOwned(file.mode, OTHER_USER), `${file.path} readable by anyone`);
    }
    assert.deepEqual(store.env, {}, "no key in the environment docker inspect shows");
  });

  it("is healthy once a signed, verified, mutually authenticated PUT created the bucket, the key pair read from the curl config", () => {
    const test = store.healthcheck?.test ?? [];
    assert.equal(test[0], "CMD");
    const script = test.join(" ");
    const curlConfig = store.files.find((f) => f.content.kind === "objectStoreCredentials" && f.content.format === "curlConfig")!;
    assert.match(script, /\bcurl\b/);
    assert.ok(script.includes(`--config ${curlConfig.path}`), script);
    assert.ok(script.includes(`--cacert ${flag("-s3.cacert.file")}`), script);
    assert.ok(script.includes(`--cert ${flag("-s3.cert.file")}`), script);
    assert.ok(script.includes(`--key ${flag("-s3.key.file")}`), script);
    assert.ok(script.includes(`--aws-sigv4 aws:amz:${model.config.tempo.objectStorage.region}:s3`), script);
    assert.match(script, new RegExp(`--request PUT https://[^ ]+:${flag("-s3.port")}/${model.config.tempo.objectStorage.bucket}\\b`));
    assert.doesNotMatch(script, /--insecure|(^|\s)-k(\s|$)/);
    assert.doesNotMatch(script, /--user|(^|\s)-u\s/, "the key pair never on the command line");
    // The stack's Tempo containers wait for it, since they need the bucket.
    for (const ingester of instancesOfComponent(model.services, "tempoIngester")) assert.ok(model.startsAfter[ingester.id]?.includes("objectStore"), ingester.id);
  });
});

describe("renderObjectStoreCredentials", () => {
  const keys = { accessKeyId: "tempo-AK1", secretAccessKey: 'se"cr\\et/+=' };

  it("gives SeaweedFS one identity with the key pair", () => {
    const doc = JSON.parse(renderObjectStoreCredentials("seaweedfsIdentities", keys)) as Doc;
    assert.equal(doc.identities.length, 1);
    assert.deepEqual(doc.identities[0].credentials, [{ accessKey: "tempo-AK1", secretKey: 'se"cr\\et/+=' }]);
    for (const action of ["Read", "Write", "List", "Admin"]) assert.ok(doc.identities[0].actions.includes(action), action);
  });

  it("quotes curl's user with quotes and backslashes escaped, so curl reads the exact pair", () => {
    const text = renderObjectStoreCredentials("curlConfig", keys);
    assert.equal(text, 'user = "tempo-AK1:se\\"cr\\\\et/+="\n');
    // curl's config parser: inside quotes, \" is a quote and \\ a backslash.
    const quoted = /^user = "((?:[^"\\]|\\.)*)"\n$/.exec(text)?.[1];
    assert.ok(quoted !== undefined, text);
    assert.equal(quoted.replace(/\\(.)/g, "$1"), `${keys.accessKeyId}:${keys.secretAccessKey}`);
  });
});

describe("one-sided TLS between the microservices, reintroduced through the links, is caught", () => {
  const topology = buildTopology(parseStackConfig("distributed", { ...microservices({}, { replicas: { distributor: 2, ingester: 3, querier: 2 } }) }));

  it("a plaintext distributor-to-ingester link: the rendered ingester_client has tls_enabled false while every ingester still serves TLS", () => {
    const broken = assembleStackModel(withLink(topology, "tempo-distributor-to-ingester", { tls: "plaintext" }));
    const doc = parse(renderTempoConfig(broken)) as Doc;
    assert.equal(doc.ingester_client.grpc_client_config.tls_enabled, false);
    assert.equal(doc.ingester_client.grpc_client_config.tls_ca_path, undefined);
    assert.equal(doc.server.grpc_tls_config.client_auth_type, REQUIRE_CLIENT_CERTS, "the ingesters' servers still require TLS");
    assert.deepEqual(distributedTlsProblems(broken), ["ingester_client has tls_enabled false but the tempoIngester containers' server.grpc_tls_config serves TLS"]);
  });

  it("a plaintext client on each of the other internal links is caught the same way", () => {
    for (const [linkId, what, server] of [
      ["tempo-distributor-to-metrics-generator", "metrics_generator_client", "tempoMetricsGenerator"],
      ["tempo-querier-to-query-frontend", "querier.frontend_worker", "tempoQueryFrontend"],
    ] as const) {
      const problems = distributedTlsProblems(assembleStackModel(withLink(topology, linkId, { tls: "plaintext" })));
      assert.deepEqual(problems, [`${what} has tls_enabled false but the ${server} containers' server.grpc_tls_config serves TLS`], linkId);
    }
  });

  it("plaintext gossip", () => {
    const broken = assembleStackModel(withLink(topology, "tempo-memberlist", { tls: "plaintext" }));
    assert.equal((parse(renderTempoConfig(broken)) as Doc).memberlist.tls_enabled, false);
    assert.deepEqual(distributedTlsProblems(broken), ["memberlist gossips without TLS"]);
  });

  it("mutual TLS one-sided: distributors present no certificate to ingesters that require one", () => {
    const broken = assembleStackModel(withLink(topology, "tempo-distributor-to-ingester", { clientCertificate: undefined, clientAuth: "none" }));
    const doc = parse(renderTempoConfig(broken)) as Doc;
    assert.equal(doc.ingester_client.grpc_client_config.tls_enabled, true);
    assert.equal(doc.ingester_client.grpc_client_config.tls_cert_path, undefined);
    assert.equal(doc.server.grpc_tls_config.client_auth_type, REQUIRE_CLIENT_CERTS, "the ingesters still require one");
    assert.deepEqual(distributedTlsProblems(broken), ["ingester_client presents no client certificate, but the tempoIngester containers' server.grpc_tls_config requires one"]);
  });

  it("a server name that is not in every ingester's certificate", () => {
    const broken = assembleStackModel(withLink(topology, "tempo-distributor-to-ingester", { serverName: "tempo-ingester-1" }));
    assert.equal((parse(renderTempoConfig(broken)) as Doc).ingester_client.grpc_client_config.tls_server_name, "tempo-ingester-1");
    assert.deepEqual(distributedTlsProblems(broken), [
      'ingester_client verifies the name "tempo-ingester-1", which is not in tempoIngester-2\'s certificate',
      'ingester_client verifies the name "tempo-ingester-1", which is not in tempoIngester-3\'s certificate',
    ]);
  });

  it("the querier's frontend worker without the stack CA", () => {
    const broken = assembleStackModel(withLink(topology, "tempo-querier-to-query-frontend", { clientCaFile: undefined }));
    const problems = distributedTlsProblems(broken);
    assert.ok(problems.includes("querier.frontend_worker does not trust the stack CA (tls_ca_path missing)"), problems.join("\n"));
  });

  it("memberlist checking a name only the ingesters carry", () => {
    const broken = assembleStackModel(withLink(topology, "tempo-memberlist", { serverName: "tempo-ingester" }));
    const problems = distributedTlsProblems(broken);
    assert.equal(problems.length, 2 + 2 + 1 + 1, problems.join("\n"));
    assert.ok(problems.every((p) => /^memberlist verifies the name "tempo-ingester", which is not in tempo(Distributor|Querier|Compactor|MetricsGenerator)/.test(p)), problems.join("\n"));
  });

  it("a Tempo client of the object store presenting no certificate to a store that requires one", () => {
    const storeLink = topology.links.find((l) => l.server === "objectStore")!;
    const broken = assembleStackModel(withLink(topology, storeLink.id, { clientCertificate: undefined }));
    let problems: string[];
    try {
      problems = distributedTlsProblems(broken);
    } catch (error) {
      // Refusing to render it at all is caught too.
      assert.match(String(error), /object store is reached over mutual TLS/);
      return;
    }
    assert.ok(problems.includes("storage.trace.s3 presents no client certificate, but the object store requires one (-s3.tlsVerifyClientCert=true)"), problems.join("\n"));
  });

});
