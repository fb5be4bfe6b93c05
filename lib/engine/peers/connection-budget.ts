/**
 * A cap on peer connections shared by several engines: a Client's global limit over all its
 * torrents (libtorrent's `connections_limit`). Each engine also keeps its own
 * `maxConnections`; a connection needs a slot in both. The cap may change at run time: a
 * lower one closes nothing, it only refuses new connections until enough have closed.
 */
import { InvalidArgumentError } from '../../errors.js';

export class ConnectionBudget {
  private _max: number;
  private _open = 0;

  constructor(max: number) {
    this._max = checked(max);
  }

  get max(): number {
    return this._max;
  }

  /** Connections holding a slot now. */
  get open(): number {
    return this._open;
  }

  setMax(max: number): void {
    this._max = checked(max);
  }

  hasRoom(): boolean {
    return this._open < this._max;
  }

  /** Take a slot if there is room. */
  acquire(): boolean {
    if (!this.hasRoom()) return false;
    this._open++;
    return true;
  }

  release(): void {
    if (this._open > 0) this._open--;
  }
}

function checked(max: number): number {
  if (!(Number.isInteger(max) && max >= 0) && max !== Infinity)
    throw new InvalidArgumentError(
      'ERR_INVALID_ARGUMENT',
      `a connection cap must be an integer >= 0, got ${max}`
    );
  return max;
}
