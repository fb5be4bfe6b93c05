/** A few dozen real UDP nodes on 127.0.0.1: announce + findPeers end to end, clean teardown. */
import { describe, expect, it } from '@jest/globals';
import { DHT } from '../../lib/dht/dht.js';

const N = 30;

function udpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
}

describe('DHT over loopback UDP', () => {
  it(`${N} nodes: announce from one, findPeers from another; destroy leaves no handles`, async () => {
    const before = udpHandles();
    const first = await DHT.create({ host: '127.0.0.1', port: 0, bootstrap: [] });
    const nodes: DHT[] = [first];
    try {
      const boot = [`127.0.0.1:${first.address().port}`];
      for (let i = 1; i < N; i += 10) {
        const batch = Array.from({ length: Math.min(10, N - i) }, () =>
          DHT.create({ host: '127.0.0.1', port: 0, bootstrap: boot, queryTimeoutMs: 500 })
        );
        nodes.push(...(await Promise.all(batch)));
      }
      expect(udpHandles() - before).toBe(N);
      const infoHash = 'c0ffee'.padEnd(40, '0');
      const announced = await nodes[3]!.announce(infoHash, 51413);
      expect(announced.storedOn).toBeGreaterThanOrEqual(Math.min(8, N - 2));
      const found: string[] = [];
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 10_000);
      for await (const peer of nodes[N - 1]!.findPeers(infoHash, { signal: controller.signal })) {
        found.push(`${peer.host}:${peer.port}`);
        break; // first peer is enough; breaking must stop the lookup cleanly
      }
      clearTimeout(timer);
      expect(found).toEqual(['127.0.0.1:51413']);
    } finally {
      await Promise.all(nodes.map((n) => n.destroy()));
    }
    expect(udpHandles()).toBe(before);
  }, 30_000);
});

describe('DHT over IPv6 loopback', () => {
  it('two nodes on ::1 find each other and an announced peer (nodes6)', async () => {
    const a = await DHT.create({ host: '::1', port: 0, bootstrap: [] });
    const b = await DHT.create({ host: '::1', port: 0, bootstrap: [`[::1]:${a.address().port}`] });
    const c = await DHT.create({ host: '::1', port: 0, bootstrap: [`[::1]:${a.address().port}`] });
    try {
      const ih = 'ab'.repeat(20);
      const r = await b.announce(ih, 7000);
      expect(r.storedOn).toBeGreaterThanOrEqual(1);
      const { peers } = await c.getPeers(ih);
      expect(peers).toContainEqual({ host: '::1', port: 7000 });
    } finally {
      await Promise.all([a.destroy(), b.destroy(), c.destroy()]);
    }
  }, 20_000);
});
