/**
 * Request fields shared by chat and legacy completions, as the OpenAI API reference defines them,
 * plus the sampling extensions that vLLM and llama.cpp servers accept (`top_k`, `min_p`,
 * `repetition_penalty`). Optional fields are `nullish` because the official SDKs type them
 * `T | null` and some clients send `null` for "use the default".
 */
import { z } from "zod";

export const temperature = z.number().min(0).max(2).nullish();
export const topP = z.number().min(0).max(1).nullish();
/** Values <= 0 disable top-k; vLLM clients send -1 for that. */
export const topK = z.int().min(-1).nullish();
export const minP = z.number().min(0).max(1).nullish();
export const seed = z.int().nullish();
export const n = z.int().min(1).max(128).nullish();
export const penalty = z.number().min(-2).max(2).nullish();
/** Bounded as the engine bounds it (a factor of 100 on the logits of seen tokens is already extreme). */
export const repetitionPenalty = z.number().positive().max(100).nullish();
export const maxTokens = z.int().min(1).nullish();
export const user = z.string().nullish();
export const stream = z.boolean().nullish();

/** Up to 4 sequences where generation stops; the stop text itself is not returned. */
export const stop = z
  .union([z.string(), z.array(z.string()).max(4, "at most 4 stop sequences are allowed")])
  .nullish();

/** Token id (as a decimal string, JSON keys are strings) to a bias added to its logit. */
export const logitBias = z
  .record(
    z.string().regex(/^\d+$/, "keys must be token ids (decimal integers)"),
    z.number().min(-100).max(100),
  )
  .nullish();

export const streamOptions = z
  .looseObject({
    include_usage: z.boolean().nullish(),
  })
  .nullish();
export type StreamOptions = z.infer<typeof streamOptions>;

/** Token counts of one request; sent on every response and in the stream's usage chunk. */
export const usageSchema = z.object({
  completion_tokens: z.int().nonnegative(),
  prompt_tokens: z.int().nonnegative(),
  total_tokens: z.int().nonnegative(),
  completion_tokens_details: z.record(z.string(), z.unknown()).nullish(),
  prompt_tokens_details: z.record(z.string(), z.unknown()).nullish(),
});
export type Usage = z.infer<typeof usageSchema>;

export const finishReasonSchema = z.enum(["stop", "length", "tool_calls", "content_filter", "function_call"]);
export type FinishReason = z.infer<typeof finishReasonSchema>;
