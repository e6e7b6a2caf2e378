import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assembleStackModel, buildStackModel, buildTopology, loadStackModelFromFile, parseStackConfig } from "../../model";
import type { LinkModel, StackTopology } from "../../model";
import { stackFiles, PROJECT_DIR } from "../support/pulumiMocks";
import { observedClients, wiringProblems } from "../support/wiring";

function withLink(topology: StackTopology, id: string, change: Partial<LinkModel>): StackTopology {
  return { ...topology, links: topology.links.map((l) => (l.id === id ? { ...l, ...change } : l)) };
}

describe("wiring read back from the rendered configs", () => {
  for (const stack of stackFiles()) {
    it(`is consistent for every link of stack ${stack}`, () => {
      const model = loadStackModelFromFile(stack, PROJECT_DIR);
      assert.deepEqual(wiringProblems(model), []);
      // Every client of the stack is seen, so a renderer that drops one cannot pass silently.
      assert.equal(observedClients(model).length, 8);
    });
  }

  it("stays consistent with internal gRPC TLS switched off: both ends plaintext", () => {
    const model = buildStackModel(parseStackConfig("dev", { tls: { tempoInternalGrpc: "plaintext" } }));
    assert.deepEqual(wiringProblems(model), []);
    const internal = observedClients(model).filter((c) => c.client === "tempo");
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
