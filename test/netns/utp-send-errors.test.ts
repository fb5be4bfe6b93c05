/**
 * Sends Linux refuses, through node:dgram, end uTP connections at once with ERR_SEND_FAILED
 * (instead of after their retransmission timeouts): network namespaces A - R - B that the test
 * creates, uTP endpoints as child processes (bench/utp-endpoint.ts).
 *
 *  - a dial to an address whose route in A is `unreachable` fails with EHOSTUNREACH;
 *  - a transfer A -> B ends when a firewall rule in A drops UDP to B on OUTPUT (sendmsg fails
 *    with EPERM), at once (well under a second) where the timeouts would take tens of seconds.
 *
 * Skipped, with the reason printed, where namespaces cannot be created (not root, iproute2 or
 * iptables missing); under CI (root, tools installed by .ci/run) that fails instead.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureBuilt, ROOT } from '../support/cli-process.js';
import { NetnsPath, describeWithNetns } from '../support/netns.js';

const ENDPOINT = join(ROOT, 'dist/bench/utp-endpoint.js');
const describeNs = describeWithNetns('uTP send-error namespace tests');

const inNs = (ns: string, cmd: string, args: string[]): string =>
  execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'pipe', timeout: 10_000 }).toString();

describeNs('uTP sends the system refuses (network namespaces)', () => {
  beforeAll(() => ensureBuilt([ENDPOINT]), 200_000);

  let path: NetnsPath | undefined;
  afterAll(async () => {
    await path?.closeAll();
  });

  it('a dial over an unreachable route fails at once with ERR_SEND_FAILED (EHOSTUNREACH)', async () => {
    path = NetnsPath.create({ rateBits: 100_000_000, bufferBytes: 1_000_000 });
    const nowhere = path.ipB.replace(/\.2\.2$/, '.3.2'); // a subnet R does not have
    inNs(path.a, 'ip', ['route', 'add', 'unreachable', `${nowhere}/32`]);
    const dial = path.start(path.a, ENDPOINT, ['utp-send', '--host', path.ipA, '--to', `${nowhere}:6881`]);
    const failure = (await dial.catch((err: unknown) => err)) as Error & { event?: { t?: number } };
    expect(failure.message).toMatch(/EHOSTUNREACH/);
    // The SYN resends alone would take ~7 s of timers. Timed by the endpoint from its start (`t`,
    // seconds), not by us from the spawn: a loaded machine can take seconds to start a process.
    expect(failure.event?.t).toBeLessThan(5);
  }, 30_000);

  it('a transfer ends at once with ERR_SEND_FAILED (EPERM) once a firewall rule drops its datagrams', async () => {
    path ??= NetnsPath.create({ rateBits: 100_000_000, bufferBytes: 1_000_000 });
    const recv = await path.start(path.b, ENDPOINT, ['utp-recv', '--host', path.ipB, '--every', '100']);
    const port = Number(recv.events[0]!.port);
    const send = await path.start(path.a, ENDPOINT, [
      'utp-send',
      '--host',
      path.ipA,
      '--to',
      `${path.ipB}:${port}`,
      '--seconds',
      '60',
      '--every',
      '100'
    ]);
    await recv.next((e) => e.event === 'progress' && Number(e.bytes) > 1_000_000, 20_000, '1 MB to arrive');
    inNs(path.a, 'iptables', ['-A', 'OUTPUT', '-p', 'udp', '-d', path.ipB, '-j', 'DROP']);
    const dropped = Date.now();
    const done = await send.next((e) => e.event === 'done', 20_000, 'the sender to stop');
    // The error says why it ended: the refused send, not the retransmission timeouts. Those would
    // take tens of seconds; the bound leaves a loaded machine room (quiet: well under 1 s).
    expect(done.error).toEqual({ code: 'ERR_SEND_FAILED', systemCode: 'EPERM' });
    expect(Date.now() - dropped).toBeLessThan(5_000);
  }, 60_000);
});
