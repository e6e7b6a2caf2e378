import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ConfigError, parseConfig, type Env } from '../src/config';
import { readTlsMaterial } from '../src/tls-material';
import { LOCAL_SANS, TestPki, type KeyPair, type TestCa } from './helpers/pki';

describe('readTlsMaterial', () => {
  let pki: TestPki;
  let ca: TestCa;
  let leaf: KeyPair;
  let other: KeyPair;

  before(() => {
    pki = new TestPki();
    ca = pki.createCa('stack-ca');
    leaf = ca.issue('app', LOCAL_SANS);
    other = ca.issue('other', LOCAL_SANS);
  });
  after(() => pki.cleanup());

  const https = (env: Env): Env => ({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://localhost:4317', ...env });

  function rejects(env: Env, ...mentions: string[]): void {
    assert.throws(
      () => readTlsMaterial(parseConfig(env)),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const message = error.problems.join('\n');
        for (const text of mentions) assert.ok(message.includes(text), `"${message}" does not mention ${text}`);
        return true;
      },
    );
  }

  it('loads the collector CA, the mTLS pair and the HTTPS pair as given', () => {
    const material = readTlsMaterial(
      parseConfig(
        https({
          OTEL_EXPORTER_OTLP_CERTIFICATE: ca.cert,
          OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: leaf.cert,
          OTEL_EXPORTER_OTLP_CLIENT_KEY: leaf.key,
          TLS_CERT_FILE: leaf.cert,
          TLS_KEY_FILE: leaf.key,
        }),
      ),
    );
    assert.deepEqual(material.collector?.ca, readFileSync(ca.cert));
    assert.deepEqual(material.collector?.clientKey, readFileSync(leaf.key));
    assert.deepEqual(material.server?.cert, readFileSync(leaf.cert));
  });

  it('names OTEL_EXPORTER_OTLP_CERTIFICATE and the path when the CA file is missing', () => {
    const missing = pki.path('no-such-ca.crt');
    rejects(https({ OTEL_EXPORTER_OTLP_CERTIFICATE: missing }), 'OTEL_EXPORTER_OTLP_CERTIFICATE', missing, 'ENOENT');
  });

  it('names OTEL_EXPORTER_OTLP_CERTIFICATE when the CA path cannot be read as a file', () => {
    const directory = pki.path('a-directory');
    mkdirSync(directory);
    rejects(https({ OTEL_EXPORTER_OTLP_CERTIFICATE: directory }), 'OTEL_EXPORTER_OTLP_CERTIFICATE', 'cannot be read');
  });

  it('names OTEL_EXPORTER_OTLP_CERTIFICATE when the file holds no PEM certificate', () => {
    const garbage = pki.path('garbage.crt');
    writeFileSync(garbage, 'not a certificate\n');
    rejects(https({ OTEL_EXPORTER_OTLP_CERTIFICATE: garbage }), 'OTEL_EXPORTER_OTLP_CERTIFICATE', 'PEM certificate');
    // A private key where the CA belongs is a classic mix-up.
    rejects(https({ OTEL_EXPORTER_OTLP_CERTIFICATE: ca.key }), 'OTEL_EXPORTER_OTLP_CERTIFICATE', 'PEM certificate');
  });

  it('names TLS_KEY_FILE when it does not belong to TLS_CERT_FILE', () => {
    rejects(
      https({ OTEL_EXPORTER_OTLP_CERTIFICATE: ca.cert, TLS_CERT_FILE: leaf.cert, TLS_KEY_FILE: other.key }),
      'TLS_KEY_FILE',
      'TLS_CERT_FILE',
      'not the private key',
    );
  });

  it('names OTEL_EXPORTER_OTLP_CLIENT_KEY when it is not a private key or does not match the client certificate', () => {
    rejects(
      https({ OTEL_EXPORTER_OTLP_CERTIFICATE: ca.cert, OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: leaf.cert, OTEL_EXPORTER_OTLP_CLIENT_KEY: leaf.cert }),
      'OTEL_EXPORTER_OTLP_CLIENT_KEY',
      'private key',
    );
    rejects(
      https({ OTEL_EXPORTER_OTLP_CERTIFICATE: ca.cert, OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: leaf.cert, OTEL_EXPORTER_OTLP_CLIENT_KEY: other.key }),
      'OTEL_EXPORTER_OTLP_CLIENT_KEY',
      'not the private key',
    );
  });

  it('loads TLS_CA_FILE as the client CA only under TLS_CLIENT_AUTH=require', () => {
    const serving = https({ OTEL_EXPORTER_OTLP_CERTIFICATE: ca.cert, TLS_CERT_FILE: leaf.cert, TLS_KEY_FILE: leaf.key, TLS_CA_FILE: ca.cert });
    assert.equal(readTlsMaterial(parseConfig(serving)).server?.clientCa, undefined);
    assert.deepEqual(readTlsMaterial(parseConfig({ ...serving, TLS_CLIENT_AUTH: 'require' })).server?.clientCa, readFileSync(ca.cert));
  });

  it('names TLS_CA_FILE under TLS_CLIENT_AUTH=require when it is missing or holds no PEM certificate', () => {
    const serving = https({ OTEL_EXPORTER_OTLP_CERTIFICATE: ca.cert, TLS_CERT_FILE: leaf.cert, TLS_KEY_FILE: leaf.key, TLS_CLIENT_AUTH: 'require' });
    const missing = pki.path('no-such-client-ca.crt');
    rejects({ ...serving, TLS_CA_FILE: missing }, 'TLS_CA_FILE', missing, 'ENOENT');
    rejects({ ...serving, TLS_CA_FILE: ca.key }, 'TLS_CA_FILE', 'PEM certificate');
  });

  const downstream = (env: Env): Env => https({ OTEL_EXPORTER_OTLP_CERTIFICATE: ca.cert, DOWNSTREAM_URL: 'https://localhost:3010', ...env });

  it('loads the downstream CA and its optional mTLS pair', () => {
    assert.deepEqual(readTlsMaterial(parseConfig(downstream({ DOWNSTREAM_CA_FILE: ca.cert }))).downstream, { ca: readFileSync(ca.cert) });
    const material = readTlsMaterial(parseConfig(downstream({ DOWNSTREAM_CA_FILE: ca.cert, DOWNSTREAM_CLIENT_CERTIFICATE: leaf.cert, DOWNSTREAM_CLIENT_KEY: leaf.key })));
    assert.deepEqual(material.downstream?.clientCert, readFileSync(leaf.cert));
    assert.deepEqual(material.downstream?.clientKey, readFileSync(leaf.key));
  });

  it('reads no downstream material without DOWNSTREAM_URL', () => {
    assert.equal(readTlsMaterial(parseConfig(https({ OTEL_EXPORTER_OTLP_CERTIFICATE: ca.cert }))).downstream, undefined);
  });

  it('names DOWNSTREAM_CA_FILE and the path when it is missing or holds no PEM certificate', () => {
    const missing = pki.path('no-such-downstream-ca.crt');
    rejects(downstream({ DOWNSTREAM_CA_FILE: missing }), 'DOWNSTREAM_CA_FILE', missing, 'ENOENT');
    const garbage = pki.path('downstream-garbage.crt');
    writeFileSync(garbage, 'not a certificate\n');
    rejects(downstream({ DOWNSTREAM_CA_FILE: garbage }), 'DOWNSTREAM_CA_FILE', 'PEM certificate');
    rejects(downstream({ DOWNSTREAM_CA_FILE: ca.key }), 'DOWNSTREAM_CA_FILE', 'PEM certificate');
  });

  it('names DOWNSTREAM_CLIENT_KEY when it does not belong to DOWNSTREAM_CLIENT_CERTIFICATE', () => {
    rejects(
      downstream({ DOWNSTREAM_CA_FILE: ca.cert, DOWNSTREAM_CLIENT_CERTIFICATE: leaf.cert, DOWNSTREAM_CLIENT_KEY: other.key }),
      'DOWNSTREAM_CLIENT_KEY',
      'DOWNSTREAM_CLIENT_CERTIFICATE',
      'not the private key',
    );
  });

  it('reads nothing for a plain-text collector that was explicitly allowed', () => {
    const material = readTlsMaterial(parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4317', OTEL_EXPORTER_OTLP_INSECURE: 'true' }));
    assert.deepEqual(material, {});
  });
});
