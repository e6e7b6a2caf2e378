/**
 * Prometheus' /federate answer for a distributed stack, written by hand the way Prometheus writes
 * it: each family once under `# TYPE ... untyped`, every series labelled with the `instance` and
 * `job` it was scraped under, and a timestamp on every sample.
 */
import { readIngesterView, type IngesterView } from '../../../verifier/distributedCheck';
import { parsePrometheusText } from '../../../verifier/tempoMetrics';

export const FEDERATE_TIMESTAMP = 1796666044321;

export type RingState = 'ACTIVE' | 'JOINING' | 'LEAVING' | 'PENDING' | 'Unhealthy';

export interface FederateScript {
  /** Prometheus has scraped nothing yet: /federate answers with an empty body */
  nothingScraped?: boolean;
  /** the scrape time every sample carries (default FEDERATE_TIMESTAMP, a fixed past instant) */
  scrapedAtMs?: number;
  /** traces created per ingester replica (1-based by position); undefined: that ingester has no series yet */
  created?: Array<number | undefined>;
  /** tempo_ring_members{name="ingester"} as each watcher (`instance`, e.g. tempo-distributor-1:3200) reports it, by state */
  ring?: Record<string, Partial<Record<RingState, number>>>;
  /** failed flushes per ingester replica */
  failedFlushes?: number[];
  /** Prometheus' own `up` of each scraped container (`instance`, e.g. tempo-ingester-3:3200): 0 when its last scrape failed */
  up?: Record<string, 0 | 1>;
  /** tempo_memberlist_client_cluster_members_count of each gossiping container (`instance`) */
  memberlist?: Record<string, number>;
  /** the distributors' counters, summed (split over two distributors) */
  distributor?: { spansReceived: number; appends: number; appendFailures: number };
}

export function federateText(script: FederateScript): string {
  if (script.nothingScraped) return '';
  const ts = script.scrapedAtMs ?? FEDERATE_TIMESTAMP;
  const lines: string[] = [];
  if (script.distributor) {
    const d = script.distributor;
    const split = (n: number): [number, number] => [Math.ceil(n / 2), Math.floor(n / 2)];
    const families: Array<[string, number, string]> = [
      ['tempo_distributor_spans_received_total', d.spansReceived, 'tenant="single-tenant"'],
      ['tempo_distributor_ingester_appends_total', d.appends, 'ingester="10.89.0.7:9095"'],
      ['tempo_distributor_ingester_append_failures_total', d.appendFailures, 'ingester="10.89.0.7:9095"'],
    ];
    for (const [name, total, label] of families) {
      lines.push(`# TYPE ${name} untyped`);
      split(total).forEach((n, i) => lines.push(`${name}{${label},instance="tempo-distributor-${i + 1}:3200",job="tempo-distributor"} ${n} ${ts}`));
    }
  }
  if (script.created) {
    lines.push('# TYPE tempo_ingester_traces_created_total untyped');
    script.created.forEach((n, i) => {
      if (n !== undefined) lines.push(`tempo_ingester_traces_created_total{instance="tempo-ingester-${i + 1}:3200",job="tempo-ingester",tenant="single-tenant"} ${n} ${ts}`);
    });
  }
  if (script.failedFlushes) {
    lines.push('# TYPE tempo_ingester_failed_flushes_total untyped');
    script.failedFlushes.forEach((n, i) => lines.push(`tempo_ingester_failed_flushes_total{instance="tempo-ingester-${i + 1}:3200",job="tempo-ingester"} ${n} ${ts}`));
  }
  if (script.ring) {
    lines.push('# TYPE tempo_ring_members untyped');
    for (const [watcher, states] of Object.entries(script.ring)) {
      const job = watcher.replace(/-\d+:\d+$/, '');
      for (const state of ['ACTIVE', 'JOINING', 'LEAVING', 'PENDING', 'Unhealthy'] as const) {
        lines.push(`tempo_ring_members{instance="${watcher}",job="${job}",name="ingester",state="${state}"} ${states[state] ?? 0} ${ts}`);
      }
      // Other rings the same watcher reports must not count as ingesters.
      lines.push(`tempo_ring_members{instance="${watcher}",job="${job}",name="metrics-generator",state="ACTIVE"} 1 ${ts}`);
    }
  }
  if (script.memberlist) {
    lines.push('# TYPE tempo_memberlist_client_cluster_members_count untyped');
    for (const [instance, value] of Object.entries(script.memberlist)) lines.push(`tempo_memberlist_client_cluster_members_count{instance="${instance}",job="${instance.replace(/(-\d+)?:\d+$/, '')}"} ${value} ${ts}`);
  }
  if (script.up) {
    lines.push('# TYPE up untyped');
    for (const [instance, value] of Object.entries(script.up)) lines.push(`up{instance="${instance}",job="${instance.replace(/(-\d+)?:\d+$/, '')}"} ${value} ${ts}`);
  }
  lines.push('# TYPE tempo_build_info untyped');
  lines.push(`tempo_build_info{instance="tempo-distributor-1:3200",job="tempo-distributor",version="2.10.8"} 1 ${ts}`);
  return `${lines.join('\n')}\n`;
}

export const ingesterView = (script: FederateScript): IngesterView => readIngesterView(parsePrometheusText(federateText(script)));
