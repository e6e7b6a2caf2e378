/**
 * Runs the program itself (`index.ts` -> `program.ts`) for one stack under the SDK's mocks and
 * records every registration as the Pulumi engine receives it: type, name, URN, parent, the
 * resources it depends on (explicit `dependsOn`, expanded through components, and those its inputs
 * come from), `retainOnDelete`, and its inputs. The mocks (see realValueMocks.ts) answer with real
 * values, so what is recorded is what a real `pulumi up` would hand its providers.
 */
import * as pulumi from "@pulumi/pulumi";
import { join } from "node:path";
import { realValueMocks, type InputAlteration } from "./realValueMocks";
import { isSecret, unwrapSecrets } from "./secrets";

export const PROJECT_DIR = join(__dirname, "..", "..");
const PROJECT_NAME = "tracing-stack";

export interface Registration {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  parentUrn?: string;
  /** URNs of the resources this one waits for, as the engine gets them. */
  dependencies: string[];
  retainOnDelete: boolean;
  /** Replaced by deleting first (`deleteBeforeReplace`); otherwise the engine creates the replacement first. */
  deleteBeforeReplace: boolean;
  /** Inputs with secrets unwrapped (the engine hands providers plain values too). */
  inputs: Record<string, unknown>;
  /** Top-level input names that were Pulumi secrets. */
  secretInputs: string[];
  /** What the mock answered: outputs the program saw. */
  state: Record<string, unknown>;
}

export interface RecordedProgram {
  stack: string;
  registrations: Registration[];
  /** The program's stack outputs, settled. */
  outputs: Record<string, unknown>;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getDependenciesList(): string[];
  hasRetainondelete?(): boolean;
  getRetainondelete?(): boolean;
  getDeletebeforereplace?(): boolean;
}
interface RegisterResponse {
  getUrn(): string;
}
type RegisterCallback = (error: Error | null, response?: RegisterResponse) => void;
interface MonitorWithRegister {
  registerResource(req: RegisterRequest, callback: RegisterCallback): void;
}

/**
 * Runs index.ts for `stack` with `config` (as the CLI hands config to a program: strings, objects as
 * JSON). `alter` may change a resource's inputs before it is created, to deploy a deliberately broken
 * variant of what the program registers.
 */
export async function recordProgram(
  stack: string,
  config: Record<string, string>,
  secretKeys: string[] = [],
  alter?: InputAlteration,
  previous?: { program: RecordedProgram; renewalAt: number },
): Promise<RecordedProgram> {
  const registrations: Registration[] = [];
  const pending = new Map<string, Omit<Registration, "urn">>();
  pulumi.runtime.setAllConfig(config, secretKeys);
  await pulumi.runtime.setMocks(
    realValueMocks({
      alter,
      ...(previous ? { previous: { states: new Map(previous.program.registrations.map((r) => [`${r.type}::${r.name}`, { inputs: r.inputs, state: r.state }])), renewalAt: previous.renewalAt } } : {}),
      onNewResource: (type, name, rawInputs, inputs, state) => {
        const secretInputs = Object.entries(rawInputs).filter(([, v]) => isSecret(v)).map(([k]) => k);
        pending.set(`${type}::${name}`, { type, name, custom: true, dependencies: [], retainOnDelete: false, deleteBeforeReplace: false, inputs, secretInputs, state });
      },
    }),
    PROJECT_NAME,
    stack,
    false,
  );

  // Capture the engine's view of each registration (dependencies, parent, options) from the request.
  const monitor = pulumi.runtime.getMonitor() as unknown as MonitorWithRegister;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    register(req, (error, response) => {
      if (!error && response) {
        const key = `${req.getType()}::${req.getName()}`;
        const seen = pending.get(key);
        registrations.push({
          ...(seen ?? { type: req.getType(), name: req.getName(), inputs: {}, secretInputs: [], state: {} }),
          urn: response.getUrn(),
          custom: req.getCustom(),
          ...(req.getParent() ? { parentUrn: req.getParent() } : {}),
          dependencies: req.getDependenciesList(),
          retainOnDelete: req.hasRetainondelete?.() === true && req.getRetainondelete?.() === true,
          deleteBeforeReplace: req.getDeletebeforereplace?.() === true,
        });
      }
      callback(error, response);
    });
  };

  // index.ts deploys on import: load it anew for every run, after the mocks are set.
  const indexPath = require.resolve(join(PROJECT_DIR, "index.ts"));
  delete require.cache[indexPath];
  const program = require(indexPath) as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(program)) {
    outputs[name] = pulumi.Output.isInstance(value) ? unwrapSecrets(await (value as unknown as { promise(): Promise<unknown> }).promise()) : value;
  }
  // Registrations still in flight (component outputs) finish before the next run resets the mocks.
  await pulumi.runtime.disconnect();
  return { stack, registrations, outputs };
}
