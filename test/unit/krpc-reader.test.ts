import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import bencode from 'bencode';
import { readBencode } from '../../lib/krpc/reader.js';
import { isWellFormedBencode } from '../../lib/util/bencode-scan.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const cat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
const str = (bytes: Uint8Array): Uint8Array => cat(enc(`${bytes.length}:`), bytes);

/**
 * Raw bencode built by hand, so keys may be unsorted, duplicated, non-UTF-8 or start with a
 * BOM, and integers may be large or negative: things bencode.encode would never produce.
 */
const keyBytes = fc.oneof(
  fc
    .constantFrom(
      't',
      'y',
      'q',
      'a',
      'r',
      'id',
      'target',
      'info_hash',
      'nodes',
      'constructor',
      'toString',
      ''
    )
    .map(enc),
  fc.uint8Array({ maxLength: 6 }),
  fc.uint8Array({ maxLength: 4 }).map((b) => cat(new Uint8Array([0xef, 0xbb, 0xbf]), b)),
  fc.string({ maxLength: 6 }).map(enc)
);
const { raw } = fc.letrec<{ raw: Uint8Array }>((tie) => ({
  raw: fc.oneof(
    { depthSize: 'small' },
    fc.uint8Array({ maxLength: 30 }).map(str),
    fc
      .oneof(
        fc.integer(),
        fc.constant(Number.MAX_SAFE_INTEGER),
        fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n })
      )
      .map((n) => enc(`i${n}e`)),
    fc.array(tie('raw'), { maxLength: 4 }).map((items) => cat(enc('l'), ...items, enc('e'))),
    fc
      .array(fc.tuple(keyBytes, tie('raw')), { maxLength: 5 })
      .map((entries) => cat(enc('d'), ...entries.flatMap(([k, v]) => [str(k), v]), enc('e')))
  )
}));

describe('bencode reader', () => {
  it('returns what bencode.decode returns for well-formed input (unsorted/duplicate/non-UTF-8 keys, big ints)', () => {
    fc.assert(
      fc.property(raw, fc.boolean(), (bytes, asBuffer) => {
        const input = asBuffer ? Buffer.from(bytes) : bytes;
        expect(isWellFormedBencode(input, 64)).toBe(true);
        expect(readBencode(input, 64)).toEqual(bencode.decode(bytes));
      }),
      { numRuns: 1500, seed: 5 }
    );
  });

  it('returns plain Uint8Array copies, never views of the datagram', () => {
    const datagram = Buffer.from('d2:id3:abce');
    const out = readBencode(datagram, 8) as { id: Uint8Array };
    expect(out.id.constructor).toBe(Uint8Array);
    expect(out.id.buffer).not.toBe(datagram.buffer);
    datagram[8] = 0x78;
    expect(Buffer.from(out.id).toString()).toBe('abc');
  });

  it('rejects what the strict scan rejects, including inputs that hang bencode@4', () => {
    for (const bad of [
      'l-3:e',
      '5:ab',
      'i1.5e',
      'i03e',
      'i-0e',
      'de1',
      '',
      'd1:a',
      'llllllllle'.padStart(20, 'l')
    ]) {
      expect(readBencode(enc(bad), 8)).toBeUndefined();
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), (bytes) => {
        const ok = isWellFormedBencode(bytes, 8);
        const out = readBencode(bytes, 8);
        expect(out === undefined).toBe(!ok);
        if (ok) expect(out).toEqual(bencode.decode(bytes));
      }),
      { numRuns: 3000, seed: 9 }
    );
  });

  it('keeps a __proto__ key as an own property (bencode.decode would swap the prototype)', () => {
    const out = readBencode(enc('d9:__proto__d1:xi1ee1:ai2ee'), 8) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ x: 1 });
    expect(out.a).toBe(2);
    expect((out as { x?: unknown }).x).toBeUndefined();
  });

  it('respects the nesting limit', () => {
    expect(readBencode(enc('llleee'), 3)).toEqual([[[]]]);
    expect(readBencode(enc('llllee' + 'ee'), 3)).toBeUndefined();
  });
});
