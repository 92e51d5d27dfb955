import { describe, expect, it } from "vitest";
import { ApiError, limitRequestBody } from "../src/index.js";

/** A body delivered in `chunks` pieces of `size` bytes, counting how many of them were pulled. */
function countedBody(chunks: number, size: number, delayMs = 0) {
  const state = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (state.pulled === chunks) return controller.close();
      if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
      state.pulled++;
      controller.enqueue(new Uint8Array(size).fill(state.pulled % 251));
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

const post = (body: ReadableStream<Uint8Array> | string, headers: Record<string, string> = {}) =>
  new Request("http://x/v1/chat/completions", {
    method: "POST",
    body,
    headers,
    duplex: "half",
  } as RequestInit);

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe("limitRequestBody", () => {
  it("hands on a body within the limit unread, declared or chunked", async () => {
    const declared = post('{"a":1}', { "content-length": "7" });
    expect(await limitRequestBody(declared, 100)).toBe(declared);

    const { stream } = countedBody(4, 25);
    const out = await limitRequestBody(post(stream), 100);
    const bytes = new Uint8Array(await out.arrayBuffer());
    expect(bytes.length).toBe(100);
    expect([bytes[0], bytes[25], bytes[99]]).toEqual([1, 2, 4]);
  });

  it("reads an oversized declared body to its end before the 413", async () => {
    const { stream, state } = countedBody(40, 1000);
    const error = await refusal(limitRequestBody(post(stream, { "content-length": "40000" }), 1000));
    expect(error.status).toBe(413);
    expect(error.code).toBe("request_too_large");
    expect(error.message).toContain("1000 bytes");
    expect(state.pulled).toBe(40);
  });

  it("drains the rest of a chunked body once it passes the limit", async () => {
    const { stream, state } = countedBody(30, 1000);
    const error = await refusal(limitRequestBody(post(stream), 5000));
    expect(error.status).toBe(413);
    expect(state.pulled).toBe(30);
  });

  it("stops draining at the byte bound and at the time bound, cancelling the body", async () => {
    const big = countedBody(1000, 1000);
    await refusal(limitRequestBody(post(big.stream), 100, { maxBytes: 10_000, maxMs: 10_000 }));
    expect(big.state.pulled).toBeGreaterThan(10);
    expect(big.state.pulled).toBeLessThan(20);
    expect(big.state.cancelled).toBe(true);

    const slow = countedBody(1000, 1000, 20);
    const started = Date.now();
    await refusal(limitRequestBody(post(slow.stream), 100, { maxBytes: 1e9, maxMs: 200 }));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(slow.state.pulled).toBeLessThan(100);
    expect(slow.state.cancelled).toBe(true);
  });
});
