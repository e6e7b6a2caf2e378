/**
 * The pipeline's own counts of spans, read where each hop keeps them: the collector's telemetry
 * (accepted and refused by its receiver, sent and failed by its Tempo exporter, the queue) and
 * Tempo's distributor (received, refused by its receiver, discarded). A loss shows as the
 * difference between two hops over a step.
 */
import { docker } from "../e2e/support/docker";
import { get, type ClientTls } from "../e2e/support/https";
import { counter } from "../e2e/support/e2eStack";

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
  ingesterAppendFailures: number;
  liveTraces: number;
}

/**
 * A counter by its name with or without `_total`: the collector's Prometheus exporter appends it to
 * counters, Tempo names some counters without it; summed over every label set.
 */
function total(metrics: string, name: string): number {
  return counter(metrics, name) + counter(metrics, `${name}_total`);
}

/** Sum of a metric's samples whose label has the given value. */
function labelled(metrics: string, name: string, label: string, value: string): number {
  return metrics
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) && line.includes(`${label}="${value}"`))
    .reduce((sum, line) => sum + Number(line.trim().split(/\s+/).pop()), 0);
}

export function parseCollectorCounters(metrics: string): CollectorCounters {
  if (!metrics.includes("otelcol_")) throw new Error("the collector's telemetry has no otelcol_ metrics");
  return {
    receiverAccepted: total(metrics, "otelcol_receiver_accepted_spans"),
    receiverRefused: total(metrics, "otelcol_receiver_refused_spans"),
    exporterSent: total(metrics, "otelcol_exporter_sent_spans"),
    exporterSendFailed: total(metrics, "otelcol_exporter_send_failed_spans"),
    exporterEnqueueFailed: total(metrics, "otelcol_exporter_enqueue_failed_spans"),
    queueSize: counter(metrics, "otelcol_exporter_queue_size"),
  };
}

export function parseTempoCounters(metrics: string): TempoCounters {
  if (!metrics.includes("tempo_distributor_")) throw new Error("Tempo's /metrics has no tempo_distributor_ metrics");
  return {
    receiverAccepted: total(metrics, "tempo_receiver_accepted_spans"),
    receiverRefused: total(metrics, "tempo_receiver_refused_spans"),
    distributorReceived: total(metrics, "tempo_distributor_spans_received"),
    discarded: total(metrics, "tempo_discarded_spans"),
    discardedLiveTracesExceeded: labelled(metrics, "tempo_discarded_spans_total", "reason", "live_traces_exceeded"),
    discardedRateLimited: labelled(metrics, "tempo_discarded_spans_total", "reason", "rate_limited"),
    discardedTraceTooLarge: labelled(metrics, "tempo_discarded_spans_total", "reason", "trace_too_large"),
    ingesterAppendFailures: total(metrics, "tempo_distributor_ingester_append_failures"),
    liveTraces: counter(metrics, "tempo_ingester_live_traces"),
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

export async function readTempoCounters(tempoApiUrl: string, client: ClientTls): Promise<TempoCounters> {
  const reply = await get(`${tempoApiUrl}/metrics`, client);
  if (reply.status !== 200) throw new Error(`Tempo /metrics answered HTTP ${reply.status}`);
  return parseTempoCounters(reply.body);
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
