/**
 * What the edge tells a backend about the key behind a request, in headers (the directive ones
 * are covered by the edge's signature): the completion budget it reserved the key's tokens for,
 * the models the key may reach through "auto", and whether the stream should report its running
 * usage. A backend called directly (API key, open mode) sees none of them and applies its own
 * settings alone; a directive can only narrow what a request may do, never widen it.
 */
import {
  ALLOWED_MODELS_HEADER,
  invalidRequest,
  MAX_TOKENS_HEADER,
  USAGE_PROGRESS_HEADER,
  type UsageProgress,
  usageProgressComment,
} from "@gearbox/shared";
import type { Context } from "hono";
import type { SendEvent } from "./event-stream.js";

export interface EdgeDirectives {
  /** Most completion tokens per choice. */
  maxTokens: number | undefined;
  /** Model names (ids or aliases) "auto" may pick from. */
  allowedModels: readonly string[] | undefined;
  /** Precede each stream event by a `: usage <prompt> <completion>` comment. */
  usageProgress: boolean;
}

export function edgeDirectives(c: Context): EdgeDirectives {
  const maxTokens = c.req.header(MAX_TOKENS_HEADER);
  if (maxTokens !== undefined && !/^\d{1,9}$/.test(maxTokens)) {
    throw invalidRequest(`The ${MAX_TOKENS_HEADER} header must be a whole number.`);
  }
  const allowed = c.req.header(ALLOWED_MODELS_HEADER);
  return {
    maxTokens: maxTokens === undefined ? undefined : Number(maxTokens),
    allowedModels:
      allowed === undefined
        ? undefined
        : allowed
            .split(",")
            .map((name) => name.trim())
            .filter((name) => name.length > 0),
    usageProgress: c.req.header(USAGE_PROGRESS_HEADER) === "1",
  };
}

/**
 * `send` that puts a `: usage <prompt> <completion>` comment before each event when the edge
 * asked for it (x-gearbox-usage-progress: 1); `send("")` then reports alone.
 */
export function reportingUsage(
  send: SendEvent,
  directives: EdgeDirectives,
  usage: () => UsageProgress,
): SendEvent {
  if (!directives.usageProgress) return send;
  return (text) => send(usageProgressComment(usage()) + text);
}
