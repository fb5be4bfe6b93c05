/**
 * No reflection: for every kind of datagram, the bytes our node sends back per byte received,
 * at their worst (smallest possible query, fullest possible reply). The bounds below are the
 * ones docs/security.md states; with the per-IP inbound limit they cap what one spoofed
 * address can have reflected at it.
 */
import { describe, expect, it } from '@jest/globals';
import { measureAmplification } from '../../bench/lib/amplification.js';
import { MAX_ITEM_DATAGRAM_BYTES } from '../../lib/constants.js';

/** Upper bound on reply bytes per query byte, per datagram kind (docs/security.md). */
const BOUNDS: Record<string, number> = {
  ping: 1.5,
  find_node: 4,
  'get_peers (50 peers stored)': 8,
  'get_peers (none stored)': 4,
  'get_peers with BEP 33 scrape': 9,
  'announce_peer (valid token)': 1,
  'announce_peer (bad token: error 203)': 1,
  sample_infohashes: 8,
  'BEP 44 get (1000-byte item stored)': 16,
  'BEP 44 get (nothing stored)': 4,
  'BEP 44 put (bad token: error 203)': 1.5,
  'unknown method with a target': 4,
  'unknown method without target (204)': 1,
  'bad arguments (203)': 1.5,
  'garbage / truncated bencode': 0,
  'reply with an unknown transaction': 0
};

describe('amplification', () => {
  it('every datagram kind stays within its stated bytes-out-per-byte-in bound, one datagram at most', async () => {
    const rows = await measureAmplification();
    expect(rows.map((r) => r.datagram).sort()).toEqual(Object.keys(BOUNDS).sort());
    for (const r of rows) {
      expect({ datagram: r.datagram, within: r.ratio <= BOUNDS[r.datagram]! }).toEqual({
        datagram: r.datagram,
        within: true
      });
      // One datagram of BEP 32's 1024 bytes; a reply carrying a BEP 44 value may use up to the
      // 1500-byte limit (MAX_ITEM_DATAGRAM_BYTES), as a 1000-byte value cannot fit 1024.
      expect(r.replyBytes).toBeLessThanOrEqual(
        r.datagram.startsWith('BEP 44 get (1000') ? MAX_ITEM_DATAGRAM_BYTES : 1024
      );
    }
    // The replies that carry data really are full: the bound is measured at the worst case.
    const full = rows.find((r) => r.datagram === 'get_peers (50 peers stored)')!;
    expect(full.replyBytes).toBeGreaterThan(600);
    const item = rows.find((r) => r.datagram === 'BEP 44 get (1000-byte item stored)')!;
    expect(item.replyBytes).toBeGreaterThan(1000);
  }, 60_000);
});
