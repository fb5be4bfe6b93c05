/**
 * Joining the DHT from what we already know (DhtJoin), in virtual time over a scripted DHT:
 * sources are tried in their order, the routers last (and not before their delay when other
 * sources may still speak up), the first answer is reported with its source, and a node the
 * routers never answer still joins when a later source offers a live node.
 */
import { describe, expect, it } from '@jest/globals';
import { DhtJoin, type JoinSource } from '../../lib/swarm/dht-join.js';
import { formatAddress, type Address } from '../../lib/net/address.js';
import { FakeClock } from '../support/fake-clock.js';

const node = (i: number): Address => ({ host: `10.0.0.${i}`, port: 6881 });

/** A DHT whose pings answer (or fail) after `rttMs` of virtual time, per address. */
class ScriptedDht {
  readonly nodeId = new Uint8Array(20).fill(7);
  readonly pinged: string[] = [];
  readonly added: string[] = [];
  findNodes = 0;
  constructor(
    private readonly clock: FakeClock,
    private readonly live: Set<string>,
    private readonly rttMs = 100
  ) {}
  ping(a: Address): Promise<Uint8Array> {
    const key = formatAddress(a);
    this.pinged.push(key);
    return new Promise((resolve, reject) =>
      this.clock.setTimeout(
        () => (this.live.has(key) ? resolve(new Uint8Array(20)) : reject(new Error('timeout'))),
        this.rttMs
      )
    );
  }
  addNode(a: Address): Promise<void> {
    this.added.push(formatAddress(a));
    return Promise.resolve();
  }
  findNode(): Promise<unknown> {
    this.findNodes++;
    return Promise.resolve({});
  }
}

/** Advance virtual time in small steps, letting promise callbacks run in between. */
async function run(clock: FakeClock, ms: number, step = 50): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(step);
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
}

function setup(live: number[], o: { waitForOthers?: boolean; routers?: Address[] } = {}) {
  const clock = new FakeClock(0);
  const dht = new ScriptedDht(clock, new Set(live.map((i) => formatAddress(node(i)))));
  let resolved = 0;
  const join = new DhtJoin(dht, {
    clock,
    routerDelayMs: 10_000,
    maxInFlight: 1,
    waitForOthers: o.waitForOthers ?? false,
    routers: async () => {
      resolved++;
      return o.routers ?? [node(200)];
    }
  });
  const joined: [JoinSource, string][] = [];
  join.on('joined', (s, n) => joined.push([s, formatAddress(n)]));
  return { clock, dht, join, joined, resolvedRouters: () => resolved };
}

describe('DhtJoin', () => {
  it('tries sources in their order and reports the first that answers', async () => {
    const { clock, dht, join, joined } = setup([3, 4]);
    join.offer('user', [node(4)]);
    join.offer('state', [node(1), node(2)]); // saved table: both dead
    join.offer('lsd', [node(3)]);
    join.start();
    await run(clock, 1_000);
    expect(dht.pinged).toEqual(['10.0.0.1:6881', '10.0.0.2:6881', '10.0.0.3:6881']);
    expect(joined).toEqual([['lsd', '10.0.0.3:6881']]);
    expect(join.joinedVia?.source).toBe('lsd');
    expect(dht.findNodes).toBe(1); // the join lookup, from the node that answered
    expect(dht.added).toContain('10.0.0.4:6881'); // what was still queued goes to the DHT
  });

  it('asks the routers only after every earlier candidate failed', async () => {
    const { clock, dht, join, joined, resolvedRouters } = setup([200]);
    join.offer('state', [node(1)]);
    join.start();
    await run(clock, 50);
    expect(resolvedRouters()).toBe(0); // node 1 still in flight
    await run(clock, 500);
    expect(resolvedRouters()).toBe(1);
    expect(dht.pinged).toEqual(['10.0.0.1:6881', '10.0.0.200:6881']);
    expect(joined).toEqual([['routers', '10.0.0.200:6881']]);
  });

  it('with sources still to come, gives them the delay before the routers', async () => {
    const { clock, dht, join, joined, resolvedRouters } = setup([9, 200], { waitForOthers: true });
    join.start();
    await run(clock, 3_000);
    expect(resolvedRouters()).toBe(0);
    // A LAN peer's PORT message arrives: we get in through it, never touching the routers.
    join.offer('lsd', [node(9)]);
    await run(clock, 20_000);
    expect(joined).toEqual([['lsd', '10.0.0.9:6881']]);
    expect(resolvedRouters()).toBe(0);
    expect(dht.pinged).toEqual(['10.0.0.9:6881']);
  });

  it('routers that never answer do not stop a later source from getting us in', async () => {
    const { clock, join, joined, resolvedRouters } = setup([5], { waitForOthers: true });
    join.start();
    await run(clock, 12_000);
    expect(resolvedRouters()).toBe(1); // delay over: routers asked, silent
    expect(joined).toEqual([]);
    join.offer('peers', [node(5)]); // an x.pe peer's PORT message, a minute later
    await run(clock, 1_000);
    expect(joined).toEqual([['peers', '10.0.0.5:6881']]);
  });

  it('once in, offered nodes go straight to the DHT; each address is tried once; lists are capped', async () => {
    const { clock, dht, join } = setup([1]);
    join.offer('state', [node(1), node(1)]);
    join.start();
    await run(clock, 200);
    expect(dht.pinged).toEqual(['10.0.0.1:6881']);
    join.offer('peers', [node(2)]);
    expect(dht.added).toEqual(['10.0.0.2:6881']);

    const capped = new DhtJoin(dht, { clock, maxPerSource: 3, maxInFlight: 1 });
    capped.offer(
      'user',
      Array.from({ length: 10 }, (_, i) => node(100 + i))
    );
    capped.start();
    await run(clock, 2_000);
    expect(dht.pinged.filter((k) => k.startsWith('10.0.0.1') && k.length > 13)).toHaveLength(3);
    capped.close();
  });
});
