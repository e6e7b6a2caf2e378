/**
 * Reads the certificate and key files named in the configuration and checks them before the
 * service starts. Without this, the OpenTelemetry exporter would only log a debug-level warning
 * for an unreadable CA file and fall back to the system trust store, so spans would vanish quietly.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError, type AppConfig, type Setting } from './config';

export interface CollectorTlsMaterial {
  ca: Buffer;
  clientCert?: Buffer;
  clientKey?: Buffer;
}

export interface ServerTlsMaterial {
  cert: Buffer;
  key: Buffer;
}

export interface TlsMaterial {
  /** Absent only when plain text to the collector was explicitly allowed. */
  collector?: CollectorTlsMaterial;
  server?: ServerTlsMaterial;
}

function readSettingFile(setting: Setting, problems: string[]): Buffer | undefined {
  try {
    return readFileSync(setting.value);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    problems.push(`${setting.variable}="${setting.value}" cannot be read (${reason})`);
    return undefined;
  }
}

function readCertificate(setting: Setting, problems: string[]): Buffer | undefined {
  const pem = readSettingFile(setting, problems);
  if (!pem) return undefined;
  try {
    // gRPC and node:tls both want PEM; X509Certificate also accepts DER, hence the marker check.
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate block');
    new X509Certificate(pem);
    return pem;
  } catch {
    problems.push(`${setting.variable}="${setting.value}" does not contain a PEM certificate`);
    return undefined;
  }
}

function readPrivateKey(setting: Setting, problems: string[]): Buffer | undefined {
  const pem = readSettingFile(setting, problems);
  if (!pem) return undefined;
  try {
    createPrivateKey(pem);
    return pem;
  } catch {
    problems.push(`${setting.variable}="${setting.value}" does not contain an unencrypted PEM private key`);
    return undefined;
  }
}

/** A mismatched pair would otherwise only fail at the first handshake, long after start-up. */
function checkKeyPair(cert: Setting, key: Setting, certPem: Buffer, keyPem: Buffer, problems: string[]): boolean {
  try {
    createSecureContext({ cert: certPem, key: keyPem });
    return true;
  } catch {
    problems.push(`${key.variable}="${key.value}" is not the private key of the certificate in ${cert.variable}="${cert.value}"`);
    return false;
  }
}

export function readTlsMaterial(config: AppConfig): TlsMaterial {
  const problems: string[] = [];
  const material: TlsMaterial = {};

  const collector = config.exporter.tls;
  if (collector) {
    const ca = readCertificate(collector.ca, problems);
    if (collector.clientCert && collector.clientKey) {
      const clientCert = readCertificate(collector.clientCert, problems);
      const clientKey = readPrivateKey(collector.clientKey, problems);
      if (ca && clientCert && clientKey && checkKeyPair(collector.clientCert, collector.clientKey, clientCert, clientKey, problems)) {
        material.collector = { ca, clientCert, clientKey };
      }
    } else if (ca) {
      material.collector = { ca };
    }
  }

  const server = config.server.tls;
  if (server) {
    const cert = readCertificate(server.cert, problems);
    const key = readPrivateKey(server.key, problems);
    if (cert && key && checkKeyPair(server.cert, server.key, cert, key, problems)) {
      material.server = { cert, key };
    }
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return material;
}
