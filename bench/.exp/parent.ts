import { Worker } from "node:worker_threads";
import * as path from "node:path";
const file = path.join(__dirname, "child.ts");
const boot = `require(${JSON.stringify(require.resolve("tsx/cjs"))}); require(${JSON.stringify(file)});`;
const w = new Worker(boot, { eval: true, workerData: { a: 1 } });
w.on("message", (m) => { console.log("msg", m); void w.terminate(); });
w.on("error", (e) => console.log("worker error", e.message));
