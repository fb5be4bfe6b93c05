import { it, expect } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { DHT } from '../../lib/index.js';
import { LtNode } from '../support/lt-node.js';
import { randomInfoHashHex, sleep } from '../support/wait.js';

it('debug', async () => {
  const a = await DHT.create({ host: '127.0.0.1', port: 0, bootstrap: [] });
  const b = await DHT.create({ host: '127.0.0.1', port: 0, bootstrap: [a.address()] });
  const c = await DHT.create({ host: '127.0.0.1', port: 0, bootstrap: [a.address()] });
  const lt = await LtNode.start([a.address()], { logDht: true });
  try {
    await sleep(5000);
    const ih = randomInfoHashHex();
    await b.announce(ih, 41002);
    const from = lt.events.length;
    lt.send(`get_peers ${ih}`);
    await sleep(8000);
    writeFileSync('/tmp/ltdebug.json', lt.events.map((e) => JSON.stringify(e)).join('\n') + '\nPORTS ' + JSON.stringify([a.address(), b.address(), c.address(), lt.port]) + '\n' + JSON.stringify([a.stats(), b.stats()]));
    expect(from).toBeGreaterThan(0);
  } finally {
    await lt.close();
    await Promise.all([a, b, c].map((d) => d.destroy()));
  }
}, 60000);
