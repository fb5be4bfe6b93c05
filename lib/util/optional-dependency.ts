/**
 * Optional dependencies (database drivers) are loaded only by the code that needs them, on
 * first use: `import 'trackerless'` never loads a native addon or a driver it will not use,
 * and a user who never crawls need not install them. When one is missing, the error says
 * which package, what for, and how to install it (MissingDependencyError, a stable code).
 */
import { createRequire } from 'node:module';
import { MissingDependencyError } from '../errors.js';

function isMissing(err: unknown, name: string): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  // Only the package itself: a broken install that misses one of *its* files is a different error.
  return (
    (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') &&
    String((err as Error).message).includes(`'${name}'`)
  );
}

/** require() a CommonJS optional dependency. */
export function requireOptional<T>(name: string, purpose: string): T {
  try {
    return createRequire(import.meta.url)(name) as T;
  } catch (err) {
    if (isMissing(err, name)) throw new MissingDependencyError(name, purpose, { cause: err });
    throw err;
  }
}

/** import() an optional dependency (its default export when it is CommonJS). */
export async function importOptional<T>(name: string, purpose: string): Promise<T> {
  try {
    const mod = (await import(name)) as T & { default?: T };
    return mod.default ?? mod;
  } catch (err) {
    if (isMissing(err, name)) throw new MissingDependencyError(name, purpose, { cause: err });
    throw err;
  }
}
