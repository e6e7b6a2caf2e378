/** The benchmark's figures as a table a person reads and as JSON a script reads. */
import type { CollectorToTempo } from "./benchStack";
import { highestZeroLoss, type JudgedStep } from "./loadSteps";

export interface VariantResult {
  collectorToTempo: CollectorToTempo;
  steps: JudgedStep[];
}

export interface BenchSummary {
  /** highest offered spans/s with zero loss, per variant (null: no step had zero loss) */
  highestZeroLossSpansPerSecond: Partial<Record<CollectorToTempo, number | null>>;
  /** whether a step above that figure lost spans; false: every step passed, the figure is only a lower bound */
  limitFound: Partial<Record<CollectorToTempo, boolean>>;
  /** TLS / plaintext of those figures; null unless both exist and both are limits (not lower bounds) */
  tlsToPlaintextRatio: number | null;
  /** CPU cores and peak MiB per container at the TLS variant's highest zero-loss rate */
  usageAtHighestTls: JudgedStep["usage"] | null;
}

export function summarize(variants: readonly VariantResult[]): BenchSummary {
  const highest: BenchSummary["highestZeroLossSpansPerSecond"] = {};
  const limitFound: BenchSummary["limitFound"] = {};
  for (const v of variants) {
    highest[v.collectorToTempo] = highestZeroLoss(v.steps)?.offeredSpansPerSecond ?? null;
    limitFound[v.collectorToTempo] = v.steps.some((s) => !s.verdict.zeroLoss && !s.verdict.generatorLimited);
  }
  const tls = limitFound.tls ? highest.tls : null;
  const plain = limitFound.plaintext ? highest.plaintext : null;
  const tlsSteps = variants.find((v) => v.collectorToTempo === "tls")?.steps ?? [];
  return {
    highestZeroLossSpansPerSecond: highest,
    limitFound,
    tlsToPlaintextRatio: tls && plain ? Number((tls / plain).toFixed(3)) : null,
    usageAtHighestTls: highestZeroLoss(tlsSteps)?.usage ?? null,
  };
}

function pad(cells: string[][]): string {
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)));
  return cells.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")).join("\n");
}

export function formatTable(variants: readonly VariantResult[], summary: BenchSummary): string {
  const services = [...new Set(variants.flatMap((v) => v.steps.flatMap((s) => Object.keys(s.usage))))];
  const lines: string[] = [];
  for (const variant of variants) {
    lines.push(`collector -> Tempo over ${variant.collectorToTempo}:`);
    const header = ["spans/s", "sent", "in Tempo", "lost", "drain s", "p99 ms", ...services.map((s) => `${s} cores/MiB`), "verdict"];
    const rows = variant.steps.map((s) => [
      String(s.offeredSpansPerSecond),
      String(s.generator.spansSent),
      String(s.tempo.distributorReceived),
      String(s.generator.spansSent - s.tempo.distributorReceived),
      s.drainSeconds === null ? "-" : s.drainSeconds.toFixed(1),
      s.generator.exportLatencyMs.p99.toFixed(0),
      ...services.map((service) => (s.usage[service] ? `${s.usage[service]!.cpuCores.toFixed(2)}/${s.usage[service]!.peakMemoryMiB.toFixed(0)}` : "-")),
      s.verdict.zeroLoss ? "zero loss" : s.verdict.generatorLimited ? "generator behind" : s.verdict.fellBehindOnly ? "fell behind" : "LOSS",
    ]);
    lines.push(pad([header, ...rows]));
    for (const s of variant.steps.filter((step) => !step.verdict.zeroLoss)) lines.push(`  at ${s.offeredSpansPerSecond}: ${s.verdict.problems.join("; ")}`);
    lines.push("");
  }
  const figure = (variant: CollectorToTempo): string => {
    const v = summary.highestZeroLossSpansPerSecond[variant];
    if (v === undefined) return "not measured";
    if (v === null) return "none";
    return summary.limitFound[variant] ? `${v} spans/s` : `>= ${v} spans/s (no step lost spans: a lower bound, not the limit)`;
  };
  lines.push(`highest zero-loss rate, TLS:       ${figure("tls")}`);
  lines.push(`highest zero-loss rate, plaintext: ${figure("plaintext")}`);
  lines.push(`TLS / plaintext:                   ${summary.tlsToPlaintextRatio === null ? "- (needs both limits)" : `${(summary.tlsToPlaintextRatio * 100).toFixed(1)} %`}`);
  return lines.join("\n");
}
