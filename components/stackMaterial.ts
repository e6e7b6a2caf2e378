/**
 * What every engine writes into its containers besides the model: the PEMs the PKI issued and the
 * secrets the program generated or read, as Pulumi inputs (secrets stay secrets end to end).
 */
import * as pulumi from "@pulumi/pulumi";
import { fileContentFrom } from "../model";
import type { EnvValue, FileContent, InstanceId, ObjectStoreCredentialsFormat, ServiceModel } from "../model";
import type { ServiceTlsMaterial } from "./pki";

export interface StackMaterial {
  stackName: string;
  caCertificatePem: pulumi.Input<string>;
  tlsMaterial: Record<InstanceId, ServiceTlsMaterial>;
  grafanaAdminPassword: pulumi.Input<string>;
  /** Microservices mode: the files that carry the object store's key pair, rendered from Pulumi secrets. */
  objectStoreCredentialsFile?: (format: ObjectStoreCredentialsFormat) => pulumi.Output<string>;
}

/** The bytes of one file of a service, from the model's pointer to them. */
export function fileBytes(content: FileContent, material: StackMaterial): pulumi.Input<string> {
  return fileContentFrom<pulumi.Input<string>>(content, {
    caCertificate: material.caCertificatePem,
    certificate: (service) => tlsOf(material, service).certificatePem,
    privateKey: (service) => tlsOf(material, service).privateKeyPem,
    objectStoreCredentials: (format) => {
      if (!material.objectStoreCredentialsFile) throw new Error(`program bug: a ${format} file is wanted, and the stack has no object store key pair`);
      return material.objectStoreCredentialsFile(format);
    },
    grafanaAdminPassword: pulumi.secret(material.grafanaAdminPassword),
  });
}

function tlsOf(material: StackMaterial, service: InstanceId): ServiceTlsMaterial {
  const tls = material.tlsMaterial[service];
  if (!tls) throw new Error(`program bug: no certificate was issued for ${service}`);
  return tls;
}

/** `NAME=value` entries: the model's environment holds no secret (secrets are files). */
export function envEntries(service: Pick<ServiceModel, "env">): string[] {
  return Object.entries(service.env).map(([name, value]: [string, EnvValue]) => `${name}=${value.value}`);
}

/**
 * Whole seconds as Go's time.Duration prints them ("2s", "1m0s", "1h0m0s"): the provider reads
 * durations back in that form, so "60s" would show as a change on every `pulumi up`.
 */
export function goDuration(totalSeconds: number): string {
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
