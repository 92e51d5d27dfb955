/**
 * How many tokens a request may use, known before it runs: the prompt counted with tiktoken's
 * cl100k_base (Llama 3's tokenizer is a tiktoken BPE of the same family, so counts are close)
 * plus the most completion tokens it may generate: max_tokens, or when the client gave none the
 * edge's MAX_TOKENS_DEFAULT, times the number of choices. The edge sends that per-choice budget to
 * the backend (x-gearbox-max-tokens), which never generates more, so the reservation is the worst
 * case. The rate limiter settles with the real usage from the backend afterwards.
 */
import { type ChatCompletionRequest, type CompletionRequest, splitLongRuns } from "@gearbox/shared";
import { Tiktoken } from "js-tiktoken/lite";
import cl100kBase from "js-tiktoken/ranks/cl100k_base";

// Built on first use and kept for the isolate's life: turning the rank table into the encoder
// costs tens of milliseconds of CPU, which only keys with a token limit should pay, and only once.
let encoder: Tiktoken | undefined;

/** Longest run of one character class counted in one piece (words longer than this are rare). */
export const ESTIMATE_MAX_RUN = 32;

/** Tokens of a text; special-token markers in it are counted as plain text. */
export function countTokens(text: string): number {
  if (text.length === 0) return 0;
  encoder ??= new Tiktoken(cl100kBase);
  // Long runs of one character class are counted in short pieces: BPE is quadratic in a
  // pre-token's length, and js-tiktoken would spend hours on a 900,000-letter run (and ~4 ms on
  // each 256-character piece). Repeated pieces (a run of one letter) are counted once.
  const pieces = splitLongRuns(text, ESTIMATE_MAX_RUN);
  if (pieces.length === 1) return encoder.encode(text, [], []).length;
  const seen = new Map<string, number>();
  let count = 0;
  for (const piece of pieces) {
    let n = seen.get(piece);
    if (n === undefined) {
      n = encoder.encode(piece, [], []).length;
      if (seen.size < 1024) seen.set(piece, n);
    }
    count += n;
  }
  return count;
}

/** Tokens the chat template adds around each message (role header, end-of-turn). */
const PER_MESSAGE_OVERHEAD = 4;

/** A request's reservation: its prompt, and at most `maxTokens` completion tokens per choice. */
export interface TokenEstimate {
  prompt: number;
  maxTokens: number;
  choices: number;
}

/** The worst case of an estimate. */
export function reservedTokens(estimate: TokenEstimate): number {
  return estimate.prompt + estimate.maxTokens * estimate.choices;
}

export function estimateChatTokens(request: ChatCompletionRequest, defaultMaxTokens: number): TokenEstimate {
  let prompt = 3; // the assistant header that primes the reply
  for (const message of request.messages) {
    prompt += PER_MESSAGE_OVERHEAD;
    const content = message.content;
    if (typeof content === "string") prompt += countTokens(content);
    else if (Array.isArray(content)) {
      for (const part of content) if (part.type === "text") prompt += countTokens(part.text);
    }
    if (message.role === "assistant" && message.tool_calls)
      prompt += countTokens(JSON.stringify(message.tool_calls));
  }
  if (request.tools) prompt += countTokens(JSON.stringify(request.tools));
  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? defaultMaxTokens;
  return { prompt, maxTokens, choices: request.n ?? 1 };
}

export function estimateCompletionTokens(
  request: CompletionRequest,
  defaultMaxTokens: number,
): TokenEstimate {
  const prompts = typeof request.prompt === "string" ? [request.prompt] : request.prompt;
  let prompt = 0;
  for (const item of prompts) {
    if (typeof item === "string") prompt += countTokens(item);
    else if (typeof item === "number") prompt += 1;
    else prompt += item.length;
  }
  const batch = prompts.every((item) => typeof item === "number") ? 1 : prompts.length;
  const choices = Math.max(request.n ?? 1, request.best_of ?? 1) * batch;
  return { prompt, maxTokens: request.max_tokens ?? defaultMaxTokens, choices };
}
