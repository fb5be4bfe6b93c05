/**
 * A V8 heap setting for a process that moves data: keep the young generation at its initial
 * size instead of letting V8 double it (up to 16 MiB per semi-space) as objects survive
 * scavenges.
 *
 * Why: V8 starts a full (incremental) mark-compact whenever the room left below the old
 * generation's limit is no more than the young generation's capacity. A client's old generation
 * is small (~8 MB live), and the limit V8 sets after a mark-compact leaves it ~16 MB of room:
 * once the young generation has grown to 2 x 8 MiB, every scavenge is followed by a full
 * mark-compact. Measured on the uTP downloader (128 MiB, bench/engine-bench.ts): 19 scavenges
 * and 19 mark-compacts per run, ~3 CPU-s per GiB of GC (most of it concurrent marking on V8's
 * helper threads); with the young generation kept at 1 MiB, ~120 cheap scavenges and one
 * mark-compact (docs/benchmarks.md, uTP section).
 *
 * Process-wide, so the library never does it by itself: the CLI's transfer commands call it at
 * start-up, and an application embedding the engine may (or start Node with
 * `--max-semi-space-size=4`, which has the same effect and can only be given on the command
 * line).
 */
import v8 from 'node:v8';

/** Stop the young generation from growing (V8's `--semi-space-growth-factor=1`). */
export function keepYoungGenerationSmall(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}
