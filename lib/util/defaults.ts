/**
 * Options merged over frozen defaults without a per-owner copy when nothing differs: most
 * owners (a DHT node's limiter, its protections) run on the defaults, and a copy of a
 * 7-field options object costs ~80 bytes on every one of them.
 */
export function withDefaults<T extends object>(
  defaults: Readonly<T>,
  opts: Partial<T> | undefined
): Readonly<T> {
  if (opts === undefined || opts === defaults) return defaults;
  for (const key of Object.keys(opts) as (keyof T)[]) {
    const value = opts[key];
    if (value !== undefined && value !== defaults[key]) return { ...defaults, ...definedOnly(opts) };
  }
  return defaults;
}

/** `opts` without its undefined values (a spread would let them override the defaults). */
function definedOnly<T extends object>(opts: Partial<T>): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(opts) as (keyof T)[]) if (opts[key] !== undefined) out[key] = opts[key];
  return out;
}
