/**
 * Real values for the program's `tls:*` resources, made from their registered inputs the way
 * hashicorp/terraform-provider-tls (which @pulumi/tls bridges) makes them:
 * - PrivateKey ECDSA: `privateKeyPem` is SEC1 ("EC PRIVATE KEY", x509.MarshalECPrivateKey),
 *   `privateKeyPemPkcs8` PKCS#8, `publicKeyPem` PKIX ("PUBLIC KEY").
 * - Certificates: a random serial below 2^128, NotBefore = now, NotAfter = now + validity hours,
 *   BasicConstraints on every certificate (critical; cA only for `isCaCertificate`), KeyUsage
 *   (critical) and ExtKeyUsage from `allowedUses` with no usage added on its own, a SubjectKeyId
 *   only on CA certificates, and (Go's crypto/x509) an AuthorityKeyId from the issuer's SubjectKeyId.
 * - LocallySignedCert takes subject, DNS names, IPs and the public key from the CSR, the rest from
 *   its own inputs. Signature ECDSA with SHA-256 for the P-256 keys the program asks for.
 * An input this module does not implement is an error, so a new program setting cannot be dropped.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { createPrivateKey, createPublicKey, randomBytes, webcrypto } from "node:crypto";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
type CryptoKey = webcrypto.CryptoKey;

type Inputs = Record<string, unknown>;
type State = Record<string, unknown>;

const ECDSA_CURVES: Record<string, { namedCurve: string; hash: string }> = {
  P256: { namedCurve: "P-256", hash: "SHA-256" },
  P384: { namedCurve: "P-384", hash: "SHA-384" },
};

const KEY_USAGES: Record<string, x509.KeyUsageFlags> = {
  digital_signature: x509.KeyUsageFlags.digitalSignature,
  content_commitment: x509.KeyUsageFlags.nonRepudiation,
  key_encipherment: x509.KeyUsageFlags.keyEncipherment,
  data_encipherment: x509.KeyUsageFlags.dataEncipherment,
  key_agreement: x509.KeyUsageFlags.keyAgreement,
  cert_signing: x509.KeyUsageFlags.keyCertSign,
  crl_signing: x509.KeyUsageFlags.cRLSign,
  encipher_only: x509.KeyUsageFlags.encipherOnly,
  decipher_only: x509.KeyUsageFlags.decipherOnly,
};

const EXTENDED_KEY_USAGES: Record<string, string> = {
  any_extended: "2.5.29.37.0",
  server_auth: x509.ExtendedKeyUsage.serverAuth,
  client_auth: x509.ExtendedKeyUsage.clientAuth,
  code_signing: x509.ExtendedKeyUsage.codeSigning,
  email_protection: x509.ExtendedKeyUsage.emailProtection,
  timestamping: x509.ExtendedKeyUsage.timeStamping,
  ocsp_signing: x509.ExtendedKeyUsage.ocspSigning,
};

/** pkix.Name field order as Go writes it (ToRDNSequence): C, ST, L, street, postal code, O, OU, CN, serial. */
const SUBJECT_FIELDS: Array<[string, string]> = [
  ["country", "C"],
  ["province", "ST"],
  ["locality", "L"],
  ["streetAddresses", "street"],
  ["postalCode", "postalCode"],
  ["organization", "O"],
  ["organizationalUnit", "OU"],
  ["commonName", "CN"],
  ["serialNumber", "serialNumber"],
];

function rejectUnknownInputs(type: string, name: string, inputs: Inputs, known: readonly string[]): void {
  const unknown = Object.keys(inputs).filter((k) => !known.includes(k) && inputs[k] !== undefined);
  if (unknown.length > 0) {
    throw new Error(`${type} ${name}: the e2e TLS double does not implement input(s) ${unknown.join(", ")}; implement them in e2e/deploy/tlsResources.ts rather than dropping them`);
  }
}

function subjectName(subject: unknown): x509.Name {
  const fields = (subject ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!SUBJECT_FIELDS.some(([k]) => k === key)) throw new Error(`tls subject field ${key} is not implemented by the e2e TLS double`);
  }
  const rdns: x509.JsonName = [];
  for (const [key, short] of SUBJECT_FIELDS) {
    const value = fields[key];
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) rdns.push({ [short]: [String(v)] });
  }
  return new x509.Name(rdns);
}

function curveOf(inputs: Inputs): { namedCurve: string; hash: string } {
  const curve = ECDSA_CURVES[String(inputs.ecdsaCurve ?? "P224")];
  if (!curve) throw new Error(`tls PrivateKey: curve ${String(inputs.ecdsaCurve ?? "P224")} is not implemented by the e2e TLS double`);
  return curve;
}

async function signingKeyFromPem(pem: string): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey; algorithm: { name: string; namedCurve: string; hash: string } }> {
  const key = createPrivateKey(pem);
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const named = curve === "prime256v1" ? ECDSA_CURVES.P256! : curve === "secp384r1" ? ECDSA_CURVES.P384! : undefined;
  if (key.asymmetricKeyType !== "ec" || !named) throw new Error(`the e2e TLS double signs with ECDSA P-256/P-384 keys only (got ${key.asymmetricKeyType} ${curve ?? ""})`);
  const algorithm = { name: "ECDSA", namedCurve: named.namedCurve, hash: named.hash };
  const privateKey = await webcrypto.subtle.importKey("pkcs8", key.export({ type: "pkcs8", format: "der" }), algorithm, true, ["sign"]);
  const publicKey = await webcrypto.subtle.importKey("spki", createPublicKey(key).export({ type: "spki", format: "der" }), algorithm, true, ["verify"]);
  return { privateKey, publicKey, algorithm };
}

/** A positive serial number below 2^128, as hex (terraform-provider-tls: rand.Int(rand.Reader, 1<<128)). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // DER INTEGER stays positive without a leading zero byte
  return bytes.toString("hex");
}

function usagesExtensions(allowedUses: unknown): x509.Extension[] {
  const uses = (allowedUses ?? []) as string[];
  let flags = 0;
  const extended: string[] = [];
  for (const use of uses) {
    if (use in KEY_USAGES) flags |= KEY_USAGES[use]!;
    else if (use in EXTENDED_KEY_USAGES) extended.push(EXTENDED_KEY_USAGES[use]!);
    else throw new Error(`tls allowedUses "${use}" is not implemented by the e2e TLS double`);
  }
  const extensions: x509.Extension[] = [];
  if (flags !== 0) extensions.push(new x509.KeyUsagesExtension(flags, true));
  if (extended.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(extended, false));
  return extensions;
}

function validity(inputs: Inputs): { notBefore: Date; notAfter: Date; state: State } {
  const hours = Number(inputs.validityPeriodHours);
  if (!Number.isFinite(hours) || hours <= 0) throw new Error(`tls certificate: validityPeriodHours must be a positive number (got ${String(inputs.validityPeriodHours)})`);
  const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + hours * 3600_000);
  const earlyRenewalHours = Number(inputs.earlyRenewalHours ?? 0);
  const renewalAt = notAfter.getTime() - earlyRenewalHours * 3600_000;
  return {
    notBefore,
    notAfter,
    state: {
      validityStartTime: notBefore.toISOString().replace(/\.000Z$/, "Z"),
      validityEndTime: notAfter.toISOString().replace(/\.000Z$/, "Z"),
      // terraform-provider-tls replaces the certificate once now >= end - earlyRenewalHours.
      readyForRenewal: renewalAt <= Date.now() || earlyRenewalHours >= hours,
    },
  };
}

function sanExtension(dnsNames: unknown, ipAddresses: unknown): x509.Extension[] {
  const names: x509.JsonGeneralName[] = [
    ...((dnsNames ?? []) as string[]).map((value) => ({ type: "dns" as const, value })),
    ...((ipAddresses ?? []) as string[]).map((value) => ({ type: "ip" as const, value })),
  ];
  return names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names, false)] : [];
}

async function privateKey(name: string, inputs: Inputs): Promise<State> {
  rejectUnknownInputs("tls PrivateKey", name, inputs, ["algorithm", "ecdsaCurve"]);
  if (inputs.algorithm !== "ECDSA") throw new Error(`tls PrivateKey ${name}: algorithm ${String(inputs.algorithm)} is not implemented by the e2e TLS double`);
  const curve = curveOf(inputs);
  const pair = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: curve.namedCurve }, true, ["sign", "verify"]);
  const key = createPrivateKey({ key: Buffer.from(await webcrypto.subtle.exportKey("pkcs8", pair.privateKey)), format: "der", type: "pkcs8" });
  return {
    ...inputs,
    privateKeyPem: key.export({ type: "sec1", format: "pem" }).toString(),
    privateKeyPemPkcs8: key.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyPem: createPublicKey(key).export({ type: "spki", format: "pem" }).toString(),
  };
}

async function selfSignedCert(name: string, inputs: Inputs): Promise<State> {
  rejectUnknownInputs("tls SelfSignedCert", name, inputs, ["privateKeyPem", "isCaCertificate", "subject", "validityPeriodHours", "earlyRenewalHours", "allowedUses", "dnsNames", "ipAddresses"]);
  const key = await signingKeyFromPem(String(inputs.privateKeyPem));
  const isCa = inputs.isCaCertificate === true;
  const subject = subjectName(inputs.subject);
  if (isCa && subject.toString() === "") throw new Error(`tls SelfSignedCert ${name}: a CA certificate needs a subject (terraform-provider-tls refuses it too)`);
  const { notBefore, notAfter, state } = validity(inputs);
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(isCa, undefined, true), ...usagesExtensions(inputs.allowedUses), ...sanExtension(inputs.dnsNames, inputs.ipAddresses)];
  if (isCa) extensions.push(await x509.SubjectKeyIdentifierExtension.create(key.publicKey));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject,
    issuer: subject,
    notBefore,
    notAfter,
    publicKey: key.publicKey,
    signingKey: key.privateKey,
    signingAlgorithm: key.algorithm,
    extensions,
  });
  return { ...inputs, ...state, certPem: `${cert.toString("pem")}\n`, keyAlgorithm: "ECDSA" };
}

async function certRequest(name: string, inputs: Inputs): Promise<State> {
  rejectUnknownInputs("tls CertRequest", name, inputs, ["privateKeyPem", "subject", "dnsNames", "ipAddresses"]);
  const key = await signingKeyFromPem(String(inputs.privateKeyPem));
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subjectName(inputs.subject),
    keys: { privateKey: key.privateKey, publicKey: key.publicKey },
    signingAlgorithm: key.algorithm,
    extensions: sanExtension(inputs.dnsNames, inputs.ipAddresses),
  });
  return { ...inputs, certRequestPem: `${csr.toString("pem")}\n`, keyAlgorithm: "ECDSA" };
}

async function locallySignedCert(name: string, inputs: Inputs): Promise<State> {
  rejectUnknownInputs("tls LocallySignedCert", name, inputs, ["certRequestPem", "caPrivateKeyPem", "caCertPem", "validityPeriodHours", "earlyRenewalHours", "allowedUses", "isCaCertificate"]);
  const csr = new x509.Pkcs10CertificateRequest(String(inputs.certRequestPem));
  const ca = new x509.X509Certificate(String(inputs.caCertPem));
  const caKey = await signingKeyFromPem(String(inputs.caPrivateKeyPem));
  const isCa = inputs.isCaCertificate === true;
  const { notBefore, notAfter, state } = validity(inputs);
  const sanRaw = csr.getExtension("2.5.29.17");
  const san = sanRaw ? new x509.SubjectAlternativeNameExtension(sanRaw.rawData) : undefined;
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(isCa, undefined, true), ...usagesExtensions(inputs.allowedUses)];
  if (san) extensions.push(new x509.SubjectAlternativeNameExtension(san.names.toJSON(), false));
  const csrKey = await csr.publicKey.export(caKey.algorithm, ["verify"]);
  if (isCa) extensions.push(await x509.SubjectKeyIdentifierExtension.create(csrKey));
  const caKeyId = ca.getExtension(x509.SubjectKeyIdentifierExtension);
  if (caKeyId) extensions.push(new x509.AuthorityKeyIdentifierExtension(caKeyId.keyId));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: csr.subjectName,
    issuer: ca.subjectName,
    notBefore,
    notAfter,
    publicKey: csrKey,
    signingKey: caKey.privateKey,
    signingAlgorithm: caKey.algorithm,
    extensions,
  });
  return { ...inputs, ...state, certPem: `${cert.toString("pem")}\n` };
}

export const TLS_RESOURCE_TYPES: Record<string, (name: string, inputs: Inputs) => Promise<State>> = {
  "tls:index/privateKey:PrivateKey": privateKey,
  "tls:index/selfSignedCert:SelfSignedCert": selfSignedCert,
  "tls:index/certRequest:CertRequest": certRequest,
  "tls:index/locallySignedCert:LocallySignedCert": locallySignedCert,
};
