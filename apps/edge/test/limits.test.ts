/** Per-key request and token limits, enforced by the RateLimiter Durable Object in workerd. */
import { errorBodySchema } from "@gearbox/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authHeaders, chatBody, type Edge, startEdge, TEST_SECRET } from "./edge-harness.js";
import { StandInUpstream } from "./stand-in-upstream.js";

let upstream: StandInUpstream;
let edge: Edge;

beforeAll(async () => {
  upstream = await new StandInUpstream(TEST_SECRET).start();
  edge = await startEdge([upstream.url]);
});
afterAll(async () => {
  await edge?.dispose();
  await upstream?.kill();
});

async function chat(key: string, content = "hello", extra: Record<string, unknown> = {}): Promise<Response> {
  const response = await fetch(`${edge.url}/v1/chat/completions`, {
    method: "POST",
    headers: authHeaders(key),
    body: chatBody(content, extra),
  });
  return response;
}

describe("requests per minute", () => {
  it("admits rpm requests, then answers 429 rate_limit_exceeded with retry-after and x-ratelimit-* headers", async () => {
    const key = await edge.addKey({ name: "two-per-minute", rpm: 2 });
    const first = await chat(key);
    expect(first.status).toBe(200);
    expect(first.headers.get("x-ratelimit-limit-requests")).toBe("2");
    expect(first.headers.get("x-ratelimit-remaining-requests")).toBe("1");
    await first.json();
    const second = await chat(key, "hello", { stream: true });
    expect(second.status).toBe(200);
    expect(second.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    await second.text();

    const before = upstream.completions.length;
    const third = await chat(key);
    expect(third.status).toBe(429);
    const error = errorBodySchema.parse(await third.json()).error;
    expect(error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" });
    expect(error.message).toContain("two-per-minute");
    expect(error.message).toContain("requests per minute: limit 2");
    // 2 per minute refill one every 30 s.
    const retryAfter = Number(third.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(25);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(third.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(third.headers.get("x-ratelimit-reset-requests")).toMatch(/^(\d+m)?\d+(\.\d)?s$/);
    expect(upstream.completions.length).toBe(before);
  });

  it("keeps each key's budget apart", async () => {
    const a = await edge.addKey({ rpm: 1 });
    const b = await edge.addKey({ rpm: 1 });
    expect((await chat(a)).status).toBe(200);
    expect((await chat(a)).status).toBe(429);
    expect((await chat(b)).status).toBe(200);
  });

  it("sends no rate-limit headers for an unlimited key", async () => {
    const response = await chat(await edge.addKey());
    expect(response.status).toBe(200);
    expect([...response.headers.keys()].filter((h) => h.startsWith("x-ratelimit"))).toEqual([]);
    await response.json();
  });
});

describe("tokens per minute", () => {
  it("reserves the estimate (prompt + max_tokens) while a request runs", async () => {
    const key = await edge.addKey({ tpm: 200 });
    // Still running (a long prefill), so only its reservation counts.
    const controller = new AbortController();
    const first = await fetch(`${edge.url}/v1/chat/completions`, {
      method: "POST",
      headers: authHeaders(key),
      body: chatBody("hang", { max_tokens: 150, stream: true }),
      signal: controller.signal,
    });
    expect(first.status).toBe(200);
    expect(first.headers.get("x-ratelimit-limit-tokens")).toBe("200");
    const remaining = Number(first.headers.get("x-ratelimit-remaining-tokens"));
    // 150 for the completion and a handful for the prompt "hello" and its message framing.
    expect(remaining).toBeGreaterThan(200 - 150 - 20);
    expect(remaining).toBeLessThan(200 - 150);
    const second = await chat(key, "hello", { max_tokens: 150 });
    expect(second.status).toBe(429);
    expect(errorBodySchema.parse(await second.json()).error.message).toContain(
      "tokens per minute: limit 200",
    );
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThan(10);
    controller.abort();
  });

  it("settles with the usage the backend reports, streamed or not", async () => {
    for (const stream of [true, false]) {
      const key = await edge.addKey({ tpm: 1000 });
      // A small estimate, but the backend reports 900 tokens used.
      const first = await chat(key, "usage=900", { stream, max_tokens: 10 });
      expect(first.status).toBe(200);
      expect(Number(first.headers.get("x-ratelimit-remaining-tokens"))).toBeGreaterThan(970);
      await first.text();
      // Only ~100 tokens are left now: a request reserving 500 must wait.
      const second = await chat(key, "hello", { max_tokens: 500 });
      expect(second.status).toBe(429);
      const third = await chat(key, "hello", { max_tokens: 50 });
      expect(third.status).toBe(200);
      const left = Number(third.headers.get("x-ratelimit-remaining-tokens"));
      expect(left).toBeLessThan(100);
      await third.text();
    }
  });

  it("gives back the reservation of a request the backend refused", async () => {
    const key = await edge.addKey({ tpm: 300 });
    const refused = await chat(key, "status=400", { max_tokens: 250 });
    expect(refused.status).toBe(400);
    await refused.text();
    const next = await chat(key, "hello", { max_tokens: 250 });
    expect(next.status).toBe(200);
    await next.text();
  });
});
