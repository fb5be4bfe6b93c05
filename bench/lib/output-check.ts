/**
 * A transfer benchmark counts only transfers whose result is right: after every rep, each
 * downloader's files are compared with the seeder's source files (length and SHA-1 of the whole
 * file), for ours and libtorrent alike. A piece-hash check inside the client is not enough: it
 * says nothing about what reached the disk (a wrong offset, a short or unflushed write).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { TorrentInfo } from '../../lib/index.js';

/** SHA-1 (hex) and length of a whole file, streamed. */
export async function fileDigest(path: string): Promise<{ sha1: string; length: number }> {
  const hash = createHash('sha1');
  let length = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) {
    const b = chunk as Buffer;
    length += b.length;
    hash.update(b);
  }
  return { sha1: hash.digest('hex'), length };
}

export class OutputMismatchError extends Error {
  readonly code = 'BENCH_OUTPUT_MISMATCH';
}

/** Source digests, computed once per source directory and file. */
const sourceDigests = new Map<string, Promise<{ sha1: string; length: number }>>();

function sourceDigest(path: string): Promise<{ sha1: string; length: number }> {
  let d = sourceDigests.get(path);
  if (!d) {
    d = fileDigest(path);
    sourceDigests.set(path, d);
    d.catch(() => sourceDigests.delete(path));
  }
  return d;
}

/**
 * Throws OutputMismatchError unless every (non-padding) file of `info` under `outDir` has the
 * length and SHA-1 of the same file under `sourceDir`. Returns the SHA-1 of each file checked.
 */
export async function checkOutput(
  info: Pick<TorrentInfo, 'files'>,
  sourceDir: string,
  outDir: string,
  label: string
): Promise<string[]> {
  const digests: string[] = [];
  for (const f of info.files) {
    if (f.padding) continue;
    const want = await sourceDigest(join(sourceDir, ...f.path));
    let got: { sha1: string; length: number };
    try {
      got = await fileDigest(join(outDir, ...f.path));
    } catch (err) {
      throw new OutputMismatchError(`${label}: output ${f.path.join('/')} unreadable: ${String(err)}`);
    }
    if (got.length !== f.length || want.length !== f.length)
      throw new OutputMismatchError(
        `${label}: ${f.path.join('/')} is ${got.length} bytes (source ${want.length}, torrent ${f.length})`
      );
    if (got.sha1 !== want.sha1)
      throw new OutputMismatchError(
        `${label}: ${f.path.join('/')} differs from the source (SHA-1 ${got.sha1} vs ${want.sha1})`
      );
    digests.push(got.sha1);
  }
  return digests;
}
