/**
 * Small byte strings a process keeps for long (each DHT node's own id), copied into shared
 * chunks: a 20-byte Uint8Array of its own costs ~225 bytes of heap (the view, its ArrayBuffer
 * object, and the bytes themselves, which V8 keeps on the heap for arrays this small); a view
 * into a chunk ~96 bytes, and its bytes off the heap. Node's own Buffers share pools the same
 * way. Bytes handed out are never written again here; a chunk lives as long as any view into it.
 */
const CHUNK_BYTES = 2048;
/** Larger strings get an array of their own (a chunk is for many small ones). */
const MAX_KEPT = 64;

let chunk = new ArrayBuffer(CHUNK_BYTES);
let used = 0;

/** A copy of `bytes` that shares its ArrayBuffer with other kept copies. */
export function keepBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.length > MAX_KEPT) return bytes.slice();
  if (used + bytes.length > CHUNK_BYTES) {
    chunk = new ArrayBuffer(CHUNK_BYTES);
    used = 0;
  }
  const copy = new Uint8Array(chunk, used, bytes.length);
  copy.set(bytes);
  used += bytes.length;
  return copy;
}
