/**
 * BEP 44 items: the spec's test vectors (signed bytes, targets, signatures with and without
 * salt), BEP 46's target vectors, ed25519 keys through node:crypto, key files, value rules.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  acceptImmutable,
  acceptMutable,
  checkSalt,
  decodeItemValue,
  encodeItemValue,
  immutableTarget,
  mutableTarget,
  signedBytes
} from '../../lib/item/item.js';
import {
  generateKeyPair,
  keyPairFromSeed,
  parsePublicKey,
  signMessage,
  verifySignature
} from '../../lib/item/ed25519.js';
import { loadKeyPair, saveKeyPair } from '../../lib/item/key-file.js';
import { fromHex, toHex } from '../../lib/util/bytes.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const PUBLIC_KEY = fromHex('77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548');
const VALUE = text('12:Hello World!');

describe('BEP 44 test vectors', () => {
  it('test 1 (mutable): signed bytes, target, signature', () => {
    const signed = signedBytes(VALUE, 1);
    expect(Buffer.from(signed).toString()).toBe('3:seqi1e1:v12:Hello World!');
    expect(toHex(mutableTarget(PUBLIC_KEY))).toBe('4a533d47ec9c7d95b1ad75f576cffc641853b750');
    const sig = fromHex(
      '305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff' +
        '1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01'
    );
    expect(verifySignature(PUBLIC_KEY, signed, sig)).toBe(true);
    const item = acceptMutable(PUBLIC_KEY, new Uint8Array(0), { k: PUBLIC_KEY, sig, seq: 1, v: VALUE });
    expect(item && toHex(item.target)).toBe('4a533d47ec9c7d95b1ad75f576cffc641853b750');
    expect(item && Buffer.from(item.value as Uint8Array).toString()).toBe('Hello World!');
    // Any change breaks it: another seq, another value, another byte of the signature.
    expect(
      acceptMutable(PUBLIC_KEY, new Uint8Array(0), { k: PUBLIC_KEY, sig, seq: 2, v: VALUE })
    ).toBeUndefined();
    expect(
      acceptMutable(PUBLIC_KEY, new Uint8Array(0), { k: PUBLIC_KEY, sig, seq: 1, v: text('12:Hello World?') })
    ).toBeUndefined();
    const bad = Uint8Array.from(sig);
    bad[10]! ^= 1;
    expect(verifySignature(PUBLIC_KEY, signed, bad)).toBe(false);
  });

  it('test 2 (mutable with salt): signed bytes, target, signature', () => {
    const salt = text('foobar');
    const signed = signedBytes(VALUE, 1, salt);
    expect(Buffer.from(signed).toString()).toBe('4:salt6:foobar3:seqi1e1:v12:Hello World!');
    expect(toHex(mutableTarget(PUBLIC_KEY, salt))).toBe('411eba73b6f087ca51a3795d9c8c938d365e32c1');
    const sig = fromHex(
      '6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17d' +
        'df9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08'
    );
    expect(verifySignature(PUBLIC_KEY, signed, sig)).toBe(true);
    expect(acceptMutable(PUBLIC_KEY, salt, { k: PUBLIC_KEY, sig, seq: 1, v: VALUE })).toBeDefined();
    // The salt is part of what is signed: without it (or with another) the signature fails.
    expect(
      acceptMutable(PUBLIC_KEY, new Uint8Array(0), { k: PUBLIC_KEY, sig, seq: 1, v: VALUE })
    ).toBeUndefined();
    expect(
      acceptMutable(PUBLIC_KEY, text('foobaz'), { k: PUBLIC_KEY, sig, seq: 1, v: VALUE })
    ).toBeUndefined();
  });

  it('test 3 (immutable): target', () => {
    expect(toHex(immutableTarget(VALUE))).toBe('e5f96f6f38320f0f33959cb4d3d656452117aadb');
    expect(toHex(immutableTarget(encodeItemValue('Hello World!')))).toBe(
      'e5f96f6f38320f0f33959cb4d3d656452117aadb'
    );
    const target = fromHex('e5f96f6f38320f0f33959cb4d3d656452117aadb');
    expect(acceptImmutable(target, VALUE)?.v).toEqual(VALUE);
    expect(acceptImmutable(target, text('12:Hello World?'))).toBeUndefined();
  });

  it('BEP 46 test vectors: magnet key (and salt) to target', () => {
    const key = fromHex('8543d3e6115f0f98c944077a4493dcd543e49c739fd998550a1f614ab36ed63e');
    expect(toHex(mutableTarget(key))).toBe('cc3f9d90b572172053626f9980ce261a850d050b');
    expect(toHex(mutableTarget(key, fromHex('6e')))).toBe('59ee7c2cb9b4f7eb1986ee2d18fd2fdb8a56554f');
  });
});

describe('ed25519 keys through node:crypto', () => {
  it('a seed always gives the same key pair (RFC 8032 test 1), and signs verifiably', () => {
    const seed = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    const kp = keyPairFromSeed(seed);
    expect(toHex(kp.publicKey)).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const sig = signMessage(kp, new Uint8Array(0));
    expect(toHex(sig)).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'
    );
    expect(verifySignature(kp.publicKey, new Uint8Array(0), sig)).toBe(true);
    expect(verifySignature(generateKeyPair().publicKey, new Uint8Array(0), sig)).toBe(false);
    expect(verifySignature(new Uint8Array(32).fill(0xff), new Uint8Array(0), sig)).toBe(false); // not a point
    expect(verifySignature(kp.publicKey, new Uint8Array(0), sig.subarray(1))).toBe(false);
  });

  it('parses public keys from hex or bytes only', () => {
    expect(parsePublicKey(toHex(PUBLIC_KEY))).toEqual(PUBLIC_KEY);
    expect(() => parsePublicKey('abc')).toThrow(/public key/);
    expect(() => parsePublicKey(new Uint8Array(31))).toThrow(/public key/);
  });

  it('key files: created 0600 as PKCS#8 PEM when missing, read back; a hex seed file works too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tl-key-'));
    try {
      const path = join(dir, 'key.pem');
      await expect(loadKeyPair(path)).rejects.toThrow(/ENOENT/);
      const created = await loadKeyPair(path, { create: true });
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect(await readFile(path, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      expect(await loadKeyPair(path, { create: true })).toEqual(created);
      const seedPath = join(dir, 'seed.hex');
      await writeFile(seedPath, `${toHex(created.secretKey)}\n`);
      expect(await loadKeyPair(seedPath)).toEqual(created);
      const other = generateKeyPair();
      await saveKeyPair(path, other);
      expect(await loadKeyPair(path)).toEqual(other);
      await writeFile(seedPath, 'not a key');
      await expect(loadKeyPair(seedPath)).rejects.toThrow(/not a PEM ed25519 key/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('item values', () => {
  it('encodes strings, bytes, integers, lists and dictionaries, and decodes them back', () => {
    const v = encodeItemValue({ ih: new Uint8Array(20).fill(1), n: 5, l: ['a', -3] });
    expect(Buffer.from(v).toString('latin1')).toBe(`d2:ih20:${'\x01'.repeat(20)}1:ll1:ai-3ee1:ni5ee`);
    const back = decodeItemValue(v) as Record<string, unknown>;
    expect(back.n).toBe(5);
    expect(back.ih).toEqual(new Uint8Array(20).fill(1));
  });

  it('refuses values over 1000 bytes bencoded and things bencode cannot say', () => {
    expect(encodeItemValue('x'.repeat(996)).length).toBe(1000);
    expect(() => encodeItemValue('x'.repeat(997))).toThrow(/at most 1000/);
    expect(() => encodeItemValue(1.5)).toThrow(/safe integer/);
    expect(() => encodeItemValue({ a: null } as never)).toThrow(/null/);
    expect(() => encodeItemValue(new Date() as never)).toThrow();
  });

  it('salts are at most 64 bytes; a string salt is UTF-8', () => {
    expect(checkSalt('é')).toEqual(new Uint8Array([0xc3, 0xa9]));
    expect(checkSalt(undefined)).toHaveLength(0);
    expect(() => checkSalt(new Uint8Array(65))).toThrow(/64/);
  });
});
