/**
 * Resume state for downloads into a directory: `<outDir>/.trackerless/<infohash>.resume`.
 *
 * The file holds the bitfield of pieces verified and written, plus each file's size and mtime
 * at the moment it was saved (after a flush). On start, if every file still has that size and
 * mtime, the bitfield is trusted (the cheap check); otherwise the data on disk is verified
 * piece by piece (FsStorage.verifyExisting). A crash between two saves therefore costs a
 * re-hash, never a verified piece: whatever is on disk and matches its SHA-1 is kept.
 *
 * Writes are atomic (temporary file, fsync, rename), so a crash mid-save leaves the old file.
 */
import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TorrentInfo } from '../../torrent/metainfo.js';
import { toHex } from '../../util/bytes.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { Bitfield } from '../bitfield.js';
import type { FsStorage } from './fs-storage.js';
import type { VerifyOptions } from './storage.js';

export const RESUME_DIR = '.trackerless';
const VERSION = 1;
/** Resume files larger than this are not ours (a bitfield of 1M pieces is 128 KiB as base64 ~171 KiB). */
const MAX_RESUME_BYTES = 16 * 1024 * 1024;

interface FileStamp {
  /** -1: the file did not exist. */
  size: number;
  mtimeMs: number;
}

interface ResumeFile {
  version: number;
  infoHash: string;
  pieceLength: number;
  pieceCount: number;
  files: FileStamp[];
  /** Base64 of the wire-form bitfield. */
  bitfield: string;
  savedAt: number;
}

export function resumePath(outDir: string, infoHash: Uint8Array): string {
  return join(resolve(outDir), RESUME_DIR, `${toHex(infoHash)}.resume`);
}

/** Size and mtime of every file of the torrent (padding files: zeros). */
async function stampFiles(outDir: string, info: Pick<TorrentInfo, 'files'>): Promise<FileStamp[]> {
  return Promise.all(
    info.files.map(async (f) => {
      if (f.padding) return { size: 0, mtimeMs: 0 };
      try {
        const st = await fsp.stat(join(resolve(outDir), ...f.path));
        return { size: st.size, mtimeMs: st.mtimeMs };
      } catch {
        return { size: -1, mtimeMs: 0 };
      }
    })
  );
}

/**
 * The saved bitfield if the resume file exists, matches this torrent, and every file still
 * has the saved size and mtime; otherwise undefined (verify instead).
 */
export async function loadResume(outDir: string, info: TorrentInfo): Promise<Bitfield | undefined> {
  let parsed: ResumeFile;
  try {
    const path = resumePath(outDir, info.infoHash);
    const st = await fsp.stat(path);
    if (st.size > MAX_RESUME_BYTES) return undefined;
    parsed = JSON.parse(await fsp.readFile(path, 'utf8')) as ResumeFile;
  } catch {
    return undefined;
  }
  const count = info.pieceCount;
  if (
    parsed?.version !== VERSION ||
    parsed.infoHash !== toHex(info.infoHash) ||
    parsed.pieceLength !== info.pieceLength ||
    parsed.pieceCount !== count ||
    !Array.isArray(parsed.files) ||
    parsed.files.length !== info.files.length ||
    typeof parsed.bitfield !== 'string'
  ) {
    return undefined;
  }
  const now = await stampFiles(outDir, info);
  for (let i = 0; i < now.length; i++) {
    const saved = parsed.files[i];
    const cur = now[i]!;
    if (!saved || saved.size !== cur.size || saved.mtimeMs !== cur.mtimeMs) return undefined;
  }
  try {
    return Bitfield.fromBytes(new Uint8Array(Buffer.from(parsed.bitfield, 'base64')), count);
  } catch {
    return undefined;
  }
}

/**
 * Save `have` (pieces verified AND written). Call after `storage.flush()` so the stamps match
 * the data. Atomic: a temporary file is fsynced and renamed over the old one.
 */
export async function saveResume(
  outDir: string,
  info: TorrentInfo,
  have: Bitfield,
  clock: Clock = systemClock
): Promise<void> {
  const path = resumePath(outDir, info.infoHash);
  const data: ResumeFile = {
    version: VERSION,
    infoHash: toHex(info.infoHash),
    pieceLength: info.pieceLength,
    pieceCount: info.pieceCount,
    files: await stampFiles(outDir, info),
    bitfield: Buffer.from(have.toBytes()).toString('base64'),
    savedAt: clock.now()
  };
  await writeFileAtomic(path, JSON.stringify(data), { mkdir: true });
}

export interface RestoreResult {
  have: Bitfield;
  /** 'resume': the saved bitfield was trusted; 'verified': data on disk was hashed. */
  method: 'resume' | 'verified';
}

/** What is already on disk: the trusted resume bitfield, or a verification of the files. */
export async function restoreState(
  outDir: string,
  info: TorrentInfo,
  storage: FsStorage,
  options: VerifyOptions & { useResumeFile?: boolean } = {}
): Promise<RestoreResult> {
  if (options.useResumeFile ?? true) {
    const saved = await loadResume(outDir, info);
    if (saved) return { have: saved, method: 'resume' };
  }
  const { useResumeFile: _ignored, ...verify } = options;
  return { have: await storage.verifyExisting(verify), method: 'verified' };
}
