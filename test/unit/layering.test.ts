/**
 * Layers point one way: config -> model -> renderers (configs/) -> components -> program. The model
 * declares which config file goes where; only configs/ writes it (configs/renderStackConfigs.ts).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { renderStackConfigs } from "../../configs/renderStackConfigs";
import { buildStackModel, fileContentFrom, parseStackConfig } from "../../model";
import { PROJECT_DIR } from "../support/pulumiMocks";

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? tsFiles(path) : name.endsWith(".ts") ? [path] : [];
  });
}

/** Every module a layer's files import that resolves into one of the forbidden top-level folders or packages. */
function forbiddenImports(layer: string, forbidden: RegExp): string[] {
  return tsFiles(join(PROJECT_DIR, layer)).flatMap((file) => {
    const text = readFileSync(file, "utf8");
    return [...text.matchAll(/from\s+["']([^"']+)["']/g)]
      .map((m) => m[1]!)
      .map((spec) => (spec.startsWith(".") ? relative(PROJECT_DIR, join(file, "..", spec)) : spec))
      .filter((target) => forbidden.test(target))
      .map((target) => `${relative(PROJECT_DIR, file)} imports ${target}`);
  });
}

describe("layers point one way", () => {
  it("the model imports no renderer, component, program or Pulumi SDK", () => {
    assert.deepEqual(forbiddenImports("model", /^(configs|components|program|index|@pulumi)/), []);
  });

  it("the renderers import no component, program or Pulumi SDK", () => {
    assert.deepEqual(forbiddenImports("configs", /^(components|program|index|@pulumi)/), []);
  });

  it("components never reach up into the program", () => {
    assert.deepEqual(forbiddenImports("components", /^(program|index)$/), []);
  });

  it("the model only declares config files; rendering them is configs/' job, and an unrendered one cannot be deployed", () => {
    const model = buildStackModel(parseStackConfig("dev", {}));
    const tempoConfig = model.services.tempo.files.find((f) => f.path === "/etc/tempo/tempo.yaml")!;
    assert.deepEqual(tempoConfig.content, { kind: "config", config: "tempo" });
    const pems = { caCertificate: "ca", certificate: () => "cert", privateKey: () => "key" };
    assert.throws(() => fileContentFrom(tempoConfig.content, pems), /the tempo config was never rendered; pass the model through renderStackConfigs/);
    const rendered = renderStackConfigs(model).services.tempo.files.find((f) => f.path === "/etc/tempo/tempo.yaml")!;
    assert.equal(rendered.content.kind, "text");
    assert.match(String(fileContentFrom(rendered.content, pems)), /^server:/m);
  });
});
