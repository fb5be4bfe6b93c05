/**
 * The Sybil scenario on real UDP (issue 8, scenario 2): 100 ports on one loopback address
 * around X, honest nodes each on their own /24 of 127/8, protections on as on the internet
 * (exempt: 'none'). Every fresh node still finds the stored peer. The figures with the
 * protections on and off come from bench/dht-sybil-loopback.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { runLoopbackSybil } from '../../bench/lib/sybil-loopback.js';

describe('Sybil cloud on loopback', () => {
  it('fresh nodes find the peer stored for X despite 100 Sybil ports around it', async () => {
    const r = await runLoopbackSybil({ honest: 40, sybils: 100, lookups: 20, sharedBits: 150, seed: 3 });
    expect(r.tablesWithSybils).toBeGreaterThan(0); // the cloud did get in
    expect(r.found).toBe(r.lookups);
  }, 120_000);
});
