/**
 * `client.remove(id, { deleteData: true })`: delete what the torrent put in its download
 * directory and nothing else — its files (paths from the validated metainfo, so they stay
 * inside the directory), its resume file, then the folders of a multi-file torrent that are
 * left empty. Files the user added to those folders keep them.
 */
import { promises as fsp } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { resumePath, RESUME_DIR } from '../engine/storage/resume.js';
import type { TorrentInfo } from '../torrent/metainfo.js';

export async function deleteTorrentData(
  outDir: string,
  infoHash: Uint8Array,
  info: TorrentInfo | undefined
): Promise<void> {
  const root = resolve(outDir);
  await fsp.rm(resumePath(root, infoHash), { force: true });
  await removeIfEmpty(join(root, RESUME_DIR));
  if (!info) return;
  const folders = new Set<string>();
  for (const f of info.files) {
    if (f.padding) continue;
    const path = join(root, ...f.path);
    await fsp.rm(path, { force: true });
    for (let dir = dirname(path); dir !== root && dir.startsWith(root); dir = dirname(dir)) folders.add(dir);
  }
  // Deepest first, so a parent is tried after its children.
  for (const dir of [...folders].sort((a, b) => b.length - a.length)) await removeIfEmpty(dir);
}

async function removeIfEmpty(dir: string): Promise<void> {
  await fsp.rmdir(dir).catch(() => {}); // not empty, or gone: leave it
}
