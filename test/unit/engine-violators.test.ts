/**
 * Peers that break the wire protocol are banned for `protocolBanMs`, like corrupt senders: a
 * dialed violator is not redialed when discovery hands its address over again, an inbound one
 * is refused by peer id, and once the ban ends the address can be dialed again. One case per
 * kind of violation the issue names (2^31 length prefix, wrong-length bitfield, wrong-length
 * block) and a few more. Virtual time, in-memory pipes.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { BitTorrentEngine } from '../../lib/engine/bittorrent-engine.js';
import type { PeerBan } from '../../lib/engine/engine.js';
import { MemoryStorage } from '../../lib/engine/storage/memory-storage.js';
import type { Address } from '../../lib/net/address.js';
import type { WireStream } from '../../lib/net/stream.js';
import { createTorrentFromBuffer } from '../../lib/torrent/create.js';
import { seededRandom } from '../../lib/util/random.js';
import { pipePair } from '../../lib/wire/memory-stream.js';
import { encodeHandshake, encodeMessage } from '../../lib/wire/messages.js';
import { VirtualTime } from '../support/virtual-time.js';

const KiB = 1024;
const BAN_MS = 60_000;
const info = createTorrentFromBuffer('v.bin', seededRandom(11).bytes(8 * 32 * KiB), 32 * KiB); // 8 pieces
const VIOLATOR: Address = { host: '10.1.1.1', port: 6881 };
const VIOLATOR_ID = new Uint8Array(20).fill(0x42);

const u32 = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];

/** What the violator says after the handshakes; `requested` is the first request it received. */
type Script = (requested: { index: number; begin: number; length: number } | undefined) => Uint8Array[];

interface Case {
  name: string;
  fast: boolean;
  /** Bytes sent right after the handshake. */
  opening: Uint8Array[];
  /** Bytes sent in reply to the first request, if the case waits for one. */
  onRequest?: Script;
}

const CASES: Case[] = [
  { name: 'a 2^31 length prefix', fast: true, opening: [new Uint8Array([0x80, 0, 0, 0, 7])] },
  {
    name: 'a bitfield of the wrong length',
    fast: true,
    opening: [encodeMessage({ type: 'bitfield', bitfield: new Uint8Array(4).fill(0xff) })]
  },
  {
    name: 'a block of the wrong length',
    fast: true,
    opening: [encodeMessage({ type: 'have_all' }), encodeMessage({ type: 'unchoke' })],
    onRequest: (r) => [
      encodeMessage({ type: 'piece', index: r!.index, begin: r!.begin, block: new Uint8Array(r!.length - 1) })
    ]
  },
  {
    name: 'a have with a 2-byte payload',
    fast: true,
    opening: [new Uint8Array([...u32(3), 4, 0, 0])]
  },
  {
    name: 'a have past the last piece',
    fast: true,
    opening: [encodeMessage({ type: 'have_none' }), encodeMessage({ type: 'have', index: 99 })]
  },
  {
    name: 'a BEP 6 message without the fast extension',
    fast: false,
    opening: [encodeMessage({ type: 'have_all' })]
  },
  {
    name: 'an unrequested block (fast extension on)',
    fast: true,
    opening: [encodeMessage({ type: 'piece', index: 0, begin: 0, block: new Uint8Array(16 * KiB) })]
  }
];

/** The violator's end of a pipe: answers the handshake, then follows the case's script. */
function violate(stream: WireStream, c: Case): void {
  let buffered = new Uint8Array(0);
  let handshaken = false;
  let answered = false;
  stream.onData((chunk) => {
    const joined = new Uint8Array(buffered.length + chunk.length);
    joined.set(buffered);
    joined.set(chunk, buffered.length);
    buffered = joined;
    if (!handshaken && buffered.length >= 68) {
      handshaken = true;
      buffered = buffered.subarray(68);
      stream.write(
        encodeHandshake({ infoHash: info.infoHash, peerId: VIOLATOR_ID, fast: c.fast, extended: true })
      );
      for (const b of c.opening) stream.write(b);
    }
    // Messages from the engine: look for its first request (id 6, 13 bytes).
    while (handshaken && buffered.length >= 4) {
      const view = new DataView(buffered.buffer, buffered.byteOffset, buffered.byteLength);
      const length = view.getUint32(0);
      if (buffered.length < 4 + length) break;
      if (length === 13 && buffered[4] === 6 && c.onRequest && !answered) {
        answered = true;
        const r = { index: view.getUint32(5), begin: view.getUint32(9), length: view.getUint32(13) };
        for (const b of c.onRequest(r)) stream.write(b);
      }
      buffered = buffered.subarray(4 + length);
    }
  });
}

const engines: BitTorrentEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.destroy()));
});

async function downloader(time: VirtualTime, c: Case) {
  const dials: Address[] = [];
  const engine = new BitTorrentEngine({
    infoHash: info.infoHash,
    info,
    storage: new MemoryStorage(info),
    clock: time.clock,
    tickMs: 200,
    protocolBanMs: BAN_MS,
    connect: async (to) => {
      dials.push(to);
      const [mine, theirs] = pipePair();
      violate(theirs, c);
      return mine;
    }
  });
  engines.push(engine);
  await engine.start();
  const bans: PeerBan[] = [];
  engine.on('peer-banned', (b) => bans.push(b));
  return { engine, dials, bans };
}

describe('protocol violators are banned for a while, not redialed', () => {
  it.each(CASES.map((c) => [c.name, c] as const))(
    '%s: banned, not redialed, dialable after the ban',
    async (_n, c) => {
      const time = new VirtualTime();
      const { engine, dials, bans } = await downloader(time, c);
      engine.addPeer(VIOLATOR, 'dht');
      await time.until('the ban', () => bans.length > 0, { maxMs: 30_000 });
      expect(bans).toEqual([
        { address: VIOLATOR, peerId: Buffer.from(VIOLATOR_ID).toString('hex'), reason: 'protocol' }
      ]);
      expect(engine.peerCount).toBe(0);
      // Discovery and PEX keep handing the address over: it is not dialed again while banned.
      for (let i = 0; i < 5; i++) {
        engine.addPeer(VIOLATOR, i % 2 ? 'pex' : 'dht');
        await time.run(BAN_MS / 6, 1_000);
      }
      expect(dials).toHaveLength(1);
      // The ban ends: the address may be tried again.
      await time.run(BAN_MS / 6, 1_000);
      engine.addPeer(VIOLATOR, 'dht');
      await time.until('a second dial', () => dials.length === 2, { maxMs: 10_000 });
    }
  );

  it('an inbound violator is refused by peer id when it comes back from another port', async () => {
    const time = new VirtualTime();
    const c = CASES[0]!;
    const { engine, bans } = await downloader(time, c);
    const inbound = (port: number): Promise<void> => {
      const [mine, theirs] = pipePair();
      const closed = new Promise<void>((resolve) => mine.onClose(resolve));
      let got = 0;
      mine.onData((chunk) => (got += chunk.length));
      engine.acceptConnection(theirs, { host: '10.2.2.2', port });
      mine.write(
        encodeHandshake({ infoHash: info.infoHash, peerId: VIOLATOR_ID, fast: true, extended: true })
      );
      if (port === 40_001) mine.write(c.opening[0]!);
      return closed;
    };
    await time.settle(inbound(40_001));
    expect(bans.map((b) => b.reason)).toEqual(['protocol']);
    await time.settle(inbound(40_002)); // same peer id, sends nothing wrong: still closed
    expect(engine.peerCount).toBe(0);
  });

  it('a peer that breaks no rule is not banned', async () => {
    const time = new VirtualTime();
    const polite: Case = { name: 'polite', fast: true, opening: [encodeMessage({ type: 'have_none' })] };
    const { engine, dials, bans } = await downloader(time, polite);
    engine.addPeer(VIOLATOR, 'dht');
    await time.until('connected', () => engine.peerCount === 1, { maxMs: 10_000 });
    await time.run(1_000);
    expect(bans).toEqual([]);
    expect(dials).toHaveLength(1);
  });
});
