/** The benchmark's peer processes (ours: dist/bench/engine-peer.js, libtorrent: bench/lib/lt-bench.py). */
import { PeerProcess, type Impl } from '../lib/peer-process.js';
import { log } from './format.js';
import type { Options } from './options.js';

/** Every peer is on loopback. */
export const HOST = '127.0.0.1';

/** Every child started, so an interrupted run still kills them all. */
export const live = new Set<PeerProcess>();

export async function start(
  impl: Impl,
  role: string,
  args: string[],
  opts: Options,
  moreNodeFlags: string[] = []
): Promise<PeerProcess> {
  const extra = impl === 'ours' && opts.engineOptions ? ['--engine-options', opts.engineOptions] : [];
  const nodeFlags = impl === 'ours' && opts.profDir ? ['--cpu-prof', '--cpu-prof-dir', opts.profDir] : [];
  if (impl === 'ours') nodeFlags.push(...opts.nodeFlagsOurs, ...moreNodeFlags);
  const { proc } = await PeerProcess.start(impl, role, [...args, ...extra], { nodeFlags });
  live.add(proc);
  return proc;
}

export async function stop(...procs: (PeerProcess | undefined)[]): Promise<void> {
  await Promise.all(
    procs.map(async (p) => {
      if (!p) return;
      await p.close();
      live.delete(p);
      const w = p.warnings();
      if (w.length > 0) log(`    (${p.label}: ${w.length} warnings, first: ${w[0]!.slice(0, 160)})`);
    })
  );
}
