import { describe, expect, it } from '@jest/globals';
import { Bitfield } from '../../lib/engine/bitfield.js';
import { BLOCK_SIZE } from '../../lib/wire/constants.js';
import { PiecePicker } from '../../lib/engine/picker/piece-picker.js';
import type { BlockRequest } from '../../lib/wire/messages.js';
import { seededRandom } from '../../lib/util/random.js';
import { InvalidArgumentError } from '../../lib/errors.js';

const KiB = 1024;

function bitfield(length: number, indices: Iterable<number>): Bitfield {
  const bf = new Bitfield(length);
  for (const i of indices) bf.set(i);
  return bf;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const pieces = (reqs: BlockRequest[]): number[] => [...new Set(reqs.map((r) => r.index))];

describe('Bitfield', () => {
  it('gets, sets, counts and round-trips through bytes', () => {
    const bf = new Bitfield(10);
    expect(bf.set(0)).toBe(true);
    expect(bf.set(0)).toBe(false);
    bf.set(9);
    expect(bf.count).toBe(2);
    expect(bf.toBytes()).toEqual(new Uint8Array([0x80, 0x40]));
    const back = Bitfield.fromBytes(bf.toBytes(), 10);
    expect([...back.indices()]).toEqual([0, 9]);
    expect(back.get(9)).toBe(true);
    expect(back.get(8)).toBe(false);
    bf.set(0, false);
    expect(bf.count).toBe(1);
    expect(Bitfield.full(10).toBytes()).toEqual(new Uint8Array([0xff, 0xc0]));
    expect(Bitfield.full(10).hasAll()).toBe(true);
    expect(() => bf.get(10)).toThrow(InvalidArgumentError);
  });

  it('validates wire bitfields: length and spare bits', () => {
    expect(() => Bitfield.fromBytes(new Uint8Array([0xff]), 10)).toThrow(/must be 2 bytes/);
    expect(() => Bitfield.fromBytes(new Uint8Array([0xff, 0xe0]), 10)).toThrow(/spare bits/);
    expect(Bitfield.fromBytes(new Uint8Array([0xff, 0xc0]), 10).count).toBe(10);
    expect(Bitfield.fromBytes(new Uint8Array([0xff]), 8).hasAll()).toBe(true);
  });
});

describe('PiecePicker', () => {
  it('splits pieces into 16 KiB blocks, the last piece shorter', () => {
    const picker = new PiecePicker({ length: 200 * KiB, pieceLength: 64 * KiB, randomFirstPieces: 0 });
    picker.onHaveAll('seed');
    const reqs = picker.pick('seed', 100, seededRandom(1));
    expect(reqs).toHaveLength(13);
    expect(reqs.filter((r) => r.index === 3)).toEqual([{ index: 3, begin: 0, length: 8 * KiB }]);
    expect(reqs.filter((r) => r.index === 0).map((r) => [r.begin, r.length])).toEqual([
      [0, BLOCK_SIZE],
      [16 * KiB, BLOCK_SIZE],
      [32 * KiB, BLOCK_SIZE],
      [48 * KiB, BLOCK_SIZE]
    ]);
    expect(picker.blockLength(3, 0)).toBe(8 * KiB);
    expect(picker.blockLength(3, 16 * KiB)).toBe(0);
    expect(picker.blockLength(0, 100)).toBe(0);
  });

  it('picks random pieces first, then rarest first', () => {
    const n = 100;
    const firstPicks = new Set<number>();
    for (let seed = 0; seed < 20; seed++) {
      const picker = new PiecePicker({ length: n * 16 * KiB, pieceLength: 16 * KiB });
      picker.onHaveAll('a');
      picker.onBitfield('b', bitfield(n, range(0, 99))); // piece 99 is the rarest
      const [req] = picker.pick('a', 1, seededRandom(seed));
      firstPicks.add(req?.index ?? -1);
    }
    expect(firstPicks.size).toBeGreaterThan(10); // random, not "rarest" (99) or "first" (0)

    const picker = new PiecePicker({ length: n * 16 * KiB, pieceLength: 16 * KiB });
    picker.onHaveAll('a');
    picker.onBitfield('b', bitfield(n, range(0, 99)));
    const random = seededRandom(7);
    for (let i = 0; i < 4; i++) {
      const [req] = picker.pick('a', 1, random);
      picker.onBlockReceived('a', req!.index, 0);
      picker.onPieceVerified(req!.index);
    }
    expect(picker.completedCount).toBe(4);
    // Now rarest first: 99 is held only by 'a'.
    expect(picker.hasPiece(99) || picker.pick('a', 1, random)[0]?.index === 99).toBe(true);
  });

  it('prefers the rarest pieces the peer has, ties at random', () => {
    const n = 20;
    const have = bitfield(n, range(0, 4));
    const picker = new PiecePicker({ length: n * 16 * KiB, pieceLength: 16 * KiB, have });
    picker.onHaveAll('seed');
    picker.onBitfield('b', bitfield(n, range(0, 12)));
    picker.onBitfield('c', bitfield(n, range(8, 12)));
    // availability: 4-7: 2, 8-11: 3, 12-19: 1 (seed only)
    expect(picker.availability(5)).toBe(2);
    expect(picker.availability(9)).toBe(3);
    expect(picker.availability(15)).toBe(1);
    expect(pieces(picker.pick('seed', 8, seededRandom(1))).sort((x, y) => x - y)).toEqual(range(12, 20));
    expect(pieces(picker.pick('b', 4, seededRandom(1))).sort((x, y) => x - y)).toEqual(range(4, 8));
    expect(pieces(picker.pick('c', 10, seededRandom(1))).sort((x, y) => x - y)).toEqual(range(8, 12));
    expect(picker.pick('c', 10, seededRandom(1))).toEqual([]); // everything c has is requested
    const ties = new Set<number>();
    for (let seed = 0; seed < 10; seed++) {
      const p = new PiecePicker({ length: n * 16 * KiB, pieceLength: 16 * KiB, have });
      p.onHaveAll('seed');
      ties.add(p.pick('seed', 1, seededRandom(seed))[0]!.index);
    }
    expect(ties.size).toBeGreaterThan(3);
  });

  it('tracks availability through have, bitfield replacement and departures', () => {
    const picker = new PiecePicker({ length: 10 * 16 * KiB, pieceLength: 16 * KiB });
    picker.onHave('a', 3);
    picker.onHave('a', 3);
    expect(picker.availability(3)).toBe(1);
    picker.onBitfield('a', bitfield(10, [1]));
    expect(picker.availability(3)).toBe(0);
    expect(picker.availability(1)).toBe(1);
    picker.onHaveAll('b');
    expect(picker.availability(1)).toBe(2);
    expect(picker.peerHas('b', 9)).toBe(true);
    picker.removePeer('b');
    picker.removePeer('a');
    expect(picker.availability(1)).toBe(0);
    expect(() => picker.onHave('a', 10)).toThrow(InvalidArgumentError);
    expect(() => picker.onBitfield('a', new Bitfield(9))).toThrow(InvalidArgumentError);
  });

  it('finishes partially requested pieces before starting new ones', () => {
    const picker = new PiecePicker({ length: 10 * 64 * KiB, pieceLength: 64 * KiB, randomFirstPieces: 0 });
    picker.onHaveAll('a');
    picker.onHaveAll('b');
    const first = picker.pick('a', 2, seededRandom(1));
    expect(pieces(first)).toHaveLength(1);
    const piece = first[0]!.index;
    const second = picker.pick('b', 3, seededRandom(2));
    expect(second.slice(0, 2)).toEqual([
      { index: piece, begin: 32 * KiB, length: BLOCK_SIZE },
      { index: piece, begin: 48 * KiB, length: BLOCK_SIZE }
    ]);
    expect(second[2]!.index).not.toBe(piece);
    expect(picker.requestCount('b')).toBe(3);
  });

  it('enters endgame, duplicates outstanding blocks and reports cancels', () => {
    const picker = new PiecePicker({
      length: 2 * 32 * KiB,
      pieceLength: 32 * KiB,
      endgameMaxRequestsPerBlock: 2
    });
    for (const p of ['a', 'b', 'c']) picker.onHaveAll(p);
    const random = seededRandom(3);
    expect(picker.pick('a', 10, random)).toHaveLength(4);
    expect(picker.isEndgame()).toBe(true);
    const dup = picker.pick('b', 10, random);
    expect(dup).toHaveLength(4);
    expect(picker.pick('b', 10, random)).toEqual([]); // never twice to the same peer
    expect(picker.pick('c', 10, random)).toEqual([]); // cap of 2 requesters per block
    const block = dup[0]!;
    const got = picker.onBlockReceived('b', block.index, block.begin);
    expect(got).toEqual({ accepted: true, pieceComplete: false, cancel: ['a'] });
    expect(picker.requestCount('a')).toBe(3);
    expect(picker.onBlockReceived('a', block.index, block.begin).accepted).toBe(false); // duplicate data
    // 'a' leaves: blocks only it had are still with 'b'; nothing returns to unrequested.
    picker.removePeer('a');
    expect(picker.isEndgame()).toBe(true);
    expect(picker.pick('c', 10, random)).toHaveLength(3);
  });

  it('re-fetches a piece whose hash failed and reports who sent it', () => {
    const picker = new PiecePicker({ length: 64 * KiB, pieceLength: 32 * KiB, randomFirstPieces: 0 });
    picker.onHaveAll('a');
    picker.onHaveAll('b');
    const reqs = picker.pick('a', 2, seededRandom(1));
    expect(pieces(reqs)).toHaveLength(1);
    const piece = reqs[0]!.index;
    expect(picker.onBlockReceived('a', piece, 0).pieceComplete).toBe(false);
    expect(picker.onBlockReceived('b', piece, 16 * KiB)).toEqual({
      accepted: true,
      pieceComplete: true,
      cancel: ['a']
    });
    expect(picker.requestCount('a')).toBe(0);
    expect(picker.onPieceFailed(piece).sort()).toEqual(['a', 'b']);
    expect(picker.hasPiece(piece)).toBe(false);
    const again = picker.pick('b', 10, seededRandom(1));
    expect(again.filter((r) => r.index === piece)).toHaveLength(2);
    for (const r of again) picker.onBlockReceived('b', r.index, r.begin);
    picker.onPieceVerified(0);
    picker.onPieceVerified(1);
    expect(picker.isComplete()).toBe(true);
    expect(picker.isInteresting('a')).toBe(false);
    expect(picker.pick('a', 10, seededRandom(1))).toEqual([]);
    // A verified piece found bad later (disk check) is wanted again.
    picker.onPieceFailed(1);
    expect(picker.isComplete()).toBe(false);
    expect(picker.pick('a', 10, seededRandom(1)).map((r) => r.index)).toEqual([1, 1]);
  });

  it('returns requests of a peer that chokes us or leaves', () => {
    const picker = new PiecePicker({ length: 10 * 16 * KiB, pieceLength: 16 * KiB, randomFirstPieces: 0 });
    picker.onHaveAll('a');
    picker.onBitfield('b', bitfield(10, [0, 1]));
    const reqs = picker.pick('a', 10, seededRandom(1));
    expect(reqs).toHaveLength(10);
    expect(picker.isEndgame()).toBe(true);
    expect(pieces(picker.pick('b', 10, seededRandom(1))).sort()).toEqual([0, 1]); // endgame duplicates
    const released = picker.releasePeerRequests('a');
    expect(released).toHaveLength(10);
    expect(picker.requestCount('a')).toBe(0);
    expect(picker.isEndgame()).toBe(false); // pieces 2-9 are unrequested again
    expect(picker.pick('b', 10, seededRandom(1))).toEqual([]); // b's pieces are all requested from b
    picker.releaseRequest('b', 0, 0);
    const again = pieces(picker.pick('a', 9, seededRandom(1))); // 9 unrequested blocks, no budget left for endgame
    expect(again).toContain(0);
    expect(again).not.toContain(1);
    picker.removePeer('b');
    expect(picker.pick('a', 20, seededRandom(1))).toEqual([{ index: 1, begin: 0, length: BLOCK_SIZE }]);
  });

  it('tracks interest and restricts picks to wanted pieces', () => {
    const picker = new PiecePicker({ length: 10 * 16 * KiB, pieceLength: 16 * KiB, randomFirstPieces: 0 });
    picker.onBitfield('b', bitfield(10, [2, 3]));
    expect(picker.isInteresting('b')).toBe(true);
    picker.setWanted(bitfield(10, [5, 6]));
    expect(picker.isInteresting('b')).toBe(false);
    expect(picker.pick('b', 10, seededRandom(1))).toEqual([]);
    picker.onHave('b', 5);
    expect(picker.isInteresting('b')).toBe(true);
    expect(picker.pick('b', 10, seededRandom(1))).toEqual([{ index: 5, begin: 0, length: BLOCK_SIZE }]);
    picker.onBlockReceived('b', 5, 0);
    picker.onPieceVerified(5);
    expect(picker.isInteresting('b')).toBe(false);
    expect(picker.isComplete()).toBe(false);
    picker.onHaveAll('c');
    expect(picker.pick('c', 10, seededRandom(1))).toEqual([{ index: 6, begin: 0, length: BLOCK_SIZE }]);
    picker.onBlockReceived('c', 6, 0);
    picker.onPieceVerified(6);
    expect(picker.isComplete()).toBe(true);
    expect(picker.isInteresting('c')).toBe(false);
    picker.setWanted(null);
    expect(picker.isComplete()).toBe(false);
    expect(picker.isInteresting('c')).toBe(true);
  });

  it('downloads thousands of pieces from a swarm quickly and consistently', () => {
    const n = 5000;
    const random = seededRandom(42);
    const picker = new PiecePicker({ length: n * 32 * KiB - 1000, pieceLength: 32 * KiB });
    const peers = Array.from({ length: 30 }, (_, i) => `p${i}`);
    for (const [i, p] of peers.entries()) {
      if (i % 10 === 0) picker.onHaveAll(p);
      else
        picker.onBitfield(
          p,
          bitfield(
            n,
            range(0, n).filter(() => random.int(3) === 0)
          )
        );
    }
    const pending = new Map<string, BlockRequest[]>(peers.map((p) => [p, []]));
    // Quick in CPU time (a loaded machine stretches the wall-clock time, not this).
    const cpuBefore = process.cpuUsage();
    let rounds = 0;
    let failures = 0;
    while (!picker.isComplete() && rounds < 10_000) {
      rounds++;
      for (const p of peers) {
        const queue = pending.get(p)!;
        queue.push(...picker.pick(p, 16 - queue.length, random));
        // Each peer delivers up to 4 blocks per round.
        for (const req of queue.splice(0, 4)) {
          const got = picker.onBlockReceived(p, req.index, req.begin);
          for (const other of got.cancel) {
            const q = pending.get(other)!;
            pending.set(
              other,
              q.filter((r) => r.index !== req.index || r.begin !== req.begin)
            );
          }
          if (got.pieceComplete) {
            if (random.int(50) === 0) {
              failures++;
              picker.onPieceFailed(req.index);
            } else picker.onPieceVerified(req.index);
          }
        }
      }
    }
    expect(picker.isComplete()).toBe(true);
    expect(picker.completedCount).toBe(n);
    expect(failures).toBeGreaterThan(0);
    const cpu = process.cpuUsage(cpuBefore);
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(20_000);
  });
});
