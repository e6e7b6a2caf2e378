/**
 * Test PKI minted at test time with the openssl CLI: the stack CA, a server certificate it signs
 * (SANs localhost + 127.0.0.1), a server certificate from another CA, and one from the stack CA
 * with the wrong name.
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

function makeLeaf(dir: string, name: string, ca: string, san: string): KeyPair {
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n`);
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
  return {
    dir,
    caPem: readFileSync(join(dir, 'stack-ca.crt'), 'utf8'),
    caFile: join(dir, 'stack-ca.crt'),
    otherCaPem: readFileSync(join(dir, 'other-ca.crt'), 'utf8'),
    server,
    otherCaServer,
    wrongName,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
