import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseStackConfig, projectSettingsFromStackFile, StackConfigError } from "../../model";
import { PROJECT_DIR, runProgram, stackConfigFromFile } from "../support/pulumiMocks";
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
    ["an unknown Tempo mode", { tempo: { mode: "distributed" } }, /^tracing-stack:tempo\.mode: unknown Tempo mode "distributed"\. Fix: set it to one of: monolithic, microservices\.$/],
    ["an even replication factor", { tempo: { mode: "microservices", replicationFactor: 2 } }, /^tracing-stack:tempo\.replicationFactor: 2 is even: a write needs a quorum of floor\(2\/2\)\+1 = 2 ingesters.*Fix: set an odd factor, e\.g\. 1 or 3\.$/],
    ["fewer ingesters than copies of each trace", { tempo: { mode: "microservices", replicas: { ingester: 2 } } }, /^tracing-stack:tempo\.replicas\.ingester: 2 ingester\(s\) cannot hold 3 copies of each trace \(tempo\.replicationFactor\).*Fix: run at least 3 ingesters, or lower tempo\.replicationFactor\.$/],
    ["no distributor at all", { tempo: { mode: "microservices", replicas: { distributor: 0 } } }, /^tracing-stack:tempo\.replicas\.distributor: must be a whole number from 1 to 9, got 0\./],
    ["too many queriers", { tempo: { mode: "microservices", replicas: { querier: 10 } } }, /^tracing-stack:tempo\.replicas\.querier: must be a whole number from 1 to 9, got 10\./],
    ["a replica count for a target that does not scale", { tempo: { mode: "microservices", replicas: { compactor: 2 } } }, /^tracing-stack:tempo\.replicas\.compactor: is not a known setting\. Fix: use one of: distributor, ingester, querier\.$/],
    ["replicas on a monolithic Tempo", { tempo: { replicas: { ingester: 3 } } }, /^tracing-stack:tempo\.replicas: applies to tempo\.mode microservices only.*Fix: remove tempo\.replicas, or set tempo\.mode to microservices\.$/],
    ["a replication factor on a monolithic Tempo", { tempo: { replicationFactor: 3 } }, /^tracing-stack:tempo\.replicationFactor: applies to tempo\.mode microservices only/],
    ["object storage on a monolithic Tempo", { tempo: { objectStorage: { kind: "inStack" } } }, /^tracing-stack:tempo\.objectStorage: applies to tempo\.mode microservices only/],
    [
      "an external store's endpoint given as a URL",
      { tempo: { mode: "microservices", objectStorage: { kind: "external", endpoint: "https://s3.eu-west-1.amazonaws.com:443/", bucket: "traces", accessKeyId: "AKIA" } }, objectStorageSecretAccessKey: "s" },
      /^tracing-stack:tempo\.objectStorage\.endpoint: "https:\/\/s3\.eu-west-1\.amazonaws\.com:443\/" has a scheme; .*grafana\/tempo#3696.*Fix: set it to "s3\.eu-west-1\.amazonaws\.com:443"\.$/,
    ],
    ["an external store's endpoint without a port", { tempo: { mode: "microservices", objectStorage: { kind: "external", endpoint: "s3.example.com", bucket: "traces", accessKeyId: "AKIA" } }, objectStorageSecretAccessKey: "s" }, /^tracing-stack:tempo\.objectStorage\.endpoint: "s3\.example\.com" is not host:port\./],
    ["an external store without an endpoint", { tempo: { mode: "microservices", objectStorage: { kind: "external", bucket: "traces", accessKeyId: "AKIA" } }, objectStorageSecretAccessKey: "s" }, /^tracing-stack:tempo\.objectStorage\.endpoint: is required for an external store\./],
    ["an external store without a bucket", { tempo: { mode: "microservices", objectStorage: { kind: "external", endpoint: "s3.example.com:443", accessKeyId: "AKIA" } }, objectStorageSecretAccessKey: "s" }, /^tracing-stack:tempo\.objectStorage\.bucket: is required for an external store\./],
    ["an external store without an access key id", { tempo: { mode: "microservices", objectStorage: { kind: "external", endpoint: "s3.example.com:443", bucket: "traces" } }, objectStorageSecretAccessKey: "s" }, /^tracing-stack:tempo\.objectStorage\.accessKeyId: is required for an external store\./],
    ["an external store without its secret key", { tempo: { mode: "microservices", objectStorage: { kind: "external", endpoint: "s3.example.com:443", bucket: "traces", accessKeyId: "AKIA" } } }, /^tracing-stack:objectStorageSecretAccessKey: is not set, and an external store needs the secret of tempo\.objectStorage\.accessKeyId\. Fix: run `pulumi config set --secret objectStorageSecretAccessKey <secret>`\.$/],
    ["the in-stack store given an endpoint", { tempo: { mode: "microservices", objectStorage: { kind: "inStack", endpoint: "s3.example.com:443" } } }, /^tracing-stack:tempo\.objectStorage\.endpoint: applies to an external store only.*Fix: remove it, or set tempo\.objectStorage\.kind to external\.$/],
    ["the in-stack store given an access key id", { tempo: { mode: "microservices", objectStorage: { accessKeyId: "AKIA" } } }, /^tracing-stack:tempo\.objectStorage\.accessKeyId: applies to an external store only/],
    ["the in-stack store given a secret key", { tempo: { mode: "microservices" }, objectStorageSecretAccessKey: "s" }, /^tracing-stack:objectStorageSecretAccessKey: is set while the object store is the in-stack one, whose keys the stack generates\. Fix: remove it/],
    ["an unknown object storage kind", { tempo: { mode: "microservices", objectStorage: { kind: "gcs" } } }, /^tracing-stack:tempo\.objectStorage\.kind: unknown object storage "gcs"\. Fix: set it to inStack .* or external/],
    ["a bucket name S3 refuses", { tempo: { mode: "microservices", objectStorage: { bucket: "Traces_Bucket" } } }, /^tracing-stack:tempo\.objectStorage\.bucket: "Traces_Bucket" is not a valid S3 bucket name\. Fix: use 3-63 lowercase letters/],
    ["a bucket name ending in a hyphen", { tempo: { mode: "microservices", objectStorage: { bucket: "traces-" } } }, /^tracing-stack:tempo\.objectStorage\.bucket: "traces-" is not a valid S3 bucket name/],
    [
      "an external store's CA that is not PEM",
      { tempo: { mode: "microservices", objectStorage: { kind: "external", endpoint: "s3.example.com:443", bucket: "traces", accessKeyId: "AKIA", caCertificate: "MIIB...base64 without armour" } }, objectStorageSecretAccessKey: "s" },
      /^tracing-stack:tempo\.objectStorage\.caCertificate: is not a PEM certificate\. Fix: paste the PEM of the CA/,
    ],
    ["a misspelt object storage field", { tempo: { mode: "microservices", objectStorage: { bukket: "traces" } } }, /^tracing-stack:tempo\.objectStorage\.bukket: is not a known setting/],
    ["microservices with plaintext internal gRPC", { tempo: { mode: "microservices" }, tls: { tempoInternalGrpc: "plaintext" } }, /^tracing-stack:tls\.tempoInternalGrpc: is plaintext while tempo\.mode is microservices, whose components talk over the network\. Fix: remove it \(TLS is the default\), or set tempo\.mode to monolithic\.$/],
    ["microservices without mutual TLS", { tempo: { mode: "microservices" }, tls: { mutual: false } }, /^tracing-stack:tls\.mutual: is false while tempo\.mode is microservices, which runs mutual TLS on every hop.*Fix: remove it \(true is the default\), or set tempo\.mode to monolithic\.$/],
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

describe("Tempo in microservices mode", () => {
  const microservices = (tempo: Record<string, unknown> = {}, rest: Record<string, unknown> = {}) => ({ tempo: { mode: "microservices", ...tempo }, ...rest });
  const FAKE_CA = "-----BEGIN CERTIFICATE-----\nMIIBfakeCA\n-----END CERTIFICATE-----\n";

  it("Pulumi.distributed.yaml parses to 2 distributors, 3 ingesters, 2 queriers, RF 3 and the in-stack store with a bucket of the stack's own", () => {
    const settings = projectSettingsFromStackFile(readFileSync(join(PROJECT_DIR, "Pulumi.distributed.yaml"), "utf8"));
    const tempo = parseStackConfig("distributed", settings).tempo;
    assert.equal(tempo.mode, "microservices");
    assert.deepEqual(tempo.replicas, { distributor: 2, ingester: 3, querier: 2 });
    assert.equal(tempo.replicationFactor, 3);
    assert.equal(tempo.maxBlockDurationSeconds, 300);
    assert.deepEqual(tempo.objectStorage, { kind: "inStack", bucket: "tracing-stack-distributed", region: "us-east-1" });
  });

  it("with only the mode set, takes the issue's topology and Tempo's own block duration", () => {
    const tempo = parseStackConfig("staging", microservices()).tempo;
    assert.deepEqual(tempo.replicas, { distributor: 2, ingester: 3, querier: 2 });
    assert.equal(tempo.replicationFactor, 3);
    assert.equal(tempo.maxBlockDurationSeconds, 1800);
    assert.deepEqual(tempo.objectStorage, { kind: "inStack", bucket: "tracing-stack-staging", region: "us-east-1" });
  });

  it("names the default bucket after the stack in S3's alphabet; a bucket given is kept", () => {
    assert.equal(parseStackConfig("Team_A", microservices()).tempo.objectStorage.bucket, "tracing-stack-team-a");
    assert.equal(parseStackConfig("dev", microservices({ objectStorage: { bucket: "my-traces" } })).tempo.objectStorage.bucket, "my-traces");
  });

  it("accepts the replica counts and factors the rules allow", () => {
    const tempo = parseStackConfig("dev", microservices({ replicas: { distributor: 1, ingester: 5, querier: "3" }, replicationFactor: 5 })).tempo;
    assert.deepEqual(tempo.replicas, { distributor: 1, ingester: 5, querier: 3 });
    assert.equal(tempo.replicationFactor, 5);
    const single = parseStackConfig("dev", microservices({ replicas: { ingester: 1 }, replicationFactor: 1 })).tempo;
    assert.equal(single.replicationFactor, 1);
  });

  it("counts the ingesters against the factor actually set", () => {
    const problems = problemsOf(microservices({ replicationFactor: 5 }));
    assert.deepEqual(problems, [
      "tracing-stack:tempo.replicas.ingester: 3 ingester(s) cannot hold 5 copies of each trace (tempo.replicationFactor): every write would fail its quorum. Fix: run at least 5 ingesters, or lower tempo.replicationFactor.",
    ]);
  });

  it("an even factor is refused even with enough ingesters, and only that is reported", () => {
    const problems = problemsOf(microservices({ replicas: { ingester: 4 }, replicationFactor: 4 }));
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0]!, /^tracing-stack:tempo\.replicationFactor: 4 is even: a write needs a quorum of floor\(4\/2\)\+1 = 3 ingesters.*Fix: set an odd factor, e\.g\. 3 or 5\.$/);
  });

  it("an external store: endpoint, bucket, region, key id and CA as given", () => {
    const tempo = parseStackConfig(
      "dev",
      microservices(
        { objectStorage: { kind: "external", endpoint: "minio.internal:9000", bucket: "traces", region: "eu-west-1", accessKeyId: "AKIAEXAMPLE", caCertificate: FAKE_CA } },
        { objectStorageSecretAccessKey: "secret" },
      ),
    ).tempo;
    assert.deepEqual(tempo.objectStorage, { kind: "external", endpoint: "minio.internal:9000", bucket: "traces", region: "eu-west-1", accessKeyId: "AKIAEXAMPLE", caCertificate: FAKE_CA });
    const systemCas = parseStackConfig("dev", microservices({ objectStorage: { kind: "external", endpoint: "s3.amazonaws.com:443", bucket: "traces", accessKeyId: "AKIA" } }, { objectStorageSecretAccessKey: "s" })).tempo;
    assert.equal("caCertificate" in systemCas.objectStorage, false, "no CA given: the image's system CAs, and no tls_ca_path");
    assert.equal(systemCas.objectStorage.region, "us-east-1");
  });

  it("an external store missing everything: each missing setting is its own problem", () => {
    const problems = problemsOf(microservices({ objectStorage: { kind: "external" } }));
    const settings = problems.map((p) => p.split(":").slice(0, 2).join(":"));
    assert.deepEqual(settings.sort(), [
      "tracing-stack:objectStorageSecretAccessKey",
      "tracing-stack:tempo.objectStorage.accessKeyId",
      "tracing-stack:tempo.objectStorage.bucket",
      "tracing-stack:tempo.objectStorage.endpoint",
    ]);
  });

  it("refuses plaintext internal gRPC and one-way TLS together, each named", () => {
    const problems = problemsOf(microservices({}, { tls: { tempoInternalGrpc: "plaintext", mutual: false } }));
    assert.deepEqual(problems.map((p) => p.split(":").slice(0, 2).join(":")), ["tracing-stack:tls.tempoInternalGrpc", "tracing-stack:tls.mutual"]);
  });

  it("leaves a monolithic stack as it was: its mode, one copy of each trace, no replica or storage problems", () => {
    const config = parseStackConfig("dev", {});
    assert.equal(config.tempo.mode, "monolithic");
    assert.equal(config.tempo.replicationFactor, 1);
    // A secret key a monolithic stack does not use is not a reason to refuse it.
    assert.equal(parseStackConfig("dev", { tempo: { mode: "monolithic" }, objectStorageSecretAccessKey: "s" }).tempo.mode, "monolithic");
    for (const stack of ["dev", "staging"]) {
      const settings = projectSettingsFromStackFile(readFileSync(join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8"));
      assert.equal(parseStackConfig(stack, settings).tempo.mode, "monolithic", stack);
    }
  });

  // The default bucket comes from the stack name, which may end in "_", "-" or "." or hold "..".
  it("derives a valid S3 bucket name from every stack name Docker accepts (\"dev_\" gives \"tracing-stack-dev-\")", () => {
    for (const stack of ["dev_", "dev.", "a..b"]) {
      const bucket = parseStackConfig(stack, microservices()).tempo.objectStorage.bucket;
      assert.match(bucket, /^[a-z0-9](?!.*\.\.)[a-z0-9.-]{1,61}[a-z0-9]$/, `${stack} -> ${bucket}`);
    }
  });

  // For a URL without a port the fix must itself pass the host:port rule (the scheme's port).
  it("offers a fix that passes its own host:port rule for an endpoint URL without a port", () => {
    const problems = problemsOf(microservices({ objectStorage: { kind: "external", endpoint: "https://s3.example.com", bucket: "traces", accessKeyId: "AKIA" } }, { objectStorageSecretAccessKey: "s" }));
    const fix = /Fix: set it to "([^"]+)"/.exec(problems.find((p) => p.includes("tempo.objectStorage.endpoint")) ?? "")?.[1] ?? "";
    assert.match(fix, /^[A-Za-z0-9.-]+:\d{1,5}$/);
  });
});
