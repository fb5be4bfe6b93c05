/**
 * BEP 53 select-only: the pieces a file selection needs (straddling pieces, zero-length and
 * padding files), the selection's validation, and the picker restricted to those pieces.
 */
import { describe, expect, it } from '@jest/globals';
import { Bitfield } from '../../lib/engine/bitfield.js';
import {
  normalizeSelection,
  selectedPieces,
  wantedBytes,
  type FileLayout
} from '../../lib/engine/storage/file-selection.js';
import { PiecePicker } from '../../lib/engine/picker/piece-picker.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { seededRandom } from '../../lib/util/random.js';

const KiB = 1024;

/** A layout from file lengths (in torrent order); `pad` marks BEP 47 padding files. */
function layout(pieceLength: number, files: (number | { pad: number })[]): FileLayout {
  let offset = 0;
  const entries = files.map((f, i) => {
    const padding = typeof f !== 'number';
    const length = padding ? f.pad : f;
    const entry = {
      path: ['t', padding ? `.pad${i}` : `f${i}`],
      length,
      offset,
      ...(padding ? { padding: true as const } : {})
    };
    offset += length;
    return entry;
  });
  return { files: entries, length: offset, pieceLength, pieceCount: Math.ceil(offset / pieceLength) };
}

const pieces = (bf: Bitfield): number[] => [...bf.indices()];

describe('selectedPieces', () => {
  // Pieces of 16 KiB. f0 [0, 40K) -> pieces 0-2; f1 empty at 40K; f2 [40K, 48K) -> piece 2;
  // f3 [48K, 100K) -> pieces 3-6 (48K is a boundary); f4 [100K, 100K+1) -> piece 6.
  const l = layout(16 * KiB, [40 * KiB, 0, 8 * KiB, 52 * KiB, 1]);

  it('wants every piece overlapping a selected file, including pieces shared with its neighbours', () => {
    expect(l.pieceCount).toBe(7);
    expect(pieces(selectedPieces(l, [0]))).toEqual([0, 1, 2]);
    expect(pieces(selectedPieces(l, [2]))).toEqual([2]); // wholly inside piece 2, shared with f0
    expect(pieces(selectedPieces(l, [3]))).toEqual([3, 4, 5, 6]); // starts on a boundary: not piece 2
    expect(pieces(selectedPieces(l, [4]))).toEqual([6]); // the 1-byte tail shares the short last piece
    expect(pieces(selectedPieces(l, [0, 4]))).toEqual([0, 1, 2, 6]);
    expect(pieces(selectedPieces(l, [0, 1, 2, 3, 4]))).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('a zero-length file selects no piece', () => {
    expect(pieces(selectedPieces(l, [1]))).toEqual([]);
    expect(selectedPieces(l, [1]).length).toBe(7);
  });

  it('padding files count in the indices but select nothing; they keep the next file off the shared piece', () => {
    // f0 [0, 20K) -> pieces 0-1; pad [20K, 32K); f2 [32K, 50K) -> pieces 2-3.
    const padded = layout(16 * KiB, [20 * KiB, { pad: 12 * KiB }, 18 * KiB]);
    expect(pieces(selectedPieces(padded, [1]))).toEqual([]);
    expect(pieces(selectedPieces(padded, [2]))).toEqual([2, 3]);
    expect(pieces(selectedPieces(padded, [0]))).toEqual([0, 1]); // piece 1 holds f0's tail and padding
  });

  it('a single-file torrent has file 0 only', () => {
    const single = layout(16 * KiB, [50 * KiB]);
    expect(pieces(selectedPieces(single, [0]))).toEqual([0, 1, 2, 3]);
    expect(() => selectedPieces(single, [1])).toThrow(
      /file index 1 is out of range: the torrent has 1 file \(indices 0-0\)/
    );
  });

  it('an index past the end of the file list is ERR_INVALID_SELECTION', () => {
    let error: unknown;
    try {
      selectedPieces(l, [0, 5]);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({
      code: 'ERR_INVALID_SELECTION',
      message: expect.stringMatching(/file index 5 is out of range: the torrent has 5 files/)
    });
    expect(() => selectedPieces(l, [-1])).toThrow(InvalidArgumentError);
    expect(() => selectedPieces(l, [1.5])).toThrow(InvalidArgumentError);
  });

  it('wantedBytes counts the short last piece', () => {
    expect(wantedBytes(l, selectedPieces(l, [0]))).toBe(48 * KiB);
    expect(wantedBytes(l, selectedPieces(l, [4]))).toBe(100 * KiB + 1 - 6 * 16 * KiB);
    expect(wantedBytes(l, selectedPieces(l, [0, 1, 2, 3, 4]))).toBe(l.length);
    expect(wantedBytes(l, selectedPieces(l, [1]))).toBe(0);
  });
});

describe('normalizeSelection', () => {
  it('sorts and dedupes', () => {
    expect(normalizeSelection([4, 0, 4, 2])).toEqual([0, 2, 4]);
  });

  it('rejects an empty list and non-indices with ERR_INVALID_ARGUMENT', () => {
    for (const bad of [[], [-1], [0.5], [Number.NaN], [2 ** 60]] as number[][]) {
      expect(() => normalizeSelection(bad)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
      );
    }
  });
});

describe('PiecePicker restricted to a selection', () => {
  it('only picks wanted pieces, and is complete when they are verified', () => {
    const l = layout(16 * KiB, [40 * KiB, 0, 8 * KiB, 52 * KiB, 1]);
    const picker = new PiecePicker<string>({
      length: l.length,
      pieceLength: l.pieceLength,
      blockSize: 16 * KiB
    });
    picker.setWanted(selectedPieces(l, [4]));
    picker.onHaveAll('seed');
    const random = seededRandom(1);
    const picked = picker.pick('seed', 100, random);
    expect(picked.map((r) => r.index)).toEqual([6]);
    expect(picker.onBlockReceived('seed', 6, 0)).toMatchObject({ accepted: true, pieceComplete: true });
    picker.onPieceVerified(6);
    expect(picker.isComplete()).toBe(true);
    expect(picker.isInteresting('seed')).toBe(false);
    expect(picker.pick('seed', 100, random)).toEqual([]);
  });
});
