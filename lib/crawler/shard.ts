/**
 * Keyspace split between crawlers sharing one database: a node belongs to shard
 * fnv1a(ip) mod count. Splitting by target IP rather than by node id keeps politeness global:
 * every node behind one IP is asked by one crawler only, so the per-IP query limit holds for
 * the whole fleet, and no two crawlers ask the same node. Each shard has its own saved crawl
 * state (schedule, frontier), so a restarted crawler resumes its shard exactly.
 */

/** FNV-1a, 32 bits: fast, stable across processes and versions (the split must not move). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export function shardOf(host: string, count: number): number {
  return count <= 1 ? 0 : fnv1a(host.toLowerCase()) % count;
}

export function inShard(host: string, shard: { index: number; count: number }): boolean {
  return shard.count <= 1 || shardOf(host, shard.count) === shard.index;
}
