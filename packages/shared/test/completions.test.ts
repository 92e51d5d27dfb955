import { describe, expect, it } from "vitest";
import {
  ApiError,
  completionChunkSchema,
  completionRequestSchema,
  completionSchema,
  modelListSchema,
  parseRequest,
} from "../src/index.js";

const base = { model: "llama-3.2-1b-en", prompt: "Once upon a time" };

describe("legacy completion request", () => {
  const accepted: Record<string, unknown> = {
    "a text prompt with every legacy parameter": {
      ...base,
      best_of: 1,
      echo: true,
      frequency_penalty: 0,
      logit_bias: { "50256": -100 },
      logprobs: 2,
      max_tokens: 16,
      n: 1,
      presence_penalty: 0,
      seed: 7,
      stop: "\n",
      stream: true,
      stream_options: { include_usage: true },
      suffix: null,
      temperature: 0.2,
      top_p: 1,
      user: "u",
    },
    "a batch of texts": { ...base, prompt: ["a", "b"] },
    "token ids": { ...base, prompt: [128000, 9906, 1917] },
    "a batch of token-id lists": { ...base, prompt: [[128000, 1], [2]] },
    "an empty text prompt": { ...base, prompt: "" },
  };
  for (const [name, body] of Object.entries(accepted)) {
    it(`accepts ${name}`, () => {
      expect(parseRequest(completionRequestSchema, body)).toEqual(body);
    });
  }

  const rejected: [string, unknown, string, string][] = [
    ["a missing prompt", { model: "m" }, "prompt", "Missing required parameter: 'prompt'"],
    ["an object prompt", { ...base, prompt: { text: "x" } }, "prompt", "got an object"],
    ["an empty token list", { ...base, prompt: [] }, "prompt", "must not be empty"],
    ["negative token ids", { ...base, prompt: [1, -2] }, "prompt[1]", "must be >= 0"],
    ["a mixed batch", { ...base, prompt: ["a", 1] }, "prompt[1]", "expected a string"],
    ["logprobs as a boolean", { ...base, logprobs: true }, "logprobs", "expected a number, got a boolean"],
    ["logprobs 6", { ...base, logprobs: 6 }, "logprobs", "must be <= 5"],
    ["best_of 0", { ...base, best_of: 0 }, "best_of", "must be >= 1"],
    ["echo not a boolean", { ...base, echo: 1 }, "echo", "expected a boolean"],
  ];
  for (const [name, body, param, message] of rejected) {
    it(`rejects ${name}, naming ${param}`, () => {
      const error = (() => {
        try {
          parseRequest(completionRequestSchema, body);
        } catch (thrown) {
          return thrown;
        }
      })();
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).param).toBe(param);
      expect((error as ApiError).message).toContain(message);
    });
  }
});

describe("legacy completion response, chunk and model list", () => {
  it("accepts the shapes the backend sends", () => {
    const completion = {
      id: "cmpl-1",
      choices: [
        {
          finish_reason: "length",
          index: 0,
          logprobs: {
            text_offset: [0],
            token_logprobs: [-0.5],
            tokens: [" Hi"],
            top_logprobs: [{ " Hi": -0.5 }],
          },
          text: " Hi",
        },
      ],
      created: 1,
      model: "m",
      object: "text_completion",
      usage: { completion_tokens: 1, prompt_tokens: 4, total_tokens: 5 },
    };
    expect(completionSchema.parse(completion)).toEqual(completion);
    const chunk = {
      ...completion,
      choices: [{ finish_reason: null, index: 0, logprobs: null, text: " Hi" }],
    };
    delete (chunk as { usage?: unknown }).usage;
    expect(completionChunkSchema.parse(chunk)).toEqual(chunk);
    const usageChunk = { ...completion, choices: [] };
    expect(completionChunkSchema.parse(usageChunk)).toEqual(usageChunk);

    const list = { object: "list", data: [{ id: "m", created: 0, object: "model", owned_by: "gearbox" }] };
    expect(modelListSchema.parse(list)).toEqual(list);
    expect(modelListSchema.safeParse({ object: "list", data: [{ id: "m" }] }).success).toBe(false);
  });
});
