import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Read at run time rather than imported, so the compiled dist/ layout and the source layout
 * (tests) both find the same package.json one directory up.
 */
export const APP_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
})();
