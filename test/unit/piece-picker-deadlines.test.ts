/**
 * The picker's streaming order: pieces with deadlines (most urgent first) before high-priority
 * pieces, before the rest (rarest first, or in index order in sequential mode); deadlines make
 * pieces wanted; and PieceDemand turns priorities and read heads into those piece sets.
 */
import { describe, expect, it } from '@jest/globals';
import { Bitfield } from '../../lib/engine/bitfield.js';
import { PieceDemand, type DemandSink } from '../../lib/engine/download/demand.js';
import { PiecePicker } from '../../lib/engine/picker/piece-picker.js';
import { priorityPieces } from '../../lib/engine/storage/file-selection.js';
import { seededRandom } from '../../lib/util/random.js';
import type { BlockRequest } from '../../lib/wire/messages.js';
import { BLOCK_SIZE } from '../../lib/wire/constants.js';

const KiB = 1024;
const bits = (length: number, indices: Iterable<number>): Bitfield => {
  const bf = new Bitfield(length);
  for (const i of indices) bf.set(i);
  return bf;
};
const pieces = (reqs: BlockRequest[]): number[] => [...new Set(reqs.map((r) => r.index))];
/** One-block pieces: each pick of n requests starts n pieces, in the picker's order. */
const picker = (count: number, extra = {}): PiecePicker =>
  new PiecePicker({ length: count * BLOCK_SIZE, pieceLength: BLOCK_SIZE, randomFirstPieces: 0, ...extra });

describe('PiecePicker deadlines, priorities, sequential mode', () => {
  it('starts deadline pieces first, most urgent first, then rarest first', () => {
    const p = picker(20);
    p.onHaveAll('seed');
    p.onBitfield('other', bits(20, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]));
    p.setDeadlines([15, 12, 13]);
    // 15, 12, 13 by deadline; then the rarest: 18 and 19 only the seed has.
    const picked = pieces(p.pick('seed', 5, seededRandom(1)));
    expect(picked.slice(0, 3)).toEqual([15, 12, 13]);
    expect(picked.slice(3).sort()).toEqual([18, 19]);
  });

  it('takes blocks of started deadline pieces before other started pieces', () => {
    const p = new PiecePicker({ length: 8 * 64 * KiB, pieceLength: 64 * KiB, randomFirstPieces: 0 });
    p.onHaveAll('a');
    p.onHaveAll('b');
    p.setSequential(true);
    expect(pieces(p.pick('a', 2, seededRandom(1)))).toEqual([0]); // piece 0 half requested
    p.setDeadlines([1]);
    expect(pieces(p.pick('a', 2, seededRandom(1)))).toEqual([1]); // piece 1 started, half requested
    p.setDeadlines([1, 0]);
    // The rest of 1 (urgent), then the rest of 0, then new pieces.
    expect(p.pick('b', 5, seededRandom(1)).map((r) => r.index)).toEqual([1, 1, 0, 0, 2]);
  });

  it('a deadline makes a piece wanted, and takes it back when it goes', () => {
    const p = picker(10);
    p.setWanted(bits(10, [0, 1]));
    p.onHaveAll('seed');
    p.setDeadlines([7]);
    expect(pieces(p.pick('seed', 1, seededRandom(1)))).toEqual([7]);
    p.releasePeerRequests('seed');
    p.setDeadlines([]);
    expect(pieces(p.pick('seed', 5, seededRandom(1))).sort()).toEqual([0, 1]);
    expect(p.pick('seed', 5, seededRandom(1))).toEqual([]);
    // Completion is about the wanted set: 7 is not needed any more.
    for (const i of [0, 1]) {
      p.onBlockReceived('seed', i, 0);
      p.onPieceVerified(i);
    }
    expect(p.isComplete()).toBe(true);
    expect(p.isInteresting('seed')).toBe(false);
    p.setDeadlines([8]);
    expect(p.isComplete()).toBe(false);
    expect(p.isInteresting('seed')).toBe(true);
  });

  it('starts deadline pieces even when the memory budget allows no new pieces', () => {
    const p = picker(10);
    p.onHaveAll('seed');
    p.setDeadlines([4]);
    expect(pieces(p.pick('seed', 3, seededRandom(1), { newPieces: false }))).toEqual([4]);
  });

  it('high-priority pieces come after deadlines and before the rest', () => {
    const p = picker(10);
    p.onHaveAll('seed');
    p.setHigh(bits(10, [8, 9]));
    p.setDeadlines([2]);
    const first = pieces(p.pick('seed', 3, seededRandom(3)));
    expect(first[0]).toBe(2);
    expect(first.slice(1).sort()).toEqual([8, 9]);
  });

  it('sequential mode starts the lowest missing index, rarest first otherwise', () => {
    const p = picker(10);
    p.onHaveAll('seed');
    p.onBitfield('b', bits(10, [0, 1, 2, 3, 4, 5, 6, 7]));
    p.setSequential(true);
    expect(pieces(p.pick('seed', 3, seededRandom(1)))).toEqual([0, 1, 2]);
    p.setSequential(false);
    expect(pieces(p.pick('seed', 2, seededRandom(1))).sort()).toEqual([8, 9]);
  });
});

describe('file priorities to pieces', () => {
  // Three files of 10, 30 and 20 bytes over 16-byte pieces: [0,16) [16,32) [32,48) [48,60).
  const layout = {
    files: [
      { path: ['t', 'a'], length: 10, offset: 0 },
      { path: ['t', 'b'], length: 30, offset: 10 },
      { path: ['t', 'c'], length: 20, offset: 40 }
    ],
    length: 60,
    pieceLength: 16,
    pieceCount: 4
  };

  it('skip, normal and high map to wanted and high pieces; shared pieces stay wanted', () => {
    expect(priorityPieces(layout, ['normal', 'normal', 'normal'])).toEqual({ wanted: null, high: null });
    const { wanted, high } = priorityPieces(layout, ['skip', 'high', 'skip']);
    expect([...wanted!.indices()]).toEqual([0, 1, 2]);
    expect([...high!.indices()]).toEqual([0, 1, 2]);
    expect([...priorityPieces(layout, ['skip', 'skip', 'normal']).wanted!.indices()]).toEqual([2, 3]);
  });

  it('PieceDemand: selection as initial priorities, changes pushed, read heads merged by distance', () => {
    const calls: string[] = [];
    const sink: DemandSink = {
      setWanted: (w) => calls.push(`wanted ${w ? [...w.indices()].join(',') : 'all'}`),
      setHigh: (h) => calls.push(`high ${h ? [...h.indices()].join(',') : 'none'}`),
      setSequential: (on) => calls.push(`sequential ${on}`),
      setDeadlines: (d) => calls.push(`deadlines ${d.join(',')}`)
    };
    const demand = new PieceDemand({ selectFiles: [2], readaheadBytes: 32 });
    expect(() => demand.addReadHead()).toThrow(/metadata/);
    demand.setLayout(layout);
    expect(demand.filePriorities()).toEqual(['skip', 'skip', 'normal']);
    demand.attach(sink);
    expect(calls.splice(0)).toEqual(['sequential false', 'wanted 2,3', 'high none', 'deadlines ']);
    demand.setFilePriority(0, 'high');
    expect(calls.splice(0)).toEqual(['wanted 0,2,3', 'high 0']);
    expect(() => demand.setFilePriority(3, 'high')).toThrow(/out of range/);
    expect(() => demand.setFilePriority(0, 'urgent' as 'high')).toThrow(/priority/);
    const a = demand.addReadHead();
    const b = demand.addReadHead();
    a.moveTo(0, 60); // pieces 0, 1 (32 bytes of readahead)
    b.moveTo(50, 60); // piece 3 only: the range ends there
    expect(demand.deadlines()).toEqual([0, 3, 1]);
    a.moveTo(33, 60);
    expect(demand.deadlines()).toEqual([2, 3]);
    a.close();
    a.close();
    expect(demand.deadlines()).toEqual([3]);
    b.close();
    expect(calls.pop()).toBe('deadlines ');
  });
});
