/**
 * Tempo in microservices mode: its containers publish no port, so their counters are read from the
 * Prometheus that scrapes every one of them, through its /federate endpoint (Prometheus text, each
 * series labelled with the `instance` it was scraped from). Pure functions over those readings.
 */
import type { Diagnosis } from './diagnose';
import { counterIncrease, GENERATOR_METRICS, type ParsedMetrics, sumByLabel, sumMetric, TEMPO_METRICS, type TempoCounters } from './tempoMetrics';

export const DISTRIBUTED_METRICS = {
  /** dskit ring members by state, exported by every component that watches the ingester ring (distributors, queriers). */
  ringMembers: 'tempo_ring_members',
  failedFlushes: 'tempo_ingester_failed_flushes_total',
  flushes: 'tempo_ingester_blocks_flushed_total',
  /** Members each container's memberlist sees: a member that cannot gossip (TLS, cluster label) is missing. */
  memberlistMembers: 'tempo_memberlist_client_cluster_members_count',
  /** Prometheus' own per-target series: 0 when a container did not answer its last scrape. */
  scrapeUp: 'up',
} as const;

/** The families the verifier reads, and only those: a federation of every Tempo series would be megabytes. */
function federatedFamilies(): string[] {
  const names = new Set<string>();
  for (const value of [...Object.values(TEMPO_METRICS), ...Object.values(GENERATOR_METRICS), ...Object.values(DISTRIBUTED_METRICS)]) {
    for (const name of Array.isArray(value) ? value : [value]) names.add(name as string);
  }
  return [...names].sort();
}

/** GET this for every Tempo container's counters at once. */
export function federateUrl(prometheusUrl: string): string {
  const selector = `{__name__=~"${federatedFamilies().join('|')}"}`;
  return `${prometheusUrl.replace(/\/$/, '')}/federate?match[]=${encodeURIComponent(selector)}`;
}

/** Each instance's increase; a value below its earlier one is a counter restarted from 0 (a replaced container). */
function increases(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([instance, value]) => [instance, counterIncrease(before[instance] ?? 0, value)]));
}

/**
 * `after` with its traces-created sum set to before + the sum of each ingester's own increase, so an
 * ingester replaced during (or just before) the run counts from 0 instead of pulling the sum down.
 */
export function withSummedIncrease(before: TempoCounters, after: TempoCounters, ingestersBefore: IngesterView, ingestersAfter: IngesterView): TempoCounters {
  const metric = TEMPO_METRICS.tracesCreated2x;
  if (after.tracesCreated[metric] === undefined) return after;
  const increase = Object.values(increases(ingestersBefore.tracesCreated, ingestersAfter.tracesCreated)).reduce((sum, n) => sum + n, 0);
  return { ...after, tracesCreated: { ...after.tracesCreated, [metric]: (before.tracesCreated[metric] ?? 0) + increase } };
}

/** Ingesters that must take a push for it to succeed: a majority of the replication factor. */
export function writeQuorum(replicationFactor: number): number {
  return Math.floor(replicationFactor / 2) + 1;
}

export interface IngesterView {
  /** traces created, per ingester (`instance` label) */
  tracesCreated: Record<string, number>;
  /** failed block flushes, per ingester */
  failedFlushes: Record<string, number>;
  /** ACTIVE ingesters as the ring's watchers see them (the most any watcher reports) */
  activeInRing: number | undefined;
  /** members per state, as the watcher reporting the most ACTIVE ones sees them */
  ringStates: Record<string, number>;
  /** Tempo containers (`instance`) whose last scrape failed: stopped, crashing, or refusing Prometheus */
  down: string[];
  /** memberlist members each gossiping container sees (`instance` -> count) */
  memberlistMembers: Record<string, number>;
  /** when Prometheus last scraped each Tempo container (`instance` -> epoch ms of its `up` sample), where /federate says */
  scrapedAtMs: Record<string, number>;
}

/**
 * Containers Prometheus has not scraped since `sinceMs`: their series are still the values of
 * whatever ran under that name before (a replaced ingester's old counter), not a baseline.
 */
export function scrapedBefore(view: IngesterView, sinceMs: number): string[] {
  return Object.entries(view.scrapedAtMs).filter(([, at]) => at < sinceMs).map(([instance]) => instance).sort();
}

export function readIngesterView(metrics: ParsedMetrics): IngesterView {
  const tracesCreated = sumByLabel(metrics, TEMPO_METRICS.tracesCreated2x, 'instance');
  const failedFlushes = sumByLabel(metrics, DISTRIBUTED_METRICS.failedFlushes, 'instance');
  const isIngesterRing = (labels: Record<string, string>): boolean => labels.name === 'ingester';
  const activeByWatcher = sumByLabel(metrics, DISTRIBUTED_METRICS.ringMembers, 'instance', (l) => isIngesterRing(l) && l.state === 'ACTIVE');
  const watcher = Object.entries(activeByWatcher).sort((a, b) => b[1] - a[1])[0]?.[0];
  const ringStates = watcher ? sumByLabel(metrics, DISTRIBUTED_METRICS.ringMembers, 'state', (l) => isIngesterRing(l) && l.instance === watcher) : {};
  const anyRing = sumMetric(metrics, DISTRIBUTED_METRICS.ringMembers, isIngesterRing);
  const down = Object.entries(sumByLabel(metrics, DISTRIBUTED_METRICS.scrapeUp, 'instance')).filter(([, up]) => up === 0).map(([instance]) => instance).sort();
  const memberlistMembers = sumByLabel(metrics, DISTRIBUTED_METRICS.memberlistMembers, 'instance');
  const scrapedAtMs: Record<string, number> = {};
  for (const sample of metrics.get(DISTRIBUTED_METRICS.scrapeUp)?.samples ?? []) {
    const instance = sample.labels.instance;
    if (instance !== undefined && sample.timestampMs !== undefined) scrapedAtMs[instance] = sample.timestampMs;
  }
  return { tracesCreated, failedFlushes, activeInRing: anyRing === undefined ? undefined : (watcher ? activeByWatcher[watcher] : 0), ringStates, down, memberlistMembers, scrapedAtMs };
}

export interface DistributedSummary {
  ingesters: number;
  replicationFactor: number;
  activeInRing: number | null;
  ringStates: Record<string, number>;
  /** per ingester: traces it counted during the verification */
  tracesCreatedPerIngester: Record<string, number>;
}

/**
 * What a distributed stack must show on top of the summed rise: every ingester ACTIVE in the ring,
 * every ingester scraped, and a write quorum of them counting traces. Flush failures to object
 * storage are reported whenever they rose.
 */
export function checkDistributed(
  before: IngesterView,
  after: IngesterView,
  spec: { ingesters: number; replicationFactor: number },
): { summary: DistributedSummary; diagnoses: Diagnosis[]; warnings: Diagnosis[] } {
  const rise = increases(before.tracesCreated, after.tracesCreated);
  const summary: DistributedSummary = {
    ingesters: spec.ingesters,
    replicationFactor: spec.replicationFactor,
    activeInRing: after.activeInRing ?? null,
    ringStates: after.ringStates,
    tracesCreatedPerIngester: rise,
  };
  const diagnoses: Diagnosis[] = [];
  const warnings: Diagnosis[] = [];
  if (after.down.length > 0) {
    diagnoses.push({
      code: 'TEMPO_CONTAINERS_DOWN',
      message:
        `${after.down.length} Tempo container(s) did not answer Prometheus' last scrape (${after.down.join(', ')}). A Tempo container that reads object storage exits at start ` +
        'when it cannot reach the store, trust its certificate or sign in to it, and Docker restarts it over and over: its log says which.',
      configKeys: [
        'tempo storage.trace.s3.tls_ca_path and tls_server_name (the store\'s certificate must be signed by that CA and name that host)',
        'tempo storage.trace.s3.endpoint (host:port, no scheme) and bucket',
        'the S3 key pair (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)',
        'docker logs <stack>-<container>',
      ],
      evidence: { down: after.down.join(', ') },
    });
  }
  // Every gossiping container reports how many members it sees; all should see every one of them.
  // A member on the wrong side of memberlist TLS, or with another cluster label, sees itself alone
  // while the others miss it: no counter records the refused packets (dskit), this is the trace.
  const gossiping = Object.keys(after.memberlistMembers).length;
  const short = Object.entries(after.memberlistMembers).filter(([, n]) => n < gossiping).sort((a, b) => a[1] - b[1]);
  // Containers that are down explain the missing members themselves.
  const memberlistSplit: Diagnosis | undefined =
    short.length > 0 && after.down.length === 0
      ? {
          code: 'MEMBERLIST_INCOMPLETE',
          message:
            `${short.length} of ${gossiping} gossiping Tempo containers see fewer than ${gossiping} memberlist members (${short.map(([i, n]) => `${i} sees ${n}`).join(', ')}): ` +
            'memberlist refuses a member whose TLS or cluster label differs from the others\', so its rings never reach it.',
          configKeys: ['tempo memberlist.tls_enabled, tls_ca_path and tls_server_name (the same on every member)', 'tempo memberlist.cluster_label (the same on every member)', 'tempo memberlist.join_members'],
          evidence: Object.fromEntries(short),
        }
      : undefined;
  const ringKeys = ['tempo memberlist.join_members and memberlist.tls_* (every member must trust the others under tls_server_name)', 'tempo memberlist.cluster_label (the same on every member)', "each ingester's log (not joining the ring)"];
  if (after.activeInRing === undefined) {
    diagnoses.push({
      code: 'INGESTER_RING_INCOMPLETE',
      message: `No Tempo container reports the ingester ring (${DISTRIBUTED_METRICS.ringMembers}{name="ingester"}): Prometheus scrapes none of the distributors or queriers, or they never joined memberlist.`,
      configKeys: ['prometheus scrape_configs of the tempo jobs', ...ringKeys],
      evidence: {},
    });
  } else if (after.activeInRing < spec.ingesters) {
    const states = Object.entries(after.ringStates).map(([state, n]) => `${n} ${state}`).join(', ') || 'none';
    diagnoses.push({
      code: 'INGESTER_RING_INCOMPLETE',
      message: `${after.activeInRing} of ${spec.ingesters} ingesters are ACTIVE in the ring (members: ${states}): an ingester missing from the ring takes no writes, and with fewer than a quorum of ${Math.floor(spec.replicationFactor / 2) + 1} every write fails.`,
      configKeys: ringKeys,
      evidence: { activeInRing: after.activeInRing, ingesters: spec.ingesters },
    });
  }
  // A split membership explains an incomplete ring; on its own it is worth a warning.
  if (memberlistSplit) {
    if (diagnoses.some((d) => d.code === 'INGESTER_RING_INCOMPLETE')) diagnoses.unshift(memberlistSplit);
    else warnings.push(memberlistSplit);
  }
  // Each push is complete once a quorum of its ingesters took it; the distributor cancels the
  // slowest (grafana/tempo#5342), so one ingester may miss a burst of traces entirely, and then has
  // no series of the counter yet (Tempo creates it on the first trace). What must hold: at least a
  // quorum of ingesters counted traces. Which ingesters are in the ring is checked above.
  const quorum = writeQuorum(spec.replicationFactor);
  const counting = Object.values(rise).filter((n) => n > 0).length;
  if (counting < Math.min(quorum, spec.ingesters)) {
    const perIngester = Object.entries(rise).map(([instance, n]) => `${instance} +${n}`).join(', ') || 'none';
    diagnoses.push({
      code: 'INGESTER_NOT_COUNTING',
      message:
        `Each push must reach a quorum of ${quorum} of the ${spec.replicationFactor} ingesters holding its traces, but only ${counting} counted traces (${perIngester}): ` +
        'the distributors cannot reach the others (ingester_client TLS), or Prometheus cannot scrape them.',
      configKeys: ['tempo ingester_client.grpc_client_config.tls_* (server name in every ingester certificate)', 'tempo server.grpc_tls_config on the ingesters', 'prometheus scrape_configs of the ingesters'],
      evidence: { ingestersCounting: counting, ingesters: spec.ingesters, quorum },
    });
  }
  const flushFailures = Object.entries(after.failedFlushes)
    .map(([instance, value]) => [instance, Math.max(0, value - (before.failedFlushes[instance] ?? 0))] as const)
    .filter(([, n]) => n > 0);
  if (flushFailures.length > 0) {
    warnings.push({
      code: 'FLUSHES_FAILING',
      message: `Ingesters failed to flush blocks to object storage (${flushFailures.map(([i, n]) => `${i} +${n}`).join(', ')}): traces stay in their WAL until a flush succeeds, and are lost with it.`,
      configKeys: ['tempo storage.trace.s3.endpoint, bucket and tls_ca_path/tls_server_name (the store must be trusted)', 'the S3 key pair (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)', "the ingesters' log (\"failed to flush\")"],
      evidence: Object.fromEntries(flushFailures),
    });
  }
  return { summary, diagnoses, warnings };
}
