/** LangChain's ChatOpenAI with a custom base URL against the real backend: invoke and stream. */
import { ChatOpenAI } from "@langchain/openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../src/server/backend.js";
import { startTestBackend } from "./server-harness.js";

let backend: Backend;
beforeAll(async () => {
  backend = await startTestBackend();
});
afterAll(async () => {
  await backend?.shutdown(0);
});

function chat(fields: Record<string, unknown> = {}) {
  return new ChatOpenAI({
    model: "tiny-en",
    apiKey: "not-needed-in-open-mode",
    configuration: { baseURL: `${backend.url}/v1` },
    temperature: 0,
    maxTokens: 12,
    maxRetries: 0,
    ...fields,
  });
}

describe("ChatOpenAI", () => {
  it("invokes, with token usage", async () => {
    const message = await chat().invoke([
      ["system", "You are a llama."],
      ["human", "Say something."],
    ]);
    expect(typeof message.content).toBe("string");
    expect(String(message.content).length).toBeGreaterThan(0);
    expect(message.usage_metadata?.output_tokens).toBe(12);
    expect(message.response_metadata.model_name ?? message.response_metadata.model).toBe("tiny-en");
  });

  it("streams the same text as invoke, with usage at the end", async () => {
    const input = "Tell me about the Andes.";
    const whole = await chat().invoke(input);
    let text = "";
    let outputTokens: number | undefined;
    let pieces = 0;
    for await (const chunk of await chat().stream(input)) {
      text += String(chunk.content);
      if (chunk.content) pieces++;
      outputTokens = chunk.usage_metadata?.output_tokens ?? outputTokens;
    }
    expect(text).toBe(whole.content);
    expect(pieces).toBeGreaterThan(1);
    expect(outputTokens).toBe(12);
  });

  it("passes stop sequences", async () => {
    const whole = String((await chat({ maxTokens: 20 }).invoke("Count with me.")).content);
    const stop = whole.slice(6, 9);
    const cut = String((await chat({ maxTokens: 20, stop: [stop] }).invoke("Count with me.")).content);
    expect(cut).toBe(whole.slice(0, whole.indexOf(stop)));
  });
});
