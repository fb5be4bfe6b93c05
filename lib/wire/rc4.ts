/**
 * RC4 (ARC4), for Message Stream Encryption. Node 20's OpenSSL 3 offers 'rc4' only with the
 * legacy provider, so it is implemented here: a 256-byte Uint8Array state, bytes processed
 * with local variables (i, j, S kept in registers by the JIT), in place or into another buffer.
 */
export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  constructor(key: Uint8Array) {
    if (key.length === 0 || key.length > 256) throw new RangeError('RC4 key must be 1..256 bytes');
    const s = this.s;
    for (let k = 0; k < 256; k++) s[k] = k;
    let j = 0;
    for (let k = 0; k < 256; k++) {
      const t = s[k]!;
      j = (j + t + key[k % key.length]!) & 255;
      s[k] = s[j]!;
      s[j] = t;
    }
  }

  /** Skip `n` bytes of keystream (MSE discards the first 1024). */
  discard(n: number): void {
    const s = this.s;
    let i = this.i;
    let j = this.j;
    for (let k = 0; k < n; k++) {
      i = (i + 1) & 255;
      const t = s[i]!;
      j = (j + t) & 255;
      s[i] = s[j]!;
      s[j] = t;
    }
    this.i = i;
    this.j = j;
  }

  /** XOR `input` with the keystream into `output` (default: in place); returns `output`. */
  process(input: Uint8Array, output: Uint8Array = input, outOffset = 0): Uint8Array {
    const s = this.s;
    let i = this.i;
    let j = this.j;
    const n = input.length;
    for (let k = 0; k < n; k++) {
      i = (i + 1) & 255;
      const t = s[i]!;
      j = (j + t) & 255;
      const u = s[j]!;
      s[i] = u;
      s[j] = t;
      output[outOffset + k] = input[k]! ^ s[(t + u) & 255]!;
    }
    this.i = i;
    this.j = j;
    return output;
  }
}
