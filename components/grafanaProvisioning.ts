import * as pulumi from "@pulumi/pulumi";
import * as grafana from "@pulumiverse/grafana";
import type { DatasourceSpec } from "../configs/grafana/datasources";

export interface GrafanaProvisioningArgs {
  url: string;
  adminPassword: pulumi.Input<string>;
  caCertificatePem: pulumi.Input<string>;
  /** Grafana's own certificate and key, presented to datasources that require a client certificate. */
  clientCertificate: { certificatePem: pulumi.Input<string>; privateKeyPem: pulumi.Input<string> };
  datasources: DatasourceSpec[];
  folder: { uid: string; title: string };
  dashboards: Record<string, unknown>[];
}

/**
 * Datasources, folder and dashboards through Grafana's API, over HTTPS verified against the stack
 * CA. Callers pass `dependsOn` the healthy Grafana container: the provider cannot act earlier.
 */
export class GrafanaProvisioning extends pulumi.ComponentResource {
  readonly dashboardUrls: pulumi.Output<string[]>;

  constructor(name: string, args: GrafanaProvisioningArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tracing-stack:index:GrafanaProvisioning", name, {}, opts);
    const provider = new grafana.Provider(
      `${name}-provider`,
      {
        url: args.url,
        auth: pulumi.secret(pulumi.interpolate`admin:${args.adminPassword}`),
        caCert: args.caCertificatePem,
        retries: 10,
        retryWait: 3,
      },
      { parent: this },
    );
    const child = { parent: this, provider };

    const datasources = args.datasources.map(
      (ds) =>
        new grafana.oss.DataSource(
          `${name}-${ds.type}`,
          {
            name: ds.name,
            uid: ds.uid,
            type: ds.type,
            url: ds.url,
            accessMode: "proxy",
            isDefault: ds.type === "tempo",
            jsonDataEncoded: JSON.stringify(ds.jsonData),
            secureJsonDataEncoded: pulumi.secret(
              pulumi
                .all([args.caCertificatePem, args.clientCertificate.certificatePem, args.clientCertificate.privateKeyPem])
                .apply(([ca, cert, key]) =>
                  JSON.stringify({ tlsCACert: ca, ...(ds.presentsClientCertificate ? { tlsClientCert: cert, tlsClientKey: key } : {}) }),
                ),
            ),
          },
          child,
        ),
    );

    const folder = new grafana.oss.Folder(`${name}-folder`, { uid: args.folder.uid, title: args.folder.title }, child);

    const dashboards = args.dashboards.map(
      (dashboard, i) =>
        new grafana.oss.Dashboard(
          `${name}-dashboard-${i}`,
          { folder: folder.uid, configJson: JSON.stringify(dashboard), overwrite: true },
          { ...child, dependsOn: datasources },
        ),
    );
    this.dashboardUrls = pulumi.all(dashboards.map((d) => d.url));
    this.registerOutputs({ dashboardUrls: this.dashboardUrls });
  }
}
