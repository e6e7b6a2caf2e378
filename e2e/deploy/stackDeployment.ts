/**
 * The end-to-end suite's stand-in for the Pulumi engine, on the program's own resources:
 *   1. run index.ts under mocks that make real TLS material, passwords and the app image;
 *   2. turn the bridged docker:* registrations into a Terraform JSON configuration (names checked
 *      against the provider's schema, dependencies kept) and create them with OpenTofu and the real
 *      Terraform Docker provider, the code @pulumi/docker bridges;
 *   3. run command:local:Command resources after what they depend on, with their environment,
 *      failing the deployment on a non-zero exit, and again when their triggers change.
 * What is not deployed here (no image for Grafana or Prometheus on these machines) is named by
 * the caller and printed; nothing else is skipped.
 */
import { mkdir, rm } from "node:fs/promises";
import { CommandFailedError, runLocalCommand, type CommandRun } from "./localCommand";
import { recordProgram, type RecordedProgram, type Registration } from "./recordProgram";
import type { InputAlteration } from "./realValueMocks";
import { mapStrings, resolveReferences } from "./references";
import { terraformResources } from "./terraformConfig";
import { BRIDGED_DOCKER_TYPES, terraformAddressString } from "./terraformNames";
import { Tofu, type TofuResult, type TofuTools } from "./tofu";

export interface ComponentRef {
  type: string;
  name: string;
}

export interface StackDeploymentOptions {
  stack: string;
  /** Stack config as the CLI hands it to the program: strings, objects as JSON. */
  config: Record<string, string>;
  secretKeys?: string[];
  alter?: InputAlteration;
  /** Components left out, with everything under them, and why. */
  notDeployed: Array<ComponentRef & { why: string }>;
  tools: TofuTools;
  workDir: string;
  /**
   * The Docker engine the provider (and the user's shell, so the post-deploy verification too) talks
   * to, as DOCKER_HOST: a swarm manager. Default: the local engine.
   */
  dockerHost?: string;
}

export type FailureStage = "apply" | "command";

export interface UpResult {
  ok: boolean;
  failure?: { stage: FailureStage; resource: string; message: string };
  apply?: TofuResult;
  /** Local commands run by this `up`, by resource name. */
  commands: Record<string, CommandRun>;
  seconds: { apply: number; commands: number; total: number };
  /** Epoch ms when this `up` finished (the verification command's end on a healthy stack). */
  finishedAtMs: number;
}

const COMMAND_TYPE = "command:local:Command";

export class StackDeployment {
  private readonly tofu: Tofu;
  private readonly lastCommandInputs = new Map<string, string>();

  private constructor(
    readonly options: StackDeploymentOptions,
    readonly program: RecordedProgram,
    readonly deployed: Registration[],
    readonly skipped: Registration[],
  ) {
    this.tofu = new Tofu(options.tools, options.workDir, options.dockerHost ? { DOCKER_HOST: options.dockerHost } : {});
  }

  /**
   * Runs the program and writes the configuration; creates nothing yet. With `later`, this is a
   * later `pulumi up` of an existing deployment: its state stays, unchanged keys, passwords and
   * certificates keep their values, and certificates due for renewal at `renewalAt` (epoch ms,
   * e.g. a year on) are issued anew.
   */
  static async prepare(options: StackDeploymentOptions, later?: { of: StackDeployment; renewalAt: number }): Promise<StackDeployment> {
    const program = await recordProgram(options.stack, options.config, options.secretKeys, options.alter, later ? { program: later.of.program, renewalAt: later.renewalAt } : undefined);
    const byUrn = new Map(program.registrations.map((r) => [r.urn, r]));
    const excluded = (reg: Registration): boolean => {
      for (let r: Registration | undefined = reg; r; r = r.parentUrn ? byUrn.get(r.parentUrn) : undefined) {
        if (options.notDeployed.some((c) => c.type === r!.type && c.name === r!.name)) return true;
      }
      return false;
    };
    const custom = program.registrations.filter((r) => r.custom);
    const deployed = custom.filter((r) => !excluded(r));
    const skipped = custom.filter((r) => excluded(r));
    const deployment = new StackDeployment(options, program, deployed, skipped);
    if (later) {
      for (const [name, fingerprint] of later.of.lastCommandInputs) deployment.lastCommandInputs.set(name, fingerprint);
    } else {
      await rm(options.workDir, { recursive: true, force: true });
      await mkdir(options.workDir, { recursive: true, mode: 0o700 });
      await deployment.tofu.init();
    }
    const schemas = await deployment.tofu.resourceSchemas();
    const descendantsOf = (urn: string): Registration[] => program.registrations.filter((r) => {
      for (let p = r.parentUrn; p; p = byUrn.get(p)?.parentUrn) if (p === urn) return true;
      return false;
    });
    const bridged = deployed.filter((r) => (BRIDGED_DOCKER_TYPES as readonly string[]).includes(r.type));
    await deployment.tofu.writeJson("resources.tf.json", { resource: terraformResources(bridged, program.registrations, schemas, descendantsOf) });
    const notHere = skipped.map((r) => `${r.type} ${r.name}`);
    if (notHere.length > 0) {
      // One line per reason: several components often share one (Grafana's container, image and provisioning).
      const reasons = new Map<string, string[]>();
      for (const c of options.notDeployed) reasons.set(c.why, [...(reasons.get(c.why) ?? []), c.name]);
      const why = [...reasons].map(([reason, names]) => `  ${[...new Set(names)].join(", ")}: ${reason}`).join("\n");
      console.log(`[deploy] ${options.stack}: not deployed here:\n${why}\n resources left out:\n  ${notHere.join("\n  ")}`);
    }
    return deployment;
  }

  registrationsOf(type: string): Registration[] {
    return this.deployed.filter((r) => r.type === type);
  }

  /** `pulumi up`: create or update what changed, then run the commands whose inputs changed. */
  async up(extraApplyArgs: string[] = []): Promise<UpResult> {
    const started = Date.now();
    const apply = await this.tofu.apply(extraApplyArgs);
    const applySeconds = apply.seconds;
    if (apply.exitCode !== 0) {
      const errors = apply.output.split("\n").filter((l) => /Error|error:/.test(l)).slice(0, 8).join("\n");
      return { ok: false, failure: { stage: "apply", resource: "tofu apply", message: `${errors}\n\n${apply.output.slice(-4000)}` }, apply, commands: {}, seconds: { apply: applySeconds, commands: 0, total: (Date.now() - started) / 1000 }, finishedAtMs: Date.now() };
    }
    const commandsStarted = Date.now();
    const commands: Record<string, CommandRun> = {};
    const valueOf = await this.stateResolver();
    for (const command of this.commandsInOrder()) {
      const inputs = mapStrings(command.inputs, (text) => resolveReferences(text, valueOf)) as Record<string, unknown>;
      // As the engine: an unchanged command does not run again; changed triggers replace (re-run) it.
      const fingerprint = JSON.stringify(inputs);
      if (this.lastCommandInputs.get(command.name) === fingerprint) continue;
      try {
        commands[command.name] = await runLocalCommand(command.name, this.withShellEnv(inputs));
        this.lastCommandInputs.set(command.name, fingerprint);
      } catch (error) {
        if (!(error instanceof CommandFailedError)) throw error;
        commands[command.name] = error.run;
        const seconds = { apply: applySeconds, commands: (Date.now() - commandsStarted) / 1000, total: (Date.now() - started) / 1000 };
        return { ok: false, failure: { stage: "command", resource: command.name, message: error.message }, apply, commands, seconds, finishedAtMs: Date.now() };
      }
    }
    return { ok: true, apply, commands, seconds: { apply: applySeconds, commands: (Date.now() - commandsStarted) / 1000, total: (Date.now() - started) / 1000 }, finishedAtMs: Date.now() };
  }

  /** `pulumi up` after the resource was marked for replacement (`pulumi up --replace <urn>`). */
  replace(type: string, name: string): Promise<UpResult> {
    return this.up([`-replace=${terraformAddressString(type, name)}`]);
  }

  /** `pulumi preview --expect-no-changes`: exit code 0 means the deployed resources match the program. */
  plan(): Promise<TofuResult> {
    return this.tofu.plan();
  }

  /** `pulumi destroy`: retained resources leave the state first (what `retainOnDelete` means), then everything else goes. */
  async destroy(): Promise<TofuResult> {
    const retained = this.deployed.filter((r) => r.retainOnDelete && (BRIDGED_DOCKER_TYPES as readonly string[]).includes(r.type));
    await this.tofu.stateRemove(retained.map((r) => terraformAddressString(r.type, r.name)));
    // Commands with a `delete` run once what depends on them is gone: here, after the Docker
    // resources (which are what depend on them), with their inputs as the state held them.
    const valueOf = await this.stateResolver();
    const deletes = this.commandsInOrder()
      .reverse()
      .filter((c) => typeof c.inputs.delete === "string" && this.lastCommandInputs.has(c.name))
      .map((c) => ({ name: c.name, inputs: this.withShellEnv(mapStrings(c.inputs, (text) => resolveReferences(text, valueOf)) as Record<string, unknown>) }));
    const result = await this.tofu.destroy();
    if (result.exitCode !== 0) return result;
    for (const command of deletes) {
      try {
        const run = await runLocalCommand(command.name, command.inputs, "delete");
        console.log(`[deploy] ${this.options.stack}: ${command.name} delete ran in ${run.seconds.toFixed(1)} s`);
      } catch (error) {
        if (!(error instanceof CommandFailedError)) throw error;
        return { ...result, exitCode: error.run.exitCode, output: `${result.output}\n${command.name} delete failed: ${error.message}` };
      }
    }
    return result;
  }

  /**
   * Runs a registered command again with the state's current values, as `pulumi up --replace` on it
   * would; `change` may adjust its registered inputs first (e.g. a shorter deadline).
   */
  async rerunCommand(name: string, change: (inputs: Record<string, unknown>) => Record<string, unknown> = (i) => i): Promise<{ ok: boolean; run: CommandRun; message?: string }> {
    const command = this.registrationsOf(COMMAND_TYPE).find((c) => c.name === name);
    if (!command) throw new Error(`no command ${name} is deployed`);
    const valueOf = await this.stateResolver();
    const inputs = mapStrings(change(command.inputs), (text) => resolveReferences(text, valueOf)) as Record<string, unknown>;
    try {
      return { ok: true, run: await runLocalCommand(name, this.withShellEnv(inputs)) };
    } catch (error) {
      if (!(error instanceof CommandFailedError)) throw error;
      return { ok: false, run: error.run, message: error.message };
    }
  }

  /** A command's inputs with what the user's shell would export (DOCKER_HOST), unless the command sets it. */
  private withShellEnv(inputs: Record<string, unknown>): Record<string, unknown> {
    if (!this.options.dockerHost) return inputs;
    return { ...inputs, environment: { DOCKER_HOST: this.options.dockerHost, ...((inputs.environment ?? {}) as Record<string, string>) } };
  }

  /** Attribute values of a deployed resource in OpenTofu's state. */
  async stateOf(type: string, name: string): Promise<Record<string, unknown> | undefined> {
    return (await this.tofu.stateValues()).get(terraformAddressString(type, name));
  }

  /**
   * Values for references: from OpenTofu's state, or, for a resource this suite does not deploy
   * (e.g. the Grafana container among the verification's triggers), a marker that says so.
   */
  private async stateResolver(): Promise<(type: string, name: string, attribute: string) => unknown> {
    const state = await this.tofu.stateValues();
    const skipped = new Set(this.skipped.filter((r) => (BRIDGED_DOCKER_TYPES as readonly string[]).includes(r.type)).map((r) => terraformAddressString(r.type, r.name)));
    return (type, name, attribute) => (skipped.has(`${type}.${name}`) ? `not-deployed-in-e2e:${type}.${name}.${attribute}` : state.get(`${type}.${name}`)?.[attribute]);
  }

  /** Commands in an order where each runs after every command it depends on. */
  private commandsInOrder(): Registration[] {
    const commands = this.registrationsOf(COMMAND_TYPE);
    const done: Registration[] = [];
    const visit = (c: Registration, path: string[]): void => {
      if (done.includes(c)) return;
      if (path.includes(c.urn)) throw new Error(`dependency cycle through ${c.name}`);
      for (const dep of commands.filter((d) => c.dependencies.includes(d.urn))) visit(dep, [...path, c.urn]);
      done.push(c);
    };
    for (const c of commands) visit(c, []);
    return done;
  }
}
