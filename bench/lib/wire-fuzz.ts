/**
 * Seeded fuzzing of the peer wire as an attacker reaches it: byte streams sent to an engine's
 * inbound path (the framer, PeerWire, BEP 6 / BEP 10 messages, ut_metadata, ut_pex, then the
 * torrent's policies) and Message Stream Encryption handshakes whose initiator bytes are
 * mutated on the way to our responder. Streams are valid ones of every kind, mutated: bit
 * flips, cuts, duplicated slices, rewritten length prefixes (2^31 among them), random chunking.
 * Cheap enough for a million cases (scripts/fuzz-wire.ts); the CI test runs a few thousand
 * (test/unit/fuzz-wire.test.ts). Deterministic for a seed, so a failure replays.
 */
import bencode from 'bencode';
import { BitTorrentEngine } from '../../lib/engine/bittorrent-engine.js';
import { MemoryStorage } from '../../lib/engine/storage/memory-storage.js';
import type { WireStream } from '../../lib/net/stream.js';
import { createTorrentFromBuffer } from '../../lib/torrent/create.js';
import type { TorrentInfo } from '../../lib/torrent/metainfo.js';
import { FakeClock } from '../../test/support/fake-clock.js';
import { seededRandom, type RandomSource } from '../../lib/util/random.js';
import { pipePair } from '../../lib/wire/memory-stream.js';
import { encodeHandshake, encodeMessage, type WireMessage } from '../../lib/wire/messages.js';
import { mseInitiate, mseRespond } from '../../lib/wire/mse.js';
import { mseReq2 } from '../../lib/wire/mse-crypto.js';

const KiB = 1024;

const pick = <T>(rnd: RandomSource, xs: readonly T[]): T => xs[rnd.int(xs.length)]!;
const chance = (rnd: RandomSource, p: number): boolean => rnd.int(1_000_000) < p * 1_000_000;
const u32 = (rnd: RandomSource): number =>
  pick(rnd, [0, 1, 7, 0x3fff, 0x4000, 0x4001, 2 ** 31, 2 ** 32 - 1, rnd.int(2 ** 31)]);
/** Random-looking bytes: random up to 64 bytes, a fill beyond (the content of a big payload does not matter, its length does; the seeded generator is the fuzzer's main cost). */
const blob = (rnd: RandomSource, n: number): Uint8Array =>
  n <= 64 ? rnd.bytes(n) : Buffer.alloc(n, rnd.int(256));
const enc = (v: unknown): Uint8Array => bencode.encode(v as never);

/** A bencoded ut_metadata message (BEP 9), sometimes with trailing data. */
function utMetadata(rnd: RandomSource, info: TorrentInfo): Uint8Array {
  const d: Record<string, unknown> = {
    msg_type: rnd.int(5),
    piece: pick(rnd, [0, 1, rnd.int(100), -1, 2 ** 40])
  };
  if (chance(rnd, 0.5)) d.total_size = pick(rnd, [info.infoBytes.length, 0, rnd.int(2 ** 24), -5]);
  if (chance(rnd, 0.1)) d[pick(rnd, ['x', '__proto__', 'msg_type'])] = rnd.bytes(rnd.int(8));
  const head = enc(d);
  const tail = chance(rnd, 0.6)
    ? blob(rnd, pick(rnd, [0, 1, 100, 16 * KiB, 16 * KiB + 1]))
    : new Uint8Array(0);
  return Buffer.concat([head, tail]);
}

/** A bencoded ut_pex message (BEP 11): compact peers of right and wrong lengths. */
function utPex(rnd: RandomSource): Uint8Array {
  const d: Record<string, unknown> = {};
  for (const k of ['added', 'added.f', 'dropped', 'added6', 'added6.f', 'dropped6'])
    if (chance(rnd, 0.5)) d[k] = blob(rnd, pick(rnd, [0, 6, 12, 18, 5, 7, 18 * 60, 6 * 200, rnd.int(4000)]));
  if (chance(rnd, 0.1)) d.added = pick(rnd, [1, 'x', [1, 2], { a: 1 }]);
  return enc(d);
}

/** A BEP 10 extended handshake with random (sometimes wrong) fields. */
function extHandshake(rnd: RandomSource, info: TorrentInfo): Uint8Array {
  const m: Record<string, unknown> = {};
  if (chance(rnd, 0.9)) m.ut_metadata = pick(rnd, [1, 2, 3, 0, 255, 256, -1]);
  if (chance(rnd, 0.9)) m.ut_pex = pick(rnd, [1, 2, 3, 0, 255]);
  if (chance(rnd, 0.1)) m.__proto__x = 4;
  const d: Record<string, unknown> = { m: chance(rnd, 0.95) ? m : 'not a dict' };
  if (chance(rnd, 0.8))
    d.metadata_size = pick(rnd, [info.infoBytes.length, 0, 1, 2 ** 31, -1, rnd.int(2 ** 26)]);
  if (chance(rnd, 0.5)) d.p = pick(rnd, [6881, 0, 65536, -1]);
  if (chance(rnd, 0.3)) d.reqq = pick(rnd, [1, 250, 2 ** 31, -3]);
  if (chance(rnd, 0.3)) d.v = rnd.bytes(rnd.int(64));
  if (chance(rnd, 0.2)) d.yourip = blob(rnd, pick(rnd, [4, 16, 3]));
  return enc(d);
}

/** One message, valid in form, with fields anywhere in their range (and past it). */
function message(rnd: RandomSource, info: TorrentInfo): Uint8Array {
  const index = pick(rnd, [0, 1, info.pieceCount - 1, info.pieceCount, rnd.int(info.pieceCount), u32(rnd)]);
  const block = {
    index,
    begin: pick(rnd, [0, 16 * KiB, rnd.int(info.pieceLength), u32(rnd)]),
    length: pick(rnd, [16 * KiB, 1, 0, 16 * KiB + 1, 128 * KiB + 1, u32(rnd)])
  };
  const bitfieldBytes = Math.ceil(info.pieceCount / 8);
  const messages: (() => WireMessage)[] = [
    () => ({ type: 'keep_alive' }),
    () => ({
      type: pick(rnd, ['choke', 'unchoke', 'interested', 'not_interested', 'have_all', 'have_none'] as const)
    }),
    () => ({ type: 'have', index }),
    () => ({
      type: 'bitfield',
      bitfield: blob(rnd, pick(rnd, [bitfieldBytes, bitfieldBytes, 0, bitfieldBytes + 1, rnd.int(300)]))
    }),
    () => ({ type: pick(rnd, ['request', 'cancel', 'reject'] as const), ...block }),
    () => ({
      type: 'piece',
      index,
      begin: block.begin,
      block: blob(rnd, pick(rnd, [16 * KiB, 1, 0, rnd.int(20 * KiB)]))
    }),
    () => ({ type: 'port', port: rnd.int(65536) }),
    () => ({ type: pick(rnd, ['suggest', 'allowed_fast'] as const), index }),
    () => ({ type: 'extended', extId: 0, payload: extHandshake(rnd, info) }),
    () => ({ type: 'extended', extId: rnd.int(4), payload: utMetadata(rnd, info) }),
    () => ({ type: 'extended', extId: rnd.int(4), payload: utPex(rnd) }),
    () => ({ type: 'extended', extId: rnd.int(256), payload: rnd.bytes(rnd.int(200)) }),
    () => ({ type: 'unknown', id: 21 + rnd.int(235), payload: rnd.bytes(rnd.int(64)) })
  ];
  return encodeMessage(pick(rnd, messages)());
}

/** A whole inbound byte stream: a handshake (usually for our torrent) and some messages, mutated. */
export function fuzzStream(rnd: RandomSource, info: TorrentInfo): Uint8Array {
  const parts: Uint8Array[] = [];
  if (chance(rnd, 0.97))
    parts.push(
      encodeHandshake({
        infoHash: chance(rnd, 0.95) ? info.infoHash : rnd.bytes(20),
        peerId: rnd.bytes(20),
        fast: chance(rnd, 0.7),
        extended: chance(rnd, 0.8)
      })
    );
  if (chance(rnd, 0.6))
    parts.push(encodeMessage({ type: 'extended', extId: 0, payload: extHandshake(rnd, info) }));
  const n = 1 + rnd.int(12);
  for (let i = 0; i < n; i++) parts.push(chance(rnd, 0.03) ? rnd.bytes(rnd.int(100)) : message(rnd, info));
  return mutate(rnd, Buffer.concat(parts));
}

/** Mutations a broken or hostile peer might produce. */
export function mutate(rnd: RandomSource, input: Uint8Array): Uint8Array {
  let b = Buffer.from(input);
  const rounds = chance(rnd, 0.4) ? 0 : 1 + rnd.int(3);
  for (let r = 0; r < rounds && b.length > 0; r++) {
    switch (rnd.int(5)) {
      case 0: // bit flips
        for (let i = 0, k = 1 + rnd.int(4); i < k; i++) b[rnd.int(b.length)]! ^= 1 << rnd.int(8);
        break;
      case 1: // cut
        b = b.subarray(0, rnd.int(b.length));
        break;
      case 2: {
        // duplicate a slice
        const at = rnd.int(b.length);
        const slice = b.subarray(at, at + rnd.int(200));
        b = Buffer.concat([b.subarray(0, at), slice, slice, b.subarray(at + slice.length)]);
        break;
      }
      case 3: {
        // rewrite a 4-byte length prefix somewhere after the handshake
        if (b.length < 72) break;
        const at = 68 + rnd.int(b.length - 71);
        b.writeUInt32BE(u32(rnd), at);
        break;
      }
      default:
        {
          // random bytes inserted
          const at = rnd.int(b.length);
          b = Buffer.concat([b.subarray(0, at), rnd.bytes(1 + rnd.int(32)), b.subarray(at)]);
        }
        break;
    }
  }
  return b;
}

export interface WireFuzzResult {
  cases: number;
  /** Connections the engines closed by themselves (protocol errors, bans, refusals). */
  closedByEngine: number;
  /** Errors thrown out of a write into the engine (should be none). */
  thrown: string[];
  /** Peers the engines still held after the last case was closed (should be 0). */
  peersLeft: number;
  bannedEvents: number;
}

export interface WireFuzzOptions {
  seed: number;
  cases: number;
  /** Connections fed at once before time moves on. */
  batch?: number;
  /** Called every `sampleEvery` cases (memory sampling). */
  onSample?: (done: number) => void;
  sampleEvery?: number;
}

/**
 * Feed `cases` fuzzed inbound streams, alternately to a seeding engine (the metadata and every
 * piece: requests are served) and to an engine that has only the infohash (ut_metadata is
 * live). Each stream arrives in random chunks from its own address; then the connection is
 * closed from our side if the engine has not closed it.
 */
export async function fuzzEngines(o: WireFuzzOptions): Promise<WireFuzzResult> {
  const rnd = seededRandom(o.seed);
  const data = seededRandom(o.seed + 1).bytes(20 * 32 * KiB + 123);
  const info = createTorrentFromBuffer('fuzz.bin', data, 32 * KiB);
  const clock = new FakeClock();
  const common = {
    clock,
    tickMs: 500,
    maxConnections: 500,
    connect: () => Promise.reject(new Error('no dials'))
  };
  const seeder = new BitTorrentEngine({
    ...common,
    infoHash: info.infoHash,
    info,
    storage: MemoryStorage.fromData(info, data),
    existing: 'complete',
    seed: true
  });
  const magnet = new BitTorrentEngine({
    ...common,
    infoHash: info.infoHash,
    storage: (i) => new MemoryStorage(i)
  });
  await seeder.start();
  await magnet.start();
  const result: WireFuzzResult = { cases: 0, closedByEngine: 0, thrown: [], peersLeft: 0, bannedEvents: 0 };
  for (const e of [seeder, magnet]) e.on('peer-banned', () => result.bannedEvents++);
  const batch = o.batch ?? 50;
  const turns = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      clock.advance(5);
    }
  };
  try {
    while (result.cases < o.cases) {
      const open: WireStream[] = [];
      for (let i = 0; i < batch && result.cases < o.cases; i++, result.cases++) {
        const [mine, theirs] = pipePair();
        let closed = false;
        mine.onClose(() => (closed = true));
        mine.onData(() => {});
        const engine = result.cases % 2 ? magnet : seeder;
        const n = result.cases;
        engine.acceptConnection(theirs, {
          host: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
          port: 1 + (n % 65535)
        });
        const bytes = fuzzStream(rnd, info);
        try {
          for (let at = 0; at < bytes.length && !closed;) {
            const len = 1 + rnd.int(chance(rnd, 0.5) ? 16 : bytes.length);
            mine.write(bytes.subarray(at, at + len));
            at += len;
          }
        } catch (err) {
          result.thrown.push(`case ${n}: ${String(err)}`);
        }
        open.push(Object.assign(mine, { wasClosed: () => closed }));
      }
      await turns(4);
      for (const s of open) {
        if ((s as WireStream & { wasClosed(): boolean }).wasClosed()) result.closedByEngine++;
        else s.close();
      }
      await turns(2);
      if (o.onSample && o.sampleEvery && result.cases % o.sampleEvery < batch) o.onSample(result.cases);
    }
    await turns(10);
    result.peersLeft = seeder.peerCount + magnet.peerCount;
  } finally {
    await seeder.destroy();
    await magnet.destroy();
  }
  return result;
}

export interface MseFuzzResult {
  cases: number;
  /** Responder outcomes: a stream (the mutation spared the handshake) or a rejection. */
  accepted: number;
  rejected: number;
  /** Responders that neither resolved nor rejected by the end (should be 0). */
  unsettled: number;
}

/**
 * MSE: a real initiator talks to our responder through a pipe that mutates the initiator's
 * bytes (Ya, padding, the req1/req2 hashes, VC, crypto_provide, IA, ...). The responder must
 * settle every time (a stream, or a rejection at the latest at its timeout).
 */
export async function fuzzMse(seed: number, cases: number): Promise<MseFuzzResult> {
  const rnd = seededRandom(seed);
  const infoHash = seededRandom(seed + 1).bytes(20);
  const clock = new FakeClock();
  const r: MseFuzzResult = { cases: 0, accepted: 0, rejected: 0, unsettled: 0 };
  const req2 = Buffer.from(mseReq2(infoHash)).toString('hex');
  for (; r.cases < cases; r.cases++) {
    const [a, b] = pipePair();
    // Mutate what the initiator writes, from a random byte offset on.
    const start = rnd.int(700);
    let sent = 0;
    const write = a.write.bind(a);
    a.write = (chunk: Uint8Array): boolean => {
      const from = Math.max(0, start - sent);
      sent += chunk.length;
      if (from >= chunk.length || !chance(rnd, 0.8)) return write(chunk);
      return write(Buffer.concat([chunk.subarray(0, from), mutate(rnd, chunk.subarray(from))]));
    };
    let outcome: 'accepted' | 'rejected' | undefined;
    mseRespond(b, {
      findSkey: (x) => (Buffer.from(x).toString('hex') === req2 ? infoHash : undefined),
      policy: pick(rnd, ['enabled', 'required', 'preferred'] as const),
      timeoutMs: 5_000,
      clock
    }).then(
      (res) => {
        outcome = 'accepted';
        res.stream.close();
      },
      () => (outcome = 'rejected')
    );
    mseInitiate(a, { infoHash, provide: 1 + rnd.int(3), timeoutMs: 5_000, clock }).then(
      (res) => res.stream.close(),
      () => {}
    );
    for (let i = 0; i < 40 && outcome === undefined; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (i >= 20) clock.advance(500);
    }
    if (outcome === 'accepted') r.accepted++;
    else if (outcome === 'rejected') r.rejected++;
    else r.unsettled++;
    a.close();
    b.close();
  }
  return r;
}
