/** Units and console output shared by the engine benchmark's sections. */
import { fmt } from '../lib/stats.js';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export const log = (s: string): void => console.log(s);
export const mib = (bytes: number): string => `${fmt(bytes / MiB)} MiB`;
export const mibOrKib = (n: number): string =>
  n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`;
