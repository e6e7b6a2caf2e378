/**
 * Test PKI minted at test time with the openssl CLI: the stack CA, a server certificate it signs
 * (SANs localhost + 127.0.0.1), a server certificate from another CA, and one from the stack CA
 * with the wrong name; for mutual TLS, a client certificate the stack CA signs and one from another CA.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  caPem: string;
  caFile: string;
  otherCaPem: string;
  /** signed by the stack CA, SANs localhost + 127.0.0.1 */
  server: KeyPair;
  /** signed by another CA, same SANs */
  otherCaServer: KeyPair;
  /** signed by the stack CA, SAN tempo.internal only */
  wrongName: KeyPair;
  /** client certificate (extended key usage clientAuth) signed by the stack CA, and its files */
  client: KeyPair;
  clientCertFile: string;
  clientKeyFile: string;
  /** client certificate signed by another CA, and its files */
  otherCaClient: KeyPair;
  otherCaClientCertFile: string;
  otherCaClientKeyFile: string;
  cleanup(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

function makeLeaf(dir: string, name: string, ca: string, san: string, usage: 'serverAuth' | 'clientAuth' = 'serverAuth'): KeyPair {
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=${usage}\nkeyUsage=critical,digitalSignature\n`);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
  return { cert: readFileSync(join(dir, `${name}.crt`), 'utf8'), key: readFileSync(join(dir, `${name}.key`), 'utf8') };
}

export function mintTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'verifier-pki-'));
  makeCa(dir, 'stack-ca');
  makeCa(dir, 'other-ca');
  const server = makeLeaf(dir, 'tempo', 'stack-ca', 'DNS:localhost,IP:127.0.0.1');
  const otherCaServer = makeLeaf(dir, 'impostor', 'other-ca', 'DNS:localhost,IP:127.0.0.1');
  const wrongName = makeLeaf(dir, 'wrong-name', 'stack-ca', 'DNS:tempo.internal');
  const client = makeLeaf(dir, 'verifier', 'stack-ca', 'DNS:verifier', 'clientAuth');
  const otherCaClient = makeLeaf(dir, 'intruder', 'other-ca', 'DNS:verifier', 'clientAuth');
  return {
    dir,
    caPem: readFileSync(join(dir, 'stack-ca.crt'), 'utf8'),
    caFile: join(dir, 'stack-ca.crt'),
    otherCaPem: readFileSync(join(dir, 'other-ca.crt'), 'utf8'),
    server,
    otherCaServer,
    wrongName,
    client,
    clientCertFile: join(dir, 'verifier.crt'),
    clientKeyFile: join(dir, 'verifier.key'),
    otherCaClient,
    otherCaClientCertFile: join(dir, 'intruder.crt'),
    otherCaClientKeyFile: join(dir, 'intruder.key'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
