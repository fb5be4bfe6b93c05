/**
 * A fixed-length set of piece indices, stored as in the BEP 3 `bitfield` message: bit 7 of
 * byte 0 is piece 0. The population count is maintained on every change so `count` and
 * `hasAll()` are O(1) (the picker and the engine ask them on every HAVE).
 */
import { InvalidArgumentError } from '../errors.js';

/**
 * The reading side of a Bitfield, for a view of one someone else keeps up to date (the
 * engine's verified pieces): read it when needed, clone() it to keep how it is now.
 */
export type ReadonlyBitfield = Pick<
  Bitfield,
  'length' | 'count' | 'hasAll' | 'hasNone' | 'get' | 'byte' | 'toBytes' | 'clone' | 'and' | 'indices'
>;

export class Bitfield {
  readonly length: number;
  private readonly bits: Uint8Array;
  private ones = 0;

  constructor(length: number) {
    if (!Number.isInteger(length) || length < 0) {
      throw new InvalidArgumentError(
        'ERR_INVALID_ARGUMENT',
        `bitfield length must be a non-negative integer, got ${length}`
      );
    }
    this.length = length;
    this.bits = new Uint8Array(Math.ceil(length / 8));
  }

  /**
   * Parse a bitfield as sent on the wire. The byte length must be exactly ceil(length / 8) and
   * the spare bits at the end must be zero (BEP 3: peers sending otherwise should be dropped).
   */
  static fromBytes(bytes: Uint8Array, length: number): Bitfield {
    const field = new Bitfield(length);
    if (bytes.length !== field.bits.length) {
      throw new InvalidArgumentError(
        'ERR_INVALID_ARGUMENT',
        `bitfield for ${length} pieces must be ${field.bits.length} bytes, got ${bytes.length}`
      );
    }
    const spare = field.bits.length * 8 - length;
    if (spare > 0 && ((bytes[bytes.length - 1] ?? 0) & ((1 << spare) - 1)) !== 0) {
      throw new InvalidArgumentError(
        'ERR_INVALID_ARGUMENT',
        'bitfield has spare bits set past the last piece'
      );
    }
    field.bits.set(bytes);
    for (const byte of field.bits) field.ones += popcount8(byte);
    return field;
  }

  /** A bitfield with every piece set (BEP 6 have_all, or a seed's own state). */
  static full(length: number): Bitfield {
    const field = new Bitfield(length);
    field.setAll();
    return field;
  }

  get count(): number {
    return this.ones;
  }

  hasAll(): boolean {
    return this.ones === this.length;
  }

  hasNone(): boolean {
    return this.ones === 0;
  }

  get(index: number): boolean {
    this.check(index);
    return ((this.bits[index >> 3] ?? 0) & (0x80 >> (index & 7))) !== 0;
  }

  /** Set or clear one bit. Returns true if the bit changed. */
  set(index: number, value = true): boolean {
    this.check(index);
    const i = index >> 3;
    const mask = 0x80 >> (index & 7);
    const byte = this.bits[i] ?? 0;
    const was = (byte & mask) !== 0;
    if (was === value) return false;
    this.bits[i] = value ? byte | mask : byte & ~mask;
    this.ones += value ? 1 : -1;
    return true;
  }

  setAll(): void {
    this.bits.fill(0xff);
    const spare = this.bits.length * 8 - this.length;
    if (spare > 0) this.bits[this.bits.length - 1] = (0xff << spare) & 0xff;
    this.ones = this.length;
  }

  clearAll(): void {
    this.bits.fill(0);
    this.ones = 0;
  }

  /** Byte `i` of the wire form (0 past the end): lets callers combine fields 8 pieces at a time. */
  byte(i: number): number {
    return this.bits[i] ?? 0;
  }

  /** Wire form (a copy). */
  toBytes(): Uint8Array {
    return new Uint8Array(this.bits);
  }

  clone(): Bitfield {
    return Bitfield.fromBytes(this.bits, this.length);
  }

  /** A new field with the pieces set in both (lengths must match). */
  and(other: Bitfield): Bitfield {
    if (other.length !== this.length) {
      throw new InvalidArgumentError(
        'ERR_INVALID_ARGUMENT',
        `bitfield lengths differ: ${this.length} and ${other.length}`
      );
    }
    const bytes = new Uint8Array(this.bits.length);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (this.bits[i] ?? 0) & (other.bits[i] ?? 0);
    return Bitfield.fromBytes(bytes, this.length);
  }

  /** Indices of set bits, ascending. Skips zero bytes, so sparse fields are cheap. */
  *indices(): IterableIterator<number> {
    for (let i = 0; i < this.bits.length; i++) {
      const byte = this.bits[i] ?? 0;
      if (byte === 0) continue;
      for (let b = 0; b < 8; b++) if (byte & (0x80 >> b)) yield i * 8 + b;
    }
  }

  private check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new InvalidArgumentError(
        'ERR_INVALID_ARGUMENT',
        `piece index ${index} out of range [0, ${this.length})`
      );
    }
  }
}

function popcount8(byte: number): number {
  let n = byte - ((byte >> 1) & 0x55);
  n = (n & 0x33) + ((n >> 2) & 0x33);
  return (n + (n >> 4)) & 0x0f;
}
