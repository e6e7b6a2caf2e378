import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { CertificateSpec, InstanceId, StackModel } from "../model";

export interface ServiceTlsMaterial {
  certificatePem: pulumi.Output<string>;
  /** Always a Pulumi secret: it never appears in plain text in state or previews. */
  privateKeyPem: pulumi.Output<string>;
}

export interface StackPkiArgs {
  ca: StackModel["ca"];
  certificates: Record<InstanceId, CertificateSpec>;
  /** The identity of programs on the host (verifier, users' services) under mutual TLS. */
  hostClient: CertificateSpec;
}

/**
 * The stack's certificate authority, one key + certificate per container, and the host client's,
 * as the model specifies.
 */
export class StackPki extends pulumi.ComponentResource {
  readonly caCertificatePem: pulumi.Output<string>;
  readonly services: Record<InstanceId, ServiceTlsMaterial>;
  readonly hostClient: ServiceTlsMaterial;

  constructor(name: string, args: StackPkiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tracing-stack:index:StackPki", name, {}, opts);
    const parent = { parent: this };

    const caKey = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, parent);
    const caCert = new tls.SelfSignedCert(
      `${name}-ca`,
      {
        privateKeyPem: caKey.privateKeyPem,
        isCaCertificate: true,
        subject: { commonName: args.ca.commonName, organization: "tracing-stack" },
        validityPeriodHours: args.ca.validityHours,
        earlyRenewalHours: args.ca.earlyRenewalHours,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
      },
      parent,
    );
    this.caCertificatePem = caCert.certPem;

    const issue = (id: string, spec: CertificateSpec): ServiceTlsMaterial => {
      const key = new tls.PrivateKey(`${name}-${id}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, parent);
      const request = new tls.CertRequest(
        `${name}-${id}-csr`,
        {
          privateKeyPem: key.privateKeyPem,
          subject: { commonName: spec.commonName, organization: "tracing-stack" },
          dnsNames: spec.dnsNames,
          ipAddresses: spec.ipAddresses,
        },
        parent,
      );
      // earlyRenewalHours makes `pulumi up` replace the certificate before it expires; the
      // containers that mount it are replaced with it because their uploads change.
      const cert = new tls.LocallySignedCert(
        `${name}-${id}-cert`,
        {
          certRequestPem: request.certRequestPem,
          caPrivateKeyPem: caKey.privateKeyPem,
          caCertPem: caCert.certPem,
          validityPeriodHours: spec.validityHours,
          earlyRenewalHours: spec.earlyRenewalHours,
          allowedUses: spec.allowedUses,
        },
        parent,
      );
      return { certificatePem: cert.certPem, privateKeyPem: pulumi.secret(key.privateKeyPem) };
    };
    const services: Record<InstanceId, ServiceTlsMaterial> = {};
    for (const [id, spec] of Object.entries(args.certificates)) services[id] = issue(id, spec);
    this.hostClient = issue("host-client", args.hostClient);
    this.services = services;

    this.registerOutputs({ caCertificatePem: this.caCertificatePem });
  }
}
