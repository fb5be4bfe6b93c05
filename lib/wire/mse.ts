/**
 * Message Stream Encryption (MSE, "Protocol Encryption", the Vuze/Azureus spec as libtorrent
 * implements it): a Diffie-Hellman exchange that hides the BitTorrent handshake, then RC4 or
 * plaintext for the rest of the connection.
 *
 *   A -> B  Ya, PadA
 *   B -> A  Yb, PadB
 *   A -> B  HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 *           ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
 *   B -> A  ENCRYPT(VC, crypto_select, len(PadD), PadD), ENCRYPT2(payload)
 *   A -> B  ENCRYPT2(payload)
 *
 * DH, hashes and keys in mse-crypto.ts. SKEY is the infohash. RC4 keys HASH('keyA', S, SKEY) (A -> B) and
 * HASH('keyB', S, SKEY) (B -> A), first 1024 keystream bytes discarded. VC is 8 zero bytes.
 * Every length is bounded (pads <= 512, sync windows 512 + 20 / 512 + 8 bytes); any violation,
 * a close or the timeout rejects with ProtocolError('bad-encryption-handshake') and closes
 * the stream. Pure apart from node:crypto: runs over any WireStream.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { ProtocolError } from './errors.js';
import { MSE_KEY_LENGTH, dhKeys, dhSecret, mseCipher, mseReq2, sha1 } from './mse-crypto.js';
import { MseStream, type CryptoMethod } from './mse-stream.js';
import type { Rc4 } from './rc4.js';
import type { WireStream } from '../net/stream.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';

export { MseStream, type CryptoMethod } from './mse-stream.js';

/**
 * - `disabled`: plaintext only; encrypted incoming connections are refused.
 * - `enabled` (default): accept both; an encrypted peer offering plaintext too gets plaintext
 *   (libtorrent's default choice); dial plaintext.
 * - `preferred`: accept both, select RC4 when offered; dial encrypted (RC4), and redial in
 *   plaintext if that fails.
 * - `required`: RC4 only, both ways; plaintext handshakes are refused.
 */
export type EncryptionPolicy = 'disabled' | 'enabled' | 'preferred' | 'required';
export const DEFAULT_ENCRYPTION: EncryptionPolicy = 'enabled';

export const CRYPTO_PLAINTEXT = 0x01;
export const CRYPTO_RC4 = 0x02;
export const MSE_MAX_PAD = 512;
export const MSE_TIMEOUT_MS = 10_000;
const VC_LENGTH = 8;
const EMPTY: Uint8Array = new Uint8Array(0);

/** The crypto_select for a peer's crypto_provide under `policy`; 0 = no common method. */
export function selectCrypto(provide: number, policy: EncryptionPolicy): number {
  const rc4 = provide & CRYPTO_RC4;
  const plain = provide & CRYPTO_PLAINTEXT;
  switch (policy) {
    case 'disabled':
      return plain;
    case 'enabled':
      return plain || rc4;
    case 'preferred':
      return rc4 || plain;
    case 'required':
      return rc4;
  }
}

/** True when `policy` dials peers with MSE first. */
export function dialsEncrypted(policy: EncryptionPolicy): boolean {
  return policy === 'preferred' || policy === 'required';
}

function withPad(key: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(key.length + randomInt(MSE_MAX_PAD + 1));
  out.set(key, 0);
  randomBytes(out.length - key.length).copy(out, key.length);
  return out;
}

function u16(n: number): Uint8Array {
  return Uint8Array.of(n >>> 8, n & 255);
}

function u32(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

export interface MseResult {
  /** Plaintext view of the connection; the peer's first payload bytes (IA) are readable in it. */
  stream: MseStream;
  /** SKEY: the torrent the peer asked for (responder) or that we named (initiator). */
  infoHash: Uint8Array;
  method: CryptoMethod;
}

/**
 * Runs one side of the handshake over `raw`: collects bytes, and `step()` consumes them while
 * it can. Once done, later chunks go to the MseStream.
 */
abstract class Handshake {
  /** Unread bytes; `extra` holds later chunks, joined only when a step needs them (no quadratic copying). */
  protected buf: Uint8Array = EMPTY;
  private extra: Uint8Array[] = [];
  private extraBytes = 0;
  private result: MseStream | undefined;
  private settled = false;
  private readonly timer: TimerHandle;
  private resolveFn!: (r: MseResult) => void;
  private rejectFn!: (e: Error) => void;
  readonly promise: Promise<MseResult>;

  constructor(
    protected readonly raw: WireStream,
    timeoutMs: number,
    protected readonly clock: Clock,
    signal?: AbortSignal
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    this.timer = clock.setTimeout(() => this.fail('timed out'), timeoutMs);
    if (signal) {
      if (signal.aborted) queueMicrotask(() => this.fail('aborted'));
      else signal.addEventListener('abort', () => this.fail('aborted'), { once: true });
    }
    raw.onClose(() => this.fail('connection closed'));
    raw.onData((chunk) => this.onChunk(chunk));
  }

  /** Consume buffered bytes; return false to wait for more. Throws to fail. */
  protected abstract step(): boolean;

  /** True when `n` bytes are readable in `buf`. */
  protected have(n: number): boolean {
    if (this.buf.length >= n) return true;
    if (this.buf.length + this.extraBytes < n) return false;
    this.join();
    return true;
  }

  /** Everything received, in `buf`. */
  protected join(): Uint8Array {
    if (this.extraBytes > 0) this.buf = concat([this.buf, ...this.extra]);
    this.extra = [];
    this.extraBytes = 0;
    return this.buf;
  }

  protected take(n: number): Uint8Array {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  protected fail(why: string | ProtocolError): void {
    if (this.settled) return;
    this.settled = true;
    this.timer.cancel();
    this.buf = EMPTY;
    this.extra = [];
    this.raw.close();
    this.rejectFn(typeof why === 'string' ? failure(why) : why);
  }

  protected finish(infoHash: Uint8Array, stream: MseStream): void {
    if (this.settled) return;
    this.settled = true;
    this.timer.cancel();
    this.result = stream;
    this.buf = EMPTY;
    this.extra = [];
    this.resolveFn({ stream, infoHash, method: stream.method });
  }

  private onChunk(chunk: Uint8Array): void {
    if (this.result) return this.result.receive(chunk);
    if (this.settled || chunk.length === 0) return;
    this.extra.push(chunk);
    this.extraBytes += chunk.length;
    try {
      while (!this.settled && this.step());
    } catch (err) {
      this.fail(
        err instanceof ProtocolError ? err : failure(err instanceof Error ? err.message : String(err))
      );
    }
  }
}

/** The one way an MSE handshake fails. */
function failure(why: string): ProtocolError {
  return new ProtocolError('bad-encryption-handshake', why);
}

function find(hay: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.length).indexOf(needle);
}

export interface MseRespondOptions {
  /** The infohash whose HASH('req2', infohash) this is, if we serve it. */
  findSkey(req2: Uint8Array): Uint8Array | undefined;
  policy?: EncryptionPolicy;
  timeoutMs?: number;
  /** Time source of the timeout. Default the system clock. */
  clock?: Clock;
}

/** Responder (B): the peer dialed us and its first bytes are Ya (not a BitTorrent handshake). */
class Responder extends Handshake {
  private state: 'ya' | 'sync' | 'provide' | 'padc' | 'ia' = 'ya';
  private readonly keys = dhKeys();
  private secret = EMPTY;
  private req1 = EMPTY;
  private skey = EMPTY;
  private dec: Rc4 | undefined;
  private enc: Rc4 | undefined;
  private provide = 0;
  private padLength = 0;
  private iaLength = 0;

  constructor(
    raw: WireStream,
    private readonly o: MseRespondOptions
  ) {
    super(raw, o.timeoutMs ?? MSE_TIMEOUT_MS, o.clock ?? systemClock);
  }

  protected step(): boolean {
    switch (this.state) {
      case 'ya': {
        if (!this.have(MSE_KEY_LENGTH)) return false;
        const secret = dhSecret(this.keys, this.take(MSE_KEY_LENGTH));
        if (!secret) throw failure('bad Ya');
        this.secret = secret;
        this.req1 = sha1('req1', secret);
        this.raw.write(withPad(this.keys.publicKey));
        this.state = 'sync';
        return true;
      }
      case 'sync': {
        // HASH('req1', S) follows PadA (<= 512 bytes).
        const at = find(this.join().subarray(0, MSE_MAX_PAD + 20), this.req1);
        if (at < 0) {
          if (this.buf.length >= MSE_MAX_PAD + 20) throw failure('no req1 hash within the pad limit');
          return false;
        }
        this.take(at + 20);
        this.state = 'provide';
        return true;
      }
      case 'provide': {
        if (!this.have(20 + VC_LENGTH + 4 + 2)) return false;
        const req2 = Uint8Array.from(this.take(20));
        const req3 = sha1('req3', this.secret);
        for (let i = 0; i < 20; i++) req2[i]! ^= req3[i]!;
        const skey = this.o.findSkey(req2);
        if (!skey) throw failure('unknown torrent (SKEY)');
        this.skey = skey;
        this.dec = mseCipher('keyA', this.secret, skey);
        this.enc = mseCipher('keyB', this.secret, skey);
        const head = this.dec.process(this.take(VC_LENGTH + 6), new Uint8Array(VC_LENGTH + 6));
        for (let i = 0; i < VC_LENGTH; i++) if (head[i] !== 0) throw failure('bad VC');
        this.provide = ((head[8]! << 24) | (head[9]! << 16) | (head[10]! << 8) | head[11]!) >>> 0;
        this.padLength = (head[12]! << 8) | head[13]!;
        if (this.padLength > MSE_MAX_PAD) throw failure(`PadC of ${this.padLength} bytes`);
        this.state = 'padc';
        return true;
      }
      case 'padc': {
        if (!this.have(this.padLength + 2)) return false;
        const padAndLength = this.dec!.process(
          this.take(this.padLength + 2),
          new Uint8Array(this.padLength + 2)
        );
        this.iaLength = (padAndLength[this.padLength]! << 8) | padAndLength[this.padLength + 1]!;
        this.state = 'ia';
        return true;
      }
      case 'ia': {
        if (!this.have(this.iaLength)) return false;
        const ia = this.dec!.process(this.take(this.iaLength), new Uint8Array(this.iaLength));
        const select = selectCrypto(this.provide, this.o.policy ?? DEFAULT_ENCRYPTION);
        if (select === 0) throw failure(`no acceptable method in crypto_provide ${this.provide}`);
        const enc = this.enc!;
        this.raw.write(enc.process(concat([new Uint8Array(VC_LENGTH), u32(select), u16(0)])));
        const rest = this.join();
        const stream =
          select === CRYPTO_RC4
            ? new MseStream(
                this.raw,
                [ia, this.dec!.process(Uint8Array.from(rest))],
                this.clock,
                enc,
                this.dec
              )
            : new MseStream(this.raw, [ia, rest], this.clock);
        this.finish(this.skey, stream);
        return false;
      }
    }
  }
}

/** Run the responder side over `raw` (its first bytes are the initiator's Ya). */
export function mseRespond(raw: WireStream, options: MseRespondOptions): Promise<MseResult> {
  return new Responder(raw, options).promise;
}

export interface MseInitiateOptions {
  infoHash: Uint8Array;
  /** crypto_provide bits. Default RC4 only. */
  provide?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Time source of the timeout. Default the system clock. */
  clock?: Clock;
}

/** Initiator (A): we dialed; the stream is handed over once the peer's crypto_select is read. */
class Initiator extends Handshake {
  private state: 'yb' | 'sync' | 'select' | 'padd' = 'yb';
  private readonly keys = dhKeys();
  private readonly provide: number;
  private vc = EMPTY;
  private enc: Rc4 | undefined;
  private dec: Rc4 | undefined;
  private select = 0;
  private padLength = 0;

  constructor(
    raw: WireStream,
    private readonly o: MseInitiateOptions
  ) {
    super(raw, o.timeoutMs ?? MSE_TIMEOUT_MS, o.clock ?? systemClock, o.signal);
    this.provide = o.provide ?? CRYPTO_RC4;
    raw.write(withPad(this.keys.publicKey));
  }

  protected step(): boolean {
    switch (this.state) {
      case 'yb': {
        if (!this.have(MSE_KEY_LENGTH)) return false;
        const secret = dhSecret(this.keys, this.take(MSE_KEY_LENGTH));
        if (!secret) throw failure('bad Yb');
        const skey = this.o.infoHash;
        this.enc = mseCipher('keyA', secret, skey);
        this.dec = mseCipher('keyB', secret, skey);
        this.vc = this.dec.process(new Uint8Array(VC_LENGTH)); // what B's encrypted VC looks like
        const req2 = Uint8Array.from(mseReq2(skey));
        const req3 = sha1('req3', secret);
        for (let i = 0; i < 20; i++) req2[i]! ^= req3[i]!;
        const crypto = this.enc.process(
          concat([new Uint8Array(VC_LENGTH), u32(this.provide), u16(0), u16(0)])
        );
        this.raw.write(concat([sha1('req1', secret), req2, crypto]));
        this.state = 'sync';
        return true;
      }
      case 'sync': {
        // B's encrypted VC follows PadB (<= 512 bytes).
        const at = find(this.join().subarray(0, MSE_MAX_PAD + VC_LENGTH), this.vc);
        if (at < 0) {
          if (this.buf.length >= MSE_MAX_PAD + VC_LENGTH) throw failure('no VC within the pad limit');
          return false;
        }
        this.take(at + VC_LENGTH);
        this.state = 'select';
        return true;
      }
      case 'select': {
        if (!this.have(6)) return false;
        const head = this.dec!.process(this.take(6), new Uint8Array(6));
        this.select = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
        if (this.select !== CRYPTO_RC4 && this.select !== CRYPTO_PLAINTEXT)
          throw failure(`crypto_select ${this.select}`);
        if ((this.select & this.provide) === 0) throw failure(`crypto_select ${this.select} was not offered`);
        this.padLength = (head[4]! << 8) | head[5]!;
        if (this.padLength > MSE_MAX_PAD) throw failure(`PadD of ${this.padLength} bytes`);
        this.state = 'padd';
        return true;
      }
      case 'padd': {
        if (!this.have(this.padLength)) return false;
        this.dec!.process(this.take(this.padLength), new Uint8Array(this.padLength));
        const rest = this.join();
        const stream =
          this.select === CRYPTO_RC4
            ? new MseStream(
                this.raw,
                [this.dec!.process(Uint8Array.from(rest))],
                this.clock,
                this.enc,
                this.dec
              )
            : new MseStream(this.raw, [rest], this.clock);
        this.finish(this.o.infoHash, stream);
        return false;
      }
    }
  }
}

/** Run the initiator side over a freshly dialed `raw`. IA is empty: the wire sends its handshake after. */
export function mseInitiate(raw: WireStream, options: MseInitiateOptions): Promise<MseResult> {
  return new Initiator(raw, options).promise;
}
