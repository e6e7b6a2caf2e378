import { stringify } from "yaml";

/**
 * YAML for a config file a container reads. Aliases are off so every block reads on its own
 * (a reviewer should not chase `*a1` to see which key a receiver uses).
 */
export function renderConfigYaml(stackName: string, document: unknown): string {
  const header = `# Rendered by tracing-stack from the stack model for "${stackName}". Do not edit.\n`;
  return header + stringify(document, { aliasDuplicateObjects: false, lineWidth: 0 });
}
