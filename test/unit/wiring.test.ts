import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { renderStackConfigs } from "../../configs/renderStackConfigs";
import { assembleStackModel, buildStackModel, buildTopology, loadStackModelFromFile, parseStackConfig, projectSettingsFromStackFile } from "../../model";
import { withLink } from "../../e2e/support/e2eStack";
import { stackFiles, PROJECT_DIR } from "../support/pulumiMocks";
import { observedClients, wiringProblems } from "../support/wiring";

describe("wiring read back from the rendered configs", () => {
  for (const stack of stackFiles()) {
    it(`is consistent for every link of stack ${stack}`, () => {
      const model = loadStackModelFromFile(stack, PROJECT_DIR);
      assert.deepEqual(wiringProblems(model), []);
      const clientsOf = (id: string) => observedClients(model).filter((c) => c.client === id).map((c) => c.what);
      assert.ok(clientsOf("app").includes("app downstream call"));
      // Every client of the stack is seen, so a renderer that drops one cannot pass silently.
      if (model.config.tempo.mode === "monolithic") {
        // collector exporter, 3 Tempo internal clients, Tempo's remote write, 2 app exporters, the
        // app's call to its backend, the Prometheus scrape, 2 Grafana datasources.
        assert.equal(observedClients(model).length, 11);
        assert.ok(clientsOf("tempo").includes("tempo metrics-generator remote_write /api/v1/write"));
        return;
      }
      // Engine swarm: one entry (a service) per component, its tasks sharing one config: clients once each.
      const swarm = model.config.engine.kind === "swarm";
      const { distributor: d, ingester: i, querier: q } = swarm ? { distributor: 1, ingester: 1, querier: 1 } : model.config.tempo.replicas;
      // The collector exporter; per distributor ingester_client, metrics_generator_client and
      // memberlist; per ingester memberlist and S3; the query-frontend's S3; per querier
      // ingester_client, frontend_worker, memberlist and S3; the compactor's memberlist and S3; the
      // generator's memberlist and remote write; 2 app exporters and the app's call to its backend;
      // a scrape of every Tempo container; 2 Grafana datasources.
      const tempoContainers = d + i + 1 + q + 1 + 1;
      assert.equal(observedClients(model).length, 1 + 3 * d + 2 * i + 1 + 4 * q + 2 + 2 + 3 + tempoContainers + 2);
      assert.ok(clientsOf("tempoMetricsGenerator").includes("tempoMetricsGenerator metrics-generator remote_write /api/v1/write"));
      if (swarm) assert.ok(clientsOf("tempoIngester").includes("tempoIngester storage.trace.s3"));
      else for (let n = 1; n <= i; n++) assert.ok(clientsOf(`tempoIngester-${n}`).includes(`tempoIngester-${n} storage.trace.s3`), `tempoIngester-${n}`);
    });
  }

  it("stays consistent with internal gRPC TLS switched off: both ends plaintext", () => {
    const model = buildStackModel(parseStackConfig("dev", { tls: { tempoInternalGrpc: "plaintext" } }));
    assert.deepEqual(wiringProblems(model), []);
    const internal = observedClients(model).filter((c) => c.speaks === "tempo-internal-grpc");
    assert.equal(internal.length, 3);
    assert.ok(internal.every((c) => !c.tls));
  });

  it("stays consistent with renamed network aliases", () => {
    const model = buildStackModel(parseStackConfig("dev", { networkAliases: { tempo: "traces-db", collector: "otelcol" } }));
    assert.deepEqual(wiringProblems(model), []);
  });
});

describe("the seeds' failures, reintroduced through the model, are caught", () => {
  const topology = buildTopology(parseStackConfig("dev", {}));

  it("collector exporting to Tempo's internal gRPC port 9095", () => {
    const broken = assembleStackModel(withLink(topology, "collector-to-tempo", { dialPort: 9095 }));
    const problems = wiringProblems(broken);
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0]!, /collector exporter otlp_grpc\/tempo speaks otlp-grpc to tempo port 9095, but that port is tempo server\.grpc \(tempo-internal-grpc\)/);
  });

  it("internal gRPC TLS on Tempo's server but not on its own clients", () => {
    const broken = assembleStackModel(withLink(topology, "tempo-internal", { tls: "plaintext" }));
    const problems = wiringProblems(broken);
    assert.equal(problems.length, 3, problems.join("\n"));
    for (const p of problems) assert.match(p, /uses plaintext but tempo server\.grpc serves TLS/);
  });

  it("collector exporter without the CA file", () => {
    const broken = assembleStackModel(withLink(topology, "collector-to-tempo", { clientCaFile: undefined }));
    assert.deepEqual(wiringProblems(broken), ["collector exporter otlp_grpc/tempo does not trust the stack CA (CA file missing)"]);
  });

  it("a Tempo certificate without the alias the collector dials", () => {
    const tempo = topology.services.tempo;
    const broken = assembleStackModel({
      ...topology,
      services: { ...topology.services, tempo: { ...tempo, certificate: { ...tempo.certificate, dnsNames: ["localhost"] } } },
    });
    const problems = wiringProblems(broken);
    assert.ok(problems.some((p) => /collector exporter otlp_grpc\/tempo verifies the name "tempo", which is not in tempo's certificate/.test(p)), problems.join("\n"));
  });

  it("the app exporting over plaintext to a TLS collector", () => {
    const broken = assembleStackModel(withLink(topology, "app-to-collector", { tls: "plaintext" }));
    assert.deepEqual(wiringProblems(broken), ["app OTLP exporter uses plaintext but collector otlp grpc receiver serves TLS"]);
  });

  it("remote write to a Prometheus without the receiver switched on", () => {
    const model = buildStackModel(parseStackConfig("dev", {}));
    const prometheus = model.services.prometheus;
    const command = prometheus.command.filter((c) => c !== "--web.enable-remote-write-receiver");
    const problems = wiringProblems({ ...model, services: { ...model.services, prometheus: { ...prometheus, command } } });
    assert.deepEqual(problems, [
      "tempo metrics-generator remote_write /api/v1/write speaks prometheus-remote-write to prometheus port 9090, but that port is prometheus web (prometheus-http)",
    ]);
  });

  it("remote write without the stack CA, or to the query API path", () => {
    assert.deepEqual(wiringProblems(assembleStackModel(withLink(topology, "tempo-to-prometheus-remote-write", { clientCaFile: undefined }))), [
      "tempo metrics-generator remote_write /api/v1/write does not trust the stack CA (CA file missing)",
    ]);
    const toQueryPort = wiringProblems(assembleStackModel(withLink(topology, "tempo-to-prometheus-remote-write", { dialPort: 3200 })));
    assert.deepEqual(toQueryPort, ["tempo metrics-generator remote_write /api/v1/write dials prometheus port 3200, where prometheus does not listen (it listens on 9090 (prometheus web), 9090 (prometheus remote-write receiver))"]);
  });

  it("mutual TLS one-sided: a client that presents no certificate to a server that requires one", () => {
    for (const [linkId, what] of [
      ["collector-to-tempo", "collector exporter otlp_grpc/tempo presents no client certificate, but tempo otlp grpc receiver requires one"],
      ["tempo-internal", "tempo ingester_client.grpc_client_config presents no client certificate, but tempo server.grpc requires one"],
      ["tempo-to-prometheus-remote-write", "tempo metrics-generator remote_write /api/v1/write presents no client certificate, but prometheus remote-write receiver requires one"],
      ["prometheus-to-tempo", "prometheus scrape tempo presents no client certificate, but tempo server.http requires one"],
      ["app-to-collector", "app OTLP exporter presents no client certificate, but collector otlp grpc receiver requires one"],
      ["app-to-app-backend", "app downstream call presents no client certificate, but appBackend http server requires one"],
      ["grafana-to-tempo", "grafana datasource Tempo presents no client certificate, but tempo server.http requires one"],
    ] as const) {
      const problems = wiringProblems(assembleStackModel(withLink(topology, linkId, { clientCertificate: undefined, clientAuth: "none" })));
      assert.ok(problems.includes(what), `${linkId}: expected "${what}" in:\n${problems.join("\n")}`);
    }
  });

  it("a client presenting a certificate that is not its own from the stack CA (the CA itself)", () => {
    const problems = wiringProblems(assembleStackModel(withLink(topology, "collector-to-tempo", { clientCertificate: { certFile: "/etc/otelcol-contrib/tls/ca.crt", keyFile: "/etc/otelcol-contrib/tls/collector.key" } })));
    assert.deepEqual(problems, ["collector exporter otlp_grpc/tempo presents /etc/otelcol-contrib/tls/ca.crt, which is not collector's own certificate from the stack CA"]);
  });

  it("with mutual TLS off nothing demands or presents client certificates, and that is consistent", () => {
    const model = buildStackModel(parseStackConfig("dev", { tls: { mutual: false } }));
    assert.deepEqual(wiringProblems(model), []);
    assert.ok(observedClients(model).every((c) => c.clientCertFile === undefined));
  });

  it("the app calling its backend over plaintext, or without the CA", () => {
    assert.deepEqual(wiringProblems(assembleStackModel(withLink(topology, "app-to-app-backend", { tls: "plaintext" }))), [
      "app downstream call uses plaintext but appBackend http server serves TLS",
    ]);
    assert.deepEqual(wiringProblems(assembleStackModel(withLink(topology, "app-to-app-backend", { clientCaFile: undefined }))), [
      "app downstream call does not trust the stack CA (CA file missing)",
    ]);
  });

  it("a private key readable by every user of its container (0444, as with root-owned uploads made world-readable)", () => {
    const model = buildStackModel(parseStackConfig("dev", {}));
    const tempo = model.services.tempo;
    const files = tempo.files.map((f) => (f.content.kind === "servicePrivateKey" ? { ...f, mode: "0444" } : f));
    assert.deepEqual(wiringProblems({ ...model, services: { ...model.services, tempo: { ...tempo, files } } }), [
      "tempo's private key /etc/tempo/tls/tempo.key (mode 0444) is readable by every user of its container",
    ]);
  });

  it("a key the service cannot read: owner-only mode on a root-owned upload, or a process outside group 0", () => {
    const model = buildStackModel(parseStackConfig("dev", {}));
    const app = model.services.app;
    const ownerOnly = app.files.map((f) => (f.content.kind === "servicePrivateKey" ? { ...f, mode: "0400" } : f));
    assert.deepEqual(wiringProblems({ ...model, services: { ...model.services, app: { ...app, files: ownerOnly } } }), [
      "app runs as 1000:0 and cannot read /etc/app/tls/app.key (root:root, mode 0400)",
    ]);
    const ownGroup = wiringProblems({ ...model, services: { ...model.services, app: { ...app, user: "1000:1000" } } });
    assert.ok(ownGroup.includes("app runs as 1000:1000 and cannot read /etc/app/tls/app.key (root:root, mode 0440)"), ownGroup.join("\n"));
  });
});

describe("in microservices mode, one-sided links between Tempo's containers are caught", () => {
  const distributed = (): ReturnType<typeof buildTopology> => buildTopology(parseStackConfig("distributed", projectSettingsFromStackFile(readFileSync(join(PROJECT_DIR, "Pulumi.distributed.yaml"), "utf8"))));
  const rendered = (t: ReturnType<typeof buildTopology>) => renderStackConfigs(assembleStackModel(t));
  /** The healthy model with one container's tempo.yaml taken from another (broken) rendering: one side of a link. */
  const withTempoFileOf = (containerId: string, broken: ReturnType<typeof rendered>) => {
    const healthy = rendered(distributed());
    const file = (broken.services[containerId]!.files.find((f) => f.path === "/etc/tempo/tempo.yaml"))!;
    const service = healthy.services[containerId]!;
    return { ...healthy, services: { ...healthy.services, [containerId]: { ...service, files: service.files.map((f) => (f.path === file.path ? file : f)) } } };
  };

  it("the healthy distributed stack is consistent", () => {
    assert.deepEqual(wiringProblems(rendered(distributed())), []);
  });

  it("one ingester gossiping in plaintext while the other members speak TLS", () => {
    const problems = wiringProblems(withTempoFileOf("tempoIngester-3", rendered(withLink(distributed(), "tempo-memberlist", { tls: "plaintext" }))));
    // Every member's join reaches the plaintext listener, and the ingester's own join reaches TLS listeners.
    assert.ok(problems.includes("tempoDistributor-1 memberlist join dns+tempo-gossip-ring:7946 uses TLS but tempoIngester-3 memberlist serves plaintext"), problems.join("\n"));
    assert.ok(problems.includes("tempoIngester-3 memberlist join dns+tempo-gossip-ring:7946 uses plaintext but tempoIngester-1 memberlist serves TLS"), problems.join("\n"));
  });

  it("the distributors' ingester client in plaintext against the ingesters' TLS-only gRPC server", () => {
    const problems = wiringProblems(rendered(withLink(distributed(), "tempo-distributor-to-ingester", { tls: "plaintext" })));
    for (const d of [1, 2]) for (const i of [1, 2, 3]) assert.ok(problems.includes(`tempoDistributor-${d} ingester_client.grpc_client_config uses plaintext but tempoIngester-${i} server.grpc serves TLS`), problems.join("\n"));
  });

  it("Tempo's S3 client trusting its own certificate instead of the stack CA", () => {
    const t = distributed();
    const broken = t.links.filter((l) => l.server === "objectStore").reduce((acc, l) => withLink(acc, l.id, { clientCaFile: "/etc/tempo/tls/tempo.crt" }), t);
    const problems = wiringProblems(rendered(broken));
    for (const id of ["tempoIngester-1", "tempoQuerier-2", "tempoCompactor", "tempoQueryFrontend"]) {
      assert.ok(problems.includes(`${id} storage.trace.s3 does not trust the stack CA (CA file /etc/tempo/tls/tempo.crt)`), problems.join("\n"));
    }
  });

  it("queriers presenting no certificate to the query-frontend, which requires one", () => {
    const problems = wiringProblems(rendered(withLink(distributed(), "tempo-querier-to-query-frontend", { clientCertificate: undefined })));
    assert.deepEqual(problems, [1, 2].map((q) => `tempoQuerier-${q} querier.frontend_worker.grpc_client_config presents no client certificate, but tempoQueryFrontend server.grpc requires one`));
  });

  it("the collector checking one distributor's own name, which the other's certificate lacks", () => {
    const problems = wiringProblems(rendered(withLink(distributed(), "collector-to-tempo", { serverName: "tempo-distributor-1" })));
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0]!, /^collector exporter otlp_grpc\/tempo verifies the name "tempo-distributor-1", which is not in tempoDistributor-2's certificate/);
  });
});
