/**
 * Where trackerless keeps state between runs (the DHT routing table the CLI saves, a Client's
 * session): `$XDG_STATE_HOME/trackerless`, or `~/.local/state/trackerless` when that variable
 * is unset or not an absolute path (XDG Base Directory Specification 0.8).
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
