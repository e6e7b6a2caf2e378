import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { collectorComponentTypes, renderCollectorConfig } from "../../configs/collector/collectorConfig";
import { ingestionHealthDashboard } from "../../configs/grafana/dashboards/ingestionHealth";
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
      assert.deepEqual(receiver.tls, { cert_file: "/etc/tempo/tls/tempo.crt", key_file: "/etc/tempo/tls/tempo.key" });
    }
  });

  it("serves its API over HTTPS and, by default, internal gRPC over TLS with every internal client configured", () => {
    assert.ok(tempo.server.http_tls_config);
    assert.ok(tempo.server.grpc_tls_config);
    for (const client of [tempo.ingester_client.grpc_client_config, tempo.metrics_generator_client.grpc_client_config, tempo.querier.frontend_worker.grpc_client_config]) {
      assert.deepEqual(client, { tls_enabled: true, tls_ca_path: "/etc/tempo/tls/ca.crt", tls_server_name: "tempo" });
    }
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
    assert.deepEqual(exporter.tls, { ca_file: "/etc/otelcol-contrib/tls/ca.crt", server_name_override: "tempo" });
    assert.equal(exporter.sending_queue.enabled, true);
    assert.equal(exporter.retry_on_failure.enabled, true);
  });

  it("has a TLS health check and TLS receivers on all interfaces", () => {
    assert.deepEqual(collector.service.extensions, ["health_check"]);
    assert.ok(collector.extensions.health_check.tls);
    for (const proto of ["grpc", "http"]) assert.match(collector.receivers.otlp.protocols[proto].endpoint, /^0\.0\.0\.0:/);
  });

  it("lists exactly the component types the config uses, for the builder manifest", () => {
    assert.deepEqual(collectorComponentTypes(renderCollectorConfig(model)), {
      receivers: ["otlp"],
      processors: ["batch", "memory_limiter"],
      exporters: ["otlp_grpc"],
      extensions: ["health_check"],
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
