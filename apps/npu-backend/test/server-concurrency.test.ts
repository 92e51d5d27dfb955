/**
 * Continuous batching under load, through real HTTP: 16 concurrent streams each get exactly the
 * answer they get alone; a seed reproduces an answer whatever else runs; a full queue answers 503
 * with retry-after; an aborted stream frees its KV blocks at once while the others go on.
 */
import { SseParser } from "@gearbox/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../src/server/backend.js";
import { json, scrape, sleep, startTestBackend } from "./server-harness.js";

let backend: Backend;
beforeAll(async () => {
  backend = await startTestBackend();
});
afterAll(async () => {
  await backend?.shutdown(0);
});

const body = (content: string, extra: Record<string, unknown> = {}) => ({
  model: "tiny-en",
  messages: [{ role: "user", content }],
  max_tokens: 16,
  temperature: 0,
  ...extra,
});

async function complete(target: Backend, request: object): Promise<string> {
  const response = await fetch(`${target.url}/v1/chat/completions`, {
    method: "POST",
    body: JSON.stringify(request),
  });
  const answer = await json(response);
  if (response.status !== 200) throw new Error(JSON.stringify(answer));
  return answer.choices[0].message.content;
}

interface StreamResult {
  text: string;
  done: boolean;
  finish: string | undefined;
}

/** Opens a stream; `onData` sees each content delta as it arrives. */
function openStream(
  target: Backend,
  request: object,
  signal?: AbortSignal,
  onData: (text: string) => void = () => {},
): Promise<StreamResult & { status: number }> {
  return (async () => {
    const response = await fetch(`${target.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ ...request, stream: true }),
      ...(signal ? { signal } : {}),
    });
    const result = {
      status: response.status,
      text: "",
      done: false,
      finish: undefined as string | undefined,
    };
    if (response.status !== 200 || !response.body) return result;
    const parser = new SseParser();
    try {
      for await (const bytes of response.body) {
        for (const message of parser.push(bytes)) {
          if (message.kind !== "event") continue;
          if (message.data === "[DONE]") {
            result.done = true;
            continue;
          }
          const chunk = JSON.parse(message.data);
          const choice = chunk.choices?.[0];
          if (choice?.delta?.content) {
            result.text += choice.delta.content;
            onData(choice.delta.content);
          }
          if (choice?.finish_reason) result.finish = choice.finish_reason;
        }
      }
    } catch (error) {
      if (!signal?.aborted) throw error;
    }
    return result;
  })();
}

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("continuous batching", () => {
  it("runs 16 concurrent streams, each with the answer it gets alone", async () => {
    const prompts = Array.from({ length: 16 }, (_, i) =>
      `Question number ${i}: what do llamas eat?`.repeat(1 + (i % 3)),
    );
    const alone: string[] = [];
    for (const p of prompts) alone.push(await complete(backend, body(p)));
    const results = await Promise.all(prompts.map((p) => openStream(backend, body(p))));
    results.forEach((r, i) => {
      expect(r).toMatchObject({ status: 200, done: true, finish: "length" });
      expect(r.text).toBe(alone[i]);
    });
    expect(await scrape(backend, "gearbox:num_requests_running", { model_name: "tiny-en" })).toBe(0);
  });

  it("reproduces a seeded answer whatever else runs beside it", async () => {
    const seeded = body("Pick a random word.", { temperature: 1, seed: 1234, max_tokens: 24 });
    const alone = await complete(backend, seeded);
    const others = Array.from({ length: 10 }, (_, i) =>
      openStream(backend, body(`Busy traffic ${i}`, { temperature: 1, max_tokens: 12 + i })),
    );
    const [crowded] = await Promise.all([complete(backend, seeded), ...others]);
    expect(crowded).toBe(alone);
  });

  it("frees an aborted stream's KV blocks at once; the other streams are unaffected", async () => {
    const keep = [body("Keep going one", { max_tokens: 40 }), body("Keep going two", { max_tokens: 40 })];
    const expected = await Promise.all(keep.map((k) => complete(backend, k)));

    const abort = new AbortController();
    let aborted: () => void = () => {};
    const firstData = new Promise<void>((resolve) => {
      aborted = resolve;
    });
    // Long enough (800 tokens) that it could only stop early by being cancelled.
    const victim = openStream(backend, body("Talk for a long time", { max_tokens: 800 }), abort.signal, () =>
      aborted(),
    );
    const kept = keep.map((k) => openStream(backend, k));
    await firstData;
    expect(await scrape(backend, "gearbox:kv_cache_blocks_used", { model_name: "tiny-en" })).toBeGreaterThan(
      0,
    );
    const cancelledBefore =
      (await scrape(backend, "gearbox:request_failure_total", {
        model_name: "tiny-en",
        reason: "cancelled",
      })) ?? 0;
    abort.abort();
    await victim;
    await waitFor(
      async () =>
        (await scrape(backend, "gearbox:request_failure_total", {
          model_name: "tiny-en",
          reason: "cancelled",
        })) ===
        cancelledBefore + 1,
      "the cancellation",
    );
    const results = await Promise.all(kept);
    results.forEach((r, i) => {
      expect(r).toMatchObject({ status: 200, done: true });
      expect(r.text).toBe(expected[i]);
    });
    await waitFor(
      async () =>
        (await scrape(backend, "gearbox:num_requests_running", { model_name: "tiny-en" })) === 0 &&
        (await scrape(backend, "gearbox:kv_cache_blocks_used", { model_name: "tiny-en" })) === 0,
      "KV blocks to be freed",
      2000,
    );
    // The victim generated only part of its 800 tokens.
    expect(await scrape(backend, "gearbox:num_sequences", { model_name: "tiny-en" })).toBe(0);
  });
});

describe("queue limits", () => {
  let narrow: Backend;
  beforeAll(async () => {
    // One sequence at a time, one request may wait.
    narrow = await startTestBackend({ gears: { decodeBatch: [1] }, limits: { maxQueue: 1 } });
  });
  afterAll(async () => {
    await narrow?.shutdown(0);
  });

  it("answers 503 server_overloaded with retry-after beyond limits.maxQueue, and serves the rest", async () => {
    const abort = new AbortController();
    let running: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      running = resolve;
    });
    const first = openStream(narrow, body("First", { max_tokens: 600 }), abort.signal, () => running());
    await started;
    const waiting = openStream(narrow, body("Second", { max_tokens: 4 }));
    await waitFor(
      async () => (await scrape(narrow, "gearbox:num_requests_waiting", { model_name: "tiny-en" })) === 1,
      "a waiting request",
    );

    const refused = await fetch(`${narrow.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify(body("Third")),
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await json(refused)).toMatchObject({ error: { type: "server_error", code: "server_overloaded" } });

    abort.abort();
    await first;
    expect(await waiting).toMatchObject({ status: 200, done: true, finish: "length" });
    expect(await complete(narrow, body("Fourth", { max_tokens: 2 }))).toBeTypeOf("string");
  });
});
