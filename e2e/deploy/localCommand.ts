/**
 * Runs a registered `command:local:Command` as pulumi-command 1.2 does (provider/pkg/provider/local):
 * `/bin/sh -c <create>` (or `interpreter`), in `dir`, with the parent environment plus `environment`;
 * stdout and stderr captured as outputs (one trailing newline trimmed); the lines `logging` streams
 * (default both) are what `pulumi up` shows while it runs; a non-zero exit fails the deployment with
 * `exit status N: running "<command>":\n<stdout and stderr as they came>`.
 */
import { spawn } from "node:child_process";

const KNOWN = ["create", "update", "delete", "dir", "environment", "triggers", "logging", "interpreter", "stdin", "addPreviousOutputInEnv"];
const LOGGING = ["stdout", "stderr", "stdoutAndStderr", "none"] as const;
type Logging = (typeof LOGGING)[number];

export interface CommandRun {
  stdout: string;
  stderr: string;
  /** Lines `pulumi up` streams as the command's progress, given its `logging`. */
  shownWhileRunning: string[];
  exitCode: number;
  seconds: number;
}

export class CommandFailedError extends Error {
  constructor(
    message: string,
    readonly run: CommandRun,
  ) {
    super(message);
  }
}

export async function runLocalCommand(name: string, inputs: Record<string, unknown>, which: "create" | "delete" = "create"): Promise<CommandRun> {
  const unknown = Object.keys(inputs).filter((k) => !KNOWN.includes(k) && inputs[k] !== undefined);
  if (unknown.length > 0) throw new Error(`command:local:Command ${name}: input(s) ${unknown.join(", ")} not implemented by e2e/deploy/localCommand.ts`);
  const command = inputs[which];
  if (typeof command !== "string" || command === "") throw new Error(`command:local:Command ${name} has no ${which} command`);
  const logging = (inputs.logging ?? "stdoutAndStderr") as Logging;
  if (!LOGGING.includes(logging)) throw new Error(`command:local:Command ${name}: logging "${String(logging)}" is not one of ${LOGGING.join(", ")}`);
  const argv = Array.isArray(inputs.interpreter) && inputs.interpreter.length > 0 ? [...(inputs.interpreter as string[]), command] : ["/bin/sh", "-c", command];
  const env: Record<string, string> = { ...(process.env as Record<string, string>), ...((inputs.environment ?? {}) as Record<string, string>) };

  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: typeof inputs.dir === "string" ? inputs.dir : process.cwd(), env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let combined = "";
    const shown: string[] = [];
    const partial = { stdout: "", stderr: "" };
    const stream = (which: "stdout" | "stderr", chunk: string): void => {
      const shows = which === "stdout" ? logging === "stdout" || logging === "stdoutAndStderr" : logging === "stderr" || logging === "stdoutAndStderr";
      if (!shows) return;
      const lines = (partial[which] + chunk).split("\n");
      partial[which] = lines.pop() ?? "";
      shown.push(...lines);
    };
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      combined += d.toString();
      stream("stdout", d.toString());
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      combined += d.toString();
      stream("stderr", d.toString());
    });
    child.on("error", reject);
    child.stdin.end(typeof inputs.stdin === "string" ? inputs.stdin : undefined);
    child.on("close", (code) => {
      for (const rest of [partial.stdout, partial.stderr]) if (rest) shown.push(rest);
      const run: CommandRun = { stdout: stdout.replace(/\n$/, ""), stderr: stderr.replace(/\n$/, ""), shownWhileRunning: shown, exitCode: code ?? 1, seconds: (Date.now() - started) / 1000 };
      if (run.exitCode !== 0) reject(new CommandFailedError(`exit status ${run.exitCode}: running ${JSON.stringify(command)}:\n${combined}`, run));
      else resolve(run);
    });
  });
}
