/**
 * CPU and memory of the stack's containers over a load step, from the Docker Engine's stats API
 * (the numbers `docker stats` shows, read from the containers' cgroups): CPU as cores used on
 * average between two readings, memory as the highest working set seen while sampling.
 */
import { request } from "node:http";

const DOCKER_SOCKET = process.env.DOCKER_SOCKET ?? "/var/run/docker.sock";

interface EngineStats {
  read: string;
  cpu_stats: { cpu_usage: { total_usage: number } };
  memory_stats: { usage?: number; stats?: Record<string, number> };
}

export interface UsageReading {
  atMs: number;
  cpuNanoseconds: number;
  memoryBytes: number;
}

function engineGet<T>(path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: DOCKER_SOCKET, path, method: "GET", timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        if (res.statusCode !== 200) reject(new Error(`Docker Engine GET ${path}: HTTP ${res.statusCode} ${body.trim()}`));
        else resolve(JSON.parse(body) as T);
      });
    });
    req.on("timeout", () => req.destroy(new Error(`Docker Engine GET ${path}: no answer in 10 s`)));
    req.on("error", reject);
    req.end();
  });
}

/**
 * Working set as the docker CLI computes it: usage minus inactive page cache (cgroup v1:
 * total_inactive_file, v2: inactive_file), so file cache the kernel can drop is not counted.
 */
export function workingSetBytes(memory: EngineStats["memory_stats"]): number {
  const usage = memory.usage ?? 0;
  const stats = memory.stats ?? {};
  const inactive = stats.total_inactive_file ?? stats.inactive_file ?? 0;
  return inactive < usage ? usage - inactive : usage;
}

export async function readUsage(container: string): Promise<UsageReading> {
  // one-shot: the engine answers from one cgroup read instead of waiting a second for a second sample.
  const stats = await engineGet<EngineStats>(`/containers/${encodeURIComponent(container)}/stats?stream=false&one-shot=true`);
  return { atMs: Date.now(), cpuNanoseconds: stats.cpu_stats.cpu_usage.total_usage, memoryBytes: workingSetBytes(stats.memory_stats) };
}

export interface ContainerUsage {
  /** average cores busy between the first and the last reading */
  cpuCores: number;
  /** highest working set seen, MiB */
  peakMemoryMiB: number;
}

/** Average cores and peak memory from a container's readings in time order. */
export function summarizeUsage(readings: readonly UsageReading[]): ContainerUsage {
  const first = readings[0];
  const last = readings[readings.length - 1];
  if (!first || !last || last.atMs <= first.atMs) throw new Error("usage: need two readings at different times");
  const cpuCores = (last.cpuNanoseconds - first.cpuNanoseconds) / 1e6 / (last.atMs - first.atMs);
  const peakMemoryMiB = Math.max(...readings.map((r) => r.memoryBytes)) / (1024 * 1024);
  return { cpuCores: Number(cpuCores.toFixed(3)), peakMemoryMiB: Number(peakMemoryMiB.toFixed(1)) };
}

/** Reads every container every `intervalMs` until stopped; returns each one's summary. */
export function sampleUsage(containers: readonly string[], intervalMs: number): { stop(): Promise<Record<string, ContainerUsage>> } {
  const readings = new Map<string, UsageReading[]>(containers.map((c) => [c, []]));
  let stopped = false;
  const readAll = async (): Promise<void> => {
    await Promise.all(containers.map(async (c) => readings.get(c)!.push(await readUsage(c))));
  };
  const first = readAll();
  const loop = (async () => {
    await first;
    while (!stopped) {
      await new Promise((r) => setTimeout(r, intervalMs));
      if (!stopped) await readAll();
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await readAll();
      return Object.fromEntries(containers.map((c) => [c, summarizeUsage(readings.get(c)!)]));
    },
  };
}

/** One component's containers together: distributors, ingesters, ... (a component that runs once: its container). */
export interface ComponentUsage {
  /** the service ids of its containers, in the order given */
  containers: string[];
  /** cores busy, summed over its containers */
  cpuCores: number;
  /**
   * each container's peak working set, summed: an upper bound of the component's peak (the
   * containers need not peak at the same moment)
   */
  peakMemoryMiB: number;
}

/** Per-container figures (by service id) summed per component; `componentOf` maps service id -> component. */
export function groupUsageByComponent(usage: Record<string, ContainerUsage>, componentOf: Record<string, string>): Record<string, ComponentUsage> {
  const groups: Record<string, ComponentUsage> = {};
  for (const [service, figures] of Object.entries(usage)) {
    const component = componentOf[service];
    if (component === undefined) throw new Error(`usage: no component known for ${service}`);
    const group = (groups[component] ??= { containers: [], cpuCores: 0, peakMemoryMiB: 0 });
    group.containers.push(service);
    group.cpuCores += figures.cpuCores;
    group.peakMemoryMiB += figures.peakMemoryMiB;
  }
  for (const group of Object.values(groups)) {
    group.cpuCores = Number(group.cpuCores.toFixed(3));
    group.peakMemoryMiB = Number(group.peakMemoryMiB.toFixed(1));
  }
  return groups;
}
