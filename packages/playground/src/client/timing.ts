/**
 * Time to first token and decode speed of one answer. Tokens per second counts the tokens after
 * the first over the time after the first, so that it measures decoding, not the prompt's prefill
 * (which time to first token already shows). The usage chunk gives the exact token count; a stopped
 * answer has none, and then each content chunk counts as one token (the backend sends one per token
 * unless a character spans several), shown as an estimate.
 */
export class AnswerTiming {
  private readonly started = performance.now();
  private firstAt: number | undefined;
  private lastAt: number | undefined;
  private chunks = 0;
  private usageTokens: number | undefined;

  text(): void {
    const now = performance.now();
    this.firstAt ??= now;
    this.lastAt = now;
    this.chunks++;
  }

  usage(completionTokens: number): void {
    this.usageTokens = completionTokens;
  }

  /** Milliseconds from sending to the first text, if any came. */
  get timeToFirstTokenMs(): number | undefined {
    return this.firstAt === undefined ? undefined : this.firstAt - this.started;
  }

  /** Tokens after the first per second after the first; undefined with fewer than two tokens. */
  get tokensPerSecond(): { value: number; estimated: boolean } | undefined {
    const tokens = this.usageTokens ?? this.chunks;
    if (this.firstAt === undefined || this.lastAt === undefined || tokens < 2 || this.lastAt <= this.firstAt)
      return undefined;
    return {
      value: ((tokens - 1) * 1000) / (this.lastAt - this.firstAt),
      estimated: this.usageTokens === undefined,
    };
  }

  get tokens(): { count: number; estimated: boolean } {
    return { count: this.usageTokens ?? this.chunks, estimated: this.usageTokens === undefined };
  }
}
