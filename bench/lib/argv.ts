/** The benchmarks' command-line flags: `--name` switches and `--name value` options. */
export interface ArgvReader {
  flag(name: string): boolean;
  value(name: string): string | undefined;
  /** A positive number, `dflt` when absent; anything else is an error naming the flag. */
  num(name: string, dflt: number): number;
}

export function argvReader(argv: string[]): ArgvReader {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    flag: (name) => argv.includes(`--${name}`),
    value,
    num(name, dflt) {
      const v = value(name);
      if (v === undefined) return dflt;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number`);
      return n;
    }
  };
}
