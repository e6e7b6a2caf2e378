import { renderConfigYaml } from "../yaml";
import { linkById } from "../../model/links";
import { portOf, tlsFilePaths } from "../../model/services";
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
        tls_config: {
          ca_file: scrape.clientCaFile,
          server_name: scrape.serverName,
          ...(scrape.clientCertificate ? { cert_file: scrape.clientCertificate.certFile, key_file: scrape.clientCertificate.keyFile } : {}),
        },
        static_configs: [{ targets: [`${scrape.dialHost}:${scrape.dialPort}`] }],
      },
    ],
  };
  return renderConfigYaml(model.config.stackName, document);
}

/** Prometheus' own listener serves HTTPS with its certificate (`--web.config.file`). */
export function renderPrometheusWebConfig(model: StackTopology): string {
  const tls = tlsFilePaths("prometheus");
  const clientAuth = portOf(model.services.prometheus, "http").clientAuth;
  return renderConfigYaml(model.config.stackName, {
    tls_server_config: {
      cert_file: tls.certFile,
      key_file: tls.keyFile,
      // Covers every path on the listener: the query API, remote write and /metrics.
      ...(clientAuth === "required" ? { client_auth_type: "RequireAndVerifyClientCert", client_ca_file: tls.caFile } : {}),
    },
  });
}
