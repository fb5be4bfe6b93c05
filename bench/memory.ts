/**
 * Memory scenario driver: each measurement in a fresh `node --expose-gc --single-threaded`
 * child process (memory-child.ts). Single-threaded: with V8's background compiler and GC
 * threads the moment optimised code lands on the heap varies from run to run (+-60 B per node
 * at 200 nodes, the same seed and warm-up); on one thread a child's figure is the same every
 * time. It changes when work is done, not what an object costs.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ImplName } from './lib/impls.js';

export interface MemoryOptions {
  impl: ImplName;
  nodes: number;
  entries: number;
  peers: number;
  infohashes: number;
  seed: number;
  /** Nodes made, used and destroyed before the baseline (memory-child.ts). */
  warmup: number;
}

export interface MemoryResult {
  impl: ImplName;
  nodes: number;
  entries: number;
  tableSizeMin: number;
  tableSizeMax: number;
  heapPerNodeBytes: number;
  arrayBuffersPerNodeBytes: number;
  peers: number;
  infohashes: number;
  stored: number;
  heapPerPeerBytes: number;
}

export function runMemory(opts: MemoryOptions): Promise<MemoryResult> {
  const script = fileURLToPath(new URL('./memory-child.js', import.meta.url));
  const args = [
    '--expose-gc',
    '--single-threaded',
    script,
    '--impl',
    opts.impl,
    '--nodes',
    String(opts.nodes),
    '--entries',
    String(opts.entries),
    '--peers',
    String(opts.peers),
    '--infohashes',
    String(opts.infohashes),
    '--seed',
    String(opts.seed),
    '--warmup',
    String(opts.warmup)
  ];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: 180_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`memory child failed: ${err.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()!) as MemoryResult);
      } catch (e) {
        reject(new Error(`memory child output not JSON: ${stdout}\n${stderr}`));
      }
    });
  });
}
