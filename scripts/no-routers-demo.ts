/**
 * `npm run demo:no-routers` (as root, offline): a swarm with no tracker and no bootstrap
 * routers. Three hosts in network namespaces on a bridge this demo builds, with no route
 * anywhere else: `trackerless seed` on the first, `trackerless download` on the second and,
 * when python3-libtorrent is installed, a libtorrent downloader (enable_lsd) on the third. No
 * one gets a bootstrap list or an x.pe hint: they find each other by BEP 14 local discovery,
 * and our DHT nodes get in through each other's PORT messages. Their output is shown live;
 * the end is a table of which discovery source found which peer.
 *
 *   npm run demo:no-routers [-- --size MiB]
 *
 * Everything is torn down at the end (the namespaces die with their holder processes), and
 * the whole demo stops after two minutes whatever happens.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { NetnsLan } from '../bench/lib/netns-lan.js';
import { argvReader } from '../bench/lib/argv.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');
const LT_SCRIPT = join(ROOT, 'test/interop/lt_swarm.py');
const DEADLINE_MS = 120_000;

const size = argvReader(process.argv.slice(2)).num('size', 8) * 1024 * 1024;
const children: ChildProcess[] = [];
const found: { who: string; line: string }[] = [];

function show(who: string, child: ChildProcess, onLine: (line: string) => void = () => {}): void {
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      if (/found by|joined the DHT/.test(line)) found.push({ who, line });
      if (!line.includes('"event": "status"')) console.log(`${who.padEnd(24)} ${line}`);
      onLine(line);
    });
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function main(): Promise<number> {
  const lan = await NetnsLan.create(3);
  const dir = await mkdtemp(join(tmpdir(), 'trackerless-no-routers-'));
  const deadline = setTimeout(() => {
    console.log('demo: two minutes are up, stopping');
    for (const c of children) c.kill('SIGKILL');
  }, DEADLINE_MS);
  try {
    const [seedHost, ourHost, ltHost] = lan.hosts;
    console.log(
      `LAN: ${lan.hosts.map((h) => h.ip).join(', ')} on a bridge; no default route (routers unreachable)\n`
    );
    const file = join(dir, 'no-routers.bin');
    await writeFile(file, randomBytes(size));
    const env = { ...process.env, NODE_OPTIONS: '' };

    // --no-state: nothing saved by an earlier run joins the DHT for us, and the user's own
    // state file never receives the demo's namespace addresses.
    const seeder = lan.spawn(0, process.execPath, [MAIN, 'seed', file, '--verbose', '--no-state'], env);
    children.push(seeder);
    const magnet = await new Promise<string>((resolve, reject) => {
      show(`[seed ${seedHost!.ip}]`, seeder, (line) => {
        if (line.startsWith('magnet:')) resolve(line);
      });
      seeder.once('exit', () => reject(new Error('the seeder exited')));
    });

    const hasLt =
      spawnSync('/usr/bin/python3', ['-c', 'import libtorrent'], { stdio: 'ignore' }).status === 0;
    let lt: ChildProcess | undefined;
    if (hasLt) {
      lt = lan.spawn(2, '/usr/bin/python3', [
        LT_SCRIPT,
        'download',
        '--magnet',
        magnet,
        '--save-path',
        join(dir, 'libtorrent'),
        '--host',
        ltHost!.ip,
        '--lsd',
        '--no-pex',
        '--max-seconds',
        '100',
        '--status-interval',
        '5'
      ]);
      children.push(lt);
      show(`[libtorrent ${ltHost!.ip}]`, lt);
    } else console.log('(python3-libtorrent is not installed: no libtorrent peer in this run)');

    await new Promise((r) => setTimeout(r, 2_000));
    const downloader = lan.spawn(
      1,
      process.execPath,
      [MAIN, 'download', magnet, '--out', join(dir, 'ours'), '--verbose', '--no-state'],
      env
    );
    children.push(downloader);
    show(`[download ${ourHost!.ip}]`, downloader);
    const code = await exited(downloader);
    await new Promise((r) => setTimeout(r, 2_000)); // the seeder's DHT join, libtorrent's finish
    for (const c of children) c.kill('SIGTERM');
    lt?.stdin?.end();

    console.log('\nwho found whom, and how:');
    for (const f of found) console.log(`  ${f.who.padEnd(24)} ${f.line.replace(/^trackerless: /, '')}`);
    console.log(`\nour download ${code === 0 ? 'completed' : `exited with ${code}`}`);
    return code === 0 ? 0 : 1;
  } finally {
    clearTimeout(deadline);
    for (const c of children) c.kill('SIGKILL');
    lan.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`demo: ${err.message}`);
    for (const c of children) c.kill('SIGKILL');
    process.exit(1);
  }
);
