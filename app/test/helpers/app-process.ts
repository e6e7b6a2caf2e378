import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const APP_DIR = join(__dirname, '..', '..');
export const SERVER_JS = join(APP_DIR, 'dist', 'server.js');
export const HEALTHCHECK_JS = join(APP_DIR, 'dist', 'healthcheck.js');

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export function assertBuilt(): void {
  if (!existsSync(SERVER_JS)) throw new Error(`${SERVER_JS} is missing: run "npm run build" (npm test does) first`);
}

/** Only what the test passes, so OTEL_* settings of the machine running the tests cannot leak in. */
export function isolatedEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env };
}

/**
 * The compiled service (dist/server.js, what the image runs) as a child process, with its JSON
 * log lines collected so tests can assert on what an operator would see.
 */
export class AppProcess {
  readonly logs: LogLine[] = [];
  readonly exited: Promise<Exit>;
  private readonly child: ChildProcess;

  constructor(env: Record<string, string>) {
    assertBuilt();
    this.child = spawn(process.execPath, [SERVER_JS], { cwd: APP_DIR, env: isolatedEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => this.logs.push(parseLine(line)));
    }
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  async waitForLog(match: (line: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    while (Date.now() < deadline) {
      const found = this.logs.find(match);
      if (found) return found;
      if (exited) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`expected log line not seen${exited ? ' (process exited)' : ''}; logs:\n${this.logText()}`);
  }

  /** Waits for the "listening" line and returns the port the service bound. */
  async listeningPort(): Promise<number> {
    const line = await this.waitForLog((l) => l.msg === 'listening');
    return Number(line.port);
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  logText(): string {
    return this.logs.map((l) => JSON.stringify(l)).join('\n');
  }

  /** Test clean-up: never leave a child running, whatever the test did. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

function parseLine(line: string): LogLine {
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed && typeof parsed === 'object' && 'msg' in parsed) return parsed as LogLine;
  } catch {
    // Not one of the service's JSON lines (e.g. a Node warning); kept verbatim.
  }
  return { level: 'raw', msg: line };
}

/**
 * The process exits 1 without serving, and its error log names the setting to fix. Bounded, so a
 * service that wrongly starts fails the test instead of hanging it.
 */
export async function assertRefusesToStart(app: AppProcess, variable: string, timeoutMs = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
  const exit = await Promise.race([app.exited, timedOut]);
  clearTimeout(timer);
  assert.ok(exit, `still running after ${timeoutMs} ms instead of refusing to start; logs:\n${app.logText()}`);
  assert.equal(exit.code, 1);
  assert.ok(!app.logs.some((l) => l.msg === 'listening'), 'it must not serve');
  assert.ok(app.logs.some((l) => l.level === 'error' && l.msg.includes(variable)), app.logText());
}

/** Runs dist/healthcheck.js (the container's HEALTHCHECK) with only env, resolving to its exit code. */
export function runHealthcheck(env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    execFile(process.execPath, [HEALTHCHECK_JS], { env: isolatedEnv(env), timeout: 10_000 }, (error) => {
      resolve(error ? Number((error as NodeJS.ErrnoException & { code?: unknown }).code ?? 1) : 0);
    });
  });
}

/**
 * The settings the stack gives an app container: HTTPS with a stack-CA certificate, exporting to
 * an OTLP receiver that trusts the same CA. `extra` adds or overrides settings per test.
 */
export function stackAppEnv(
  serviceName: string,
  stack: { otlpEndpoint: string; caFile: string; certFile: string; keyFile: string },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    OTEL_SERVICE_NAME: serviceName,
    OTEL_EXPORTER_OTLP_ENDPOINT: stack.otlpEndpoint,
    OTEL_EXPORTER_OTLP_CERTIFICATE: stack.caFile,
    OTEL_BSP_SCHEDULE_DELAY: '100',
    HOST: '127.0.0.1',
    PORT: '0',
    TLS_CERT_FILE: stack.certFile,
    TLS_KEY_FILE: stack.keyFile,
    ...extra,
  };
}
