import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export const PROJECT_DIR = join(__dirname, "..", "..");

export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

/** A registration as the engine receives it: who its parent is and what it waits for. */
export interface Registration {
  type: string;
  name: string;
  urn: string;
  parentUrn?: string;
  /** URNs of the resources this one depends on (explicit dependsOn and its inputs' sources). */
  dependencies: string[];
}

/** A PEM-looking value that names what it stands for, so tests can see which one reached a file. */
export const fakePem = (kind: string, name: string): string => `-----BEGIN ${kind}-----\nfake-${name}\n-----END ${kind}-----\n`;

/** The verifier's report as the command would print it on a verified stack. */
export const VERIFIED_REPORT = { outcome: "verified", summary: "verified: 10 traces sent, tempo_ingester_traces_created_total +10, 10 of 10 looked up found, in 4.2 s", tracesSent: 10 };

/** Mocks answering like the real providers would, enough for every output the program reads. */
function mocks(recorded: RecordedResource[]): pulumi.runtime.Mocks {
  return {
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
      recorded.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> });
      const state: Record<string, unknown> = { ...args.inputs };
      switch (args.type) {
        case "tls:index/privateKey:PrivateKey":
          state.privateKeyPem = fakePem("PRIVATE KEY", args.name);
          break;
        case "tls:index/selfSignedCert:SelfSignedCert":
          state.certPem = fakePem("CERTIFICATE", args.name);
          break;
        case "tls:index/certRequest:CertRequest":
          state.certRequestPem = fakePem("CERTIFICATE REQUEST", args.name);
          break;
        case "tls:index/locallySignedCert:LocallySignedCert":
          state.certPem = fakePem("CERTIFICATE", args.name);
          break;
        case "random:index/randomPassword:RandomPassword":
          state.result = "generated-password-for-tests";
          break;
        case "docker:index/remoteImage:RemoteImage":
          state.imageId = `sha256:${args.name}`;
          break;
        case "docker:index/image:Image":
          state.repoDigest = `sha256:built-${args.name}`;
          break;
        case "grafana:oss/dashboard:Dashboard":
          state.url = `https://grafana.example/d/${args.name}`;
          state.uid = args.name;
          break;
        case "command:local:Command":
          state.stdout = JSON.stringify(VERIFIED_REPORT);
          break;
      }
      return { id: `${args.name}-id`, state };
    },
    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
      return args.inputs as Record<string, unknown>;
    },
  };
}

/** Stack files shipped with the project, by stack name. */
export function stackFiles(): string[] {
  const { readdirSync } = require("node:fs") as typeof import("node:fs");
  return readdirSync(PROJECT_DIR)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** Config as the Pulumi CLI hands it to a program: every value a string, objects as JSON. */
export function stackConfigFromFile(stack: string): Record<string, string> {
  const doc = parse(readFileSync(join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> };
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    config[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return config;
}

export interface ProgramRun {
  resources: RecordedResource[];
  registrations: Registration[];
  outputs: Record<string, unknown>;
  secretOutputs: Set<string>;
}

async function settle(output: pulumi.Output<unknown>): Promise<{ value: unknown; secret: boolean }> {
  const internal = output as unknown as { promise(): Promise<unknown>; isSecret: Promise<boolean> };
  return { value: await internal.promise(), secret: await internal.isSecret };
}

/**
 * Runs the program for one stack under mocks and waits for every output, which waits for every
 * resource the outputs depend on (the verification depends on all containers).
 */
export async function runProgram(
  stack: string,
  config: Record<string, string> = stackConfigFromFile(stack),
  secretKeys: string[] = [],
  resources: RecordedResource[] = [],
): Promise<ProgramRun> {
  pulumi.runtime.setAllConfig(config, secretKeys);
  await pulumi.runtime.setMocks(mocks(resources), "tracing-stack", stack, false);
  const registrations = captureRegistrations();
  // Loaded after the mocks are set, as the Pulumi testing guide prescribes.
  const { deployStack } = require("../../program") as typeof import("../../program");
  const result = deployStack(PROJECT_DIR) as unknown as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  const secretOutputs = new Set<string>();
  for (const [name, value] of Object.entries(result)) {
    if (pulumi.Output.isInstance(value)) {
      const settled = await settle(value);
      outputs[name] = settled.value;
      if (settled.secret) secretOutputs.add(name);
    } else {
      outputs[name] = value;
    }
  }
  // Let registrations still in flight (component outputs) finish before the next run resets the mocks.
  await pulumi.runtime.disconnect();
  return { resources, registrations, outputs, secretOutputs };
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
}
type RegisterCallback = (error: Error | null, response?: { getUrn(): string }) => void;

/** Records each registration's parent and dependencies from the request the engine would get. */
function captureRegistrations(): Registration[] {
  const registrations: Registration[] = [];
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: RegisterRequest, callback: RegisterCallback): void };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    register(req, (error, response) => {
      if (!error && response) {
        registrations.push({
          type: req.getType(),
          name: req.getName(),
          urn: response.getUrn(),
          ...(req.getParent() ? { parentUrn: req.getParent() } : {}),
          dependencies: req.getDependenciesList(),
        });
      }
      callback(error, response);
    });
  };
  return registrations;
}

/**
 * The resources of `type` a registration waits for before it is created, as the engine schedules
 * it: its own and its ancestors' dependencies, a component standing for every resource inside it.
 */
export function waitsFor(run: ProgramRun, registration: Registration, type: string): string[] {
  const byUrn = new Map(run.registrations.map((r) => [r.urn, r]));
  const inside = (urn: string): Registration[] => run.registrations.filter((r) => r.parentUrn === urn).flatMap((r) => [r, ...inside(r.urn)]);
  const urns: string[] = [];
  for (let r: Registration | undefined = registration; r; r = r.parentUrn ? byUrn.get(r.parentUrn) : undefined) urns.push(...r.dependencies);
  const names = new Set<string>();
  for (const urn of urns) {
    const dep = byUrn.get(urn);
    for (const target of [...(dep ? [dep] : []), ...inside(urn)]) if (target.type === type) names.add(target.name);
  }
  return [...names].sort();
}

export function ofType(run: ProgramRun, type: string): RecordedResource[] {
  return run.resources.filter((r) => r.type === type);
}
