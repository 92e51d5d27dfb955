/**
 * Sends a validated completion request to a backend, and to another one only when that is safe:
 * the first could not be reached (the fetch failed: a connection the backend lost is a request it
 * cancels), it said it did not start the request (503: loading, warming, overloaded; 401: it
 * refused our signature, e.g. a skewed clock), or a stream got no headers in time (a backend
 * flushes a stream's headers at once, so a silent one is hung; the attempt is aborted). Those mark
 * the backend failed. A non-streamed request that is merely slow is never re-run elsewhere and
 * backs nothing off: it was sent and may be running, so past the response timeout the client gets
 * a 504. Once a backend has answered, the answer is the client's (no retry after the first byte).
 */
import {
  type DirectiveHeaders,
  serverOverloaded,
  USAGE_PROGRESS_HEADER,
  upstreamTimeout,
} from "@gearbox/shared";
import { errorMessage } from "./health.js";
import type { Upstream, UpstreamPool } from "./pool.js";
import { signedFetch } from "./signed-fetch.js";

export interface ForwardRequest {
  path: "/v1/chat/completions" | "/v1/completions";
  /** The client's body bytes, forwarded untouched (vendor extras included). */
  body: Uint8Array;
  model: string;
  stream: boolean;
  requestId: string;
  /** The key's limits for the backend (signed). */
  directives?: DirectiveHeaders;
}

export interface ForwardSettings {
  secret: string;
  /** Streams: the backend flushes headers at once, so a silent backend is a dead one. */
  streamHeadersTimeoutMs: number;
  /** Non-streamed requests: headers come with the whole answer. */
  responseTimeoutMs: number;
}

export interface Forwarded {
  response: Response;
  upstream: Upstream;
  /** Aborts the upstream request (the client went away). */
  abort: (reason?: unknown) => void;
}

/** Answers that mean the backend did not start the request, so another one may take it. */
const NOT_STARTED = new Map([
  [503, "answered 503"],
  [401, "refused the edge's signature (401: secret or clock differ)"],
]);

export async function forward(
  pool: UpstreamPool,
  settings: ForwardSettings,
  request: ForwardRequest,
): Promise<Forwarded> {
  const tried = new Set<Upstream>();
  const failures: string[] = [];
  for (let upstream = pool.pick(request.model); upstream; upstream = pool.pick(request.model, tried)) {
    tried.add(upstream);
    const controller = new AbortController();
    const timeoutMs = request.stream ? settings.streamHeadersTimeoutMs : settings.responseTimeoutMs;
    const timer = setTimeout(
      () => controller.abort(new Error(`no response headers within ${timeoutMs} ms`)),
      timeoutMs,
    );
    pool.acquire(upstream);
    let response: Response;
    try {
      response = await signedFetch(upstream.url, settings.secret, {
        method: "POST",
        path: request.path,
        body: request.body,
        headers: {
          "content-type": "application/json",
          accept: request.stream ? "text/event-stream" : "application/json",
          "x-request-id": request.requestId,
          ...(request.stream ? { [USAGE_PROGRESS_HEADER]: "1" } : {}),
        },
        ...(request.directives ? { directives: request.directives } : {}),
        signal: controller.signal,
      });
    } catch (error) {
      pool.release(upstream);
      if (controller.signal.aborted && !request.stream) {
        throw upstreamTimeout(
          `The backend did not finish within ${Math.round(timeoutMs / 1000)} s. ` +
            "Stream the request, or ask for fewer tokens.",
        );
      }
      const reason = controller.signal.aborted ? errorMessage(controller.signal.reason) : errorMessage(error);
      pool.reportFailure(upstream, reason);
      failures.push(reason);
      continue;
    } finally {
      clearTimeout(timer);
    }
    const refusal = NOT_STARTED.get(response.status);
    if (refusal !== undefined) {
      pool.release(upstream);
      pool.reportFailure(upstream, refusal);
      failures.push(`a backend ${refusal}`);
      await response.body?.cancel();
      continue;
    }
    pool.reportSuccess(upstream, Number(response.headers.get("x-gearbox-inflight") ?? Number.NaN));
    return { response, upstream, abort: (reason) => controller.abort(reason) };
  }
  const tail = failures.length > 0 ? ` (${failures.length} tried)` : "";
  throw serverOverloaded(
    pool.retryAfterSeconds(),
    `No backend is available to serve this request${tail}. Please retry later.`,
  );
}
