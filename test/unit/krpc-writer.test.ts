import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import bencode from 'bencode';
import { writeBencode, type BencodeValue } from '../../lib/krpc/writer.js';

const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.uint8Array({ maxLength: 40 }),
    fc.string({ maxLength: 20 }),
    fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), tie('v'), { maxKeys: 5 })
  )
})).v as fc.Arbitrary<BencodeValue>;

describe('bencode writer', () => {
  it('produces exactly the bytes of bencode.encode', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(Buffer.from(writeBencode(v)).equals(Buffer.from(bencode.encode(v as never)))).toBe(true);
      }),
      { numRuns: 500, seed: 7 }
    );
  });

  it('encodes the BEP 5 ping example byte for byte', () => {
    const msg = { t: 'aa', y: 'q', q: 'ping', a: { id: 'abcdefghij0123456789' } };
    expect(Buffer.from(writeBencode(msg)).toString()).toBe(
      'd1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe'
    );
  });
});
