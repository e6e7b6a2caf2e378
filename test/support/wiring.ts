import { parse } from "yaml";
import { grafanaDatasources } from "../../configs/grafana/datasources";
import { renderStackConfigs } from "../../configs/renderStackConfigs";
import { canReadRootOwned, OTHER_USER, parseUser } from "./filePermissions";
import type { ContainerFile, FileContent, InstanceId, ServiceModel, StackModel } from "../../model";

/**
 * Wiring as the rendered files and environment actually say it, read back independently of the
 * model's link table. The checks below compare what clients dial with what servers listen on, so
 * a renderer that wrote the wrong port, or TLS on one end only, is caught.
 */
/** What is spoken on a connection: a client reaching a port that speaks something else fails. */
export type Speaks = "otlp-grpc" | "otlp-http" | "tempo-internal-grpc" | "tempo-http-api" | "tempo-memberlist" | "s3" | "prometheus-http" | "prometheus-remote-write" | "grafana-http" | "app-http";

export interface ObservedServer {
  service: InstanceId;
  speaks: Speaks;
  port: number;
  tls: boolean;
  certFile?: string;
  keyFile?: string;
  /** Set when the server requires and verifies client certificates: the CA file it verifies them with. */
  clientCaFile?: string;
  what: string;
}

export interface ObservedClient {
  client: InstanceId;
  speaks: Speaks;
  what: string;
  dialHost: string;
  dialPort: number;
  tls: boolean;
  caFile?: string;
  /** The name checked against the server certificate. */
  verifiedName?: string;
  /** The certificate and key the client presents, if any. */
  clientCertFile?: string;
  clientKeyFile?: string;
  /**
   * Servers found at run time rather than by name: a ring's members (ingesters, generators), which
   * clients dial by the addresses the ring holds. The check covers every container of that target.
   */
  dialsRingOf?: string;
}

/** Grafana holds its client certificate in secureJsonData, not in files. */
const GRAFANA_CLIENT_CERT = "secureJsonData.tlsClientCert";
const GRAFANA_CLIENT_KEY = "secureJsonData.tlsClientKey";

type Doc = Record<string, unknown>;
const get = (doc: unknown, path: string): unknown =>
  path.split(".").reduce<unknown>((node, key) => (node && typeof node === "object" ? (node as Doc)[key] : undefined), doc);

function fileText(service: ServiceModel, path: string): string {
  const file = service.files.find((f) => f.path === path);
  if (!file || file.content.kind !== "text") throw new Error(`${service.id} has no rendered file ${path}`);
  return file.content.text;
}

function env(service: ServiceModel, name: string): string | undefined {
  const value = service.env[name];
  return value?.kind === "text" ? value.value : undefined;
}

/** Tempo's containers with what each runs: `-target=` of its command (`all` for the single binary). */
function tempoInstances(model: StackModel): Array<{ service: ServiceModel; target: string; config: Doc }> {
  return (Object.values(model.services) as ServiceModel[])
    .filter((service) => service.files.some((f) => f.path === "/etc/tempo/tempo.yaml"))
    .map((service) => ({
      service,
      target: service.command.find((c) => c.startsWith("-target="))?.slice("-target=".length) ?? "all",
      config: parse(fileText(service, "/etc/tempo/tempo.yaml")) as Doc,
    }));
}

/** Targets that run memberlist (they own or watch a ring); the query-frontend does not. */
const GOSSIPING_TARGETS = ["distributor", "ingester", "querier", "compactor", "metrics-generator"];
/** Targets that read or write blocks in the trace storage. */
const STORAGE_TARGETS = ["all", "ingester", "querier", "compactor", "query-frontend"];

function hostPort(endpoint: string): { host: string; port: number } {
  const url = /^[a-z]+:\/\//.test(endpoint) ? new URL(endpoint) : new URL(`tcp://${endpoint}`);
  return { host: url.hostname, port: Number(url.port) };
}

/** Servers as their rendered configs make them (the model is rendered here, as the program renders it). */
export function observedServers(declared: StackModel): ObservedServer[] {
  const model = renderStackConfigs(declared);
  const servers: ObservedServer[] = [];
  // dskit and Prometheus require client certificates only with client_auth_type saying so;
  // the collector's configtls does whenever client_ca_file is set.
  const tlsOf = (node: unknown, requireClientsBy: "client_auth_type" | "client_ca_file" = "client_auth_type") => {
    const clientCa = get(node, "client_ca_file") as string | undefined;
    const requires = requireClientsBy === "client_ca_file" ? clientCa !== undefined : get(node, "client_auth_type") === "RequireAndVerifyClientCert";
    return {
      tls: node !== undefined && node !== null,
      certFile: get(node, "cert_file") as string | undefined,
      keyFile: get(node, "key_file") as string | undefined,
      ...(requires ? { clientCaFile: clientCa } : {}),
    };
  };
  for (const { service, target, config: tempo } of tempoInstances(model)) {
    const id = service.id;
    servers.push({ service: id, speaks: "tempo-http-api", what: `${id} server.http`, port: get(tempo, "server.http_listen_port") as number, ...tlsOf(get(tempo, "server.http_tls_config")) });
    servers.push({ service: id, speaks: "tempo-internal-grpc", what: `${id} server.grpc`, port: get(tempo, "server.grpc_listen_port") as number, ...tlsOf(get(tempo, "server.grpc_tls_config")) });
    if (target === "all" || target === "distributor") {
      for (const proto of ["grpc", "http"]) {
        const receiver = get(tempo, `distributor.receivers.otlp.protocols.${proto}`);
        servers.push({ service: id, speaks: `otlp-${proto}` as Speaks, what: `${id} otlp ${proto} receiver`, port: hostPort(get(receiver, "endpoint") as string).port, ...tlsOf(get(receiver, "tls"), "client_ca_file") });
      }
    }
    if (GOSSIPING_TARGETS.includes(target) && get(tempo, "memberlist.join_members") !== undefined) {
      // One TLS config serves both ends; the listener never requires a peer certificate (dskit).
      const tlsOn = get(tempo, "memberlist.tls_enabled") === true;
      servers.push({
        service: id,
        speaks: "tempo-memberlist",
        what: `${id} memberlist`,
        port: get(tempo, "memberlist.bind_port") as number,
        tls: tlsOn,
        ...(tlsOn ? { certFile: get(tempo, "memberlist.tls_cert_path") as string, keyFile: get(tempo, "memberlist.tls_key_path") as string } : {}),
      });
    }
  }

  const objectStore = (Object.values(model.services) as ServiceModel[]).find((s) => s.command.includes("-s3"));
  if (objectStore) {
    const flag = (name: string) => objectStore.command.find((c) => c.startsWith(`-s3.${name}=`))?.slice(`-s3.${name}=`.length);
    servers.push({
      service: objectStore.id,
      speaks: "s3",
      what: `${objectStore.id} S3 gateway`,
      port: Number(flag("port")),
      tls: flag("cert.file") !== undefined,
      certFile: flag("cert.file"),
      keyFile: flag("key.file"),
      ...(flag("tlsVerifyClientCert") === "true" ? { clientCaFile: flag("cacert.file") } : {}),
    });
  }

  const collector = parse(fileText(model.services.collector, "/etc/otelcol-contrib/config.yaml")) as Doc;
  for (const proto of ["grpc", "http"]) {
    const receiver = get(collector, `receivers.otlp.protocols.${proto}`);
    servers.push({ service: "collector", speaks: `otlp-${proto}` as Speaks, what: `collector otlp ${proto} receiver`, port: hostPort(get(receiver, "endpoint") as string).port, ...tlsOf(get(receiver, "tls"), "client_ca_file") });
  }

  for (const app of [model.services.app, model.services.appBackend]) {
    servers.push({
      service: app.id,
      speaks: "app-http",
      what: `${app.id} http server`,
      port: Number(env(app, "PORT")),
      tls: env(app, "TLS_CERT_FILE") !== undefined,
      certFile: env(app, "TLS_CERT_FILE"),
      keyFile: env(app, "TLS_KEY_FILE"),
      ...(env(app, "TLS_CLIENT_AUTH") === "require" ? { clientCaFile: env(app, "TLS_CA_FILE") } : {}),
    });
  }

  const grafana = model.services.grafana;
  servers.push({ service: "grafana", speaks: "grafana-http", what: "grafana server", port: Number(env(grafana, "GF_SERVER_HTTP_PORT")), tls: env(grafana, "GF_SERVER_PROTOCOL") === "https", certFile: env(grafana, "GF_SERVER_CERT_FILE"), keyFile: env(grafana, "GF_SERVER_CERT_KEY") });

  const prometheus = model.services.prometheus;
  const flag = (name: string) => prometheus.command.find((c) => c.startsWith(`--${name}=`))?.split("=")[1];
  const webConfig = parse(fileText(prometheus, flag("web.config.file") ?? "")) as Doc;
  const web = { port: hostPort(flag("web.listen-address") ?? "").port, ...tlsOf(get(webConfig, "tls_server_config")) };
  servers.push({ service: "prometheus", speaks: "prometheus-http", what: "prometheus web", ...web });
  // The same listener accepts remote write only when the receiver is switched on.
  if (prometheus.command.includes("--web.enable-remote-write-receiver")) {
    servers.push({ service: "prometheus", speaks: "prometheus-remote-write", what: "prometheus remote-write receiver", ...web });
  }
  return servers;
}

/** Clients as their rendered configs make them. */
export function observedClients(declared: StackModel): ObservedClient[] {
  const model = renderStackConfigs(declared);
  const clients: ObservedClient[] = [];
  const collector = parse(fileText(model.services.collector, "/etc/otelcol-contrib/config.yaml")) as Doc;
  const pipelineExporters = get(collector, "service.pipelines.traces.exporters") as string[];
  for (const id of pipelineExporters) {
    const exporter = get(collector, `exporters.${id}`) as Doc;
    // gRPC name syntax: `dns:///host:port` resolves every address of host (round_robin over them).
    const target = hostPort((exporter.endpoint as string).replace(/^dns:\/\/\//, ""));
    const tls = exporter.tls as Doc | undefined;
    clients.push({
      client: "collector",
      speaks: id.startsWith("otlp_grpc") ? "otlp-grpc" : "otlp-http",
      what: `collector exporter ${id}`,
      dialHost: target.host,
      dialPort: target.port,
      tls: tls?.insecure !== true,
      caFile: tls?.ca_file as string | undefined,
      verifiedName: (tls?.server_name_override as string | undefined) ?? target.host,
      clientCertFile: tls?.cert_file as string | undefined,
      clientKeyFile: tls?.key_file as string | undefined,
    });
  }

  const tempos = tempoInstances(model);
  /** Containers running a target, for clients that reach them through a ring. */
  const ringOf = (target: string): string => tempos.filter((t) => t.target === target).map((t) => t.service.id).join(",");
  for (const { service, target, config: tempo } of tempos) {
    const id = service.id;
    const grpcPort = get(tempo, "server.grpc_listen_port") as number;
    const grpcClient = (key: string, dial: { host: string; port: number; ring?: string }): void => {
      const cfg = get(tempo, key) as Doc;
      clients.push({
        client: id,
        speaks: "tempo-internal-grpc",
        what: `${id} ${key}`,
        dialHost: dial.host,
        dialPort: dial.port,
        tls: cfg.tls_enabled === true,
        caFile: cfg.tls_ca_path as string | undefined,
        verifiedName: (cfg.tls_server_name as string | undefined) ?? dial.host,
        clientCertFile: cfg.tls_cert_path as string | undefined,
        clientKeyFile: cfg.tls_key_path as string | undefined,
        ...(dial.ring !== undefined ? { dialsRingOf: dial.ring } : {}),
      });
    };
    if (target === "all") {
      // The single binary's rings hold its own advertised addresses.
      grpcClient("ingester_client.grpc_client_config", { host: get(tempo, "ingester.lifecycler.address") as string, port: grpcPort });
      grpcClient("metrics_generator_client.grpc_client_config", { host: get(tempo, "metrics_generator.ring.instance_addr") as string, port: grpcPort });
      grpcClient("querier.frontend_worker.grpc_client_config", hostPort(get(tempo, "querier.frontend_worker.frontend_address") as string));
    }
    // Rings hold the members' IP addresses and their gRPC port: the client dials every member.
    if (target === "distributor" || target === "querier") grpcClient("ingester_client.grpc_client_config", { host: "(ingester ring)", port: grpcPort, ring: ringOf("ingester") });
    if (target === "distributor") grpcClient("metrics_generator_client.grpc_client_config", { host: "(metrics-generator ring)", port: grpcPort, ring: ringOf("metrics-generator") });
    if (target === "querier") grpcClient("querier.frontend_worker.grpc_client_config", hostPort(get(tempo, "querier.frontend_worker.frontend_address") as string));

    if (GOSSIPING_TARGETS.includes(target) && get(tempo, "memberlist.join_members") !== undefined) {
      const tlsOn = get(tempo, "memberlist.tls_enabled") === true;
      for (const member of get(tempo, "memberlist.join_members") as string[]) {
        const target = hostPort(member.replace(/^dns\+/, ""));
        clients.push({
          client: id,
          speaks: "tempo-memberlist",
          what: `${id} memberlist join ${member}`,
          dialHost: target.host,
          dialPort: target.port,
          tls: tlsOn,
          caFile: get(tempo, "memberlist.tls_ca_path") as string | undefined,
          verifiedName: (get(tempo, "memberlist.tls_server_name") as string | undefined) ?? target.host,
          clientCertFile: get(tempo, "memberlist.tls_cert_path") as string | undefined,
          clientKeyFile: get(tempo, "memberlist.tls_key_path") as string | undefined,
        });
      }
    }

    if (STORAGE_TARGETS.includes(target) && get(tempo, "storage.trace.backend") === "s3") {
      const s3 = get(tempo, "storage.trace.s3") as Doc;
      const endpoint = String(s3.endpoint);
      const target = hostPort(endpoint);
      clients.push({
        client: id,
        speaks: "s3",
        what: `${id} storage.trace.s3`,
        dialHost: target.host,
        dialPort: target.port,
        // Tempo's S3 client speaks TLS unless `insecure` says otherwise, and takes no scheme.
        tls: s3.insecure !== true && !endpoint.startsWith("http://"),
        caFile: s3.tls_ca_path as string | undefined,
        verifiedName: (s3.tls_server_name as string | undefined) ?? target.host,
        clientCertFile: s3.tls_cert_path as string | undefined,
        clientKeyFile: s3.tls_key_path as string | undefined,
      });
    }

    if (target !== "all" && target !== "metrics-generator") continue;
    const generatorStorage = get(tempo, "metrics_generator.storage") as Doc | undefined;
    for (const remote of (generatorStorage?.remote_write as Doc[] | undefined) ?? []) {
      const url = new URL(remote.url as string);
      clients.push({
        client: id,
        // Prometheus answers remote write on /api/v1/write only; any other path is its query API.
        speaks: url.pathname === "/api/v1/write" ? "prometheus-remote-write" : "prometheus-http",
        what: `${id} metrics-generator remote_write ${url.pathname}`,
        dialHost: url.hostname,
        dialPort: Number(url.port),
        tls: url.protocol === "https:",
        caFile: get(remote, "tls_config.ca_file") as string | undefined,
        verifiedName: (get(remote, "tls_config.server_name") as string | undefined) ?? url.hostname,
        clientCertFile: get(remote, "tls_config.cert_file") as string | undefined,
        clientKeyFile: get(remote, "tls_config.key_file") as string | undefined,
      });
    }
  }

  for (const app of [model.services.app, model.services.appBackend]) {
    const endpoint = env(app, "OTEL_EXPORTER_OTLP_ENDPOINT") ?? "";
    const target = hostPort(endpoint);
    clients.push({ client: app.id, speaks: env(app, "OTEL_EXPORTER_OTLP_PROTOCOL") === "grpc" ? "otlp-grpc" : "otlp-http", what: `${app.id} OTLP exporter`, dialHost: target.host, dialPort: target.port, tls: endpoint.startsWith("https://"), caFile: env(app, "OTEL_EXPORTER_OTLP_CERTIFICATE"), verifiedName: target.host, clientCertFile: env(app, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"), clientKeyFile: env(app, "OTEL_EXPORTER_OTLP_CLIENT_KEY") });
    const downstream = env(app, "DOWNSTREAM_URL");
    if (downstream) {
      const target = hostPort(downstream);
      clients.push({ client: app.id, speaks: "app-http", what: `${app.id} downstream call`, dialHost: target.host, dialPort: target.port, tls: downstream.startsWith("https://"), caFile: env(app, "DOWNSTREAM_CA_FILE"), verifiedName: target.host, clientCertFile: env(app, "DOWNSTREAM_CLIENT_CERTIFICATE"), clientKeyFile: env(app, "DOWNSTREAM_CLIENT_KEY") });
    }
  }

  const prometheus = parse(fileText(model.services.prometheus, "/etc/prometheus/prometheus.yml")) as Doc;
  for (const job of get(prometheus, "scrape_configs") as Doc[]) {
    // Static targets, or (a Swarm service's tasks) DNS names whose every A record is scraped at `port`.
    const staticTargets = ((get(job, "static_configs") as Doc[] | undefined) ?? []).flatMap((s) => s.targets as string[]);
    const discovered = ((get(job, "dns_sd_configs") as Doc[] | undefined) ?? []).flatMap((d) => (d.names as string[]).map((name) => `${name}:${String(d.port)}`));
    for (const targetText of [...staticTargets, ...discovered]) {
      const target = hostPort(targetText);
      clients.push({
        client: "prometheus",
        // Tempo serves /metrics on its HTTP API port.
        speaks: "tempo-http-api",
        what: `prometheus scrape ${job.job_name as string}`,
        dialHost: target.host,
        dialPort: target.port,
        tls: job.scheme === "https",
        caFile: get(job, "tls_config.ca_file") as string | undefined,
        verifiedName: (get(job, "tls_config.server_name") as string | undefined) ?? target.host,
        clientCertFile: get(job, "tls_config.cert_file") as string | undefined,
        clientKeyFile: get(job, "tls_config.key_file") as string | undefined,
      });
    }
  }

  for (const ds of Object.values(grafanaDatasources(model))) {
    const target = hostPort(ds.url);
    clients.push({
      client: "grafana",
      speaks: ds.type === "tempo" ? "tempo-http-api" : "prometheus-http",
      what: `grafana datasource ${ds.name}`,
      dialHost: target.host,
      dialPort: target.port,
      tls: ds.url.startsWith("https://"),
      // Grafana gets the CA PEM itself in secureJsonData, not a file.
      caFile: ds.jsonData.tlsAuthWithCACert === true ? "secureJsonData.tlsCACert" : undefined,
      verifiedName: (ds.jsonData.serverName as string | undefined) ?? target.host,
      // The provisioning component fills tlsClientCert/Key with Grafana's own pair when both say so.
      ...(ds.jsonData.tlsAuth === true && ds.presentsClientCertificate ? { clientCertFile: GRAFANA_CLIENT_CERT, clientKeyFile: GRAFANA_CLIENT_KEY } : {}),
    });
  }
  return clients;
}

/** Every container a client reaches: itself on loopback, a ring's members, or all answering to the name it dials. */
function resolveServers(model: StackModel, client: ObservedClient): InstanceId[] {
  if (client.dialsRingOf !== undefined) return client.dialsRingOf.split(",").filter(Boolean);
  if (client.dialHost === "127.0.0.1" || client.dialHost === "localhost") return [client.client];
  return (Object.values(model.services) as ServiceModel[]).filter((s) => s.networkAliases.includes(client.dialHost) || s.containerName === client.dialHost).map((s) => s.id);
}

function fileContent(service: ServiceModel, path: string | undefined): FileContent | undefined {
  return service.files.find((f: ContainerFile) => f.path === path)?.content;
}

/** What is wrong with one client's connection to one server container, as sentences. */
function linkProblems(model: StackModel, servers: ObservedServer[], client: ObservedClient, serverId: InstanceId): string[] {
  const problems: string[] = [];
    const onPort = servers.filter((s) => s.service === serverId && s.port === client.dialPort);
    const server = onPort.find((s) => s.speaks === client.speaks) ?? onPort[0];
    if (!server) {
      problems.push(`${client.what} dials ${serverId} port ${client.dialPort}, where ${serverId} does not listen (it listens on ${servers.filter((s) => s.service === serverId).map((s) => `${s.port} (${s.what})`).join(", ")})`);
      return problems;
    }
    if (client.speaks !== server.speaks) {
      problems.push(`${client.what} speaks ${client.speaks} to ${serverId} port ${client.dialPort}, but that port is ${server.what} (${server.speaks})`);
      return problems;
    }
    if (client.tls !== server.tls) {
      problems.push(`${client.what} uses ${client.tls ? "TLS" : "plaintext"} but ${server.what} serves ${server.tls ? "TLS" : "plaintext"}`);
      return problems;
    }
    if (!client.tls) return problems;
    const serverService = model.services[serverId];
    const certContent = fileContent(serverService, server.certFile);
    const keyContent = fileContent(serverService, server.keyFile);
    if (certContent?.kind !== "serviceCertificate" || certContent.service !== serverId) problems.push(`${server.what} does not serve ${serverId}'s own certificate`);
    if (keyContent?.kind !== "servicePrivateKey" || keyContent.service !== serverId) problems.push(`${server.what} does not use ${serverId}'s own private key`);
    const trusts = client.caFile === "secureJsonData.tlsCACert" ? { kind: "caCertificate" } : fileContent(model.services[client.client], client.caFile);
    if (trusts?.kind !== "caCertificate") problems.push(`${client.what} does not trust the stack CA (CA file ${client.caFile ?? "missing"})`);
    if (server.clientCaFile !== undefined) {
      // The server demands a certificate from the CA in clientCaFile: it must be the stack CA, and
      // the client must present its own certificate and key, which the stack CA signed.
      if (fileContent(serverService, server.clientCaFile)?.kind !== "caCertificate") problems.push(`${server.what} verifies client certificates against ${server.clientCaFile}, which is not the stack CA`);
      if (!client.clientCertFile || !client.clientKeyFile) {
        problems.push(`${client.what} presents no client certificate, but ${server.what} requires one`);
      } else if (client.clientCertFile !== GRAFANA_CLIENT_CERT) {
        const own = model.services[client.client];
        const presented = fileContent(own, client.clientCertFile);
        const presentedKey = fileContent(own, client.clientKeyFile);
        if (presented?.kind !== "serviceCertificate" || presented.service !== client.client) problems.push(`${client.what} presents ${client.clientCertFile}, which is not ${client.client}'s own certificate from the stack CA`);
        if (presentedKey?.kind !== "servicePrivateKey" || presentedKey.service !== client.client) problems.push(`${client.what} presents the key ${client.clientKeyFile}, which is not ${client.client}'s own`);
      }
    }
    const cert = serverService.certificate;
    const name = client.verifiedName ?? client.dialHost;
    if (!cert.dnsNames.includes(name) && !cert.ipAddresses.includes(name)) {
      problems.push(`${client.what} verifies the name "${name}", which is not in ${serverId}'s certificate (${[...cert.dnsNames, ...cert.ipAddresses].join(", ")})`);
    }
    return problems;
}

/** Every wiring problem of a model, as sentences a user could act on; empty when all is consistent. */
export function wiringProblems(declared: StackModel): string[] {
  const model = renderStackConfigs(declared);
  const problems: string[] = [];
  const servers = observedServers(model);
  for (const client of observedClients(model)) {
    const serverIds = resolveServers(model, client);
    if (serverIds.length === 0) {
      problems.push(`${client.what} dials ${client.dialHost}, which is no service of the stack`);
      continue;
    }
    for (const serverId of serverIds) problems.push(...linkProblems(model, servers, client, serverId));
  }
  problems.push(...filePermissionProblems(model));
  return problems;
}

/** Each service can read every file it gets; no private key is readable by other users of its container. */
function filePermissionProblems(model: StackModel): string[] {
  const problems: string[] = [];
  for (const service of Object.values(model.services) as ServiceModel[]) {
    const user = parseUser(service.user);
    for (const file of service.files) {
      if (!canReadRootOwned(file.mode, user)) problems.push(`${service.id} runs as ${service.user} and cannot read ${file.path} (root:root, mode ${file.mode})`);
      if (file.content.kind === "servicePrivateKey" && canReadRootOwned(file.mode, OTHER_USER)) {
        problems.push(`${service.id}'s private key ${file.path} (mode ${file.mode}) is readable by every user of its container`);
      }
    }
  }
  return problems;
}
