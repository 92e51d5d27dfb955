/**
 * Streams on the wire, byte for byte: a ping first, then role, content, finish and usage chunks and
 * [DONE]; pings repeated while a long prefill runs; Chinese text never split into U+FFFD; the
 * same text as the non-stream answer; errors after the stream opened as a `data: {"error"}` frame.
 */
import { SseParser, sseData, sseDone } from "@gearbox/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../src/server/backend.js";
import { json, startTestBackend } from "./server-harness.js";

let backend: Backend;
beforeAll(async () => {
  backend = await startTestBackend({ limits: { pingIntervalSeconds: 0.02 } });
});
afterAll(async () => {
  await backend?.shutdown(0);
});

interface Wire {
  status: number;
  headers: Headers;
  /** Raw body text. */
  text: string;
  /** Body chunks as they arrived. */
  reads: string[];
}

async function post(path: string, body: unknown, target = backend): Promise<Wire> {
  const response = await fetch(`${target.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const reads: string[] = [];
  const decoder = new TextDecoder();
  const reader = response.body?.getReader();
  for (;;) {
    const chunk = await reader?.read();
    if (!chunk || chunk.done) break;
    reads.push(decoder.decode(chunk.value, { stream: true }));
  }
  return { status: response.status, headers: response.headers, text: reads.join(""), reads };
}

/** The data events of a stream, parsed (the final [DONE] as the string). */
function events(text: string): unknown[] {
  const parser = new SseParser();
  return [...parser.push(text), ...parser.end()]
    .filter((m) => m.kind === "event")
    .map((m) => (m.data === "[DONE]" ? m.data : JSON.parse(m.data)));
}

function content(text: string): string {
  return events(text)
    .flatMap((e) =>
      typeof e === "object" && e !== null
        ? ((e as { choices: { delta?: { content?: string }; text?: string }[] }).choices ?? [])
        : [],
    )
    .map((c) => c.delta?.content ?? c.text ?? "")
    .join("");
}

const chat = (extra: Record<string, unknown> = {}) => ({
  model: "tiny-en",
  messages: [{ role: "user", content: "Hello there" }],
  max_tokens: 6,
  temperature: 0,
  ...extra,
});

describe("the stream on the wire", () => {
  it("is a ping, then exactly the chunk sequence of the contract", async () => {
    const wire = await post("/v1/chat/completions", chat({ stream: true }));
    expect(wire.status).toBe(200);
    expect(wire.headers.get("content-type")).toBe("text/event-stream");
    expect(wire.headers.get("cache-control")).toBe("no-cache");
    expect(wire.headers.get("x-gearbox-model")).toBe("tiny-en");
    expect(wire.reads[0]?.startsWith(": ping\n\n")).toBe(true);

    const parsed = events(wire.text);
    expect(parsed.at(-1)).toBe("[DONE]");
    const chunks = parsed.slice(0, -1) as {
      id: string;
      created: number;
      model: string;
      object: string;
      choices: { index: number; delta: Record<string, unknown>; finish_reason: string | null }[];
      usage?: unknown;
    }[];
    const first = chunks[0];
    expect(first?.choices).toEqual([
      { index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null },
    ]);
    const middle = chunks.slice(1, -2);
    expect(middle.length).toBeGreaterThan(0);
    for (const c of middle) expect(Object.keys(c.choices[0]?.delta ?? {})).toEqual(["content"]);
    expect(chunks.at(-2)?.choices).toEqual([
      { index: 0, delta: {}, logprobs: null, finish_reason: "length" },
    ]);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 6 } });
    for (const c of chunks) {
      expect(c.object).toBe("chat.completion.chunk");
      expect([c.id, c.created, c.model]).toEqual([first?.id, first?.created, "tiny-en"]);
    }
    // Nothing but pings, the chunks and [DONE], each framed exactly as sseData frames it.
    const rebuilt = chunks.map((c) => sseData(c)).join("") + sseDone;
    expect(wire.text.replaceAll(": ping\n\n", "")).toBe(rebuilt);
  });

  it("repeats pings while a long prefill runs, before the first token", async () => {
    const long = "The llama is a domesticated South American camelid. ".repeat(70);
    const wire = await post(
      "/v1/chat/completions",
      chat({ messages: [{ role: "user", content: long }], max_tokens: 1, stream: true }),
    );
    const beforeFirstData = wire.text.slice(0, wire.text.indexOf("data:"));
    expect(beforeFirstData.split(": ping\n\n").length - 1).toBeGreaterThanOrEqual(2);
    expect(events(wire.text).at(-1)).toBe("[DONE]");
  });

  it("streams the non-stream text at temperature 0, chat and legacy", async () => {
    for (const prompt of ["Hello there", "What is 2+2?", "Write a poem about the sea"]) {
      const body = chat({ messages: [{ role: "user", content: prompt }], max_tokens: 20 });
      const whole = JSON.parse((await post("/v1/chat/completions", body)).text);
      const streamed = content((await post("/v1/chat/completions", { ...body, stream: true })).text);
      expect(streamed).toBe(whole.choices[0].message.content);
      const legacy = { model: "tiny-en", prompt, max_tokens: 20, temperature: 0 };
      const legacyWhole = JSON.parse((await post("/v1/completions", legacy)).text);
      expect(content((await post("/v1/completions", { ...legacy, stream: true })).text)).toBe(
        legacyWhole.choices[0].text,
      );
    }
  });
});

describe("Chinese text", () => {
  it("never carries a U+FFFD in a stream that the non-stream text does not have", async () => {
    const model = backend.models.models[0];
    if (!model) throw new Error("no model");
    // Make the random model write Chinese made of partial-character tokens: the token for the first
    // two bytes of U+4E00..U+4E3F (E4 B8) and the tokens of single continuation bytes (80..BF).
    const logitBias: Record<string, number> = {};
    for (let id = 0; id < model.tokenizer.vocabSize; id++) {
      if (model.tokenizer.isControl(id)) continue;
      const bytes = model.tokenizer.tokenBytes(id);
      if (bytes.length === 2 && bytes[0] === 0xe4 && bytes[1] === 0xb8) logitBias[id] = 100;
      else if (bytes.length === 1 && (bytes[0] as number) >= 0x80 && (bytes[0] as number) <= 0xbf)
        logitBias[id] = 95;
    }
    expect(Object.keys(logitBias)).toHaveLength(65);
    let wholeCharacters = 0;
    for (const seed of [1, 2, 3, 4]) {
      const body = chat({
        messages: [{ role: "user", content: "请用中文写一首关于大海的诗。" }],
        max_tokens: 64,
        temperature: 2,
        seed,
        logit_bias: logitBias,
      });
      const whole: string = JSON.parse((await post("/v1/chat/completions", body)).text).choices[0].message
        .content;
      wholeCharacters += whole.match(/[\u4e00-\u4e3f]/g)?.length ?? 0;
      const streamed = content((await post("/v1/chat/completions", { ...body, stream: true })).text);
      expect(streamed).toBe(whole);
      expect(streamed.split("\uFFFD").length).toBe(whole.split("\uFFFD").length);
    }
    // The answers hold characters made of two tokens each (the rest is stray bytes, U+FFFD in both).
    expect(wholeCharacters).toBeGreaterThanOrEqual(4);
  });
});

describe("errors after the stream opened", () => {
  let slow: Backend;
  beforeAll(async () => {
    slow = await startTestBackend({ limits: { requestTimeoutSeconds: 0.3, pingIntervalSeconds: 0.05 } });
  });
  afterAll(async () => {
    await slow?.shutdown(0);
  });

  it("are sent as a data: {error} frame and the stream closes without [DONE]", async () => {
    const wire = await post("/v1/chat/completions", chat({ max_tokens: 900, stream: true }), slow);
    expect(wire.status).toBe(200);
    const parsed = events(wire.text);
    expect(parsed).not.toContain("[DONE]");
    expect(parsed.at(-1)).toMatchObject({ error: { type: "server_error", code: "server_overloaded" } });
    expect(JSON.stringify(parsed.at(-1))).toContain("deadline");
  });

  it("are a plain 503 when the answer was not streamed", async () => {
    const response = await fetch(`${slow.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify(chat({ max_tokens: 900 })),
    });
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect((await json(response)).error.code).toBe("server_overloaded");
  });
});
