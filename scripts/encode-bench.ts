import { encodeResponse } from '../lib/krpc/codec.js';
import { seededRandom } from '../lib/util/random.js';
const r = seededRandom(1);
const nodes = Array.from({ length: 8 }, (_, i) => ({ id: r.bytes(20), host: `10.0.${i}.7`, port: 6881 + i }));
const body = { id: r.bytes(20), nodes, token: r.bytes(8) };
const tid = r.bytes(4);
for (let round = 0; round < 3; round++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 100_000; i++)
    encodeResponse(tid, body, { ip: { host: '127.0.0.1', port: 5000 }, version: r.bytes(4) });
  console.log('µs per get_peers reply encode', Number(process.hrtime.bigint() - t0) / 1e3 / 100_000);
}
