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

/**
 * A choice's grammar (structured output, tool calls): the mask of allowed next tokens, and the
 * sampled tokens fed back. The scheduler computes a step's masks while the step's forward pass runs
 * and feeds every sampled token, end-of-generation tokens included, before anything else sees it.
 */
export interface TokenConstraint {
  /** Allowed next tokens (ceil(vocab / 32) words), or undefined for all. */
  nextMask(): Promise<Int32Array | undefined>;
  /** Follows a sampled token; false when the grammar rejects it (a bug: the mask allowed it). */
  accept(token: number): boolean;
  /** Frees it; called once the choice has ended, however it ended. */
  dispose(): void;
}

export interface GenerationRequest {
  promptTokens: readonly number[];
  /** Choices (OpenAI `n`): sequences forked from one prefill, sharing the prompt's KV blocks. */
  n: number;
  maxNewTokens: number;
  /** Sampling settings of each choice (length n). */
  sampling: readonly SamplingParams[];
  /** Grammar of each choice (length n), if constrained; the scheduler disposes them. */
  constraints?: readonly TokenConstraint[];
  /** performance.now() after which the request is ended with an error. */
  deadline: number;
  observer: GenerationObserver;
}

export interface GenerationHandle {
  /** Ends the request now (the client went away): frees its KV blocks, no observer call follows. */
  cancel(): void;
}
