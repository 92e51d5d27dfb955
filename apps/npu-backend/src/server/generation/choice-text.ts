/**
 * One choice's tokens turned into the text a client sees: an incremental detokenizer that never
 * splits a UTF-8 character, then the stop-string matcher. Each token's log-probabilities travel
 * with the text they produced: a token is released once all of its text has been released, so a
 * stream's logprobs line up with its content and add up to the non-stream answer's.
 */
import type { TokenLogprob } from "../../engine/engine.js";
import type { StreamDecoder } from "../../tokenizer/stream-decoder.js";
import { StopMatcher } from "./stop-matcher.js";

export interface EmittedToken {
  token: number;
  logprob?: number;
  topLogprobs?: TokenLogprob[];
}

/** Text released now and the tokens it completes. */
export interface TextDelta {
  text: string;
  tokens: EmittedToken[];
}

interface PendingToken {
  /** Character span [start, end) of the token's text in the choice's whole text. */
  start: number;
  end: number;
  token: EmittedToken;
}

export class ChoiceText {
  private readonly stops: StopMatcher;
  private produced = 0;
  private released = 0;
  private pending: PendingToken[] = [];
  private stopped = false;

  constructor(
    private readonly decoder: StreamDecoder,
    stops: readonly string[],
  ) {
    this.stops = new StopMatcher(stops);
  }

  /** True once a stop string was found: the choice is complete. */
  get stoppedByString(): boolean {
    return this.stopped;
  }

  /** Adds a sampled token. */
  push(token: EmittedToken): TextDelta {
    const piece = this.decoder.push(token.token);
    this.pending.push({ start: this.produced, end: this.produced + piece.length, token });
    this.produced += piece.length;
    const { text, stopped } = this.stops.push(piece);
    this.released += text.length;
    if (stopped) {
      this.stopped = true;
      return { text, tokens: this.take((p) => p.start < this.released) };
    }
    // A token whose text is empty (the first bytes of a character) goes out with that character.
    return { text, tokens: this.takeWhile((p) => p.end <= this.released && p.start < this.released) };
  }

  /** The end of the choice: text held back (and an incomplete character, as U+FFFD) is released. */
  finish(): TextDelta {
    if (this.stopped) return { text: "", tokens: [] };
    const text = this.stops.push(this.decoder.flush()).text + this.stops.flush();
    this.released += text.length;
    return { text, tokens: this.take(() => true) };
  }

  private takeWhile(ready: (p: PendingToken) => boolean): EmittedToken[] {
    let count = 0;
    while (count < this.pending.length && ready(this.pending[count] as PendingToken)) count++;
    return this.pending.splice(0, count).map((p) => p.token);
  }

  /** Every pending token that passes `keep`; the rest are dropped (they belong to the stop string). */
  private take(keep: (p: PendingToken) => boolean): EmittedToken[] {
    const tokens = this.pending.filter(keep).map((p) => p.token);
    this.pending = [];
    return tokens;
  }
}
