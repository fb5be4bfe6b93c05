/**
 * BEP 55 holepunching roles as child processes driven by JSON lines, for the namespace test
 * (test/netns/holepunch.test.ts runs them with `ip netns exec`): a public relay and peers
 * behind NATs, all over uTP on one UDP socket each, the relay connections speaking the peer
 * wire with ut_holepunch. Closing stdin ends the process.
 *
 *   relay --host H
 *       accept peers of one torrent (`infoHash` in `ready`) over uTP; each one's remote
 *       endpoint (as its NAT maps it) is reported as {event:'peer', address}; rendezvous
 *       requests are relayed (relayRendezvous) and reported as {event:'rendezvous', from,
 *       target, outcome}. stdin command `pex TO PEER`: send the connected peer TO a ut_pex
 *       message adding PEER with the uTP and holepunch flags ({event:'pex', to, result}), so
 *       that a client can ask us to introduce it to PEER.
 *   peer --host H --relay H:P --name N [--bytes B]
 *       connect to the relay ({event:'relay-connected'} once it announced ut_holepunch); on a
 *       relay's `connect`, dial that endpoint over uTP at once, as BEP 55 says; every direct
 *       uTP connection (dialed or accepted) carries B bytes each way, a pattern derived from
 *       the sender's name (its SHA-1 in `ready`): {event:'direct', remote, direction}, then
 *       {event:'received', remote, bytes, sha1} once B bytes arrived. stdin commands:
 *       `rendezvous HOST:PORT` (ask the relay), `dial HOST:PORT` (a plain dial, no relay:
 *       {event:'dial', to, ok, code?}).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { formatAddress, parseHostPort } from '../lib/net/address.js';
import type { Address } from '../lib/net/address.js';
import { createUdpTransport } from '../lib/net/udp-transport.js';
import type { UtpConnection } from '../lib/utp/connection.js';
import { UtpSocket } from '../lib/utp/socket.js';
import { relayRendezvous } from '../lib/wire/holepunch-relay.js';
import type { RelayPeer } from '../lib/wire/holepunch-relay.js';
import { PeerWire } from '../lib/wire/peer-wire.js';
import { UtHolepunch } from '../lib/wire/ut-holepunch.js';
import { PexFlag, UtPex } from '../lib/wire/ut-pex.js';
import { argvReader } from './lib/argv.js';

const emit = (event: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
};
const INFO_HASH = createHash('sha1').update('trackerless holepunch test').digest();

/** The bytes a named peer sends on every direct connection. */
function pattern(name: string, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let block = createHash('sha256').update(name).digest();
  for (let pos = 0; pos < bytes; pos += block.length) {
    block.copy(out, pos);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

function relay(socket: UtpSocket): void {
  const peers = new Map<string, RelayPeer>();
  const pex = new Map<string, UtPex>();
  socket.onConnection((conn) => {
    const key = formatAddress(conn.remoteAddress);
    const wire = new PeerWire(conn, { role: 'responder', peerId: randomBytes(20), infoHash: INFO_HASH });
    const peer: RelayPeer = { address: conn.remoteAddress, holepunch: new UtHolepunch() };
    const utPex = new UtPex();
    wire.use(peer.holepunch);
    wire.use(utPex);
    wire.on('extended_handshake', () => {
      peers.set(key, peer);
      pex.set(key, utPex);
      emit('peer', { address: key, holepunch: peer.holepunch.supported });
    });
    wire.on('close', () => {
      if (peers.get(key) !== peer) return;
      peers.delete(key);
      pex.delete(key);
    });
    peer.holepunch.on('rendezvous', (target) => {
      const outcome = relayRendezvous(peer, target, {
        find: (a) => peers.get(formatAddress(a)),
        isSelf: () => false
      });
      emit('rendezvous', { from: key, target: formatAddress(target), outcome });
    });
  });
  // `pex TO PEER`: tell connected peer TO about PEER (uTP, holepunch) through ut_pex.
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [cmd, to = '', about = ''] = line.trim().split(/\s+/);
    if (cmd !== 'pex') return;
    const added = [{ ...parseHostPort(about), flags: PexFlag.Utp | PexFlag.Holepunch }];
    emit('pex', { to, result: pex.get(to)?.send({ added, dropped: [] }) ?? 'not connected' });
  });
}

/** Resolves with the SHA-1 of what this peer sends. */
async function peer(socket: UtpSocket, relayAddress: Address, name: string, bytes: number): Promise<string> {
  const payload = pattern(name, bytes);
  const direct = (conn: UtpConnection, direction: 'in' | 'out'): void => {
    const remote = formatAddress(conn.remoteAddress);
    emit('direct', { remote, direction });
    const hash = createHash('sha1');
    let got = 0;
    conn.onData((chunk) => {
      if (got >= bytes) return;
      const part = chunk.subarray(0, bytes - got);
      hash.update(part);
      got += part.length;
      if (got === bytes) emit('received', { remote, direction, bytes, sha1: hash.digest('hex') });
    });
    let sent = 0;
    const more = (): void => {
      while (sent < bytes) {
        const chunk = payload.subarray(sent, sent + 64 * 1024);
        sent += chunk.length;
        if (!conn.write(chunk)) return;
      }
    };
    conn.onDrain(more);
    more();
  };
  // Only the relay is dialed without a relay's word; everything that dials us is a peer.
  socket.onConnection((conn) => direct(conn, 'in'));
  const relayConn = await socket.connect(relayAddress);
  const wire = new PeerWire(relayConn, { role: 'initiator', peerId: randomBytes(20), infoHash: INFO_HASH });
  const hp = new UtHolepunch();
  wire.use(hp);
  wire.on('extended_handshake', () => emit('relay-connected', { holepunch: hp.supported }));
  hp.on('connect', (to) => {
    emit('connect', { to: formatAddress(to) });
    socket.connect(to).then(
      (conn) => direct(conn, 'out'),
      (err: { code?: string }) => emit('dial', { to: formatAddress(to), ok: false, code: err.code })
    );
  });
  hp.on('error', (target, code) => emit('rendezvous-error', { target: formatAddress(target), code }));
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [cmd, arg = ''] = line.trim().split(/\s+/);
    const to = parseHostPort(arg);
    if (cmd === 'rendezvous') hp.rendezvous(to);
    else if (cmd === 'dial') {
      socket.connect(to, { timeoutMs: 4_000 }).then(
        (conn) => {
          emit('dial', { to: formatAddress(to), ok: true });
          conn.close();
        },
        (err: { code?: string }) => emit('dial', { to: formatAddress(to), ok: false, code: err.code })
      );
    }
  });
  return createHash('sha1').update(payload).digest('hex');
}

async function main(): Promise<void> {
  const [role = '', ...rest] = process.argv.slice(2);
  const { value, num } = argvReader(rest);
  const transport = await createUdpTransport({ host: value('host') ?? '127.0.0.1' });
  const socket = new UtpSocket(transport);
  createInterface({ input: process.stdin }).on('close', () => {
    socket.close();
    void transport.close().finally(() => process.exit(0));
  });
  let sentSha1: string | undefined;
  if (role === 'relay') relay(socket);
  else if (role === 'peer') {
    const relayAddress = parseHostPort(value('relay') ?? '');
    sentSha1 = await peer(socket, relayAddress, value('name') ?? 'peer', num('bytes', 1 << 20));
  } else throw new Error(`unknown role ${role}`);
  emit('ready', { port: transport.address().port, sentSha1, infoHash: INFO_HASH.toString('hex') });
}

main().catch((err: unknown) => {
  emit('fatal', { message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
