/**
 * Reads the certificate and key files named in the configuration and checks them before the
 * service starts. Without this, the OpenTelemetry exporter would only log a debug-level warning
 * for an unreadable CA file and fall back to the system trust store, so spans would vanish quietly.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError, type AppConfig, type ClientTlsFiles, type Setting } from './config';

/** What a TLS client needs: the CA to verify the server with, and an optional mTLS pair. */
export interface ClientTlsMaterial {
  ca: Buffer;
  clientCert?: Buffer;
  clientKey?: Buffer;
}

export type CollectorTlsMaterial = ClientTlsMaterial;
export type DownstreamTlsMaterial = ClientTlsMaterial;

export interface ServerTlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** TLS_CLIENT_AUTH=require: the CA every client certificate must chain to. */
  clientCa?: Buffer;
}

export interface TlsMaterial {
  /** Absent only when plain text to the collector was explicitly allowed. */
  collector?: CollectorTlsMaterial;
  server?: ServerTlsMaterial;
  /** Present exactly when DOWNSTREAM_URL is set. */
  downstream?: DownstreamTlsMaterial;
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

function readClientTls(files: ClientTlsFiles, problems: string[]): ClientTlsMaterial | undefined {
  const ca = readCertificate(files.ca, problems);
  if (files.clientCert && files.clientKey) {
    const clientCert = readCertificate(files.clientCert, problems);
    const clientKey = readPrivateKey(files.clientKey, problems);
    if (ca && clientCert && clientKey && checkKeyPair(files.clientCert, files.clientKey, clientCert, clientKey, problems)) {
      return { ca, clientCert, clientKey };
    }
    return undefined;
  }
  return ca ? { ca } : undefined;
}

export function readTlsMaterial(config: AppConfig): TlsMaterial {
  const problems: string[] = [];
  const material: TlsMaterial = {};

  if (config.exporter.tls) material.collector = readClientTls(config.exporter.tls, problems);

  const server = config.server.tls;
  if (server) {
    const cert = readCertificate(server.cert, problems);
    const key = readPrivateKey(server.key, problems);
    // Read up front: a bad client CA would otherwise only show as every client being refused.
    const clientCa = server.clientCa ? readCertificate(server.clientCa, problems) : undefined;
    if (cert && key && checkKeyPair(server.cert, server.key, cert, key, problems)) {
      material.server = clientCa ? { cert, key, clientCa } : { cert, key };
    }
  }

  // Without this check a bad CA file would only surface as a TLS error on every downstream call.
  if (config.downstream) material.downstream = readClientTls(config.downstream.tls, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return material;
}
