/**
 * The key agreement and ciphers of Message Stream Encryption (see mse.ts): Diffie-Hellman over
 * the spec's 768-bit prime with generator 2 and 160-bit private keys, computed with BigInt
 * (~0.3 ms per modPow; crypto.createDiffieHellman spends ~20 ms checking the prime), Y and S
 * 96 bytes big-endian; SHA-1 hashes; RC4 keyed per direction with 1024 bytes discarded.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Rc4 } from './rc4.js';

/** The spec's 768-bit safe prime. */
export const MSE_PRIME = BigInt(
  '0xFFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563'
);
export const MSE_KEY_LENGTH = 96;

/** SHA-1 over the concatenation of `parts` (strings as UTF-8). */
export function sha1(...parts: (string | Uint8Array)[]): Uint8Array {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** HASH('req2', SKEY): what a responder compares (after removing HASH('req3', S)). */
export function mseReq2(infoHash: Uint8Array): Uint8Array {
  return sha1('req2', infoHash);
}

function toBigInt(bytes: Uint8Array): bigint {
  return BigInt('0x' + (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex') || '0'));
}

function toKey(n: bigint): Uint8Array {
  return Buffer.from(n.toString(16).padStart(MSE_KEY_LENGTH * 2, '0'), 'hex');
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  base %= mod;
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % mod;
    base = (base * base) % mod;
    exp >>= 1n;
  }
  return result;
}

export interface DhKeys {
  privateKey: bigint;
  /** Y = 2^private mod P, 96 bytes. */
  publicKey: Uint8Array;
}

export function dhKeys(privateKey: Uint8Array = randomBytes(20)): DhKeys {
  const x = toBigInt(privateKey);
  return { privateKey: x, publicKey: toKey(modPow(2n, x, MSE_PRIME)) };
}

/** S = Y_other^private mod P, 96 bytes; undefined for a degenerate Y (0, 1, P-1, >= P). */
export function dhSecret(keys: DhKeys, otherPublic: Uint8Array): Uint8Array | undefined {
  const y = toBigInt(otherPublic);
  if (y <= 1n || y >= MSE_PRIME - 1n) return undefined;
  return toKey(modPow(y, keys.privateKey, MSE_PRIME));
}

/** RC4 keyed with HASH(name, S, SKEY), first 1024 bytes of keystream discarded. */
export function mseCipher(name: 'keyA' | 'keyB', secret: Uint8Array, skey: Uint8Array): Rc4 {
  const rc4 = new Rc4(sha1(name, secret, skey));
  rc4.discard(1024);
  return rc4;
}
