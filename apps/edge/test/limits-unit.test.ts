/** Token-bucket arithmetic, rate-limit headers and token estimates (pure functions). */
import { describe, expect, it } from "vitest";
import { formatDuration, rateLimitHeaders } from "../src/limits/rate-limit-headers.js";
import { fullBucket, refill, view, waitMs } from "../src/limits/token-bucket.js";
import {
  countTokens,
  estimateChatTokens,
  estimateCompletionTokens,
  reservedTokens,
} from "../src/limits/token-estimate.js";

const DEFAULT = 512;

describe("token bucket", () => {
  it("starts full, refills continuously at the per-minute rate, never above the limit", () => {
    const bucket = fullBucket(60, 0);
    expect(bucket.level).toBe(60);
    bucket.level = 0;
    expect(refill(bucket, 60, 1_000).level).toBeCloseTo(1);
    expect(refill(bucket, 60, 30_000).level).toBeCloseTo(30);
    expect(refill(bucket, 60, 600_000).level).toBe(60);
  });

  it("says how long until an amount is there, capped at one full bucket", () => {
    const bucket = { level: 0, updatedMs: 0 };
    expect(waitMs(bucket, 120, 1)).toBe(500);
    expect(waitMs(bucket, 120, 60)).toBe(30_000);
    expect(waitMs(bucket, 120, 10_000)).toBe(60_000);
    expect(waitMs({ level: 5, updatedMs: 0 }, 120, 5)).toBe(0);
  });

  it("pays off a debt before admitting more", () => {
    const debt = { level: -30, updatedMs: 0 };
    expect(waitMs(debt, 60, 1)).toBe(31_000);
    expect(view(debt, 60)).toEqual({ remaining: 0, resetMs: 90_000 });
  });
});

describe("rate-limit headers", () => {
  it("uses OpenAI's names and duration format", () => {
    expect(
      rateLimitHeaders({
        requests: { limit: 60, remaining: 59, resetMs: 1000 },
        tokens: { limit: 10_000, remaining: 9_000, resetMs: 6_000 },
      }),
    ).toEqual({
      "x-ratelimit-limit-requests": "60",
      "x-ratelimit-remaining-requests": "59",
      "x-ratelimit-reset-requests": "1s",
      "x-ratelimit-limit-tokens": "10000",
      "x-ratelimit-remaining-tokens": "9000",
      "x-ratelimit-reset-tokens": "6s",
    });
    expect(rateLimitHeaders({})).toEqual({});
    expect(formatDuration(250)).toBe("250ms");
    expect(formatDuration(1_250)).toBe("1.3s");
    expect(formatDuration(360_000)).toBe("6m0s");
    expect(formatDuration(61_500)).toBe("1m1.5s");
  });
});

describe("token estimates", () => {
  it("counts text with a tiktoken BPE", () => {
    expect(countTokens("")).toBe(0);
    expect(countTokens("hello world")).toBe(2);
    // Special-token markers in user text are counted as text, never refused.
    expect(countTokens("<|endoftext|>")).toBeGreaterThan(1);
  });

  it("adds framing per message, tools, and the completion budget times n", () => {
    const base = { model: "m", messages: [{ role: "user" as const, content: "hello world" }] };
    const prompt = 3 + 4 + 2;
    const chat = (request: Parameters<typeof estimateChatTokens>[0]) =>
      reservedTokens(estimateChatTokens(request, DEFAULT));
    expect(chat({ ...base, max_tokens: 100 })).toBe(prompt + 100);
    expect(chat({ ...base, max_tokens: 100, max_completion_tokens: 10, n: 3 })).toBe(prompt + 30);
    const parts = {
      ...base,
      messages: [{ role: "user" as const, content: [{ type: "text" as const, text: "hello world" }] }],
    };
    expect(estimateChatTokens(parts, DEFAULT).prompt).toBe(prompt);
    const tools = [{ type: "function" as const, function: { name: "get_weather" } }];
    expect(estimateChatTokens({ ...base, tools }, DEFAULT).prompt).toBeGreaterThan(prompt + 5);
  });

  it("reserves the default completion budget for each choice of a request without max_tokens", () => {
    const base = { model: "m", messages: [{ role: "user" as const, content: "hello world" }] };
    expect(reservedTokens(estimateChatTokens(base, DEFAULT))).toBe(9 + DEFAULT);
    expect(reservedTokens(estimateChatTokens({ ...base, n: 3 }, DEFAULT))).toBe(9 + 3 * DEFAULT);
    expect(reservedTokens(estimateCompletionTokens({ model: "m", prompt: ["a", "b"], n: 2 }, DEFAULT))).toBe(
      2 + 4 * DEFAULT,
    );
  });

  it("counts legacy prompts as text or token ids, per prompt in a batch", () => {
    const legacy = (request: Parameters<typeof estimateCompletionTokens>[0]) =>
      reservedTokens(estimateCompletionTokens(request, DEFAULT));
    expect(legacy({ model: "m", prompt: "hello world", max_tokens: 5 })).toBe(2 + 5);
    expect(legacy({ model: "m", prompt: [1, 2, 3], max_tokens: 5 })).toBe(3 + 5);
    expect(legacy({ model: "m", prompt: [[1, 2], [3]], max_tokens: 5 })).toBe(3 + 10);
    expect(legacy({ model: "m", prompt: ["a", "b"], max_tokens: 5, n: 2 })).toBe(2 + 20);
  });
});

describe("token estimate of long inputs", () => {
  // js-tiktoken on one 900,000-letter pre-token runs for hours (BPE is quadratic); the timeout only
  // says "it finishes", it measures nothing.
  it("counts a 900,000-character run of one letter and of random letters", { timeout: 60_000 }, () => {
    expect(countTokens("a".repeat(900_000))).toBe(112_500);
    let s = 7;
    const letters = Array.from({ length: 200_000 }, () => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return String.fromCharCode(97 + (s % 26));
    }).join("");
    expect(countTokens(letters)).toBeGreaterThan(50_000);
  });
});
