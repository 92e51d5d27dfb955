import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  ApiError,
  apiKeyRecordSchema,
  apiKeyStorageName,
  contextLengthExceeded,
  errorBody,
  errorBodySchema,
  formatPath,
  generateApiKey,
  hashApiKey,
  internalError,
  invalidApiKey,
  invalidJson,
  invalidRequestFromZod,
  modelNotAllowed,
  modelNotFound,
  parseJson,
  rateLimitExceeded,
  requestTooLarge,
  serverOverloaded,
  toApiError,
  unsupportedParameter,
} from "../src/index.js";

describe("errors of the contract", () => {
  const cases: [ApiError, number, string, string, string | null][] = [
    [unsupportedParameter("tools"), 400, "invalid_request_error", "unsupported_parameter", "tools"],
    [invalidJson("Unexpected token"), 400, "invalid_request_error", "invalid_json", null],
    [
      contextLengthExceeded(8000, 500, 8192),
      400,
      "invalid_request_error",
      "context_length_exceeded",
      "messages",
    ],
    [invalidApiKey(), 401, "authentication_error", "invalid_api_key", null],
    [modelNotAllowed("llama-3.2-3b-zh"), 403, "permission_error", "model_not_allowed", "model"],
    [modelNotFound("gpt-4"), 404, "invalid_request_error", "model_not_found", "model"],
    [requestTooLarge(1024), 413, "invalid_request_error", "request_too_large", null],
    [
      rateLimitExceeded("Rate limit reached: 2 requests per minute.", 3),
      429,
      "rate_limit_error",
      "rate_limit_exceeded",
      null,
    ],
    [serverOverloaded(2), 503, "server_error", "server_overloaded", null],
    [internalError(), 500, "server_error", "internal_error", null],
  ];
  for (const [error, status, type, code, param] of cases) {
    it(`${status} ${code}`, () => {
      expect(error).toBeInstanceOf(ApiError);
      expect(error).toBeInstanceOf(Error);
      expect(error.status).toBe(status);
      const body = errorBody(error);
      expect(body).toEqual({ error: { message: error.message, type, param, code } });
      expect(errorBodySchema.parse(body)).toEqual(body);
      expect(error.message.length).toBeGreaterThan(10);
    });
  }

  it("sends retry-after in whole seconds, at least 1, only where there is one", () => {
    expect(rateLimitExceeded("x", 2.1).headers()).toEqual({ "retry-after": "3" });
    expect(serverOverloaded(0).headers()).toEqual({ "retry-after": "1" });
    expect(modelNotFound("m").headers()).toEqual({});
  });

  it("names the numbers in the context length message", () => {
    expect(contextLengthExceeded(8000, 500, 8192).message).toContain(
      "maximum context length is 8192 tokens. However, you requested 8500 tokens (8000 in the prompt, 500 for the completion)",
    );
  });

  it("hides unexpected errors behind a 500", () => {
    const hidden = toApiError(new TypeError("secret internals"));
    expect(hidden.status).toBe(500);
    expect(hidden.message).not.toContain("secret");
    const known = modelNotFound("m");
    expect(toApiError(known)).toBe(known);
  });

  it("turns a JSON syntax error into a 400", () => {
    expect(parseJson('{"a":1}')).toEqual({ a: 1 });
    expect(() => parseJson("{nope")).toThrow(ApiError);
    try {
      parseJson("{nope");
    } catch (error) {
      expect((error as ApiError).code).toBe("invalid_json");
    }
  });
});

describe("ZodError → 400", () => {
  it("names the path of any schema's issue, even from a plain parse", () => {
    const schema = z.object({ a: z.array(z.object({ b: z.number() })) });
    const result = schema.safeParse({ a: [{ b: 1 }, { b: "x" }] });
    expect(result.success).toBe(false);
    const error = invalidRequestFromZod((result as { error: z.ZodError }).error);
    expect(error.status).toBe(400);
    expect(error.param).toBe("a[1].b");
    expect(error.message).toContain("'a[1].b'");
  });

  it("formats paths as a reader would write them", () => {
    expect(formatPath(["messages", 0, "content", 2, "text"])).toBe("messages[0].content[2].text");
    expect(formatPath(["logit_bias", "-1"])).toBe('logit_bias["-1"]');
    expect(formatPath([])).toBe("");
  });
});

describe("API keys", () => {
  it("generates distinct prefixed keys and stores only their SHA-256", async () => {
    const key = generateApiKey();
    expect(key).toMatch(/^gbx-[0-9a-f]{64}$/);
    expect(generateApiKey()).not.toBe(key);
    const { createHash } = await import("node:crypto");
    const hash = await hashApiKey(key);
    expect(hash).toBe(createHash("sha256").update(key).digest("hex"));
    expect(apiKeyStorageName(hash)).toBe(`key:${hash}`);
  });

  it("validates stored records", () => {
    const record = { hash: "ab".repeat(32), name: "dev", models: null, rpm: 60, tpm: null, created: 1 };
    expect(apiKeyRecordSchema.parse(record)).toEqual(record);
    expect(apiKeyRecordSchema.safeParse({ ...record, rpm: 0 }).success).toBe(false);
    expect(apiKeyRecordSchema.safeParse({ ...record, models: "all" }).success).toBe(false);
    expect(apiKeyRecordSchema.safeParse({ ...record, hash: "AB".repeat(32) }).success).toBe(false);
  });
});
