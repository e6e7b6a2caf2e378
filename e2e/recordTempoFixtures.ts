/**
 * `npm run record:tempo-fixtures`: records test/verifier/fixtures/real/ from the official Tempo image
 * the program pins, on the program's own resources (OpenTofu and the real Docker provider, as the e2e
 * suite deploys them), with the post-deploy verification left out so Tempo is seen fresh:
 *
 *   healthy   the stack as registered
 *   broken    the seed's internal TLS: server.grpc_tls_config set, Tempo's internal clients plaintext
 *
 * For each: Tempo's /metrics just after the deployment (`-fresh`), then the verifier drives
 * FIXTURE_TRACES requests through the app, then /metrics again (`-after`). Files are named after the
 * version Tempo reports, so a fixture always says which Tempo it came from.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderTempoConfig } from "../configs/tempo/tempoConfig";
import { CONTAINER_PATHS } from "../model/constants";
import { deployTools, prepareRealComponents } from "./deploy/prepare";
import { clientTlsOf, e2eSettings, E2E_STACK, NOT_DEPLOYED, PROJECT_DIR, topologyOf, withLink } from "./support/e2eStack";
import { get, sleep, waitFor } from "./support/https";
import { ensurePinnedImage, missingImageLine } from "./support/pinnedImages";
import { deployStack, replaceUpload } from "./support/stackRuns";

const FIXTURE_TRACES = 5;
const OUT_DIR = join(PROJECT_DIR, "test", "verifier", "fixtures", "real");

async function record(variant: "healthy" | "broken", release: string): Promise<void> {
  const settings = e2eSettings({ traces: FIXTURE_TRACES, deadlineSeconds: 60 });
  const alter = variant === "broken" ? replaceUpload("tempo", CONTAINER_PATHS.tempo.configFile, renderTempoConfig(withLink(topologyOf(E2E_STACK, settings), "tempo-internal", { tls: "plaintext" }))) : undefined;
  const notDeployed = [...NOT_DEPLOYED, { type: "tracing-stack:index:PostDeployVerification", name: "verify-ingestion", why: "the recorder runs the verifier itself, after the fresh reading" }];
  const { deployment, up } = await deployStack(`record-${variant}`, settings, { tools: deployTools(), alter, notDeployed });
  try {
    if (!up.ok) throw new Error(`${variant}: the stack did not deploy: ${up.failure?.message}`);
    const outputs = deployment.program.outputs;
    const client = clientTlsOf(outputs);
    const tempoUrl = String(outputs.tempoApiUrl);
    const metrics = async (): Promise<string> => (await get(`${tempoUrl}/metrics`, client)).body;
    await waitFor(() => get(`${tempoUrl}/metrics`, client).then((r) => (r.status === 200 ? true : undefined), () => undefined), 60_000);
    const file = (state: string): string => join(OUT_DIR, `tempo-${release}-${variant}-${state}.prom`);
    writeFileSync(file("fresh"), await metrics());
    const verify = spawnSync(process.execPath, [join(PROJECT_DIR, "bin", "tracing-stack-verify.js"), "--traces", String(FIXTURE_TRACES), "--deadline-seconds", "45", "--json"], {
      encoding: "utf8",
      env: { ...process.env, VERIFY_TEMPO_URL: tempoUrl, VERIFY_APP_URL: String(outputs.appUrl), VERIFY_CA_PEM: client.ca, VERIFY_CLIENT_CERT_PEM: client.cert, VERIFY_CLIENT_KEY_PEM: client.key },
    });
    const outcome = (JSON.parse(verify.stdout || "{}") as { outcome?: string }).outcome;
    await sleep(2000);
    writeFileSync(file("after"), await metrics());
    console.log(`[record] ${variant}: verifier exit ${verify.status}, outcome ${outcome}; wrote ${file("fresh")} and ${file("after")}`);
  } finally {
    await deployment.destroy();
  }
}

async function main(): Promise<void> {
  prepareRealComponents();
  const tempo = ensurePinnedImage("tempo");
  if (!tempo.available) throw new Error(`cannot record: ${missingImageLine(tempo)}`);
  const release = /version (\S+)/.exec(tempo.version)?.[1] ?? "unknown";
  mkdirSync(OUT_DIR, { recursive: true });
  await record("healthy", release);
  await record("broken", release);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
