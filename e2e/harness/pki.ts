import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { CertificateSpec, ServiceId, StackModel } from "../../model";

const run = promisify(execFile);

export interface MintedPki {
  caCertificatePem: string;
  services: Record<ServiceId, { certificatePem: string; privateKeyPem: string }>;
}

/** openssl names for the usages @pulumi/tls takes. */
const KEY_USAGE: Record<string, string> = { digital_signature: "digitalSignature", key_encipherment: "keyEncipherment", cert_signing: "keyCertSign", crl_signing: "cRLSign" };
const EXTENDED_USAGE: Record<string, string> = { server_auth: "serverAuth", client_auth: "clientAuth" };

function extensions(spec: CertificateSpec): string {
  const san = [...spec.dnsNames.map((n) => `DNS:${n}`), ...spec.ipAddresses.map((ip) => `IP:${ip}`)].join(",");
  const keyUsage = spec.allowedUses.map((u) => KEY_USAGE[u]).filter(Boolean).join(",");
  const extended = spec.allowedUses.map((u) => EXTENDED_USAGE[u]).filter(Boolean).join(",");
  return [
    "basicConstraints=critical,CA:FALSE",
    `keyUsage=critical,${keyUsage}`,
    `extendedKeyUsage=${extended}`,
    `subjectAltName=${san}`,
  ].join("\n");
}

/**
 * The stack's CA and per-service certificates minted with openssl from the model's certificate
 * specs: the same SANs, usages, key type (ECDSA P-256) and validity as the PKI component requests.
 */
export async function mintPki(model: StackModel): Promise<MintedPki> {
  const dir = await mkdtemp(join(tmpdir(), "tracing-stack-pki-"));
  try {
    const hours = (h: number) => String(Math.max(1, Math.ceil(h / 24)));
    await run("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", join(dir, "ca.key")]);
    await run("openssl", [
      "req", "-x509", "-new", "-key", join(dir, "ca.key"), "-sha256", "-days", hours(model.ca.validityHours),
      "-subj", `/O=tracing-stack/CN=${model.ca.commonName}`,
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
      "-out", join(dir, "ca.crt"),
    ]);
    const services = {} as MintedPki["services"];
    for (const [id, service] of Object.entries(model.services) as [ServiceId, StackModel["services"][ServiceId]][]) {
      const spec = service.certificate;
      const key = join(dir, `${id}.key`);
      await run("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]);
      await run("openssl", ["req", "-new", "-key", key, "-subj", `/O=tracing-stack/CN=${spec.commonName}`, "-out", join(dir, `${id}.csr`)]);
      await writeFile(join(dir, `${id}.ext`), extensions(spec));
      await run("openssl", [
        "x509", "-req", "-in", join(dir, `${id}.csr`), "-CA", join(dir, "ca.crt"), "-CAkey", join(dir, "ca.key"), "-CAcreateserial",
        "-days", hours(spec.validityHours), "-sha256", "-extfile", join(dir, `${id}.ext`), "-out", join(dir, `${id}.crt`),
      ]);
      services[id] = { certificatePem: await readFile(join(dir, `${id}.crt`), "utf8"), privateKeyPem: await readFile(key, "utf8") };
    }
    return { caCertificatePem: await readFile(join(dir, "ca.crt"), "utf8"), services };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
