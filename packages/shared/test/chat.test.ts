import { describe, expect, it } from "vitest";
import {
  ApiError,
  chatCompletionChunkSchema,
  chatCompletionRequestSchema,
  chatCompletionSchema,
  parseRequest,
  unknownFields,
} from "../src/index.js";

const base = { model: "llama-3.2-1b-en", messages: [{ role: "user", content: "Hello" }] };

/** Requests shaped as the OpenAI SDK and LangChain send them. */
const accepted: Record<string, unknown> = {
  "plain streaming chat with include_usage": {
    messages: [
      { role: "system", content: "You are a helpful assistant." },
      { role: "user", content: "Say hi" },
    ],
    model: "llama-3.2-1b-en",
    stream: true,
    stream_options: { include_usage: true },
  },
  "every sampling parameter": {
    ...base,
    frequency_penalty: 0.5,
    logit_bias: { "128000": -100, "15339": 2.5 },
    logprobs: true,
    max_completion_tokens: 64,
    max_tokens: 32,
    n: 2,
    presence_penalty: -1.5,
    seed: 42,
    stop: ["\n\n", "User:"],
    temperature: 0,
    top_logprobs: 5,
    top_p: 0.9,
    top_k: 40,
    min_p: 0.05,
    repetition_penalty: 1.1,
    user: "user-1234",
  },
  "nulls for defaults (SDK types are T | null)": {
    ...base,
    temperature: null,
    max_tokens: null,
    stop: null,
    tools: null,
    response_format: null,
  },
  "array content with text and image parts": {
    model: "llama-3.2-1b-en",
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: "What is in this picture?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" } },
        ],
      },
    ],
  },
  "developer role and names": {
    model: "llama-3.2-1b-en",
    messages: [
      { role: "developer", content: [{ type: "text", text: "Answer briefly." }] },
      { role: "user", content: "Hi", name: "alice" },
    ],
  },
  "tools round trip (assistant tool_calls with null content, tool result)": {
    model: "llama-3.2-1b-en",
    messages: [
      { role: "user", content: "Weather in Paris?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_abc123",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_abc123", content: '{"temp_c":21}' },
    ],
    tools: [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Current weather for a city",
          parameters: {
            type: "object",
            properties: { city: { type: "string" } },
            required: ["city"],
            additionalProperties: false,
          },
          strict: true,
        },
      },
    ],
    tool_choice: { type: "function", function: { name: "get_weather" } },
    parallel_tool_calls: false,
  },
  "json_schema response format": {
    ...base,
    response_format: {
      type: "json_schema",
      json_schema: {
        name: "answer",
        schema: { type: "object", properties: { a: { type: "number" } } },
        strict: true,
      },
    },
  },
  "single stop string": { ...base, stop: "END" },
};

describe("chat completion request", () => {
  for (const [name, body] of Object.entries(accepted)) {
    it(`accepts ${name}`, () => {
      expect(parseRequest(chatCompletionRequestSchema, body)).toEqual(body);
    });
  }

  it("keeps unknown vendor fields so that the backend can reject them by name", () => {
    const body = { ...base, store: false, metadata: { a: "b" }, reasoning_effort: "low" };
    const parsed = parseRequest(chatCompletionRequestSchema, body);
    expect(parsed).toEqual(body);
    expect(unknownFields(chatCompletionRequestSchema, parsed)).toEqual([
      "store",
      "metadata",
      "reasoning_effort",
    ]);
    expect(
      unknownFields(chatCompletionRequestSchema, parseRequest(chatCompletionRequestSchema, base)),
    ).toEqual([]);
  });

  /** Each malformed body → the 400 param that must be named, and a fragment of the message. */
  const rejected: [string, unknown, string | null, string][] = [
    ["a JSON array body", [], null, "expected an object, got an array"],
    ["messages missing", { model: "m" }, "messages", "Missing required parameter: 'messages'"],
    ["model missing", { messages: base.messages }, "model", "Missing required parameter: 'model'"],
    [
      "messages not an array",
      { model: "m", messages: "hi" },
      "messages",
      'expected an array, got the string "hi"',
    ],
    ["messages empty", { model: "m", messages: [] }, "messages", "at least one message is required"],
    [
      "messages [123]",
      { model: "m", messages: [123] },
      "messages[0]",
      "expected an object, got the integer 123",
    ],
    [
      "messages [{}]",
      { model: "m", messages: [{}] },
      "messages[0].role",
      'expected one of "system", "developer", "user", "assistant", "tool", got nothing',
    ],
    [
      "a bad role",
      { model: "m", messages: [{ role: "robot", content: "x" }] },
      "messages[0].role",
      'expected one of "system", "developer", "user", "assistant", "tool", got the string "robot"',
    ],
    [
      "content of a bad type",
      { model: "m", messages: [{ role: "user", content: 42 }] },
      "messages[0].content",
      "expected a string or an array, got the integer 42",
    ],
    [
      "a content part of an unknown type",
      { model: "m", messages: [{ role: "user", content: [{ type: "video", video: {} }] }] },
      "messages[0].content[0].type",
      'expected one of "text", "image_url", "input_audio", got the string "video"',
    ],
    [
      "a text part without text",
      { model: "m", messages: [{ role: "user", content: [{ type: "text" }] }] },
      "messages[0].content[0].text",
      "Missing required parameter",
    ],
    [
      "a tool message without tool_call_id",
      { model: "m", messages: [{ role: "tool", content: "x" }] },
      "messages[0].tool_call_id",
      "Missing required parameter",
    ],
    ["negative max_tokens", { ...base, max_tokens: -5 }, "max_tokens", "must be >= 1"],
    [
      "fractional max_tokens",
      { ...base, max_tokens: 1.5 },
      "max_tokens",
      "expected an integer, got the number 1.5",
    ],
    ["temperature 3", { ...base, temperature: 3 }, "temperature", "must be <= 2"],
    ["temperature as a string", { ...base, temperature: "hot" }, "temperature", "expected a number"],
    ["top_p 1.5", { ...base, top_p: 1.5 }, "top_p", "must be <= 1"],
    ["presence_penalty -3", { ...base, presence_penalty: -3 }, "presence_penalty", "must be >= -2"],
    ["repetition_penalty 0", { ...base, repetition_penalty: 0 }, "repetition_penalty", "must be > 0"],
    ["n 0", { ...base, n: 0 }, "n", "must be >= 1"],
    ["n 129", { ...base, n: 129 }, "n", "must be <= 128"],
    ["seed 1.5", { ...base, seed: 1.5 }, "seed", "expected an integer"],
    ["top_logprobs 21", { ...base, top_logprobs: 21 }, "top_logprobs", "must be <= 20"],
    ["stop of 5 strings", { ...base, stop: ["a", "b", "c", "d", "e"] }, "stop", "at most 4 stop sequences"],
    ["stop of numbers", { ...base, stop: [1] }, "stop[0]", "expected a string, got the integer 1"],
    ["a non-numeric logit_bias key", { ...base, logit_bias: { abc: 1 } }, "logit_bias.abc", "token ids"],
    ["a logit_bias value of 101", { ...base, logit_bias: { "5": 101 } }, `logit_bias["5"]`, "must be <= 100"],
    ["stream not a boolean", { ...base, stream: "yes" }, "stream", "expected a boolean"],
    [
      "an unknown response_format type",
      { ...base, response_format: { type: "xml" } },
      "response_format.type",
      'expected one of "text", "json_object", "json_schema"',
    ],
    ["a bad tool_choice", { ...base, tool_choice: "always" }, "tool_choice", "always"],
    [
      "a tool without a function name",
      { ...base, tools: [{ type: "function", function: {} }] },
      "tools[0].function.name",
      "Missing required parameter",
    ],
  ];

  for (const [name, body, param, message] of rejected) {
    it(`rejects ${name}, naming ${param ?? "the body"}`, () => {
      let thrown: unknown;
      try {
        parseRequest(chatCompletionRequestSchema, body);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ApiError);
      const error = thrown as ApiError;
      expect(error.status).toBe(400);
      expect(error.type).toBe("invalid_request_error");
      expect(error.param).toBe(param);
      expect(error.message).toContain(message);
      if (param) expect(error.message).toContain(`'${param}'`);
    });
  }
});

describe("chat completion response and chunk", () => {
  it("accepts a response with usage and logprobs", () => {
    const response = {
      id: "chatcmpl-1",
      choices: [
        {
          finish_reason: "stop",
          index: 0,
          logprobs: {
            content: [
              {
                token: "Hi",
                logprob: -0.1,
                bytes: [72, 105],
                top_logprobs: [{ token: "Hi", logprob: -0.1, bytes: [72, 105] }],
              },
            ],
          },
          message: { content: "Hi", role: "assistant" },
        },
      ],
      created: 1_700_000_000,
      model: "llama-3.2-1b-en",
      object: "chat.completion",
      usage: { completion_tokens: 1, prompt_tokens: 9, total_tokens: 10 },
    };
    expect(chatCompletionSchema.parse(response)).toEqual(response);
    expect(chatCompletionSchema.safeParse({ ...response, object: "chat.completion.chunk" }).success).toBe(
      false,
    );
    expect(chatCompletionSchema.safeParse({ ...response, usage: undefined }).success).toBe(false);
  });

  it("accepts role, content, finish and usage chunks (the usage chunk has choices: [])", () => {
    const head = { id: "chatcmpl-1", created: 1_700_000_000, model: "m", object: "chat.completion.chunk" };
    const chunks = [
      { ...head, choices: [{ delta: { role: "assistant", content: "" }, finish_reason: null, index: 0 }] },
      { ...head, choices: [{ delta: { content: "Hi" }, finish_reason: null, index: 0 }] },
      { ...head, choices: [{ delta: {}, finish_reason: "length", index: 0 }] },
      { ...head, choices: [], usage: { completion_tokens: 1, prompt_tokens: 2, total_tokens: 3 } },
    ];
    for (const chunk of chunks) expect(chatCompletionChunkSchema.parse(chunk)).toEqual(chunk);
    expect(
      chatCompletionChunkSchema.safeParse({
        ...head,
        choices: [{ delta: {}, finish_reason: "done", index: 0 }],
      }).success,
    ).toBe(false);
  });
});
