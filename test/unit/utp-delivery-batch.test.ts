/**
 * A turn's in-order uTP payloads joined into one chunk: order, buffer boundaries, payloads larger
 * than the buffer, and ownership (what the reader was given never changes under it, and what it
 * writes into its chunks never reaches later ones).
 */
import { describe, expect, it } from '@jest/globals';
import { seededRandom } from '../../lib/util/random.js';
import { DeliveryBatch } from '../../lib/utp/delivery-batch.js';

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

function collect(): { out: Uint8Array[]; emit: (c: Uint8Array) => void } {
  const out: Uint8Array[] = [];
  return { out, emit: (c) => out.push(c) };
}

describe('uTP delivery batch', () => {
  it('hands a lone payload over as it is (no copy) and nothing when empty', () => {
    const b = new DeliveryBatch(1000);
    const { out, emit } = collect();
    expect(b.take()).toBeNull();
    const p = bytes(300, 1);
    b.push(p, emit);
    b.push(new Uint8Array(0), emit);
    expect(b.pendingBytes).toBe(300);
    expect(b.take()).toBe(p);
    expect(out).toEqual([]);
    expect(b.take()).toBeNull();
  });

  it('joins a turn of payloads into one chunk, in order', () => {
    const b = new DeliveryBatch(1000);
    const { out, emit } = collect();
    for (let i = 1; i <= 3; i++) b.push(bytes(200, i), emit);
    const c = b.take()!;
    expect(out).toEqual([]);
    expect(Buffer.from(c).equals(Buffer.concat([bytes(200, 1), bytes(200, 2), bytes(200, 3)]))).toBe(true);
  });

  it('emits the batch when the next payload does not fit, and goes on in a fresh buffer', () => {
    const b = new DeliveryBatch(1000);
    const { out, emit } = collect();
    for (let i = 1; i <= 4; i++) b.push(bytes(300, i), emit); // 3 fit; the 4th starts a new batch
    expect(out.map((c) => c.length)).toEqual([900]);
    expect(out[0]![899]).toBe(3);
    for (let i = 5; i <= 6; i++) b.push(bytes(300, i), emit);
    const last = b.take()!;
    expect(Array.from(last.subarray(0, 1))).toEqual([4]);
    expect(last.length).toBe(900);
    expect(last[899]).toBe(6);
  });

  it('passes a payload larger than the buffer through uncopied, after what was pending', () => {
    const b = new DeliveryBatch(1000);
    const { out, emit } = collect();
    b.push(bytes(100, 1), emit);
    b.push(bytes(100, 2), emit);
    const big = bytes(5000, 3);
    b.push(big, emit);
    expect(out.map((c) => c.length)).toEqual([200]);
    b.push(bytes(100, 4), emit);
    expect(out[1]).toBe(big);
    expect(b.take()![0]).toBe(4);
  });

  it('never changes what the reader kept, nor lets its in-place writes reach later chunks', () => {
    const random = seededRandom(5);
    const b = new DeliveryBatch(4096);
    const input: Uint8Array[] = [];
    const kept: { chunk: Uint8Array; copy: Uint8Array }[] = [];
    const received: Uint8Array[] = [];
    const read = (c: Uint8Array): void => {
      received.push(Uint8Array.from(c));
      kept.push({ chunk: c, copy: Uint8Array.from(c) });
    };
    let fill = 0;
    for (let turn = 0; turn < 300; turn++) {
      const n = random.int(6);
      for (let i = 0; i < n; i++) {
        const p = bytes(1 + random.int(1500), (fill = (fill + 1) & 0xff));
        input.push(Uint8Array.from(p));
        b.push(p, read);
      }
      const c = b.take();
      if (c !== null) read(c);
      // Check the kept chunks, then scribble over them as an in-place decryption would.
      for (const k of kept) {
        expect(Buffer.from(k.chunk).equals(Buffer.from(k.copy))).toBe(true);
        k.chunk.fill(0xee);
        k.copy.fill(0xee);
      }
    }
    expect(Buffer.concat(received).equals(Buffer.concat(input))).toBe(true);
    expect(received.length).toBeLessThan(input.length);
  });
});
