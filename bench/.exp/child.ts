import { parentPort, workerData } from "node:worker_threads";
const x: { a: number } = workerData as { a: number };
parentPort?.postMessage({ ok: x.a, execArgv: process.execArgv });
