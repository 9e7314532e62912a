// Owner signatures this node has accepted, kept while they are still within their 15-minute
// window, so a captured signed request is accepted once; and the node id they must be signed for,
// so the cache, being per node, is never the only guard against a replay on another node.
// Bounded: when full, new signatures are refused (503) rather than old ones forgotten, since
// forgetting one would reopen it to replay.
import { AdminError } from './http.ts';

/** Signatures remembered at once (~100 bytes each: ~20 MB at the bound). Reached only by more
 *  than ~220 owner-signed requests per second, sustained over 15 minutes, on one node. */
export const SEEN_SIGNATURES_MAX = 200_000;
/** Expired entries are swept at most this often, so a full cache does not cost a sweep per request. */
const SWEEP_INTERVAL_MS = 1000;

export class SeenSignatures {
  private readonly until = new Map<string, number>();
  private nextSweep = 0;
  readonly max: number;
  /** This node's id: owner signatures cover it (site-auth.ts). */
  readonly node: string;

  constructor(node: string, max = SEEN_SIGNATURES_MAX) {
    this.node = node;
    this.max = max;
  }

  get size(): number {
    return this.until.size;
  }

  /** Records a verified signature valid until `expiresAt` (ms); false if it was already accepted.
   *  Throws 503 when the cache is full of signatures still valid. */
  admit(signature: string, expiresAt: number, now = Date.now()): boolean {
    if (now >= this.nextSweep) this.sweep(now);
    // 128 bits of an HMAC identify it: no one without the secret can aim at a prefix.
    const id = signature.slice(0, 32);
    const seen = this.until.get(id);
    if (seen !== undefined && seen >= now) return false;
    if (seen === undefined && this.until.size >= this.max)
      throw new AdminError(503, 'SlowDown', `this node has accepted ${this.max} signed requests in the last 15 minutes; retry in a few seconds`);
    this.until.set(id, expiresAt);
    return true;
  }

  private sweep(now: number): void {
    this.nextSweep = now + SWEEP_INTERVAL_MS;
    for (const [id, t] of this.until) if (t < now) this.until.delete(id);
  }
}
