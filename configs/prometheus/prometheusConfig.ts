import { renderConfigYaml } from "../yaml";
import { portOf, singleInstance, tlsFilePaths } from "../../model/services";
import type { LinkModel, StackTopology } from "../../model/types";

/**
 * The scrape job of one Tempo component: every replica by its own name (so each ingester's
 * counters are their own series, `instance` telling them apart), each verified against the stack
 * CA under the name all its replicas' certificates carry.
 */
function scrapeJob(jobName: string, scrape: LinkModel): Record<string, unknown> {
  return {
    job_name: jobName,
    scheme: scrape.tls === "tls" ? "https" : "http",
    tls_config: {
      ca_file: scrape.clientCaFile,
      server_name: scrape.serverName,
      ...(scrape.clientCertificate ? { cert_file: scrape.clientCertificate.certFile, key_file: scrape.clientCertificate.keyFile } : {}),
    },
    // A Swarm service's tasks share one alias, which DNS answers with every task's address: each
    // task is then a target of its own, found again when a task moves to another node.
    ...(scrape.serverInstances > scrape.serverInstanceHosts.length
      ? { dns_sd_configs: [{ names: scrape.serverInstanceHosts, type: "A", port: scrape.dialPort, refresh_interval: "10s" }] }
      : { static_configs: [{ targets: scrape.serverInstanceHosts.map((host) => `${host}:${scrape.dialPort}`) }] }),
  };
}

/** Scrape config: Tempo's /metrics over HTTPS (each of its containers in microservices mode). */
export function renderPrometheusConfig(model: StackTopology): string {
  const scrapes = model.links.filter((link) => link.client === "prometheus" && link.serverPortName === "httpApi");
  const document = {
    global: { scrape_interval: "10s", evaluation_interval: "10s" },
    // Monolithic Tempo keeps its job name "tempo"; each microservice's job is its alias.
    scrape_configs: scrapes.map((scrape) => scrapeJob(scrape.server === "tempo" ? "tempo" : model.config.networkAliases[scrape.server], scrape)),
  };
  return renderConfigYaml(model.config.stackName, document);
}

/** Prometheus' own listener serves HTTPS with its certificate (`--web.config.file`). */
export function renderPrometheusWebConfig(model: StackTopology): string {
  const tls = tlsFilePaths("prometheus");
  const clientAuth = portOf(singleInstance(model.services, "prometheus"), "http").clientAuth;
  return renderConfigYaml(model.config.stackName, {
    tls_server_config: {
      cert_file: tls.certFile,
      key_file: tls.keyFile,
      // Covers every path on the listener: the query API, remote write and /metrics.
      ...(clientAuth === "required" ? { client_auth_type: "RequireAndVerifyClientCert", client_ca_file: tls.caFile } : {}),
    },
  });
}
