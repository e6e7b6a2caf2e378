/**
 * The e2e suite's closing lines: a run that skipped scenarios for a missing image says so, with the
 * counts and the reason, after node's own summary. Runs the real reporter on a small suite.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { PROJECT_DIR } from "../support/pulumiMocks";

function runWithReporter(suite: string): { status: number | null; lines: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "e2e-reporter-"));
  const file = join(dir, "suite.test.mjs");
  writeFileSync(file, suite);
  // Without NODE_TEST_CONTEXT: inside a test, node would otherwise run the child as one of its own
  // test processes and bypass the reporter.
  const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
  const r = spawnSync(process.execPath, ["--test", `--test-reporter=${join(PROJECT_DIR, "e2e/support/summaryReporter.mjs")}`, "--test-reporter-destination=stdout", file], { encoding: "utf8", env });
  return { status: r.status, lines: r.stdout.trimEnd().split("\n") };
}

describe("the e2e suite says what it did not run", () => {
  it("ends with scenarios run, passed, failed and skipped, and each skip reason once with its count", () => {
    const { status, lines } = runWithReporter(`
import { describe, it } from "node:test";
const needsTempo = { skip: "needs grafana/tempo:2.10.8: not in the local Docker engine" };
describe("a healthy stack", () => {
  it("deploys", needsTempo, () => {});
  it("plans no changes", needsTempo, () => {});
  describe("nested", () => { it("runs without Tempo", () => {}); });
});
it("checks collector configs", () => {});
it("Grafana", { skip: "no Grafana" }, () => {});
`);
    assert.equal(status, 0);
    assert.deepEqual(lines.slice(-4), [
      "e2e scenarios: 5 in the suite, 2 run, 2 passed, 0 failed, 3 skipped",
      "skipped (2): needs grafana/tempo:2.10.8: not in the local Docker engine",
      "skipped (1): no Grafana",
      "e2e: 2 passed, 0 failed, 3 skipped",
    ]);
    assert.ok(lines.some((l) => /✔ deploys|﹣ deploys/.test(l)), "node's spec output comes first");
  });

  it("counts a failed scenario and keeps the run failing", () => {
    const { status, lines } = runWithReporter(`
import { it } from "node:test";
it("passes", () => {});
it("fails", () => { throw new Error("boom"); });
`);
    assert.notEqual(status, 0);
    assert.equal(lines.at(-1), "e2e: 1 passed, 1 failed, 0 skipped");
  });
});
