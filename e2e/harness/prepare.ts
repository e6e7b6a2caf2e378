import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { docker } from "./docker";

const PROJECT_DIR = join(__dirname, "..", "..");

/**
 * Makes Docker usable and the pinned images exist locally (real Tempo and collector built from
 * source, the app's base stand-in), cached outside the work tree. Throws with the script's output
 * on failure: the suite must not pass by skipping its real components.
 */
export function prepareRealComponents(): void {
  const result = spawnSync("bash", [join(PROJECT_DIR, "e2e", "prepare", "all.sh")], { stdio: ["ignore", "inherit", "inherit"], timeout: 75 * 60 * 1000 });
  if (result.status !== 0) throw new Error(`e2e/prepare/all.sh failed with ${result.status ?? result.signal}: see the output above`);
}

/** Builds the app from its real Dockerfile under the tag the model gives it. */
export async function buildAppImage(imageName: string): Promise<void> {
  // --network host: the build's `npm ci` reaches the registry even with dockerd --iptables=false.
  await docker(["build", "--network", "host", "-q", "-t", imageName, join(PROJECT_DIR, "app")]);
}
