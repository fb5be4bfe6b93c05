/**
 * A Swarm (the built-in engine, uTP on its TCP port number, no DHT) as a child process driven by
 * JSON lines, for the BEP 55 swarm test (test/netns/holepunch-swarm.test.ts runs it with `ip
 * netns exec`). Every role knows the torrent: `--bytes` of a pattern derived from a fixed name,
 * in 16 KiB pieces. Closing stdin ends the process.
 *
 *   seed  --host H --relay H:P    holds the data; dials the relay. [--no-pex]: no ut_pex.
 *   leech --host H --relay H:P    holds nothing; dials the relay; {event:'done', sha1} when
 *                                 complete (the peers it heard of come from the relay's PEX).
 *   relay --host H                holds nothing and fetches at 1 byte/s: it introduces its
 *                                 peers to each other (PEX) and relays their rendezvous.
 *
 * Every role prints {event:'ready', port} once listening; stdin `stats` answers {event:'stats',
 * holepunch, peers: [{address, transport, outgoing}], uploaded, downloaded}.
 */
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { BitTorrentEngine } from '../lib/engine/bittorrent-engine.js';
import { MemoryStorage } from '../lib/engine/storage/memory-storage.js';
import { formatAddress, parseHostPort } from '../lib/net/address.js';
import { Swarm } from '../lib/swarm/swarm.js';
import { createTorrentFromBuffer } from '../lib/torrent/create.js';
import { argvReader } from './lib/argv.js';

const emit = (event: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
};

function pattern(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let block = createHash('sha256').update('trackerless holepunch swarm').digest();
  for (let pos = 0; pos < bytes; pos += block.length) {
    block.copy(out, pos);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

async function main(): Promise<void> {
  const { value, num, flag } = argvReader(process.argv.slice(2));
  const role = value('role') ?? '';
  if (!['seed', 'leech', 'relay'].includes(role)) throw new Error(`unknown role ${role}`);
  const data = pattern(num('bytes', 1 << 20));
  const info = createTorrentFromBuffer('holepunch.bin', data, 16 * 1024);
  const storage = role === 'seed' ? MemoryStorage.fromData(info, data) : new MemoryStorage(info);
  const swarm = await Swarm.create({
    torrent: info,
    storage,
    existing: role === 'seed' ? 'complete' : 'none',
    seed: true,
    noDht: true,
    lsd: false,
    listen: { host: value('host') ?? '127.0.0.1', port: 0 },
    ...(role === 'relay' ? { downloadLimit: 1 } : {}),
    // A dial into a NAT dies silently: give up on each transport after 3 s.
    engineOptions: { connectTimeoutMs: 3_000, tickMs: 250, ...(flag('no-pex') ? { pex: false } : {}) }
  });
  const engine = swarm.engine as BitTorrentEngine;
  const relay = value('relay');
  if (relay) swarm.addPeer(parseHostPort(relay));
  if (role === 'leech') {
    swarm.done().then(
      async () => {
        const pieces = await Promise.all(
          Array.from({ length: info.pieceCount }, (_, i) => storage.readPiece(i))
        );
        const hash = createHash('sha1');
        for (const piece of pieces) hash.update(piece);
        emit('done', { sha1: hash.digest('hex') });
      },
      (err: Error) => emit('fatal', { message: err.message })
    );
  }
  createInterface({ input: process.stdin })
    .on('line', (line) => {
      if (line.trim() !== 'stats') return;
      const p = swarm.progress();
      emit('stats', {
        holepunch: engine.holepunchStats,
        peers: engine.peerStatus().map((s) => ({
          address: formatAddress(s.address),
          transport: s.transport,
          outgoing: s.outgoing
        })),
        uploaded: p.uploaded,
        downloaded: p.downloaded
      });
    })
    .on('close', () => {
      void swarm.destroy().finally(() => process.exit(0));
    });
  emit('ready', { port: swarm.port, sha1: createHash('sha1').update(data).digest('hex') });
}

main().catch((err: unknown) => {
  emit('fatal', { message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
