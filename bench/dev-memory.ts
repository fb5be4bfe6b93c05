import { runMemory } from './memory.js';
for (const impl of ['ours', 'anchor'] as const) console.log(JSON.stringify(await runMemory({ impl, nodes: 200, entries: 64, peers: 100_000, infohashes: 1000, seed: 1 })));
