/**
 * The whole path: the real edge worker in workerd (Miniflare, bindings from wrangler.toml) in
 * front of two real backends — `gearbox serve` processes running the real engine on the tiny
 * synthetic model — called with the official OpenAI client and plain fetch. Keys, the per-key model
 * allow-list, rate limits, incremental streaming, aborts reaching the backend, failover when a
 * backend dies, and backends refusing unsigned requests.
 */
import { once } from "node:events";
import { SseParser } from "@gearbox/shared";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authHeaders, type Edge, startEdge, TEST_SECRET } from "../apps/edge/test/edge-harness.js";
import { json } from "../apps/npu-backend/test/server-harness.js";
import {
  type BackendProcess,
  backendMetric,
  startBackendProcess,
  writeBackendConfig,
} from "./support/backend-process.js";

const MODEL = "tiny-en";

const metric = (backend: BackendProcess, name: string, labels: Record<string, string> = {}) =>
  backendMetric(backend.url, name, labels);

let backends: BackendProcess[];
let edge: Edge;
let key: string;

beforeAll(async () => {
  const configPath = await writeBackendConfig();
  const start = () => startBackendProcess(["--config", configPath], { GEARBOX_UPSTREAM_SECRET: TEST_SECRET });
  backends = await Promise.all([start(), start()]);
  edge = await startEdge(backends.map((b) => b.url));
  key = await edge.addKey({ name: "e2e" });
});

afterAll(async () => {
  await edge?.dispose();
  await Promise.all((backends ?? []).map((b) => b.stop()));
});

const client = (apiKey: string) => new OpenAI({ baseURL: `${edge.url}/v1`, apiKey, maxRetries: 0 });
const messages = [{ role: "user" as const, content: "Hello from the edge" }];

describe("edge + backends", () => {
  it("answers with a valid key and refuses a missing or unknown one", async () => {
    const r = await client(key).chat.completions.create({
      model: MODEL,
      messages,
      max_tokens: 4,
      temperature: 0,
    });
    expect(r.model).toBe(MODEL);
    expect(r.usage?.completion_tokens).toBe(4);
    const unknown = await client("gbx-not-a-key")
      .chat.completions.create({ model: MODEL, messages })
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.AuthenticationError);
    const none = await fetch(`${edge.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: MODEL, messages }),
    });
    expect(none.status).toBe(401);
    expect((await json(none)).error.code).toBe("invalid_api_key");
  });

  it("keeps a key to its allowed models", async () => {
    const limited = await edge.addKey({ name: "limited", models: ["llama-3.2-3b-zh"] });
    const error = await client(limited)
      .chat.completions.create({ model: MODEL, messages, max_tokens: 2 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(error).toMatchObject({ status: 403, code: "model_not_allowed" });
  });

  it("rate-limits a key with 429 and retry-after", async () => {
    const slow = await edge.addKey({ name: "slow", rpm: 2 });
    const body = JSON.stringify({ model: MODEL, messages, max_tokens: 1 });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${edge.url}/v1/chat/completions`, {
        method: "POST",
        headers: authHeaders(slow),
        body,
      });
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get("retry-after");
      await response.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });

  it("streams incrementally: the content arrives in many pieces, the same text as without streaming", async () => {
    const request = { model: MODEL, messages, max_tokens: 24, temperature: 0 };
    const whole = await client(key).chat.completions.create(request);
    const response = await fetch(`${edge.url}/v1/chat/completions`, {
      method: "POST",
      headers: authHeaders(key),
      body: JSON.stringify({ ...request, stream: true }),
    });
    const parser = new SseParser();
    let text = "";
    let reads = 0;
    let readsWithContent = 0;
    for await (const bytes of response.body ?? []) {
      reads++;
      const before = text.length;
      for (const m of parser.push(bytes)) {
        if (m.kind === "event" && m.data !== "[DONE]")
          text += JSON.parse(m.data).choices[0]?.delta?.content ?? "";
      }
      if (text.length > before) readsWithContent++;
    }
    expect(text).toBe(whole.choices[0]?.message.content);
    // Tokens were passed on as they came, not gathered into one write at the end.
    expect(reads).toBeGreaterThan(5);
    expect(readsWithContent).toBeGreaterThan(5);
  });

  it("passes structured output and tool calls through, streamed and not, and the backend's 400s naming the field", async () => {
    const schema = {
      type: "object",
      properties: {
        answer: { enum: ["yes", "no"] },
        confidence: { type: "integer", minimum: 0, maximum: 9 },
      },
      required: ["answer", "confidence"],
      additionalProperties: false,
    };
    const structured = await client(key).chat.completions.create({
      model: MODEL,
      messages,
      temperature: 0,
      max_tokens: 40,
      response_format: { type: "json_schema", json_schema: { name: "verdict", schema, strict: true } },
    });
    const verdict = JSON.parse(structured.choices[0]?.message.content ?? "");
    expect(["yes", "no"]).toContain(verdict.answer);
    expect(Object.keys(verdict).sort()).toEqual(["answer", "confidence"]);

    const tools = [
      {
        type: "function" as const,
        function: {
          name: "lookup",
          parameters: {
            type: "object",
            properties: { q: { enum: ["a", "b"] } },
            required: ["q"],
            additionalProperties: false,
          },
        },
      },
    ];
    const request = {
      model: MODEL,
      messages,
      tools,
      tool_choice: "required" as const,
      temperature: 0,
      max_tokens: 40,
    };
    const whole = await client(key).chat.completions.create(request);
    const call = whole.choices[0]?.message.tool_calls?.[0];
    expect(whole.choices[0]?.finish_reason).toBe("tool_calls");
    expect(call?.type === "function" && call.function.name).toBe("lookup");
    let args = "";
    let name = "";
    let usage: number | undefined;
    for await (const chunk of await client(key).chat.completions.create({ ...request, stream: true })) {
      for (const d of chunk.choices[0]?.delta.tool_calls ?? []) {
        name += d.function?.name ?? "";
        args += d.function?.arguments ?? "";
      }
      usage = chunk.usage?.completion_tokens ?? usage;
    }
    expect(name).toBe("lookup");
    expect(args).toBe(call?.type === "function" ? call.function.arguments : "");
    expect(usage).toBe(whole.usage?.completion_tokens);

    const bad = await client(key)
      .chat.completions.create({
        ...request,
        tool_choice: { type: "function", function: { name: "missing" } },
      })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad).toMatchObject({ status: 400, param: "tool_choice" });
  });

  it("cancels the backend's generation when the client aborts the stream", async () => {
    const abort = new AbortController();
    const response = await fetch(`${edge.url}/v1/chat/completions`, {
      method: "POST",
      headers: authHeaders(key),
      body: JSON.stringify({ model: MODEL, messages, max_tokens: 800, stream: true }),
      signal: abort.signal,
    });
    const reader = response.body?.getReader();
    let received = "";
    while (!received.includes('"content":"') || received.split("data:").length < 4) {
      const chunk = await reader?.read();
      if (!chunk || chunk.done) break;
      received += new TextDecoder().decode(chunk.value);
    }
    const running = async () =>
      (
        await Promise.all(
          backends.map((b) => metric(b, "gearbox:num_requests_running", { model_name: MODEL })),
        )
      ).reduce((a, b) => a + b, 0);
    expect(await running()).toBe(1);
    abort.abort();
    const deadline = performance.now() + 5000;
    while ((await running()) !== 0) {
      if (performance.now() > deadline) throw new Error("the backend kept generating after the client left");
      await new Promise((r) => setTimeout(r, 20));
    }
    const cancelled = await Promise.all(
      backends.map((b) =>
        metric(b, "gearbox:request_failure_total", { model_name: MODEL, reason: "cancelled" }),
      ),
    );
    expect(cancelled.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it("refuses a request sent straight to a backend without the edge's signature", async () => {
    const backend = backends[0] as BackendProcess;
    const response = await fetch(`${backend.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: MODEL, messages, max_tokens: 1 }),
    });
    expect(response.status).toBe(401);
    expect((await json(response)).error.code).toBe("invalid_api_key");
  });

  it("sends new requests to the surviving backend when one is killed, none failing", async () => {
    const [victim, survivor] = backends as [BackendProcess, BackendProcess];
    const servedBefore = await metric(survivor, "gearbox:request_success_total", {
      model_name: MODEL,
      finished_reason: "length",
    });
    const exited = once(victim.child, "exit");
    victim.child.kill("SIGKILL");
    await exited;
    const results = [];
    for (let i = 0; i < 4; i++) {
      results.push(await client(key).chat.completions.create({ model: MODEL, messages, max_tokens: 2 }));
      const stream = await client(key).chat.completions.create({
        model: MODEL,
        messages,
        max_tokens: 2,
        stream: true,
      });
      let finish: string | null | undefined;
      for await (const chunk of stream) finish = chunk.choices[0]?.finish_reason ?? finish;
      expect(finish).toBe("length");
    }
    expect(results.every((r) => r.usage?.completion_tokens === 2)).toBe(true);
    const servedAfter = await metric(survivor, "gearbox:request_success_total", {
      model_name: MODEL,
      finished_reason: "length",
    });
    expect(servedAfter - servedBefore).toBe(8);
  });
});
