/** Simulated-network scaling driver: one child process per network size (sim-child.ts). */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface SimResult {
  requested: number;
  nodes: number;
  complete: boolean;
  build: 'join' | 'warm';
  buildSeconds: number;
  buildCpuSeconds: number;
  workSeconds: number;
  heapAfterBuildMB: number;
  joinDatagramsPerNode: number;
  tableSizeMedian: number;
  items: number;
  getPeersQueriesMedian: number;
  getPeersQueriesP90: number;
  getPeersHopsMedian: number;
  getPeersVirtualMsMedian: number;
  getPeersDatagramsMedian: number;
  successRate: number;
  announceQueriesMedian: number;
  storedOnMedian: number;
  storedInTrue8Median: number;
  findNodeQueriesMedian: number;
  findNodeHopsMedian: number;
  recallMean: number;
}

export function runSim(
  nodes: number,
  items: number,
  seed: number,
  maxMinutes: number,
  log: (s: string) => void,
  build: 'join' | 'warm' = 'join'
): Promise<SimResult> {
  const script = fileURLToPath(new URL('./sim-child.js', import.meta.url));
  // ~60 KB of heap per simulated node (nodes + in-flight events): give big networks room.
  const heapMB = Math.max(4096, Math.ceil((nodes * 120_000) / 1e6));
  const args = [
    `--max-old-space-size=${heapMB}`,
    // A 64 MB young generation (default 16): the simulation keeps much of what it allocates for
    // a few virtual ms (datagrams, pending queries, lookups), and a larger nursery lets more of
    // it die before it is copied; measured ~20 % less CPU on 1,500-2,000-node builds.
    '--max-semi-space-size=64',
    script,
    '--nodes',
    String(nodes),
    '--items',
    String(items),
    '--seed',
    String(seed),
    '--max-minutes',
    String(maxMinutes),
    '--build',
    build
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line.trim()) log(line);
    });
    // The child bounds its own build; this is the backstop for the work phase.
    const timer = setTimeout(() => child.kill('SIGKILL'), (maxMinutes + 20) * 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`sim child (${nodes} nodes) exited with ${code ?? signal}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as SimResult);
      } catch {
        reject(new Error(`sim child output is not JSON: ${out}`));
      }
    });
  });
}
