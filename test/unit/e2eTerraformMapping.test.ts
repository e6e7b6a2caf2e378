import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { convertBlock, terraformResources, UnmappedInputError } from "../../e2e/deploy/terraformConfig";
import type { Registration } from "../../e2e/deploy/recordProgram";
import { reference } from "../../e2e/deploy/references";
import { terraformType } from "../../e2e/deploy/terraformNames";
import type { TerraformSchemaBlock } from "../../e2e/deploy/tofu";

// The shape `tofu providers schema -json` reports for part of docker_container.
const container: TerraformSchemaBlock = {
  attributes: {
    name: { type: "string", required: true },
    image: { type: "string", required: true },
    env: { type: ["set", "string"], optional: true },
    wait: { type: "bool", optional: true },
    wait_timeout: { type: "number", optional: true },
    exit_code: { type: "number", computed: true },
  },
  block_types: {
    upload: { nesting_mode: "set", block: { attributes: { file: { type: "string", required: true }, content: { type: "string", optional: true }, permissions: { type: "string", optional: true } } } },
    healthcheck: { nesting_mode: "list", max_items: 1, block: { attributes: { test: { type: ["list", "string"], required: true }, start_period: { type: "string", optional: true } } } },
    networks_advanced: { nesting_mode: "set", block: { attributes: { name: { type: "string", required: true }, aliases: { type: ["set", "string"], optional: true } } } },
  },
};

describe("the e2e suite maps Pulumi inputs to the Terraform Docker provider's schema", () => {
  it("camelCase to snake_case, plural lists to singular blocks, max-one blocks from objects, references to interpolations", () => {
    const image = reference({ type: "docker_image", name: "tempo-image" }, "image_id");
    const out = convertBlock(
      {
        name: "e2e-tempo",
        image,
        envs: ["A=1"],
        waitTimeout: 125,
        uploads: [{ file: "/etc/tempo/tempo.yaml", content: "endpoint: ${env:X} %{literal}", permissions: "0444" }],
        healthcheck: { tests: ["CMD", "true"], startPeriod: "5s" },
        networksAdvanced: [{ name: "net", aliases: ["tempo"] }],
      },
      container,
      "docker_container.tempo",
    );
    assert.deepEqual(out, {
      name: "e2e-tempo",
      image: "${docker_image.tempo-image.image_id}",
      env: ["A=1"],
      wait_timeout: 125,
      upload: [{ file: "/etc/tempo/tempo.yaml", content: "endpoint: $${env:X} %%{literal}", permissions: "0444" }],
      healthcheck: [{ test: ["CMD", "true"], start_period: "5s" }],
      networks_advanced: [{ name: "net", aliases: ["tempo"] }],
    });
  });

  it("fails loudly on an input that maps to nothing, or to an attribute only the provider computes", () => {
    assert.throws(() => convertBlock({ name: "x", image: "y", uploads: [{ file: "/f", owner: "10001" }] }, container, "docker_container.c"), (e: Error) => e instanceof UnmappedInputError && /uploads\[0\]\.owner: maps to nothing/.test(e.message));
    assert.throws(() => convertBlock({ name: "x", image: "y", exitCode: 0 }, container, "docker_container.c"), /exit_code is computed by the provider/);
  });

  it("names resource types as the bridge does, docker_image being the renamed one", () => {
    assert.equal(terraformType("docker:index/container:Container"), "docker_container");
    assert.equal(terraformType("docker:index/remoteImage:RemoteImage"), "docker_image");
    assert.equal(terraformType("docker:index/network:Network"), "docker_network");
  });
});

describe("the e2e suite replaces resources in the order the Pulumi engine does", () => {
  const registration = (type: string, name: string, deleteBeforeReplace: boolean): Registration => ({
    type,
    name,
    urn: `urn:pulumi:e2e::tracing-stack::${type}::${name}`,
    custom: true,
    dependencies: [],
    retainOnDelete: false,
    deleteBeforeReplace,
    inputs: { name },
    secretInputs: [],
    state: {},
  });
  const schemas = { docker_config: { block: { attributes: { name: { type: "string", required: true } } } }, docker_container: { block: { attributes: { name: { type: "string", required: true } } } } };

  it("creates the replacement first unless the program asks to delete first (a fixed name)", () => {
    const regs = [registration("docker:index/serviceConfig:ServiceConfig", "tempo-crt", false), registration("docker:index/container:Container", "tempo", true)];
    const resources = terraformResources(regs, regs, schemas, () => []);
    assert.deepEqual(resources.docker_config!["tempo-crt"]!.lifecycle, { create_before_destroy: true });
    assert.equal(resources.docker_container!.tempo!.lifecycle, undefined);
  });
});
