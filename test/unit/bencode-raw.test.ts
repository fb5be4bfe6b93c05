/** Raw bencode spans and the canonical-form check used for BEP 44 values. */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import bencode from 'bencode';
import { isCanonicalBencode, rawDictValue } from '../../lib/util/bencode-raw.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const txt = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : Buffer.from(b).toString('latin1');

describe('rawDictValue', () => {
  it('finds a nested value by its exact bytes', () => {
    const msg = enc('d1:ad2:id3:abc1:vd1:bi1e1:a2:xyee1:q3:pute');
    expect(txt(rawDictValue(msg, ['a', 'v']))).toBe('d1:bi1e1:a2:xye');
    expect(txt(rawDictValue(msg, ['q']))).toBe('3:put');
    expect(rawDictValue(msg, ['a', 'missing'])).toBeUndefined();
    expect(rawDictValue(msg, ['q', 'x'])).toBeUndefined();
  });

  it('takes the last of duplicate keys and never matches a key suffix', () => {
    expect(txt(rawDictValue(enc('d1:vi1e1:vi2ee'), ['v']))).toBe('i2e');
    expect(rawDictValue(enc('d11:aaaaaaaa1:vi1ee'), ['v'])).toBeUndefined();
  });
});

describe('isCanonicalBencode', () => {
  it('accepts what bencode.encode writes', () => {
    const leaf = fc.oneof(
      fc.integer(),
      fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a))
    );
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('v'), { maxLength: 4 }),
        fc.dictionary(fc.string({ maxLength: 4 }), tie('v'), { maxKeys: 4 })
      )
    })).v;
    fc.assert(fc.property(value, (v) => isCanonicalBencode(new Uint8Array(bencode.encode(v)))));
  });

  it.each([
    ['d1:bi1e1:ai2ee', 'unsorted keys'],
    ['d1:ai1e1:ai2ee', 'duplicate keys'],
    ['05:hello', 'leading zero in a length'],
    ['i03e', 'leading zero in an integer'],
    ['i-0e', 'negative zero'],
    ['di1ei2ee', 'integer key'],
    ['l1:a', 'truncated'],
    ['1:a1:b', 'two values']
  ])('rejects %s (%s)', (text) => {
    expect(isCanonicalBencode(enc(text))).toBe(false);
  });

  it('orders keys by bytes, not by text', () => {
    expect(isCanonicalBencode(enc('d1:Bi1e1:ai2ee'))).toBe(true); // 'B' < 'a'
    expect(isCanonicalBencode(enc('d1:a0:2:aa0:e'))).toBe(true); // prefix first
    expect(isCanonicalBencode(enc('d2:aa0:1:a0:e'))).toBe(false);
  });

  it('bounds nesting', () => {
    expect(isCanonicalBencode(enc('l'.repeat(20) + 'e'.repeat(20)))).toBe(false);
    expect(isCanonicalBencode(enc('l'.repeat(20) + 'e'.repeat(20)), 32)).toBe(true);
  });
});
