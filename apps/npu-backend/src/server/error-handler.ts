/**
 * The one place errors become responses: an ApiError is sent as OpenAI's error body with its
 * status and headers; anything else is logged and becomes a 500 that hides internals.
 */
import { ApiError, errorBody, internalError, unknownRoute } from "@gearbox/shared";
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "./app-env.js";

export function errorResponse(c: Context, error: ApiError): Response {
  // A body refused for its size was drained only up to a bound (limitRequestBody), so the rest of
  // it may still be on the connection: it cannot carry another request, and a client told nothing
  // would send its next one there and lose it ("other side closed").
  const headers = error.status === 413 ? { ...error.headers(), connection: "close" } : error.headers();
  return c.json(errorBody(error), error.status as ContentfulStatusCode, headers);
}

export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof ApiError) return errorResponse(c, err);
  if (err instanceof HTTPException && err.status < 500) {
    // Thrown by a Hono middleware: keep its status, in our shape.
    return errorResponse(
      c,
      new ApiError(
        err.status as ApiError["status"],
        "invalid_request_error",
        "invalid_request",
        err.message || "Invalid request.",
      ),
    );
  }
  c.var.log?.error({ err }, "unhandled error");
  return errorResponse(c, internalError());
};

export const onNotFound: NotFoundHandler<AppEnv> = (c) =>
  errorResponse(c, unknownRoute(c.req.method, c.req.path));
