/**
 * Fuzzing of the peer wire in CI, a few thousand cases (the same script runs a million when
 * asked): fuzzed inbound streams into a seeding engine and a magnet-only engine (framer,
 * PeerWire, BEP 6/10, ut_metadata, ut_pex, the torrent's policies) and mutated MSE handshakes
 * into our responder. It runs as the built scripts/fuzz-wire.js in a child process: under
 * jest's module VM the same cases run some hundred times slower. Nothing may throw, stay
 * unsettled or connected; no unhandled rejection (the script's exit code); the cases reach
 * every layer (closures and bans counted).
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { ROOT, Spawner, ensureBuilt } from '../support/cli-process.js';

const SCRIPT = join(ROOT, 'dist/scripts/fuzz-wire.js');
const procs = new Spawner();

beforeAll(() => ensureBuilt([SCRIPT]), 200_000);

describe('peer wire fuzzing', () => {
  it('5,000 fuzzed inbound streams and 300 mutated MSE handshakes: no throw, all settled, nothing left', async () => {
    const r = await procs.run(SCRIPT, ['--cases', '5000', '--mse', '300', '--seed', '7'], 120_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const wire = /wire: 5000 cases .*closed by the engines (\d+), bans (\d+), thrown 0, peers left 0;/.exec(
      r.stdout
    );
    expect(wire).not.toBeNull();
    expect(Number(wire![1])).toBeGreaterThan(2_000);
    expect(Number(wire![2])).toBeGreaterThan(1_000);
    const mse = /mse: 300 handshakes .*accepted (\d+), rejected (\d+), unsettled 0;/.exec(r.stdout);
    expect(mse).not.toBeNull();
    expect(Number(mse![1])).toBeGreaterThan(10);
    expect(Number(mse![2])).toBeGreaterThan(50);
    expect(r.stdout).toMatch(/^unhandled rejections: 0$/m);
  }, 150_000);
});
