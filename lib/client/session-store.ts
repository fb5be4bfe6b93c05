/**
 * A client's persistent session in its state directory:
 *
 *   <stateDir>/session.json            the torrent list (what, where, paused, limits)
 *   <stateDir>/torrents/<hex>.torrent  each torrent's metadata once known (no peer needed to restart)
 *
 * Which pieces are stored is not here: the engine keeps that in its resume file in the
 * download directory (engine/storage/resume.ts). Every write replaces the file atomically
 * (temp file, fsync, rename), so a crash leaves the previous list or the new one. Saves are
 * serialized and coalesced: callers may save on every change, at most one write runs and
 * the last list asked for is the one written. Loading validates everything: a damaged entry
 * is skipped with a warning, never trusted.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { TrackerlessError } from '../errors.js';
import { parseTorrentFile, toTorrentFile, type TorrentInfo } from '../torrent/metainfo.js';
import { fromHex, isHex, toHex } from '../util/bytes.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { makeDirectory } from '../util/make-directory.js';
import { ID_LENGTH } from '../constants.js';
import { MAX_MAGNET_LENGTH } from '../magnet/magnet.js';
import type { FilePriority } from '../engine/storage/file-selection.js';

const VERSION = 1;
const SESSION_FILE = 'session.json';
const TORRENTS_DIR = 'torrents';
/** Larger session files are not ours: 100,000 torrents of ~300 bytes each fit in 64 MiB. */
const MAX_SESSION_BYTES = 64 * 1024 * 1024;
const MAX_TORRENTS = 100_000;

/** One torrent of the session, as saved. */
export interface SessionEntry {
  /** Hex infohash. */
  infoHash: string;
  /** The magnet link it was added with (peer hints, name), if any. */
  magnet?: string;
  /** Absolute download directory. */
  outDir: string;
  paused: boolean;
  seed: boolean;
  selectFiles?: number[];
  /** This torrent's caps, bytes/s (0 = unlimited). */
  uploadLimit: number;
  downloadLimit: number;
  /** When it was added (ms since the epoch): restarts keep the order. */
  addedAt: number;
  /** Priorities set on files while it ran: [file index, priority], applied again on restart. */
  priorities?: Array<[number, FilePriority]>;
}

export interface LoadedSession {
  entries: Array<SessionEntry & { info?: TorrentInfo }>;
  /** Entries skipped or metadata ignored, and why. */
  warnings: Error[];
}

export class SessionStore {
  private latest: string | undefined;
  private writing: Promise<void> | undefined;

  constructor(readonly dir: string) {}

  /** The saved session (empty if there is none yet). */
  async load(): Promise<LoadedSession> {
    const warnings: Error[] = [];
    const path = join(this.dir, SESSION_FILE);
    let text: string;
    try {
      const st = await fsp.stat(path);
      if (st.size > MAX_SESSION_BYTES) throw new TrackerlessError('ERR_STATE_FILE', `${path} is too large`);
      text = await fsp.readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], warnings };
      throw err instanceof TrackerlessError
        ? err
        : new TrackerlessError('ERR_STATE_FILE', `cannot read ${path}`, { cause: err });
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new TrackerlessError('ERR_STATE_FILE', `${path} is not JSON`, { cause: err });
    }
    const list = (raw as { version?: unknown; torrents?: unknown } | null)?.torrents;
    if ((raw as { version?: unknown } | null)?.version !== VERSION || !Array.isArray(list))
      throw new TrackerlessError('ERR_STATE_FILE', `${path} is not a version ${VERSION} session file`);
    const entries: LoadedSession['entries'] = [];
    const seen = new Set<string>();
    for (const item of list.slice(0, MAX_TORRENTS)) {
      const entry = validEntry(item);
      if (!entry || seen.has(entry.infoHash)) {
        warnings.push(new TrackerlessError('ERR_STATE_FILE', `${path}: skipped a bad or repeated entry`));
        continue;
      }
      seen.add(entry.infoHash);
      const info = await this.loadMetadata(entry.infoHash, warnings);
      entries.push(info ? { ...entry, info } : entry);
    }
    return { entries, warnings };
  }

  /** Save the list; resolves once this list (or a later one) is on disk. */
  save(entries: readonly SessionEntry[]): Promise<void> {
    this.latest = JSON.stringify({ version: VERSION, torrents: entries });
    return (this.writing ??= this.flush());
  }

  async saveMetadata(info: TorrentInfo): Promise<void> {
    await writeFileAtomic(this.metadataPath(toHex(info.infoHash)), toTorrentFile(info), { mkdir: true });
  }

  async removeMetadata(infoHashHex: string): Promise<void> {
    await fsp.rm(this.metadataPath(infoHashHex), { force: true });
  }

  private async flush(): Promise<void> {
    try {
      await makeDirectory(this.dir);
      while (this.latest !== undefined) {
        const text = this.latest;
        this.latest = undefined;
        await writeFileAtomic(join(this.dir, SESSION_FILE), text);
      }
    } finally {
      this.writing = undefined;
    }
  }

  private metadataPath(infoHashHex: string): string {
    return join(this.dir, TORRENTS_DIR, `${infoHashHex}.torrent`);
  }

  /** The saved metadata if present and really this torrent's. */
  private async loadMetadata(infoHashHex: string, warnings: Error[]): Promise<TorrentInfo | undefined> {
    let bytes: Uint8Array;
    try {
      bytes = await fsp.readFile(this.metadataPath(infoHashHex));
    } catch {
      return undefined; // not known yet: fetched from peers again
    }
    try {
      const { info } = parseTorrentFile(bytes);
      if (toHex(info.infoHash) === infoHashHex) return info;
      throw new Error('another torrent');
    } catch (err) {
      warnings.push(
        new TrackerlessError('ERR_STATE_FILE', `ignored the saved metadata of ${infoHashHex}`, { cause: err })
      );
      return undefined;
    }
  }
}

function validEntry(v: unknown): SessionEntry | undefined {
  const o = v as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null) return undefined;
  const {
    infoHash,
    magnet,
    outDir,
    paused,
    seed,
    selectFiles,
    uploadLimit,
    downloadLimit,
    addedAt,
    priorities
  } = o;
  if (typeof infoHash !== 'string' || !isHex(infoHash, ID_LENGTH)) return undefined;
  if (magnet !== undefined && (typeof magnet !== 'string' || magnet.length > MAX_MAGNET_LENGTH))
    return undefined;
  if (typeof outDir !== 'string' || outDir.length === 0 || outDir.length > 4096) return undefined;
  if (typeof paused !== 'boolean' || typeof seed !== 'boolean') return undefined;
  if (!isRate(uploadLimit) || !isRate(downloadLimit) || !isRate(addedAt)) return undefined;
  if (
    selectFiles !== undefined &&
    !(Array.isArray(selectFiles) && selectFiles.length <= 1_000_000 && selectFiles.every(isIndex))
  )
    return undefined;
  if (
    priorities !== undefined &&
    !(
      Array.isArray(priorities) &&
      priorities.length <= 1_000_000 &&
      priorities.every(
        (p) =>
          Array.isArray(p) && p.length === 2 && isIndex(p[0]) && PRIORITIES.includes(p[1] as FilePriority)
      )
    )
  )
    return undefined;
  return {
    infoHash: toHex(fromHex(infoHash)),
    ...(magnet !== undefined ? { magnet } : {}),
    outDir,
    paused,
    seed,
    ...(selectFiles !== undefined ? { selectFiles: selectFiles as number[] } : {}),
    uploadLimit,
    downloadLimit,
    addedAt,
    ...(priorities !== undefined ? { priorities: priorities as Array<[number, FilePriority]> } : {})
  };
}

const PRIORITIES: readonly FilePriority[] = ['skip', 'normal', 'high'];

function isRate(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function isIndex(v: unknown): boolean {
  return Number.isInteger(v) && (v as number) >= 0;
}
