/**
 * KRPC codec (BEP 5 + BEP 32 `want`/`nodes6`, BEP 33 scrape, BEP 42 `ip`, BEP 43 `ro`, BEP 44
 * get/put, BEP 51 samples):
 * datagram bytes <-> typed messages of ./types.ts. Pure: no sockets, no timers, no state.
 *
 * Two layers, validation at the boundary: bytes -> generic bencode values (strict scan, then
 * reader.ts) -> per-message schema checks -> typed message. `decodeMessage` never
 * throws. Policy: structural fields are strict (a wrong type or length rejects the message);
 * optional hints (`want`, `seed`, `noseed`, `v`, `ip`) are ignored when malformed.
 */
import { ID_LENGTH, MAX_DATAGRAM_RECV_BYTES, MAX_TID_BYTES, MAX_TOKEN_BYTES } from '../constants.js';
import { InvalidArgumentError } from '../errors.js';
import { readBencode } from './reader.js';
import { RawBencode, writeBencode, type BencodeValue } from './writer.js';
import { isCanonicalBencode, rawDictValue } from '../util/bencode-raw.js';
import { decodeCompactAddress } from '../net/compact-address.js';
import { decodeCompactNodes } from './compact.js';
import { MAX_VERSION_BYTES, writeResponse } from './response-writer.js';
import type { Address } from '../net/address.js';
import type { DecodeResult, Message, PutQuery, Query, ResponseBody, Want } from './types.js';

/**
 * KRPC needs depth 3 (message -> args -> want list); BEP 44 values nest inside their message,
 * so they may nest 9 deep themselves.
 */
const MAX_NESTING_DEPTH = 12;
/** Longest error message we surface, in characters. */
const MAX_ERROR_MESSAGE_CHARS = 256;
/** Longest unknown method name we surface, in characters. */
const MAX_METHOD_NAME_CHARS = 64;

const utf8 = new TextDecoder('utf-8'); // non-fatal: invalid sequences become U+FFFD

type Dict = Record<string, unknown>;

function isDict(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/** Own properties only: a `__proto__` key in the datagram must not make fields appear. */
function get(d: Dict, key: string): unknown {
  return Object.hasOwn(d, key) ? d[key] : undefined;
}

function isBytes(v: unknown, min = 0, max = Infinity): v is Uint8Array {
  return v instanceof Uint8Array && v.length >= min && v.length <= max;
}

/** A safe integer from a bencode value (number or bigint), else undefined. */
function safeInt(v: unknown): number | undefined {
  if (typeof v === 'bigint') {
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(v)
      : undefined;
  }
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v === 0 ? 0 : v; // fold -0
  return undefined;
}

function bytesToText(bytes: Uint8Array, maxChars: number): string {
  // Fast path for short ASCII (every method name we know): one char per byte, and no
  // TextDecoder call, which costs more than the rest of decoding a query.
  if (bytes.length <= maxChars && bytes.length <= 32) {
    let ascii = true;
    for (let i = 0; i < bytes.length && ascii; i++) ascii = bytes[i]! < 0x80;
    if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  return Array.from(utf8.decode(bytes)).slice(0, maxChars).join('');
}

const isId = (v: unknown): v is Uint8Array => isBytes(v, ID_LENGTH, ID_LENGTH);

// ---------------------------------------------------------------------------------------------
// Decoding

/** Decode one datagram. Never throws; on a query with bad arguments sets `queryTid` (-> 203). */
export function decodeMessage(data: Uint8Array): DecodeResult {
  try {
    return decodeChecked(data);
  } catch {
    // Unreachable by design (the guard validates first); kept so the socket loop is safe.
    return { ok: false, reason: 'decoder error' };
  }
}

function decodeChecked(data: Uint8Array): DecodeResult {
  if (!(data instanceof Uint8Array)) return { ok: false, reason: 'not bytes' };
  if (data.length > MAX_DATAGRAM_RECV_BYTES) return { ok: false, reason: 'datagram too large' };
  const root = readBencode(data, MAX_NESTING_DEPTH); // the strict scan first, see reader.ts
  if (root === undefined) return { ok: false, reason: 'not bencode' };
  if (!isDict(root)) return { ok: false, reason: 'not a dictionary' };

  const tid = get(root, 't');
  if (!isBytes(tid, 1, MAX_TID_BYTES)) return { ok: false, reason: 'bad transaction id' };
  const y = get(root, 'y');
  const kind = isBytes(y, 1, 1) ? String.fromCharCode(y[0]!) : '';
  const vRaw = get(root, 'v');
  const version = isBytes(vRaw, 0, MAX_VERSION_BYTES) ? vRaw : undefined;

  let message: Message;
  if (kind === 'q') {
    const query = decodeQuery(root, data);
    if (typeof query === 'string') return { ok: false, reason: query, queryTid: tid };
    message = { type: 'query', tid, query, readOnly: safeInt(get(root, 'ro')) === 1 };
  } else if (kind === 'r') {
    const body = decodeResponseBody(get(root, 'r'), data);
    if (typeof body === 'string') return { ok: false, reason: body };
    message = { type: 'response', tid, body };
    const ipRaw = get(root, 'ip');
    const ip = isBytes(ipRaw) ? decodeCompactAddress(ipRaw) : undefined;
    if (ip) message.ip = ip;
  } else if (kind === 'e') {
    const e = get(root, 'e');
    if (!Array.isArray(e)) return { ok: false, reason: 'error: e is not a list' };
    const code = safeInt(e[0]);
    if (code === undefined) return { ok: false, reason: 'error: bad code' };
    const msg: unknown = e[1];
    return {
      ok: true,
      message: {
        type: 'error',
        tid,
        code,
        message: isBytes(msg) ? bytesToText(msg, MAX_ERROR_MESSAGE_CHARS) : ''
      }
    };
  } else {
    return { ok: false, reason: 'bad message type y' };
  }
  if (version) message.version = version;
  return { ok: true, message };
}

/** BEP 32 `want`: keep only 'n4'/'n6' (deduplicated); ignore a malformed value. */
function decodeWant(v: unknown): Want[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: Want[] = [];
  for (const item of v) {
    if (!isBytes(item, 2, 2)) continue;
    const s = String.fromCharCode(item[0]!, item[1]!);
    if ((s === 'n4' || s === 'n6') && !out.includes(s)) out.push(s);
  }
  return out;
}

/** Optional integer flag -> boolean; undefined when absent or not an integer. */
function flag(v: unknown): boolean | undefined {
  const n = safeInt(v);
  return n === undefined ? undefined : n !== 0;
}

/** The typed query, or the reason it is invalid (the caller then answers 203). */
function decodeQuery(root: Dict, data: Uint8Array): Query | string {
  const q = get(root, 'q');
  if (!isBytes(q, 1)) return 'query: missing method name q';
  const a = get(root, 'a');
  if (!isDict(a)) return 'query: missing arguments a';
  const id = get(a, 'id');
  if (!isId(id)) return 'query: id is not 20 bytes';
  const name = bytesToText(q, MAX_METHOD_NAME_CHARS);
  const want = decodeWant(get(a, 'want'));

  switch (name) {
    case 'ping':
      return { method: 'ping', id };
    case 'find_node': {
      const target = get(a, 'target');
      if (!isId(target)) return 'find_node: target is not 20 bytes';
      return want ? { method: 'find_node', id, target, want } : { method: 'find_node', id, target };
    }
    case 'get_peers': {
      const infoHash = get(a, 'info_hash');
      if (!isId(infoHash)) return 'get_peers: info_hash is not 20 bytes';
      const query: Query = { method: 'get_peers', id, infoHash };
      if (want) query.want = want;
      const noseed = flag(get(a, 'noseed'));
      if (noseed !== undefined) query.noseed = noseed;
      if (flag(get(a, 'scrape'))) query.scrape = true;
      return query;
    }
    case 'announce_peer':
      return decodeAnnounce(a, id);
    case 'sample_infohashes': {
      const target = get(a, 'target');
      if (!isId(target)) return 'sample_infohashes: target is not 20 bytes';
      return { method: 'sample_infohashes', id, target };
    }
    case 'get': {
      const target = get(a, 'target');
      if (!isId(target)) return 'get: target is not 20 bytes';
      const query: Query = { method: 'get', id, target };
      const seq = optionalSeq(get(a, 'seq'));
      if (typeof seq === 'string') return `get: ${seq}`;
      if (seq !== undefined) query.seq = seq;
      if (want) query.want = want;
      return query;
    }
    case 'put':
      return decodePut(a, id, data);
    default: {
      // Unknown method: keep a 20-byte target so the caller may answer like find_node (BEP 5
      // says 204; BEP 51 forward compatibility relies on nodes answering with `nodes`).
      const target = get(a, 'target');
      return isId(target) ? { method: 'unknown', name, id, target } : { method: 'unknown', name, id };
    }
  }
}

function decodeAnnounce(a: Dict, id: Uint8Array): Query | string {
  const infoHash = get(a, 'info_hash');
  if (!isId(infoHash)) return 'announce_peer: info_hash is not 20 bytes';
  const impliedRaw = get(a, 'implied_port');
  const implied = impliedRaw === undefined ? 0 : safeInt(impliedRaw);
  if (implied === undefined) return 'announce_peer: implied_port is not an integer';
  const impliedPort = implied !== 0;
  const portRaw = get(a, 'port');
  const port = portRaw === undefined ? undefined : safeInt(portRaw);
  if (portRaw !== undefined && port === undefined) return 'announce_peer: port is not an integer';
  const portValid = port !== undefined && port >= 1 && port <= 65535;
  // With implied_port the source port is used instead, so `port` may be absent or anything.
  if (!impliedPort && !portValid) return 'announce_peer: port out of range 1..65535';
  const token = get(a, 'token');
  if (!isBytes(token, 1, MAX_TOKEN_BYTES)) return 'announce_peer: bad token';
  const query: Query = {
    method: 'announce_peer',
    id,
    infoHash,
    port: portValid ? port : 0,
    token,
    impliedPort
  };
  const seed = flag(get(a, 'seed'));
  if (seed !== undefined) query.seed = seed;
  return query;
}

/** An optional BEP 44 sequence number: undefined, a reason it is bad, or 0..2^53-1. */
function optionalSeq(raw: unknown, name = 'seq'): number | string | undefined {
  if (raw === undefined) return undefined;
  const n = safeInt(raw);
  // int64 seqs beyond 2^53 cannot be held exactly (BEP 44 lets a node refuse them).
  if (n === undefined) return `${name} is not an integer below 2^53`;
  return n < 0 ? `${name} is negative` : n;
}

/**
 * BEP 44 put. Only the shape is checked here (203 when wrong); sizes, signature, seq and cas
 * are storage rules with their own error codes (dht/item-handlers.ts). `v` is kept as the
 * exact bytes received, and must be canonical bencode: it is what is hashed and signed.
 */
function decodePut(a: Dict, id: Uint8Array, data: Uint8Array): Query | string {
  const token = get(a, 'token');
  if (!isBytes(token, 1, MAX_TOKEN_BYTES)) return 'put: bad token';
  const v = rawDictValue(data, ['a', 'v'], MAX_NESTING_DEPTH);
  if (v === undefined) return 'put: missing v';
  if (!isCanonicalBencode(v, MAX_NESTING_DEPTH)) return 'put: v is not canonical bencode';
  const query: Query = { method: 'put', id, token, v };
  const k = get(a, 'k');
  const sig = get(a, 'sig');
  if (k === undefined && sig === undefined) return query; // immutable: seq, salt, cas unused
  if (!isBytes(k, 32, 32)) return 'put: k is not a 32-byte public key';
  if (!isBytes(sig, 64, 64)) return 'put: sig is not a 64-byte signature';
  const seq = optionalSeq(get(a, 'seq'));
  if (seq === undefined) return 'put: mutable put without seq';
  if (typeof seq === 'string') return `put: ${seq}`;
  const cas = optionalSeq(get(a, 'cas'), 'cas');
  if (typeof cas === 'string') return `put: ${cas}`;
  const salt = get(a, 'salt');
  if (salt !== undefined && !isBytes(salt)) return 'put: salt is not a string';
  Object.assign(query, { k, sig, seq });
  if (cas !== undefined) query.cas = cas;
  if (salt !== undefined && salt.length > 0) query.salt = salt; // an empty salt is no salt
  return query;
}

function decodeResponseBody(r: unknown, data: Uint8Array): ResponseBody | string {
  if (!isDict(r)) return 'response: r is not a dictionary';
  const id = get(r, 'id');
  if (!isId(id)) return 'response: id is not 20 bytes';
  const body: ResponseBody = { id };

  for (const [key, family] of [
    ['nodes', 4],
    ['nodes6', 6]
  ] as const) {
    const raw = get(r, key);
    if (raw === undefined) continue;
    const nodes = isBytes(raw) ? decodeCompactNodes(raw, family) : undefined;
    if (!nodes) return `response: bad ${key}`;
    body[key] = nodes;
  }

  const values = get(r, 'values');
  if (values !== undefined) {
    if (!Array.isArray(values)) return 'response: values is not a list';
    // Bad entries are dropped, not fatal: the rest of the list is still useful.
    body.values = values.flatMap((v: unknown) => {
      const addr = isBytes(v) ? decodeCompactAddress(v) : undefined;
      return addr ? [addr] : [];
    });
  }

  const token = get(r, 'token');
  if (token !== undefined) {
    if (!isBytes(token, 1, MAX_TOKEN_BYTES)) return 'response: bad token';
    body.token = token;
  }

  const samples = get(r, 'samples');
  if (samples !== undefined) {
    if (!isBytes(samples) || samples.length % ID_LENGTH !== 0) return 'response: bad samples';
    body.samples = [];
    for (let off = 0; off < samples.length; off += ID_LENGTH)
      body.samples.push(samples.slice(off, off + ID_LENGTH));
  }

  for (const key of ['num', 'interval'] as const) {
    const raw = get(r, key);
    if (raw === undefined) continue;
    const n = safeInt(raw);
    if (n === undefined || n < 0) return `response: bad ${key}`;
    body[key] = n;
  }
  decodeStorageFields(r, data, body);
  return body;
}

/**
 * BEP 33 filters and BEP 44 item fields of a reply. They are data, not structure: a malformed
 * one is left out (the reply's nodes stay useful), and whoever uses an item verifies it.
 */
function decodeStorageFields(r: Dict, data: Uint8Array, body: ResponseBody): void {
  for (const key of ['BFsd', 'BFpe'] as const) {
    const filter = get(r, key);
    if (isBytes(filter, 256, 256)) body[key] = filter;
  }
  const k = get(r, 'k');
  if (isBytes(k, 32, 32)) body.k = k;
  const sig = get(r, 'sig');
  if (isBytes(sig, 64, 64)) body.sig = sig;
  const seq = optionalSeq(get(r, 'seq'));
  if (typeof seq === 'number') body.seq = seq;
  if (get(r, 'v') !== undefined) {
    const v = rawDictValue(data, ['r', 'v'], MAX_NESTING_DEPTH);
    if (v !== undefined) body.v = v;
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding. Inputs come from our own code; a bad one is a programmer error and throws.

function invalid(message: string): never {
  throw new InvalidArgumentError('ERR_INVALID_ARGUMENT', message);
}

function checkBytes(name: string, v: unknown, min: number, max: number): Uint8Array {
  if (!isBytes(v, min, max))
    invalid(`${name} must be a Uint8Array of ${min === max ? min : `${min}..${max}`} bytes`);
  return v;
}

const checkId = (name: string, v: unknown): Uint8Array => checkBytes(name, v, ID_LENGTH, ID_LENGTH);

function checkInt(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    invalid(`${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
  return v;
}

function encodeWant(want: readonly Want[]): string[] {
  for (const w of want)
    if (w !== 'n4' && w !== 'n6') invalid(`want entries must be 'n4' or 'n6', got ${String(w)}`);
  return [...want];
}

/** Wrap the message, add the shared top-level keys, and bencode it (keys sorted). */
function finish(tid: Uint8Array, fields: Dict, version: Uint8Array | undefined): Uint8Array {
  const msg: Dict = { t: checkBytes('tid', tid, 1, MAX_TID_BYTES), ...fields };
  if (version !== undefined) msg.v = checkBytes('version', version, 0, MAX_VERSION_BYTES);
  return writeBencode(msg as BencodeValue);
}

/** Encode a query. `readOnly` adds BEP 43 `ro: 1`. */
export function encodeQuery(
  tid: Uint8Array,
  query: Query,
  opts: { readOnly?: boolean; version?: Uint8Array } = {}
): Uint8Array {
  const a: Dict = { id: checkId('id', query.id) };
  let name: string = query.method;
  switch (query.method) {
    case 'ping':
      break;
    case 'find_node':
    case 'sample_infohashes':
      a.target = checkId('target', query.target);
      if (query.method === 'find_node' && query.want) a.want = encodeWant(query.want);
      break;
    case 'get_peers':
      a.info_hash = checkId('infoHash', query.infoHash);
      if (query.want) a.want = encodeWant(query.want);
      if (query.noseed !== undefined) a.noseed = query.noseed ? 1 : 0;
      if (query.scrape) a.scrape = 1;
      break;
    case 'get':
      a.target = checkId('target', query.target);
      if (query.seq !== undefined) a.seq = checkInt('seq', query.seq, 0, Number.MAX_SAFE_INTEGER);
      if (query.want) a.want = encodeWant(query.want);
      break;
    case 'put':
      encodePutArgs(query, a);
      break;
    case 'announce_peer':
      a.info_hash = checkId('infoHash', query.infoHash);
      // With implied_port the port is still sent (BEP 5 example does), and may be 0.
      a.port = checkInt('port', query.port, query.impliedPort ? 0 : 1, 65535);
      if (query.impliedPort) a.implied_port = 1;
      a.token = checkBytes('token', query.token, 1, MAX_TOKEN_BYTES);
      if (query.seed !== undefined) a.seed = query.seed ? 1 : 0;
      break;
    case 'unknown':
      if (typeof query.name !== 'string' || query.name.length === 0)
        invalid('unknown query needs a method name');
      name = query.name;
      if (query.target !== undefined) a.target = checkId('target', query.target);
      break;
    default:
      invalid(`unsupported query method ${String((query as { method: unknown }).method)}`);
  }
  const fields: Dict = { y: 'q', q: name, a };
  if (opts.readOnly) fields.ro = 1;
  return finish(tid, fields, opts.version);
}

/** BEP 44 put arguments; `v` goes out as the exact bytes given (they are signed/hashed). */
function encodePutArgs(query: PutQuery, a: Dict): void {
  a.token = checkBytes('token', query.token, 1, MAX_TOKEN_BYTES);
  a.v = new RawBencode(checkBytes('v', query.v, 1, MAX_DATAGRAM_RECV_BYTES));
  if (query.k === undefined && query.sig === undefined) return;
  a.k = checkBytes('k', query.k, 32, 32);
  a.sig = checkBytes('sig', query.sig, 64, 64);
  a.seq = checkInt('seq', query.seq, 0, Number.MAX_SAFE_INTEGER);
  if (query.cas !== undefined) a.cas = checkInt('cas', query.cas, 0, Number.MAX_SAFE_INTEGER);
  if (query.salt !== undefined && query.salt.length > 0) a.salt = checkBytes('salt', query.salt, 1, 1000);
}

/**
 * Encode a response (see response-writer.ts: nodes go to `nodes` / `nodes6` by address
 * family, an explicitly empty list is sent as an empty string, `opts.ip` (BEP 42) is omitted
 * when it is not an IP literal with a port in 1..65535). Callers keep replies under
 * MAX_DATAGRAM_SEND_BYTES (BEP 32) by trimming nodes/values before encoding.
 */
export function encodeResponse(
  tid: Uint8Array,
  body: ResponseBody,
  opts: { ip?: Address | undefined; version?: Uint8Array | undefined } = {}
): Uint8Array {
  return writeResponse(tid, body, opts.ip, opts.version);
}

/** Encode a KRPC error (201 generic, 202 server, 203 protocol, 204 method unknown). */
export function encodeError(tid: Uint8Array, code: number, message: string): Uint8Array {
  checkInt('code', code, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (typeof message !== 'string') invalid('error message must be a string');
  return finish(tid, { y: 'e', e: [code, message] }, undefined);
}
