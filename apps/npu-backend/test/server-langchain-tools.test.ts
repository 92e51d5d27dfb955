/**
 * LangChain's ChatOpenAI against the real backend with structured output and tools:
 * withStructuredOutput (jsonSchema and functionCalling), bindTools with tool_choice (invoke and
 * stream give the same calls), and one agent turn — call, run the tool, answer with its result.
 * The model has random weights: the grammar alone makes its answers parse.
 */
import { AIMessage, type AIMessageChunk, HumanMessage, ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { ChatOpenAI } from "@langchain/openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
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
    maxTokens: 120,
    maxRetries: 0,
    ...fields,
  });
}

const Person = z.object({
  name: z.string().min(1).max(12),
  age: z.number().int().min(0).max(120),
  color: z.enum(["red", "green", "blue"]),
});

const weatherArgs = z.object({
  city: z.string().min(1).max(12),
  unit: z.enum(["celsius", "fahrenheit"]),
});
const getWeather = tool(async ({ city, unit }) => `It is 21 degrees ${unit} in ${city}.`, {
  name: "get_weather",
  description: "The current weather in a city",
  schema: weatherArgs,
});
const getTime = tool(async ({ zone }) => `It is noon in ${zone}.`, {
  name: "get_time",
  description: "The time in a zone",
  schema: z.object({ zone: z.enum(["UTC", "CET"]) }),
});

describe("withStructuredOutput", () => {
  for (const method of ["jsonSchema", "functionCalling"] as const) {
    it(`method ${method}: a parsed object of the schema`, async () => {
      const structured = chat().withStructuredOutput(Person, { method, name: "person" });
      const person = await structured.invoke("Invent a person.");
      expect(Person.parse(person)).toEqual(person);
    });
  }
});

describe("bindTools", () => {
  it("tool_choice required: invoke and stream give the same valid call", async () => {
    const model = chat().bindTools([getWeather, getTime], {
      tool_choice: "required",
      parallel_tool_calls: false,
    });
    const message = await model.invoke("What is the weather in Lima?");
    expect(message.tool_calls).toHaveLength(1);
    const call = message.tool_calls?.[0];
    expect(["get_weather", "get_time"]).toContain(call?.name);
    if (call?.name === "get_weather") expect(weatherArgs.parse(call.args)).toEqual(call.args);
    expect(call?.id).toMatch(/^call_/);

    let merged: AIMessageChunk | undefined;
    let chunks = 0;
    for await (const chunk of await model.stream("What is the weather in Lima?")) {
      merged = merged ? merged.concat(chunk) : chunk;
      chunks++;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(merged?.tool_calls?.map((c) => ({ name: c.name, args: c.args }))).toEqual([
      { name: call?.name, args: call?.args },
    ]);
  });

  it("a named tool_choice, then the tool's result answered in a second turn (one agent step)", async () => {
    const model = chat().bindTools([getWeather, getTime], { tool_choice: "get_weather" });
    const question = new HumanMessage("What is the weather in Oslo?");
    const ai = await model.invoke([question]);
    const call = ai.tool_calls?.[0];
    expect(call?.name).toBe("get_weather");
    const result = await getWeather.invoke(call as never);
    expect(result).toBeInstanceOf(ToolMessage);
    const answer = await chat({ maxTokens: 10 })
      .bindTools([getWeather, getTime], { tool_choice: "none" })
      .invoke([question, ai, result]);
    expect(answer).toBeInstanceOf(AIMessage);
    expect(answer.tool_calls ?? []).toHaveLength(0);
    expect(typeof answer.content).toBe("string");
  });
});
