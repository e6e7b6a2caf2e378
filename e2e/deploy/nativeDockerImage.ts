/**
 * `docker:index/image:Image` is native to @pulumi/docker (provider/image.go), not bridged: it builds
 * through the Engine and, with `skipPush`, answers `repoDigest` = the local image id (sha256:...),
 * `imageName` = `baseImageName` = the tag, id = the tag. Built here with the same engine from the
 * registered inputs (context, dockerfile, platform, tag).
 *
 * One difference, forced by this machine and not by the program: the suite's dockerd runs with
 * --iptables=false (no NAT), so a build container reaches the npm registry only on the host network.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);
type Inputs = Record<string, unknown>;

// buildOnPreview only decides whether `pulumi preview` builds: nothing to do at create.
const KNOWN = ["imageName", "build", "skipPush", "buildOnPreview"];
const KNOWN_BUILD = ["context", "dockerfile", "platform", "args", "target"];

export async function buildNativeImage(name: string, inputs: Inputs): Promise<{ id: string; state: Inputs }> {
  const unknown = Object.keys(inputs).filter((k) => !KNOWN.includes(k) && inputs[k] !== undefined);
  const build = (inputs.build ?? {}) as Inputs;
  unknown.push(...Object.keys(build).filter((k) => !KNOWN_BUILD.includes(k) && build[k] !== undefined).map((k) => `build.${k}`));
  if (unknown.length > 0) throw new Error(`docker Image ${name}: input(s) ${unknown.join(", ")} not implemented by the e2e double (e2e/deploy/nativeDockerImage.ts)`);
  if (inputs.skipPush !== true) throw new Error(`docker Image ${name}: the e2e suite has no registry; the program must set skipPush`);
  const tag = String(inputs.imageName);
  const args = ["build", "--network", "host", "-q", "-t", tag];
  if (build.platform) args.push("--platform", String(build.platform));
  if (build.dockerfile) args.push("-f", String(build.dockerfile));
  if (build.target) args.push("--target", String(build.target));
  for (const [k, v] of Object.entries((build.args ?? {}) as Record<string, string>)) args.push("--build-arg", `${k}=${v}`);
  args.push(String(build.context));
  const started = Date.now();
  try {
    await run("docker", args, { maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`docker Image ${name}: build of ${tag} failed: ${(e.stderr ?? e.message).trim().split("\n").slice(-15).join("\n")}`);
  }
  const { stdout } = await run("docker", ["image", "inspect", "--format", "{{.Id}}", tag]);
  console.log(`[deploy] built ${tag} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return {
    id: tag,
    state: { ...inputs, imageName: tag, baseImageName: tag, repoDigest: stdout.trim(), platform: build.platform, context: build.context, dockerfile: build.dockerfile },
  };
}
