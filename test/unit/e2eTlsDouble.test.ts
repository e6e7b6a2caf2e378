import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { TLS_RESOURCE_TYPES } from "../../e2e/deploy/tlsResources";

const make = (type: string, name: string, inputs: Record<string, unknown>) => TLS_RESOURCE_TYPES[`tls:index/${type}`]!(name, inputs);

describe("the e2e suite's tls:* double makes what terraform-provider-tls makes", () => {
  it("a CA and a locally signed service certificate that openssl verifies, with the CSR's names and the resource's usages", async () => {
    const caKey = await make("privateKey:PrivateKey", "ca-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
    assert.match(String(caKey.privateKeyPem), /^-----BEGIN EC PRIVATE KEY-----\n/);
    const ca = await make("selfSignedCert:SelfSignedCert", "ca", {
      privateKeyPem: caKey.privateKeyPem, isCaCertificate: true, subject: { commonName: "test CA", organization: "tracing-stack" },
      validityPeriodHours: 48, earlyRenewalHours: 2, allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
    });
    const key = await make("privateKey:PrivateKey", "tempo-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const csr = await make("certRequest:CertRequest", "tempo-csr", { privateKeyPem: key.privateKeyPem, subject: { commonName: "tempo", organization: "tracing-stack" }, dnsNames: ["tempo", "localhost"], ipAddresses: ["127.0.0.1"] });
    const cert = await make("locallySignedCert:LocallySignedCert", "tempo-cert", {
      certRequestPem: csr.certRequestPem, caPrivateKeyPem: caKey.privateKeyPem, caCertPem: ca.certPem,
      validityPeriodHours: 24, earlyRenewalHours: 1, allowedUses: ["digital_signature", "key_encipherment", "server_auth", "client_auth"],
    });
    const x = new X509Certificate(String(cert.certPem));
    const caX = new X509Certificate(String(ca.certPem));
    assert.equal(x.subjectAltName, "DNS:tempo, DNS:localhost, IP Address:127.0.0.1");
    assert.equal(x.subject, "O=tracing-stack\nCN=tempo");
    assert.ok(x.checkIssued(caX) && x.verify(caX.publicKey));
    assert.ok(x.checkPrivateKey(createPrivateKey(String(key.privateKeyPem))));
    assert.equal(caX.ca, true);
    assert.equal(x.ca, false);
    assert.deepEqual(x.keyUsage?.sort(), ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    const hours = (Date.parse(x.validTo) - Date.parse(x.validFrom)) / 3600_000;
    assert.equal(hours, 24);
    assert.equal(createPublicKey(String(key.privateKeyPem)).export({ type: "spki", format: "pem" }), key.publicKeyPem);
    const dir = mkdtempSync(join(tmpdir(), "tls-double-"));
    try {
      writeFileSync(join(dir, "ca.crt"), String(ca.certPem));
      writeFileSync(join(dir, "tempo.crt"), String(cert.certPem));
      const verified = execFileSync("openssl", ["verify", "-CAfile", join(dir, "ca.crt"), "-purpose", "sslserver", join(dir, "tempo.crt")], { encoding: "utf8" });
      assert.match(verified, /tempo\.crt: OK/);
      const text = execFileSync("openssl", ["x509", "-in", join(dir, "tempo.crt"), "-noout", "-text"], { encoding: "utf8" });
      assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:FALSE/);
      assert.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment/);
      assert.match(text, /X509v3 Authority Key Identifier/);
      assert.match(text, /ecdsa-with-SHA256/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses an input it does not implement instead of dropping it", async () => {
    await assert.rejects(make("privateKey:PrivateKey", "k", { algorithm: "ECDSA", ecdsaCurve: "P256", rsaBits: 2048 }), /does not implement input\(s\) rsaBits/);
  });
});
