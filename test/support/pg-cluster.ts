/**
 * A throwaway PostgreSQL cluster for tests and benchmarks: initdb in a temp directory, the
 * server on 127.0.0.1 at a free port (no Unix socket), stopped and deleted by stop().
 *
 * PostgreSQL refuses to run as root. As root it runs as uid 65534 (nobody): through
 * `setpriv` when the temp directory can be given to that user (real root), else in a user
 * namespace mapping 65534 to ourselves (`unshare --user`: root inside an unprivileged user
 * namespace, as CI runs for non-root users). As a normal user it runs as that user.
 *
 * It fails with a clear message when it cannot start: tests that need it never skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PgCluster {
  /** URL of the `postgres` database (superuser `postgres`, no password, loopback only). */
  adminUrl: string;
  port: number;
  /** Create an empty database; returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

const NOBODY = 65534;

export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0)
    throw new Error(
      'PostgreSQL server binaries not found under /usr/lib/postgresql (install the Debian package `postgresql`; .ci/run does)'
    );
  return join(root, versions[0]!, 'bin');
}

/** How to run a PostgreSQL binary so it does not run as root. */
function runner(dir: string): (cmd: string, args: string[]) => [string, string[]] {
  if (process.getuid?.() !== 0) return (cmd, args) => [cmd, args];
  try {
    chownSync(dir, NOBODY, NOBODY);
    return (cmd, args) => [
      'setpriv',
      [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', cmd, ...args]
    ];
  } catch {
    return (cmd, args) => [
      'unshare',
      ['--user', `--map-user=${NOBODY}`, `--map-group=${NOBODY}`, '--', cmd, ...args]
    ];
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startPgCluster(opts: { fsync?: boolean } = {}): Promise<PgCluster> {
  const bin = postgresBinDir();
  const dir = await mkdtemp(join(tmpdir(), 'trackerless-pg-'));
  const data = join(dir, 'data');
  const run = runner(dir);
  const [initCmd, initArgs] = run(join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-locale',
    '--no-sync'
  ]);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8', timeout: 120_000 });
  if (init.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status ?? init.signal}): ${init.stderr || init.error?.message}`);
  }
  const port = await freePort();
  const fast = opts.fsync
    ? []
    : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
  const [cmd, args] = run(join(bin, 'postgres'), [
    '-D',
    data,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'max_connections=100',
    ...fast
  ]);
  const server: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr!.setEncoding('utf8');
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`PostgreSQL did not start in 60 s:\n${log}`)), 60_000);
      server.stderr!.on('data', (chunk: string) => {
        if (log.length < 20_000) log += chunk;
        if (log.includes('database system is ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      server.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`PostgreSQL exited (${code ?? signal}) while starting:\n${log}`));
      });
    });
  } catch (err) {
    server.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  server.stderr!.resume(); // keep draining the log
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    adminUrl,
    port,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name ${name}`);
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      if (server.exitCode === null && server.signalCode === null) {
        server.kill('SIGINT'); // fast shutdown: disconnect clients, stop
        const timer = setTimeout(() => server.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    }
  };
}
