/**
 * A node's state file as one unit: at start, take the file's lock (state-lock.ts) and load it
 * (state-file.ts); while held, save it (periodically and on stop); on stop, save once more and
 * release the lock. Without the lock (another live node holds it, or the directory is not
 * writable) the file is only read: it is ours to save only while we hold it. Problems are
 * reported through `warn`, never thrown: a node runs without its state file rather than not at
 * all.
 */
import { TrackerlessError } from '../errors.js';
import { loadState, saveState, type DhtState } from './state-file.js';
import { lockStateFile, type StateLock } from './state-lock.js';

export class StateStore {
  private lock: StateLock | null = null;

  constructor(
    readonly path: string,
    private readonly warn: (err: Error) => void
  ) {}

  /** May we write the file (we hold its lock)? */
  get writable(): boolean {
    return this.lock !== null;
  }

  /**
   * Take the lock and read the file; null when there is no usable file. `cancelled` is asked
   * after the lock is taken: a node destroyed meanwhile loads nothing.
   */
  async open(cancelled: () => boolean): Promise<DhtState | null> {
    try {
      const taken = await lockStateFile(this.path);
      if (taken.held) this.lock = taken.lock;
      else
        this.warn(
          new TrackerlessError(
            'ERR_STATE_FILE',
            `state file ${this.path} is in use by process ${taken.holder}: this node uses its nodes under an id of its own and does not save it`
          )
        );
    } catch (err) {
      this.warn(
        new TrackerlessError('ERR_STATE_FILE', `cannot lock state file ${this.path}: it will not be saved`, {
          cause: err
        })
      );
    }
    if (cancelled()) return null;
    return loadState(this.path).catch((err: Error) => {
      this.warn(err);
      return null;
    });
  }

  /** Save `state` if we hold the lock. */
  async save(state: DhtState): Promise<void> {
    if (this.lock) await saveState(this.path, state);
  }

  /** Save a last time (when `state` is given) and release the lock. */
  async close(state: DhtState | null): Promise<void> {
    const lock = this.lock;
    if (!lock) return;
    if (state) await this.save(state).catch(this.warn);
    this.lock = null;
    await lock.release().catch(this.warn);
  }
}
