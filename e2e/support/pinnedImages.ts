/**
 * The images the program pins and nobody may build here: Tempo and Grafana are AGPL-3.0, so the
 * suite and the bench run them only as their official images, by the exact tag the program deploys.
 *
 * Order, as a user's machine or a hosted CI would have it: the tag is already in the local engine ->
 * use it; else `docker pull` it; else it is missing, and every scenario that needs it is skipped with
 * one line that names the image and how to provide it. There is no stand-in and no fallback tag.
 *
 * Run as a script (`node --import tsx e2e/support/pinnedImages.ts tempo`) it prints the same line and
 * exits 0 when the image is there, 1 when it is not: `.ci/run` uses it to decide whether to bench.
 */
import { spawnSync } from "node:child_process";
import { DEFAULT_IMAGES } from "../../model/constants";

export type PinnedRole = "tempo" | "grafana";

export type PinnedImage =
  | { ref: string; available: true; source: "local engine" | "docker pull"; version: string }
  | { ref: string; available: false; why: string };

const PULL_TIMEOUT_MS = 5 * 60 * 1000;

function dockerSync(args: string[], timeoutMs = 60_000): { ok: boolean; out: string } {
  const r = spawnSync("docker", args, { encoding: "utf8", timeout: timeoutMs });
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim();
  if (r.error) return { ok: false, out: `${r.error.message}${out ? `: ${out}` : ""}` };
  return { ok: r.status === 0, out };
}

/** The release a tag names (`grafana/tempo:2.10.8` -> `2.10.8`; a digest pin has none). */
export function releaseOf(ref: string): string | undefined {
  if (ref.includes("@")) return undefined;
  const tag = ref.slice(ref.lastIndexOf(":") + 1);
  return ref.lastIndexOf(":") > ref.lastIndexOf("/") ? tag.replace(/^v/, "") : undefined;
}

/**
 * What the image says it is. A tag is only a name: an image built from another commit and tagged
 * with the pin (as this suite once did) would pass for the release. Tempo prints its version line
 * (`tempo, version 2.10.8 (branch: HEAD, revision: f0f3ed5919)`), which must name the pinned release.
 */
function reportedVersion(role: PinnedRole, ref: string): { ok: boolean; version: string } {
  if (role !== "tempo") return { ok: true, version: releaseOf(ref) ?? "unknown" };
  const run = dockerSync(["run", "--rm", "--network", "none", "--entrypoint", "/tempo", ref, "-version"]);
  const line = run.out.split("\n").find((l) => /version/.test(l)) ?? run.out.split("\n")[0] ?? "";
  const release = releaseOf(ref);
  const ok = run.ok && (release === undefined || new RegExp(`\\bversion ${release.replace(/\./g, "\\.")}\\b`).test(line));
  return { ok, version: line.trim() };
}

/** Finds the pinned image in the local engine or pulls it; never builds or substitutes one. */
export function ensurePinnedImage(role: PinnedRole, ref: string = DEFAULT_IMAGES[role]): PinnedImage {
  let source: "local engine" | "docker pull" = "local engine";
  if (!dockerSync(["image", "inspect", "--format", "{{.Id}}", ref]).ok) {
    const pull = dockerSync(["pull", "--quiet", ref], PULL_TIMEOUT_MS);
    if (!pull.ok) {
      const reason = pull.out.split("\n").filter(Boolean).pop() ?? "no output";
      return { ref, available: false, why: `not in the local Docker engine, and \`docker pull ${ref}\` failed (${reason})` };
    }
    source = "docker pull";
  }
  const { ok, version } = reportedVersion(role, ref);
  if (!ok) return { ref, available: false, why: `the image tagged ${ref} reports "${version}", not release ${releaseOf(ref)}: it is not the official image; remove it (\`docker rmi ${ref}\`)` };
  return { ref, available: true, source, version };
}

/** One line: the image, why it is missing and how to provide it. */
export function missingImageLine(image: Extract<PinnedImage, { available: false }>): string {
  const file = `${image.ref.replace(/^.*\//, "").replace(":", "-")}.tar`;
  return `needs ${image.ref}: ${image.why}. Provide it: \`docker pull ${image.ref}\` where a registry is reachable, or \`docker save ${image.ref} -o ${file}\` there and \`docker load -i ${file}\` here`;
}

/** node:test options for a scenario that needs the image: run it, or skip it saying why. */
export function needs(image: PinnedImage): { skip?: string } {
  return image.available ? {} : { skip: missingImageLine(image) };
}

export function describeImage(image: PinnedImage): string {
  return image.available ? `${image.ref} from the ${image.source} (${image.version})` : missingImageLine(image);
}

if (require.main === module) {
  const role = process.argv[2];
  if (role !== "tempo" && role !== "grafana") {
    console.error("usage: pinnedImages.ts tempo|grafana");
    process.exit(2);
  }
  const image = ensurePinnedImage(role);
  console.log(describeImage(image));
  process.exit(image.available ? 0 : 1);
}
