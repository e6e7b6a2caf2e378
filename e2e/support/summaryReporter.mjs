// The e2e suite's reporter: node's spec output, then closing lines that say what the run did not
// run. A suite that skips scenarios for a missing image must not read like a full pass:
//
//   e2e scenarios: 21 in the suite, 9 run, 9 passed, 0 failed, 12 skipped
//   skipped (11): needs grafana/tempo:2.10.8: not in the local Docker engine, ... Provide it: ...
//   skipped (1): no Grafana 12.3.1 image ...
//   e2e: 9 passed, 0 failed, 12 skipped
//
// Plain JavaScript: node loads reporters before `--import tsx` can teach it TypeScript.
// Used as `--test-reporter=./e2e/support/summaryReporter.mjs --test-reporter-destination=stdout`.
import { once } from "node:events";
import { spec } from "node:test/reporters";

/** Counts one test:pass / test:fail event of a scenario (suites are not scenarios). */
export function countScenario(counts, event) {
  if (event.type !== "test:pass" && event.type !== "test:fail") return;
  if (event.data.details?.type === "suite") return;
  if (event.type === "test:fail") counts.failed += 1;
  else if (event.data.skip !== undefined && event.data.skip !== false) {
    const reason = typeof event.data.skip === "string" ? event.data.skip : "skipped without a reason";
    counts.skipped.set(reason, (counts.skipped.get(reason) ?? 0) + 1);
  } else counts.passed += 1;
}

export function summaryLines(counts) {
  const skipped = [...counts.skipped.values()].reduce((a, b) => a + b, 0);
  const run = counts.passed + counts.failed;
  return [
    `e2e scenarios: ${run + skipped} in the suite, ${run} run, ${counts.passed} passed, ${counts.failed} failed, ${skipped} skipped`,
    ...[...counts.skipped].map(([reason, n]) => `skipped (${n}): ${reason}`),
    `e2e: ${counts.passed} passed, ${counts.failed} failed, ${skipped} skipped`,
  ];
}

export default async function* summaryReporter(source) {
  const counts = { passed: 0, failed: 0, skipped: new Map() };
  const specOutput = new spec();
  const pending = [];
  specOutput.on("data", (chunk) => pending.push(String(chunk)));
  for await (const event of source) {
    countScenario(counts, event);
    await new Promise((resolve, reject) => specOutput.write(event, (error) => (error ? reject(error) : resolve())));
    await new Promise((resolve) => setImmediate(resolve));
    while (pending.length > 0) yield pending.shift();
  }
  specOutput.end();
  await once(specOutput, "end");
  while (pending.length > 0) yield pending.shift();
  yield `\n${summaryLines(counts).join("\n")}\n`;
}
