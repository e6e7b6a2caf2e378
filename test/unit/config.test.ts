import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseStackConfig, StackConfigError } from "../../model";
import { runProgram, stackConfigFromFile } from "../support/pulumiMocks";
import type { RecordedResource } from "../support/pulumiMocks";

function problemsOf(raw: Record<string, unknown>, stack = "dev"): string[] {
  try {
    parseStackConfig(stack, raw);
  } catch (error) {
    assert.ok(error instanceof StackConfigError, String(error));
    return error.problems.map((p) => `${p.setting}: ${p.message} Fix: ${p.fix}`);
  }
  assert.fail("expected the config to be rejected");
}

describe("bad stack config is rejected with the setting and the fix", () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ["a port out of range", { hostPorts: { grafana: 70000 } }, /^tracing-stack:hostPorts\.grafana: must be a whole number from 1 to 65535, got 70000\. Fix: set it to a number between 1 and 65535\.$/],
    ["a port that is not a number", { hostPorts: { app: "eighty" } }, /^tracing-stack:hostPorts\.app: must be a whole number/],
    ["two services on one host port", { hostPorts: { grafana: 3200 } }, /^tracing-stack:hostPorts\.tempoApi: host port 3200 is also used by hostPorts\.grafana.*Fix: give each of hostPorts\.grafana and hostPorts\.tempoApi its own port\.$/],
    ["an unknown TLS mode", { tls: { tempoInternalGrpc: "mtls-maybe" } }, /^tracing-stack:tls\.tempoInternalGrpc: unknown TLS mode "mtls-maybe"\. Fix: set it to one of: tls, plaintext\.$/],
    ["an image without a tag", { images: { tempo: "grafana/tempo" } }, /^tracing-stack:images\.tempo: "grafana\/tempo" has no tag, so Docker would use the floating "latest".*Fix: name an exact version, e\.g\. "grafana\/tempo:2\.10\.8"\.$/],
    ["an image on :latest", { images: { collector: "otel/opentelemetry-collector-contrib:latest" } }, /^tracing-stack:images\.collector: .* uses the floating "latest" tag/],
    ["an image on a floating word tag", { images: { grafana: "grafana/grafana:main" } }, /^tracing-stack:images\.grafana: .*floating tag "main"/],
    ["an app image without a tag", { images: { app: "registry.local:5000/shop/app" } }, /^tracing-stack:images\.app: .* has no tag/],
    ["Tempo 3", { images: { tempo: "grafana/tempo:3.0.0" } }, /^tracing-stack:images\.tempo: .*not a Tempo 2\.x image.*tempo_ingester_traces_created_total/],
    ["a service alias that is not a DNS label", { networkAliases: { tempo: "Tempo_DB" } }, /^tracing-stack:networkAliases\.tempo: "Tempo_DB" is not a valid DNS label\. Fix: use 1-63 lowercase letters/],
    ["two services with one alias", { networkAliases: { app: "tempo" } }, /^tracing-stack:networkAliases\.app: "tempo" is already the alias of tempo/],
    ["too few live traces for Tempo", { tempo: { maxLiveTraces: 10 } }, /^tracing-stack:tempo\.maxLiveTraces: must be a whole number from 1000 to 10000000, got 10\./],
    ["a misspelt setting", { hostPort: { grafana: 3000 } }, /^tracing-stack:hostPort: is not a known setting\. Fix: use one of: hostBindAddress, hostPorts/],
    ["a misspelt port name", { hostPorts: { graphana: 3001 } }, /^tracing-stack:hostPorts\.graphana: is not a known setting\. Fix: use one of: grafana, tempoApi/],
    ["a bind address that is not an address", { hostBindAddress: "localhost" }, /^tracing-stack:hostBindAddress: "localhost" is not an IPv4 address/],
    ["renewal not before expiry", { certificates: { validityHours: 100, earlyRenewalHours: 100 } }, /^tracing-stack:certificates\.earlyRenewalHours: 100 h is not less than certificates\.validityHours/],
    ["a deadline shorter than Tempo's sweep", { verification: { deadlineSeconds: 12 } }, /^tracing-stack:verification\.deadlineSeconds: 12 s is too short/],
    ["a fraction above 1", { verification: { minFraction: 1.5 } }, /^tracing-stack:verification\.minFraction: must be a number greater than 0 and at most 1/],
    ["a non-boolean keepDataVolume", { keepDataVolume: "sometimes" }, /^tracing-stack:keepDataVolume: must be true or false/],
    ["the backend under the app's own service name", { appServiceName: "shop", appBackendServiceName: "shop" }, /^tracing-stack:appBackendServiceName: "shop" is also appServiceName; with one name for both, the service graph has no edge.*Fix: give the backend its own name, e\.g\. "shop-backend"\.$/],
    ["publishing beyond loopback without mutual TLS", { hostBindAddress: "0.0.0.0", tls: { mutual: false } }, /^tracing-stack:tls\.mutual: is false while hostBindAddress is 0\.0\.0\.0: the collector's receivers and the Tempo and Prometheus APIs would accept any client on the network\. Fix: set tls\.mutual to true/],
    ["a non-boolean tls.mutual", { tls: { mutual: "yes" } }, /^tracing-stack:tls\.mutual: must be true or false/],
  ];
  for (const [name, raw, expected] of cases) {
    it(name, () => {
      const problems = problemsOf(raw);
      assert.ok(problems.some((p) => expected.test(p)), `no problem matched ${expected}:\n${problems.join("\n")}`);
    });
  }

  it("reports every problem of a file at once", () => {
    const problems = problemsOf({ hostPorts: { grafana: 0 }, tls: { tempoInternalGrpc: "on" }, images: { tempo: "grafana/tempo:latest" } });
    assert.equal(problems.length, 3, problems.join("\n"));
  });

  it("rejects a stack name Docker cannot use in container names", () => {
    assert.ok(problemsOf({}, "my stack").some((p) => /^stack name: "my stack" cannot be part of Docker container/.test(p)));
  });

  it("fails the Pulumi program before any resource is registered", async () => {
    const config = { ...stackConfigFromFile("dev"), "tracing-stack:hostPorts": JSON.stringify({ grafana: 3200 }) };
    const registered: RecordedResource[] = [];
    await assert.rejects(
      () => runProgram("dev", config, [], registered),
      (error: unknown) => error instanceof StackConfigError && /hostPorts\.tempoApi: host port 3200/.test(error.message),
    );
    assert.deepEqual(registered, []);
  });
});

describe("mutual TLS and where the stack is published", () => {
  it("is on by default, and may be off only while the stack is published on loopback", () => {
    assert.equal(parseStackConfig("dev", {}).tls.mutual, true);
    assert.equal(parseStackConfig("dev", { tls: { mutual: false } }).tls.mutual, false);
    assert.equal(parseStackConfig("dev", { hostBindAddress: "127.0.0.2", tls: { mutual: false } }).tls.mutual, false);
    assert.equal(parseStackConfig("dev", { hostBindAddress: "0.0.0.0" }).tls.mutual, true);
    assert.throws(() => parseStackConfig("dev", { hostBindAddress: "192.168.1.10", tls: { mutual: false } }), /tls\.mutual/);
  });
});

describe("defaults", () => {
  it("fills in pinned images, loopback binding, TLS on every link", () => {
    const config = parseStackConfig("dev", {});
    assert.equal(config.hostBindAddress, "127.0.0.1");
    assert.equal(config.tls.tempoInternalGrpc, "tls");
    assert.equal(config.images.tempo, "grafana/tempo:2.10.8");
    assert.equal(config.images.collector, "otel/opentelemetry-collector-contrib:0.159.0");
    assert.equal(config.keepDataVolume, false);
    assert.deepEqual(config.images.app, { kind: "build", context: "app", dockerfile: "app/Dockerfile", imageName: "tracing-stack/app:dev" });
  });

  it("accepts digests and v-prefixed tags", () => {
    const digest = `grafana/tempo@sha256:${"a".repeat(64)}`;
    assert.equal(parseStackConfig("dev", { images: { tempo: digest } }).images.tempo, digest);
    assert.equal(parseStackConfig("dev", { images: { app: "registry.local:5000/shop/app:v1.2.3" } }).images.app.kind, "image");
  });
});
