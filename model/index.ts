import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { buildStackModel } from "./build";
import { parseStackConfig } from "./config";
import { PROJECT_NAME } from "./constants";
import type { StackModel } from "./types";

export { assembleStackModel, buildStackModel, buildTopology } from "./build";
export { PROJECT_NAME, CONTAINER_PORTS } from "./constants";
export { parseStackConfig, imagePinProblem, KNOWN_SETTINGS, COMPONENT_IDS, TEMPO_MODES, TLS_MODES } from "./config";
export type { ObjectStorageConfig, ReplicatedTempoTarget } from "./config";
export { StackConfigError } from "./errors";
export { fileContentFrom, imageKey, imageResourceName, instancesOfComponent, isTempoComponent, publishesPorts, singleInstance, TEMPO_MICROSERVICES, TEMPO_MICROSERVICE_IDS } from "./services";
export type { TlsMaterialSource } from "./services";
export type { ConfigProblem } from "./errors";
export * from "./types";

/**
 * Settings of one stack file (`Pulumi.<stack>.yaml`) under the project namespace, without the
 * prefix. Secure values stay opaque: the model never needs them.
 */
export function projectSettingsFromStackFile(stackFileText: string): Record<string, unknown> {
  const doc = (parse(stackFileText) ?? {}) as { config?: Record<string, unknown> };
  const settings: Record<string, unknown> = {};
  for (const [fullKey, value] of Object.entries(doc.config ?? {})) {
    const prefix = `${PROJECT_NAME}:`;
    if (fullKey.startsWith(prefix)) settings[fullKey.slice(prefix.length)] = value;
  }
  return settings;
}

/** The model of a stack as `pulumi up` would build it, read straight from its stack file. */
export function loadStackModelFromFile(stack: string, projectDir: string): StackModel {
  const text = readFileSync(join(projectDir, `Pulumi.${stack}.yaml`), "utf8");
  return buildStackModel(parseStackConfig(stack, projectSettingsFromStackFile(text)));
}
