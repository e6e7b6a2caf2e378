import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { probeTarget } from '../src/healthcheck';
import { LOCAL_SANS, TestPki } from './helpers/pki';

describe('healthcheck probe target', () => {
  it('probes plain HTTP on loopback port 3010 by default', () => {
    assert.deepEqual(probeTarget({}), { url: 'http://127.0.0.1:3010/monitoring/health' });
  });

  it('reaches a wildcard listener over IPv4 loopback and a specific address directly', () => {
    assert.equal(probeTarget({ HOST: '0.0.0.0', PORT: '8080' }).url, 'http://127.0.0.1:8080/monitoring/health');
    assert.equal(probeTarget({ HOST: '::' }).url, 'http://127.0.0.1:3010/monitoring/health');
    assert.equal(probeTarget({ HOST: '10.1.2.3' }).url, 'http://10.1.2.3:3010/monitoring/health');
    assert.equal(probeTarget({ HOST: '::1' }).url, 'http://[::1]:3010/monitoring/health');
  });

  it('switches to HTTPS when TLS_CERT_FILE is set and refuses to probe without a CA to verify with', () => {
    assert.throws(() => probeTarget({ TLS_CERT_FILE: '/tls/app.crt' }), /TLS_CA_FILE/);
  });

  it('presents TLS_CERT_FILE and TLS_KEY_FILE as its client certificate only under TLS_CLIENT_AUTH=require', () => {
    const pki = new TestPki();
    try {
      const ca = pki.createCa('probe-ca');
      const app = ca.issue('probe-app', LOCAL_SANS);
      const env = { TLS_CERT_FILE: app.cert, TLS_KEY_FILE: app.key, TLS_CA_FILE: ca.cert };
      const plain = probeTarget(env);
      assert.equal(plain.cert, undefined);
      assert.equal(plain.key, undefined);
      const mutual = probeTarget({ ...env, TLS_CLIENT_AUTH: 'require' });
      assert.equal(mutual.url, 'https://127.0.0.1:3010/monitoring/health');
      assert.deepEqual(mutual.ca, readFileSync(ca.cert));
      assert.deepEqual(mutual.cert, readFileSync(app.cert));
      assert.deepEqual(mutual.key, readFileSync(app.key));
      assert.throws(() => probeTarget({ ...env, TLS_KEY_FILE: '', TLS_CLIENT_AUTH: 'require' }), /TLS_KEY_FILE/);
    } finally {
      pki.cleanup();
    }
  });

  it('names TLS_CLIENT_AUTH when it is unknown, or "require" without HTTPS', () => {
    assert.throws(() => probeTarget({ TLS_CLIENT_AUTH: 'yes' }), /TLS_CLIENT_AUTH="yes".*"require".*"none"/);
    assert.throws(() => probeTarget({ TLS_CLIENT_AUTH: 'require' }), /TLS_CLIENT_AUTH=require needs HTTPS: set TLS_CERT_FILE/);
  });

  it('names PORT when it is not a port', () => {
    assert.throws(() => probeTarget({ PORT: 'eighty' }), /PORT/);
  });
});
