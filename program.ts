import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { StackPki } from "./components/pki";
import type { ServiceTlsMaterial } from "./components/pki";
import type { StackMaterial } from "./components/stackMaterial";
import { deployOnDocker } from "./engines/docker";
import { deployOnSwarm, swarmExpectations } from "./engines/swarm";
import { GrafanaProvisioning } from "./components/grafanaProvisioning";
import { PostDeployVerification } from "./components/verification";
import { grafanaDatasources } from "./configs/grafana/datasources";
import { stackDashboards } from "./configs/grafana/dashboards";
import { renderStackConfigs } from "./configs/renderStackConfigs";
import { renderObjectStoreCredentials } from "./configs/objectStore/credentials";
import { buildStackModel, parseStackConfig, PROJECT_NAME, singleInstance } from "./model";
import type { CertificateSpec, InstanceId, StackModel } from "./model";

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
 * Microservices mode: the files that carry the key pair Tempo signs its S3 requests with. The
 * in-stack store's pair is generated here; an external store's secret is the stack's own secret.
 * Both stay Pulumi secrets: they reach containers only as 0440 files.
 */
function objectStoreCredentialsFile(model: StackModel, config: pulumi.Config): StackMaterial["objectStoreCredentialsFile"] {
  if (model.config.tempo.mode !== "microservices") return undefined;
  const storage = model.config.tempo.objectStorage;
  let accessKeyId: pulumi.Input<string>;
  let secretAccessKey: pulumi.Output<string>;
  if (storage.kind === "external") {
    accessKeyId = storage.accessKeyId;
    secretAccessKey = config.requireSecret("objectStorageSecretAccessKey");
  } else {
    // Letters and digits only: the keys travel in SigV4 headers, SeaweedFS' JSON and curl's config.
    accessKeyId = new random.RandomPassword("object-store-access-key-id", { length: 20, special: false, lower: false }).result;
    secretAccessKey = new random.RandomPassword("object-store-secret-access-key", { length: 40, special: false }).result;
  }
  return (format) =>
    pulumi.secret(pulumi.all([accessKeyId, secretAccessKey]).apply(([id, secret]) => renderObjectStoreCredentials(format, { accessKeyId: id, secretAccessKey: secret })));
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
  const objectStoreFile = objectStoreCredentialsFile(model, config);
  const material: StackMaterial = {
    stackName,
    caCertificatePem: pki.caCertificatePem,
    tlsMaterial: pki.services,
    grafanaAdminPassword,
    ...(objectStoreFile ? { objectStoreCredentialsFile: objectStoreFile } : {}),
  };
  // One engine realises the model: containers on a Docker host, or services on a swarm.
  const dockerHost = new pulumi.Config("docker").get("host");
  const engine = model.config.engine.kind === "swarm" ? deployOnSwarm(model, material, projectDir, dockerHost) : deployOnDocker(model, material, projectDir);

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
    { dependsOn: [engine.grafana] },
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
      ...(model.config.engine.kind === "swarm" ? { swarm: { services: swarmExpectations(model), ...(dockerHost ? { dockerHost } : {}) } } : {}),
      triggers: [...engine.triggers, pki.caCertificatePem],
    },
    { dependsOn: engine.running },
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
