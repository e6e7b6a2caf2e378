import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { StackModel } from "../../model";

export interface VerifierOutcome {
  exitCode: number;
  report: {
    outcome: string;
    diagnoses: Array<{ code: string; message?: string; summary?: string; configKeys?: string[] }>;
    traceIds: string[];
    counters?: { delta: Record<string, number>; required: number };
    lookup: { found?: number; checked?: number; foundTraces: Array<{ traceId: string; spans?: number }> } & Record<string, unknown>;
    timings: { elapsedMs: number };
    tracesCreated?: unknown;
  } & Record<string, unknown>;
  stderr: string;
}

const PROJECT_DIR = join(__dirname, "..", "..");

/** Runs the verifier CLI exactly as the Pulumi post-deploy step does, against the model's host URLs. */
export async function runVerifier(model: StackModel, caPem: string, extra: { traces?: number; deadlineSeconds?: number } = {}): Promise<VerifierOutcome> {
  const caFile = join(tmpdir(), `tracing-stack-${model.stackName}-ca.crt`);
  await writeFile(caFile, caPem);
  const args = [
    join(PROJECT_DIR, "bin", "tracing-stack-verify.js"),
    "--json",
    "--tempo-url", model.hostUrls.tempoApi,
    "--app-url", model.hostUrls.app,
    "--ca-file", caFile,
    "--traces", String(extra.traces ?? model.config.verification.traces),
    "--deadline-seconds", String(extra.deadlineSeconds ?? model.config.verification.deadlineSeconds),
  ];
  return new Promise((resolve) => {
    execFile("node", args, { cwd: PROJECT_DIR, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const exitCode = error ? ((error as { code?: number }).code ?? 70) : 0;
      let report: VerifierOutcome["report"];
      try {
        report = JSON.parse(stdout) as VerifierOutcome["report"];
      } catch {
        throw new Error(`verifier printed no JSON (exit ${exitCode}): ${stdout}\n${stderr}`);
      }
      resolve({ exitCode, report, stderr });
    });
  });
}
