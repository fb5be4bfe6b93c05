/**
 * Persistence of the node's identity and routing table: JSON written atomically
 * (temp file, fsync, rename), so a crash mid-write never leaves a torn file.
 */
import { promises as fs } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-file.js';
import { TrackerlessError } from '../errors.js';
import { fromHex, isHex, toHex } from '../util/bytes.js';
import { ID_LENGTH } from '../constants.js';
import type { NodeInfo } from '../krpc/types.js';

export interface DhtState {
  id: Uint8Array;
  nodes: NodeInfo[];
}

interface StateJson {
  version: 1;
  id: string;
  nodes: Array<{ id: string; host: string; port: number }>;
}

/** Caps what a (possibly corrupted) state file can make us load. */
const MAX_STATE_NODES = 2000;
const MAX_STATE_BYTES = 1 << 20;

export async function saveState(path: string, state: DhtState): Promise<void> {
  const json: StateJson = {
    version: 1,
    id: toHex(state.id),
    nodes: state.nodes.slice(0, MAX_STATE_NODES).map((n) => ({ id: toHex(n.id), host: n.host, port: n.port }))
  };
  await writeFileAtomic(path, JSON.stringify(json));
}

/** Load a state file; null if it does not exist. Throws ERR_STATE_FILE if it is unreadable. */
export async function loadState(path: string): Promise<DhtState | null> {
  let text: string;
  try {
    const stat = await fs.stat(path);
    if (stat.size > MAX_STATE_BYTES)
      throw new TrackerlessError('ERR_STATE_FILE', `state file ${path} is too large`);
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let json: Partial<StateJson>;
  try {
    json = JSON.parse(text) as Partial<StateJson>;
  } catch (err) {
    throw new TrackerlessError('ERR_STATE_FILE', `state file ${path} is not valid JSON`, { cause: err });
  }
  if (
    json.version !== 1 ||
    typeof json.id !== 'string' ||
    !isHex(json.id, ID_LENGTH) ||
    !Array.isArray(json.nodes)
  ) {
    throw new TrackerlessError('ERR_STATE_FILE', `state file ${path} has an unknown format`);
  }
  const nodes: NodeInfo[] = [];
  for (const n of json.nodes.slice(0, MAX_STATE_NODES)) {
    if (
      n &&
      typeof n.id === 'string' &&
      isHex(n.id, ID_LENGTH) &&
      typeof n.host === 'string' &&
      Number.isInteger(n.port) &&
      n.port >= 1 &&
      n.port <= 65535
    ) {
      nodes.push({ id: fromHex(n.id), host: n.host, port: n.port });
    }
  }
  return { id: fromHex(json.id), nodes };
}
