import { describe, expect, it } from '@jest/globals';
import { Admission, MAX_VERIFYING } from '../../lib/dht/admission.js';
import { RoutingTable } from '../../lib/routing/routing-table.js';
import { randomIdWithPrefix } from '../../lib/id/node-id.js';
import { seededRandom } from '../../lib/util/random.js';
import { NODE_GOOD_MS } from '../../lib/constants.js';
import type { Address } from '../../lib/net/address.js';
import type { NodeInfo } from '../../lib/krpc/types.js';

const rnd = seededRandom(7);
let port = 2000;

/** An Admission over a real routing table, with pings answered (or not) on demand. */
function setup() {
  const now = { t: 1 };
  const localId = rnd.bytes(20);
  const table = new RoutingTable({
    localId,
    owner: { now: () => now.t, isOwn: (a) => a.host === '10.9.9.9' && a.port === 9 }
  });
  const pings: { to: Address; expectedId: Uint8Array | undefined; answer(): void; fail(): void }[] = [];
  const added: NodeInfo[] = [];
  let closed = false;
  const admission = new Admission({
    table,
    ping: (to, expectedId) =>
      new Promise<void>((resolve, reject) =>
        pings.push({ to, expectedId, answer: resolve, fail: () => reject(new Error('timeout')) })
      ),
    onAdded: (n) => added.push(n),
    isOwn: (a) => a.host === '10.9.9.9' && a.port === 9,
    isClosed: () => closed
  });
  const far = (): NodeInfo => ({ id: randomIdWithPrefix(localId, 0, rnd), host: '10.0.0.1', port: port++ });
  return { table, admission, pings, added, now, far, close: () => (closed = true) };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('Admission (BEP 5 liveness)', () => {
  it('admits a node that answered and reports it', () => {
    const { admission, table, added, far } = setup();
    const n = far();
    admission.answered(n);
    expect(table.get(n.id)).not.toBeNull();
    expect(added).toEqual([n]);
  });

  it('full bucket: pings the questionable member; replaces it only if the ping fails', async () => {
    const { admission, table, pings, added, now, far } = setup();
    const members = Array.from({ length: 8 }, far);
    for (const m of members) admission.answered(m);
    now.t += NODE_GOOD_MS + 1;

    const kept = far();
    admission.answered(kept);
    expect(pings).toHaveLength(1);
    const first = pings[0]!;
    expect(first.expectedId).toBeDefined();
    first.answer();
    await settle();
    expect(table.get(kept.id)).toBeNull();
    expect(admission.pending).toBe(0);

    const newcomer = far();
    admission.answered(newcomer);
    const second = pings[1]!;
    second.fail();
    await settle();
    expect(table.get(newcomer.id)).not.toBeNull();
    expect(table.get(second.expectedId!)).toBeNull();
    expect(added.at(-1)).toEqual(newcomer);
  });

  it('a querier is pinged only for a free slot, once, never ourselves, and never after close', async () => {
    const { admission, pings, far, close } = setup();
    const q = far();
    admission.queried(q);
    admission.queried(q); // duplicate while the first ping is in flight
    admission.queried({ id: rnd.bytes(20), host: '10.9.9.9', port: 9 });
    expect(pings.map((p) => p.to.port)).toEqual([q.port]);
    expect(pings[0]!.expectedId).toBeUndefined();
    pings[0]!.answer();
    await settle();
    expect(admission.pending).toBe(0);
    close();
    admission.queried(far());
    expect(pings).toHaveLength(1);
  });

  it('bounds verifications in flight', () => {
    const { admission, pings } = setup();
    for (let i = 0; i < MAX_VERIFYING * 3; i++)
      admission.queried({ id: rnd.bytes(20), host: `10.1.${i >> 8}.${i & 255}`, port: 6881 });
    expect(pings.length).toBe(MAX_VERIFYING);
    expect(admission.pending).toBe(MAX_VERIFYING);
  });
});
