import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Paths of a PEM certificate and its unencrypted private key. */
export interface KeyPair {
  cert: string;
  key: string;
}

export interface TestCa extends KeyPair {
  /** Issues a leaf certificate signed by this CA, valid for the given subject alternative names. */
  issue(name: string, sans: string[]): KeyPair;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Test certificates minted at run time with the openssl CLI, so no key material is committed.
 * Leaf certificates carry SANs because Go and Node ignore the CN when checking a name.
 */
export class TestPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'app-test-pki-'));

  createCa(name: string): TestCa {
    const ca: KeyPair = { cert: join(this.dir, `${name}.crt`), key: join(this.dir, `${name}.key`) };
    openssl([
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', ca.key, '-out', ca.cert, '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    return { ...ca, issue: (leaf, sans) => this.issue(ca, leaf, sans) };
  }

  private issue(ca: KeyPair, name: string, sans: string[]): KeyPair {
    const leaf: KeyPair = { cert: join(this.dir, `${name}.crt`), key: join(this.dir, `${name}.key`) };
    const csr = join(this.dir, `${name}.csr`);
    const ext = join(this.dir, `${name}.ext`);
    writeFileSync(
      ext,
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth,clientAuth',
        `subjectAltName=${sans.join(',')}`,
      ].join('\n'),
    );
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', leaf.key, '-out', csr, '-subj', `/CN=${name}`]);
    openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${Date.now().toString(16)}${Math.floor(Math.random() * 1e6)}`, '-days', '2', '-out', leaf.cert, '-extfile', ext]);
    return leaf;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const LOCAL_SANS = ['DNS:localhost', 'IP:127.0.0.1'];
