import type { ComponentId, StackConfig } from "./config";
import { TEMPO_GOSSIP_ALIAS } from "./constants";
import { instancesOfComponent, portOf, ServiceSkeleton, TEMPO_MICROSERVICE_IDS, TEMPO_MICROSERVICES, tlsFilePaths } from "./services";
import type { InstanceId, LinkClient, LinkModel } from "./types";

/** Host-side programs dial published ports by this name; it is a SAN of every certificate. */
export const HOST_DIAL_NAME = "localhost";
/** Tempo's single binary dials its own internal gRPC server on loopback. */
export const LOOPBACK_ADDRESS = "127.0.0.1";

/** Where the host's programs reach published ports: this machine, or (Swarm) the node the stack file names. */
export function hostDialName(config: StackConfig): string {
  return config.engine.kind === "swarm" ? config.engine.dialAddress : HOST_DIAL_NAME;
}

interface LinkDefinition {
  id: string;
  description: string;
  client: LinkClient;
  server: ComponentId;
  serverPortName: string;
  /** The name the client dials and checks, when it is not the server's alias (memberlist's gossip alias). */
  dialAlias?: string;
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
/** Links of the parts every stack has: the app, the collector, Grafana and Prometheus. */
const COMMON_LINKS: readonly LinkDefinition[] = [
  { id: "app-to-collector", description: "app exports spans over OTLP/gRPC", client: "app", server: "collector", serverPortName: "otlpGrpc", clientStartsAfterServer: true },
  { id: "app-backend-to-collector", description: "the app's backend exports spans over OTLP/gRPC", client: "appBackend", server: "collector", serverPortName: "otlpGrpc", clientStartsAfterServer: true },
  { id: "app-to-app-backend", description: "the app calls its backend over HTTPS with W3C trace context: the service graph's edge", client: "app", server: "appBackend", serverPortName: "http", clientStartsAfterServer: false },
  { id: "grafana-to-prometheus", description: "Grafana's Prometheus datasource queries Prometheus", client: "grafana", server: "prometheus", serverPortName: "http", clientStartsAfterServer: false },
  { id: "host-to-app", description: "the verifier drives traffic through the app", client: "host", server: "app", serverPortName: "http", clientStartsAfterServer: false },
  { id: "host-to-grafana", description: "browsers and the Grafana provider reach Grafana", client: "host", server: "grafana", serverPortName: "http", clientStartsAfterServer: false },
  { id: "host-to-prometheus", description: "users reach Prometheus", client: "host", server: "prometheus", serverPortName: "http", clientStartsAfterServer: false },
  { id: "host-to-collector-grpc", description: "users' own services export OTLP/gRPC to the collector", client: "host", server: "collector", serverPortName: "otlpGrpc", clientStartsAfterServer: false },
  { id: "host-to-collector-http", description: "users' own services export OTLP/HTTP to the collector", client: "host", server: "collector", serverPortName: "otlpHttp", clientStartsAfterServer: false },
];

/** Tempo's single binary: every Tempo-internal call is a call to itself. */
const MONOLITHIC_TEMPO_LINKS: readonly LinkDefinition[] = [
  { id: "collector-to-tempo", description: "collector exports spans to Tempo's OTLP/gRPC receiver", client: "collector", server: "tempo", serverPortName: "otlpGrpc", clientStartsAfterServer: false },
  { id: "tempo-internal", description: "Tempo's distributor, querier and generator clients dial its internal gRPC server", client: "tempo", server: "tempo", serverPortName: "internalGrpc", clientStartsAfterServer: false },
  { id: "grafana-to-tempo", description: "Grafana's Tempo datasource queries Tempo's HTTP API", client: "grafana", server: "tempo", serverPortName: "httpApi", clientStartsAfterServer: false },
  { id: "tempo-to-prometheus-remote-write", description: "Tempo's metrics-generator remote-writes span metrics and service graphs to Prometheus", client: "tempo", server: "prometheus", serverPortName: "http", clientStartsAfterServer: false },
  { id: "prometheus-to-tempo", description: "Prometheus scrapes Tempo's /metrics", client: "prometheus", server: "tempo", serverPortName: "httpApi", clientStartsAfterServer: false },
  { id: "host-to-tempo", description: "the verifier and users reach Tempo's API", client: "host", server: "tempo", serverPortName: "httpApi", clientStartsAfterServer: false },
];

/**
 * Tempo's microservices. One Tempo config serves every container, so the links of one client
 * setting (e.g. `ingester_client`, used by distributors and queriers) share their server and name.
 * Nobody waits for Tempo's internal servers: every dskit client retries, the collector queues.
 * Everything that reads or writes blocks waits for the object store, whose health means its bucket exists.
 */
function microservicesTempoLinks(config: StackConfig): LinkDefinition[] {
  const links: LinkDefinition[] = [
    { id: "collector-to-tempo", description: "collector exports spans to the distributors' OTLP/gRPC receivers, balancing over every address of their shared alias", client: "collector", server: "tempoDistributor", serverPortName: "otlpGrpc", clientStartsAfterServer: false },
    { id: "tempo-distributor-to-ingester", description: "distributors push each trace to replicationFactor ingesters (ingester_client)", client: "tempoDistributor", server: "tempoIngester", serverPortName: "internalGrpc", clientStartsAfterServer: false },
    { id: "tempo-querier-to-ingester", description: "queriers search the ingesters' recent traces (ingester_client)", client: "tempoQuerier", server: "tempoIngester", serverPortName: "internalGrpc", clientStartsAfterServer: false },
    { id: "tempo-distributor-to-metrics-generator", description: "distributors forward spans to the metrics-generator (metrics_generator_client)", client: "tempoDistributor", server: "tempoMetricsGenerator", serverPortName: "internalGrpc", clientStartsAfterServer: false },
    { id: "tempo-querier-to-query-frontend", description: "queriers pull query jobs from the query-frontend (querier.frontend_worker)", client: "tempoQuerier", server: "tempoQueryFrontend", serverPortName: "internalGrpc", clientStartsAfterServer: false },
    { id: "tempo-memberlist", description: "every Tempo container gossips the rings with the others through their shared gossip alias (memberlist over TLS)", client: "tempoIngester", server: "tempoIngester", serverPortName: "memberlist", dialAlias: TEMPO_GOSSIP_ALIAS, clientStartsAfterServer: false },
    { id: "grafana-to-tempo", description: "Grafana's Tempo datasource queries the query-frontend's HTTP API", client: "grafana", server: "tempoQueryFrontend", serverPortName: "httpApi", clientStartsAfterServer: false },
    { id: "tempo-to-prometheus-remote-write", description: "the metrics-generator remote-writes span metrics and service graphs to Prometheus", client: "tempoMetricsGenerator", server: "prometheus", serverPortName: "http", clientStartsAfterServer: false },
    { id: "host-to-tempo", description: "the verifier and users reach Tempo's API on the query-frontend", client: "host", server: "tempoQueryFrontend", serverPortName: "httpApi", clientStartsAfterServer: false },
  ];
  for (const component of TEMPO_MICROSERVICE_IDS) {
    links.push({ id: `prometheus-to-${config.networkAliases[component]}`, description: `Prometheus scrapes every ${config.networkAliases[component]}'s /metrics`, client: "prometheus", server: component, serverPortName: "httpApi", clientStartsAfterServer: false });
    if (config.tempo.objectStorage.kind === "inStack" && TEMPO_MICROSERVICES[component].readsBlocks) {
      links.push({ id: `${config.networkAliases[component]}-to-object-store`, description: `the ${config.networkAliases[component]} reads and writes blocks in the in-stack S3 store`, client: component, server: "objectStore", serverPortName: "s3", clientStartsAfterServer: true });
    }
  }
  return links;
}

export function linkDefinitions(config: StackConfig): LinkDefinition[] {
  return [...(config.tempo.mode === "monolithic" ? MONOLITHIC_TEMPO_LINKS : microservicesTempoLinks(config)), ...COMMON_LINKS];
}

export function buildLinks(config: StackConfig, services: Record<InstanceId, ServiceSkeleton>): LinkModel[] {
  return linkDefinitions(config).map(({ dialAlias, ...def }) => {
    const replicas = instancesOfComponent(services, def.server);
    const server = replicas[0];
    if (!server) throw new Error(`model bug: link ${def.id} has no ${def.server} to reach`);
    const port = portOf(server, def.serverPortName);
    // Each replica's own alias (the second of its aliases); a component that runs once has only its alias.
    const serverInstanceHosts = replicas.map((replica) => (replica.replica === undefined ? replica.networkAlias : (replica.networkAliases[1] ?? replica.networkAlias)));
    const serverInstances = replicas.reduce((sum, replica) => sum + replica.tasks, 0);
    if (def.client === "host") {
      const dialHost = hostDialName(config);
      if (!port.published) throw new Error(`model bug: link ${def.id} needs ${def.server}.${port.name} published`);
      return {
        ...def,
        protocol: port.protocol,
        dialHost,
        dialPort: port.published.port,
        tls: port.tls,
        clientAuth: port.clientAuth,
        serverName: dialHost,
        serverInstanceHosts: [dialHost],
        serverInstances,
      };
    }
    // Tempo's single binary dials itself; memberlist's peers are other containers of the same kind.
    const selfDial = def.client === def.server && dialAlias === undefined;
    const own = tlsFilePaths(def.client);
    return {
      ...def,
      protocol: port.protocol,
      dialHost: selfDial ? LOOPBACK_ADDRESS : (dialAlias ?? server.networkAlias),
      serverInstanceHosts: selfDial ? [LOOPBACK_ADDRESS] : serverInstanceHosts,
      serverInstances: selfDial ? 1 : serverInstances,
      dialPort: port.containerPort,
      tls: port.tls,
      clientCaFile: own.caFile,
      clientAuth: port.clientAuth,
      // Service certificates carry client_auth: each service proves who it is with its own.
      ...(port.clientAuth === "required" ? { clientCertificate: { certFile: own.certFile, keyFile: own.keyFile } } : {}),
      serverName: dialAlias ?? server.networkAlias,
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
