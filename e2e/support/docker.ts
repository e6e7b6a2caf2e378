import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** Runs the docker CLI; throws with its stderr on failure. */
export async function docker(args: string[], input?: Buffer): Promise<string> {
  if (input) {
    return new Promise((resolve, reject) => {
      const child = spawn("docker", args, { stdio: ["pipe", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      child.on("error", reject);
      child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`docker ${args.join(" ")} failed (${code}): ${err.trim()}`))));
      child.stdin.end(input);
    });
  }
  try {
    const { stdout } = await execFileAsync("docker", args, { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`docker ${args.join(" ")} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** Removes containers, networks and volumes whose names start with a prefix; ignores what is absent. */
export async function removeByPrefix(prefix: string): Promise<void> {
  const containers = (await docker(["ps", "-aq", "--filter", `name=^${prefix}`])).split("\n").filter(Boolean);
  if (containers.length > 0) await docker(["rm", "-f", "-v", ...containers]);
  const networks = (await docker(["network", "ls", "-q", "--filter", `name=^${prefix}`])).split("\n").filter(Boolean);
  if (networks.length > 0) await docker(["network", "rm", ...networks]);
  const volumes = (await docker(["volume", "ls", "-q", "--filter", `name=^${prefix}`])).split("\n").filter(Boolean);
  if (volumes.length > 0) await docker(["volume", "rm", "-f", ...volumes]);
}

export async function imageExists(ref: string): Promise<boolean> {
  try {
    await docker(["image", "inspect", ref]);
    return true;
  } catch {
    return false;
  }
}

/** Memory use of a running container in MiB, from `docker stats`. */
export async function memoryMiB(container: string): Promise<number> {
  const text = (await docker(["stats", "--no-stream", "--format", "{{.MemUsage}}", container])).trim();
  const match = /^([\d.]+)\s*([KMG]i?B)/.exec(text);
  if (!match) throw new Error(`cannot read memory of ${container} from "${text}"`);
  const factor: Record<string, number> = { KiB: 1 / 1024, KB: 1 / 1024, MiB: 1, MB: 1, GiB: 1024, GB: 1024 };
  return Number(match[1]) * (factor[match[2]!] ?? 1);
}

/** When Docker created and started a container, and when it first reported healthy (if it has a healthcheck). */
export interface ContainerTimes {
  name: string;
  createdMs: number;
  startedMs?: number;
  healthyMs?: number;
}

interface DockerEvent {
  status?: string;
  Action?: string;
  timeNano: number;
  Actor: { Attributes: Record<string, string> };
}

/**
 * Streams the daemon's container events (create, start, health_status) for names starting with
 * `prefix` until `stop()`: the daemon's own clock, taken live because `docker inspect` keeps only
 * the last five probes and the daemon's event buffer is overrun by probe exec events.
 */
export function watchContainerEvents(prefix: string): { stop(): Promise<ContainerTimes[]> } {
  const child = spawn("docker", ["events", "--filter", "type=container", "--format", "{{json .}}"], { stdio: ["ignore", "pipe", "pipe"] });
  const times = new Map<string, ContainerTimes>();
  let buffered = "";
  child.stdout.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.trim()) continue;
      const event = JSON.parse(line) as DockerEvent;
      const name = event.Actor.Attributes.name ?? "";
      if (!name.startsWith(prefix)) continue;
      const at = event.timeNano / 1e6;
      const action = event.Action ?? event.status ?? "";
      if (action === "create") times.set(name, { name, createdMs: at });
      const entry = times.get(name);
      if (!entry) continue;
      if (action === "start" && entry.startedMs === undefined) entry.startedMs = at;
      if (action === "health_status: healthy" && entry.healthyMs === undefined) entry.healthyMs = at;
    }
  });
  return {
    async stop(): Promise<ContainerTimes[]> {
      // Events are delivered as they happen; give the last ones a moment to arrive.
      await new Promise((resolve) => setTimeout(resolve, 500));
      child.kill();
      return [...times.values()].sort((a, b) => a.createdMs - b.createdMs);
    },
  };
}
