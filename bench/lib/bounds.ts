/**
 * Lower bounds on the time to distribute a file of F bytes from one server/seed to N clients
 * (Kurose & Ross, "Computer Networking", ch. 2.5): server upload u_s, client uploads u_i,
 * slowest client download d_min (rates in bytes/s, times in s).
 *   client-server: D_cs  >= max(N·F/u_s, F/d_min)
 *   peer-to-peer:  D_p2p >= max(F/u_s, F/d_min, N·F/(u_s + Σu_i))
 * An unlimited download (d_min undefined) drops the F/d_min term.
 */
export interface Rates {
  /** Seed (server) upload, bytes/s. */
  uS: number;
  /** Upload of each downloader, bytes/s (all equal here). */
  uI: number;
  /** Slowest download, bytes/s; undefined = unlimited. */
  dMin?: number;
}

export function dP2P(F: number, n: number, r: Rates): number {
  return Math.max(F / r.uS, r.dMin ? F / r.dMin : 0, (n * F) / (r.uS + n * r.uI));
}

export function dCS(F: number, n: number, r: Rates): number {
  return Math.max((n * F) / r.uS, r.dMin ? F / r.dMin : 0);
}
