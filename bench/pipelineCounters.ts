/**
 * The pipeline's own counts of spans, read where each hop keeps them: the collector's telemetry
 * (accepted and refused by its receiver, sent and failed by its Tempo exporter, the queue) and
 * Tempo's distributor (received, refused by its receiver, discarded). A loss shows as the
 * difference between two hops over a step. Tempo's figures are summed over its containers: one
 * single binary, or (microservices) every distributor and ingester, read through Prometheus.
 */
import { docker } from "../e2e/support/docker";
import { get, type ClientTls } from "../e2e/support/https";

export interface CollectorCounters {
  receiverAccepted: number;
  receiverRefused: number;
  exporterSent: number;
  exporterSendFailed: number;
  exporterEnqueueFailed: number;
  queueSize: number;
}

export interface TempoCounters {
  receiverAccepted: number;
  receiverRefused: number;
  distributorReceived: number;
  discarded: number;
  /** the reasons Tempo gives for discarding (tempo_discarded_spans_total{reason}), each counted apart */
  discardedLiveTracesExceeded: number;
  discardedRateLimited: number;
  discardedTraceTooLarge: number;
  /**
   * Batches a distributor failed to append to one ingester. With replication the distributor
   * cancels the writes beyond the quorum and counts them here (grafana/tempo#5342): not a loss then.
   */
  ingesterAppendFailures: number;
  /** a gauge; in microservices mode summed over the ingesters, so each trace counts once per copy */
  liveTraces: number;
}

/** One sample line of Prometheus' text format: `name{labels} value [timestamp]`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** milliseconds since the epoch; Prometheus' /federate writes one on every line, a target's /metrics usually none */
  timestampMs?: number;
}

/**
 * One sample line read by its grammar: the value is the first field after the name and its label
 * set, the optional field after it the timestamp. (e2e/support/e2eStack's `counter()` takes the
 * LAST field of a line, which on /federate's lines is the timestamp, not the value.) Label values
 * may hold spaces, braces and escaped quotes. Comments and blank lines read as undefined.
 */
export function parseSampleLine(line: string): Sample | undefined {
  const text = line.trim();
  if (text === "" || text.startsWith("#")) return undefined;
  const nameEnd = text.search(/[{\s]/);
  if (nameEnd <= 0) return undefined;
  const name = text.slice(0, nameEnd);
  const labels: Record<string, string> = {};
  let i = nameEnd;
  if (text[i] === "{") {
    i++;
    for (;;) {
      while (text[i] === " " || text[i] === ",") i++;
      if (text[i] === "}") {
        i++;
        break;
      }
      const eq = text.indexOf("=", i);
      if (eq < 0 || text[eq + 1] !== '"') throw new Error(`not a Prometheus sample line: ${line}`);
      const label = text.slice(i, eq).trim();
      let value = "";
      let j = eq + 2;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === "\\") {
          j++;
          value += text[j] === "n" ? "\n" : text[j];
        } else value += text[j];
      }
      if (j >= text.length) throw new Error(`not a Prometheus sample line (unterminated label value): ${line}`);
      labels[label] = value;
      i = j + 1;
    }
  }
  const fields = text.slice(i).trim().split(/\s+/);
  const value = fields[0] === "+Inf" ? Infinity : fields[0] === "-Inf" ? -Infinity : Number(fields[0]);
  if (fields[0] === undefined || fields[0] === "" || (Number.isNaN(value) && fields[0] !== "NaN")) throw new Error(`not a Prometheus sample line (no value): ${line}`);
  const timestampMs = fields[1] === undefined ? undefined : Number(fields[1]);
  return { name, labels, value, ...(timestampMs === undefined || Number.isNaN(timestampMs) ? {} : { timestampMs }) };
}

export function parseSamples(metrics: string): Sample[] {
  return metrics.split("\n").flatMap((line) => parseSampleLine(line) ?? []);
}

/** Sum of one family's samples over every label set (every instance, on /federate), those matching `where` if given. */
export function sumFamily(samples: readonly Sample[], name: string, where: (labels: Record<string, string>) => boolean = () => true): number {
  return samples.filter((s) => s.name === name && where(s.labels)).reduce((sum, s) => sum + s.value, 0);
}

/**
 * A counter by its name with or without `_total`: the collector's Prometheus exporter appends it to
 * counters, Tempo names some counters without it; summed over every label set.
 */
function total(samples: readonly Sample[], name: string): number {
  return sumFamily(samples, name) + sumFamily(samples, `${name}_total`);
}

/** Sum of a metric's samples whose label has the given value. */
function labelled(samples: readonly Sample[], name: string, label: string, value: string): number {
  return sumFamily(samples, name, (labels) => labels[label] === value);
}

export function parseCollectorCounters(metrics: string): CollectorCounters {
  if (!metrics.includes("otelcol_")) throw new Error("the collector's telemetry has no otelcol_ metrics");
  const samples = parseSamples(metrics);
  return {
    receiverAccepted: total(samples, "otelcol_receiver_accepted_spans"),
    receiverRefused: total(samples, "otelcol_receiver_refused_spans"),
    exporterSent: total(samples, "otelcol_exporter_sent_spans"),
    exporterSendFailed: total(samples, "otelcol_exporter_send_failed_spans"),
    exporterEnqueueFailed: total(samples, "otelcol_exporter_enqueue_failed_spans"),
    queueSize: sumFamily(samples, "otelcol_exporter_queue_size"),
  };
}

export function parseTempoCounters(metrics: string): TempoCounters {
  if (!metrics.includes("tempo_distributor_")) throw new Error("Tempo's /metrics has no tempo_distributor_ metrics");
  const samples = parseSamples(metrics);
  return {
    receiverAccepted: total(samples, "tempo_receiver_accepted_spans"),
    receiverRefused: total(samples, "tempo_receiver_refused_spans"),
    distributorReceived: total(samples, "tempo_distributor_spans_received"),
    discarded: total(samples, "tempo_discarded_spans"),
    discardedLiveTracesExceeded: labelled(samples, "tempo_discarded_spans_total", "reason", "live_traces_exceeded"),
    discardedRateLimited: labelled(samples, "tempo_discarded_spans_total", "reason", "rate_limited"),
    discardedTraceTooLarge: labelled(samples, "tempo_discarded_spans_total", "reason", "trace_too_large"),
    ingesterAppendFailures: total(samples, "tempo_distributor_ingester_append_failures"),
    liveTraces: sumFamily(samples, "tempo_ingester_live_traces"),
  };
}

/**
 * The collector's telemetry listens on its container's loopback only (no TLS there), so it is read
 * from inside the container's network namespace by a throwaway busybox container.
 */
export async function readCollectorCounters(collectorContainer: string, telemetryPort: number, helperImage: string): Promise<CollectorCounters> {
  const text = await docker(["run", "--rm", "--network", `container:${collectorContainer}`, helperImage, "wget", "-qO-", `http://127.0.0.1:${telemetryPort}/metrics`]);
  return parseCollectorCounters(text);
}

/**
 * One reading of Tempo's counters and the time it answers for: a reading taken at `takenAtMs`
 * holds every span Tempo had counted by then (and perhaps some after).
 */
export interface TempoReading {
  counters: TempoCounters;
  /** ms since the epoch: when the oldest figure in the reading was taken */
  takenAtMs: number;
}

/**
 * Where a step reads Tempo's counters: Tempo's own /metrics (monolithic: one process publishes its
 * API), or Prometheus' /federate (microservices: the distributors and ingesters publish no port, and
 * their counters are summed over every container Prometheus scrapes).
 */
export interface TempoCounterSource {
  /** for the log and the report */
  readonly description: string;
  /** how long a change in Tempo may take to show in a reading: 0 when read from Tempo itself */
  readonly lagSeconds: number;
  read(): Promise<TempoReading>;
}

/** The families parseTempoCounters reads (each with or without `_total`): all a /federate request asks for. */
export const TEMPO_COUNTER_FAMILIES = [
  "tempo_receiver_accepted_spans",
  "tempo_receiver_refused_spans",
  "tempo_distributor_spans_received",
  "tempo_discarded_spans",
  "tempo_distributor_ingester_append_failures",
  "tempo_ingester_live_traces",
] as const;

export function tempoMetricsSource(tempoApiUrl: string, client: ClientTls): TempoCounterSource {
  return {
    description: "Tempo's /metrics",
    lagSeconds: 0,
    async read() {
      const takenAtMs = Date.now();
      const reply = await get(`${tempoApiUrl}/metrics`, client);
      if (reply.status !== 200) throw new Error(`Tempo /metrics answered HTTP ${reply.status}`);
      return { counters: parseTempoCounters(reply.body), takenAtMs };
    },
  };
}

/** Prometheus' /federate for exactly the families the bench reads (a federation of every Tempo series would be megabytes). */
export function tempoFederateUrl(prometheusUrl: string): string {
  const selector = `{__name__=~"(${TEMPO_COUNTER_FAMILIES.join("|")})(_total)?"}`;
  return `${prometheusUrl.replace(/\/$/, "")}/federate?match[]=${encodeURIComponent(selector)}`;
}

/**
 * Tempo's counters from a /federate answer: each family summed over every container (`instance`),
 * and the time of the oldest sample, since /federate returns each series' last scraped value.
 */
export function parseFederatedTempo(text: string): TempoReading {
  const stamps = parseSamples(text).map((s) => s.timestampMs);
  if (stamps.length === 0 || stamps.some((t) => t === undefined)) throw new Error("Prometheus' /federate answer has samples without a timestamp (or none at all)");
  return { counters: parseTempoCounters(text), takenAtMs: Math.min(...(stamps as number[])) };
}

/**
 * Prometheus scrapes each Tempo container every `scrapeIntervalSeconds`, so a reading is up to that
 * old, plus a scrape's own time (the 5 s margin). The timestamps say how old: stepUp waits for a
 * reading taken after the moment it needs (see TempoReading), never trusts a stale one.
 */
export function prometheusFederateSource(prometheusUrl: string, client: ClientTls, scrapeIntervalSeconds: number): TempoCounterSource {
  const url = tempoFederateUrl(prometheusUrl);
  return {
    description: `Prometheus' /federate (Tempo's containers scraped every ${scrapeIntervalSeconds} s)`,
    lagSeconds: scrapeIntervalSeconds + 5,
    async read() {
      const reply = await get(url, client);
      if (reply.status !== 200) throw new Error(`Prometheus /federate answered HTTP ${reply.status}: ${reply.body.slice(0, 300)}`);
      return parseFederatedTempo(reply.body);
    },
  };
}

/** after - before, field by field (gauges keep their `after` value). */
export function delta<T extends object>(before: T, after: T, gauges: ReadonlyArray<keyof T> = []): T {
  const out = { ...after };
  for (const key of Object.keys(after) as Array<keyof T>) {
    if (gauges.includes(key)) continue;
    (out[key] as number) = (after[key] as number) - (before[key] as number);
  }
  return out;
}
