/**
 * OpenTofu, built from the Go module proxy (e2e/prepare/tofu.sh), driving the Terraform Docker
 * provider built the same way (e2e/prepare/docker-provider.sh) from an offline filesystem mirror.
 */
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const DOCKER_PROVIDER_SOURCE = "registry.opentofu.org/kreuzwerker/docker";

export interface TofuTools {
  tofuBin: string;
  mirrorDir: string;
  providerVersion: string;
}

export interface TofuResult {
  exitCode: number;
  /** stdout and stderr as they came. */
  output: string;
  stdout: string;
  seconds: number;
}

export interface TerraformSchemaBlock {
  attributes?: Record<string, { type: unknown; optional?: boolean; required?: boolean; computed?: boolean; sensitive?: boolean }>;
  block_types?: Record<string, { nesting_mode: "list" | "set" | "single" | "map"; block: TerraformSchemaBlock; max_items?: number; min_items?: number }>;
}

export class Tofu {
  constructor(
    readonly tools: TofuTools,
    readonly workDir: string,
    /** Extra environment for the provider, e.g. DOCKER_HOST of a swarm manager. */
    readonly env: Record<string, string> = {},
  ) {}

  private get cliConfigFile(): string {
    return join(this.workDir, "tofu-cli.tfrc");
  }

  /** Writes the CLI config (offline mirror only) and the provider requirement, then `tofu init`. */
  async init(): Promise<void> {
    await mkdir(this.workDir, { recursive: true, mode: 0o700 });
    // This machine presets TF_CLI_CONFIG_FILE to a file that does not exist: always use our own.
    await writeFile(
      this.cliConfigFile,
      [
        "provider_installation {",
        `  filesystem_mirror {`,
        `    path    = ${JSON.stringify(this.tools.mirrorDir)}`,
        `    include = [${JSON.stringify(DOCKER_PROVIDER_SOURCE)}]`,
        "  }",
        '  direct { exclude = ["*/*"] }',
        "}",
        "",
      ].join("\n"),
    );
    await this.writeJson("providers.tf.json", {
      terraform: { required_providers: { docker: { source: "kreuzwerker/docker", version: `= ${this.tools.providerVersion}` } } },
      provider: { docker: {} },
    });
    const result = await this.run(["init", "-input=false", "-no-color"]);
    if (result.exitCode !== 0) throw new Error(`tofu init failed:\n${result.output}`);
  }

  async writeJson(file: string, value: unknown): Promise<void> {
    // Mode 0600: the configuration holds private keys (upload contents).
    await writeFile(join(this.workDir, file), `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  }

  /** The provider's own schema for a resource type, as `tofu providers schema -json` reports it. */
  async resourceSchemas(): Promise<Record<string, { block: TerraformSchemaBlock }>> {
    const result = await this.run(["providers", "schema", "-json"]);
    if (result.exitCode !== 0) throw new Error(`tofu providers schema failed:\n${result.output}`);
    const doc = JSON.parse(result.stdout) as { provider_schemas: Record<string, { resource_schemas: Record<string, { block: TerraformSchemaBlock }> }> };
    const provider = doc.provider_schemas[DOCKER_PROVIDER_SOURCE];
    if (!provider) throw new Error(`tofu reports no schema for ${DOCKER_PROVIDER_SOURCE}`);
    return provider.resource_schemas;
  }

  apply(extra: string[] = []): Promise<TofuResult> {
    return this.run(["apply", "-auto-approve", "-input=false", "-no-color", ...extra]);
  }

  /** Exit code 0: no changes, 2: changes, 1: error (`-detailed-exitcode`). */
  plan(): Promise<TofuResult> {
    return this.run(["plan", "-detailed-exitcode", "-input=false", "-no-color"]);
  }

  destroy(): Promise<TofuResult> {
    return this.run(["destroy", "-auto-approve", "-input=false", "-no-color"]);
  }

  async stateRemove(addresses: string[]): Promise<void> {
    if (addresses.length === 0) return;
    const result = await this.run(["state", "rm", ...addresses]);
    if (result.exitCode !== 0) throw new Error(`tofu state rm failed:\n${result.output}`);
  }

  /** Attribute values of every resource in the state, by `type.name`. */
  async stateValues(): Promise<Map<string, Record<string, unknown>>> {
    const result = await this.run(["show", "-json"]);
    if (result.exitCode !== 0) throw new Error(`tofu show failed:\n${result.output}`);
    const doc = JSON.parse(result.stdout) as { values?: { root_module?: { resources?: Array<{ type: string; name: string; values: Record<string, unknown> }> } } };
    const values = new Map<string, Record<string, unknown>>();
    for (const r of doc.values?.root_module?.resources ?? []) values.set(`${r.type}.${r.name}`, r.values);
    return values;
  }

  run(args: string[]): Promise<TofuResult> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const child = spawn(this.tools.tofuBin, args, {
        cwd: this.workDir,
        env: { ...process.env, ...this.env, TF_CLI_CONFIG_FILE: this.cliConfigFile, TF_IN_AUTOMATION: "1", TF_INPUT: "0", CHECKPOINT_DISABLE: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      let stdout = "";
      child.stdout.on("data", (d: Buffer) => {
        output += d.toString();
        stdout += d.toString();
      });
      child.stderr.on("data", (d: Buffer) => (output += d.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ exitCode: code ?? 1, output, stdout, seconds: (Date.now() - started) / 1000 }));
    });
  }
}
