/**
 * Network sizes for the simulation tests. The default run (`npm test`, CI) uses sizes that fit
 * the 10-minute suite on a loaded 2-core machine; `TRACKERLESS_SIM_FULL=1` (npm run test:sim:full)
 * runs the sizes the docs quote. The assertions are the same at both sizes.
 */
export const SIM_FULL = process.env.TRACKERLESS_SIM_FULL === '1';

/** `full` nodes when TRACKERLESS_SIM_FULL=1, otherwise `ci`. */
export function simSize(ci: number, full: number): number {
  return SIM_FULL ? full : ci;
}
