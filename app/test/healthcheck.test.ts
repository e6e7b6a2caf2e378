import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { probeTarget } from '../src/healthcheck';

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

  it('names PORT when it is not a port', () => {
    assert.throws(() => probeTarget({ PORT: 'eighty' }), /PORT/);
  });
});
