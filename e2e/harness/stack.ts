import { execFile } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { fileContentFrom } from "../../model";
import type { FileContent, ServiceId, ServiceModel, StackModel } from "../../model";
import { docker } from "./docker";
import type { MintedPki } from "./pki";

const run = promisify(execFile);

/** The services the suite runs for real; Grafana and Prometheus have no offline build. */
export const E2E_SERVICES: readonly ServiceId[] = ["tempo", "collector", "app"];

function bytesOf(content: FileContent, pki: MintedPki): string {
  return fileContentFrom(content, {
    caCertificate: pki.caCertificatePem,
    certificate: (service) => pki.services[service].certificatePem,
    privateKey: (service) => pki.services[service].privateKeyPem,
  });
}

/**
 * A tar of the service's files with the model's owners and modes, as the Docker provider's
 * uploads write them. Only file entries: parent directories keep the image's ownership.
 */
async function filesArchive(service: ServiceModel, pki: MintedPki): Promise<Buffer> {
  const staging = await mkdtemp(join(tmpdir(), `tracing-stack-${service.id}-`));
  try {
    const relative: string[] = [];
    for (const file of service.files) {
      const path = join(staging, file.path);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, bytesOf(file.content, pki));
      await chmod(path, parseInt(file.mode, 8));
      relative.push(file.path.replace(/^\//, ""));
    }
    const uid = service.files[0]?.uid ?? 0;
    const gid = service.files[0]?.gid ?? 0;
    if (service.files.some((f) => f.uid !== uid || f.gid !== gid)) throw new Error(`${service.id}: files with mixed owners are not supported by the e2e archive`);
    const { stdout } = await run("tar", ["-C", staging, "--numeric-owner", `--owner=${uid}`, `--group=${gid}`, "--no-recursion", "-cf", "-", ...relative], {
      encoding: "buffer",
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function imageRef(service: ServiceModel): string {
  return service.image.kind === "pinned" ? service.image.ref : service.image.imageName;
}

/** Creates the container exactly as ServiceContainer does (name, user, alias, ports, env, files, volumes), then starts it. */
export async function startService(model: StackModel, pki: MintedPki, id: ServiceId): Promise<void> {
  const service = model.services[id];
  const args = ["create", "--name", service.containerName, "--user", service.user, "--network", model.networkName, "--network-alias", service.networkAlias, "--label", `tracing-stack.stack=${model.stackName}`];
  for (const port of service.ports) {
    if (port.published) args.push("-p", `${port.published.address}:${port.published.port}:${port.containerPort}`);
  }
  for (const mount of service.volumes) args.push("-v", `${mount.volumeName}:${mount.containerPath}`);
  for (const [name, value] of Object.entries(service.env)) {
    if (value.kind !== "text") throw new Error(`${id}: env ${name} is a secret the e2e suite does not provide`);
    args.push("-e", `${name}=${value.value}`);
  }
  const hc = service.healthcheck;
  if (hc) {
    const [kind, ...command] = hc.test;
    if (kind !== "CMD") throw new Error(`${id}: healthcheck ${hc.test.join(" ")} is not a CMD healthcheck`);
    args.push("--health-cmd", command.join(" "), "--health-interval", `${hc.intervalSeconds}s`, "--health-timeout", `${hc.timeoutSeconds}s`);
    args.push("--health-retries", String(hc.retries), "--health-start-period", `${hc.startPeriodSeconds}s`);
  }
  args.push(imageRef(service), ...service.command);
  await docker(args);
  await startServiceFiles(service.containerName, service, pki);
  await docker(["start", service.containerName]);
  if (hc) await waitHealthy(service.containerName, (hc.intervalSeconds * hc.retries + hc.startPeriodSeconds) * 1000);
}

/** Like the Docker provider's `wait: true`: dependants start only once the service is healthy. */
async function waitHealthy(containerName: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  let status = "";
  while (Date.now() < end) {
    status = (await docker(["inspect", "-f", "{{.State.Health.Status}}", containerName])).trim();
    if (status === "healthy") return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${containerName} is not healthy after ${timeoutMs / 1000} s (last status: ${status})`);
}

/** Copies a service's files into a created (not yet started) container. */
export async function startServiceFiles(containerName: string, service: ServiceModel, pki: MintedPki): Promise<void> {
  await docker(["cp", "-", `${containerName}:/`], await filesArchive(service, pki));
}

export async function createNetworkAndVolumes(model: StackModel, ids: readonly ServiceId[]): Promise<void> {
  await docker(["network", "create", "--label", `tracing-stack.stack=${model.stackName}`, model.networkName]);
  for (const id of ids) for (const mount of model.services[id].volumes) await docker(["volume", "create", mount.volumeName]);
}

/** Starts the real services of a model in the program's order: storage first, then writers. */
export async function startStack(model: StackModel, pki: MintedPki, ids: readonly ServiceId[] = E2E_SERVICES): Promise<void> {
  await createNetworkAndVolumes(model, ids);
  for (const id of ids) await startService(model, pki, id);
}

export async function removeService(model: StackModel, id: ServiceId): Promise<void> {
  await docker(["rm", "-f", model.services[id].containerName]);
}

export async function logsOf(model: StackModel, id: ServiceId, tail = 40): Promise<string> {
  try {
    const { stdout, stderr } = await run("docker", ["logs", "--tail", String(tail), model.services[id].containerName]);
    return stdout + stderr;
  } catch (error) {
    return String(error);
  }
}
