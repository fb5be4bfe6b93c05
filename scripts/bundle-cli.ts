/**
 * Build step after tsc (`npm run build`): the `trackerless` program as a few bundled files in
 * dist/cli (package.json `bin`: dist/cli/main.js), made from the compiled dist/lib/cli/main.js.
 *
 * Why: Node 20's ES module loader resolves, reads and links each module file on its own, and
 * the download command's graph is ~180 files (ours and our dependencies'). Loading it cost
 * ~0.28 CPU-s per run against ~0.13 for an empty `node -e 0`, a sixth of a whole 256 MiB
 * magnet download; bundled, a download's start-up costs ~0.2 CPU-s (docs/benchmarks.md, "Magnet
 * -> file CPU"). Node 20 has no module compile cache to ask for instead.
 *
 * Code splitting keeps the CLI's load-on-use design (command-table.ts): each command is its own
 * chunk, shared code in common chunks, so `download` still does not load the crawler or SQLite.
 * The library (`import 'trackerless'`) is not bundled: it stays the dist/lib module tree.
 *
 *   node dist/scripts/bundle-cli.js
 */
import { build } from 'esbuild';
import { chmodSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = join(ROOT, 'dist/cli');

const result = await build({
  entryPoints: { main: join(ROOT, 'dist/lib/cli/main.js') },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Native addons and optional database drivers load from node_modules at run time, as before.
  external: ['better-sqlite3', 'pg'],
  // CommonJS dependencies (commander, k-bucket) call require() for Node's built-in modules.
  banner: {
    js: "import { createRequire as __cliRequire } from 'node:module'; const require = __cliRequire(import.meta.url);"
  },
  logLevel: 'warning',
  metafile: true
});
// Chunks are named by content hash: drop those of earlier builds. Files are replaced in place,
// never the whole directory first, so a CLI started meanwhile (a test run) finds its files.
const written = new Set(Object.keys(result.metafile.outputs).map((f) => join(ROOT, f)));
for (const name of readdirSync(OUT)) if (!written.has(join(OUT, name))) rmSync(join(OUT, name));
chmodSync(join(OUT, 'main.js'), 0o755);
