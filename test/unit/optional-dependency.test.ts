/**
 * Database drivers are optional: a missing one is a typed error naming the package and how to
 * install it, and importing the library loads neither driver (checked in a fresh process).
 */
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { importOptional, requireOptional } from '../../lib/util/optional-dependency.js';
import { MissingDependencyError } from '../../lib/errors.js';
import { CHILD_ENV, ensureBuilt, ROOT } from '../support/cli-process.js';

const NAME = 'trackerless-no-such-package';

describe('optional dependencies', () => {
  it('report a missing package with ERR_MISSING_DEPENDENCY and the install command', async () => {
    const check = (err: unknown): void => {
      expect(err).toBeInstanceOf(MissingDependencyError);
      expect(err).toMatchObject({ code: 'ERR_MISSING_DEPENDENCY', dependency: NAME });
      expect((err as Error).message).toContain(`npm install ${NAME}`);
      expect((err as Error).message).toContain('a test database');
    };
    expect.assertions(8);
    try {
      requireOptional(NAME, 'a test database');
    } catch (err) {
      check(err);
    }
    await importOptional(NAME, 'a test database').catch(check);
  });

  it('are not loaded by importing the library', () => {
    const main = join(ROOT, 'dist/lib/index.js');
    ensureBuilt([main]);
    const script = `
      import { createRequire } from 'node:module';
      await import(${JSON.stringify(main)});
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify(loaded.filter((k) => /node_modules\\/(better-sqlite3|pg)\\//.test(k))));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: CHILD_ENV,
      encoding: 'utf8'
    });
    expect(JSON.parse(out)).toEqual([]);
  });
});
