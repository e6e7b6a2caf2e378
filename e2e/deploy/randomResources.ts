/**
 * Real values for the program's `random:*` resources, from their registered inputs, following
 * hashicorp/terraform-provider-random's string generation: character classes on by default,
 * `min*` counts honoured, default special set `!@#$%&*()-_=+[]{}<>:?`, crypto-grade randomness.
 */
import { randomInt } from "node:crypto";

type Inputs = Record<string, unknown>;

const CLASSES = {
  upper: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
  lower: "abcdefghijklmnopqrstuvwxyz",
  numeric: "0123456789",
  special: "!@#$%&*()-_=+[]{}<>:?",
} as const;
type ClassName = keyof typeof CLASSES;

const KNOWN = ["length", "upper", "lower", "numeric", "special", "minUpper", "minLower", "minNumeric", "minSpecial", "overrideSpecial", "keepers"];

function randomPassword(name: string, inputs: Inputs): Record<string, unknown> {
  const unknown = Object.keys(inputs).filter((k) => !KNOWN.includes(k) && inputs[k] !== undefined);
  if (unknown.length > 0) throw new Error(`random RandomPassword ${name}: input(s) ${unknown.join(", ")} not implemented by the e2e double (e2e/deploy/randomResources.ts)`);
  const length = Number(inputs.length);
  if (!Number.isInteger(length) || length < 1) throw new Error(`random RandomPassword ${name}: length must be a positive integer`);
  const minimum: Record<ClassName, number> = { upper: Number(inputs.minUpper ?? 0), lower: Number(inputs.minLower ?? 0), numeric: Number(inputs.minNumeric ?? 0), special: Number(inputs.minSpecial ?? 0) };
  const chars: Record<ClassName, string> = { ...CLASSES, special: String(inputs.overrideSpecial ?? CLASSES.special) };
  const enabled = (Object.keys(CLASSES) as ClassName[]).filter((c) => inputs[c] !== false);
  if (enabled.length === 0) throw new Error(`random RandomPassword ${name}: every character class is off`);
  const picked: string[] = [];
  for (const c of enabled) for (let i = 0; i < minimum[c]; i++) picked.push(chars[c][randomInt(chars[c].length)]!);
  const pool = enabled.map((c) => chars[c]).join("");
  while (picked.length < length) picked.push(pool[randomInt(pool.length)]!);
  for (let i = picked.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [picked[i], picked[j]] = [picked[j]!, picked[i]!];
  }
  return { ...inputs, result: picked.join("") };
}

export const RANDOM_RESOURCE_TYPES: Record<string, (name: string, inputs: Inputs) => Record<string, unknown>> = {
  "random:index/randomPassword:RandomPassword": randomPassword,
};
