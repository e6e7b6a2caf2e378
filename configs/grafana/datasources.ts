import { linkById, linkUrl } from "../../model/links";
import type { LinkModel, StackTopology } from "../../model/types";

/** Fixed uids so dashboards can name their datasources before Grafana assigns anything. */
export const DATASOURCE_UIDS = { tempo: "tracing-stack-tempo", prometheus: "tracing-stack-prometheus" } as const;

export interface DatasourceSpec {
  name: string;
  uid: string;
  type: "tempo" | "prometheus";
  url: string;
  /** Non-secret settings; the CA PEM (and client certificate and key) are added by the component as secureJsonData. */
  jsonData: Record<string, unknown>;
  /** The server requires a client certificate: Grafana presents its own (tlsClientCert / tlsClientKey). */
  presentsClientCertificate: boolean;
}

/** TLS settings Grafana needs to verify a server against the stack CA (it never skips verification). */
function tlsJsonData(link: LinkModel): Record<string, unknown> {
  return { tlsAuthWithCACert: true, serverName: link.serverName, tlsAuth: link.clientAuth === "required" };
}

export function grafanaDatasources(model: StackTopology): { tempo: DatasourceSpec; prometheus: DatasourceSpec } {
  const toTempo = linkById(model.links, "grafana-to-tempo");
  const toPrometheus = linkById(model.links, "grafana-to-prometheus");
  return {
    tempo: {
      name: "Tempo",
      uid: DATASOURCE_UIDS.tempo,
      type: "tempo",
      url: linkUrl(toTempo),
      presentsClientCertificate: toTempo.clientAuth === "required",
      jsonData: {
        ...tlsJsonData(toTempo),
        // Grafana's gRPC streaming to Tempo ignored datasource TLS before grafana/grafana#97484;
        // plain HTTPS queries are verified on every version.
        streamingEnabled: { search: false, metrics: false },
        serviceMap: { datasourceUid: DATASOURCE_UIDS.prometheus },
        nodeGraph: { enabled: true },
      },
    },
    prometheus: {
      name: "Prometheus",
      uid: DATASOURCE_UIDS.prometheus,
      type: "prometheus",
      url: linkUrl(toPrometheus),
      presentsClientCertificate: toPrometheus.clientAuth === "required",
      jsonData: {
        ...tlsJsonData(toPrometheus),
        httpMethod: "POST",
        // Tempo's metrics-generator labels each exemplar with the trace id as `traceID`: clicking an
        // exemplar on a latency panel opens that trace in the Tempo datasource.
        exemplarTraceIdDestinations: [{ name: "traceID", datasourceUid: DATASOURCE_UIDS.tempo }],
      },
    },
  };
}
