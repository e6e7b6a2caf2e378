/**
 * CLI entry: argv + environment -> options -> verification -> report on stdout -> exit code.
 *
 *   npm run verify -- --stack dev
 *   tracing-stack-verify --tempo-url https://localhost:3200 --ca-file ca.pem --app-url https://localhost:3010 --json
 *
 * stdout carries the result only (human summary, or exactly one JSON document with --json);
 * progress and, with --json, a short human diagnosis go to stderr.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EXIT_CODES } from './exitCodes';
import { type Env, parseCliArgs, type PemInput, type ReadPem, resolveOptions, selectCaInput, selectClientCertificateInput, USAGE, UsageError, type VerifyOptions } from './options';
import { createProgress, type ProgressStream, SILENT_PROGRESS } from './progress';
import { formatDiagnosisFirst, formatHuman, JSON_SCHEMA, summaryLine, toJson } from './report';
import { runVerification, type VerifyDeps } from './verify';

export interface CliIo {
  stdout: { write(chunk: string): boolean };
  stderr: ProgressStream;
  env: Env;
  /** project root, where Pulumi.<stack>.yaml lives */
  projectDir: string;
  readFile: (path: string) => string;
  stackDefaults: (stack: string, projectDir: string, opts: { needCa: boolean; needClientCertificate: boolean }) => Promise<Partial<VerifyOptions>>;
  /** the project's selected Pulumi stack, used when neither --stack nor a Tempo URL is given */
  currentStack: (projectDir: string) => Promise<string | undefined>;
  /** injected into runVerification (tests) */
  deps?: VerifyDeps;
}

export function defaultIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    projectDir: resolve(__dirname, '..'),
    readFile: (path) => readFileSync(path, 'utf8'),
    // Loaded on --stack only, so the flag/env paths do not depend on the stack model.
    stackDefaults: (stack, dir, opts) => (require('./stackDefaults') as typeof import('./stackDefaults')).stackDefaults(stack, dir, opts),
    currentStack: (dir) => (require('./stackDefaults') as typeof import('./stackDefaults')).currentStackName(dir),
  };
}

async function buildOptions(argv: readonly string[], io: CliIo): Promise<VerifyOptions | 'help'> {
  const args = parseCliArgs(argv);
  if (args.help) return 'help';
  if (!args.stack && !args.tempoUrl && !io.env['VERIFY_TEMPO_URL']?.trim()) {
    // No flags at all after `pulumi up`: verify the selected stack.
    const current = await io.currentStack(io.projectDir);
    if (current) args.stack = current;
  }
  let ca = selectCaInput(args, io.env, {});
  let client = selectClientCertificateInput(args, io.env, {});
  // The stack's pair only when neither half is given: one half with the other from the stack is a usage error.
  const needClientCertificate = client.cert.kind === 'none' && client.key.kind === 'none';
  let sd: Partial<VerifyOptions> = {};
  if (args.stack) {
    sd = await io.stackDefaults(args.stack, io.projectDir, { needCa: ca.kind === 'none', needClientCertificate });
    if (ca.kind === 'none') ca = selectCaInput(args, io.env, sd);
    if (needClientCertificate) client = selectClientCertificateInput(args, io.env, sd);
  }
  const read = (input: PemInput, what: string): ReadPem | undefined => {
    if (input.kind === 'pem') return { pem: input.pem, source: input.source };
    if (input.kind === 'none') return undefined;
    try {
      return { pem: io.readFile(input.path), source: input.source };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UsageError(`cannot read the ${what} file ${input.path}${code ? ` (${code})` : ''}`);
    }
  };
  const caRead = read(ca, 'CA');
  const certRead = read(client.cert, 'client certificate');
  const keyRead = read(client.key, 'client key');
  return resolveOptions({
    args,
    env: io.env,
    stackDefaults: sd,
    ...(caRead ? { ca: caRead } : {}),
    ...(certRead || keyRead ? { clientCertificate: { ...(certRead ? { cert: certRead } : {}), ...(keyRead ? { key: keyRead } : {}) } } : {}),
  });
}

export async function runCli(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  const wantsJson = argv.includes('--json');
  let options: VerifyOptions | 'help';
  try {
    options = await buildOptions(argv, io);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    if (wantsJson) {
      io.stdout.write(`${JSON.stringify({ schema: JSON_SCHEMA, outcome: 'usage_error', exitCode: EXIT_CODES.USAGE, error: err.message }, null, 2)}\n`);
    }
    io.stderr.write(`tracing-stack-verify: ${err.message}\nRun with --help for the options.\n`);
    return EXIT_CODES.USAGE;
  }
  if (options === 'help') {
    io.stdout.write(USAGE);
    return EXIT_CODES.VERIFIED;
  }

  const tty = io.stderr.isTTY === true;
  const progress = tty || options.progress ? createProgress(io.stderr, { tty }) : SILENT_PROGRESS;
  const result = await runVerification(options, { progress, ...(io.deps ?? {}) });
  if (options.postDeploy) {
    // `pulumi up` streams stderr and puts a failed command's output in its error: one line when
    // verified (the JSON on stdout becomes the stack output), the diagnosis first when not.
    if (result.exitCode === EXIT_CODES.VERIFIED) {
      io.stdout.write(toJson(result));
      io.stderr.write(`${summaryLine(result)}\n`);
    } else {
      io.stderr.write(formatDiagnosisFirst(result));
    }
  } else if (options.json) {
    io.stdout.write(toJson(result));
    // `pulumi up` shows stderr of a failed command: make the diagnosis readable there too.
    if (result.exitCode !== EXIT_CODES.VERIFIED) io.stderr.write(formatHuman(result));
  } else {
    io.stdout.write(formatHuman(result));
  }
  return result.exitCode;
}

function main(): void {
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`tracing-stack-verify: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = EXIT_CODES.INTERNAL_ERROR;
    },
  );
}

if (require.main === module) main();

export { main };
