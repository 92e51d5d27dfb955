/** Legacy completion responses and stream chunks, built by small pure functions. */
import type { Completion, CompletionChunk, CompletionLogprobs, FinishReason, Usage } from "@gearbox/shared";
import type { ResponseHead } from "./common-fields.js";

export interface FinishedCompletionChoice {
  index: number;
  text: string;
  finishReason: FinishReason;
  logprobs: CompletionLogprobs | null;
}

export function completion(
  head: ResponseHead,
  choices: readonly FinishedCompletionChoice[],
  usage: Usage,
): Completion {
  return {
    id: head.id,
    object: "text_completion",
    created: head.created,
    model: head.model,
    choices: choices.map((c) => ({
      index: c.index,
      text: c.text,
      logprobs: c.logprobs,
      finish_reason: c.finishReason,
    })),
    usage,
  };
}

export function completionTextChunk(
  head: ResponseHead,
  index: number,
  text: string,
  logprobs: CompletionLogprobs | null,
  finishReason: FinishReason | null = null,
): CompletionChunk {
  return {
    id: head.id,
    object: "text_completion",
    created: head.created,
    model: head.model,
    choices: [{ index, text, logprobs, finish_reason: finishReason }],
  };
}

export function completionUsageChunk(head: ResponseHead, usage: Usage): CompletionChunk {
  return {
    id: head.id,
    object: "text_completion",
    created: head.created,
    model: head.model,
    choices: [],
    usage,
  };
}
