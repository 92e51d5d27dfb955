/**
 * Stop strings over streamed text. Generated text arrives in pieces (one token's worth at a time)
 * and a stop string may span pieces, so text that could still be the start of a stop string is held
 * back until the next piece decides; everything else is released at once. The stop string and what
 * follows it are never released.
 */
export class StopMatcher {
  private held = "";

  constructor(private readonly stops: readonly string[]) {}

  /** Adds a piece; returns the text now safe to emit, and whether a stop string was completed. */
  push(piece: string): { text: string; stopped: boolean } {
    const pending = this.held + piece;
    let cut = -1;
    for (const stop of this.stops) {
      const at = pending.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.held = "";
      return { text: pending.slice(0, cut), stopped: true };
    }
    const keep = this.longestPartialMatch(pending);
    this.held = pending.slice(pending.length - keep);
    return { text: pending.slice(0, pending.length - keep), stopped: false };
  }

  /** The end of the text (no stop string came): what was held back is plain text after all. */
  flush(): string {
    const text = this.held;
    this.held = "";
    return text;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of a stop string. */
  private longestPartialMatch(text: string): number {
    let best = 0;
    for (const stop of this.stops) {
      for (let k = Math.min(stop.length - 1, text.length); k > best; k--) {
        if (text.endsWith(stop.slice(0, k))) {
          best = k;
          break;
        }
      }
    }
    return best;
  }
}
