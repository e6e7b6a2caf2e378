/**
 * One JSON object per line, so container log collectors can parse fields (endpoint, error,
 * trace_id) without regular expressions.
 */
export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export interface LineSink {
  write(line: string): unknown;
}

export function createLogger(out: LineSink = process.stdout, err: LineSink = process.stderr): Logger {
  const emit = (sink: LineSink, level: string, message: string, fields?: LogFields): void => {
    sink.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`);
  };
  return {
    info: (message, fields) => emit(out, 'info', message, fields),
    warn: (message, fields) => emit(err, 'warn', message, fields),
    error: (message, fields) => emit(err, 'error', message, fields),
  };
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
