/**
 * Invalid requests of every kind (after llama.cpp's server tests, plus what this server does not
 * implement) get a 4xx in the OpenAI error shape naming the field, and the server keeps serving.
 */
import { errorBodySchema } from "@gearbox/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../src/server/backend.js";
import { json, startTestBackend } from "./server-harness.js";

let backend: Backend;
beforeAll(async () => {
  backend = await startTestBackend({ limits: { maxBodyBytes: 64 * 1024 } });
});
afterAll(async () => {
  await backend?.shutdown(0);
});

const user = [{ role: "user", content: "hi" }];

async function send(path: string, body: string, init: RequestInit = {}) {
  const response = await fetch(`${backend.url}${path}`, { method: "POST", body, ...init });
  return { status: response.status, json: await json(response) };
}

async function stillServes(): Promise<void> {
  const { status, json } = await send(
    "/v1/chat/completions",
    JSON.stringify({ model: "tiny-en", messages: user, max_tokens: 2 }),
  );
  expect(status).toBe(200);
  expect(json.choices[0].message.role).toBe("assistant");
}

// [body, expected param (null: none), code]
const CHAT_CASES: [string, unknown, string | null, string][] = [
  ["malformed JSON", '{"model": "tiny-en", "messages": [', null, "invalid_json"],
  ["a JSON array", "[]", null, "invalid_value"],
  ["a JSON number", "123", null, "invalid_value"],
  ["null", "null", null, "invalid_value"],
  ["messages missing", { model: "tiny-en" }, "messages", "invalid_value"],
  ["messages not an array", { model: "tiny-en", messages: "hello" }, "messages", "invalid_value"],
  ["messages empty", { model: "tiny-en", messages: [] }, "messages", "invalid_value"],
  [
    "a 257-character stop string (limits.maxStopLength)",
    { model: "tiny-en", messages: user, stop: "y".repeat(257) },
    "stop",
    "invalid_value",
  ],
  ["[123]", { model: "tiny-en", messages: [123] }, "messages[0]", "invalid_value"],
  ["[{}]", { model: "tiny-en", messages: [{}] }, "messages[0].role", "invalid_value"],
  [
    "content missing",
    { model: "tiny-en", messages: [{ role: "user" }] },
    "messages[0].content",
    "invalid_value",
  ],
  [
    "a bad role",
    { model: "tiny-en", messages: [{ role: "robot", content: "x" }] },
    "messages[0].role",
    "invalid_value",
  ],
  [
    "content a number",
    { model: "tiny-en", messages: [{ role: "user", content: 123 }] },
    "messages[0].content",
    "invalid_value",
  ],
  [
    "an unknown content part",
    { model: "tiny-en", messages: [{ role: "user", content: [{ type: "video", video: "x" }] }] },
    "messages[0].content[0].type",
    "invalid_value",
  ],
  [
    "an image part",
    {
      model: "tiny-en",
      messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:," } }] }],
    },
    "messages[0].content[0]",
    "unsupported_parameter",
  ],
  ["model missing", { messages: user }, "model", "invalid_value"],
  [
    "negative max_tokens",
    { model: "tiny-en", messages: user, max_tokens: -1 },
    "max_tokens",
    "invalid_value",
  ],
  ["zero max_tokens", { model: "tiny-en", messages: user, max_tokens: 0 }, "max_tokens", "invalid_value"],
  ["temperature 5", { model: "tiny-en", messages: user, temperature: 5 }, "temperature", "invalid_value"],
  ["n 0", { model: "tiny-en", messages: user, n: 0 }, "n", "invalid_value"],
  ["n beyond the running limit", { model: "tiny-en", messages: user, n: 17 }, "n", "invalid_value"],
  [
    "5 stop strings",
    { model: "tiny-en", messages: user, stop: ["a", "b", "c", "d", "e"] },
    "stop",
    "invalid_value",
  ],
  ["an empty stop string", { model: "tiny-en", messages: user, stop: "" }, "stop", "invalid_value"],
  [
    "logit_bias keys not ids",
    { model: "tiny-en", messages: user, logit_bias: { abc: 1 } },
    "logit_bias.abc",
    "invalid_value",
  ],
  [
    "logit_bias beyond the vocabulary",
    { model: "tiny-en", messages: user, logit_bias: { "999999": 1 } },
    "logit_bias",
    "invalid_value",
  ],
  [
    "top_logprobs without logprobs",
    { model: "tiny-en", messages: user, top_logprobs: 2 },
    "top_logprobs",
    "invalid_value",
  ],
  ["stream not a boolean", { model: "tiny-en", messages: user, stream: "yes" }, "stream", "invalid_value"],
  [
    "an unknown parameter",
    { model: "tiny-en", messages: user, store: true },
    "store",
    "unsupported_parameter",
  ],
  [
    "response_format json_schema with an invalid schema",
    {
      model: "tiny-en",
      messages: user,
      response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "foo" } } },
    },
    "response_format.json_schema.schema",
    "invalid_value",
  ],
  [
    "response_format json_schema with a schema the grammar engine refuses",
    {
      model: "tiny-en",
      messages: user,
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "x",
          schema: { type: "object", properties: { a: { $ref: "#/$defs/missing" } } },
        },
      },
    },
    "response_format.json_schema.schema",
    "invalid_value",
  ],
  [
    "response_format json_schema without a name",
    { model: "tiny-en", messages: user, response_format: { type: "json_schema", json_schema: {} } },
    "response_format.json_schema.name",
    "invalid_value",
  ],
  [
    "tool_choice required without tools",
    { model: "tiny-en", messages: user, tool_choice: "required" },
    "tool_choice",
    "invalid_value",
  ],
  [
    "tool_choice naming an unknown tool",
    {
      model: "tiny-en",
      messages: user,
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            parameters: { type: "object", properties: { city: { type: "string" } } },
          },
        },
      ],
      tool_choice: { type: "function", function: { name: "get_time" } },
    },
    "tool_choice",
    "invalid_value",
  ],
  [
    "a tool without a function",
    { model: "tiny-en", messages: user, tools: [{ type: "function" }] },
    "tools[0].function",
    "invalid_value",
  ],
  [
    "a tool name with spaces",
    { model: "tiny-en", messages: user, tools: [{ type: "function", function: { name: "get weather" } }] },
    "tools[0].function.name",
    "invalid_value",
  ],
  [
    "tool parameters that are not an object schema",
    {
      model: "tiny-en",
      messages: user,
      tools: [{ type: "function", function: { name: "f", parameters: { type: "string" } } }],
    },
    "tools[0].function.parameters",
    "invalid_value",
  ],
  [
    "tool parameters that are not a JSON schema",
    {
      model: "tiny-en",
      messages: user,
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object", required: "a" } } }],
    },
    "tools[0].function.parameters",
    "invalid_value",
  ],
  [
    "the same tool twice",
    {
      model: "tiny-en",
      messages: user,
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            parameters: { type: "object", properties: { city: { type: "string" } } },
          },
        },
        {
          type: "function",
          function: {
            name: "get_weather",
            parameters: { type: "object", properties: { city: { type: "string" } } },
          },
        },
      ],
    },
    "tools",
    "invalid_value",
  ],
  [
    "a JSON response_format together with tools",
    {
      model: "tiny-en",
      messages: user,
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            parameters: { type: "object", properties: { city: { type: "string" } } },
          },
        },
      ],
      response_format: { type: "json_object" },
    },
    "response_format",
    "invalid_value",
  ],
  [
    "logprobs together with tools",
    {
      model: "tiny-en",
      messages: user,
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            parameters: { type: "object", properties: { city: { type: "string" } } },
          },
        },
      ],
      logprobs: true,
    },
    "logprobs",
    "unsupported_parameter",
  ],
  [
    "a prompt too long for the context",
    { model: "tiny-en", messages: [{ role: "user", content: "word ".repeat(1100) }] },
    "messages",
    "context_length_exceeded",
  ],
];

describe("invalid chat requests", () => {
  for (const [name, body, param, code] of CHAT_CASES) {
    it(`${name}: 400 ${code}${param ? ` naming ${param}` : ""}`, async () => {
      const { status, json } = await send(
        "/v1/chat/completions",
        typeof body === "string" ? body : JSON.stringify(body),
      );
      expect(status).toBe(400);
      expect(errorBodySchema.parse(json)).toEqual(json);
      expect(json.error).toMatchObject({ type: "invalid_request_error", code, param });
    });
  }

  it("keeps serving after all of them", stillServes);
});

const COMPLETION_CASES: [string, unknown, string | null, string][] = [
  ["prompt missing", { model: "tiny-en" }, "prompt", "invalid_value"],
  ["an empty prompt batch", { model: "tiny-en", prompt: [] }, "prompt", "invalid_value"],
  ["a negative token id", { model: "tiny-en", prompt: [[-1]] }, "prompt[0][0]", "invalid_value"],
  ["a token id beyond the vocabulary", { model: "tiny-en", prompt: [1, 999999] }, "prompt", "invalid_value"],
  ["suffix", { model: "tiny-en", prompt: "a", suffix: "b" }, "suffix", "unsupported_parameter"],
  ["best_of other than n", { model: "tiny-en", prompt: "a", best_of: 3 }, "best_of", "unsupported_parameter"],
  [
    "echo with logprobs",
    { model: "tiny-en", prompt: "a", echo: true, logprobs: 1 },
    "echo",
    "unsupported_parameter",
  ],
  ["logprobs 6", { model: "tiny-en", prompt: "a", logprobs: 6 }, "logprobs", "invalid_value"],
  // limits.maxChoicesPerRequest (32 by default) bounds prompts x n.
  [
    "9 prompts x n=4",
    { model: "tiny-en", prompt: Array.from({ length: 9 }, () => "a"), n: 4, max_tokens: 1 },
    "prompt",
    "invalid_value",
  ],
  [
    "200 token-id prompts",
    { model: "tiny-en", prompt: Array.from({ length: 200 }, () => [1, 2]), max_tokens: 1 },
    "prompt",
    "invalid_value",
  ],
  // limits.maxStopLength (256 by default) bounds each stop string.
  [
    "a 257-character stop string",
    { model: "tiny-en", prompt: "a", stop: ["x".repeat(257)] },
    "stop",
    "invalid_value",
  ],
];

describe("invalid legacy completion requests", () => {
  for (const [name, body, param, code] of COMPLETION_CASES) {
    it(`${name}: 400 ${code} naming ${param}`, async () => {
      const { status, json } = await send("/v1/completions", JSON.stringify(body));
      expect(status).toBe(400);
      expect(json.error).toMatchObject({ type: "invalid_request_error", code, param });
    });
  }

  it("keeps serving after all of them", stillServes);
});

describe("other refusals", () => {
  it("400 naming n for more choices than limits.maxChoicesPerRequest (32), before any work", async () => {
    for (const [path, body] of [
      ["/v1/chat/completions", { model: "tiny-en", messages: user, n: 33, max_tokens: 1 }],
      ["/v1/completions", { model: "tiny-en", prompt: "a", n: 33, max_tokens: 1 }],
    ] as const) {
      const { status, json } = await send(path, JSON.stringify(body));
      expect(status).toBe(400);
      expect(json.error).toMatchObject({ type: "invalid_request_error", param: "n" });
      expect(json.error.message).toContain("at most 32 per request");
    }
  });

  it("413 for a body over the limit, with or without content-length", async () => {
    const big = JSON.stringify({
      model: "tiny-en",
      messages: [{ role: "user", content: "x".repeat(70 * 1024) }],
    });
    const sized = await send("/v1/chat/completions", big);
    expect(sized.status).toBe(413);
    expect(sized.json.error.code).toBe("request_too_large");
    const chunked = await send("/v1/chat/completions", "", {
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(big));
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
    await stillServes();
  });

  it("404 model_not_found for an unknown model, 404 unknown_url for an unknown route", async () => {
    const model = await send("/v1/chat/completions", JSON.stringify({ model: "nope", messages: user }));
    expect(model.status).toBe(404);
    expect(model.json.error).toMatchObject({ code: "model_not_found", param: "model" });
    const route = await fetch(`${backend.url}/v1/embeddings`, { method: "POST", body: "{}" });
    expect(route.status).toBe(404);
    expect((await json(route)).error.code).toBe("unknown_url");
    const method = await fetch(`${backend.url}/v1/chat/completions`);
    expect(method.status).toBe(404);
  });

  it("lists the models, echoes x-request-id, reports x-gearbox-inflight", async () => {
    const response = await fetch(`${backend.url}/v1/models`, { headers: { "x-request-id": "edge-req-42" } });
    expect(response.headers.get("x-request-id")).toBe("edge-req-42");
    expect(response.headers.get("x-gearbox-inflight")).toBe("0");
    const list = await json(response);
    expect(list).toMatchObject({
      object: "list",
      data: [{ id: "tiny-en", object: "model", owned_by: "gearbox" }, { id: "auto" }],
    });
  });
});
