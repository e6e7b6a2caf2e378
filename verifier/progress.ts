/**
 * Progress on stderr: what the verifier is waiting for and the elapsed time. On a terminal one
 * line is rewritten in place (and ticks every half second); with --progress on a non-terminal each
 * new message is printed on its own line. Never writes to stdout, so --json stays pure.
 */
import type { ProgressSink } from './verify';

export interface ProgressStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

export function createProgress(stream: ProgressStream, opts: { tty: boolean; now?: () => number }): ProgressSink {
  const now = opts.now ?? Date.now;
  const start = now();
  const elapsed = (): string => `[${((now() - start) / 1000).toFixed(1)}s]`;
  let current = '';
  let lastPrinted = '';
  let ticker: NodeJS.Timeout | undefined;

  if (!opts.tty) {
    return {
      update(message) {
        if (message === lastPrinted) return;
        lastPrinted = message;
        stream.write(`${elapsed()} ${message}\n`);
      },
      clear() {
        /* lines stay */
      },
    };
  }

  const render = (): void => {
    const width = Math.max(20, (stream.columns ?? 100) - 1);
    const line = `${elapsed()} ${current}`;
    stream.write(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
  };
  return {
    update(message) {
      current = message;
      render();
      if (!ticker) {
        ticker = setInterval(render, 500);
        ticker.unref();
      }
    },
    clear() {
      if (ticker) clearInterval(ticker);
      ticker = undefined;
      if (current) stream.write('\r\x1b[2K');
      current = '';
    },
  };
}

export const SILENT_PROGRESS: ProgressSink = { update: () => undefined, clear: () => undefined };
