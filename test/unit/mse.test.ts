/**
 * Message Stream Encryption: RC4 against RFC 6229, DH agreement, and the handshake over
 * in-memory pipes (both roles, RC4 and plaintext, IA, fragmented input, malformed input).
 */
import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { pipePair } from '../../lib/wire/memory-stream.js';
import { encodeHandshake } from '../../lib/wire/messages.js';
import {
  CRYPTO_PLAINTEXT,
  CRYPTO_RC4,
  mseInitiate,
  mseRespond,
  selectCrypto,
  type EncryptionPolicy,
  type MseResult
} from '../../lib/wire/mse.js';
import { MSE_PRIME, dhKeys, dhSecret, mseCipher, mseReq2, sha1 } from '../../lib/wire/mse-crypto.js';
import { ProtocolError } from '../../lib/wire/errors.js';
import { Rc4 } from '../../lib/wire/rc4.js';
import { collect, until } from '../support/stream-collect.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ihA = new Uint8Array(20).fill(0xa1);
const ihB = new Uint8Array(20).fill(0xb2);
const peerId = new Uint8Array(20).fill(0x33);

const findSkey = (req2: Uint8Array): Uint8Array | undefined =>
  [ihA, ihB].find((ih) => hex(mseReq2(ih)) === hex(req2));

describe('RC4', () => {
  it('matches RFC 6229 (offsets 0, 16 and 1024)', () => {
    const ks = (key: string): Uint8Array => new Rc4(Buffer.from(key, 'hex')).process(new Uint8Array(1056));
    const k40 = ks('0102030405');
    expect(hex(k40.subarray(0, 32))).toBe('b2396305f03dc027ccc3524a0a1118a86982944f18fc82d589c403a47a0d0919');
    expect(hex(k40.subarray(1024, 1056))).toBe(
      '30abbcc7c20b01609f23ee2d5f6bb7df73262dec31a8a8ff5f9f977001c90b72'
    );
    const k128 = ks('0102030405060708090a0b0c0d0e0f10');
    expect(hex(k128.subarray(0, 16))).toBe('9ac7cc9a609d1ef7b2932899cde41b97');
    expect(hex(k128.subarray(1024, 1040))).toBe('bdf0324e6083dcc6d3cedd3ca8c53c16');
  });

  it('is a stream: discard, split processing and out-of-place output agree', () => {
    const whole = new Rc4(Buffer.from('Secret')).process(Buffer.from('Attack at dawn'));
    expect(hex(whole)).toBe('45a01f645fc35b383552544b9bf5');
    const r = new Rc4(Buffer.from('0102030405', 'hex'));
    r.discard(1024);
    const out = new Uint8Array(20);
    r.process(new Uint8Array(7), out, 0);
    r.process(new Uint8Array(13), out, 7);
    expect(hex(out.subarray(0, 16))).toBe('30abbcc7c20b01609f23ee2d5f6bb7df');
    expect(() => new Rc4(new Uint8Array(0))).toThrow(RangeError);
  });
});

describe('Diffie-Hellman', () => {
  it('both sides derive the same 96-byte secret; degenerate keys are refused', () => {
    const a = dhKeys();
    const b = dhKeys();
    expect(a.publicKey).toHaveLength(96);
    const s1 = dhSecret(a, b.publicKey)!;
    expect(s1).toHaveLength(96);
    expect(hex(s1)).toBe(hex(dhSecret(b, a.publicKey)!));
    const p1 = Buffer.from((MSE_PRIME - 1n).toString(16), 'hex');
    for (const bad of [new Uint8Array(96), Uint8Array.of(1), p1, new Uint8Array(96).fill(0xff)])
      expect(dhSecret(a, bad)).toBeUndefined();
  });

  it('selects the method by policy', () => {
    const cases: [EncryptionPolicy, number, number][] = [
      ['enabled', 3, CRYPTO_PLAINTEXT],
      ['enabled', 2, CRYPTO_RC4],
      ['preferred', 3, CRYPTO_RC4],
      ['preferred', 1, CRYPTO_PLAINTEXT],
      ['required', 1, 0],
      ['required', 3, CRYPTO_RC4],
      ['disabled', 2, 0],
      ['enabled', 0xf0, 0]
    ];
    for (const [policy, provide, select] of cases)
      expect({ policy, provide, select: selectCrypto(provide, policy) }).toEqual({ policy, provide, select });
  });
});

async function handshake(
  provide: number,
  policy: EncryptionPolicy = 'enabled',
  infoHash = ihB
): Promise<[MseResult, MseResult]> {
  const [a, b] = pipePair();
  return Promise.all([mseInitiate(a, { infoHash, provide }), mseRespond(b, { findSkey, policy })]);
}

describe('MSE handshake over a pipe', () => {
  it.each([
    [CRYPTO_RC4, 'enabled', 'rc4'],
    [CRYPTO_RC4 | CRYPTO_PLAINTEXT, 'enabled', 'plaintext'],
    [CRYPTO_RC4 | CRYPTO_PLAINTEXT, 'preferred', 'rc4'],
    [CRYPTO_PLAINTEXT, 'enabled', 'plaintext']
  ] as const)('provide %i, responder %s -> %s; data flows both ways', async (provide, policy, method) => {
    const [init, resp] = await handshake(provide, policy);
    expect(init.method).toBe(method);
    expect(resp.method).toBe(method);
    expect(hex(resp.infoHash)).toBe(hex(ihB));
    const big = randomBytes(300_000);
    const atResp = collect(resp.stream);
    const atInit = collect(init.stream);
    init.stream.write(encodeHandshake({ infoHash: ihB, peerId }));
    init.stream.writev!([big.subarray(0, 1000), big.subarray(1000)]);
    resp.stream.write(Buffer.from('hello'));
    const expected = Buffer.concat([encodeHandshake({ infoHash: ihB, peerId }), big]);
    await until(() => atResp.bytes().length >= expected.length && atInit.bytes().length >= 5);
    expect(atResp.bytes().equals(expected)).toBe(true);
    expect(atInit.bytes().toString()).toBe('hello');
  });

  it('the caller’s buffers are not encrypted in place', async () => {
    const [init, resp] = await handshake(CRYPTO_RC4);
    const got = collect(resp.stream);
    const data = Buffer.from('do not touch me');
    init.stream.write(data);
    await until(() => got.bytes().length === data.length);
    expect(data.toString()).toBe('do not touch me');
  });

  it('an unknown torrent (SKEY) closes the connection on both sides', async () => {
    const [a, b] = pipePair();
    const other = new Uint8Array(20).fill(0xcc);
    const results = await Promise.allSettled([
      mseInitiate(a, { infoHash: other }),
      mseRespond(b, { findSkey })
    ]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ProtocolError);
    }
    expect(String((results[1] as PromiseRejectedResult).reason.message)).toMatch(/unknown torrent/);
  });

  it('a required responder refuses plaintext-only; a plaintext-only initiator gets RC4 refused', async () => {
    await expect(handshake(CRYPTO_PLAINTEXT, 'required')).rejects.toThrow(/no acceptable method|closed/);
    await expect(handshake(CRYPTO_RC4, 'disabled')).rejects.toThrow(/no acceptable method|closed/);
  });

  it('garbage is refused once the sync window (Ya + 512 + 20 bytes) is passed', async () => {
    const [a, b] = pipePair();
    const res = mseRespond(b, { findSkey });
    const peer = collect(a);
    a.write(Buffer.alloc(96 + 532, 'x'));
    await expect(res).rejects.toThrow(/no req1 hash/);
    await until(() => peer.closed());
    expect(peer.bytes().length).toBeGreaterThanOrEqual(96); // Yb was sent before the sync failed
  });

  it('times out when the peer stalls', async () => {
    const [, b] = pipePair();
    await expect(mseRespond(b, { findSkey, timeoutMs: 30 })).rejects.toThrow(/timed out/);
  });

  it('the initiator refuses a responder that never sends its VC, and aborts on signal', async () => {
    const [a, b] = pipePair();
    const res = mseInitiate(a, { infoHash: ihA });
    b.onData(() => {});
    b.write(Buffer.concat([dhKeys().publicKey, Buffer.alloc(600, 7)]));
    await expect(res).rejects.toThrow(/no VC/);
    const [c] = pipePair();
    const controller = new AbortController();
    const pending = mseInitiate(c, { infoHash: ihA, signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toThrow(/aborted/);
  });
});

/**
 * A scripted initiator (what libtorrent does): PadA, PadC, and the BitTorrent handshake as IA,
 * written one byte at a time.
 */
async function scripted(o: {
  padC?: number;
  provide?: number;
  vc?: number;
  ia?: Uint8Array;
  chunk?: number;
}): Promise<{ res: Promise<MseResult>; peer: ReturnType<typeof collect>; secret: Promise<Uint8Array> }> {
  const [a, b] = pipePair();
  const res = mseRespond(b, { findSkey });
  const peer = collect(a);
  const keys = dhKeys();
  const send = async (bytes: Uint8Array): Promise<void> => {
    const step = o.chunk ?? 1;
    for (let i = 0; i < bytes.length; i += step) {
      a.write(Uint8Array.from(bytes.subarray(i, i + step)));
      if (i % 64 === 0) await new Promise((r) => setImmediate(r));
    }
  };
  const secret = (async () => {
    await send(Buffer.concat([keys.publicKey, randomBytes(300)]));
    await until(() => peer.bytes().length >= 96);
    const s = dhSecret(keys, peer.bytes().subarray(0, 96))!;
    const enc = mseCipher('keyA', s, ihA);
    const req2 = Uint8Array.from(mseReq2(ihA));
    const req3 = sha1('req3', s);
    for (let i = 0; i < 20; i++) req2[i]! ^= req3[i]!;
    const padC = o.padC ?? 17;
    const ia = o.ia ?? new Uint8Array(0);
    const vc = new Uint8Array(8);
    vc[7] = o.vc ?? 0;
    const plain = Buffer.concat([
      vc,
      Buffer.from([0, 0, 0, o.provide ?? CRYPTO_RC4, padC >> 8, padC & 255]),
      new Uint8Array(Math.min(padC, 600)),
      Buffer.from([ia.length >> 8, ia.length & 255]),
      ia
    ]);
    await send(Buffer.concat([sha1('req1', s), req2, enc.process(plain)]));
    return s;
  })();
  secret.catch(() => {});
  return { res, peer, secret };
}

describe('MSE responder against a scripted initiator', () => {
  it('reads PadA, PadC and the IA (the BitTorrent handshake) from 1-byte writes', async () => {
    const hs = encodeHandshake({ infoHash: ihA, peerId });
    const { res, peer, secret } = await scripted({ ia: hs, padC: 40 });
    const r = await res;
    expect(r.method).toBe('rc4');
    expect(hex(r.infoHash)).toBe(hex(ihA));
    const got = collect(r.stream);
    await until(() => got.bytes().length >= hs.length);
    expect(got.bytes().equals(Buffer.from(hs))).toBe(true);
    // Our answer: Yb, PadB, then ENCRYPT(VC, crypto_select = RC4, len(PadD) = 0).
    const s = await secret;
    r.stream.write(Buffer.from('ok'));
    await until(() => peer.bytes().length >= 96 + 14 + 2 && peer.bytes());
    const dec = mseCipher('keyB', s, ihA);
    const vc = dec.process(new Uint8Array(8));
    const at = peer.bytes().indexOf(Buffer.from(vc), 96);
    expect(at).toBeGreaterThanOrEqual(96);
    expect(at).toBeLessThanOrEqual(96 + 512);
    await until(() => peer.bytes().length >= at + 8 + 6 + 2);
    const rest = dec.process(Uint8Array.from(peer.bytes().subarray(at + 8, at + 16)));
    expect([...rest]).toEqual([0, 0, 0, 2, 0, 0, 0x6f, 0x6b]);
  });

  it('a 60 000-byte IA in 1-byte writes is collected without quadratic copying', async () => {
    // Counted in bytes, not timed: joining the buffered chunks on every 1-byte write copies
    // ~1.8 GB here yet took under a second, well inside any wall-clock budget a loaded machine
    // allows. The handshake joins its chunks with Buffer.concat: what it copies must stay
    // linear in what it received.
    const ia = randomBytes(60_000);
    // Ya, PadA, req1 and req2, VC, crypto_provide and len(PadC), PadC, len(IA), IA.
    const received = 96 + 300 + 40 + 8 + 6 + 17 + 2 + ia.length;
    let copied = 0;
    const realConcat = Buffer.concat;
    Buffer.concat = (list, length) => {
      const out = realConcat(list, length);
      const depth = Error.stackTraceLimit;
      Error.stackTraceLimit = 2; // its caller is the next frame: keep the check cheap
      const stack = new Error().stack ?? '';
      Error.stackTraceLimit = depth;
      if (stack.includes('/lib/wire/mse.')) copied += out.length;
      return out;
    };
    try {
      const { res } = await scripted({ ia });
      const r = await res;
      const got = collect(r.stream);
      await until(() => got.bytes().length >= ia.length);
      expect(got.bytes().equals(ia)).toBe(true);
    } finally {
      Buffer.concat = realConcat;
    }
    expect(copied).toBeGreaterThanOrEqual(ia.length); // the count sees the handshake's joins
    expect(copied).toBeLessThan(3 * received);
  });

  it.each([
    [{ padC: 513 }, /PadC of 513/],
    [{ vc: 1 }, /bad VC/],
    [{ provide: 0x10 }, /no acceptable method/]
  ] as const)('refuses %j', async (o, message) => {
    const { res, peer } = await scripted({ ...o, chunk: 50 });
    await expect(res).rejects.toThrow(message);
    await until(() => peer.closed());
  });
});
