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

/** When Docker created and started a container, and when its first healthcheck passed (if it has one). */
export interface ContainerTimes {
  name: string;
  createdMs: number;
  startedMs: number;
  healthyMs?: number;
}

interface InspectedContainer {
  Name: string;
  Created: string;
  State: { StartedAt: string; Health?: { Log?: { End: string; ExitCode: number }[] } };
}

/**
 * Creation, start and first passing probe of every container whose name starts with `prefix`, from
 * `docker inspect`: the daemon's own clock, not the test's guesses. Docker keeps the last 5 probes,
 * so `healthyMs` is read while the start is recent.
 */
export async function containerTimes(prefix: string): Promise<ContainerTimes[]> {
  const ids = (await docker(["ps", "-aq", "--filter", `name=^${prefix}`])).split("\n").filter(Boolean);
  if (ids.length === 0) return [];
  const inspected = JSON.parse(await docker(["inspect", ...ids])) as InspectedContainer[];
  return inspected
    .map((c) => {
      const firstPass = c.State.Health?.Log?.find((probe) => probe.ExitCode === 0);
      return {
        name: c.Name.replace(/^\//, ""),
        createdMs: Date.parse(c.Created),
        startedMs: Date.parse(c.State.StartedAt),
        ...(firstPass ? { healthyMs: Date.parse(firstPass.End) } : {}),
      };
    })
    .sort((a, b) => a.createdMs - b.createdMs);
}
