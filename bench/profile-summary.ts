/**
 * Summarise a V8 CPU profile (`node --cpu-prof`, e.g. from `engine-bench.js --prof-ours DIR`):
 * self time by function and by source file, and inclusive time of chosen functions.
 *
 *   node dist/bench/profile-summary.js DIR/CPU.*.cpuprofile [--top 25] [--incl name1,name2]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function main(): void {
  const argv = process.argv.slice(2);
  const files = argv.filter((a, i) => !a.startsWith('--') && !(argv[i - 1] ?? '').startsWith('--'));
  const top = Number(argv[argv.indexOf('--top') + 1] ?? 25) || 25;
  const incl = argv.includes('--incl') ? (argv[argv.indexOf('--incl') + 1] ?? '').split(',') : [];
  for (const file of files) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    // Self time per node from the sample timeline.
    const self = new Map<number, number>();
    for (let i = 0; i < p.samples.length; i++)
      self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
    const total = [...self.values()].reduce((a, b) => a + b, 0);
    const label = (n: ProfileNode): string => {
      const url = n.callFrame.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/');
      return `${n.callFrame.functionName || '(anonymous)'} ${url ? `${url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
    };
    const fnSelf = new Map<string, number>();
    const fileSelf = new Map<string, number>();
    for (const [id, t] of self) {
      const n = byId.get(id)!;
      fnSelf.set(label(n), (fnSelf.get(label(n)) ?? 0) + t);
      const f = n.callFrame.url
        ? n.callFrame.url.replace(/^.*\/(dist|node_modules)\//, '$1/')
        : `(${n.callFrame.functionName || 'native'})`;
      fileSelf.set(f, (fileSelf.get(f) ?? 0) + t);
    }
    const pct = (t: number): string => `${((100 * t) / total).toFixed(1).padStart(5)} %`;
    console.log(`\n${file}: ${(total / 1e6).toFixed(2)} s sampled`);
    console.log('  self time by function:');
    for (const [k, t] of [...fnSelf].sort((a, b) => b[1] - a[1]).slice(0, top))
      console.log(`    ${pct(t)}  ${k}`);
    console.log('  self time by file:');
    for (const [k, t] of [...fileSelf].sort((a, b) => b[1] - a[1]).slice(0, 15))
      console.log(`    ${pct(t)}  ${k}`);
    for (const name of incl) {
      // Inclusive: samples whose stack contains `name` (counted once per sample).
      let t = 0;
      for (let i = 0; i < p.samples.length; i++) {
        let id: number | undefined = p.samples[i]!;
        while (id !== undefined) {
          if (byId.get(id)!.callFrame.functionName === name) {
            t += p.timeDeltas[i] ?? 0;
            break;
          }
          id = parent.get(id);
        }
      }
      console.log(`  inclusive ${name}: ${pct(t)}`);
    }
  }
}

main();
