/**
 * A small strict bencode reader for metainfo (BEP 3).
 *
 * The `bencode` package is lax (no bounds on nesting, trailing bytes or duplicate keys, and a
 * `__proto__` key lands on the prototype), and BEP 3 says clients "must not perform a
 * decode-encode roundtrip" to get the infohash. This reader rejects non-canonical input,
 * bounds depth and value count, and remembers where each dictionary starts and ends so the
 * infohash can be the SHA-1 of the original bytes.
 */
import { InvalidArgumentError } from '../errors.js';
import { CH_COLON, CH_D, CH_E, CH_I, CH_L, CH_MINUS } from '../util/bencode-scan.js';

export interface StrictBencodeLimits {
  maxDepth: number;
  maxTokens: number;
}

function fail(message: string): never {
  throw new InvalidArgumentError('ERR_INVALID_TORRENT', `invalid torrent: ${message}`);
}

export type BValue = number | bigint | Uint8Array | BValue[] | BDict;

/** A decoded dictionary plus the byte span it came from (for the infohash). */
export class BDict {
  constructor(
    readonly map: Map<string, BValue>,
    readonly start: number,
    readonly end: number
  ) {}
}

export { CH_E };

class StrictReader {
  pos = 0;
  private tokens = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly limits: StrictBencodeLimits
  ) {}

  /** Decode exactly one value spanning the whole buffer. */
  document(): BValue {
    const value = this.value(0);
    if (this.pos !== this.buf.length)
      fail(`${this.buf.length - this.pos} trailing bytes after the bencoded value`);
    return value;
  }

  private peek(): number {
    const c = this.buf[this.pos];
    if (c === undefined) fail('truncated bencode');
    return c;
  }

  private value(depth: number): BValue {
    if (++this.tokens > this.limits.maxTokens) fail('too many bencode values');
    if (depth > this.limits.maxDepth) fail('bencode nested too deeply');
    const c = this.peek();
    if (c === CH_I) return this.integer();
    if (c === CH_L) {
      this.pos++;
      const list: BValue[] = [];
      while (this.peek() !== CH_E) list.push(this.value(depth + 1));
      this.pos++;
      return list;
    }
    if (c === CH_D) {
      const start = this.pos++;
      const map = new Map<string, BValue>();
      while (this.peek() !== CH_E) {
        // latin1 maps bytes 1:1 to a string: exact, and no prototype keys since it is a Map.
        const key = Buffer.from(this.string()).toString('latin1');
        if (map.has(key)) fail(`duplicate dictionary key ${JSON.stringify(key)}`);
        map.set(key, this.value(depth + 1));
      }
      this.pos++;
      return new BDict(map, start, this.pos);
    }
    return this.string();
  }

  /** Digits up to `terminator`, canonical (no leading zeros, no "-0"). */
  private digits(terminator: number, allowSign: boolean): string {
    const start = this.pos;
    if (allowSign && this.peek() === CH_MINUS) this.pos++;
    const digitsStart = this.pos;
    while (this.peek() !== terminator) {
      const c = this.peek();
      if (c < 0x30 || c > 0x39) fail(`unexpected byte 0x${c.toString(16)} at offset ${this.pos}`);
      if (this.pos - digitsStart >= 20) fail(`number too long at offset ${start}`);
      this.pos++;
    }
    const text = Buffer.from(this.buf.subarray(start, this.pos)).toString('latin1');
    const body = text.startsWith('-') ? text.slice(1) : text;
    if (body === '' || (body.length > 1 && body.startsWith('0')) || text === '-0') {
      fail(`non-canonical number ${JSON.stringify(text)} at offset ${start}`);
    }
    this.pos++; // terminator
    return text;
  }

  private integer(): number | bigint {
    this.pos++; // 'i'
    const text = this.digits(CH_E, true);
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }

  private string(): Uint8Array {
    const c = this.peek();
    if (c < 0x30 || c > 0x39) fail(`expected a byte string at offset ${this.pos}`);
    const length = Number(this.digits(CH_COLON, false));
    if (length > this.buf.length - this.pos) fail(`byte string of ${length} bytes overruns the data`);
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
}

export function decodeStrict(bytes: Uint8Array, limits: StrictBencodeLimits): BValue {
  return new StrictReader(bytes, limits).document();
}
