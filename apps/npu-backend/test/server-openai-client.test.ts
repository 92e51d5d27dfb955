/**
 * The backend through the official `openai` client: real HTTP on loopback, real engine on the tiny
 * synthetic model. Non-stream, stream iteration, usage, stop, seed, n, logprobs, legacy
 * completions and errors, each checked against what the same request must produce.
 */
import { chatCompletionChunkSchema, chatCompletionSchema, completionSchema } from "@gearbox/shared";
import OpenAI from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../src/server/backend.js";
import { startTestBackend } from "./server-harness.js";

let backend: Backend;
let client: OpenAI;
const MODEL = "tiny-en";
const messages = [{ role: "user" as const, content: "Tell me a story about a llama." }];

beforeAll(async () => {
  backend = await startTestBackend();
  client = new OpenAI({ baseURL: `${backend.url}/v1`, apiKey: "not-needed-in-open-mode", maxRetries: 0 });
});
afterAll(async () => {
  await backend?.shutdown(0);
});

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

function streamedText(chunks: ChatCompletionChunk[], index = 0): string {
  return chunks
    .flatMap((c) => c.choices)
    .filter((c) => c.index === index)
    .map((c) => c.delta.content ?? "")
    .join("");
}

async function greedy(maxTokens: number): Promise<string> {
  const r = await client.chat.completions.create({
    model: MODEL,
    messages,
    max_tokens: maxTokens,
    temperature: 0,
  });
  return r.choices[0]?.message.content ?? "";
}

describe("chat completions", () => {
  it("answers a non-stream request in the OpenAI shape with usage", async () => {
    const r = await client.chat.completions.create({
      model: MODEL,
      messages,
      max_tokens: 12,
      temperature: 0,
    });
    expect(chatCompletionSchema.parse(r)).toBeTruthy();
    expect(r.id).toMatch(/^chatcmpl-/);
    expect(r.object).toBe("chat.completion");
    expect(r.model).toBe(MODEL);
    expect(r.choices).toHaveLength(1);
    expect(r.choices[0]?.message.role).toBe("assistant");
    expect(r.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(r.choices[0]?.finish_reason).toBe("length");
    const model = backend.models.models[0];
    const prompt = model?.tokenizer.encode(model.chatTemplate.render(messages), {
      addBos: false,
      parseSpecial: true,
    });
    expect(r.usage).toEqual({
      prompt_tokens: prompt?.length,
      completion_tokens: 12,
      total_tokens: (prompt?.length ?? 0) + 12,
    });
  });

  it("streams a role chunk, content, a finish chunk and usage, all with one id, and the same text", async () => {
    const expected = await greedy(16);
    const chunks = await collect(
      await client.chat.completions.create({
        model: MODEL,
        messages,
        max_tokens: 16,
        temperature: 0,
        stream: true,
      }),
    );
    for (const chunk of chunks) expect(chatCompletionChunkSchema.parse(chunk)).toBeTruthy();
    expect(new Set(chunks.map((c) => `${c.id}|${c.created}|${c.model}`)).size).toBe(1);
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    const finish = chunks.at(-2);
    expect(finish?.choices[0]).toMatchObject({ finish_reason: "length", delta: {} });
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.completion_tokens).toBe(16);
    expect(streamedText(chunks)).toBe(expected);
  });

  it("stops at a stop string (single or in a list), in both modes, without returning it", async () => {
    const full = await greedy(24);
    // A stop string from the middle of the answer, first seen where it is cut.
    const from = Math.floor(full.length / 2);
    const stop = full.slice(from, from + 3);
    const cut = full.indexOf(stop);
    expect(stop.length).toBe(3);
    const r = await client.chat.completions.create({
      model: MODEL,
      messages,
      max_tokens: 24,
      temperature: 0,
      stop,
    });
    expect(r.choices[0]?.message.content).toBe(full.slice(0, cut));
    expect(r.choices[0]?.finish_reason).toBe("stop");
    expect(r.usage?.completion_tokens).toBeLessThan(24);
    const chunks = await collect(
      await client.chat.completions.create({
        model: MODEL,
        messages,
        max_tokens: 24,
        temperature: 0,
        stop: ["never appears \u0007", stop],
        stream: true,
      }),
    );
    expect(streamedText(chunks)).toBe(full.slice(0, cut));
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(r.usage?.completion_tokens);
  });

  it("reproduces a sampled answer with the same seed", async () => {
    const ask = (seed: number) =>
      client.chat.completions
        .create({ model: MODEL, messages, max_tokens: 16, temperature: 1.5, seed })
        .then((r) => r.choices[0]?.message.content);
    const [a, b, c, d] = await Promise.all([ask(7), ask(7), ask(8), ask(9)]);
    expect(a).toBe(b);
    expect(new Set([a, c, d]).size).toBeGreaterThan(1);
  });

  it("returns n choices with one prompt's usage, streamed and not", async () => {
    const r = await client.chat.completions.create({
      model: MODEL,
      messages,
      max_tokens: 8,
      temperature: 1.5,
      seed: 3,
      n: 3,
    });
    expect(r.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(r.usage?.completion_tokens).toBe(24);
    const single = await client.chat.completions.create({
      model: MODEL,
      messages,
      max_tokens: 1,
      temperature: 0,
    });
    expect(r.usage?.prompt_tokens).toBe(single.usage?.prompt_tokens);
    // Choice i samples with seed + i: choice 0 is the n = 1 answer with the same seed.
    const first = await client.chat.completions.create({
      model: MODEL,
      messages,
      max_tokens: 8,
      temperature: 1.5,
      seed: 3,
    });
    expect(r.choices[0]?.message.content).toBe(first.choices[0]?.message.content);
    expect(new Set(r.choices.map((c) => c.message.content)).size).toBeGreaterThan(1);

    const chunks = await collect(
      await client.chat.completions.create({
        model: MODEL,
        messages,
        max_tokens: 8,
        temperature: 1.5,
        seed: 3,
        n: 3,
        stream: true,
      }),
    );
    for (const i of [0, 1, 2]) {
      expect(streamedText(chunks, i)).toBe(r.choices[i]?.message.content);
      expect(chunks.some((c) => c.choices[0]?.index === i && c.choices[0]?.finish_reason === "length")).toBe(
        true,
      );
    }
    expect(chunks.at(-1)?.usage).toEqual(r.usage);
  });

  it("reports logprobs with top alternatives, the same in both modes", async () => {
    const r = await client.chat.completions.create({
      model: MODEL,
      messages,
      max_tokens: 10,
      temperature: 0,
      logprobs: true,
      top_logprobs: 3,
    });
    const content = r.choices[0]?.logprobs?.content ?? [];
    expect(content).toHaveLength(10);
    for (const entry of content) {
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.top_logprobs).toHaveLength(3);
      // Greedy: the chosen token is the most likely one.
      expect(entry.top_logprobs[0]?.token).toBe(entry.token);
      expect(entry.top_logprobs[0]?.logprob).toBeCloseTo(entry.logprob, 5);
    }
    const bytes = content.flatMap((e) => e.bytes ?? []);
    expect(new TextDecoder().decode(new Uint8Array(bytes))).toBe(r.choices[0]?.message.content);

    const chunks = await collect(
      await client.chat.completions.create({
        model: MODEL,
        messages,
        max_tokens: 10,
        temperature: 0,
        logprobs: true,
        top_logprobs: 3,
        stream: true,
      }),
    );
    const streamed = chunks.flatMap((c) => c.choices[0]?.logprobs?.content ?? []);
    expect(streamed.map((e) => e.token)).toEqual(content.map((e) => e.token));
    expect(streamed.map((e) => e.logprob)).toEqual(content.map((e) => e.logprob));
  });

  it("honours max_completion_tokens over max_tokens", async () => {
    const r = await client.chat.completions.create({
      model: MODEL,
      messages,
      max_tokens: 9,
      max_completion_tokens: 4,
      temperature: 0,
    });
    expect(r.usage?.completion_tokens).toBe(4);
  });
});

describe("legacy completions", () => {
  it("completes a text prompt with logprobs, and a batch of token prompts", async () => {
    const r = await client.completions.create({
      model: MODEL,
      prompt: "Once upon a time",
      max_tokens: 6,
      temperature: 0,
      logprobs: 2,
    });
    expect(completionSchema.parse(r)).toBeTruthy();
    expect(r.object).toBe("text_completion");
    const choice = r.choices[0];
    expect(choice?.logprobs?.tokens).toHaveLength(6);
    expect(choice?.logprobs?.top_logprobs?.every((t) => Object.keys(t ?? {}).length >= 1)).toBe(true);
    expect(choice?.logprobs?.tokens?.join("")).toBe(choice?.text);

    const model = backend.models.models[0];
    const tokens = model?.tokenizer.encode("Once upon a time") ?? [];
    const batch = await client.completions.create({
      model: MODEL,
      prompt: [tokens, tokens.slice(0, 3)],
      max_tokens: 6,
      temperature: 0,
      n: 2,
    });
    expect(batch.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    // The token prompt is the text prompt (with its BOS): the same greedy answer.
    expect(batch.choices[0]?.text).toBe(choice?.text);
    expect(batch.choices[1]?.text).toBe(choice?.text);
    expect(batch.usage?.prompt_tokens).toBe(tokens.length + 3);
  });

  it("streams text chunks, a finish chunk and usage; echo prepends the prompt", async () => {
    const plain = await client.completions.create({
      model: MODEL,
      prompt: "Hello",
      max_tokens: 5,
      temperature: 0,
    });
    const stream = await client.completions.create({
      model: MODEL,
      prompt: "Hello",
      max_tokens: 5,
      temperature: 0,
      stream: true,
      echo: true,
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices.map((c) => c.text).join("");
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(`Hello${plain.choices[0]?.text}`);
    expect(finish).toBe("length");
    expect(usage?.completion_tokens).toBe(5);
  });
});

describe("errors", () => {
  it("404 model_not_found for an unknown model", async () => {
    const error = await client.chat.completions.create({ model: "gpt-7", messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error).toMatchObject({ status: 404, code: "model_not_found", param: "model" });
  });

  it("400 naming a parameter this server does not implement", async () => {
    const error = await client.chat.completions
      .create({ model: MODEL, messages, store: true })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, code: "unsupported_parameter", param: "store" });
    const image = await client.chat.completions
      .create({
        model: MODEL,
        messages: [
          { role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/a.png" } }] },
        ],
      })
      .catch((e: unknown) => e);
    expect(image).toMatchObject({
      status: 400,
      code: "unsupported_parameter",
      param: "messages[0].content[0]",
    });
  });

  it("400 context_length_exceeded before any stream starts", async () => {
    const error = await client.chat.completions
      .create({ model: MODEL, messages, max_tokens: 5000, stream: true })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, code: "context_length_exceeded" });
  });
});
