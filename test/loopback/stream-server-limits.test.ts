/**
 * The stream server's per-IP connection cap over real sockets: one source holding its share of
 * idle connections cannot lock out another source, its next connection is closed on arrival,
 * and its slot comes back when one of its connections closes.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { StreamServer } from '../../lib/http/stream-server.js';

let server: StreamServer;
const sockets: Socket[] = [];

beforeAll(async () => {
  server = await StreamServer.listen({ torrents: () => [], maxConnectionsPerIp: 3 });
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await server.close();
});

/** An idle TCP connection from `from` (nothing sent). Resolves once connected. */
function idle(from: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: server.port, localAddress: from });
    sockets.push(s);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** GET / from `from`: the status, or 'closed' if the server hung up without answering. */
function get(from: string): Promise<number | 'closed'> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port: server.port, path: '/?json', localAddress: from, agent: false },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      }
    );
    req.setTimeout(5_000, () => req.destroy());
    req.once('error', () => resolve('closed'));
    req.end();
  });
}

/** Resolves when `s` is closed by the other end, or 'open' after `ms`. */
function closedWithin(s: Socket, ms: number): Promise<'closed' | 'open'> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('open'), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve('closed');
    });
  });
}

describe('stream server: connections per source IP', () => {
  it('a source at its cap is refused; another source is still served; a closed slot comes back', async () => {
    const held = [await idle('127.0.0.1'), await idle('127.0.0.1'), await idle('127.0.0.1')];
    // The fourth from the same IP is closed on arrival, the three held stay open.
    expect(await get('127.0.0.1')).toBe('closed');
    expect(await closedWithin(held[0]!, 300)).toBe('open');
    // Another source is served while the first holds its share.
    expect(await get('127.0.0.2')).toBe(200);
    // One of the first source's connections closes: its next request is served.
    const gone = closedWithin(held[0]!, 2_000);
    held[0]!.destroy();
    await gone;
    await new Promise((r) => setTimeout(r, 50)); // the server's side of the close
    expect(await get('127.0.0.1')).toBe(200);
  });
});
