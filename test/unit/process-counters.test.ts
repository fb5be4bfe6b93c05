/**
 * The swarm bench's explanation of its CPU (bench/lib/process-counters.ts): system calls and the
 * bytes they moved, and GC pauses by kind, counted from start() to read().
 */
import { describe, expect, it } from '@jest/globals';
import { closeSync, openSync, readSync } from 'node:fs';
import { getGc } from '../../bench/lib/gc.js';
import { MachineProbe } from '../../bench/lib/machine-probe.js';
import { ProcessCounters } from '../../bench/lib/process-counters.js';

const linux = process.platform === 'linux';

describe('ProcessCounters', () => {
  (linux ? it : it.skip)('counts the read system calls and bytes made after start()', () => {
    const c = new ProcessCounters();
    c.start();
    const fd = openSync('/proc/self/stat', 'r');
    const buf = Buffer.alloc(64);
    try {
      for (let i = 0; i < 50; i++) readSync(fd, buf, 0, 64, 0);
    } finally {
      closeSync(fd);
    }
    const r = c.read();
    c.stop();
    expect(r.syscr).toBeGreaterThanOrEqual(50);
    expect(r.rchar).toBeGreaterThanOrEqual(50 * 20);
    expect(r.minflt).toBeGreaterThanOrEqual(0);
  });

  it('counts full GCs by kind once the observer has seen them', async () => {
    const gc = getGc();
    const c = new ProcessCounters();
    c.start();
    gc();
    gc();
    // Performance entries are delivered asynchronously.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const r = c.read();
    c.stop();
    expect(r.gc_markCompact).toBeGreaterThanOrEqual(2);
    expect(r.gc_markCompactMs).toBeGreaterThan(0);
  });
});

describe('MachineProbe', () => {
  it('times a fixed unit of work in CPU milliseconds while running', async () => {
    const p = new MachineProbe(50);
    p.start();
    // ~20 samples due; 3 are asked for, so a loaded machine delaying the timer still passes.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const r = p.stop();
    expect(r.samples).toBeGreaterThanOrEqual(3);
    expect(r.medianMs).toBeGreaterThan(0);
    expect(r.meanMs).toBeGreaterThan(0);
    // Stopped: no more samples.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(p.stop().samples).toBe(r.samples);
  });
});
