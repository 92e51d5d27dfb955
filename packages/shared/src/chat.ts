/**
 * POST /v1/chat/completions on the wire: request, response and stream chunk, field names and order
 * as in the OpenAI API reference. Request objects are loose: fields we do not know are kept in the
 * parsed value (see `unknownFields`) so that the backend can reject them by name instead of
 * silently ignoring what an SDK user asked for.
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

// ---------------------------------------------------------------- content parts

export const textPartSchema = z.looseObject({
  type: z.literal("text"),
  text: z.string(),
});
export type TextPart = z.infer<typeof textPartSchema>;

/** Accepted by the schema so that a text-only backend can reject images by name. */
export const imageUrlPartSchema = z.looseObject({
  type: z.literal("image_url"),
  image_url: z.looseObject({
    url: z.string(),
    detail: z.enum(["auto", "low", "high"]).nullish(),
  }),
});
export type ImageUrlPart = z.infer<typeof imageUrlPartSchema>;

/** Accepted by the schema so that a text-only backend can reject audio by name. */
export const inputAudioPartSchema = z.looseObject({
  type: z.literal("input_audio"),
  input_audio: z.looseObject({
    data: z.string(),
    format: z.enum(["wav", "mp3"]),
  }),
});
export type InputAudioPart = z.infer<typeof inputAudioPartSchema>;

export const refusalPartSchema = z.looseObject({
  type: z.literal("refusal"),
  refusal: z.string(),
});
export type RefusalPart = z.infer<typeof refusalPartSchema>;

export const userContentPartSchema = z.discriminatedUnion("type", [
  textPartSchema,
  imageUrlPartSchema,
  inputAudioPartSchema,
]);
export type UserContentPart = z.infer<typeof userContentPartSchema>;

export const assistantContentPartSchema = z.discriminatedUnion("type", [textPartSchema, refusalPartSchema]);
export type AssistantContentPart = z.infer<typeof assistantContentPartSchema>;

const textContent = z.union([z.string(), z.array(textPartSchema)]);

// ---------------------------------------------------------------- tools

export const toolCallSchema = z.looseObject({
  id: z.string(),
  type: z.literal("function"),
  function: z.looseObject({
    name: z.string(),
    /** JSON text, exactly as the model produced it. */
    arguments: z.string(),
  }),
});
export type ToolCall = z.infer<typeof toolCallSchema>;

export const functionToolSchema = z.looseObject({
  type: z.literal("function"),
  function: z.looseObject({
    name: z.string().min(1),
    description: z.string().nullish(),
    /** A JSON Schema object. */
    parameters: z.record(z.string(), z.unknown()).nullish(),
    strict: z.boolean().nullish(),
  }),
});
export type FunctionTool = z.infer<typeof functionToolSchema>;

export const toolChoiceSchema = z.union([
  z.enum(["none", "auto", "required"]),
  z.looseObject({
    type: z.literal("function"),
    function: z.looseObject({ name: z.string() }),
  }),
]);
export type ToolChoice = z.infer<typeof toolChoiceSchema>;

// ---------------------------------------------------------------- messages

export const messageRoleSchema = z.enum(["system", "developer", "user", "assistant", "tool"]);
export type MessageRole = z.infer<typeof messageRoleSchema>;

export const systemMessageSchema = z.looseObject({
  content: textContent,
  role: z.literal("system"),
  name: z.string().nullish(),
});
export const developerMessageSchema = z.looseObject({
  content: textContent,
  role: z.literal("developer"),
  name: z.string().nullish(),
});
export const userMessageSchema = z.looseObject({
  content: z.union([z.string(), z.array(userContentPartSchema)]),
  role: z.literal("user"),
  name: z.string().nullish(),
});
export const assistantMessageSchema = z.looseObject({
  role: z.literal("assistant"),
  /** May be absent or null when the message only carries tool calls. */
  content: z.union([z.string(), z.array(assistantContentPartSchema)]).nullish(),
  name: z.string().nullish(),
  refusal: z.string().nullish(),
  tool_calls: z.array(toolCallSchema).nullish(),
});
export const toolMessageSchema = z.looseObject({
  content: textContent,
  role: z.literal("tool"),
  tool_call_id: z.string(),
});

export const chatMessageSchema = z.discriminatedUnion("role", [
  systemMessageSchema,
  developerMessageSchema,
  userMessageSchema,
  assistantMessageSchema,
  toolMessageSchema,
]);
export type ChatMessage = z.infer<typeof chatMessageSchema>;
export type SystemMessage = z.infer<typeof systemMessageSchema>;
export type DeveloperMessage = z.infer<typeof developerMessageSchema>;
export type UserMessage = z.infer<typeof userMessageSchema>;
export type AssistantMessage = z.infer<typeof assistantMessageSchema>;
export type ToolMessage = z.infer<typeof toolMessageSchema>;

// ---------------------------------------------------------------- response_format

export const responseFormatSchema = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("text") }),
  z.looseObject({ type: z.literal("json_object") }),
  z.looseObject({
    type: z.literal("json_schema"),
    json_schema: z.looseObject({
      name: z.string().min(1),
      description: z.string().nullish(),
      schema: z.record(z.string(), z.unknown()).nullish(),
      strict: z.boolean().nullish(),
    }),
  }),
]);
export type ResponseFormat = z.infer<typeof responseFormatSchema>;

// ---------------------------------------------------------------- request

export const chatCompletionRequestSchema = z.looseObject({
  messages: z.array(chatMessageSchema).min(1, "at least one message is required"),
  model: z.string().min(1),
  frequency_penalty: penalty,
  logit_bias: logitBias,
  logprobs: z.boolean().nullish(),
  /** Wins over `max_tokens` when both are given. */
  max_completion_tokens: maxTokens,
  max_tokens: maxTokens,
  n,
  parallel_tool_calls: z.boolean().nullish(),
  presence_penalty: penalty,
  response_format: responseFormatSchema.nullish(),
  seed,
  stop,
  stream,
  stream_options: streamOptions,
  temperature,
  tool_choice: toolChoiceSchema.nullish(),
  tools: z.array(functionToolSchema).nullish(),
  top_logprobs: z.int().min(0).max(20).nullish(),
  top_p: topP,
  user,
  // Extensions beyond the OpenAI reference, named as vLLM and llama.cpp name them.
  top_k: topK,
  min_p: minP,
  repetition_penalty: repetitionPenalty,
});
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

// ---------------------------------------------------------------- response

export const topLogprobSchema = z.object({
  token: z.string(),
  logprob: z.number(),
  bytes: z.array(z.int()).nullable(),
});
export type TopLogprob = z.infer<typeof topLogprobSchema>;

export const tokenLogprobSchema = z.object({
  token: z.string(),
  logprob: z.number(),
  bytes: z.array(z.int()).nullable(),
  top_logprobs: z.array(topLogprobSchema),
});
export type TokenLogprob = z.infer<typeof tokenLogprobSchema>;

export const chatLogprobsSchema = z.object({
  content: z.array(tokenLogprobSchema).nullable(),
  refusal: z.array(tokenLogprobSchema).nullish(),
});
export type ChatLogprobs = z.infer<typeof chatLogprobsSchema>;

export const chatCompletionMessageSchema = z.object({
  content: z.string().nullable(),
  refusal: z.string().nullish(),
  role: z.literal("assistant"),
  tool_calls: z.array(toolCallSchema).nullish(),
});
export type ChatCompletionMessage = z.infer<typeof chatCompletionMessageSchema>;

export const chatCompletionChoiceSchema = z.object({
  finish_reason: finishReasonSchema,
  index: z.int().nonnegative(),
  logprobs: chatLogprobsSchema.nullable(),
  message: chatCompletionMessageSchema,
});
export type ChatCompletionChoice = z.infer<typeof chatCompletionChoiceSchema>;

export const chatCompletionSchema = z.object({
  id: z.string(),
  choices: z.array(chatCompletionChoiceSchema),
  created: z.int(),
  model: z.string(),
  object: z.literal("chat.completion"),
  system_fingerprint: z.string().nullish(),
  usage: usageSchema,
});
export type ChatCompletion = z.infer<typeof chatCompletionSchema>;

// ---------------------------------------------------------------- stream chunk

export const toolCallDeltaSchema = z.object({
  index: z.int().nonnegative(),
  id: z.string().nullish(),
  type: z.literal("function").nullish(),
  function: z
    .object({
      name: z.string().nullish(),
      arguments: z.string().nullish(),
    })
    .nullish(),
});
export type ToolCallDelta = z.infer<typeof toolCallDeltaSchema>;

export const chatCompletionDeltaSchema = z.object({
  content: z.string().nullish(),
  refusal: z.string().nullish(),
  role: z.literal("assistant").nullish(),
  tool_calls: z.array(toolCallDeltaSchema).nullish(),
});
export type ChatCompletionDelta = z.infer<typeof chatCompletionDeltaSchema>;

export const chatCompletionChunkChoiceSchema = z.object({
  delta: chatCompletionDeltaSchema,
  finish_reason: finishReasonSchema.nullable(),
  index: z.int().nonnegative(),
  logprobs: chatLogprobsSchema.nullish(),
});
export type ChatCompletionChunkChoice = z.infer<typeof chatCompletionChunkChoiceSchema>;

/** One `data:` event of a chat stream. The final usage chunk has `choices: []`. */
export const chatCompletionChunkSchema = z.object({
  id: z.string(),
  choices: z.array(chatCompletionChunkChoiceSchema),
  created: z.int(),
  model: z.string(),
  object: z.literal("chat.completion.chunk"),
  system_fingerprint: z.string().nullish(),
  usage: usageSchema.nullish(),
});
export type ChatCompletionChunk = z.infer<typeof chatCompletionChunkSchema>;
