/**
 * ed25519 through node:crypto (no dependency): key pairs from 32-byte seeds, signing and
 * verifying with raw 32-byte public keys, as BEP 44 carries them.
 *
 * Keys are kept as raw bytes; node:crypto wants KeyObjects, built from DER with the fixed
 * ASN.1 prefixes of RFC 8410 (PKCS#8 for a private seed, SPKI for a public key).
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';

/** RFC 8410 PKCS#8 prefix of an Ed25519 private key; the 32-byte seed follows. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** RFC 8410 SPKI prefix of an Ed25519 public key; the 32-byte key follows. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export const PUBLIC_KEY_BYTES = 32;
export const SEED_BYTES = 32;
export const SIGNATURE_BYTES = 64;

/** An ed25519 key pair. `secretKey` is the 32-byte seed (RFC 8032 private key). */
export interface KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** A public key given as 64 hex characters or 32 bytes; throws InvalidArgumentError otherwise. */
export function parsePublicKey(input: string | Uint8Array): Uint8Array {
  if (input instanceof Uint8Array && input.length === PUBLIC_KEY_BYTES) return input;
  if (typeof input === 'string' && /^[0-9a-fA-F]{64}$/.test(input))
    return new Uint8Array(Buffer.from(input, 'hex'));
  throw new InvalidArgumentError(
    'ERR_INVALID_ARGUMENT',
    'an ed25519 public key is 64 hex characters or 32 bytes'
  );
}

/** A fresh random key pair. */
export function generateKeyPair(): KeyPair {
  return keyPairFromSeed(randomBytes(SEED_BYTES));
}

/** The key pair of a 32-byte seed (deterministic: the same seed gives the same keys). */
export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  const key = privateKeyObject(seed);
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return {
    publicKey: new Uint8Array(spki.subarray(SPKI_PREFIX.length)),
    secretKey: Uint8Array.from(seed)
  };
}

/** The 64-byte signature of `message` by `keyPair`. */
export function signMessage(keyPair: KeyPair, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, privateKeyObject(keyPair.secretKey)));
}

/** True when `signature` is `publicKey`'s valid signature of `message`; never throws. */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  try {
    return verify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false; // not a point on the curve: no valid signature exists
  }
}

/** The PKCS#8 PEM text of a key pair's private key (what `openssl genpkey -algorithm ed25519` writes). */
export function toPem(keyPair: KeyPair): string {
  return privateKeyObject(keyPair.secretKey).export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** The key pair in a PKCS#8 PEM private key; throws InvalidArgumentError if it is not ed25519. */
export function fromPem(pem: string): KeyPair {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `not a PEM private key: ${(err as Error).message}`
    );
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `not an ed25519 key (${key.asymmetricKeyType})`);
  const der = key.export({ format: 'der', type: 'pkcs8' });
  return keyPairFromSeed(der.subarray(der.length - SEED_BYTES));
}

function privateKeyObject(seed: Uint8Array): KeyObject {
  if (seed.length !== SEED_BYTES)
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `an ed25519 seed is ${SEED_BYTES} bytes, got ${seed.length}`
    );
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
}
