/**
 * Our engine over uTP in the benchmark (engine-peer.js --transport utp), until the Swarm grows
 * its own transport option: one UDP port with a uTP socket, a PeerListener handing every
 * incoming connection to the one torrent registered (plaintext: the benchmark's peers do not
 * encrypt), and the dialer.
 */
import type { IncomingHandler, PeerConnector, PeerListener } from '../../lib/engine/engine.js';
import { createUdpTransport } from '../../lib/net/udp-transport.js';
import { UtpSocket } from '../../lib/utp/socket.js';

export interface UtpPeers {
  listener: PeerListener;
  connect: PeerConnector;
  socket: UtpSocket;
  close(): Promise<void>;
}

export async function utpPeers(host: string): Promise<UtpPeers> {
  const transport = await createUdpTransport({ host, port: 0 });
  const socket = new UtpSocket(transport);
  let handler: IncomingHandler | null = null;
  socket.onConnection((conn) => {
    if (handler) handler(conn, conn.remoteAddress);
    else conn.close();
  });
  const listener: PeerListener = {
    port: transport.address().port,
    register(_infoHash, h) {
      handler = h;
      return () => {
        if (handler === h) handler = null;
      };
    }
  };
  return {
    listener,
    connect: (address, opts) => socket.connect(address, opts),
    socket,
    close: async () => {
      socket.close();
      await transport.close();
    }
  };
}
