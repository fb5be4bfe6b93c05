/**
 * Fail-fast checks of where a command will write, run before it joins the DHT: a download
 * into a directory it cannot write would otherwise find that out only once peers sent data.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { makeDirectory } from '../util/make-directory.js';

/** A place we cannot write to; reported with exit code 1 and the operating system's reason. */
export class NotWritableError extends Error {
  override readonly name = 'NotWritableError';
  readonly code = 'ERR_NOT_WRITABLE';
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code} (${e.message.replace(/^[A-Z]+: /, '').replace(/,.*$/, '')})` : String(err);
}

/**
 * Create `dir` (and its parents) if missing, then create and remove a probe file in it: that
 * is what a download does first, so a permission, read-only or not-a-directory problem shows
 * up here. Returns the absolute path.
 */
export async function ensureWritableDir(dir: string, what = 'the output directory'): Promise<string> {
  const absolute = resolve(dir);
  try {
    await makeDirectory(absolute);
    const probe = join(absolute, `.trackerless-probe-${randomBytes(6).toString('hex')}`);
    await fsp.writeFile(probe, '');
    await fsp.rm(probe, { force: true });
  } catch (err) {
    throw new NotWritableError(`cannot write to ${what} ${absolute}: ${reason(err)}`);
  }
  return absolute;
}

/** Check a file we are about to write could be created: its directory is writable, and it is not a directory. */
export async function ensureWritableFile(path: string, what = 'the output file'): Promise<string> {
  const absolute = resolve(path);
  const stat = await fsp.stat(absolute).catch(() => undefined);
  if (stat?.isDirectory()) throw new NotWritableError(`cannot write ${what} ${absolute}: it is a directory`);
  await ensureWritableDir(dirname(absolute), `the directory of ${what}`);
  return absolute;
}
