/** Chat completion responses and stream chunks, built by small pure functions (field order as OpenAI's). */
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionChunkChoice,
  ChatLogprobs,
  FinishReason,
  ToolCall,
  ToolCallDelta,
  Usage,
} from "@gearbox/shared";
import type { ResponseHead } from "./common-fields.js";

export interface FinishedChatChoice {
  index: number;
  text: string;
  finishReason: FinishReason;
  logprobs: ChatLogprobs | null;
  /** Tool calls read from the answer; content is null when there are calls and no text. */
  toolCalls?: readonly ToolCall[];
}

export function chatCompletion(
  head: ResponseHead,
  choices: readonly FinishedChatChoice[],
  usage: Usage,
): ChatCompletion {
  return {
    id: head.id,
    object: "chat.completion",
    created: head.created,
    model: head.model,
    choices: choices.map((c) => ({
      index: c.index,
      message:
        c.toolCalls && c.toolCalls.length > 0
          ? { role: "assistant", content: c.text === "" ? null : c.text, tool_calls: [...c.toolCalls] }
          : { role: "assistant", content: c.text },
      logprobs: c.logprobs,
      finish_reason: c.finishReason,
    })),
    usage,
  };
}

function chunk(head: ResponseHead, choices: ChatCompletionChunkChoice[]): ChatCompletionChunk {
  return { id: head.id, object: "chat.completion.chunk", created: head.created, model: head.model, choices };
}

/** The first chunk of a choice: the role, and no content yet. */
export function roleChunk(head: ResponseHead, index: number): ChatCompletionChunk {
  return chunk(head, [
    { index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null },
  ]);
}

export function contentChunk(
  head: ResponseHead,
  index: number,
  content: string,
  logprobs: ChatLogprobs | null,
): ChatCompletionChunk {
  return chunk(head, [{ index, delta: { content }, logprobs, finish_reason: null }]);
}

/**
 * A tool call delta, as OpenAI streams them: the first of each call carries index, id, type, the
 * function's name and empty arguments; the following ones only argument fragments.
 */
export function toolCallChunk(head: ResponseHead, index: number, call: ToolCallDelta): ChatCompletionChunk {
  return chunk(head, [{ index, delta: { tool_calls: [call] }, logprobs: null, finish_reason: null }]);
}

/** The last chunk of a choice: an empty delta and why it ended. */
export function finishChunk(head: ResponseHead, index: number, reason: FinishReason): ChatCompletionChunk {
  return chunk(head, [{ index, delta: {}, logprobs: null, finish_reason: reason }]);
}

/** After every choice has finished: the usage, with no choices. */
export function usageChunk(head: ResponseHead, usage: Usage): ChatCompletionChunk {
  return { ...chunk(head, []), usage };
}
