/** Content trees for transfer tests: random files to share, and byte-for-byte comparison. */
import { expect } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';

/** Write random files (`relative path -> size`) under `root`, creating folders. */
export async function writeTree(root: string, files: Record<string, number>): Promise<void> {
  for (const [rel, size] of Object.entries(files)) {
    await fsp.mkdir(join(root, rel, '..'), { recursive: true });
    await fsp.writeFile(join(root, rel), randomBytes(size));
  }
}

/** Each of `files` is identical under `a` and `b` (the length checked first, for a readable failure). */
export async function sameTree(a: string, b: string, files: string[]): Promise<void> {
  for (const rel of files) {
    const [x, y] = await Promise.all([fsp.readFile(join(a, rel)), fsp.readFile(join(b, rel))]);
    expect({ file: rel, length: y.length }).toEqual({ file: rel, length: x.length });
    expect(y.equals(x)).toBe(true);
  }
}
