/**
 * One constrained choice: an XGrammar matcher that gives the mask of allowed next tokens and
 * follows the tokens sampled under it.
 *
 * Failures stay with their request: a mask that cannot be computed is reported through the next
 * accept() (the scheduler then fails this request only) instead of failing the engine step that
 * other requests share. Disposing is idempotent and safe at any moment: a mask computation in flight
 * (it crosses an await) frees the matcher when it is done, and a disposed constraint — its request
 * was cancelled while a step was being prepared — allows everything.
 */
import type { TokenConstraint } from "../scheduler/generation.js";
import type { XgGrammarMatcher } from "./xgrammar.js";

export class GrammarConstraint implements TokenConstraint {
  private disposed = false;
  private freed = false;
  private computing = false;
  private broken = false;

  constructor(
    private readonly matcher: XgGrammarMatcher,
    /** The compiler's counters: masks computed and their time. */
    private readonly stats: { masks: number; maskSeconds: number },
  ) {}

  async nextMask(): Promise<Int32Array | undefined> {
    if (this.disposed || this.broken) return undefined;
    const started = performance.now();
    this.computing = true;
    try {
      const mask = await this.matcher.getNextTokenBitmask();
      this.stats.maskSeconds += (performance.now() - started) / 1000;
      this.stats.masks++;
      return mask;
    } catch {
      this.broken = true;
      return undefined;
    } finally {
      this.computing = false;
      if (this.disposed) this.free();
    }
  }

  accept(token: number): boolean {
    if (this.broken) return false;
    if (this.disposed) return true;
    return this.matcher.acceptToken(token);
  }

  dispose(): void {
    this.disposed = true;
    if (!this.computing) this.free();
  }

  private free(): void {
    if (this.freed) return;
    this.freed = true;
    this.matcher.dispose();
  }
}
