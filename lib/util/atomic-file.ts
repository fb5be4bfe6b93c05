/**
 * Replace a file so that a crash at any moment leaves either the old content or the new one,
 * never a mix: write a temporary file beside it, fsync it, rename it over the target (rename
 * is atomic within a file system). The temporary file is removed if anything fails.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { makeDirectory } from './make-directory.js';

export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: { mode?: number; mkdir?: boolean } = {}
): Promise<void> {
  if (options.mkdir) await makeDirectory(dirname(path));
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await fsp.open(tmp, 'w', options.mode ?? 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, path);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}
