/**
 * Reliability: a burst far beyond what a backend admits (4 running, 4 queued): every refusal is
 * `503 server_overloaded` with `retry-after` and an OpenAI error body, every admitted request —
 * streamed or not — completes, the metrics count exactly the admitted ones, and the gauges and KV
 * cache come back to 0.
 */
import { chatCompletionSchema, errorBodySchema, SseParser } from "@gearbox/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../src/server/backend.js";
import { scrape, startTestBackend } from "./server-harness.js";

let backend: Backend;
beforeAll(async () => {
  backend = await startTestBackend({ gears: { decodeBatch: [1, 4] }, limits: { maxQueue: 4 } });
});
afterAll(async () => {
  await backend?.shutdown(0);
});

type Answer = { status: number; retryAfter: string | null; complete: boolean; code?: string | null };

async function send(i: number): Promise<Answer> {
  const stream = i % 2 === 0;
  const response = await fetch(`${backend.url}/v1/chat/completions`, {
    method: "POST",
    body: JSON.stringify({
      model: "tiny-en",
      messages: [{ role: "user", content: `Request number ${i}` }],
      max_tokens: 24,
      temperature: 0,
      stream,
    }),
  });
  const retryAfter = response.headers.get("retry-after");
  if (response.status !== 200) {
    const error = errorBodySchema.parse(await response.json());
    return { status: response.status, retryAfter, complete: false, code: error.error.code };
  }
  if (!stream) {
    const body = chatCompletionSchema.parse(await response.json());
    return { status: 200, retryAfter, complete: body.choices[0]?.finish_reason === "length" };
  }
  const parser = new SseParser();
  let done = false;
  let finish: string | undefined;
  for await (const bytes of response.body ?? []) {
    for (const m of parser.push(bytes)) {
      if (m.kind !== "event") continue;
      if (m.data === "[DONE]") done = true;
      else finish = JSON.parse(m.data).choices?.[0]?.finish_reason ?? finish;
    }
  }
  return { status: 200, retryAfter, complete: done && finish === "length" };
}

describe("overload", () => {
  it("refuses what does not fit with 503 server_overloaded + retry-after and completes every admitted request", async () => {
    const labels = { model_name: "tiny-en", finished_reason: "length" };
    const before = (await scrape(backend, "gearbox:request_success_total", labels)) ?? 0;
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => send(i)));
    const admitted = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status !== 200);
    console.log(`overload: ${admitted.length} admitted, ${refused.length} refused of ${answers.length}`);
    expect(refused.length).toBeGreaterThan(0);
    expect(admitted.length).toBeGreaterThanOrEqual(8);
    for (const r of refused)
      expect(r).toMatchObject({ status: 503, code: "server_overloaded", retryAfter: "1" });
    expect(admitted.every((a) => a.complete)).toBe(true);
    expect(((await scrape(backend, "gearbox:request_success_total", labels)) ?? 0) - before).toBe(
      admitted.length,
    );
    for (const name of [
      "gearbox:num_requests_running",
      "gearbox:num_requests_waiting",
      "gearbox:kv_cache_blocks_used",
    ])
      expect(await scrape(backend, name, { model_name: "tiny-en" }), name).toBe(0);
  }, 180_000);
});
