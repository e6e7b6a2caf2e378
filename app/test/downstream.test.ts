/**
 * DownstreamClient on its own, against HTTPS servers in this process with certificates from a test
 * CA: the request it sends, how it reads answers, and that it refuses servers it cannot verify.
 * The spans and trace context of a call are asserted in test/integration/downstream.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders, RequestListener } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { DownstreamClient, DownstreamFailure } from '../src/downstream';
import { LOCAL_SANS, TestPki, type KeyPair, type TestCa } from './helpers/pki';

interface FakeDownstream {
  origin: string;
  requests: { url: string; headers: IncomingHttpHeaders }[];
  connections: number;
}

describe('DownstreamClient', () => {
  let pki: TestPki;
  let stackCa: TestCa;
  let serverCert: KeyPair;
  const servers: https.Server[] = [];
  const clients: DownstreamClient[] = [];

  before(() => {
    pki = new TestPki();
    stackCa = pki.createCa('stack-ca');
    serverCert = stackCa.issue('downstream', LOCAL_SANS);
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(
      servers.splice(0).map(
        (server) =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      ),
    );
  });

  after(() => pki.cleanup());

  async function fakeDownstream(handler: RequestListener, cert: KeyPair = serverCert): Promise<FakeDownstream> {
    const fake: FakeDownstream = { origin: '', requests: [], connections: 0 };
    const server = https.createServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (req, res) => {
      fake.requests.push({ url: req.url ?? '', headers: req.headers });
      handler(req, res);
    });
    server.on('secureConnection', () => (fake.connections += 1));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fake.origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return fake;
  }

  function client(origin: string, timeoutMs?: number): DownstreamClient {
    const created = new DownstreamClient({ origin, tls: { ca: readFileSync(stackCa.cert) }, timeoutMs });
    clients.push(created);
    return created;
  }

  const answer =
    (status: number, body: unknown, traceId = '0af7651916cd43dd8448eb211c80319c'): RequestListener =>
    (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-trace-id': traceId });
      res.end(JSON.stringify(body));
    };

  async function failure(call: Promise<unknown>): Promise<DownstreamFailure> {
    try {
      await call;
    } catch (error) {
      assert.ok(error instanceof DownstreamFailure, `expected DownstreamFailure, got ${String(error)}`);
      return error;
    }
    assert.fail('expected the call to fail');
  }

  it('sends GET /api/work with depth, the fail flag and the hop count, over one kept-alive connection', async () => {
    const levels = [{ level: 1, checksum: '0123456789abcdef' }];
    const fake = await fakeDownstream(answer(200, { service: 'backend', traceId: 'ignored', depth: 1, levels }));
    const downstream = client(fake.origin);

    const work = await downstream.work({ depth: 4, fail: true }, 2);
    assert.deepEqual(work, { url: fake.origin, service: 'backend', traceId: '0af7651916cd43dd8448eb211c80319c', levels });
    await downstream.work({ depth: 1, fail: false }, 0);

    assert.deepEqual(
      fake.requests.map((r) => r.url),
      ['/api/work?depth=4&fail=1', '/api/work?depth=1&fail=0'],
    );
    assert.equal(fake.requests[0].headers['x-work-hops'], '3');
    assert.equal(fake.requests[1].headers['x-work-hops'], '1');
    assert.equal(fake.requests[0].headers.connection, 'keep-alive');
    assert.equal(fake.connections, 1, 'the second call reuses the first TLS connection');
  });

  it('relays a nested downstream answer as it came', async () => {
    const nested = { url: 'https://third:3010', service: 'third', levels: [] };
    const fake = await fakeDownstream(answer(200, { service: 'backend', levels: [], downstream: nested }));
    assert.deepEqual((await client(fake.origin).work({ depth: 1, fail: false }, 0)).downstream, nested);
  });

  it('turns an error status into a DownstreamFailure carrying the status, service, trace id and error', async () => {
    const fake = await fakeDownstream(answer(500, { service: 'backend', error: 'simulated failure at work level 2', traceId: 'x' }));
    const error = await failure(client(fake.origin).work({ depth: 2, fail: true }, 0));
    assert.equal(error.message, `downstream ${fake.origin} answered 500: simulated failure at work level 2`);
    assert.deepEqual(error.detail, {
      url: fake.origin,
      status: 500,
      service: 'backend',
      traceId: '0af7651916cd43dd8448eb211c80319c',
      error: 'simulated failure at work level 2',
    });
    assert.equal(error.transportError, false);
  });

  it('refuses a 200 answer that is not /api/work JSON', async () => {
    const fake = await fakeDownstream((_req, res) => res.end('<html>hello</html>'));
    const error = await failure(client(fake.origin).work({ depth: 1, fail: false }, 0));
    assert.match(error.message, /answered 200: the answer is not \/api\/work JSON/);
  });

  it('gives up after the timeout when the downstream accepts but never answers', async () => {
    const fake = await fakeDownstream(() => {});
    const startedAt = Date.now();
    const error = await failure(client(fake.origin, 200).work({ depth: 1, fail: false }, 0));
    assert.match(error.message, /failed: no answer within 200 ms/);
    assert.equal(error.transportError, true);
    assert.ok(Date.now() - startedAt < 2_000);
  });

  it('refuses a downstream certificate signed by another CA', async () => {
    const rogue = pki.createCa('rogue-ca').issue('rogue-downstream', LOCAL_SANS);
    const fake = await fakeDownstream(answer(200, { levels: [] }), rogue);
    const error = await failure(client(fake.origin).work({ depth: 1, fail: false }, 0));
    assert.match(error.message, /unable to verify the first certificate/);
    assert.equal(error.transportError, true);
    assert.equal(fake.requests.length, 0, 'no request may reach an unverified downstream');
  });

  it('refuses a stack-CA certificate issued for another host name', async () => {
    const misnamed = stackCa.issue('misnamed-downstream', ['DNS:app-backend.invalid']);
    const fake = await fakeDownstream(answer(200, { levels: [] }), misnamed);
    const error = await failure(client(fake.origin).work({ depth: 1, fail: false }, 0));
    assert.match(error.message, /does not match certificate's altnames/);
    assert.equal(fake.requests.length, 0);
  });
});
