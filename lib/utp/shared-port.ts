/**
 * The DHT and uTP on one UDP port, as libtorrent runs them: KRPC datagrams (bencode, first byte
 * 'd') to the DHT's transport, uTP packets (first byte: version 1, type 0-4) to the uTP
 * socket's. Anything else goes to the DHT side, whose decoder counts and drops garbage. Each
 * side closes its own transport; the UDP socket closes with the second.
 */
import { demuxTransport } from '../net/datagram-mux.js';
import type { Transport } from '../net/transport.js';
import { looksLikeUtp } from './packet.js';

export function shareUdpPort(udp: Transport): { dht: Transport; utp: Transport } {
  return demuxTransport(udp, ['dht', 'utp'] as const, (data) => (looksLikeUtp(data) ? 'utp' : 'dht'));
}
