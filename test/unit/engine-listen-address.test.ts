/**
 * An incoming peer names its listen port in its BEP 10 extended handshake; the engine holds
 * that address (no dial to it while the session lives) and must release it when the session
 * ends, whatever later extended handshakes said. The wire fuzzer found sessions whose second
 * extended handshake dropped `p`: their first address stayed held for the engine's lifetime,
 * so it was never dialed again and the set of held addresses grew with every such peer.
 * Virtual time, in-memory pipes.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import bencode from 'bencode';
import { BitTorrentEngine } from '../../lib/engine/bittorrent-engine.js';
import { MemoryStorage } from '../../lib/engine/storage/memory-storage.js';
import type { Address } from '../../lib/net/address.js';
import { createTorrentFromBuffer } from '../../lib/torrent/create.js';
import { seededRandom } from '../../lib/util/random.js';
import { pipePair } from '../../lib/wire/memory-stream.js';
import { encodeHandshake, encodeMessage } from '../../lib/wire/messages.js';
import { VirtualTime } from '../support/virtual-time.js';

const KiB = 1024;
const info = createTorrentFromBuffer('l.bin', seededRandom(12).bytes(4 * 32 * KiB), 32 * KiB);
const PEER_HOST = '10.3.3.3';
const LISTEN_PORT = 6881;

const extendedHandshake = (dict: Record<string, unknown>): Uint8Array =>
  encodeMessage({ type: 'extended', extId: 0, payload: bencode.encode(dict) });

const engines: BitTorrentEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.destroy()));
});

describe("an incoming peer's listen address", () => {
  it.each([
    ['names it once', [{ m: {}, p: LISTEN_PORT }]],
    ['names it, then sends an extended handshake without p', [{ m: {}, p: LISTEN_PORT }, { m: {} }]],
    [
      'names it, then another port',
      [
        { m: {}, p: LISTEN_PORT },
        { m: {}, p: 7000 }
      ]
    ]
  ])('%s: released when the session ends, so the address can be dialed', async (_name, handshakes) => {
    const time = new VirtualTime();
    const dials: Address[] = [];
    const engine = new BitTorrentEngine({
      infoHash: info.infoHash,
      info,
      storage: new MemoryStorage(info),
      clock: time.clock,
      tickMs: 200,
      connect: async (to) => {
        dials.push(to);
        throw new Error('unreachable');
      }
    });
    engines.push(engine);
    await engine.start();
    const [mine, theirs] = pipePair();
    const closed = new Promise<void>((resolve) => mine.onClose(resolve));
    mine.onData(() => {});
    engine.acceptConnection(theirs, { host: PEER_HOST, port: 40_001 });
    mine.write(
      encodeHandshake({
        infoHash: info.infoHash,
        peerId: new Uint8Array(20).fill(7),
        fast: true,
        extended: true
      })
    );
    for (const h of handshakes) mine.write(extendedHandshake(h));
    await time.until('connected', () => engine.peerCount === 1, { maxMs: 5_000 });
    // While the session lives, discovery handing the address over does not dial it.
    engine.addPeer({ host: PEER_HOST, port: LISTEN_PORT }, 'dht');
    await time.run(2_000);
    expect(dials).toEqual([]);
    mine.close();
    await time.settle(closed);
    await time.until('no peers', () => engine.peerCount === 0, { maxMs: 5_000 });
    engine.addPeer({ host: PEER_HOST, port: LISTEN_PORT }, 'dht');
    await time.until(
      'a dial to the released address',
      () => dials.some((d) => d.host === PEER_HOST && d.port === LISTEN_PORT),
      { maxMs: 120_000 }
    );
  });
});
