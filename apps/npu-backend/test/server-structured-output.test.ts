/**
 * Structured output and tool calls through the official `openai` client, on the real engine with
 * the tiny random-weight model: whatever such a model "wants" to say, the grammar makes the answer
 * valid JSON of the schema (checked with ajv), or a valid call of the tools. Streams are compared
 * with the one-body answer at temperature 0, tool call deltas with OpenAI's shape.
 */
import { Ajv } from "ajv";
import OpenAI from "openai";
import type { ChatCompletionChunk, ChatCompletionTool } from "openai/resources/chat/completions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../src/server/backend.js";
import { scrape, startTestBackend } from "./server-harness.js";

let backend: Backend;
let client: OpenAI;
const MODEL = "tiny-en";
const messages = [{ role: "user" as const, content: "Describe a person, please." }];
const ajv = new Ajv({ strict: false });

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

const streamedText = (chunks: ChatCompletionChunk[]) =>
  chunks
    .flatMap((c) => c.choices)
    .map((c) => c.delta.content ?? "")
    .join("");

const personSchema = {
  type: "object",
  properties: {
    person: {
      type: "object",
      properties: {
        name: { type: "string", minLength: 1, maxLength: 12 },
        age: { type: "integer", minimum: 18, maximum: 99 },
        role: { enum: ["admin", "editor", "viewer"] },
      },
      required: ["name", "age", "role"],
      additionalProperties: false,
    },
    tags: { type: "array", items: { type: "string", enum: ["red", "green", "blue"] }, maxItems: 3 },
    scores: { type: "array", items: { type: "integer", minimum: -5, maximum: 5 }, minItems: 1, maxItems: 3 },
    active: { type: "boolean" },
  },
  required: ["person", "tags", "scores", "active"],
  additionalProperties: false,
};

describe("response_format", () => {
  it("json_object: a JSON object, streamed exactly as answered", async () => {
    const request = {
      model: MODEL,
      messages,
      temperature: 0,
      max_tokens: 80,
      response_format: { type: "json_object" as const },
    };
    const r = await client.chat.completions.create(request);
    const choice = r.choices[0];
    expect(choice?.finish_reason).toBe("stop");
    const value = JSON.parse(choice?.message.content ?? "");
    expect(typeof value === "object" && value !== null && !Array.isArray(value)).toBe(true);
    const chunks = await collect(await client.chat.completions.create({ ...request, stream: true }));
    expect(streamedText(chunks)).toBe(choice?.message.content);
  });

  for (const strict of [true, false]) {
    it(`json_schema (strict ${strict}): nested objects, arrays, enums, integer bounds, required, no extra properties`, async () => {
      const request = {
        model: MODEL,
        messages,
        temperature: 0,
        max_tokens: 200,
        response_format: {
          type: "json_schema" as const,
          json_schema: { name: "person", schema: personSchema, strict },
        },
      };
      const r = await client.chat.completions.create(request);
      const choice = r.choices[0];
      expect(choice?.finish_reason).toBe("stop");
      const value = JSON.parse(choice?.message.content ?? "");
      const validate = ajv.compile(personSchema);
      expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
      const chunks = await collect(await client.chat.completions.create({ ...request, stream: true }));
      expect(streamedText(chunks)).toBe(choice?.message.content);
      expect(chunks.at(-1)?.usage?.completion_tokens).toBe(r.usage?.completion_tokens);
    });
  }

  it("seeded sampling at temperature 1 stays inside the schema", async () => {
    const validate = ajv.compile(personSchema);
    let checked = 0;
    for (const seed of [1, 2, 3]) {
      const r = await client.chat.completions.create({
        model: MODEL,
        messages,
        seed,
        temperature: 1,
        max_tokens: 200,
        response_format: {
          type: "json_schema",
          json_schema: { name: "person", schema: personSchema, strict: true },
        },
      });
      const choice = r.choices[0];
      if (choice?.finish_reason !== "stop") continue; // a long string may run out of tokens
      expect(validate(JSON.parse(choice.message.content ?? "")), choice.message.content ?? "").toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });

  it("n = 2: each choice has its own grammar state and is valid", async () => {
    const r = await client.chat.completions.create({
      model: MODEL,
      messages,
      n: 2,
      seed: 7,
      temperature: 1,
      max_tokens: 200,
      response_format: {
        type: "json_schema",
        json_schema: { name: "person", schema: personSchema, strict: true },
      },
    });
    expect(r.choices).toHaveLength(2);
    const validate = ajv.compile(personSchema);
    for (const choice of r.choices) {
      if (choice.finish_reason !== "stop") continue;
      expect(validate(JSON.parse(choice.message.content ?? "")), choice.message.content ?? "").toBe(true);
    }
    expect(r.choices.some((c) => c.finish_reason === "stop")).toBe(true);
  });

  it("Chinese strings come through intact, streamed and not", async () => {
    const schema = {
      type: "object",
      properties: {
        city: { enum: ["北京", "上海", "深圳", "广州"] },
        note: { type: "string", maxLength: 6 },
      },
      required: ["city", "note"],
      additionalProperties: false,
    };
    const request = {
      model: MODEL,
      messages: [{ role: "user" as const, content: "你住在哪个城市？" }],
      temperature: 0,
      max_tokens: 60,
      response_format: { type: "json_schema" as const, json_schema: { name: "city", schema, strict: true } },
    };
    const r = await client.chat.completions.create(request);
    const content = r.choices[0]?.message.content ?? "";
    expect(content).not.toContain("\uFFFD");
    const value = JSON.parse(content);
    expect(["北京", "上海", "深圳", "广州"]).toContain(value.city);
    expect(ajv.compile(schema)(value)).toBe(true);
    const chunks = await collect(await client.chat.completions.create({ ...request, stream: true }));
    expect(streamedText(chunks)).toBe(content);
  });

  it("a schema the grammar engine cannot compile is a 400 naming response_format", async () => {
    const error = await client.chat.completions
      .create({
        model: MODEL,
        messages,
        response_format: {
          type: "json_schema",
          json_schema: { name: "x", schema: { type: "object", properties: { a: { $ref: "#/nowhere" } } } },
        },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe(
      "response_format.json_schema.schema",
    );
    // And the server keeps serving constrained requests.
    const r = await client.chat.completions.create({
      model: MODEL,
      messages,
      temperature: 0,
      max_tokens: 40,
      response_format: { type: "json_object" },
    });
    expect(() => JSON.parse(r.choices[0]?.message.content ?? "")).not.toThrow();
  });
});

const weatherParams = {
  type: "object",
  properties: {
    city: { type: "string", minLength: 1, maxLength: 12 },
    unit: { enum: ["celsius", "fahrenheit"] },
    days: { type: "integer", minimum: 1, maximum: 7 },
  },
  required: ["city", "unit", "days"],
  additionalProperties: false,
};
const timeParams = {
  type: "object",
  properties: { zone: { enum: ["UTC", "CET", "PST"] } },
  required: ["zone"],
  additionalProperties: false,
};
const tools: ChatCompletionTool[] = [
  {
    type: "function",
    function: { name: "get_weather", description: "Weather forecast", parameters: weatherParams },
  },
  {
    type: "function",
    function: { name: "get_time", description: "The time in a zone", parameters: timeParams },
  },
];
const paramsOf: Record<string, object> = { get_weather: weatherParams, get_time: timeParams };
const weatherQuestion = [{ role: "user" as const, content: "What is the weather in Paris?" }];

function expectValidCalls(
  calls: { type: string; function?: { name: string; arguments: string } }[] | undefined,
) {
  expect(calls?.length ?? 0).toBeGreaterThan(0);
  for (const call of calls ?? []) {
    expect(call.type).toBe("function");
    const name = call.function?.name as string;
    expect(Object.keys(paramsOf)).toContain(name);
    const validate = ajv.compile(paramsOf[name] as object);
    expect(validate(JSON.parse(call.function?.arguments as string)), JSON.stringify(validate.errors)).toBe(
      true,
    );
  }
}

describe("tools", () => {
  it("tool_choice required: a valid call of one of the tools, finish_reason tool_calls, no content", async () => {
    const r = await client.chat.completions.create({
      model: MODEL,
      messages: weatherQuestion,
      tools,
      tool_choice: "required",
      parallel_tool_calls: false,
      temperature: 0,
      max_tokens: 100,
    });
    const choice = r.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    expect(choice?.message.content).toBeNull();
    expect(choice?.message.tool_calls).toHaveLength(1);
    expectValidCalls(choice?.message.tool_calls as never);
    expect(choice?.message.tool_calls?.[0]?.id).toMatch(/^call_/);
  });

  it("a named tool_choice calls exactly that function, also at temperature 1", async () => {
    for (const seed of [0, 1, 2]) {
      const r = await client.chat.completions.create({
        model: MODEL,
        messages: weatherQuestion,
        tools,
        tool_choice: { type: "function", function: { name: "get_time" } },
        temperature: 1,
        seed,
        max_tokens: 60,
      });
      const calls = r.choices[0]?.message.tool_calls;
      expect(r.choices[0]?.finish_reason).toBe("tool_calls");
      expect(calls?.map((c) => (c.type === "function" ? c.function.name : ""))).toEqual(["get_time"]);
      expectValidCalls(calls as never);
    }
  });

  it("parallel_tool_calls with required: every call valid", async () => {
    const r = await client.chat.completions.create({
      model: MODEL,
      messages: weatherQuestion,
      tools,
      tool_choice: "required",
      temperature: 0,
      max_tokens: 200,
    });
    if (r.choices[0]?.finish_reason === "length") return; // calls may go on until max_tokens
    expect(r.choices[0]?.finish_reason).toBe("tool_calls");
    expectValidCalls(r.choices[0]?.message.tool_calls as never);
  });

  it("tool_choice none: text, no calls, and the tools are not in the prompt; auto: text or valid calls", async () => {
    const none = await client.chat.completions.create({
      model: MODEL,
      messages: weatherQuestion,
      tools,
      tool_choice: "none",
      temperature: 0,
      max_tokens: 20,
    });
    expect(none.choices[0]?.message.tool_calls ?? []).toHaveLength(0);
    expect(none.choices[0]?.finish_reason).not.toBe("tool_calls");
    const plain = await client.chat.completions.create({
      model: MODEL,
      messages: weatherQuestion,
      max_tokens: 1,
    });
    expect(none.usage?.prompt_tokens).toBe(plain.usage?.prompt_tokens);

    const auto = await client.chat.completions.create({
      model: MODEL,
      messages: weatherQuestion,
      tools,
      temperature: 0,
      max_tokens: 40,
    });
    // The tools are rendered into the prompt by the chat template.
    expect(auto.usage?.prompt_tokens).toBeGreaterThan((plain.usage?.prompt_tokens ?? 0) + 50);
    const message = auto.choices[0]?.message;
    if (message?.tool_calls && message.tool_calls.length > 0) expectValidCalls(message.tool_calls as never);
    else expect(typeof message?.content).toBe("string");
  });

  it("streams calls as OpenAI does: a first delta with id, type, name and empty arguments, then fragments that add up", async () => {
    const request = {
      model: MODEL,
      messages: weatherQuestion,
      tools,
      tool_choice: "required" as const,
      parallel_tool_calls: false,
      temperature: 0,
      max_tokens: 100,
    };
    const whole = await client.chat.completions.create(request);
    const expected = whole.choices[0]?.message.tool_calls?.[0];
    const response = await fetch(`${backend.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...request, stream: true }),
    });
    const events = (await response.text())
      .split("\n\n")
      .filter((e) => e.startsWith("data: "))
      .map((e) => e.slice(6));
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as ChatCompletionChunk);
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(whole.usage?.completion_tokens);
    const deltas = chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? []));
    expect(deltas.length).toBeGreaterThan(1);
    const [first, ...rest] = deltas;
    expect(first).toEqual({
      index: 0,
      id: expect.stringMatching(/^call_/),
      type: "function",
      function: { name: expected?.type === "function" ? expected.function.name : "", arguments: "" },
    });
    for (const d of rest) expect(Object.keys(d).sort()).toEqual(["function", "index"]);
    expect(rest.map((d) => d.function?.arguments ?? "").join("")).toBe(
      expected?.type === "function" ? expected.function.arguments : undefined,
    );
    const finish = chunks.flatMap((c) => c.choices).find((c) => c.finish_reason !== null);
    expect(finish?.finish_reason).toBe("tool_calls");
    expect(chunks.flatMap((c) => c.choices).every((c) => !c.delta.content)).toBe(true);
  });

  it("a tool call and its result round-trip through the chat template", async () => {
    const first = await client.chat.completions.create({
      model: MODEL,
      messages: weatherQuestion,
      tools,
      tool_choice: { type: "function", function: { name: "get_weather" } },
      temperature: 0,
      max_tokens: 60,
    });
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(call).toBeDefined();
    const followUp = await client.chat.completions.create({
      model: MODEL,
      messages: [
        ...weatherQuestion,
        first.choices[0]?.message as OpenAI.ChatCompletionMessageParam,
        { role: "tool", tool_call_id: call?.id as string, content: JSON.stringify({ temperature: 21 }) },
      ],
      tools,
      tool_choice: "none",
      temperature: 0,
      max_tokens: 8,
    });
    expect(followUp.choices[0]?.message.content).toEqual(expect.any(String));
    // The history (call and result) is in the prompt: it is longer than the question alone.
    const alone = await client.chat.completions.create({
      model: MODEL,
      messages: weatherQuestion,
      max_tokens: 1,
    });
    expect(followUp.usage?.prompt_tokens).toBeGreaterThan((alone.usage?.prompt_tokens ?? 0) + 20);
    const model = backend.models.models[0];
    const rendered = model?.chatTemplate.render([
      ...weatherQuestion,
      {
        role: "assistant",
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city": "Paris"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: '{"temperature": 21}' },
    ]);
    expect(rendered).toContain(
      '<|start_header_id|>assistant<|end_header_id|>\n\n{"name": "get_weather", "parameters": {"city": "Paris"}}<|eot_id|>',
    );
    expect(rendered).toContain("<|start_header_id|>ipython<|end_header_id|>\n\n");
    // Parallel calls in the history: one assistant turn per call (Llama 3.2's template takes one).
    const second = { ...call, id: "call_2" } as OpenAI.ChatCompletionMessageToolCall;
    const parallel = [
      ...weatherQuestion,
      { role: "assistant" as const, tool_calls: [call, second] as OpenAI.ChatCompletionMessageToolCall[] },
      { role: "tool" as const, tool_call_id: call?.id as string, content: "21" },
      { role: "tool" as const, tool_call_id: "call_2", content: "22" },
    ];
    const two = await client.chat.completions.create({ model: MODEL, messages: parallel, max_tokens: 2 });
    const one = await client.chat.completions.create({
      model: MODEL,
      messages: [...parallel.slice(0, 1), { ...parallel[1], tool_calls: [call] }, parallel[2]] as never,
      max_tokens: 2,
    });
    expect(two.usage?.prompt_tokens).toBeGreaterThan((one.usage?.prompt_tokens ?? 0) + 10);
  });
});

describe("metrics", () => {
  it("counts grammar cache hits and misses, compile and mask time", async () => {
    const schema = {
      type: "object",
      properties: { ok: { type: "boolean" } },
      required: ["ok"],
      additionalProperties: false,
    };
    const request = {
      model: MODEL,
      messages,
      max_tokens: 10,
      response_format: { type: "json_schema" as const, json_schema: { name: "m", schema } },
    };
    const labels = { model_name: MODEL };
    const before = {
      hits: (await scrape(backend, "gearbox:grammar_cache_hits_total", labels)) ?? 0,
      misses: (await scrape(backend, "gearbox:grammar_cache_misses_total", labels)) ?? 0,
      masks: (await scrape(backend, "gearbox:grammar_masks_total", labels)) ?? 0,
    };
    await client.chat.completions.create(request);
    await client.chat.completions.create(request);
    expect(await scrape(backend, "gearbox:grammar_cache_misses_total", labels)).toBe(before.misses + 1);
    expect(await scrape(backend, "gearbox:grammar_cache_hits_total", labels)).toBe(before.hits + 1);
    expect(await scrape(backend, "gearbox:grammar_masks_total", labels)).toBeGreaterThan(before.masks + 4);
    expect(await scrape(backend, "gearbox:grammar_compile_seconds_total", labels)).toBeGreaterThan(0);
    expect(await scrape(backend, "gearbox:grammar_cache_entries", labels)).toBeGreaterThan(0);
  });
});
