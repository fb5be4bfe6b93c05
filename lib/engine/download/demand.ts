/**
 * What the user wants of one torrent, turned into the piece sets the downloader works from:
 *
 *  - per-file priorities (skip / normal / high), changeable while running; a BEP 53 selection
 *    is their initial value (selected files normal, the others skipped);
 *  - sequential mode (new pieces lowest index first);
 *  - read heads: each reader's position. The piece under a head and its readahead window get
 *    deadlines, as libtorrent's `set_piece_deadline` and anacrolix's reader readahead do;
 *    with several readers the windows interleave by distance from their heads, so the piece
 *    under every head comes before any readahead.
 *
 * Positions are absolute byte offsets in the torrent. The sink (the downloader, through the
 * engine) is attached once the storage is open; until then changes are only recorded.
 */
import { InvalidArgumentError, StateError } from '../../errors.js';
import type { Bitfield } from '../bitfield.js';
import {
  checkPriority,
  priorityPieces,
  type FileLayout,
  type FilePriority
} from '../storage/file-selection.js';

/** Default readahead: about a second of a fast stream, a few pieces of a typical torrent. */
export const DEFAULT_READAHEAD_BYTES = 4 * 1024 * 1024;

export interface DemandSink {
  setWanted(wanted: Bitfield | undefined): void;
  setHigh(high: Bitfield | null): void;
  setSequential(on: boolean): void;
  setDeadlines(pieces: readonly number[]): void;
}

/** A reader's position: the engine fetches the bytes under it first, then its readahead. */
export interface ReadHead {
  /** The reader next needs bytes [start, end) of the torrent (end: where its range stops). */
  moveTo(start: number, end: number): void;
  /** The reader is done: its pieces lose their deadlines. Idempotent. */
  close(): void;
}

export interface PieceDemandOptions {
  /** BEP 53 selection (validated indices), or undefined for every file. */
  selectFiles?: readonly number[];
  sequential?: boolean;
  readaheadBytes?: number;
}

interface Head {
  start: number;
  end: number;
}

export class PieceDemand {
  private layout: FileLayout | undefined;
  private sink: DemandSink | undefined;
  private priorities: FilePriority[] = [];
  private sequential: boolean;
  private readonly heads = new Set<Head>();
  private readonly readahead: number;
  private readonly selectFiles: readonly number[] | undefined;

  constructor(o: PieceDemandOptions = {}) {
    this.sequential = o.sequential ?? false;
    this.readahead = o.readaheadBytes ?? DEFAULT_READAHEAD_BYTES;
    this.selectFiles = o.selectFiles;
    if (!Number.isSafeInteger(this.readahead) || this.readahead < 0) {
      throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', 'readaheadBytes must be a non-negative integer');
    }
  }

  /** The metadata is known: priorities start from the selection. */
  setLayout(layout: FileLayout): void {
    if (this.layout) return;
    this.layout = layout;
    const selected = this.selectFiles ? new Set(this.selectFiles) : undefined;
    this.priorities = layout.files.map((_, i) => (!selected || selected.has(i) ? 'normal' : 'skip'));
  }

  /** The downloader exists: push the whole state to it, then every change. */
  attach(sink: DemandSink): void {
    this.sink = sink;
    sink.setSequential(this.sequential);
    this.pushPriorities();
    this.pushDeadlines();
  }

  detach(): void {
    this.sink = undefined;
  }

  filePriorities(): FilePriority[] {
    return [...this.priorities];
  }

  /** Throws StateError before the metadata is known, InvalidArgumentError for a bad index or priority. */
  setFilePriority(index: number, priority: FilePriority): void {
    const layout = this.requireLayout();
    checkPriority(priority);
    if (!Number.isSafeInteger(index) || index < 0 || index >= layout.files.length) {
      throw new InvalidArgumentError(
        'ERR_INVALID_SELECTION',
        `file index ${String(index)} is out of range: the torrent has ${layout.files.length} files`
      );
    }
    if (this.priorities[index] === priority) return;
    this.priorities[index] = priority;
    this.pushPriorities();
  }

  setSequential(on: boolean): void {
    this.sequential = on;
    this.sink?.setSequential(on);
  }

  addReadHead(): ReadHead {
    const layout = this.requireLayout();
    const head: Head = { start: 0, end: 0 };
    let open = true;
    return {
      moveTo: (start, end) => {
        if (!open) return;
        const s = clamp(start, layout.length);
        const e = clamp(end, layout.length);
        if (s === head.start && e === head.end && this.heads.has(head)) return;
        head.start = s;
        head.end = Math.max(s, e);
        this.heads.add(head);
        this.pushDeadlines();
      },
      close: () => {
        if (!open) return;
        open = false;
        if (this.heads.delete(head)) this.pushDeadlines();
      }
    };
  }

  /**
   * Every head's pieces, merged by distance from the heads: all pieces under a head first
   * (distance 0), then each head's next piece, and so on through the readahead windows.
   */
  deadlines(): number[] {
    const layout = this.layout;
    if (!layout) return [];
    const windows: { first: number; last: number }[] = [];
    for (const h of this.heads) {
      if (h.start >= h.end) continue;
      const stop = Math.min(h.end, h.start + Math.max(this.readahead, 1));
      windows.push({
        first: Math.floor(h.start / layout.pieceLength),
        last: Math.floor((stop - 1) / layout.pieceLength)
      });
    }
    const out = new Set<number>();
    const longest = Math.max(0, ...windows.map((w) => w.last - w.first + 1));
    for (let d = 0; d < longest; d++)
      for (const w of windows) if (w.first + d <= w.last) out.add(w.first + d);
    return [...out];
  }

  private pushPriorities(): void {
    if (!this.sink || !this.layout) return;
    const { wanted, high } = priorityPieces(this.layout, this.priorities);
    this.sink.setWanted(wanted ?? undefined);
    this.sink.setHigh(high);
  }

  private pushDeadlines(): void {
    this.sink?.setDeadlines(this.deadlines());
  }

  private requireLayout(): FileLayout {
    if (!this.layout) throw new StateError('the metadata is not known yet');
    return this.layout;
  }
}

function clamp(n: number, length: number): number {
  if (!Number.isFinite(n)) return n > 0 ? length : 0;
  return Math.min(length, Math.max(0, Math.floor(n)));
}
