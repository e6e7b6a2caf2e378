import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig, type Env } from '../src/config';

/** A valid production-like environment; each case changes one thing. */
const BASE: Env = {
  OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4317',
  OTEL_EXPORTER_OTLP_CERTIFICATE: '/etc/app/tls/ca.crt',
};

function problemsOf(env: Env): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return [...error.problems];
  }
  assert.fail('expected the configuration to be rejected');
}

/** The single problem reported for env; it must name the variable an operator has to fix. */
function rejects(env: Env, variable: string, ...mentions: string[]): string {
  const problems = problemsOf(env);
  assert.equal(problems.length, 1, `expected one problem, got:\n${problems.join('\n')}`);
  const [problem] = problems;
  assert.ok(problem.includes(variable), `"${problem}" does not name ${variable}`);
  for (const text of mentions) assert.ok(problem.includes(text), `"${problem}" does not mention ${text}`);
  return problem;
}

describe('parseConfig defaults', () => {
  it('listens on 0.0.0.0:3010 over HTTP, names the service tracing-stack-app, and verifies the collector with the CA file', () => {
    const config = parseConfig(BASE);
    assert.deepEqual(config.server, { host: '0.0.0.0', port: 3010 });
    assert.equal(config.serviceName, 'tracing-stack-app');
    assert.deepEqual(config.exporter, {
      endpoint: { variable: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'https://collector:4317' },
      tls: { ca: { variable: 'OTEL_EXPORTER_OTLP_CERTIFICATE', value: '/etc/app/tls/ca.crt' } },
    });
    assert.equal(config.sampler, undefined);
  });

  it('reads HOST, PORT and the HTTPS certificate and key', () => {
    const config = parseConfig({ ...BASE, HOST: '127.0.0.1', PORT: '8443', TLS_CERT_FILE: '/tls/app.crt', TLS_KEY_FILE: '/tls/app.key' });
    assert.deepEqual(config.server, {
      host: '127.0.0.1',
      port: 8443,
      tls: { cert: { variable: 'TLS_CERT_FILE', value: '/tls/app.crt' }, key: { variable: 'TLS_KEY_FILE', value: '/tls/app.key' } },
    });
  });

  it('treats blank values as unset', () => {
    const config = parseConfig({ ...BASE, PORT: '  ', OTEL_SERVICE_NAME: '', TLS_CERT_FILE: ' ', TLS_KEY_FILE: '' });
    assert.deepEqual(config.server, { host: '0.0.0.0', port: 3010 });
    assert.equal(config.serviceName, 'tracing-stack-app');
  });
});

describe('service name', () => {
  it('prefers OTEL_SERVICE_NAME over service.name in OTEL_RESOURCE_ATTRIBUTES', () => {
    const env = { ...BASE, OTEL_SERVICE_NAME: 'checkout', OTEL_RESOURCE_ATTRIBUTES: 'service.name=ignored,service.version=1.2.3' };
    assert.equal(parseConfig(env).serviceName, 'checkout');
  });

  it('falls back to a percent-decoded service.name from OTEL_RESOURCE_ATTRIBUTES', () => {
    const env = { ...BASE, OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=dev, service.name=my%20app' };
    assert.equal(parseConfig(env).serviceName, 'my app');
  });

  it('rejects a malformed OTEL_RESOURCE_ATTRIBUTES entry instead of dropping it', () => {
    rejects({ ...BASE, OTEL_RESOURCE_ATTRIBUTES: 'service.version=1.0,deployment.environment' }, 'OTEL_RESOURCE_ATTRIBUTES', 'deployment.environment');
    rejects({ ...BASE, OTEL_RESOURCE_ATTRIBUTES: 'service.version=%E0%A4%A' }, 'OTEL_RESOURCE_ATTRIBUTES', 'percent-encoding');
  });
});

describe('collector endpoint and TLS', () => {
  it('refuses to start without an endpoint, because the OTLP default is plain text', () => {
    rejects({ OTEL_EXPORTER_OTLP_CERTIFICATE: '/ca.crt' }, 'OTEL_EXPORTER_OTLP_ENDPOINT', 'https://', 'OTEL_EXPORTER_OTLP_CERTIFICATE', 'not set');
  });

  it('refuses an http:// endpoint, telling the operator to use https:// with OTEL_EXPORTER_OTLP_CERTIFICATE', () => {
    rejects({ ...BASE, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317' }, 'OTEL_EXPORTER_OTLP_ENDPOINT', 'https://', 'OTEL_EXPORTER_OTLP_CERTIFICATE', 'http://collector:4317');
  });

  it('accepts http:// only when OTEL_EXPORTER_OTLP_INSECURE=true says so explicitly, and then has no TLS settings', () => {
    const config = parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317', OTEL_EXPORTER_OTLP_INSECURE: 'TRUE' });
    assert.equal(config.exporter.tls, undefined);
    rejects({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317', OTEL_EXPORTER_OTLP_INSECURE: 'false' }, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  });

  it('never lets OTEL_EXPORTER_OTLP_INSECURE turn TLS off for an https:// endpoint', () => {
    const config = parseConfig({ ...BASE, OTEL_EXPORTER_OTLP_INSECURE: 'true' });
    assert.equal(config.exporter.tls?.ca.value, '/etc/app/tls/ca.crt');
  });

  it('rejects an OTEL_EXPORTER_OTLP_INSECURE value that is not true or false', () => {
    rejects({ ...BASE, OTEL_EXPORTER_OTLP_INSECURE: 'yes' }, 'OTEL_EXPORTER_OTLP_INSECURE', '"true" or "false"');
  });

  it('requires OTEL_EXPORTER_OTLP_CERTIFICATE for an https:// endpoint', () => {
    rejects({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4317' }, 'OTEL_EXPORTER_OTLP_CERTIFICATE', 'CA');
  });

  it('rejects an endpoint without a scheme, or that is not a URL at all', () => {
    rejects({ ...BASE, OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317' }, 'OTEL_EXPORTER_OTLP_ENDPOINT', 'https://');
    rejects({ ...BASE, OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }, 'OTEL_EXPORTER_OTLP_ENDPOINT', 'not a URL');
  });

  it('rejects an OTLP/HTTP style path, which gRPC would silently ignore', () => {
    rejects({ ...BASE, OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4318/v1/traces' }, 'OTEL_EXPORTER_OTLP_ENDPOINT', 'path');
  });

  it('lets the traces-specific variables override the generic ones and names them in errors', () => {
    const config = parseConfig({
      ...BASE,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces:4317',
      OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: '/traces-ca.crt',
    });
    assert.deepEqual(config.exporter.endpoint, { variable: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', value: 'https://traces:4317' });
    assert.equal(config.exporter.tls?.ca.value, '/traces-ca.crt');
    rejects({ ...BASE, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4317' }, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  });

  it('accepts OTEL_EXPORTER_OTLP_PROTOCOL=grpc and rejects the HTTP protocols it does not speak', () => {
    assert.doesNotThrow(() => parseConfig({ ...BASE, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }));
    rejects({ ...BASE, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }, 'OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc');
  });

  it('takes a client certificate and key together for mTLS', () => {
    const config = parseConfig({ ...BASE, OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: '/c.crt', OTEL_EXPORTER_OTLP_CLIENT_KEY: '/c.key' });
    assert.equal(config.exporter.tls?.clientCert?.value, '/c.crt');
    assert.equal(config.exporter.tls?.clientKey?.value, '/c.key');
  });

  it('names the missing half of an mTLS pair', () => {
    rejects({ ...BASE, OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: '/c.crt' }, 'OTEL_EXPORTER_OTLP_CLIENT_KEY', 'is not set');
    rejects({ ...BASE, OTEL_EXPORTER_OTLP_CLIENT_KEY: '/c.key' }, 'OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE', 'is not set');
  });
});

describe('HTTP server settings', () => {
  it('names the missing half of the HTTPS certificate pair', () => {
    const missingKey = rejects({ ...BASE, TLS_CERT_FILE: '/app.crt' }, 'TLS_KEY_FILE', 'is not set');
    assert.match(missingKey, /^TLS_KEY_FILE is not set/);
    const missingCert = rejects({ ...BASE, TLS_KEY_FILE: '/app.key' }, 'TLS_CERT_FILE', 'is not set');
    assert.match(missingCert, /^TLS_CERT_FILE is not set/);
  });

  it('rejects a PORT that is not a TCP port', () => {
    rejects({ ...BASE, PORT: 'http' }, 'PORT');
    rejects({ ...BASE, PORT: '65536' }, 'PORT');
    rejects({ ...BASE, PORT: '-1' }, 'PORT');
  });
});

describe('mutual TLS for the HTTPS server (TLS_CLIENT_AUTH)', () => {
  const HTTPS: Env = { ...BASE, TLS_CERT_FILE: '/tls/app.crt', TLS_KEY_FILE: '/tls/app.key' };
  const REQUIRE: Env = { ...HTTPS, TLS_CLIENT_AUTH: 'require', TLS_CA_FILE: '/tls/ca.crt' };

  it('asks no client certificate when unset, blank or "none", even with TLS_CA_FILE set (the healthcheck reads it)', () => {
    for (const value of [undefined, ' ', 'none', 'NONE']) {
      const config = parseConfig({ ...HTTPS, TLS_CA_FILE: '/tls/ca.crt', TLS_CLIENT_AUTH: value });
      assert.equal(config.server.tls?.clientCa, undefined, `TLS_CLIENT_AUTH=${String(value)}`);
    }
  });

  it('verifies client certificates against TLS_CA_FILE when "require"', () => {
    assert.deepEqual(parseConfig(REQUIRE).server.tls, {
      cert: { variable: 'TLS_CERT_FILE', value: '/tls/app.crt' },
      key: { variable: 'TLS_KEY_FILE', value: '/tls/app.key' },
      clientCa: { variable: 'TLS_CA_FILE', value: '/tls/ca.crt' },
    });
    assert.equal(parseConfig({ ...REQUIRE, TLS_CLIENT_AUTH: ' Require ' }).server.tls?.clientCa?.value, '/tls/ca.crt');
  });

  it('rejects an unknown value, naming TLS_CLIENT_AUTH and the accepted values', () => {
    const problem = rejects({ ...REQUIRE, TLS_CLIENT_AUTH: 'yes' }, 'TLS_CLIENT_AUTH', '"yes"', '"require"', '"none"');
    assert.match(problem, /^TLS_CLIENT_AUTH="yes" is not supported/);
    rejects({ ...REQUIRE, TLS_CLIENT_AUTH: 'optional' }, 'TLS_CLIENT_AUTH', '"require"', '"none"');
  });

  it('refuses "require" on plain HTTP, naming TLS_CERT_FILE and TLS_KEY_FILE as the fix', () => {
    const problem = rejects({ ...BASE, TLS_CLIENT_AUTH: 'require', TLS_CA_FILE: '/tls/ca.crt' }, 'TLS_CLIENT_AUTH', 'TLS_CERT_FILE', 'TLS_KEY_FILE', 'TLS_CLIENT_AUTH=none');
    assert.match(problem, /^TLS_CLIENT_AUTH=require needs HTTPS/);
  });

  it('reports only the missing half of the HTTPS pair under "require"', () => {
    rejects({ ...REQUIRE, TLS_KEY_FILE: '' }, 'TLS_KEY_FILE', 'is not set');
  });

  it('refuses "require" without TLS_CA_FILE, naming both settings', () => {
    const problem = rejects({ ...HTTPS, TLS_CLIENT_AUTH: 'require' }, 'TLS_CA_FILE', 'TLS_CLIENT_AUTH=require', 'TLS_CLIENT_AUTH=none');
    assert.match(problem, /^TLS_CA_FILE is not set/);
  });

  it('reports both problems of "require" with neither HTTPS nor a CA', () => {
    const problems = problemsOf({ ...BASE, TLS_CLIENT_AUTH: 'require' });
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('TLS_CLIENT_AUTH=require needs HTTPS')));
    assert.ok(problems.some((p) => p.startsWith('TLS_CA_FILE is not set')));
  });
});

describe('downstream service (DOWNSTREAM_*)', () => {
  const DOWNSTREAM: Env = { ...BASE, DOWNSTREAM_URL: 'https://app-backend:3010', DOWNSTREAM_CA_FILE: '/etc/app/tls/ca.crt' };

  it('has no downstream by default', () => {
    assert.equal(parseConfig(BASE).downstream, undefined);
  });

  it('reads the base URL and the CA that verifies the downstream certificate', () => {
    assert.deepEqual(parseConfig(DOWNSTREAM).downstream, {
      url: { variable: 'DOWNSTREAM_URL', value: 'https://app-backend:3010' },
      origin: 'https://app-backend:3010',
      tls: { ca: { variable: 'DOWNSTREAM_CA_FILE', value: '/etc/app/tls/ca.crt' } },
    });
  });

  it('accepts a trailing slash and the default port, and keeps only scheme://host:port', () => {
    assert.equal(parseConfig({ ...DOWNSTREAM, DOWNSTREAM_URL: 'https://app-backend:3010/' }).downstream?.origin, 'https://app-backend:3010');
    assert.equal(parseConfig({ ...DOWNSTREAM, DOWNSTREAM_URL: 'https://APP-backend' }).downstream?.origin, 'https://app-backend');
  });

  it('refuses http://, because the stack is TLS everywhere', () => {
    rejects({ ...DOWNSTREAM, DOWNSTREAM_URL: 'http://app-backend:3010' }, 'DOWNSTREAM_URL', 'plain HTTP', 'TLS everywhere', 'https://');
  });

  it('refuses other schemes and strings that are not URLs', () => {
    rejects({ ...DOWNSTREAM, DOWNSTREAM_URL: 'app-backend:3010' }, 'DOWNSTREAM_URL', 'must start with https://');
    rejects({ ...DOWNSTREAM, DOWNSTREAM_URL: 'not a url' }, 'DOWNSTREAM_URL', 'not a URL');
  });

  it('refuses a path, a query or user info: it is the base URL, /api/work is appended', () => {
    rejects({ ...DOWNSTREAM, DOWNSTREAM_URL: 'https://app-backend:3010/api/work' }, 'DOWNSTREAM_URL', 'has a path', '/api/work');
    rejects({ ...DOWNSTREAM, DOWNSTREAM_URL: 'https://app-backend:3010?depth=2' }, 'DOWNSTREAM_URL', 'query');
    rejects({ ...DOWNSTREAM, DOWNSTREAM_URL: 'https://user:pw@app-backend:3010' }, 'DOWNSTREAM_URL', 'user info');
  });

  it('requires DOWNSTREAM_CA_FILE when DOWNSTREAM_URL is set', () => {
    rejects({ ...BASE, DOWNSTREAM_URL: 'https://app-backend:3010' }, 'DOWNSTREAM_CA_FILE', 'is not set', 'CA');
  });

  it('refuses DOWNSTREAM_* settings without DOWNSTREAM_URL, which would silently call nothing', () => {
    rejects({ ...BASE, DOWNSTREAM_CA_FILE: '/ca.crt' }, 'DOWNSTREAM_CA_FILE', 'DOWNSTREAM_URL is not');
  });

  it('takes a client certificate and key together for mTLS, and names the missing half', () => {
    const config = parseConfig({ ...DOWNSTREAM, DOWNSTREAM_CLIENT_CERTIFICATE: '/c.crt', DOWNSTREAM_CLIENT_KEY: '/c.key' });
    assert.equal(config.downstream?.tls.clientCert?.value, '/c.crt');
    assert.equal(config.downstream?.tls.clientKey?.value, '/c.key');
    rejects({ ...DOWNSTREAM, DOWNSTREAM_CLIENT_CERTIFICATE: '/c.crt' }, 'DOWNSTREAM_CLIENT_KEY', 'is not set');
    rejects({ ...DOWNSTREAM, DOWNSTREAM_CLIENT_KEY: '/c.key' }, 'DOWNSTREAM_CLIENT_CERTIFICATE', 'is not set');
  });

  it('reports every downstream problem together with the others', () => {
    const problems = problemsOf({ ...BASE, PORT: 'x', DOWNSTREAM_URL: 'http://app-backend:3010/api' });
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('PORT')));
    assert.ok(problems.some((p) => p.includes('DOWNSTREAM_URL') && p.includes('plain HTTP')));
    assert.ok(problems.some((p) => p.includes('DOWNSTREAM_URL') && p.includes('has a path')));
    assert.ok(problems.some((p) => p.startsWith('DOWNSTREAM_CA_FILE is not set')));
  });
});

describe('sampler and batch processor', () => {
  it('reads OTEL_TRACES_SAMPLER and its ratio', () => {
    assert.deepEqual(parseConfig({ ...BASE, OTEL_TRACES_SAMPLER: 'always_off' }).sampler, { name: 'always_off', ratio: 1 });
    assert.deepEqual(parseConfig({ ...BASE, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).sampler, {
      name: 'parentbased_traceidratio',
      ratio: 0.25,
    });
  });

  it('rejects an unknown sampler rather than silently sampling everything', () => {
    rejects({ ...BASE, OTEL_TRACES_SAMPLER: 'parentbased_always_onn' }, 'OTEL_TRACES_SAMPLER', 'parentbased_always_on');
  });

  it('rejects a sampling ratio outside 0..1', () => {
    rejects({ ...BASE, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '10' }, 'OTEL_TRACES_SAMPLER_ARG', 'between 0 and 1');
  });

  it('passes OTEL_BSP_* through and rejects values that are not whole numbers', () => {
    const config = parseConfig({ ...BASE, OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '64' });
    assert.equal(config.batch.scheduledDelayMillis, 200);
    assert.equal(config.batch.maxExportBatchSize, 64);
    assert.equal(config.batch.exportTimeoutMillis, undefined);
    rejects({ ...BASE, OTEL_BSP_SCHEDULE_DELAY: '5s' }, 'OTEL_BSP_SCHEDULE_DELAY');
    rejects({ ...BASE, OTEL_BSP_MAX_QUEUE_SIZE: '0' }, 'OTEL_BSP_MAX_QUEUE_SIZE');
  });
});

it('reports every problem of one start attempt together', () => {
  const problems = problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317', PORT: 'x', TLS_CERT_FILE: '/a.crt' });
  assert.equal(problems.length, 3);
  assert.ok(problems.some((p) => p.includes('OTEL_EXPORTER_OTLP_ENDPOINT')));
  assert.ok(problems.some((p) => p.includes('PORT')));
  assert.ok(problems.some((p) => p.includes('TLS_KEY_FILE')));
});
