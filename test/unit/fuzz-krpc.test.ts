/**
 * Fuzzing in CI (a few thousand cases; scripts/fuzz-dht.ts runs millions): the KRPC codec
 * never throws and round-trips what it accepts; a node fed fuzzed datagrams from many
 * addresses keeps every reply within one datagram, its state bounded, and keeps answering.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { checkCodec, fuzzDatagram, fuzzNode, validDatagrams } from '../../bench/lib/krpc-fuzz.js';
import { seededRandom } from '../../lib/util/random.js';
import { MAX_INFLIGHT_QUERIES } from '../../lib/constants.js';

const rejections: unknown[] = [];
const onRejection = (reason: unknown): void => {
  rejections.push(reason);
};
beforeAll(() => {
  process.on('unhandledRejection', onRejection);
});
afterAll(() => {
  process.off('unhandledRejection', onRejection);
});

describe('fuzzing', () => {
  it('KRPC codec: 5,000 fuzzed datagrams, never a throw, accepted messages round-trip', () => {
    const rnd = seededRandom(1);
    const seeds = validDatagrams(rnd);
    const failures: string[] = [];
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      const data = fuzzDatagram(rnd, seeds);
      const problem = checkCodec(data);
      if (problem) failures.push(`${problem}: ${Buffer.from(data).toString('hex')}`);
    }
    for (const s of seeds) if (checkCodec(s) === null) accepted++;
    expect(failures).toEqual([]);
    expect(accepted).toBe(seeds.length);
  });

  it.each(['exempt', 'on'] as const)(
    'inbound path (limits %s): 3,000 fuzzed datagrams from 500 addresses; bounded, answering',
    async (limits) => {
      const r = await fuzzNode({ seed: 2, cases: 3000, sources: 500, limits });
      expect(r.aliveAfter).toBe(true);
      expect(r.largestSent).toBeLessThanOrEqual(1024);
      expect(r.stats.inflight).toBeLessThanOrEqual(MAX_INFLIGHT_QUERIES);
      // Something got through to every layer: bad arguments answered, some queries served.
      expect(r.stats.badArguments + r.stats.malformed).toBeGreaterThan(500);
      expect(r.stats.repliesSent).toBeGreaterThan(100);
      expect(rejections).toEqual([]);
    },
    60_000
  );
});
