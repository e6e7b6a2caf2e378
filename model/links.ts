import type { ServiceId } from "./config";
import { portOf, ServiceSkeleton, tlsFilePaths } from "./services";
import type { LinkClient, LinkModel } from "./types";

/** Host-side programs dial published ports by this name; it is a SAN of every certificate. */
export const HOST_DIAL_NAME = "localhost";
/** Tempo's single binary dials its own internal gRPC server on loopback. */
export const LOOPBACK_ADDRESS = "127.0.0.1";

interface LinkDefinition {
  id: string;
  description: string;
  client: LinkClient;
  server: ServiceId;
  serverPortName: string;
  /**
   * The client must not start before the server accepts connections: it would fail or lose data.
   * False where the client queues, retries or connects on demand; the deployment starts those in
   * parallel (see startOrder.ts).
   */
  clientStartsAfterServer: boolean;
}

/**
 * Every connection the stack makes. Renderers write client settings from these, never from literals.
 *
 * `clientStartsAfterServer`: the app and its backend drop spans their SDK cannot export, so they
 * start after the collector (it is healthy within about a second, before Node has loaded the app).
 * The app calls its backend only while serving a request, and the first requests, the verification's,
 * come after every container is healthy: waiting for the backend would put its start-up (about 3 s)
 * on the deployment's critical path for nothing. The collector queues and retries spans until Tempo
 * answers; Tempo's remote write retries from its WAL; Prometheus scrapes again next interval;
 * Grafana queries its datasources on demand: none of those waits.
 */
const LINK_DEFINITIONS: readonly LinkDefinition[] = [
  { id: "app-to-collector", description: "app exports spans over OTLP/gRPC", client: "app", server: "collector", serverPortName: "otlpGrpc", clientStartsAfterServer: true },
  { id: "app-backend-to-collector", description: "the app's backend exports spans over OTLP/gRPC", client: "appBackend", server: "collector", serverPortName: "otlpGrpc", clientStartsAfterServer: true },
  { id: "app-to-app-backend", description: "the app calls its backend over HTTPS with W3C trace context: the service graph's edge", client: "app", server: "appBackend", serverPortName: "http", clientStartsAfterServer: false },
  { id: "collector-to-tempo", description: "collector exports spans to Tempo's OTLP/gRPC receiver", client: "collector", server: "tempo", serverPortName: "otlpGrpc", clientStartsAfterServer: false },
  { id: "tempo-internal", description: "Tempo's distributor, querier and generator clients dial its internal gRPC server", client: "tempo", server: "tempo", serverPortName: "internalGrpc", clientStartsAfterServer: false },
  { id: "grafana-to-tempo", description: "Grafana's Tempo datasource queries Tempo's HTTP API", client: "grafana", server: "tempo", serverPortName: "httpApi", clientStartsAfterServer: false },
  { id: "grafana-to-prometheus", description: "Grafana's Prometheus datasource queries Prometheus", client: "grafana", server: "prometheus", serverPortName: "http", clientStartsAfterServer: false },
  { id: "tempo-to-prometheus-remote-write", description: "Tempo's metrics-generator remote-writes span metrics and service graphs to Prometheus", client: "tempo", server: "prometheus", serverPortName: "http", clientStartsAfterServer: false },
  { id: "prometheus-to-tempo", description: "Prometheus scrapes Tempo's /metrics", client: "prometheus", server: "tempo", serverPortName: "httpApi", clientStartsAfterServer: false },
  { id: "host-to-tempo", description: "the verifier and users reach Tempo's API", client: "host", server: "tempo", serverPortName: "httpApi", clientStartsAfterServer: false },
  { id: "host-to-app", description: "the verifier drives traffic through the app", client: "host", server: "app", serverPortName: "http", clientStartsAfterServer: false },
  { id: "host-to-grafana", description: "browsers and the Grafana provider reach Grafana", client: "host", server: "grafana", serverPortName: "http", clientStartsAfterServer: false },
  { id: "host-to-prometheus", description: "users reach Prometheus", client: "host", server: "prometheus", serverPortName: "http", clientStartsAfterServer: false },
  { id: "host-to-collector-grpc", description: "users' own services export OTLP/gRPC to the collector", client: "host", server: "collector", serverPortName: "otlpGrpc", clientStartsAfterServer: false },
  { id: "host-to-collector-http", description: "users' own services export OTLP/HTTP to the collector", client: "host", server: "collector", serverPortName: "otlpHttp", clientStartsAfterServer: false },
];

export function buildLinks(services: Record<ServiceId, ServiceSkeleton>): LinkModel[] {
  return LINK_DEFINITIONS.map((def) => {
    const server = services[def.server];
    const port = portOf(server, def.serverPortName);
    if (def.client === "host") {
      if (!port.published) throw new Error(`model bug: link ${def.id} needs ${def.server}.${port.name} published`);
      return {
        ...def,
        protocol: port.protocol,
        dialHost: HOST_DIAL_NAME,
        dialPort: port.published.port,
        tls: port.tls,
        clientAuth: port.clientAuth,
        serverName: HOST_DIAL_NAME,
      };
    }
    const selfDial = def.client === def.server;
    const own = tlsFilePaths(def.client);
    return {
      ...def,
      protocol: port.protocol,
      dialHost: selfDial ? LOOPBACK_ADDRESS : server.networkAlias,
      dialPort: port.containerPort,
      tls: port.tls,
      clientCaFile: own.caFile,
      clientAuth: port.clientAuth,
      // Service certificates carry client_auth: each service proves who it is with its own.
      ...(port.clientAuth === "required" ? { clientCertificate: { certFile: own.certFile, keyFile: own.keyFile } } : {}),
      serverName: server.networkAlias,
    };
  });
}

export function linkById(links: readonly LinkModel[], id: string): LinkModel {
  const link = links.find((l) => l.id === id);
  if (!link) throw new Error(`model bug: no link ${id}`);
  return link;
}

/** The URL a client opens for a link: scheme from its TLS mode, host and port from the link. */
export function linkUrl(link: LinkModel): string {
  return `${link.tls === "tls" ? "https" : "http"}://${link.dialHost}:${link.dialPort}`;
}
