/**
 * POST /v1/completions (the legacy text completion API) on the wire. `prompt` may be text, a batch
 * of texts, token ids, or a batch of token-id lists; token ids are fed to the model as given.
 */
import { z } from "zod";
import {
  finishReasonSchema,
  logitBias,
  maxTokens,
  minP,
  n,
  penalty,
  repetitionPenalty,
  seed,
  stop,
  stream,
  streamOptions,
  temperature,
  topK,
  topP,
  usageSchema,
  user,
} from "./params.js";

const tokenIds = z.array(z.int().nonnegative()).min(1, "a token-id prompt must not be empty");

export const promptSchema = z.union([
  z.string(),
  z.array(z.string()).min(1, "a prompt batch must not be empty"),
  tokenIds,
  z.array(tokenIds).min(1, "a prompt batch must not be empty"),
]);
export type Prompt = z.infer<typeof promptSchema>;

export const completionRequestSchema = z.looseObject({
  model: z.string().min(1),
  prompt: promptSchema,
  best_of: z.int().min(1).max(20).nullish(),
  echo: z.boolean().nullish(),
  frequency_penalty: penalty,
  logit_bias: logitBias,
  /** Number of most likely tokens to report per position (the legacy API's integer form). */
  logprobs: z.int().min(0).max(5).nullish(),
  max_tokens: maxTokens,
  n,
  presence_penalty: penalty,
  seed,
  stop,
  stream,
  stream_options: streamOptions,
  suffix: z.string().nullish(),
  temperature,
  top_p: topP,
  user,
  // Extensions beyond the OpenAI reference, named as vLLM and llama.cpp name them.
  top_k: topK,
  min_p: minP,
  repetition_penalty: repetitionPenalty,
});
export type CompletionRequest = z.infer<typeof completionRequestSchema>;

export const completionLogprobsSchema = z.object({
  text_offset: z.array(z.int()),
  token_logprobs: z.array(z.number().nullable()),
  tokens: z.array(z.string()),
  top_logprobs: z.array(z.record(z.string(), z.number()).nullable()),
});
export type CompletionLogprobs = z.infer<typeof completionLogprobsSchema>;

export const completionChoiceSchema = z.object({
  finish_reason: finishReasonSchema.nullable(),
  index: z.int().nonnegative(),
  logprobs: completionLogprobsSchema.nullable(),
  text: z.string(),
});
export type CompletionChoice = z.infer<typeof completionChoiceSchema>;

export const completionSchema = z.object({
  id: z.string(),
  choices: z.array(completionChoiceSchema),
  created: z.int(),
  model: z.string(),
  object: z.literal("text_completion"),
  system_fingerprint: z.string().nullish(),
  usage: usageSchema,
});
export type Completion = z.infer<typeof completionSchema>;

/**
 * One `data:` event of a legacy completion stream. OpenAI reuses `object: "text_completion"` for
 * chunks; `finish_reason` is null until the last text chunk; the usage chunk has `choices: []`.
 */
export const completionChunkSchema = z.object({
  id: z.string(),
  choices: z.array(completionChoiceSchema),
  created: z.int(),
  model: z.string(),
  object: z.literal("text_completion"),
  system_fingerprint: z.string().nullish(),
  usage: usageSchema.nullish(),
});
export type CompletionChunk = z.infer<typeof completionChunkSchema>;
