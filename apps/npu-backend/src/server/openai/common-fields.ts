/** What chat and legacy completion responses have in common: the head every chunk repeats, and usage. */
import { randomBytes } from "node:crypto";
import type { Usage } from "@gearbox/shared";

/** Same `id`, `created` and `model` on the response and on every chunk of its stream. */
export interface ResponseHead {
  id: string;
  created: number;
  model: string;
}

/** A new head; `prefix` is "chatcmpl" or "cmpl" as OpenAI's ids are. */
export function responseHead(prefix: "chatcmpl" | "cmpl", model: string): ResponseHead {
  return {
    id: `${prefix}-${randomBytes(12).toString("hex")}`,
    created: Math.floor(Date.now() / 1000),
    model,
  };
}

export function usage(promptTokens: number, completionTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}
