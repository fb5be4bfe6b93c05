/**
 * What every test on a LAN of network namespaces (bench/lib/netns-lan.ts) sets up: the LAN,
 * a temporary directory and a Spawner for CLI children, made before the file's tests and
 * removed after them (children killed, what the test registered closed, the namespaces and
 * the directory gone); plus the checks and the DHT node those tests share.
 *
 *   const suite = netnsLanSuite(3, 'lan');
 *   ... suite.lan.hosts, suite.dir, suite.procs
 */
import { afterAll, beforeAll, expect } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsLan } from '../../bench/lib/netns-lan.js';
import { MAIN, Spawner, ensureBuilt, type Running } from './cli-process.js';
import { LtSwarm } from './lt-swarm.js';

/**
 * An address outside every LAN this suite builds (TEST-NET-2, RFC 5737): a LAN host must have
 * no route to it, as to any public address. `ip route get` sends nothing; naming a real public
 * router here would only invite a test that does.
 */
const OUTSIDE_ADDRESS = '198.51.100.1';

export class NetnsLanSuite {
  readonly procs = new Spawner();
  private _lan: NetnsLan | undefined;
  private _dir: string | undefined;
  private readonly closers: (() => Promise<void> | void)[] = [];

  get lan(): NetnsLan {
    if (!this._lan) throw new Error('the LAN is made in beforeAll');
    return this._lan;
  }

  get dir(): string {
    if (!this._dir) throw new Error('the directory is made in beforeAll');
    return this._dir;
  }

  /** Something more to close after the tests (a libtorrent process...). */
  closeAfter(close: () => Promise<void> | void): void {
    this.closers.push(close);
  }

  /** Fails unless host `i` has no route to `address` (by default one outside the LAN). */
  async expectNoRoute(i: number, address = OUTSIDE_ADDRESS): Promise<void> {
    const family = address.includes(':') ? ['-6'] : [];
    await expect(this.lan.exec(i, 'ip', ...family, 'route', 'get', address)).rejects.toThrow();
  }

  /** A `trackerless node` on host `i` that knows no one: the others' bootstrap node, "ip:port". */
  async startDhtNode(i: number): Promise<{ node: Running; hostPort: string }> {
    const node = this.procs.start(
      MAIN,
      ['node', '--host', this.lan.hosts[i]!.ip, '--port', '0', '--no-bootstrap', '--stats-interval', '0'],
      150_000,
      this.lan.prefix(i)
    );
    const [, hostPort] = await node.waitFor(/^listening (\S+:\d+) /m, 20_000, 'the DHT node');
    return { node, hostPort: hostPort! };
  }

  /**
   * A libtorrent 2.0.8 downloader on host `i`, listening on `host`, that can find peers by local
   * discovery only (no bootstrap node, no PEX); saves into `<dir>/lt`, closed with the LAN.
   */
  async startLsdLibtorrent(i: number, magnet: string, host: string): Promise<LtSwarm> {
    const lt = await LtSwarm.start({
      mode: 'download',
      magnet,
      savePath: join(this.dir, 'lt'),
      bootstrap: [],
      host,
      lsd: { intervalSeconds: 300 },
      noPex: true,
      prefix: this.lan.prefix(i),
      maxSeconds: 140
    });
    this.closeAfter(() => lt.close());
    return lt;
  }

  async setUp(hosts: number, name: string, more?: (lan: NetnsLan) => Promise<void>): Promise<void> {
    ensureBuilt([MAIN]);
    this._dir = await mkdtemp(join(tmpdir(), `trackerless-${name}-`));
    this._lan = await NetnsLan.create(hosts);
    await more?.(this._lan);
  }

  async tearDown(): Promise<void> {
    await this.procs.killAll();
    await Promise.all(this.closers.map((c) => c()));
    this._lan?.close();
    if (this._dir) await rm(this._dir, { recursive: true, force: true });
  }
}

/**
 * A LAN of `hosts` namespaces for this test file, built in beforeAll (then `more`, e.g. extra
 * addresses) and removed in afterAll; `name` names the temporary directory.
 */
export function netnsLanSuite(
  hosts: number,
  name: string,
  more?: (lan: NetnsLan) => Promise<void>
): NetnsLanSuite {
  const suite = new NetnsLanSuite();
  beforeAll(() => suite.setUp(hosts, name, more), 200_000);
  afterAll(() => suite.tearDown());
  return suite;
}
