/**
 * The suite's own stack and what it checks on a running stack. The stack is dev's settings with its
 * own name and host ports (a real dev stack is never touched); its images are the program's pins.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildTopology, parseStackConfig, projectSettingsFromStackFile, PROJECT_NAME } from "../../model";
import type { LinkModel, StackTopology } from "../../model";
import type { ComponentRef } from "../deploy/stackDeployment";
import { get, waitFor, type ClientTls } from "./https";

export const PROJECT_DIR = join(__dirname, "..", "..");
export const E2E_STACK = "e2e";
const E2E_HOST_PORTS = { grafana: 23000, tempoApi: 23200, app: 23010, collectorOtlpGrpc: 24317, collectorOtlpHttp: 24318, prometheus: 29090 };

/** What the suite cannot run on these machines, with why; everything else the program registers is deployed. */
const GRAFANA_NOT_RUN = "Grafana's provisioning needs the Grafana Terraform provider, which cannot be built here (the Go module proxy refuses it), and Grafana itself is AGPL-3.0, never built";
export const NOT_DEPLOYED: Array<ComponentRef & { why: string }> = [
  { type: "tracing-stack:index:ServiceContainer", name: "grafana", why: GRAFANA_NOT_RUN },
  { type: "tracing-stack:index:ServiceImage", name: "grafana-image", why: GRAFANA_NOT_RUN },
  { type: "tracing-stack:index:GrafanaProvisioning", name: "grafana", why: GRAFANA_NOT_RUN },
];

export type Settings = Record<string, unknown>;

export function stackFileSettings(stack: string): Settings {
  return projectSettingsFromStackFile(readFileSync(join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8"));
}

export function e2eSettings(verification: Settings = { traces: 10, deadlineSeconds: 120 }): Settings {
  return { ...stackFileSettings("dev"), hostPorts: E2E_HOST_PORTS, verification };
}

/** Settings as the Pulumi CLI hands them to a program: namespaced keys, strings, objects as JSON. */
export function cliConfig(settings: Settings): Record<string, string> {
  return Object.fromEntries(Object.entries(settings).map(([k, v]) => [`${PROJECT_NAME}:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
}

/** The topology with one link changed: how the suite reintroduces a seed's failure through the model. */
export function withLink(topology: StackTopology, id: string, change: Partial<LinkModel>): StackTopology {
  if (!topology.links.some((l) => l.id === id)) throw new Error(`the model has no link ${id}`);
  return { ...topology, links: topology.links.map((l) => (l.id === id ? { ...l, ...change } : l)) };
}

export function topologyOf(stack: string, settings: Settings): StackTopology {
  return buildTopology(parseStackConfig(stack, settings));
}

export function counter(metrics: string, name: string): number {
  return metrics
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.trim().split(/\s+/).pop()), 0);
}

export async function sendTraces(appUrl: string, client: ClientTls, count: number, depth = 2): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const reply = await get(`${appUrl}/api/work?depth=${depth}`, client);
    if (reply.status !== 200) throw new Error(`the app answered HTTP ${reply.status}: ${reply.body}`);
    ids.push(String(reply.headers["x-trace-id"]));
  }
  return ids;
}

/**
 * Requests to the app at a steady pace until stopped, every 5th failing on purpose: traffic as a
 * user's services make it. A single burst is not enough for rate() panels: Tempo's generator writes
 * a new series' first value with a zero sample up to a minute earlier, so only continued traffic
 * gives every [1m] window an increase.
 */
export function steadyTraffic(appUrl: string, client: ClientTls, intervalMs: number): { stop: () => Promise<{ requests: number; failedOnPurpose: number; errors: number }> } {
  let stopped = false;
  const counts = { requests: 0, failedOnPurpose: 0, errors: 0 };
  const loop = (async () => {
    while (!stopped) {
      const fail = counts.requests % 5 === 4;
      const reply = await get(`${appUrl}/api/work?depth=2${fail ? "&fail=1" : ""}`, client).catch(() => undefined);
      counts.requests += 1;
      if (fail) counts.failedOnPurpose += 1;
      if (!reply || reply.status !== (fail ? 500 : 200)) counts.errors += 1;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return counts;
    },
  };
}

/** How many of `ids` Tempo returns by id within the timeout. */
export async function countFound(tempoUrl: string, client: ClientTls, ids: string[], timeoutMs: number): Promise<number> {
  const found = new Set<string>();
  await waitFor(async () => {
    for (const id of ids) {
      if (found.has(id)) continue;
      const reply = await get(`${tempoUrl}/api/v2/traces/${id}`, client).catch(() => undefined);
      if (reply?.status === 200) found.add(id);
    }
    return found.size === ids.length ? true : undefined;
  }, timeoutMs, 2000);
  return found.size;
}

/** Diagnosis codes a failed verification printed (`[CODE] message` lines). */
export function diagnosisCodes(text: string): string[] {
  return [...text.matchAll(/^\s*\[([A-Z_]+)\]/gm)].map((m) => m[1]!);
}

/** The host client of a deployed stack, from its outputs: the CA, and under mutual TLS the client certificate and key. */
export function clientTlsOf(outputs: Record<string, unknown>): ClientTls {
  return {
    ca: String(outputs.caCertificate),
    ...(outputs.clientCertificate ? { cert: String(outputs.clientCertificate), key: String(outputs.clientPrivateKey) } : {}),
  };
}
