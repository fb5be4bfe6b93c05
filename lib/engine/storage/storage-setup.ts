/**
 * Storage for the built-in engine once the metadata is known: open it (a directory, a Storage,
 * or a factory), find out what is already there (trust nothing, verify, or use the resume
 * file), and keep the resume file up to date.
 */
import { AbortError, InvalidArgumentError } from '../../errors.js';
import type { TorrentInfo } from '../../torrent/metainfo.js';
import { Bitfield } from '../bitfield.js';
import type { Clock } from '../../util/clock.js';
import type { StorageFactory } from '../engine.js';
import { selectedPieces } from './file-selection.js';
import { FsStorage } from './fs-storage.js';
import { restoreState, saveResume } from './resume.js';
import { verifyPieces, type Storage } from './storage.js';

/**
 * What to assume about data already in the storage:
 * - 'verify': hash every piece present (with `outDir`, a valid resume file is trusted instead);
 * - 'complete': trust that everything is there (a seed of data we just hashed);
 * - 'none': start empty (fresh storage; nothing is read).
 */
export type ExistingData = 'verify' | 'complete' | 'none';

export interface StorageSetup {
  outDir?: string;
  storage?: Storage | StorageFactory;
  existing: ExistingData;
  /** Use and write `<outDir>/.trackerless/<infohash>.resume`. */
  resume: boolean;
  /** BEP 53 file selection (validated indices); undefined: every file. */
  selectFiles?: number[];
  maxOpenFiles: number;
  signal: AbortSignal;
  onVerifyProgress?(checked: number, total: number): void;
}

export interface OpenedStorage {
  storage: Storage;
  /** The engine created it (and closes it). A Storage instance passed in stays the caller's. */
  owned: boolean;
  have: Bitfield;
  /** How `have` was found. */
  method: 'resume' | 'verified' | 'trusted' | 'empty';
  /** The pieces of the selected files; undefined: every piece. */
  wanted?: Bitfield;
}

export async function openStorage(info: TorrentInfo, setup: StorageSetup): Promise<OpenedStorage> {
  // A selection that does not fit the torrent fails before anything is created on disk.
  const wanted = setup.selectFiles ? selectedPieces(info, setup.selectFiles) : undefined;
  const opened = await openAndCheck(info, setup);
  return wanted ? { ...opened, wanted } : opened;
}

async function openAndCheck(info: TorrentInfo, setup: StorageSetup): Promise<OpenedStorage> {
  let storage: Storage;
  let owned = true;
  if (setup.storage === undefined) {
    if (setup.outDir === undefined)
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', 'the engine needs outDir or storage');
    storage = new FsStorage(info, setup.outDir, {
      maxOpenFiles: setup.maxOpenFiles,
      ...(setup.selectFiles ? { selectedFiles: setup.selectFiles } : {})
    });
  } else if (typeof setup.storage === 'function') {
    storage = await setup.storage(info);
  } else {
    storage = setup.storage;
    owned = false;
  }
  try {
    const count = info.pieceCount;
    if (setup.existing === 'complete')
      return { storage, owned, have: Bitfield.full(count), method: 'trusted' };
    if (setup.existing === 'none') return { storage, owned, have: new Bitfield(count), method: 'empty' };
    const verify = {
      signal: setup.signal,
      ...(setup.onVerifyProgress ? { onProgress: setup.onVerifyProgress } : {})
    };
    if (storage instanceof FsStorage && setup.outDir !== undefined) {
      const r = await restoreState(setup.outDir, info, storage, { ...verify, useResumeFile: setup.resume });
      return { storage, owned, have: r.have, method: r.method };
    }
    return { storage, owned, have: await verifyPieces(storage, info, verify), method: 'verified' };
  } catch (err) {
    if (owned) await storage.close().catch(() => {});
    throw setup.signal.aborted ? new AbortError('storage setup aborted') : err;
  }
}

/**
 * Writes the resume file: after a flush, never two at once, only when something changed.
 */
export class ResumeWriter {
  private savedCount = -1;
  private running: Promise<void> | undefined;

  constructor(
    private readonly outDir: string,
    private readonly info: TorrentInfo,
    private readonly storage: Storage,
    private readonly clock: Clock
  ) {}

  /** Flush the storage and save `stored` if it changed since the last save. */
  save(stored: Bitfield, force = false): Promise<void> {
    if (this.running) return this.running.then(() => this.save(stored, force));
    if (!force && stored.count === this.savedCount) return Promise.resolve();
    const snapshot = stored.clone();
    this.running = (async () => {
      try {
        await this.storage.flush();
        await saveResume(this.outDir, this.info, snapshot, this.clock);
        this.savedCount = snapshot.count;
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }
}
