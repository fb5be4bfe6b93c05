/**
 * Shared empty collections for per-node structures most nodes never fill (stores, vote tables,
 * pending sets): such a field starts as one of these and gets a collection of its own on its
 * first write, so an idle node pays nothing for it (an empty Map costs ~290 bytes of heap).
 * Typed read-only, so writing to the shared one does not compile.
 */
export const EMPTY_MAP: ReadonlyMap<never, never> = new Map<never, never>();
export const EMPTY_SET: ReadonlySet<never> = new Set<never>();
