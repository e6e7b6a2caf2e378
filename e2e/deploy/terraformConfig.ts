/**
 * The program's bridged docker:* registrations as a Terraform JSON configuration for the real
 * Docker provider. Property names map mechanically, as pulumi-terraform-bridge maps them: camelCase
 * to snake_case, and plural list names to singular blocks (`uploads` -> `upload`, `envs` -> `env`,
 * `healthcheck.tests` -> `test`). Every mapped name is checked against the provider's own schema
 * (`tofu providers schema -json`); an input that maps to nothing is an error, never dropped.
 */
import { toTerraformTemplate } from "./references";
import type { Registration } from "./recordProgram";
import type { TerraformSchemaBlock } from "./tofu";
import { snakeCase, terraformAddress, terraformAddressString } from "./terraformNames";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type CtyType = string | [string, unknown];

export class UnmappedInputError extends Error {}

/** Terraform names a Pulumi property may stand for, most likely first. */
function candidateNames(pulumiName: string): string[] {
  const snake = snakeCase(pulumiName);
  const names = [snake];
  if (snake.endsWith("es")) names.push(snake.slice(0, -2));
  if (snake.endsWith("s")) names.push(snake.slice(0, -1));
  return names;
}

function convertTyped(value: unknown, type: CtyType, path: string): Json {
  if (value === undefined || value === null) return null;
  if (typeof type === "string") {
    if (type === "string") {
      if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") throw new UnmappedInputError(`${path}: expected a string, got ${JSON.stringify(value)}`);
      return toTerraformTemplate(String(value));
    }
    if (type === "number" || type === "bool") return value as Json;
    if (type === "dynamic") return convertUntyped(value);
    throw new UnmappedInputError(`${path}: unsupported schema type ${type}`);
  }
  const [kind, inner] = type;
  if (kind === "list" || kind === "set") {
    if (!Array.isArray(value)) throw new UnmappedInputError(`${path}: expected a list`);
    return value.map((v, i) => convertTyped(v, inner as CtyType, `${path}[${i}]`));
  }
  if (kind === "map") {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, convertTyped(v, inner as CtyType, `${path}.${k}`)]));
  }
  if (kind === "object") {
    const fields = inner as Record<string, CtyType>;
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined || v === null) continue;
      const name = candidateNames(k).find((n) => n in fields);
      if (!name) throw new UnmappedInputError(`${path}.${k}: no attribute of that name in the provider's schema (tried ${candidateNames(k).join(", ")})`);
      out[name] = convertTyped(v, fields[name]!, `${path}.${k}`);
    }
    return out;
  }
  throw new UnmappedInputError(`${path}: unsupported schema type ${JSON.stringify(type)}`);
}

function convertUntyped(value: unknown): Json {
  if (typeof value === "string") return toTerraformTemplate(value);
  if (Array.isArray(value)) return value.map(convertUntyped);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convertUntyped(v)]));
  return value as Json;
}

/** Pulumi inputs of one resource (or nested block) -> Terraform JSON, checked against the schema. */
export function convertBlock(inputs: Record<string, unknown>, block: TerraformSchemaBlock, path: string): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(inputs)) {
    if (value === undefined || value === null) continue;
    const names = candidateNames(key);
    const attrName = names.find((n) => block.attributes?.[n]);
    if (attrName) {
      const attr = block.attributes![attrName]!;
      if (!attr.optional && !attr.required) throw new UnmappedInputError(`${path}.${key}: ${attrName} is computed by the provider and cannot be set`);
      out[attrName] = convertTyped(value, attr.type as CtyType, `${path}.${key}`);
      continue;
    }
    const blockName = names.find((n) => block.block_types?.[n]);
    if (blockName) {
      const nested = block.block_types![blockName]!;
      const items = Array.isArray(value) ? value : [value]; // Pulumi flattens max-one blocks to an object
      if (nested.nesting_mode === "single") {
        if (items.length !== 1) throw new UnmappedInputError(`${path}.${key}: ${blockName} is a single block`);
        out[blockName] = convertBlock(items[0] as Record<string, unknown>, nested.block, `${path}.${key}`);
      } else {
        if (nested.max_items !== undefined && items.length > nested.max_items) throw new UnmappedInputError(`${path}.${key}: at most ${nested.max_items} ${blockName} block(s)`);
        out[blockName] = items.map((item, i) => convertBlock(item as Record<string, unknown>, nested.block, `${path}.${key}[${i}]`));
      }
      continue;
    }
    throw new UnmappedInputError(`${path}.${key}: maps to nothing in the provider's schema (tried ${names.join(", ")}); map it in e2e/deploy/terraformConfig.ts rather than dropping it`);
  }
  return out;
}

/**
 * The Terraform resources for `registrations` (bridged docker:* ones only), with `depends_on` for
 * every dependency the engine would wait for that is itself created by OpenTofu. `all` holds every
 * registration (components too), to follow parents.
 */
export function terraformResources(
  registrations: Registration[],
  all: Registration[],
  schemas: Record<string, { block: TerraformSchemaBlock }>,
  descendantsOf: (urn: string) => Registration[],
): Record<string, Record<string, Record<string, Json>>> {
  const byUrn = new Map(all.map((r) => [r.urn, r]));
  const resources: Record<string, Record<string, Record<string, Json>>> = {};
  for (const reg of registrations) {
    const address = terraformAddress(reg.type, reg.name);
    const schema = schemas[address.type];
    if (!schema) throw new UnmappedInputError(`${reg.type} maps to ${address.type}, which the provider does not have`);
    const body = convertBlock(reg.inputs, schema.block, `${address.type}.${address.name}`);
    const dependsOn = new Set<string>();
    // A child registers only after its parent has (the SDK awaits parent.urn), and a component's
    // registration waits for its own dependsOn: so a resource waits for its ancestors' dependencies too.
    const inherited: string[] = [];
    for (let p = reg.parentUrn ? byUrn.get(reg.parentUrn) : undefined; p; p = p.parentUrn ? byUrn.get(p.parentUrn) : undefined) inherited.push(...p.dependencies);
    for (const urn of [...reg.dependencies, ...inherited]) {
      const dep = byUrn.get(urn);
      const targets = dep ? (dep.custom ? [dep] : descendantsOf(dep.urn).filter((d) => d.custom)) : descendantsOf(urn).filter((d) => d.custom);
      for (const target of targets) {
        if (!registrations.includes(target)) continue; // created outside OpenTofu (PKI, built image) or not deployed here
        dependsOn.add(terraformAddressString(target.type, target.name));
      }
    }
    if (dependsOn.size > 0) body.depends_on = [...dependsOn].sort();
    // The Pulumi engine replaces a resource by creating the new one first, unless it is marked
    // deleteBeforeReplace (OpenTofu's default is the reverse): content-named Swarm secrets and
    // configs must exist before the service that mounts them is updated, and go after.
    if (!reg.deleteBeforeReplace) body.lifecycle = { create_before_destroy: true };
    resources[address.type] ??= {};
    if (resources[address.type]![address.name]) throw new UnmappedInputError(`two resources map to ${address.type}.${address.name}`);
    resources[address.type]![address.name] = body;
  }
  return resources;
}
