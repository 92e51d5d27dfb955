/**
 * The one error type of the API. Everything the edge or the backend rejects becomes an `ApiError`;
 * one `onError` handler turns it into `{"error":{"message","type","param","code"}}` with its status
 * and headers, and a stream that already started sends the same body as a `data:` frame.
 */
import { z } from "zod";

export const errorTypeSchema = z.enum([
  "invalid_request_error",
  "authentication_error",
  "permission_error",
  "rate_limit_error",
  "server_error",
]);
export type ErrorType = z.infer<typeof errorTypeSchema>;

export const errorBodySchema = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.string().nullable(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

export type ErrorStatus = 400 | 401 | 403 | 404 | 413 | 429 | 500 | 503 | 504;

export class ApiError extends Error {
  override readonly name = "ApiError";

  constructor(
    readonly status: ErrorStatus,
    readonly type: ErrorType,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    /** Seconds the client should wait before retrying; sent as `retry-after` (429, 503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  /** Response headers that belong to this error (`retry-after` where the contract wants one). */
  headers(): Record<string, string> {
    return this.retryAfterSeconds === undefined
      ? {}
      : { "retry-after": String(Math.max(1, Math.ceil(this.retryAfterSeconds))) };
  }
}

/** The wire body of an error. */
export function errorBody(error: ApiError): ErrorBody {
  return { error: { message: error.message, type: error.type, param: error.param, code: error.code } };
}

/** Any thrown value as an ApiError; what is not one already becomes a 500 that hides internals. */
export function toApiError(thrown: unknown): ApiError {
  return thrown instanceof ApiError ? thrown : internalError();
}

// ---------------------------------------------------------------- 400

/** A request the server will not run; `param` names the offending field path, e.g. `messages[0].role`. */
export function invalidRequest(
  message: string,
  param: string | null = null,
  code = "invalid_value",
): ApiError {
  return new ApiError(400, "invalid_request_error", code, message, param);
}

/** A body that is not JSON (or not a JSON object). */
export function invalidJson(detail: string): ApiError {
  return new ApiError(
    400,
    "invalid_request_error",
    "invalid_json",
    `The request body is not valid JSON: ${detail}`,
  );
}

/** A known parameter (or value) this server does not implement: rejected, never silently ignored. */
export function unsupportedParameter(param: string, detail?: string): ApiError {
  const why = detail ? ` ${detail}` : "";
  return new ApiError(
    400,
    "invalid_request_error",
    "unsupported_parameter",
    `Unsupported parameter: '${param}' is not supported by this server.${why}`,
    param,
  );
}

export function contextLengthExceeded(
  promptTokens: number,
  maxNewTokens: number,
  contextLength: number,
): ApiError {
  return new ApiError(
    400,
    "invalid_request_error",
    "context_length_exceeded",
    `This model's maximum context length is ${contextLength} tokens. However, you requested ` +
      `${promptTokens + maxNewTokens} tokens (${promptTokens} in the prompt, ${maxNewTokens} for the ` +
      "completion). Please reduce the length of the messages or the completion.",
    "messages",
  );
}

// ---------------------------------------------------------------- 401 / 403 / 404 / 413

export function invalidApiKey(
  message = "Invalid or missing API key. Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.",
): ApiError {
  return new ApiError(401, "authentication_error", "invalid_api_key", message);
}

/** The model exists but this API key may not use it. */
export function modelNotAllowed(model: string): ApiError {
  return new ApiError(
    403,
    "permission_error",
    "model_not_allowed",
    `This API key is not allowed to use the model '${model}'.`,
    "model",
  );
}

export function modelNotFound(model: string, detail?: string): ApiError {
  return new ApiError(
    404,
    "invalid_request_error",
    "model_not_found",
    `The model '${model}' does not exist or is not served here.${detail ? ` ${detail}` : ""}`,
    "model",
  );
}

/** A path no route serves. */
export function unknownRoute(method: string, path: string): ApiError {
  return new ApiError(404, "invalid_request_error", "unknown_url", `Unknown request URL: ${method} ${path}.`);
}

export function requestTooLarge(limitBytes: number): ApiError {
  return new ApiError(
    413,
    "invalid_request_error",
    "request_too_large",
    `The request body is larger than the limit of ${limitBytes} bytes.`,
  );
}

// ---------------------------------------------------------------- 429 / 5xx

export function rateLimitExceeded(message: string, retryAfterSeconds: number): ApiError {
  return new ApiError(429, "rate_limit_error", "rate_limit_exceeded", message, null, retryAfterSeconds);
}

export function serverOverloaded(
  retryAfterSeconds: number,
  message = "The server is overloaded or not ready yet. Please retry after a short wait.",
): ApiError {
  return new ApiError(503, "server_error", "server_overloaded", message, null, retryAfterSeconds);
}

/** The backend took longer than the edge waits for a whole answer. */
export function upstreamTimeout(message: string): ApiError {
  return new ApiError(504, "server_error", "timeout", message);
}

export function internalError(message = "The server had an error while processing your request."): ApiError {
  return new ApiError(500, "server_error", "internal_error", message);
}
