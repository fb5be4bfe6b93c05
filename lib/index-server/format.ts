/** Display formats shared by the pages and the feeds. */
import { toMagnet } from '../magnet/magnet.js';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** 2026-12-06 14:03 UTC */
export function formatDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

export function magnetFor(infoHashHex: string, name: string | null): string {
  return toMagnet({ infoHash: infoHashHex, ...(name ? { name } : {}) });
}

/** A 40-digit hex infohash from a URL segment, or null. */
export function parseInfoHashParam(s: string): Uint8Array | null {
  return /^[0-9a-fA-F]{40}$/.test(s) ? new Uint8Array(Buffer.from(s, 'hex')) : null;
}
