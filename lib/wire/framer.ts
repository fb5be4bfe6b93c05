/**
 * Incremental parser of the peer wire byte stream: optional handshake, then length-prefixed
 * messages. Feed it chunks with arbitrary boundaries; it returns typed items.
 *
 * - Never throws on input: a violation yields one `{ type: 'error' }` item and the framer stops
 *   (every later feed returns nothing).
 * - Bounded: a length prefix above the cap is rejected before its body is buffered.
 * - No O(n^2) concatenation: chunks are queued; a message inside one chunk is returned as a
 *   zero-copy view (piece blocks, bitfields, extended payloads are views of the fed chunks);
 *   a message spanning chunks is copied once into a buffer of its exact size.
 * - `chunksReused` (the stream reads into one buffer it reuses): a fed chunk is valid only
 *   until the caller is done with this feed's items. The framer then copies what outlives the
 *   feed: the unparsed tail, and payloads that stay views (bitfield, extended, unknown). Piece
 *   blocks stay views, of the chunk or of the carry buffer, to be copied by their consumer
 *   during the feed's turn.
 *
 * Carry buffers (chunksReused only). A read seldom ends on a message boundary: its tail (the
 * start of the next block) must outlive the read, and the next read completes that block, which
 * must be contiguous. Fresh buffers for both cost two allocations of up to ~16 KiB per read. Instead the tail goes to one of two buffers the framer owns and reuses, and the message
 * it begins is completed in place there. Two, because a feed can hand out a block completed in
 * one while its own tail must be kept: the tail goes to the other. Each holds at most one
 * message (the length cap bounds it); one grown past KEEP_IDLE for a rare big message is
 * dropped as soon as nothing is buffered. The owner calls `releaseIdle()` now and then (the peer
 * wire: at every liveness check, at least once a keep-alive interval): buffers no read has
 * needed since the previous call are dropped, so a connection that once split a message keeps
 * no memory for it once its traffic has stopped or no longer splits.
 */
import {
  DEFAULT_MAX_BLOCK_LENGTH,
  DEFAULT_MAX_MESSAGE_LENGTH,
  HANDSHAKE_HEAD_LENGTH,
  PEER_ID_LENGTH
} from './constants.js';
import { ProtocolError } from './errors.js';
import { MessageId, decodeHandshakeHead, readU32, type HandshakeHead, type WireMessage } from './messages.js';

export interface FramerOptions {
  /** Expect a 68-byte handshake before the messages. Default false. */
  handshake?: boolean;
  /** Cap on a message's length prefix, bytes. Default 2^17 + 13. */
  maxMessageLength?: number;
  /** Cap on the length field of request/cancel/reject, bytes. Default 2^17. */
  maxBlockLength?: number;
  /** Number of pieces, when known: enables index checks and exact bitfield lengths. */
  pieceCount?: number;
  /** Fed chunks are overwritten after their items are handled (see above). Default false. */
  chunksReused?: boolean;
}

/** What `feed` returns: messages, the two handshake parts, or one final error. */
export type FrameItem =
  | WireMessage
  | { type: 'handshake_head'; head: HandshakeHead }
  | { type: 'handshake_peer_id'; peerId: Uint8Array }
  | { type: 'error'; error: ProtocolError };

type Stage = 'handshake_head' | 'handshake_peer_id' | 'length' | 'body' | 'failed';

const EMPTY = new Uint8Array(0);

/** A carry buffer larger than this is dropped when nothing is buffered: two 16 KiB blocks fit. */
const KEEP_IDLE = 32 * 1024 + 64;
/** The first carry buffer's size; it doubles (up to KEEP_IDLE, then exactly what is needed). */
const FIRST_CARRY = 4 * 1024;

/** Messages decoded into numbers only: nothing of their bytes is kept. */
const NO_VIEW_IDS: ReadonlySet<number> = new Set([
  MessageId.Choke,
  MessageId.Unchoke,
  MessageId.Interested,
  MessageId.NotInterested,
  MessageId.Have,
  MessageId.Request,
  MessageId.Cancel,
  MessageId.Port,
  MessageId.Suggest,
  MessageId.HaveAll,
  MessageId.HaveNone,
  MessageId.Reject,
  MessageId.AllowedFast
]);

export class WireFramer {
  private chunks: Uint8Array[] = [];
  /** Index of the first chunk with unread bytes, and the read offset inside it. */
  private head = 0;
  private offset = 0;
  private buffered = 0;
  private stage: Stage;
  private bodyLength = 0;
  private bodyChecked = false;
  private readonly maxMessageLength: number;
  private readonly maxBlockLength: number;
  private pieceCount: number | undefined;
  private readonly chunksReused: boolean;
  /**
   * chunksReused: the two carry buffers, and which one holds the queued carry (when the queue
   * is not empty, its one chunk is a view of that buffer from index 0).
   */
  private readonly carries: [Uint8Array, Uint8Array] = [EMPTY, EMPTY];
  private carry: 0 | 1 = 0;
  /** A carry buffer was written since the last `releaseIdle()`. */
  private carryUsed = false;

  constructor(options: FramerOptions = {}) {
    this.chunksReused = options.chunksReused ?? false;
    this.stage = options.handshake ? 'handshake_head' : 'length';
    this.maxMessageLength = options.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH;
    this.maxBlockLength = options.maxBlockLength ?? DEFAULT_MAX_BLOCK_LENGTH;
    if (options.pieceCount !== undefined) this.setPieceCount(options.pieceCount);
  }

  /** Bytes received but not yet parsed. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Bytes held by the carry buffers (chunksReused), used or not. */
  get retainedBytes(): number {
    return this.carries[0].length + this.carries[1].length;
  }

  /**
   * Drop the carry buffers if nothing is buffered and no feed has used them since the previous
   * call (so a busy connection keeps them: two calls must pass without a split message). Returns
   * the bytes released.
   */
  releaseIdle(): number {
    const used = this.carryUsed;
    this.carryUsed = false;
    if (used || this.buffered > 0) return 0;
    const released = this.retainedBytes;
    this.carries[0] = this.carries[1] = EMPTY;
    return released;
  }

  /** True after a protocol error: the framer ignores all further input. */
  get failed(): boolean {
    return this.stage === 'failed';
  }

  /** Set once the metadata is known: index checks and exact bitfield length from now on. */
  setPieceCount(pieceCount: number): void {
    if (!Number.isSafeInteger(pieceCount) || pieceCount < 0)
      throw new RangeError(`bad piece count ${pieceCount}`);
    this.pieceCount = pieceCount;
  }

  feed(chunk: Uint8Array): FrameItem[] {
    const out: FrameItem[] = [];
    if (this.stage === 'failed') return out;
    const hadCarry = this.chunksReused && this.buffered > 0;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    this.parse(out);
    if (this.chunksReused) this.keepTail(chunk, hadCarry);
    return out;
  }

  /**
   * chunksReused, at the end of a feed: what is still queued (one message's beginning) moves
   * into a carry buffer, so the queue is empty or one carry view when the next read comes.
   * `hadCarry`: the feed started with a carry, so views of its buffer may be in this feed's items.
   */
  private keepTail(chunk: Uint8Array, hadCarry: boolean): void {
    if (this.buffered === 0) {
      this.chunks = [];
      this.head = 0;
      this.offset = 0;
      for (const i of [0, 1] as const) if (this.carries[i].length > KEEP_IDLE) this.carries[i] = EMPTY;
      return;
    }
    const last = this.chunks.length - 1;
    if (this.chunks[last] !== chunk) return; // nothing fed (an empty chunk): the carry stands
    this.carryUsed = true;
    if (last > this.head) {
      // The carry is still incomplete (so nothing of it was handed out): this read joins it.
      const start = this.roomFor(this.offset, this.buffered);
      this.carries[this.carry].set(chunk, start + this.buffered - chunk.length);
      this.queueCarry(start, this.buffered);
      return;
    }
    // The tail is in this read only; a block completed in the carry may be in this feed's items.
    if (hadCarry) this.carry ^= 1;
    const tail = chunk.subarray(this.offset);
    if (tail.length > this.carries[this.carry].length)
      this.carries[this.carry] = grown(tail.length, this.carries[this.carry].length);
    this.carries[this.carry].set(tail);
    this.queueCarry(0, tail.length);
  }

  /** The queue is `length` bytes at `start` of the current carry buffer. */
  private queueCarry(start: number, length: number): void {
    this.chunks = [this.carries[this.carry].subarray(0, start + length)];
    this.head = 0;
    this.offset = start;
  }

  /**
   * Room for `total` bytes from the carried ones (the current carry buffer's bytes from `from`
   * on, up to the queued view's end): where they start, moved to the front or into a bigger
   * buffer if needed.
   */
  private roomFor(from: number, total: number): number {
    const buf = this.carries[this.carry];
    if (from + total <= buf.length) return from;
    const end = this.chunks[this.head]!.length;
    if (total <= buf.length) {
      buf.copyWithin(0, from, end);
    } else {
      const bigger = grown(total, buf.length);
      bigger.set(buf.subarray(from, end));
      this.carries[this.carry] = bigger;
    }
    return 0;
  }

  /**
   * chunksReused: `n` bytes that start in the carry (the head chunk) and end in the read after
   * it, completed in place in the carry buffer. The view is valid during this feed's turn.
   */
  private assemble(n: number): Uint8Array {
    const have = this.chunks[this.head]!.length - this.offset;
    const next = this.chunks[this.head + 1]!;
    const start = this.roomFor(this.offset, n);
    const buf = this.carries[this.carry];
    buf.set(next.subarray(0, n - have), start + have);
    this.advanceChunk(); // the carry is used up
    this.offset = n - have;
    if (this.offset === next.length) this.advanceChunk();
    return buf.subarray(start, start + n);
  }

  private parse(out: FrameItem[]): FrameItem[] {
    for (;;) {
      switch (this.stage) {
        case 'handshake_head': {
          if (this.buffered === 0) return out;
          if (this.peekByte() !== 19)
            return this.fail(out, new ProtocolError('bad-handshake', 'not a BitTorrent handshake'));
          if (this.buffered < HANDSHAKE_HEAD_LENGTH) return out;
          const head = decodeHandshakeHead(this.take(HANDSHAKE_HEAD_LENGTH));
          if (!head) return this.fail(out, new ProtocolError('bad-handshake', 'bad protocol string'));
          out.push({ type: 'handshake_head', head });
          this.stage = 'handshake_peer_id';
          break;
        }
        case 'handshake_peer_id':
          if (this.buffered < PEER_ID_LENGTH) return out;
          out.push({ type: 'handshake_peer_id', peerId: copyOf(this.take(PEER_ID_LENGTH)) });
          this.stage = 'length';
          break;
        case 'length': {
          if (this.buffered < 4) return out;
          const length = this.takeU32();
          if (length === 0) {
            out.push({ type: 'keep_alive' });
          } else if (length > this.limitFor(MessageId.Bitfield)) {
            return this.fail(out, new ProtocolError('message-too-long', `length prefix ${length}`));
          } else {
            this.stage = 'body';
            this.bodyLength = length;
            this.bodyChecked = false;
          }
          break;
        }
        case 'body': {
          if (!this.bodyChecked) {
            if (this.buffered === 0) return out;
            const id = this.peekByte();
            if (this.bodyLength > this.limitFor(id)) {
              return this.fail(
                out,
                new ProtocolError('message-too-long', `message ${id} of length ${this.bodyLength}`)
              );
            }
            this.bodyChecked = true;
          }
          if (this.buffered < this.bodyLength) return out;
          const id = this.peekByte();
          let parsed: WireMessage | ProtocolError;
          if (id === MessageId.Piece && this.bodyLength >= 9) {
            parsed = this.takePiece();
          } else {
            const body = this.take(this.bodyLength);
            const keep = this.chunksReused && !NO_VIEW_IDS.has(id) ? copyOf(body) : body;
            parsed = decodeMessageBody(keep, this.maxBlockLength, this.pieceCount);
          }
          if (parsed instanceof ProtocolError) return this.fail(out, parsed);
          out.push(parsed);
          this.stage = 'length';
          break;
        }
        default:
          return out;
      }
    }
  }

  private limitFor(id: number): number {
    if (id === MessageId.Bitfield && this.pieceCount !== undefined) {
      return Math.max(this.maxMessageLength, 1 + Math.ceil(this.pieceCount / 8));
    }
    return this.maxMessageLength;
  }

  private fail(out: FrameItem[], error: ProtocolError): FrameItem[] {
    this.stage = 'failed';
    this.chunks = [];
    this.carries[0] = this.carries[1] = EMPTY;
    this.head = 0;
    this.offset = 0;
    this.buffered = 0;
    out.push({ type: 'error', error });
    return out;
  }

  private peekByte(): number {
    return this.chunks[this.head]![this.offset]!;
  }

  private advanceChunk(): void {
    this.chunks[this.head] = EMPTY; // release the chunk's memory early
    this.head++;
    this.offset = 0;
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  /** Consume n buffered bytes (caller checked n <= buffered): a view if contiguous, else a copy. */
  private take(n: number): Uint8Array {
    if (n === 0) return EMPTY;
    this.buffered -= n;
    const first = this.chunks[this.head]!;
    if (first.length - this.offset >= n) {
      const view = first.subarray(this.offset, this.offset + n);
      this.offset += n;
      if (this.offset === first.length) this.advanceChunk();
      return view;
    }
    // Reused reads: the queue is a carry and this read. Otherwise views of the fed chunks may
    // be kept by the caller, so a message across chunks gets a buffer of its own.
    if (this.chunksReused) return this.assemble(n);
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[this.head]!;
      const m = Math.min(c.length - this.offset, n - filled);
      out.set(c.subarray(this.offset, this.offset + m), filled);
      filled += m;
      this.offset += m;
      if (this.offset === c.length) this.advanceChunk();
    }
    return out;
  }

  /**
   * A piece message read as header + block, so the block is a view whenever it lies in one
   * chunk even if the header does not (e.g. a writev'd header and block arriving separately).
   */
  private takePiece(): WireMessage | ProtocolError {
    const head = this.take(9);
    const index = readU32(head, 1);
    const begin = readU32(head, 5);
    const block = this.take(this.bodyLength - 9);
    if (this.pieceCount !== undefined && index >= this.pieceCount) {
      return new ProtocolError('bad-piece-index', `index ${index} >= piece count ${this.pieceCount}`);
    }
    return { type: 'piece', index, begin, block };
  }

  private takeU32(): number {
    const first = this.chunks[this.head]!;
    if (first.length - this.offset >= 4) {
      const v = readU32(first, this.offset);
      this.offset += 4;
      this.buffered -= 4;
      if (this.offset === first.length) this.advanceChunk();
      return v;
    }
    return readU32(this.take(4), 0);
  }
}

/** A carry buffer for `n` bytes replacing one of `previous` bytes: doubled up to KEEP_IDLE, exact beyond. */
function grown(n: number, previous: number): Uint8Array {
  return new Uint8Array(Math.max(n, Math.min(KEEP_IDLE, Math.max(FIRST_CARRY, 2 * previous))));
}

/** A copy in memory of its own (`slice` of a Buffer is a view, so it is not used for this). */
function copyOf(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

function badLength(id: number, length: number): ProtocolError {
  return new ProtocolError('bad-payload-length', `message ${id} with payload of ${length} bytes`);
}

/**
 * Decode one message body (id byte + payload, without the length prefix). Returns a
 * ProtocolError instead of throwing. Byte fields are views of `body`.
 */
export function decodeMessageBody(
  body: Uint8Array,
  maxBlockLength: number = DEFAULT_MAX_BLOCK_LENGTH,
  pieceCount?: number
): WireMessage | ProtocolError {
  const id = body[0];
  if (id === undefined) return new ProtocolError('bad-payload-length', 'empty message body');
  const n = body.length - 1;
  const checkIndex = (index: number): ProtocolError | null =>
    pieceCount !== undefined && index >= pieceCount
      ? new ProtocolError('bad-piece-index', `index ${index} >= piece count ${pieceCount}`)
      : null;
  switch (id) {
    case MessageId.Choke:
    case MessageId.Unchoke:
    case MessageId.Interested:
    case MessageId.NotInterested:
    case MessageId.HaveAll:
    case MessageId.HaveNone:
      if (n !== 0) return badLength(id, n);
      return { type: BARE_TYPES[id]! };
    case MessageId.Have:
    case MessageId.Suggest:
    case MessageId.AllowedFast: {
      if (n !== 4) return badLength(id, n);
      const index = readU32(body, 1);
      const type = id === MessageId.Have ? 'have' : id === MessageId.Suggest ? 'suggest' : 'allowed_fast';
      return checkIndex(index) ?? { type, index };
    }
    case MessageId.Bitfield:
      if (pieceCount !== undefined && n !== Math.ceil(pieceCount / 8)) return badLength(id, n);
      return { type: 'bitfield', bitfield: body.subarray(1) };
    case MessageId.Request:
    case MessageId.Cancel:
    case MessageId.Reject: {
      if (n !== 12) return badLength(id, n);
      const index = readU32(body, 1);
      const begin = readU32(body, 5);
      const length = readU32(body, 9);
      if (length === 0 || length > maxBlockLength) {
        return new ProtocolError('bad-block-length', `block length ${length}`);
      }
      const type = id === MessageId.Request ? 'request' : id === MessageId.Cancel ? 'cancel' : 'reject';
      return checkIndex(index) ?? { type, index, begin, length };
    }
    case MessageId.Piece: {
      if (n < 8) return badLength(id, n);
      const index = readU32(body, 1);
      return checkIndex(index) ?? { type: 'piece', index, begin: readU32(body, 5), block: body.subarray(9) };
    }
    case MessageId.Port:
      if (n !== 2) return badLength(id, n);
      return { type: 'port', port: (body[1]! << 8) | body[2]! };
    case MessageId.Extended:
      if (n < 1) return badLength(id, n);
      return { type: 'extended', extId: body[1]!, payload: body.subarray(2) };
    default:
      return { type: 'unknown', id, payload: body.subarray(1) };
  }
}

const BARE_TYPES: Partial<
  Record<number, 'choke' | 'unchoke' | 'interested' | 'not_interested' | 'have_all' | 'have_none'>
> = {
  [MessageId.Choke]: 'choke',
  [MessageId.Unchoke]: 'unchoke',
  [MessageId.Interested]: 'interested',
  [MessageId.NotInterested]: 'not_interested',
  [MessageId.HaveAll]: 'have_all',
  [MessageId.HaveNone]: 'have_none'
};
