/**
 * Two models served at once (en: the tiny shape, zh: tiny-alt), through real HTTP: "auto" picks by
 * the conversation's language, the choice shows in `model` and `x-gearbox-model`, aliases work,
 * and both models make progress when busy at the same time.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../src/server/backend.js";
import { json, startTestBackend } from "./server-harness.js";
import { ensureModel } from "./support/models.js";

let backend: Backend;
let client: OpenAI;
beforeAll(async () => {
  backend = await startTestBackend({
    models: [
      { id: "tiny-en", path: await ensureModel("tiny", "q8_0"), languages: ["en"], aliases: ["small"] },
      { id: "tiny-zh", path: await ensureModel("tiny-alt", "q8_0"), languages: ["zh"] },
    ],
  });
  client = new OpenAI({ baseURL: `${backend.url}/v1`, apiKey: "open", maxRetries: 0 });
});
afterAll(async () => {
  await backend?.shutdown(0);
});

async function routed(
  body: object,
  path = "/v1/chat/completions",
): Promise<{ header: string | null; model: string }> {
  const response = await fetch(`${backend.url}${path}`, { method: "POST", body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  return { header: response.headers.get("x-gearbox-model"), model: (await json(response)).model };
}

describe("model auto", () => {
  it("routes a Chinese conversation to the zh model and an English one to the en model", async () => {
    const zh = await routed({
      model: "auto",
      max_tokens: 2,
      messages: [
        { role: "system", content: "You are a helpful assistant." },
        { role: "user", content: "你好！请用三句话介绍一下长城。" },
      ],
    });
    expect(zh).toEqual({ header: "tiny-zh", model: "tiny-zh" });
    const en = await routed({
      model: "auto",
      max_tokens: 2,
      messages: [{ role: "user", content: "Tell me about the Great Wall." }],
    });
    expect(en).toEqual({ header: "tiny-en", model: "tiny-en" });
    const legacy = await routed(
      { model: "auto", max_tokens: 2, prompt: "从前有座山，山里有座庙。" },
      "/v1/completions",
    );
    expect(legacy.model).toBe("tiny-zh");
  });

  it("shows the choice in every chunk of a stream", async () => {
    const stream = await client.chat.completions.create({
      model: "auto",
      messages: [{ role: "user", content: "今天天气怎么样？" }],
      max_tokens: 3,
      stream: true,
    });
    const models = new Set<string>();
    for await (const chunk of stream) models.add(chunk.model);
    expect([...models]).toEqual(["tiny-zh"]);
  });

  it("serves aliases and lists every name", async () => {
    expect(
      (await routed({ model: "small", max_tokens: 1, messages: [{ role: "user", content: "hi" }] })).model,
    ).toBe("tiny-en");
    expect((await client.models.list()).data.map((m) => m.id)).toEqual([
      "tiny-en",
      "small",
      "tiny-zh",
      "auto",
    ]);
  });

  it("runs both models at once", async () => {
    const ask = (model: string) =>
      client.chat.completions.create({
        model,
        messages: [{ role: "user", content: "go" }],
        max_tokens: 24,
        temperature: 0,
      });
    const [en, zh] = await Promise.all([ask("tiny-en"), ask("tiny-zh")]);
    expect(en.usage?.completion_tokens).toBe(24);
    expect(zh.usage?.completion_tokens).toBe(24);
    // Alone, each gives the same answer: the two models never disturb each other's state.
    expect((await ask("tiny-zh")).choices[0]?.message.content).toBe(zh.choices[0]?.message.content);
  });
});
