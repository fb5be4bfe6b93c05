/**
 * Our external IP as other nodes see it, learned by voting on the `ip` field of their replies
 * (BEP 42; libtorrent's ip_voter does the same). A node behind NAT cannot know its public
 * address otherwise, and BEP 42 ties our node id to it.
 *
 * One vote per voter subnet (/24 or /64): a single machine with many ports, or one network
 * lying together, counts once. Only the most recent `maxVoters` voters are remembered. An
 * address wins when it has at least `minVotes` votes and more than half of all votes held.
 */
import { EMPTY_MAP } from '../util/empty.js';
import { subnetKey, type SubnetKey } from '../net/ip-class.js';
import { ipFamily } from '../net/ip.js';

export interface ExternalIpOptions {
  /** Votes an address needs before it is believed (default 4). */
  minVotes?: number;
  /** Voters remembered (default 50). */
  maxVoters?: number;
}

export class ExternalIpVoter {
  private readonly minVotes: number;
  private readonly maxVoters: number;
  /** voter subnet -> the address it reported (Map order: oldest vote first). */
  private votes: ReadonlyMap<SubnetKey, string> = EMPTY_MAP;
  /** reported address -> votes for it among `votes`. */
  private tally: ReadonlyMap<string, number> = EMPTY_MAP;
  private current: string | null = null;

  constructor(opts: ExternalIpOptions = {}) {
    this.minVotes = opts.minVotes ?? 4;
    this.maxVoters = opts.maxVoters ?? 50;
  }

  /** The address we believe is ours, or null while unknown. */
  get address(): string | null {
    return this.current;
  }

  /**
   * `voter` (the replying node's IP) says our IP is `reported`. Returns the new winner when
   * this vote changed it, else null.
   */
  vote(voter: string, reported: string): string | null {
    const key = subnetKey(voter);
    const previous = this.votes.get(key);
    if (previous === reported) {
      // The same vote again (most replies): only its age changes.
      this.ownVotes().delete(key);
      this.ownVotes().set(key, previous);
      return null;
    }
    if (ipFamily(reported) === undefined) return null;
    // Every voter names the same few addresses: keep one copy of each (the tally's), not one
    // string per voter (each reply decodes its own).
    for (const ip of this.tally.keys()) if (ip === reported) reported = ip;
    if (previous !== undefined) this.count(previous, -1);
    this.ownVotes().delete(key);
    this.ownVotes().set(key, reported);
    this.count(reported, 1);
    if (this.votes.size > this.maxVoters) {
      const [oldestKey, oldestIp] = this.votes.entries().next().value!;
      this.ownVotes().delete(oldestKey);
      this.count(oldestIp, -1);
    }
    let best: string | null = null;
    let bestVotes = 0;
    for (const [ip, n] of this.tally) {
      if (n > bestVotes) {
        best = ip;
        bestVotes = n;
      }
    }
    if (best === null || best === this.current) return null;
    if (bestVotes < this.minVotes || bestVotes * 2 <= this.votes.size) return null;
    this.current = best;
    return best;
  }

  private count(ip: string, delta: number): void {
    const n = (this.tally.get(ip) ?? 0) + delta;
    if (n > 0) this.ownTally().set(ip, n);
    else this.ownTally().delete(ip);
  }

  private ownVotes(): Map<SubnetKey, string> {
    if (this.votes === EMPTY_MAP) this.votes = new Map();
    return this.votes as Map<string, string>;
  }

  private ownTally(): Map<string, number> {
    if (this.tally === EMPTY_MAP) this.tally = new Map();
    return this.tally as Map<string, number>;
  }
}
