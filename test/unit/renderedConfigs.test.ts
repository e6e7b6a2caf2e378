import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { collectorComponentTypes, renderCollectorConfig } from "../../configs/collector/collectorConfig";
import { stackDashboards } from "../../configs/grafana/dashboards";
import { ingestionHealthDashboard } from "../../configs/grafana/dashboards/ingestionHealth";
import { DATASOURCE_UIDS, grafanaDatasources } from "../../configs/grafana/datasources";
import { renderPrometheusConfig, renderPrometheusWebConfig } from "../../configs/prometheus/prometheusConfig";
import { renderTempoConfig } from "../../configs/tempo/tempoConfig";
import { buildStackModel, parseStackConfig } from "../../model";

type Doc = Record<string, any>;
const model = buildStackModel(parseStackConfig("dev", {}));
const tempo = parse(renderTempoConfig(model)) as Doc;
const collector = parse(renderCollectorConfig(model)) as Doc;

describe("Tempo config", () => {
  it("binds both OTLP receivers on all interfaces with TLS (2.7+ defaults to localhost)", () => {
    for (const proto of ["grpc", "http"]) {
      const receiver = tempo.distributor.receivers.otlp.protocols[proto];
      assert.match(receiver.endpoint, /^0\.0\.0\.0:\d+$/);
      // Mutual TLS (the default): only clients with a certificate from the stack CA may send spans.
      assert.deepEqual(receiver.tls, { cert_file: "/etc/tempo/tls/tempo.crt", key_file: "/etc/tempo/tls/tempo.key", client_ca_file: "/etc/tempo/tls/ca.crt" });
    }
  });

  it("serves its API over HTTPS and, by default, internal gRPC over TLS with every internal client configured", () => {
    const requireClients = { cert_file: "/etc/tempo/tls/tempo.crt", key_file: "/etc/tempo/tls/tempo.key", client_auth_type: "RequireAndVerifyClientCert", client_ca_file: "/etc/tempo/tls/ca.crt" };
    assert.deepEqual(tempo.server.http_tls_config, requireClients);
    assert.deepEqual(tempo.server.grpc_tls_config, requireClients);
    for (const client of [tempo.ingester_client.grpc_client_config, tempo.metrics_generator_client.grpc_client_config, tempo.querier.frontend_worker.grpc_client_config]) {
      assert.deepEqual(client, {
        tls_enabled: true,
        tls_ca_path: "/etc/tempo/tls/ca.crt",
        tls_server_name: "tempo",
        tls_cert_path: "/etc/tempo/tls/tempo.crt",
        tls_key_path: "/etc/tempo/tls/tempo.key",
      });
    }
  });

  it("with mutual TLS off, servers ask for no client certificate and clients present none", () => {
    const oneWay = parse(renderTempoConfig(buildStackModel(parseStackConfig("dev", { tls: { mutual: false } })))) as Doc;
    assert.deepEqual(oneWay.server.http_tls_config, { cert_file: "/etc/tempo/tls/tempo.crt", key_file: "/etc/tempo/tls/tempo.key" });
    assert.equal(oneWay.distributor.receivers.otlp.protocols.grpc.tls.client_ca_file, undefined);
    assert.equal(oneWay.ingester_client.grpc_client_config.tls_cert_path, undefined);
    assert.equal(oneWay.metrics_generator.storage.remote_write[0].tls_config.cert_file, undefined);
  });

  it("with internal TLS off, neither the server nor any client uses TLS", () => {
    const plain = parse(renderTempoConfig(buildStackModel(parseStackConfig("dev", { tls: { tempoInternalGrpc: "plaintext" } })))) as Doc;
    assert.equal(plain.server.grpc_tls_config, undefined);
    assert.ok(plain.server.http_tls_config, "the API stays HTTPS");
    assert.deepEqual(plain.ingester_client.grpc_client_config, { tls_enabled: false });
    assert.deepEqual(plain.querier.frontend_worker.grpc_client_config, { tls_enabled: false });
  });

  it("stores on the data volume and sweeps idle traces at the configured periods", () => {
    assert.equal(tempo.storage.trace.backend, "local");
    assert.match(tempo.storage.trace.wal.path, /^\/var\/tempo\//);
    assert.match(tempo.storage.trace.local.path, /^\/var\/tempo\//);
    const custom = parse(renderTempoConfig(buildStackModel(parseStackConfig("dev", { tempo: { traceIdlePeriodSeconds: 2, flushCheckPeriodSeconds: 3 } })))) as Doc;
    assert.equal(custom.ingester.trace_idle_period, "2s");
    assert.equal(custom.ingester.flush_check_period, "3s");
    assert.equal(tempo.ingester.lifecycler.min_ready_duration, "0s");
    assert.equal(tempo.usage_report.reporting_enabled, false);
  });

  it("runs the metrics-generator's span-metrics and service-graphs processors, remote-writing to Prometheus over verified TLS", () => {
    assert.deepEqual(tempo.overrides.defaults.metrics_generator.processors, ["service-graphs", "span-metrics"]);
    // Tempo's default of 10,000 live traces discarded spans in the bench at 6,000 traces/s.
    assert.equal(tempo.overrides.defaults.ingestion.max_traces_per_user, 100_000);
    const sized = parse(renderTempoConfig(buildStackModel(parseStackConfig("dev", { tempo: { maxLiveTraces: 250_000 } })))) as Doc;
    assert.equal(sized.overrides.defaults.ingestion.max_traces_per_user, 250_000);
    assert.match(tempo.metrics_generator.storage.path, /^\/var\/tempo\//);
    assert.deepEqual(tempo.metrics_generator.storage.remote_write, [
      {
        url: "https://prometheus:9090/api/v1/write",
        send_exemplars: true,
        tls_config: { ca_file: "/etc/tempo/tls/ca.crt", server_name: "prometheus", cert_file: "/etc/tempo/tls/tempo.crt", key_file: "/etc/tempo/tls/tempo.key" },
      },
    ]);
    assert.ok(model.services.prometheus.command.includes("--web.enable-remote-write-receiver"));
    assert.ok(model.services.prometheus.command.includes("--enable-feature=exemplar-storage"));
    const renamed = parse(renderTempoConfig(buildStackModel(parseStackConfig("dev", { networkAliases: { prometheus: "metrics" } })))) as Doc;
    assert.equal(renamed.metrics_generator.storage.remote_write[0].url, "https://metrics:9090/api/v1/write");
  });

  it("uses no YAML aliases, so each block reads on its own", () => {
    assert.doesNotMatch(renderTempoConfig(model), /[&*]a\d/);
    assert.doesNotMatch(renderCollectorConfig(model), /[&*]a\d/);
  });
});

describe("collector config", () => {
  it("runs memory_limiter first, then batch, into the Tempo exporter", () => {
    assert.deepEqual(collector.service.pipelines.traces, { receivers: ["otlp"], processors: ["memory_limiter", "batch"], exporters: ["otlp_grpc/tempo"] });
  });

  it("exports to Tempo's OTLP gRPC port with the CA, a server name, a queue and retries", () => {
    const exporter = collector.exporters["otlp_grpc/tempo"];
    assert.equal(exporter.endpoint, "tempo:4317");
    assert.deepEqual(exporter.tls, {
      ca_file: "/etc/otelcol-contrib/tls/ca.crt",
      server_name_override: "tempo",
      // Tempo's receivers require a client certificate: the collector presents its own.
      cert_file: "/etc/otelcol-contrib/tls/collector.crt",
      key_file: "/etc/otelcol-contrib/tls/collector.key",
    });
    assert.equal(exporter.sending_queue.enabled, true);
    assert.equal(exporter.retry_on_failure.enabled, true);
  });

  it("keeps the sending queue in file_storage on the collector's queue volume, so a restart keeps what Tempo has not taken", () => {
    const exporter = collector.exporters["otlp_grpc/tempo"];
    assert.equal(exporter.sending_queue.storage, "file_storage/queue");
    assert.ok(collector.service.extensions.includes("file_storage/queue"), "a storage extension must be enabled to be used");
    const queueDir = collector.extensions["file_storage/queue"].directory;
    assert.deepEqual(model.services.collector.volumes.map((v: { containerPath: string }) => v.containerPath), [queueDir]);
  });

  it("has a TLS health check and TLS receivers on all interfaces", () => {
    assert.deepEqual(collector.service.extensions, ["health_check", "file_storage/queue"]);
    assert.ok(collector.extensions.health_check.tls);
    for (const proto of ["grpc", "http"]) {
      assert.match(collector.receivers.otlp.protocols[proto].endpoint, /^0\.0\.0\.0:/);
      // configtls: a client CA on a server means RequireAndVerifyClientCert.
      assert.equal(collector.receivers.otlp.protocols[proto].tls.client_ca_file, "/etc/otelcol-contrib/tls/ca.crt");
    }
  });

  it("keeps its own counters on the container's loopback only (the pull reader has no TLS)", () => {
    const readers = collector.service.telemetry.metrics.readers as Doc[];
    assert.deepEqual(readers.map((r) => r.pull.exporter.prometheus), [{ host: "127.0.0.1", port: 8888 }]);
  });

  it("sends to Tempo uncompressed: both ends share one host, where gzip only costs CPU", () => {
    assert.equal(collector.exporters["otlp_grpc/tempo"].compression, "none");
  });

  it("lists exactly the component types the config uses, for the builder manifest", () => {
    assert.deepEqual(collectorComponentTypes(renderCollectorConfig(model)), {
      receivers: ["otlp"],
      processors: ["batch", "memory_limiter"],
      exporters: ["otlp_grpc"],
      extensions: ["file_storage", "health_check"],
    });
  });
});

describe("span-metrics dashboards", () => {
  const dashboards = stackDashboards(model) as Doc[];
  const byTitle = (prefix: string): Doc => dashboards.find((d) => String(d.title).startsWith(prefix))!;
  const targets = (d: Doc): Doc[] => (d.panels as Doc[]).flatMap((p) => p.targets as Doc[]);

  it("are four, each unique per stack and tagged with it", () => {
    assert.deepEqual(dashboards.map((d) => d.title), ["Tracing ingestion health (dev)", "Service RED (dev)", "Service graph (dev)", "Trace search (dev)"]);
    assert.equal(new Set(dashboards.map((d) => d.uid)).size, 4);
    const staging = stackDashboards(buildStackModel(parseStackConfig("staging", {}))) as Doc[];
    for (const [i, d] of staging.entries()) assert.notEqual(d.uid, dashboards[i]!.uid);
    for (const d of dashboards) assert.deepEqual(d.tags, ["tracing-stack", "dev"]);
  });

  it("RED: rate, error ratio and p50/p95/p99 of server spans per service and per operation, with exemplars", () => {
    const red = byTitle("Service RED");
    const exprs = targets(red).map((t) => t.expr as string);
    assert.ok(exprs.some((e) => e.startsWith("sum by (service) (rate(traces_spanmetrics_calls_total{span_kind=\"SPAN_KIND_SERVER\"}")));
    assert.ok(exprs.some((e) => e.includes("sum by (service, span_name)")));
    assert.ok(exprs.some((e) => e.includes("status_code=\"STATUS_CODE_ERROR\"") && e.includes(" * 0) / ")), "error ratio is 0, not empty, without failures");
    for (const q of ["0.5", "0.95", "0.99"]) assert.ok(exprs.some((e) => e.startsWith(`histogram_quantile(${q}, sum by (le, service)`)));
    assert.ok(targets(red).filter((t) => String(t.expr).startsWith("histogram_quantile")).every((t) => t.exemplar === true));
  });

  it("RED series link to the trace search of their service", () => {
    const red = byTitle("Service RED");
    const search = byTitle("Trace search");
    for (const panel of red.panels as Doc[]) {
      const link = panel.fieldConfig.defaults.links[0];
      assert.equal(link.url, `/d/${search.uid}?var-service=\${__field.labels.service}&\${__url_time_range}`);
    }
    const variable = search.templating.list.find((v: Doc) => v.name === "service");
    assert.deepEqual(String(variable.query).split(","), [model.config.appServiceName, model.config.appBackendServiceName]);
  });

  it("service graph: a node graph of the Tempo service map, whose datasource reads the stack's Prometheus", () => {
    const graph = byTitle("Service graph");
    const node = (graph.panels as Doc[]).find((p) => p.type === "nodeGraph")!;
    assert.equal(node.datasource.uid, DATASOURCE_UIDS.tempo);
    assert.equal(node.targets[0].queryType, "serviceMap");
    const ds = grafanaDatasources(model);
    assert.deepEqual((ds.tempo.jsonData.serviceMap as Doc).datasourceUid, ds.prometheus.uid);
    assert.deepEqual(ds.prometheus.jsonData.exemplarTraceIdDestinations, [{ name: "traceID", datasourceUid: ds.tempo.uid }]);
    assert.ok(targets(graph).some((t) => String(t.expr).includes("traces_service_graph_request_failed_total")));
  });

  it("trace search: TraceQL by service, failures, and traces crossing from the app to its backend", () => {
    const queries = targets(byTitle("Trace search")).map((t) => t.query as string);
    assert.deepEqual(queries, [
      '{ resource.service.name = "$service" }',
      '{ resource.service.name = "$service" && status = error }',
      '{ resource.service.name = "tracing-stack-app" } >> { resource.service.name = "tracing-stack-app-backend" }',
    ]);
  });

  it("ingestion health shows 0, not No data, for counters Tempo creates at their first event", () => {
    const exprs = targets(byTitle("Tracing ingestion health")).map((t) => String(t.expr ?? ""));
    for (const metric of ["tempo_distributor_ingester_append_failures_total", "tempo_discarded_spans_total"]) {
      assert.ok(exprs.find((e) => e.includes(metric))?.endsWith(" or vector(0)"), metric);
    }
  });
});

describe("Prometheus config", () => {
  it("scrapes Tempo over HTTPS verified against the stack CA", () => {
    const prometheus = parse(renderPrometheusConfig(model)) as Doc;
    assert.equal(prometheus.scrape_configs[0].scheme, "https");
    assert.deepEqual(prometheus.scrape_configs[0].tls_config, {
      ca_file: "/etc/prometheus/tls/ca.crt",
      server_name: "tempo",
      cert_file: "/etc/prometheus/tls/prometheus.crt",
      key_file: "/etc/prometheus/tls/prometheus.key",
    });
  });

  it("requires a client certificate from the stack CA on every path of its listener", () => {
    const web = parse(renderPrometheusWebConfig(model)) as Doc;
    assert.deepEqual(web.tls_server_config, {
      cert_file: "/etc/prometheus/tls/prometheus.crt",
      key_file: "/etc/prometheus/tls/prometheus.key",
      client_auth_type: "RequireAndVerifyClientCert",
      client_ca_file: "/etc/prometheus/tls/ca.crt",
    });
  });
});

describe("ingestion health dashboard", () => {
  const dashboard = ingestionHealthDashboard(model) as Doc;
  const queries = (dashboard.panels as Doc[]).flatMap((p) => (p.targets as Doc[]).map((t) => t.expr ?? t.query));

  it("graphs each ingestion step of Tempo's troubleshooting order", () => {
    for (const metric of ["tempo_distributor_spans_received_total", "tempo_receiver_refused_spans", "tempo_distributor_ingester_append_failures_total", "tempo_ingester_traces_created_total", "tempo_discarded_spans_total"]) {
      assert.ok(queries.some((q) => typeof q === "string" && q.includes(metric)), `no panel queries ${metric}`);
    }
  });

  it("searches the app's traces in Tempo", () => {
    const search = (dashboard.panels as Doc[]).find((p) => p.datasource.type === "tempo");
    assert.ok(search);
    assert.equal(search.targets[0].queryType, "traceql");
    assert.match(search.targets[0].query, /resource\.service\.name = "tracing-stack-app"/);
  });

  it("is unique per stack", () => {
    const other = ingestionHealthDashboard(buildStackModel(parseStackConfig("staging", {}))) as Doc;
    assert.notEqual(other.uid, dashboard.uid);
  });
});
