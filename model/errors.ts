/**
 * One problem with the stack configuration: the setting at fault and what to set instead.
 * Problems are collected, not thrown one by one, so a user fixes a bad stack file in one pass.
 */
export interface ConfigProblem {
  /** Full Pulumi config key, e.g. `tracing-stack:hostPorts.grafana`. */
  setting: string;
  message: string;
  fix: string;
}

export class StackConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(stackName: string, problems: readonly ConfigProblem[]) {
    const lines = problems.map((p) => `  - ${p.setting}: ${p.message} Fix: ${p.fix}`);
    super(
      `Stack "${stackName}" has ${problems.length} configuration problem(s); nothing was created:\n${lines.join("\n")}`,
    );
    this.name = "StackConfigError";
    this.problems = problems;
  }
}
