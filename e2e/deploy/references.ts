/**
 * Outputs a bridged resource gets only once it exists (a container's id, an image's id) are handed
 * to the program as references to the Terraform attribute that will hold them. A reference travels
 * through the program like any string (interpolated, put in lists) and becomes `${type.name.attr}`
 * in the Terraform configuration, so OpenTofu orders creation by it as the Pulumi engine would by
 * the output dependency; for local commands it is replaced by the value from OpenTofu's state.
 */
const MARK = "\u0001";
const REFERENCE = new RegExp(`${MARK}tf:([a-z0-9_]+)\\.([A-Za-z0-9_-]+)\\.([a-z0-9_]+)${MARK}`, "g");

export interface TerraformAddress {
  type: string;
  name: string;
}

export function reference(address: TerraformAddress, attribute: string): string {
  return `${MARK}tf:${address.type}.${address.name}.${attribute}${MARK}`;
}

export function hasReference(text: string): boolean {
  return new RegExp(REFERENCE.source).test(text);
}

/**
 * A string as a Terraform JSON string template: literal `${` and `%{` (rendered configs may hold
 * them) are escaped, references become interpolations.
 */
export function toTerraformTemplate(text: string): string {
  // Function replacements: in a replacement string "$$" would itself mean one "$".
  return text.replace(/\$\{/g, () => "$${").replace(/%\{/g, () => "%%{").replace(REFERENCE, (_m, type: string, name: string, attr: string) => `\${${type}.${name}.${attr}}`);
}

/** A string with every reference replaced by the attribute's value from OpenTofu's state. */
export function resolveReferences(text: string, valueOf: (type: string, name: string, attribute: string) => unknown): string {
  return text.replace(REFERENCE, (_m, type: string, name: string, attr: string) => {
    const value = valueOf(type, name, attr);
    if (value === undefined || value === null) throw new Error(`no value for ${type}.${name}.${attr} in the OpenTofu state`);
    return String(value);
  });
}

/** Deep map over every string of a JSON-like value. */
export function mapStrings(value: unknown, fn: (text: string) => string): unknown {
  if (typeof value === "string") return fn(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, fn));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, fn)]));
  return value;
}
