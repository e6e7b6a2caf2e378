import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { StackPki } from "./components/pki";
import type { ServiceTlsMaterial } from "./components/pki";
import { StackNetwork } from "./components/network";
import { ServiceImage } from "./components/serviceImage";
import { ServiceContainer } from "./components/serviceContainer";
import { GrafanaProvisioning } from "./components/grafanaProvisioning";
import { PostDeployVerification } from "./components/verification";
import { grafanaDatasources } from "./configs/grafana/datasources";
import { stackDashboards } from "./configs/grafana/dashboards";
import { renderStackConfigs } from "./configs/renderStackConfigs";
import { renderObjectStoreCredentials } from "./configs/objectStore/credentials";
import { buildStackModel, imageKey, isTempoComponent, parseStackConfig, PROJECT_NAME, singleInstance } from "./model";
import type { CertificateSpec, InstanceId, StackModel } from "./model";
import type { ServiceContainerArgs } from "./components/serviceContainer";

/**
 * This project's settings from the running stack, values parsed the way the Pulumi CLI stores
 * them (objects as JSON, scalars as strings).
 */
function projectSettings(): Record<string, unknown> {
  const prefix = `${PROJECT_NAME}:`;
  const settings: Record<string, unknown> = {};
  for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (!fullKey.startsWith(prefix)) continue;
    let parsed: unknown = value;
    try {
      parsed = JSON.parse(value);
    } catch {
      // A plain string setting such as `hostBindAddress: 127.0.0.1`.
    }
    settings[fullKey.slice(prefix.length)] = parsed;
  }
  return settings;
}

export interface StackOutputs {
  grafanaUrl: string;
  tempoApiUrl: string;
  appUrl: string;
  prometheusUrl: string;
  collectorOtlpGrpcUrl: string;
  collectorOtlpHttpUrl: string;
  caCertificate: pulumi.Output<string>;
  /** Under mutual TLS: what users' services (and the verifier) present to the stack's endpoints. */
  clientCertificate: pulumi.Output<string> | undefined;
  clientPrivateKey: pulumi.Output<string> | undefined;
  grafanaAdminPassword: pulumi.Output<string>;
  grafanaDashboardUrls: pulumi.Output<string[]>;
  verification: pulumi.Output<unknown>;
  verificationSummary: pulumi.Output<string>;
}

/**
 * Microservices mode: the key pair Tempo signs its S3 requests with. The in-stack store's is
 * generated here and kept as Pulumi secrets; an external store's secret is the stack's own secret.
 */
function objectStorageCredentials(model: StackModel, config: pulumi.Config): ServiceContainerArgs["objectStorage"] {
  if (model.config.tempo.mode !== "microservices") return undefined;
  const storage = model.config.tempo.objectStorage;
  if (storage.kind === "external") {
    const secretAccessKey = config.requireSecret("objectStorageSecretAccessKey");
    return {
      accessKeyId: storage.accessKeyId,
      secretAccessKey,
      credentialsFile: () => {
        throw new Error("program bug: an external object store has no in-stack credentials files");
      },
    };
  }
  // Letters and digits only: the keys travel in SigV4 headers, SeaweedFS' JSON and curl's config.
  const accessKeyId = new random.RandomPassword("object-store-access-key-id", { length: 20, special: false, lower: false }).result;
  const secretAccessKey = new random.RandomPassword("object-store-secret-access-key", { length: 40, special: false }).result;
  return {
    accessKeyId: pulumi.secret(accessKeyId),
    secretAccessKey,
    credentialsFile: (format) =>
      pulumi.secret(pulumi.all([accessKeyId, secretAccessKey]).apply(([id, secret]) => renderObjectStoreCredentials(format, { accessKeyId: id, secretAccessKey: secret }))),
  };
}

/** The whole stack. The model is built (and bad config rejected) before any resource exists. */
export function deployStack(projectDir: string): StackOutputs {
  const stackName = pulumi.getStack();
  const model: StackModel = renderStackConfigs(buildStackModel(parseStackConfig(stackName, projectSettings())));

  const config = new pulumi.Config();
  const grafanaAdminPassword: pulumi.Output<string> =
    config.getSecret("grafanaAdminPassword") ??
    new random.RandomPassword("grafana-admin-password", { length: 24, special: false }).result;

  const certificates: Record<InstanceId, CertificateSpec> = {};
  for (const [id, service] of Object.entries(model.services)) certificates[id] = service.certificate;
  const pki = new StackPki("pki", { ca: model.ca, certificates, hostClient: model.hostClientCertificate });
  const mutualTls = model.config.tls.mutual;
  const network = new StackNetwork("network", { networkName: model.networkName });

  const objectStorage = objectStorageCredentials(model, config);
  const containers: Record<InstanceId, ServiceContainer> = {};
  // One image per distinct reference: the app and its backend, and every Tempo container, run one image.
  const images = new Map<string, ServiceImage>();
  for (const service of Object.values(model.services)) {
    const key = imageKey(service.image);
    // Named after the role the image plays: every Tempo container shares `tempo-image`.
    const role = isTempoComponent(service.component) ? "tempo" : service.component;
    if (!images.has(key)) images.set(key, new ServiceImage(`${role}-image`, { image: service.image, projectDir }));
  }
  const imageRefs = [...images.values()].map((image) => image.imageRef);
  // Each container waits only for what its links say it needs (model.startsAfter); the rest start
  // together, so one service's healthcheck wait no longer delays unrelated ones.
  for (const id of model.startOrder) {
    const service = model.services[id]!;
    const image = images.get(imageKey(service.image)) as ServiceImage;
    const upstream = (model.startsAfter[id] ?? []).map((dep) => containers[dep] as ServiceContainer);
    containers[id] = new ServiceContainer(
      id,
      {
        stackName,
        service,
        imageRef: image.imageRef,
        networkName: network.name,
        caCertificatePem: pki.caCertificatePem,
        tlsMaterial: pki.services,
        grafanaAdminPassword,
        ...(objectStorage ? { objectStorage } : {}),
      },
      { dependsOn: upstream },
    );
  }

  const datasources = grafanaDatasources(model);
  const provisioning = new GrafanaProvisioning(
    "grafana",
    {
      url: model.hostUrls.grafana,
      adminPassword: grafanaAdminPassword,
      caCertificatePem: pki.caCertificatePem,
      clientCertificate: pki.services[singleInstance(model.services, "grafana").id] as ServiceTlsMaterial,
      datasources: [datasources.tempo, datasources.prometheus],
      folder: { uid: `tracing-stack-${stackName}`.slice(0, 40), title: `Tracing stack (${stackName})` },
      dashboards: stackDashboards(model),
    },
    { dependsOn: [containers[singleInstance(model.services, "grafana").id] as ServiceContainer] },
  );

  const verification = new PostDeployVerification(
    "verify-ingestion",
    {
      projectDir,
      tempoApiUrl: model.hostUrls.tempoApi,
      appUrl: model.hostUrls.app,
      collectorOtlpUrl: model.hostUrls.collectorOtlpGrpc,
      prometheusUrl: model.hostUrls.prometheus,
      serviceGraphEdge: { client: model.config.appServiceName, server: model.config.appBackendServiceName },
      caCertificatePem: pki.caCertificatePem,
      ...(mutualTls ? { clientCertificate: pki.hostClient } : {}),
      ...(model.config.tempo.mode === "microservices"
        ? { distributed: { ingesters: model.config.tempo.replicas.ingester, replicationFactor: model.config.tempo.replicationFactor } }
        : {}),
      traces: model.config.verification.traces,
      minFraction: model.config.verification.minFraction,
      deadlineSeconds: model.config.verification.deadlineSeconds,
      triggers: [...model.startOrder.map((id) => (containers[id] as ServiceContainer).containerId), ...imageRefs, pki.caCertificatePem],
    },
    { dependsOn: Object.values(containers) },
  );

  const report = verification.result.apply((stdout): unknown => {
    try {
      return JSON.parse(stdout) as unknown;
    } catch {
      return stdout;
    }
  });

  return {
    grafanaUrl: model.hostUrls.grafana,
    tempoApiUrl: model.hostUrls.tempoApi,
    appUrl: model.hostUrls.app,
    prometheusUrl: model.hostUrls.prometheus,
    collectorOtlpGrpcUrl: model.hostUrls.collectorOtlpGrpc,
    collectorOtlpHttpUrl: model.hostUrls.collectorOtlpHttp,
    caCertificate: pki.caCertificatePem,
    clientCertificate: mutualTls ? pki.hostClient.certificatePem : undefined,
    clientPrivateKey: mutualTls ? pulumi.secret(pki.hostClient.privateKeyPem) : undefined,
    grafanaAdminPassword: pulumi.secret(grafanaAdminPassword),
    grafanaDashboardUrls: provisioning.dashboardUrls,
    verification: report,
    verificationSummary: report.apply((r) => (typeof r === "object" && r !== null && typeof (r as { summary?: unknown }).summary === "string" ? (r as { summary: string }).summary : String(r))),
  };
}
