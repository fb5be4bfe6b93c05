/**
 * A real UDP flood on loopback (issue 8, scenario 3): the flood benchmark's flooder
 * (bench/flood-child.ts, a child process) floods our node with find_node / get_peers / ping
 * from 127.0.0.66 while the benchmark's honest clients (bench/lib/honest-clients.ts, ten
 * addresses on 127/8, each on its own phase of the interval) ask at an ordinary rate. The node
 * runs with its default protections, loopback not exempt (the rig turns the limits on for
 * 127/8). The full figures, latency included, come from bench/dht-flood.ts.
 *
 * What is asserted holds however loaded the machine is: the node answers the honest queries
 * (late, when the scheduler makes everything late, but it answers them: waited for, bounded),
 * sends the flooder no more than its per-IP bucket allows, and drops the flood before decoding.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { DHT } from '../../lib/dht/dht.js';
import { HonestClients } from '../../bench/lib/honest-clients.js';
import { quantile } from '../../bench/lib/stats.js';
import { CHILD_ENV, ensureBuilt, ROOT } from '../support/cli-process.js';
import { waitFor } from '../support/wait.js';

const FLOODER = join(ROOT, 'dist/bench/flood-child.js');
const FLOOD_RATE = 5_000;
const FLOOD_SECONDS = 3;

interface FloodDone {
  sent: number;
  replies: number;
  elapsedMs: number;
  /** From the first send until the flooder stopped counting replies (its late-reply wait). */
  countedMs: number;
}

/** Run the benchmark's flooder against 127.0.0.1:`port` until it reports, bounded in time. */
function runFlooder(port: number): Promise<FloodDone> {
  return new Promise((resolve, reject) => {
    const child = fork(
      FLOODER,
      [
        '--role',
        'flooder',
        '--target',
        String(port),
        '--rate',
        String(FLOOD_RATE),
        '--seconds',
        String(FLOOD_SECONDS),
        // A stall of the flooder's own (a loaded machine runs it a fraction of the time) does
        // not thin the flood: it sent 1,762 datagrams in 3 s at load 11-15 when it skipped the
        // slots it missed, under the 20 x allowance asserted below.
        '--catch-up'
      ],
      { env: CHILD_ENV, execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }
    );
    let done: FloodDone | undefined;
    child.on('message', (m: { type?: string } & FloodDone) => {
      if (m.type === 'done') done = m;
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), (FLOOD_SECONDS + 60) * 1000);
    child.once('exit', (code, signal) => {
      clearTimeout(killer);
      if (done) resolve(done);
      else
        reject(
          new Error(`flooder ended (${signal ? `signal ${signal}` : `code ${code}`}) without reporting`)
        );
    });
  });
}

describe('DHT node under a loopback UDP flood', () => {
  beforeAll(() => ensureBuilt([FLOODER]), 200_000);

  it('honest clients stay answered while one address floods; the flood is dropped unparsed', async () => {
    const dht = await DHT.create({
      host: '127.0.0.1',
      port: 0,
      bootstrap: [],
      inboundLimits: { exempt: 'none' }
    });
    const honest = new HonestClients({ count: 10, intervalMs: 100 });
    try {
      await honest.start(dht.address().port);
      const flood = await runFlooder(dht.address().port);
      honest.pause();
      // A loaded machine delays replies (the node, the clients and the flooder take turns on two
      // shared cores) but a dropped query is never answered: wait for the late ones, bounded.
      await waitFor('honest replies', () => honest.unanswered === 0, { timeoutMs: 20_000 }).catch(() => {});
      const { sent, latencies } = honest.window(0, Infinity);
      const s = dht.stats();
      const detail = JSON.stringify({
        sent,
        answered: latencies.length,
        p50: quantile(latencies, 0.5),
        p95: quantile(latencies, 0.95),
        flood,
        droppedBanned: s.droppedBanned,
        droppedRateLimited: s.droppedRateLimited,
        droppedOverloaded: s.droppedOverloaded,
        droppedOverBudget: s.droppedOverBudget
      });
      // >= 99% of the honest queries answered: the flood took none of their place.
      expect({ answered: latencies.length / sent >= 0.99, detail }).toEqual({ answered: true, detail });
      // The per-IP bucket lets 40 + 20/s through. The flood is at least 20 times that (what
      // counts is what left: the flooder catches up the slots it missed, but only within its
      // FLOOD_SECONDS).
      const allowed = 40 + (20 * flood.elapsedMs) / 1000;
      expect(flood.sent).toBeGreaterThanOrEqual(20 * allowed);
      // Never more replies than the bucket allows over the whole time replies were counted
      // (the flood and the flooder's wait for late replies: the node, descheduled, may still be
      // draining its socket then), ban or not: no reflection. Usually ~41 (the ban comes after
      // 100 drops in a row), but when the node is descheduled a refill can land between two
      // drops and delay the ban a little.
      expect(flood.replies).toBeLessThanOrEqual(40 + (20 * flood.countedMs) / 1000);
      // ...and the ban took over: most of the flood dropped as banned, before decoding.
      expect(s.droppedBanned).toBeGreaterThanOrEqual(flood.sent * 0.5);
      expect(s.droppedBanned + s.droppedRateLimited).toBeGreaterThanOrEqual(flood.sent * 0.9);
    } finally {
      await honest.stop();
      await dht.destroy();
    }
  }, 120_000);
});
