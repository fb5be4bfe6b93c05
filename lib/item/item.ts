/**
 * BEP 44 items: their targets, the bytes a mutable item's signature covers, and the checks a
 * reader makes before believing a value. Values travel bencoded; `v` below is always the
 * bencoded form, `value` the decoded one.
 */
import { hash } from 'node:crypto';
import { MAX_ITEM_SALT_BYTES, MAX_ITEM_VALUE_BYTES } from '../constants.js';
import { InvalidArgumentError } from '../errors.js';
import { readBencode } from '../krpc/reader.js';
import { writeBencode, type BencodeValue } from '../krpc/writer.js';
import { isCanonicalBencode } from '../util/bencode-raw.js';
import { bytesEqual } from '../util/bytes.js';
import { verifySignature } from './ed25519.js';

/**
 * A value to store: a byte string (a JS string is stored as its UTF-8 bytes), an integer, or
 * a list or dictionary of them. Its bencoded form must fit in 1000 bytes.
 */
export type ItemValue = Uint8Array | string | number | ItemValue[] | { [key: string]: ItemValue };

/** A value as read back: byte strings are Uint8Array (dictionary keys are text). */
export type DecodedItemValue = Uint8Array | number | DecodedItemValue[] | { [key: string]: DecodedItemValue };

export interface ImmutableItem {
  /** SHA-1 of `v`. */
  target: Uint8Array;
  /** The value, bencoded. */
  v: Uint8Array;
  value: DecodedItemValue;
}

export interface MutableItem {
  /** SHA-1 of the public key followed by the salt. */
  target: Uint8Array;
  publicKey: Uint8Array;
  /** Empty when the item has no salt. */
  salt: Uint8Array;
  seq: number;
  signature: Uint8Array;
  v: Uint8Array;
  value: DecodedItemValue;
}

/** Deepest nesting of a value we encode or decode. */
const MAX_VALUE_DEPTH = 9;

/** Target of an immutable item: SHA-1 of its bencoded value. */
export function immutableTarget(v: Uint8Array): Uint8Array {
  return new Uint8Array(hash('sha1', v, 'buffer'));
}

/** Target of a mutable item: SHA-1 of the 32-byte public key followed by the salt. */
export function mutableTarget(publicKey: Uint8Array, salt: Uint8Array = new Uint8Array(0)): Uint8Array {
  return new Uint8Array(hash('sha1', Buffer.concat([publicKey, salt]), 'buffer'));
}

/**
 * What a mutable item's signature covers (BEP 44): `4:salt<len>:<salt>` when the salt is not
 * empty, then `3:seqi<seq>e1:v` and the bencoded value, exactly as it was put.
 */
export function signedBytes(v: Uint8Array, seq: number, salt?: Uint8Array): Uint8Array {
  const head = `${salt?.length ? `4:salt${salt.length}:` : ''}`;
  const parts: Uint8Array[] = [Buffer.from(head, 'latin1')];
  if (salt?.length) parts.push(salt);
  parts.push(Buffer.from(`3:seqi${seq}e1:v`, 'latin1'), v);
  return Buffer.concat(parts);
}

/** Bencode a value to store; throws InvalidArgumentError if it is not one or exceeds 1000 bytes. */
export function encodeItemValue(value: ItemValue): Uint8Array {
  checkValue(value, 0);
  const v = writeBencode(value as BencodeValue);
  if (v.length > MAX_ITEM_VALUE_BYTES) {
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `a DHT item holds at most ${MAX_ITEM_VALUE_BYTES} bencoded bytes, this value is ${v.length}`
    );
  }
  if (!isCanonicalBencode(v, MAX_VALUE_DEPTH + 1)) {
    // Only dictionary keys whose UTF-16 order differs from their UTF-8 byte order get here.
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      'value has dictionary keys that do not sort as bytes'
    );
  }
  return v;
}

/** The decoded form of a bencoded value (assumed canonical and bounded, as stored items are). */
export function decodeItemValue(v: Uint8Array): DecodedItemValue {
  return readBencode(v, MAX_VALUE_DEPTH + 1) as DecodedItemValue;
}

/** Check a salt given by the user: at most 64 bytes. Returns it as bytes (a string as UTF-8). */
export function checkSalt(salt: Uint8Array | string | undefined): Uint8Array {
  const bytes = typeof salt === 'string' ? Buffer.from(salt, 'utf8') : (salt ?? new Uint8Array(0));
  if (!(bytes instanceof Uint8Array) || bytes.length > MAX_ITEM_SALT_BYTES) {
    throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', `a salt is at most ${MAX_ITEM_SALT_BYTES} bytes`);
  }
  return new Uint8Array(bytes);
}

/** An immutable item from a reply, if its value hashes to `target` (else undefined: a lie). */
export function acceptImmutable(target: Uint8Array, v: Uint8Array | undefined): ImmutableItem | undefined {
  if (v === undefined || v.length > MAX_ITEM_VALUE_BYTES) return undefined;
  if (!bytesEqual(immutableTarget(v), target)) return undefined;
  return { target, v, value: decodeItemValue(v) };
}

/**
 * A mutable item from a reply, if it is the key we asked for and the signature over salt, seq
 * and value verifies (BEP 44: "the key ... MUST be verified to hash to the target ID ... as
 * well as verifying the signature"). Undefined otherwise.
 */
export function acceptMutable(
  publicKey: Uint8Array,
  salt: Uint8Array,
  reply: {
    k?: Uint8Array | undefined;
    sig?: Uint8Array | undefined;
    seq?: number | undefined;
    v?: Uint8Array | undefined;
  }
): MutableItem | undefined {
  const { k, sig, seq, v } = reply;
  if (k === undefined || sig === undefined || seq === undefined || v === undefined) return undefined;
  if (v.length > MAX_ITEM_VALUE_BYTES || !bytesEqual(k, publicKey)) return undefined;
  if (!verifySignature(k, signedBytes(v, seq, salt), sig)) return undefined;
  return {
    target: mutableTarget(k, salt),
    publicKey: k,
    salt,
    seq,
    signature: sig,
    v,
    value: decodeItemValue(v)
  };
}

function checkValue(value: unknown, depth: number): void {
  if (depth > MAX_VALUE_DEPTH) invalidValue('nests too deep');
  if (value instanceof Uint8Array || typeof value === 'string') return;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) invalidValue(`has a number that is not a safe integer: ${value}`);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) checkValue(item, depth + 1);
    return;
  }
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) checkValue(item, depth + 1);
    return;
  }
  invalidValue(`has a ${value === null ? 'null' : typeof value}`);
}

function invalidValue(why: string): never {
  throw new InvalidArgumentError(
    'ERR_INVALID_ARGUMENT',
    `a DHT item value is bytes, a string, an integer, a list or a dictionary; this one ${why}`
  );
}
