import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { TOKEN_LENGTH, TokenIssuer } from '../../lib/store/token-issuer.js';
import { seededRandom } from '../../lib/util/random.js';
import { FakeClock } from '../support/fake-clock.js';

const ROTATE = 5 * 60_000;

function setup(seed = 1): { clock: FakeClock; issuer: TokenIssuer } {
  const clock = new FakeClock(1_000_000);
  return { clock, issuer: new TokenIssuer({ clock, random: seededRandom(seed), rotateMs: ROTATE }) };
}

describe('TokenIssuer', () => {
  it('issues short tokens that verify for the same IP', () => {
    const { issuer } = setup();
    const token = issuer.issue('127.0.0.1');
    expect(token).toBeInstanceOf(Uint8Array);
    expect(token.length).toBe(TOKEN_LENGTH);
    expect(issuer.verify(token, '127.0.0.1')).toBe(true);
    // Stable within one epoch.
    expect(issuer.issue('127.0.0.1')).toEqual(token);
  });

  it('accepts a token after one rotation and rejects it after two', () => {
    const { clock, issuer } = setup();
    const token = issuer.issue('127.0.0.2');
    clock.advance(ROTATE - 1);
    expect(issuer.verify(token, '127.0.0.2')).toBe(true);
    clock.advance(1); // first rotation: now the previous secret
    expect(issuer.verify(token, '127.0.0.2')).toBe(true);
    expect(issuer.issue('127.0.0.2')).not.toEqual(token);
    clock.advance(ROTATE); // second rotation: too old
    expect(issuer.verify(token, '127.0.0.2')).toBe(false);
  });

  it('does not let an idle gap stretch a token past two periods', () => {
    const { clock, issuer } = setup();
    const token = issuer.issue('127.0.0.3');
    clock.advance(2 * ROTATE); // no use in between: lazy rotation must skip both epochs
    expect(issuer.verify(token, '127.0.0.3')).toBe(false);
  });

  it('is bound to the IP, not the port, and rejects malformed tokens', () => {
    const { issuer } = setup();
    const token = issuer.issue('127.0.0.1');
    expect(issuer.verify(token, '127.0.0.2')).toBe(false);
    expect(issuer.verify(token.subarray(0, 4), '127.0.0.1')).toBe(false);
    expect(issuer.verify(new Uint8Array(64), '127.0.0.1')).toBe(false);
    const flipped = new Uint8Array(token);
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(issuer.verify(flipped, '127.0.0.1')).toBe(false);
  });

  it('different issuers disagree', () => {
    const a = setup(1).issuer;
    const b = setup(2).issuer;
    const token = a.issue('127.0.0.1');
    expect(b.verify(token, '127.0.0.1')).toBe(false);
    expect(b.issue('127.0.0.1')).not.toEqual(token);
  });

  it('rejects a non-positive rotation period', () => {
    const clock = new FakeClock();
    expect(() => new TokenIssuer({ clock, rotateMs: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    );
  });

  it('is the first bytes of SHA-1(secret as hex || host)', () => {
    const random = { int: () => 0, bytes: (n: number) => new Uint8Array(n).fill(0xa7) };
    const issuer = new TokenIssuer({ clock: new FakeClock(0), random });
    for (const host of ['127.0.0.1', 'fe80::1%eth0', '::ffff:1.2.3.4', '\u00e9'.repeat(70)]) {
      const expected = createHash('sha1')
        .update('a7'.repeat(16) + host, 'utf8')
        .digest()
        .subarray(0, TOKEN_LENGTH);
      expect(Buffer.from(issuer.issue(host)).equals(expected)).toBe(true);
      expect(issuer.verify(issuer.issue(host), host)).toBe(true);
    }
  });
});

describe('TokenIssuer secrets', () => {
  it('are made on first use, not at construction (an idle node keeps none)', () => {
    let draws = 0;
    const random = {
      int: () => 0,
      bytes: (n: number) => {
        draws++;
        return new Uint8Array(n).fill(draws);
      }
    };
    const clock = new FakeClock(0);
    const issuer = new TokenIssuer({ clock, random, rotateMs: ROTATE });
    expect(draws).toBe(0);
    clock.advance(3 * ROTATE + 5);
    const token = issuer.issue('127.0.0.1');
    expect(draws).toBe(2); // current and a fresh previous
    expect(issuer.verify(token, '127.0.0.1')).toBe(true);
    // Epochs still count from construction: the first use fell in epoch 3, so the token dies
    // at the start of epoch 5.
    clock.advance(2 * ROTATE - 6);
    expect(issuer.verify(token, '127.0.0.1')).toBe(true);
    clock.advance(1);
    expect(issuer.verify(token, '127.0.0.1')).toBe(false);
  });
});
