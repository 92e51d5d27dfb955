/**
 * One constrained choice: an XGrammar matcher that gives the mask of allowed next tokens and
 * follows the tokens sampled under it. Disposing is idempotent, and a disposed constraint (its
 * request was cancelled while a step was being prepared) allows everything instead of touching
 * freed WASM memory.
 */
import type { TokenConstraint } from "../scheduler/generation.js";
import type { XgGrammarMatcher } from "./xgrammar.js";

export class GrammarConstraint implements TokenConstraint {
  private disposed = false;

  constructor(
    private readonly matcher: XgGrammarMatcher,
    /** The compiler's counters: masks computed and their time. */
    private readonly stats: { masks: number; maskSeconds: number },
  ) {}

  async nextMask(): Promise<Int32Array | undefined> {
    if (this.disposed) return undefined;
    const started = performance.now();
    const mask = await this.matcher.getNextTokenBitmask();
    this.stats.maskSeconds += (performance.now() - started) / 1000;
    this.stats.masks++;
    return mask;
  }

  accept(token: number): boolean {
    if (this.disposed) return true;
    return this.matcher.acceptToken(token);
  }

  get terminated(): boolean {
    return !this.disposed && this.matcher.isTerminated();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.matcher.dispose();
  }
}
