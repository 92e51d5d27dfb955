/**
 * What the server asks of a model's scheduler: generate up to `maxNewTokens` tokens for `n`
 * choices after a prompt, reporting each token as it is sampled. The scheduler knows tokens only;
 * text (detokenizing, stop strings) belongs to the observer, which says when a choice is done.
 */
import type { ApiError } from "@gearbox/shared";
import type { SamplingParams, TokenLogprob } from "../engine/engine.js";

export interface SampledToken {
  token: number;
  logprob?: number;
  topLogprobs?: TokenLogprob[];
}

/** "stop": an end-of-generation token or a stop string; "length": maxNewTokens reached. */
export type FinishReason = "stop" | "length";

export interface GenerationObserver {
  /**
   * A sampled token of choice `choice` (end-of-generation tokens are not reported, they finish the
   * choice). Returns true when the choice is complete (its text reached a stop string).
   */
  onToken(choice: number, sampled: SampledToken): boolean;
  /** The choice ended; `completionTokens` counts every token sampled for it, an end token included. */
  onFinish(choice: number, reason: FinishReason, completionTokens: number): void;
  /** The request failed (engine error, deadline, shutdown); no call follows. */
  onError(error: ApiError): void;
}

export interface GenerationRequest {
  promptTokens: readonly number[];
  /** Choices (OpenAI `n`): sequences forked from one prefill, sharing the prompt's KV blocks. */
  n: number;
  maxNewTokens: number;
  /** Sampling settings of each choice (length n). */
  sampling: readonly SamplingParams[];
  /** performance.now() after which the request is ended with an error. */
  deadline: number;
  observer: GenerationObserver;
}

export interface GenerationHandle {
  /** Ends the request now (the client went away): frees its KV blocks, no observer call follows. */
  cancel(): void;
}
