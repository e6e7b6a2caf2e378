import { renderConfigYaml } from "../yaml";
import { linkById } from "../../model/links";
import { tlsFilePaths } from "../../model/services";
import type { StackTopology } from "../../model/types";

/** Scrape config: Tempo's /metrics over HTTPS, verified against the stack CA. */
export function renderPrometheusConfig(model: StackTopology): string {
  const scrape = linkById(model.links, "prometheus-to-tempo");
  const document = {
    global: { scrape_interval: "10s", evaluation_interval: "10s" },
    scrape_configs: [
      {
        job_name: "tempo",
        scheme: scrape.tls === "tls" ? "https" : "http",
        tls_config: { ca_file: scrape.clientCaFile, server_name: scrape.serverName },
        static_configs: [{ targets: [`${scrape.dialHost}:${scrape.dialPort}`] }],
      },
    ],
  };
  return renderConfigYaml(model.config.stackName, document);
}

/** Prometheus' own listener serves HTTPS with its certificate (`--web.config.file`). */
export function renderPrometheusWebConfig(model: StackTopology): string {
  const tls = tlsFilePaths("prometheus");
  return renderConfigYaml(model.config.stackName, { tls_server_config: { cert_file: tls.certFile, key_file: tls.keyFile } });
}
