/**
 * Deploying the program's own resources for the e2e suite and the benchmark: one stack at a time
 * through StackDeployment (OpenTofu + the real Docker provider), with the daemon's container events
 * watched, and a deliberately altered upload where a scenario needs one.
 */
import { join } from "node:path";
import { StackDeployment, type UpResult } from "../deploy/stackDeployment";
import type { InputAlteration } from "../deploy/realValueMocks";
import type { TofuTools } from "../deploy/tofu";
import { docker, removeByPrefix, watchContainerEvents, type ContainerTimes } from "./docker";
import { cliConfig, E2E_STACK, NOT_DEPLOYED, PROJECT_DIR, type Settings } from "./e2eStack";

const CONTAINER = "docker:index/container:Container";

export interface Upload {
  file: string;
  content: string;
  permissions?: string;
  owner?: string;
  group?: string;
}

/** Replaces the content of one registered upload of one container: a deliberately changed variant. */
export function replaceUpload(container: string, file: string, content: string): InputAlteration {
  return ({ type, name, inputs }) => {
    if (type !== CONTAINER || name !== container) return inputs;
    const uploads = inputs.uploads as Upload[];
    if (!uploads.some((u) => u.file === file)) throw new Error(`${container} has no upload ${file}`);
    return { ...inputs, uploads: uploads.map((u) => (u.file === file ? { ...u, content } : u)) };
  };
}

/** Several alterations applied in order. */
export function alterations(...all: InputAlteration[]): InputAlteration {
  return (registration) => all.reduce((inputs, alter) => alter({ ...registration, inputs }), registration.inputs);
}

export interface DeployOptions {
  tools: TofuTools;
  alter?: InputAlteration;
  stack?: string;
  notDeployed?: typeof NOT_DEPLOYED;
  /** DOCKER_HOST of the engine to deploy to (a swarm manager); default the local engine. */
  dockerHost?: string;
}

/** Removes what an earlier run left under the stack's prefix, then `pulumi up` with the settings. */
export async function deployStack(label: string, settings: Settings, options: DeployOptions): Promise<{ deployment: StackDeployment; up: UpResult; containerTimes: ContainerTimes[] }> {
  const stack = options.stack ?? E2E_STACK;
  await removeByPrefix(`${stack}-`);
  const deployment = await StackDeployment.prepare({
    stack,
    config: cliConfig(settings),
    notDeployed: options.notDeployed ?? NOT_DEPLOYED,
    tools: options.tools,
    alter: options.alter,
    workDir: join(PROJECT_DIR, "e2e", ".work", label),
    ...(options.dockerHost ? { dockerHost: options.dockerHost } : {}),
  });
  const events = watchContainerEvents(`${stack}-`);
  const up = await deployment.up();
  return { deployment, up, containerTimes: await events.stop() };
}

/**
 * `pulumi destroy`, then what is left on the engine under the stack's prefix (`container NAME`,
 * `network NAME`, `volume NAME`): empty when the destroy left nothing. Throws when destroy fails.
 */
export async function destroyAndListLeft(deployment: StackDeployment, stack: string): Promise<string[]> {
  const result = await deployment.destroy();
  if (result.exitCode !== 0) throw new Error(`destroy of ${stack} failed (exit ${result.exitCode}):\n${result.output.slice(-3000)}`);
  return [
    ...(await docker(["ps", "-a", "--format", "container {{.Names}}", "--filter", `name=^${stack}-`])).split("\n"),
    ...(await docker(["network", "ls", "--format", "network {{.Name}}", "--filter", `name=^${stack}-`])).split("\n"),
    ...(await docker(["volume", "ls", "--format", "volume {{.Name}}", "--filter", `name=^${stack}-`])).split("\n"),
  ].filter(Boolean);
}
