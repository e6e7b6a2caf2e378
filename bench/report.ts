/** The benchmark's figures as a table a person reads and as JSON a script reads. */
import type { BenchVariant, CollectorToTempo } from "./benchStack";
import type { ComponentUsage } from "./containerUsage";
import { highestZeroLoss, type JudgedStep } from "./loadSteps";

export interface VariantResult {
  variant: BenchVariant;
  collectorToTempo: CollectorToTempo;
  tempoMode: "monolithic" | "microservices";
  /** Tempo's replication factor (1: monolithic) */
  replicationFactor: number;
  /** where Tempo's counters were read, and how long a change took at most to show there */
  tempoCounters: { source: string; lagSeconds: number };
  steps: JudgedStep[];
}

export interface BenchSummary {
  /** highest offered spans/s with zero loss, per variant (null: no step had zero loss) */
  highestZeroLossSpansPerSecond: Partial<Record<BenchVariant, number | null>>;
  /** whether a step above that figure lost spans; false: every step passed, the figure is only a lower bound */
  limitFound: Partial<Record<BenchVariant, boolean>>;
  /** TLS / plaintext of those figures; null unless both exist and both are limits (not lower bounds) */
  tlsToPlaintextRatio: number | null;
  /** microservices / TLS (both monolithic and microservices take spans over mutual TLS); null unless both are limits */
  microservicesToMonolithicRatio: number | null;
  /** CPU cores and peak MiB per container at the TLS variant's highest zero-loss rate */
  usageAtHighestTls: JudgedStep["usage"] | null;
  /** per variant, at its highest zero-loss rate: CPU cores and peak MiB summed per component */
  usageByComponentAtHighest: Partial<Record<BenchVariant, Record<string, ComponentUsage> | null>>;
}

const LABELS: Record<BenchVariant, string> = { tls: "TLS", plaintext: "plaintext", microservices: "microservices" };

export function summarize(variants: readonly VariantResult[]): BenchSummary {
  const highest: BenchSummary["highestZeroLossSpansPerSecond"] = {};
  const limitFound: BenchSummary["limitFound"] = {};
  const usageByComponentAtHighest: BenchSummary["usageByComponentAtHighest"] = {};
  for (const v of variants) {
    const best = highestZeroLoss(v.steps);
    highest[v.variant] = best?.offeredSpansPerSecond ?? null;
    limitFound[v.variant] = v.steps.some((s) => !s.verdict.zeroLoss && !s.verdict.generatorLimited);
    usageByComponentAtHighest[v.variant] = best?.usageByComponent ?? null;
  }
  const limit = (variant: BenchVariant): number | null => (limitFound[variant] ? (highest[variant] ?? null) : null);
  const ratio = (a: number | null, b: number | null): number | null => (a && b ? Number((a / b).toFixed(3)) : null);
  const tlsSteps = variants.find((v) => v.variant === "tls")?.steps ?? [];
  return {
    highestZeroLossSpansPerSecond: highest,
    limitFound,
    tlsToPlaintextRatio: ratio(limit("tls"), limit("plaintext")),
    microservicesToMonolithicRatio: ratio(limit("microservices"), limit("tls")),
    usageAtHighestTls: highestZeroLoss(tlsSteps)?.usage ?? null,
    usageByComponentAtHighest,
  };
}

function pad(cells: string[][]): string {
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)));
  return cells.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")).join("\n");
}

function heading(variant: VariantResult): string {
  if (variant.tempoMode === "microservices") {
    return `Tempo microservices (replication factor ${variant.replicationFactor}), collector -> distributors over ${variant.collectorToTempo}:`;
  }
  return `collector -> Tempo over ${variant.collectorToTempo}:`;
}

/**
 * One table per variant, a column per component (cores and peak MiB summed over its containers,
 * `x2` when it runs two), then the highest zero-loss rate of every variant side by side.
 * `cpus`: the host's cores, for the note on what the microservices variant measures.
 */
export function formatTable(variants: readonly VariantResult[], summary: BenchSummary, host: { cpus?: number } = {}): string {
  const lines: string[] = [];
  for (const variant of variants) {
    lines.push(heading(variant));
    const components = [...new Set(variant.steps.flatMap((s) => Object.keys(s.usageByComponent)))];
    const replicas = (component: string): number => Math.max(...variant.steps.map((s) => s.usageByComponent[component]?.containers.length ?? 0));
    const lagged = variant.tempoCounters.lagSeconds > 0;
    const header = [
      "spans/s", "sent", "in Tempo", "lost", "drain s", ...(lagged ? ["counted s"] : []), "p99 ms",
      ...components.map((c) => `${c}${replicas(c) > 1 ? ` x${replicas(c)}` : ""} cores/MiB`), "verdict",
    ];
    const rows = variant.steps.map((s) => [
      String(s.offeredSpansPerSecond),
      String(s.generator.spansSent),
      String(s.tempo.distributorReceived),
      String(s.generator.spansSent - s.tempo.distributorReceived),
      s.drainSeconds === null ? "-" : s.drainSeconds.toFixed(1),
      ...(lagged ? [s.tempoCountedSeconds === null ? "-" : s.tempoCountedSeconds.toFixed(1)] : []),
      s.generator.exportLatencyMs.p99.toFixed(0),
      ...components.map((c) => (s.usageByComponent[c] ? `${s.usageByComponent[c]!.cpuCores.toFixed(2)}/${s.usageByComponent[c]!.peakMemoryMiB.toFixed(0)}` : "-")),
      s.verdict.zeroLoss ? "zero loss" : s.verdict.generatorLimited ? "generator behind" : s.verdict.fellBehindOnly ? "fell behind" : "LOSS",
    ]);
    lines.push(pad([header, ...rows]));
    for (const s of variant.steps.filter((step) => !step.verdict.zeroLoss)) lines.push(`  at ${s.offeredSpansPerSecond}: ${s.verdict.problems.join("; ")}`);
    if (lagged) {
      const limits = [...new Set(variant.steps.map((s) => `${s.tempoCountLimitSeconds} s instead of ${s.drainLimitSeconds} s`))].join(", ");
      lines.push(
        `  Tempo's counters read through ${variant.tempoCounters.source}, up to ${variant.tempoCounters.lagSeconds} s behind: "drain s" is the collector's hand-off,`,
        `  "counted s" when a reading taken after it counted every span; that wait is limited to ${limits} (the lag is no loss).`,
      );
    }
    const appendNotes = variant.steps.filter((s) => s.verdict.notes.length > 0).map((s) => `  at ${s.offeredSpansPerSecond}: ${s.verdict.notes.join("; ")}`);
    lines.push(...appendNotes);
    lines.push("");
  }
  const figure = (variant: BenchVariant): string => {
    const v = summary.highestZeroLossSpansPerSecond[variant];
    if (v === undefined) return "not measured";
    if (v === null) return "none";
    return summary.limitFound[variant] ? `${v} spans/s` : `>= ${v} spans/s`;
  };
  const measured = (Object.keys(LABELS) as BenchVariant[]).filter((v) => summary.highestZeroLossSpansPerSecond[v] !== undefined);
  const shown = measured.length > 0 ? measured : (["tls", "plaintext"] as BenchVariant[]);
  lines.push("highest zero-loss rate:");
  lines.push(pad([shown.map((v) => LABELS[v]), shown.map(figure)].map((row) => ["", ...row])));
  if (shown.some((v) => summary.highestZeroLossSpansPerSecond[v] !== undefined && summary.highestZeroLossSpansPerSecond[v] !== null && !summary.limitFound[v])) {
    lines.push("  >=: no step lost spans: a lower bound, not the limit");
  }
  lines.push(`TLS / plaintext:                   ${summary.tlsToPlaintextRatio === null ? "- (needs both limits)" : `${(summary.tlsToPlaintextRatio * 100).toFixed(1)} %`}`);
  const micro = variants.find((v) => v.variant === "microservices");
  if (micro) {
    lines.push(`microservices / monolithic (TLS):  ${summary.microservicesToMonolithicRatio === null ? "- (needs both limits)" : `${(summary.microservicesToMonolithicRatio * 100).toFixed(1)} %`}`);
    lines.push(
      `note: on one ${host.cpus === undefined ? "" : `${host.cpus}-core `}host the microservices variant measures the cost of replication (every span written to ${micro.replicationFactor} ingesters), not a speed-up`,
    );
  }
  return lines.join("\n");
}
