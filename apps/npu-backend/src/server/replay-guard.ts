/**
 * Signatures already accepted, kept until their timestamp goes stale: a signed request captured on
 * the way (or sent twice) is refused the second time instead of running again within the 60 s a
 * signature stays fresh. The edge signs a random nonce into every request, so no legitimate request
 * repeats a signature. Entries expire with their timestamp, so the memory is bounded by the
 * requests of one skew window.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  private nextPruneSeconds = 0;

  constructor(
    private readonly maxSkewSeconds: number,
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  /** True the first time `signature` (valid, timestamped `timestamp`) is seen; false for a replay. */
  firstUse(signature: string, timestamp: number): boolean {
    const now = this.nowSeconds();
    if (now >= this.nextPruneSeconds) {
      for (const [key, expires] of this.seen) if (expires < now) this.seen.delete(key);
      this.nextPruneSeconds = now + 1;
    }
    if (this.seen.has(signature)) return false;
    // Past this the timestamp check refuses the signature anyway.
    this.seen.set(signature, timestamp + this.maxSkewSeconds);
    return true;
  }
}
