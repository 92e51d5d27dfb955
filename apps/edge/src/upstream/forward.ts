/**
 * Sends a validated completion request to a backend. A backend that cannot be reached, does not
 * send its headers in time, or answers 503 is marked failed and the request goes to the next one;
 * once a backend has answered, the answer is the client's (no retry after the first byte).
 */
import { serverOverloaded } from "@gearbox/shared";
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
}

export interface ForwardSettings {
  secret: string;
  /** Streams: the backend flushes headers at once, so a silent backend is a dead one. */
  streamHeadersTimeoutMs: number;
}

export interface Forwarded {
  response: Response;
  upstream: Upstream;
  /** Aborts the upstream request (the client went away). */
  abort: (reason?: unknown) => void;
}

/** A non-streamed completion sends its headers only when it is done; allow a long generation. */
const COMPLETE_RESPONSE_TIMEOUT_MS = 10 * 60_000;

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
    const timeoutMs = request.stream ? settings.streamHeadersTimeoutMs : COMPLETE_RESPONSE_TIMEOUT_MS;
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
        },
        signal: controller.signal,
      });
    } catch (error) {
      pool.release(upstream);
      const reason = controller.signal.aborted ? errorMessage(controller.signal.reason) : errorMessage(error);
      pool.reportFailure(upstream, reason);
      failures.push(reason);
      continue;
    } finally {
      clearTimeout(timer);
    }
    if (response.status === 503) {
      // Loading, warming up or shedding load: another backend may take it.
      pool.release(upstream);
      pool.reportFailure(upstream, "answered 503");
      failures.push("a backend answered 503");
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
