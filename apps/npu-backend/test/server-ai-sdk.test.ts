/**
 * The Vercel AI SDK (`ai` 6 with `@ai-sdk/openai-compatible` 2, the releases that run on Node 20)
 * against the real backend: generateObject with a zod schema, streamText equal to generateText at
 * temperature 0, and a tool call forced with toolChoice, in one body and streamed.
 */
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateObject, generateText, streamText, tool } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Backend } from "../src/server/backend.js";
import { startTestBackend } from "./server-harness.js";

let backend: Backend;
let model: ReturnType<ReturnType<typeof createOpenAICompatible>>;
beforeAll(async () => {
  backend = await startTestBackend();
  const gearbox = createOpenAICompatible({
    name: "gearbox",
    baseURL: `${backend.url}/v1`,
    apiKey: "not-needed-in-open-mode",
    supportsStructuredOutputs: true,
    includeUsage: true,
  });
  model = gearbox("tiny-en");
});
afterAll(async () => {
  await backend?.shutdown(0);
});

const Recipe = z.object({
  title: z.string().min(1).max(16),
  servings: z.number().int().min(1).max(8),
  steps: z
    .array(z.enum(["chop", "boil", "fry", "serve"]))
    .min(1)
    .max(4),
});

const WeatherInput = z.object({ city: z.string().min(1).max(12), unit: z.enum(["celsius", "fahrenheit"]) });
const weather = tool({ description: "The weather in a city", inputSchema: WeatherInput });

describe("AI SDK", () => {
  it("generateObject returns an object of the zod schema", async () => {
    const { object, finishReason } = await generateObject({
      model,
      schema: Recipe,
      schemaName: "recipe",
      prompt: "A recipe, please.",
      temperature: 0,
      maxOutputTokens: 150,
      maxRetries: 0,
    });
    expect(finishReason).toBe("stop");
    expect(Recipe.parse(object)).toEqual(object);
  });

  it("streamText streams what generateText answers", async () => {
    const settings = {
      model,
      prompt: "Tell me about rivers.",
      temperature: 0,
      maxOutputTokens: 16,
      maxRetries: 0,
    };
    const whole = await generateText(settings);
    const stream = streamText(settings);
    let text = "";
    let parts = 0;
    for await (const delta of stream.textStream) {
      text += delta;
      parts++;
    }
    expect(text).toBe(whole.text);
    expect(parts).toBeGreaterThan(1);
    expect((await stream.usage).outputTokens).toBe(whole.usage.outputTokens);
  });

  it("a tool call with toolChoice, generated and streamed", async () => {
    const settings = {
      model,
      tools: { weather },
      toolChoice: { type: "tool" as const, toolName: "weather" as const },
      prompt: "What is the weather in Rome?",
      temperature: 0,
      maxOutputTokens: 60,
      maxRetries: 0,
    };
    const whole = await generateText(settings);
    expect(whole.finishReason).toBe("tool-calls");
    expect(whole.toolCalls).toHaveLength(1);
    const call = whole.toolCalls[0];
    expect(call?.toolName).toBe("weather");
    expect(WeatherInput.parse(call?.input)).toEqual(call?.input);

    const stream = streamText(settings);
    const calls = await stream.toolCalls;
    expect(calls.map((c) => ({ name: c.toolName, input: c.input }))).toEqual([
      { name: "weather", input: call?.input },
    ]);
    expect(await stream.finishReason).toBe("tool-calls");
  });
});
