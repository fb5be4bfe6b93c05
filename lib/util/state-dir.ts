/**
 * Where trackerless keeps state between runs (the DHT routing table the CLI and a Client save,
 * a Client's session): `$XDG_STATE_HOME/trackerless`, or `~/.local/state/trackerless` when that
 * variable is unset or not an absolute path (XDG Base Directory Specification 0.8).
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/** The default state directory (of this process's environment and home directory unless given). */
export function defaultStateDir(
  env: Readonly<Record<string, string | undefined>> = process.env,
  home: string = homedir()
): string {
  const xdg = env['XDG_STATE_HOME'];
  return xdg && isAbsolute(xdg) ? join(xdg, 'trackerless') : join(home, '.local', 'state', 'trackerless');
}

/**
 * The DHT nodes' state files, for the CLI's `--state` / `--no-state` and a Client's `dhtState`:
 * a given file (the IPv4 node's only), none (`false`, or no directory), or the defaults in
 * `stateDir`: `dht.json`, and `dht6.json` for the IPv6 node.
 */
export function dhtStatePaths(
  state: string | false | undefined,
  stateDir: string | undefined
): { v4: { statePath?: string }; v6: { statePath?: string } } {
  if (typeof state === 'string') return { v4: { statePath: state }, v6: {} };
  if (state === false || stateDir === undefined) return { v4: {}, v6: {} };
  return { v4: { statePath: join(stateDir, 'dht.json') }, v6: { statePath: join(stateDir, 'dht6.json') } };
}
