/**
 * POST /v1/chat/completions and POST /v1/completions: validate, check the model against the key,
 * admit against the key's limits, forward to a backend, relay the answer.
 */
import {
  ALLOWED_MODELS_HEADER,
  type ChatCompletionRequest,
  type CompletionRequest,
  chatCompletionRequestSchema,
  completionRequestSchema,
  type DirectiveHeaders,
  invalidJson,
  MAX_TOKENS_HEADER,
  modelNotAllowed,
  parseJson,
  parseRequest,
  serverOverloaded,
  type Usage,
  type UsageProgress,
} from "@gearbox/shared";
import type { Context, Handler } from "hono";
import type { ContentfulStatusCode, StatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import type { EdgeDeps } from "../deps.js";
import type { EdgeEnv } from "../env.js";
import { admit } from "../limits/admission.js";
import {
  estimateChatTokens,
  estimateCompletionTokens,
  reservedTokens,
  type TokenEstimate,
} from "../limits/token-estimate.js";
import { type ForwardRequest, forward } from "../upstream/forward.js";
import { relayBody } from "../upstream/passthrough.js";

interface Endpoint<Request extends { model: string; stream?: boolean | null | undefined }> {
  path: ForwardRequest["path"];
  schema: z.ZodType<Request>;
  estimateTokens: (request: Request, defaultMaxTokens: number) => TokenEstimate;
  /** The completion tokens per choice the client asked for, if it did. */
  requestedMaxTokens: (request: Request) => number | null | undefined;
}

export const chatCompletionsEndpoint: Endpoint<ChatCompletionRequest> = {
  path: "/v1/chat/completions",
  schema: chatCompletionRequestSchema,
  estimateTokens: estimateChatTokens,
  requestedMaxTokens: (request) => request.max_completion_tokens ?? request.max_tokens,
};

export const completionsEndpoint: Endpoint<CompletionRequest> = {
  path: "/v1/completions",
  schema: completionRequestSchema,
  estimateTokens: estimateCompletionTokens,
  requestedMaxTokens: (request) => request.max_tokens,
};

/** The backend's language router; a key's allow-list may name it. */
const AUTO_MODEL = "auto";

/** Backend response headers a client may see; the rest (hop-by-hop, internal load) stay behind. */
const RELAYED_HEADERS = ["content-type", "cache-control", "retry-after", "x-gearbox-model"];

export function completionHandler<Request extends { model: string; stream?: boolean | null | undefined }>(
  deps: EdgeDeps,
  endpoint: Endpoint<Request>,
): Handler<EdgeEnv> {
  return async (c) => {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    const request = parseRequest(endpoint.schema, parseJson(utf8(bytes)));
    const key = c.get("apiKey");
    const directives: DirectiveHeaders = {
      [MAX_TOKENS_HEADER]: String(endpoint.requestedMaxTokens(request) ?? deps.config.maxTokensDefault),
    };
    if (key.models !== null) {
      if (!key.models.includes(request.model)) throw modelNotAllowed(request.model);
      if (request.model === AUTO_MODEL) {
        // "auto" lets the backend pick a model by language: only among this key's models.
        const models = key.models.filter((name) => name !== AUTO_MODEL);
        if (models.length === 0) throw modelNotAllowed(request.model);
        directives[ALLOWED_MODELS_HEADER] = models.join(",");
      }
    }
    // Fail fast, before spending the key's budget on a request that cannot run.
    if (deps.pool.available().length === 0) {
      throw serverOverloaded(deps.pool.retryAfterSeconds(), "No backend is available. Please retry later.");
    }

    // Streams whose client left are settled here, before this request's admission sees the budget.
    await deps.streams.sweep();
    let estimate: TokenEstimate | undefined;
    const decision = await admit(c.env.RATE_LIMITER, key, () => {
      estimate = endpoint.estimateTokens(request, deps.config.maxTokensDefault);
      return reservedTokens(estimate);
    });
    if (!decision.ok) {
      setHeaders(c, decision.headers);
      throw decision.error;
    }
    const { admission } = decision;
    setHeaders(c, admission.headers);

    const stream = request.stream === true;
    let forwarded: Awaited<ReturnType<typeof forward>>;
    try {
      forwarded = await forward(
        deps.pool,
        {
          secret: deps.config.upstreamSecret,
          streamHeadersTimeoutMs: deps.config.upstreamHeadersTimeoutMs,
          responseTimeoutMs: deps.config.upstreamResponseTimeoutMs,
        },
        {
          path: endpoint.path,
          body: bytes,
          model: request.model,
          stream,
          requestId: c.get("requestId"),
          directives,
        },
      );
    } catch (error) {
      c.executionCtx.waitUntil(admission.settle(0));
      throw error;
    }

    const { response, upstream, abort } = forwarded;
    const open =
      stream && response.ok && estimate
        ? deps.streams.track((used) => admission.settle(used), estimate.prompt)
        : undefined;
    const body = relayBody(response, {
      abortUpstream: abort,
      onChunk: (progress) => open?.touch(progress),
      idleTimeoutMs: deps.config.upstreamIdleTimeoutMs,
      onEnd: ({ usage, progress, end }) => {
        deps.pool.release(upstream);
        open?.close();
        const used = usedTokens(response.ok, usage, progress, end === "cancelled" && stream, estimate);
        if (used === undefined) return undefined;
        // After a cancel nothing waits for this: keep the isolate until the budget is settled.
        const settled = admission.settle(used);
        c.executionCtx.waitUntil(settled);
        return settled;
      },
    });
    const headers: Record<string, string> = {};
    for (const name of RELAYED_HEADERS) {
      const value = response.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    if (headers["content-type"]?.includes("text/event-stream")) {
      // no-transform keeps proxies (Cloudflare's included) from compressing, and so buffering, events.
      headers["cache-control"] = "no-cache, no-transform";
    }
    return body === null
      ? c.body(null, response.status as StatusCode, headers)
      : c.body(body, response.status as ContentfulStatusCode, headers);
  };
}

/**
 * What a request is charged: nothing when the backend refused it; the usage it reported; for a
 * stream that ended early (cancelled, or the backend failed) its last reported running usage, or
 * the prompt when a cancelled stream had reported none yet. undefined keeps the reservation (the
 * worst case): a non-streamed request cut off before its answer reports nothing.
 */
function usedTokens(
  ok: boolean,
  usage: Usage | undefined,
  progress: UsageProgress | undefined,
  cancelledStream: boolean,
  estimate: TokenEstimate | undefined,
): number | undefined {
  if (!ok) return 0;
  if (usage) return usage.total_tokens;
  if (progress) return progress.promptTokens + progress.completionTokens;
  return cancelledStream ? estimate?.prompt : undefined;
}

/** The body as text; bytes that are not UTF-8 are refused rather than silently replaced. */
function utf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw invalidJson("the body is not UTF-8 text");
  }
}

function setHeaders(c: Context<EdgeEnv>, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
}
