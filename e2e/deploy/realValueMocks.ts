/**
 * Pulumi mocks that answer with REAL values, so the program's registrations are what a real
 * deployment would send its providers:
 * - `tls:*` and `random:*`: real keys, certificates and passwords from the registered inputs;
 * - `docker:index/image:Image` (native to @pulumi/docker): built with the engine, real image id;
 * - bridged `docker:*`: created later by OpenTofu with the real provider; until then each output is
 *   a reference to its Terraform attribute (see references.ts);
 * - `command:local:Command`: run later, after what it depends on exists (localCommand.ts);
 * - Grafana: recorded only; no Grafana runs on these machines.
 * Any other custom resource type is an error: a new provider must not be skipped silently.
 */
import type * as pulumi from "@pulumi/pulumi";
import { buildNativeImage } from "./nativeDockerImage";
import { RANDOM_RESOURCE_TYPES } from "./randomResources";
import { reference } from "./references";
import { unwrapSecrets } from "./secrets";
import { BRIDGED_DOCKER_TYPES, snakeCase, terraformAddress } from "./terraformNames";
import { TLS_RESOURCE_TYPES } from "./tlsResources";

type Inputs = Record<string, unknown>;

/** Changes a resource's inputs before it is created (to deploy deliberately broken variants). */
export type InputAlteration = (resource: { type: string; name: string; inputs: Inputs }) => Inputs;

/** Outputs the Terraform Docker provider computes that the program may read, by type. */
const COMPUTED_DOCKER_OUTPUTS: Record<string, string[]> = {
  "docker:index/remoteImage:RemoteImage": ["imageId", "repoDigest"],
  "docker:index/container:Container": ["hostname", "bridge"],
  "docker:index/network:Network": ["scope"],
  "docker:index/volume:Volume": ["mountpoint"],
};

const RECORDED_ONLY = [/^grafana:/, /^pulumi:providers:grafana$/];

/** What the engine kept from an earlier `up`: a resource's inputs and state, by `type::name`. */
export type PreviousStates = Map<string, { inputs: Inputs; state: Inputs }>;

export interface RealValueMocksOptions {
  alter?: InputAlteration;
  /**
   * A later `pulumi up` of the same stack: TLS and random resources whose inputs did not change keep
   * their state, as the engine keeps them, except certificates due for renewal at `renewalAt`.
   */
  previous?: { states: PreviousStates; renewalAt: number };
  onNewResource(type: string, name: string, rawInputs: Inputs, inputs: Inputs, state: Inputs): void;
}

async function answer(type: string, name: string, inputs: Inputs, custom: boolean): Promise<{ id: string | undefined; state: Inputs }> {
  const tls = TLS_RESOURCE_TYPES[type];
  if (tls) return { id: `${name}-id`, state: await tls(name, inputs) };
  const random = RANDOM_RESOURCE_TYPES[type];
  if (random) return { id: `${name}-id`, state: random(name, inputs) };
  if (type === "docker:index/image:Image") return buildNativeImage(name, inputs);
  if ((BRIDGED_DOCKER_TYPES as readonly string[]).includes(type)) {
    const address = terraformAddress(type, name);
    const state: Inputs = { ...inputs };
    // Every string the program could pass on becomes a reference, so whoever uses it waits for it.
    for (const [key, value] of Object.entries(inputs)) if (typeof value === "string") state[key] = reference(address, snakeCase(key));
    for (const key of COMPUTED_DOCKER_OUTPUTS[type] ?? []) state[key] = reference(address, snakeCase(key));
    return { id: reference(address, "id"), state };
  }
  if (type === "command:local:Command") return { id: `${name}-id`, state: { ...inputs, stdout: "", stderr: "" } };
  if (!custom || RECORDED_ONLY.some((re) => re.test(type))) {
    const state: Inputs = { ...inputs };
    if (type === "grafana:oss/dashboard:Dashboard") state.url = `grafana-not-deployed-in-e2e/${name}`;
    return { id: custom ? `${name}-id` : undefined, state };
  }
  throw new Error(`resource type ${type} (${name}) has no real-value mock in e2e/deploy/realValueMocks.ts: add one rather than skipping it`);
}

const KEPT_TYPES = [...Object.keys(TLS_RESOURCE_TYPES), ...Object.keys(RANDOM_RESOURCE_TYPES)];
const CERTIFICATE_TYPES = ["tls:index/selfSignedCert:SelfSignedCert", "tls:index/locallySignedCert:LocallySignedCert"];

/**
 * The state an unchanged resource keeps on a later `up`, or undefined when the provider would make
 * it anew: changed inputs, or (terraform-provider-tls ModifyPlan) a certificate whose
 * validity end minus earlyRenewalHours has passed.
 */
function keptState(type: string, name: string, inputs: Inputs, previous: RealValueMocksOptions["previous"]): Inputs | undefined {
  if (!previous || !KEPT_TYPES.includes(type)) return undefined;
  const before = previous.states.get(`${type}::${name}`);
  if (!before || JSON.stringify(before.inputs) !== JSON.stringify(inputs)) return undefined;
  if (CERTIFICATE_TYPES.includes(type)) {
    const end = Date.parse(String(before.state.validityEndTime));
    const renewalAt = end - Number(inputs.earlyRenewalHours ?? 0) * 3600_000;
    if (renewalAt <= previous.renewalAt) return undefined;
  }
  return before.state;
}

export function realValueMocks(options: RealValueMocksOptions): pulumi.runtime.Mocks {
  return {
    async newResource(args: pulumi.runtime.MockResourceArgs): Promise<{ id: string | undefined; state: Inputs }> {
      const raw = args.inputs as Inputs;
      let inputs = unwrapSecrets(raw) as Inputs;
      if (options.alter) inputs = options.alter({ type: args.type, name: args.name, inputs });
      const kept = keptState(args.type, args.name, inputs, options.previous);
      const result = kept ? { id: `${args.name}-id`, state: kept } : await answer(args.type, args.name, inputs, args.custom !== false);
      options.onNewResource(args.type, args.name, raw, inputs, result.state);
      return result;
    },
    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
      throw new Error(`the program invoked ${args.token}; the e2e deployment has no real-value mock for invokes`);
    },
  };
}
