/**
 * POST /v1/chat/completions and POST /v1/completions: validate, check the model against the key,
 * admit against the key's limits, forward to a backend, relay the answer.
 */
import {
  type ChatCompletionRequest,
  type CompletionRequest,
  chatCompletionRequestSchema,
  completionRequestSchema,
  invalidJson,
  modelNotAllowed,
  parseJson,
  parseRequest,
  serverOverloaded,
} from "@gearbox/shared";
import type { Context, Handler } from "hono";
import type { ContentfulStatusCode, StatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import type { EdgeDeps } from "../deps.js";
import type { EdgeEnv } from "../env.js";
import { admit } from "../limits/admission.js";
import { estimateChatTokens, estimateCompletionTokens } from "../limits/token-estimate.js";
import { type ForwardRequest, forward } from "../upstream/forward.js";
import { relayBody } from "../upstream/passthrough.js";

interface Endpoint<Request extends { model: string; stream?: boolean | null | undefined }> {
  path: ForwardRequest["path"];
  schema: z.ZodType<Request>;
  estimateTokens: (request: Request) => number;
}

export const chatCompletionsEndpoint: Endpoint<ChatCompletionRequest> = {
  path: "/v1/chat/completions",
  schema: chatCompletionRequestSchema,
  estimateTokens: estimateChatTokens,
};

export const completionsEndpoint: Endpoint<CompletionRequest> = {
  path: "/v1/completions",
  schema: completionRequestSchema,
  estimateTokens: estimateCompletionTokens,
};

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
    if (key.models !== null && !key.models.includes(request.model)) throw modelNotAllowed(request.model);
    // Fail fast, before spending the key's budget on a request that cannot run.
    if (deps.pool.available().length === 0) {
      throw serverOverloaded(deps.pool.retryAfterSeconds(), "No backend is available. Please retry later.");
    }

    const decision = await admit(c.env.RATE_LIMITER, key, () => endpoint.estimateTokens(request));
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
        { secret: deps.config.upstreamSecret, streamHeadersTimeoutMs: deps.config.upstreamHeadersTimeoutMs },
        { path: endpoint.path, body: bytes, model: request.model, stream, requestId: c.get("requestId") },
      );
    } catch (error) {
      c.executionCtx.waitUntil(admission.settle(0));
      throw error;
    }

    const { response, upstream, abort } = forwarded;
    const body = relayBody(response, {
      abortUpstream: abort,
      onEnd: ({ usage, end }) => {
        deps.pool.release(upstream);
        // A refused request used nothing; a cut-off one keeps its reservation (its usage is unknown).
        const used = !response.ok ? 0 : end === "cancelled" ? undefined : usage?.total_tokens;
        return used === undefined ? undefined : admission.settle(used);
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
