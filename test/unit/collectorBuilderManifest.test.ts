import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { parse } from "yaml";

import {
  COLLECTOR_BINARY_NAME,
  COLLECTOR_VERSION,
  CollectorComponentSet,
  renderCollectorBuilderManifest,
} from "../../configs/collector/builderManifest";

const STACK: CollectorComponentSet = {
  receivers: ["otlp"],
  processors: ["memory_limiter", "batch"],
  exporters: ["otlp_grpc"],
  extensions: ["health_check"],
};

interface Manifest {
  dist: { name: string; version: string; output_path: string; cgo_enabled: boolean };
  receivers?: { gomod: string }[];
  processors?: { gomod: string }[];
  exporters?: { gomod: string }[];
  extensions?: { gomod: string }[];
  providers: { gomod: string }[];
  telemetry: { gomod: string; import: string };
}

function render(components: CollectorComponentSet, out = "/tmp/otelcol-build"): Manifest {
  return parse(renderCollectorBuilderManifest(components, out)) as Manifest;
}

function gomods(entries: { gomod: string }[] | undefined): string[] {
  return (entries ?? []).map((e) => e.gomod);
}

describe("renderCollectorBuilderManifest", () => {
  it("lists each component's module exactly once, at the pinned versions", () => {
    const m = render(STACK);
    assert.deepEqual(gomods(m.receivers), ["go.opentelemetry.io/collector/receiver/otlpreceiver v0.159.0"]);
    assert.deepEqual(gomods(m.processors), [
      "go.opentelemetry.io/collector/processor/batchprocessor v0.159.0",
      "go.opentelemetry.io/collector/processor/memorylimiterprocessor v0.159.0",
    ]);
    assert.deepEqual(gomods(m.exporters), ["go.opentelemetry.io/collector/exporter/otlpexporter v0.159.0"]);
    assert.deepEqual(gomods(m.extensions), [
      "github.com/open-telemetry/opentelemetry-collector-contrib/extension/healthcheckextension v0.159.0",
    ]);
    const all = [m.receivers, m.processors, m.exporters, m.extensions].flatMap(gomods);
    assert.equal(new Set(all).size, all.length, "a module is listed twice");
  });

  it("lists a module once even when several components of its type are configured", () => {
    const m = render({
      receivers: ["otlp", "otlp/second"],
      processors: ["batch", "batch/small", "memory_limiter"],
      exporters: ["otlp_grpc/tempo", "otlp_grpc/other"],
      extensions: ["health_check"],
    });
    assert.deepEqual(gomods(m.receivers), ["go.opentelemetry.io/collector/receiver/otlpreceiver v0.159.0"]);
    assert.equal(gomods(m.processors).length, 2);
    assert.deepEqual(gomods(m.exporters), ["go.opentelemetry.io/collector/exporter/otlpexporter v0.159.0"]);
  });

  it("builds a static otelcol-contrib binary into the given path, with stable providers at v1.65.0", () => {
    const m = render(STACK, "/cache/build");
    assert.equal(m.dist.name, COLLECTOR_BINARY_NAME);
    assert.equal(m.dist.name, "otelcol-contrib");
    assert.equal(m.dist.version, COLLECTOR_VERSION);
    assert.equal(m.dist.output_path, "/cache/build");
    assert.equal(m.dist.cgo_enabled, false);
    for (const p of gomods(m.providers)) {
      assert.match(p, /^go\.opentelemetry\.io\/collector\/confmap\/provider\/\w+ v1\.65\.0$/);
    }
    assert.ok(gomods(m.providers).some((p) => p.includes("/fileprovider ")));
    assert.equal(m.telemetry.gomod, "go.opentelemetry.io/collector/service v0.159.0");
  });

  it("omits kinds with no components", () => {
    const m = render({ receivers: ["otlp"], processors: [], exporters: ["otlp_grpc"], extensions: [] });
    assert.equal(m.processors, undefined);
    assert.equal(m.extensions, undefined);
  });

  it("throws for an unknown component, naming it and its kind", () => {
    assert.throws(
      () => render({ ...STACK, processors: ["batch", "tail_sampling"] }),
      (err: Error) => /unknown collector processor "tail_sampling"/.test(err.message),
    );
    assert.throws(
      () => render({ ...STACK, receivers: ["jaeger/thrift"] }),
      (err: Error) => /unknown collector receiver "jaeger" \(from "jaeger\/thrift"\)/.test(err.message),
    );
  });

  it("does not accept a component type under the wrong kind", () => {
    // otlp is a receiver type; as an exporter it is only the deprecated alias of otlp_grpc.
    assert.throws(
      () => render({ ...STACK, exporters: ["otlp"] }),
      (err: Error) => /exporter "otlp" is a deprecated alias.*use "otlp_grpc"/.test(err.message),
    );
    assert.throws(
      () => render({ ...STACK, receivers: ["health_check"] }),
      (err: Error) => /unknown collector receiver "health_check"/.test(err.message),
    );
  });

  it("rejects an empty output path", () => {
    assert.throws(() => renderCollectorBuilderManifest(STACK, ""), /outputPath/);
  });
});
