/**
 * `--stack NAME` defaults: the URLs and verification settings come from the stack model built from
 * `Pulumi.<NAME>.yaml` (the same model `pulumi up` deploys; Prometheus' URL and the service-graph edge
 * app -> app backend included), the CA from the stack's output
 * `caCertificate` through the Pulumi CLI (`pulumi stack output caCertificate --stack NAME --show-secrets`),
 * and, when the model says the stack requires mutual TLS (`tls.mutual`, the default), the client
 * certificate and key from the outputs `clientCertificate` and `clientPrivateKey` the same way.
 * Explicit flags and VERIFY_* variables still win (see options.ts).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadStackModelFromFile } from '../model';
import { UsageError, type VerifyOptions } from './options';

export type PulumiRunner = (args: string[], cwd: string) => Promise<string>;

export interface StackDefaultsOptions {
  /** fetch the CA through the Pulumi CLI (false when --ca-file / VERIFY_CA_PEM is given) */
  needCa?: boolean;
  /**
   * fetch the client certificate and key through the Pulumi CLI when the stack requires mutual TLS
   * (false when either is given by flag or environment)
   */
  needClientCertificate?: boolean;
  /** replaces the Pulumi CLI (tests) */
  runPulumi?: PulumiRunner;
}

const defaultRunPulumi: PulumiRunner = (args, cwd) =>
  new Promise((resolve, reject) => {
    execFile('pulumi', args, { cwd, timeout: 60_000, maxBuffer: 4 * 1024 * 1024, env: process.env }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        reject(new Error(code === 'ENOENT' ? 'the pulumi CLI is not on PATH' : `${err.message.split('\n')[0]}${stderr ? `: ${stderr.trim().split('\n').slice(-1)[0]}` : ''}`));
        return;
      }
      resolve(stdout);
    });
  });

/**
 * The stack currently selected in the project (`pulumi stack --show-name`), so that after
 * `pulumi up` the verifier needs no flags. Undefined when there is no Pulumi CLI or no selected stack.
 */
export async function currentStackName(projectDir: string, runPulumi: PulumiRunner = defaultRunPulumi): Promise<string | undefined> {
  try {
    const name = (await runPulumi(['stack', '--show-name', '--non-interactive'], projectDir)).trim();
    return /^[A-Za-z0-9_.\-/]+$/.test(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

export async function stackDefaults(stack: string, projectDir: string, opts: StackDefaultsOptions = {}): Promise<Partial<VerifyOptions>> {
  if (!/^[A-Za-z0-9_.\-/]+$/.test(stack)) throw new UsageError(`--stack: "${stack}" is not a stack name`);
  const stackFile = join(projectDir, `Pulumi.${stack}.yaml`);
  if (!existsSync(stackFile)) {
    throw new UsageError(`--stack ${stack}: ${stackFile} does not exist; pass --tempo-url, --ca-file and --app-url instead`);
  }
  let model;
  try {
    model = loadStackModelFromFile(stack, projectDir);
  } catch (err) {
    throw new UsageError(`--stack ${stack}: cannot build the stack model from ${stackFile}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const defaults: Partial<VerifyOptions> = {
    stack,
    tempoUrl: model.hostUrls.tempoApi,
    appUrl: model.hostUrls.app,
    otlpHttpUrl: model.hostUrls.collectorOtlpHttp,
    // Tempo's metrics-generator writes span metrics and the service graph there; the app calls its
    // backend, so the graph must show that edge.
    prometheusUrl: model.hostUrls.prometheus,
    serviceGraphEdge: { client: model.config.appServiceName, server: model.config.appBackendServiceName },
    traces: model.config.verification.traces,
    minFraction: model.config.verification.minFraction,
    deadlineSeconds: model.config.verification.deadlineSeconds,
    // Microservices: the counters are spread over containers that publish nothing (read through Prometheus).
    ...(model.config.tempo.mode === 'microservices'
      ? { distributed: { ingesters: model.config.tempo.replicas.ingester, replicationFactor: model.config.tempo.replicationFactor } }
      : {}),
  };
  const runPulumi = opts.runPulumi ?? defaultRunPulumi;
  const output = async (name: string, what: string, instead: string, why = ''): Promise<string> => {
    const args = ['stack', 'output', name, '--stack', stack, '--show-secrets'];
    try {
      return (await runPulumi(args, projectDir)).trim();
    } catch (err) {
      // The Pulumi CLI's error names the command and the output, never an output's value.
      throw new UsageError(`--stack ${stack}: ${why}cannot read ${what} with \`pulumi ${args.join(' ')}\` (${err instanceof Error ? err.message : String(err)}); ${instead}`);
    }
  };
  // Without mutual TLS the stack has no client certificate outputs and its servers ask for none.
  const needClient = opts.needClientCertificate !== false && model.config.tls.mutual;
  const clientInstead = 'pass --client-cert-file PATH and --client-key-file PATH (or VERIFY_CLIENT_CERT_PEM and VERIFY_CLIENT_KEY_PEM)';
  const clientWhy = 'the stack requires client certificates (tls.mutual), but ';
  // One Pulumi CLI call takes a second or more: the outputs are read side by side.
  const [caPem, clientCertPem, clientKeyPem] = await Promise.all([
    opts.needCa !== false ? output('caCertificate', 'the CA', 'pass --ca-file PATH or VERIFY_CA_PEM') : undefined,
    needClient ? output('clientCertificate', 'the client certificate', clientInstead, clientWhy) : undefined,
    needClient ? output('clientPrivateKey', 'the client key', clientInstead, clientWhy) : undefined,
  ]);
  if (caPem !== undefined) {
    defaults.caPem = caPem;
    defaults.caSource = `pulumi stack output caCertificate --stack ${stack}`;
  }
  if (clientCertPem !== undefined && clientKeyPem !== undefined) {
    defaults.clientCertificate = {
      certPem: clientCertPem,
      keyPem: clientKeyPem,
      certSource: `pulumi stack output clientCertificate --stack ${stack}`,
      keySource: `pulumi stack output clientPrivateKey --stack ${stack}`,
    };
  }
  return defaults;
}
