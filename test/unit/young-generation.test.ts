/**
 * keepYoungGenerationSmall: the V8 flag it sets, and that this Node's V8 honours that flag when
 * it is set at run time (a Node upgrade that ignored it would silently bring back a full
 * mark-compact per scavenge in transfers: util/young-generation.ts).
 */
import { describe, expect, it, jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';

const flags: string[] = [];
jest.unstable_mockModule('node:v8', () => ({
  default: { setFlagsFromString: (f: string) => flags.push(f) }
}));
const { keepYoungGenerationSmall } = await import('../../lib/util/young-generation.js');

/** The young generation's size after allocating with survivors, in a fresh process. */
function newSpaceBytes(flag: string | null): number {
  const script = `
    import v8 from 'node:v8';
    ${flag === null ? '' : `v8.setFlagsFromString(${JSON.stringify(flag)});`}
    const keep = [];
    for (let i = 0; i < 2e6; i++) {
      const o = { a: i, b: [i] };
      if (i % 50 === 0) keep.push(o);
      if (keep.length > 20000) keep.splice(0, 10000);
    }
    const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
    process.stdout.write(String(s.space_size));`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

describe('keepYoungGenerationSmall', () => {
  it('stops the young generation from growing', () => {
    keepYoungGenerationSmall();
    expect(flags).toEqual(['--semi-space-growth-factor=1']);
    const grown = newSpaceBytes(null);
    const kept = newSpaceBytes(flags[0]!);
    expect(kept).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(grown).toBeGreaterThanOrEqual(4 * kept);
  });
});
