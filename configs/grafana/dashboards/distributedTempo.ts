import { gossips } from "../../../model/services";
import type { StackTopology } from "../../../model/types";
import { prometheusPanel, quoted, RATE_WINDOW, stackDashboard, type PromPanel } from "./panels";

export const DISTRIBUTED_TEMPO_DASHBOARD_UID_PREFIX = "tracing-distributed";

/**
 * `increase` window of the flush panels. An ingester cuts its head block at the latest
 * `tempo.maxBlockDurationSeconds` after the block's first trace, then flushes it within seconds:
 * three such periods always hold a flush while traffic flows, and keep the last one in view a
 * while after it stops (300 s on the distributed stack: 15m). A `rate` over one minute would be
 * 0 nearly all the time.
 */
function flushWindow(model: StackTopology): string {
  const seconds = Math.max(60, 3 * model.config.tempo.maxBlockDurationSeconds);
  return seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`;
}

/**
 * Ingestion per component, the ring, flushes and object storage of microservices-mode Tempo.
 * Prometheus scrapes each Tempo component as its own job (the component's network alias) and each
 * replica as its own `instance`. Every container runs the same binary and so exposes every
 * component's metrics, most at 0: the job matcher keeps the containers that do the work.
 * Tempo creates labelled counters (append failures) only at their first event: `or vector(0)`
 * makes a healthy stack show 0, not "No data". Unlabelled counters (flushes, compaction and
 * retention errors) exist at 0 from the start and need none: "No data" there means Prometheus
 * does not scrape that component.
 */
function distributedPanels(model: StackTopology): PromPanel[] {
  const aliases = model.config.networkAliases;
  const job = (alias: string): string => `job=${quoted(alias)}`;
  const distributors = job(aliases.tempoDistributor);
  const ingesters = job(aliases.tempoIngester);
  const compactor = job(aliases.tempoCompactor);
  const { replicas, replicationFactor, objectStorage } = model.config.tempo;
  const quorum = Math.floor(replicationFactor / 2) + 1;
  const gossipMembers = Object.values(model.services).filter((service) => gossips(service.component)).length;
  const window = flushWindow(model);
  const s3Requests = "tempodb_backend_request_duration_seconds_count";
  const storeSettings = `tempo.objectStorage (kind ${objectStorage.kind}, bucket ${objectStorage.bucket || "unset"})`;
  return [
    {
      title: "Spans received per distributor",
      queries: [{ expr: `sum by (instance) (rate(tempo_distributor_spans_received_total{${distributors}}[${RATE_WINDOW}]))`, legend: "{{instance}}" }],
      description: `The collector balances its exports over all ${replicas.distributor} distributors (round robin over their shared alias), so each should carry a share. One at zero while the app sends traffic: the collector cannot reach that distributor (its container, port 4317, TLS).`,
    },
    {
      title: "Traces created per ingester",
      queries: [{ expr: `sum by (instance) (rate(tempo_ingester_traces_created_total{${ingesters}}[${RATE_WINDOW}]))`, legend: "{{instance}}" }],
      description: `Every trace is written to ${replicationFactor} ingesters (tempo.replicationFactor), so all ${replicas.ingester} should rise together and their sum is about ${replicationFactor} times the traces. One at zero: it is not ACTIVE in the ring (see the ring panel) or the distributors cannot append to it (see append failures).`,
    },
    {
      title: "Live traces per ingester",
      queries: [{ expr: `sum by (instance) (tempo_ingester_live_traces{${ingesters}})`, legend: "{{instance}}" }],
      description: "Traces each ingester holds in memory until they have been idle for tempo.traceIdlePeriodSeconds. Climbing without falling back: traces are not being cut into blocks; check the flush panels.",
    },
    {
      title: "Ingester ring members by state (as the distributors see it)",
      queries: [{ expr: `max by (state) (tempo_ring_members{name="ingester", ${distributors}})`, legend: "{{state}}" }],
      description: `Healthy: ACTIVE = ${replicas.ingester}, every other state 0. A write needs ${quorum} of ${replicationFactor} ACTIVE ingesters. Unhealthy: an ingester stopped heart-beating (container down, or its gossip no longer reaches the distributors: memberlist TLS, cluster_label). Fewer members than ingesters: one never joined the ring (see memberlist members).`,
    },
    {
      title: "Memberlist members per container",
      queries: [{ expr: `max by (instance) (tempo_memberlist_client_cluster_members_count)`, legend: "{{instance}}" }],
      description: `Every container that owns or watches a ring (all but the query-frontend) should count ${gossipMembers} members. A container that cannot gossip is missing: from the others' count, and its own stays at 1. Check memberlist TLS (certificate, CA, server name: TLS on one side only fails every join) and the cluster_label, which is this stack's own (packets with another label are dropped).`,
    },
    {
      title: "Append failures per ingester (distributors)",
      queries: [{ expr: `sum by (ingester) (rate(tempo_distributor_ingester_append_failures_total{${distributors}}[${RATE_WINDOW}])) or vector(0)`, legend: "{{ingester}}" }],
      description: `Batches a distributor could not append to an ingester (the label is the ingester's ring address). With replication factor ${replicationFactor} the distributor cancels the remaining writes once ${quorum} succeed and counts them as failures (grafana/tempo#5342): a low steady rate is normal. Alert on sustained growth together with falling traces created: the distributors cannot reach that ingester over internal gRPC (mutual TLS, certificate names). Tempo creates this counter at the first failure; 0 until then.`,
    },
    {
      title: `Blocks flushed to object storage per ingester (last ${window})`,
      queries: [
        { expr: `sum by (instance) (increase(tempo_ingester_blocks_flushed_total{${ingesters}}[${window}]))`, legend: "flushed {{instance}}" },
        { expr: `sum by (instance) (increase(tempo_ingester_failed_flushes_total{${ingesters}}[${window}]))`, legend: "failed {{instance}}" },
      ],
      description: `An ingester cuts a block at the latest tempo.maxBlockDurationSeconds (${model.config.tempo.maxBlockDurationSeconds} s) after its first trace and writes it to object storage; the window spans three such periods. No flushed blocks while traces are created, or failed flushes above 0: the ingester cannot write to the store; check ${storeSettings}, the store's TLS and credentials, and the request errors panel. Failed attempts are retried with backoff.`,
    },
    {
      title: "Object-storage request errors",
      queries: [
        { expr: `sum by (operation, status_code) (rate(${s3Requests}{status_code!~"2..|404"}[${RATE_WINDOW}])) or vector(0)`, legend: "{{operation}} {{status_code}}" },
        { expr: `sum by (operation) (rate(${s3Requests}{status_code="404"}[${RATE_WINDOW}]))`, legend: "{{operation}} 404 not found" },
      ],
      description: `S3 answers other than 2xx, by HTTP method and status. 403: wrong keys or signature (region); 5xx: the store itself is failing. A few 404s are normal (Tempo asks for objects that may not exist yet, like the tenant index); 404 on every request: the bucket does not exist. Check ${storeSettings}. Only requests that got an HTTP answer count here: TLS and network failures show up as failed flushes (ingesters) and as blocklist poll errors in the queriers' and compactor's logs, and their components vanish from the 2xx panel.`,
    },
    {
      title: "Compactor errors",
      queries: [
        { expr: `sum(rate(tempodb_compaction_errors_total{${compactor}}[${RATE_WINDOW}]))`, legend: "compaction errors/s" },
        { expr: `sum(rate(tempodb_retention_errors_total{${compactor}}[${RATE_WINDOW}]))`, legend: "retention errors/s" },
      ],
      description: `Errors of the compactor's work on the stored blocks: compacting them, and deleting them at the end of their retention. Non-zero: the compactor cannot read, write or delete in the store; check ${storeSettings} and the request errors panel.`,
    },
    {
      title: "Object-storage requests by component and operation (2xx)",
      queries: [{ expr: `sum by (job, operation) (rate(${s3Requests}{status_code=~"2.."}[${RATE_WINDOW}]))`, legend: "{{job}} {{operation}}" }],
      description: "Successful S3 requests. The queriers and the compactor poll the block list (GET), the ingesters write blocks (PUT). A component missing here never reached the store: see the errors panel and failed flushes.",
    },
  ];
}

/** Grafana dashboard JSON for microservices-mode Tempo: each component's health, its ring, and its object storage. */
export function distributedTempoDashboard(model: StackTopology): Record<string, unknown> {
  const builder = stackDashboard("Distributed Tempo", DISTRIBUTED_TEMPO_DASHBOARD_UID_PREFIX, model);
  for (const panel of distributedPanels(model)) builder.withPanel(prometheusPanel(panel));
  return builder.build() as unknown as Record<string, unknown>;
}
