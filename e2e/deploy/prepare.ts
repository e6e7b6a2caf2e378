import { spawnSync } from "node:child_process";
import { join } from "node:path";
import type { TofuTools } from "./tofu";

const PROJECT_DIR = join(__dirname, "..", "..");
const LIB = join(PROJECT_DIR, "e2e", "prepare", "lib.sh");

/**
 * Makes Docker usable and builds (or reuses, cached outside the work tree) OpenTofu, the Terraform
 * Docker provider, the collector, Prometheus and the local images. Tempo and Grafana are never built
 * (AGPL-3.0): see ../support/pinnedImages.ts. Throws with the script's output on failure: the suite
 * must not pass by skipping its real components.
 */
export function prepareRealComponents(): void {
  const result = spawnSync("bash", [join(PROJECT_DIR, "e2e", "prepare", "all.sh")], { stdio: ["ignore", "inherit", "inherit"], timeout: 75 * 60 * 1000 });
  if (result.status !== 0) throw new Error(`e2e/prepare/all.sh failed with ${result.status ?? result.signal}: see the output above`);
}

/** A value lib.sh computes (pins and cache paths live there only). */
function fromLib(expression: string): string {
  const result = spawnSync("bash", ["-c", `source ${JSON.stringify(LIB)} && echo "${expression}"`], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`cannot read ${expression} from e2e/prepare/lib.sh: ${result.stderr}`);
  return result.stdout.trim();
}

export function deployTools(): TofuTools {
  return {
    tofuBin: fromLib("$TRACING_STACK_CACHE/tofu-$TOFU_VERSION/tofu"),
    mirrorDir: fromLib("$TRACING_STACK_CACHE/tofu-mirror"),
    providerVersion: fromLib("$DOCKER_PROVIDER_VERSION"),
  };
}

/** The busybox image the suite built for network checks (wget, nslookup) inside the stack's networks. */
export function helperImage(): string {
  return fromLib("$HELPER_IMAGE");
}
