import { runServe } from './serve.js';
for (const impl of ['ours', 'anchor'] as const) {
  for (const entries of [160, 48]) {
    const r = await runServe({ impl, entries, seed: 1, durationMs: 4000, warmupMs: 1000, maxQueries: 200_000, sockets: 2, window: 64 });
    console.log(JSON.stringify(r));
  }
}
