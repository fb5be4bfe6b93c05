/**
 * Our 20-byte peer id (BEP 3), Azureus style (BEP 20): the client prefix, then random bytes.
 */
import { randomBytes } from 'node:crypto';
import { PEER_ID_PREFIX } from '../constants.js';
import { cryptoRandom, type RandomSource } from '../util/random.js';
import { PEER_ID_LENGTH } from './constants.js';

export function makePeerId(random: RandomSource = cryptoRandom): Uint8Array {
  const id = new Uint8Array(PEER_ID_LENGTH);
  const prefix = new TextEncoder().encode(PEER_ID_PREFIX);
  id.set(prefix, 0);
  const rest = PEER_ID_LENGTH - prefix.length;
  id.set(random === cryptoRandom ? randomBytes(rest) : random.bytes(rest), prefix.length);
  return id;
}
