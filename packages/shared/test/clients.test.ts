/**
 * The bodies that real clients send — the official `openai` SDK and LangChain's ChatOpenAI —
 * captured on a loopback server and run through our request schemas. If a client release starts
 * sending something our schemas refuse, this test says which field.
 */
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ChatOpenAI } from "@langchain/openai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  chatCompletionRequestSchema,
  completionRequestSchema,
  parseRequest,
  sseData,
  sseDone,
  unknownFields,
} from "../src/index.js";

const captured: { path: string; body: Record<string, unknown> }[] = [];
let server: Server;
let baseURL: string;

/** Answers like a backend would, just enough for the clients to finish their call. */
function reply(path: string, body: Record<string, unknown>): { json?: unknown; events?: unknown[] } {
  const head = { id: "x-1", created: 1, model: String(body.model) };
  const usage = { completion_tokens: 1, prompt_tokens: 1, total_tokens: 2 };
  if (path === "/v1/completions") {
    const choice = { finish_reason: "stop", index: 0, logprobs: null, text: "hi" };
    return body.stream
      ? {
          events: [
            { ...head, object: "text_completion", choices: [choice] },
            { ...head, object: "text_completion", choices: [], usage },
          ],
        }
      : { json: { ...head, object: "text_completion", choices: [choice], usage } };
  }
  const chunk = { ...head, object: "chat.completion.chunk" };
  return body.stream
    ? {
        events: [
          {
            ...chunk,
            choices: [{ index: 0, delta: { role: "assistant", content: "hi" }, finish_reason: null }],
          },
          { ...chunk, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
          { ...chunk, choices: [], usage },
        ],
      }
    : {
        json: {
          ...head,
          object: "chat.completion",
          choices: [
            {
              index: 0,
              finish_reason: "stop",
              logprobs: null,
              message: { role: "assistant", content: "hi" },
            },
          ],
          usage,
        },
      };
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    const body = JSON.parse(text) as Record<string, unknown>;
    const path = new URL(req.url ?? "/", "http://x").pathname;
    captured.push({ path, body });
    const answer = reply(path, body);
    if (answer.events) {
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (const event of answer.events) res.write(sseData(event));
      res.end(sseDone);
    } else {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(answer.json));
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(() => {
  server.close();
});

function last(): { path: string; body: Record<string, unknown> } {
  const entry = captured.at(-1);
  if (!entry) throw new Error("the client sent nothing");
  return entry;
}

function expectAcceptedChat(body: Record<string, unknown>): string[] {
  expect(parseRequest(chatCompletionRequestSchema, body)).toEqual(body);
  return unknownFields(chatCompletionRequestSchema, body);
}

const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Weather for a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

describe("the openai SDK's requests", () => {
  const client = () => new OpenAI({ apiKey: "gbx-test", baseURL, maxRetries: 0 });

  it("chat with every parameter we document", async () => {
    await client().chat.completions.create({
      model: "llama-3.2-1b-en",
      messages: [
        { role: "developer", content: "Be brief." },
        { role: "system", content: [{ type: "text", text: "You are helpful." }] },
        {
          role: "user",
          content: [
            { type: "text", text: "Hi" },
            { type: "image_url", image_url: { url: "data:," } },
          ],
        },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "c1", type: "function", function: { name: "get_weather", arguments: "{}" } }],
        },
        { role: "tool", tool_call_id: "c1", content: "sunny" },
      ],
      max_completion_tokens: 8,
      max_tokens: 8,
      temperature: 0.5,
      top_p: 0.9,
      seed: 1,
      stop: ["\n"],
      n: 1,
      presence_penalty: 0.1,
      frequency_penalty: 0.1,
      logit_bias: { "42": 1 },
      logprobs: true,
      top_logprobs: 2,
      response_format: { type: "json_object" },
      tools: [weatherTool],
      tool_choice: "auto",
      parallel_tool_calls: true,
      user: "u1",
    });
    expect(expectAcceptedChat(last().body)).toEqual([]);
  });

  it("a stream with include_usage", async () => {
    const stream = await client().chat.completions.create({
      model: "llama-3.2-1b-en",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const _ of stream) {
      // drain
    }
    expect(last().body.stream_options).toEqual({ include_usage: true });
    expect(expectAcceptedChat(last().body)).toEqual([]);
  });

  it("vendor extras pass through and are reported as unknown", async () => {
    await client().chat.completions.create({
      model: "llama-3.2-1b-en",
      messages: [{ role: "user", content: "Hi" }],
      store: false,
      // @ts-expect-error top_k is a vendor extra the SDK does not type; it is forwarded as is.
      top_k: 20,
      chat_template_kwargs: { enable_thinking: false },
    });
    expect(expectAcceptedChat(last().body)).toEqual(["store", "chat_template_kwargs"]);
  });

  it("legacy completions with text and token prompts", async () => {
    await client().completions.create({ model: "m", prompt: "Once", max_tokens: 4, echo: true, logprobs: 2 });
    expect(parseRequest(completionRequestSchema, last().body)).toEqual(last().body);
    const stream = await client().completions.create({ model: "m", prompt: [[1, 2, 3]], stream: true });
    for await (const _ of stream) {
      // drain
    }
    expect(last().path).toBe("/v1/completions");
    expect(parseRequest(completionRequestSchema, last().body)).toEqual(last().body);
  });
});

describe("LangChain ChatOpenAI's requests", () => {
  const chat = (fields: Record<string, unknown> = {}) =>
    new ChatOpenAI({
      model: "llama-3.2-1b-en",
      apiKey: "gbx-test",
      configuration: { baseURL },
      maxRetries: 0,
      ...fields,
    });

  it("invoke with sampling options", async () => {
    await chat({ temperature: 0.2, topP: 0.8, maxTokens: 16, stop: ["END"] }).invoke([
      ["system", "You are helpful."],
      ["human", "Hi"],
    ]);
    const extras = expectAcceptedChat(last().body);
    expect(z.array(z.string()).parse(extras)).toEqual([]);
  });

  it("stream", async () => {
    const chunks: string[] = [];
    for await (const chunk of await chat().stream("Hi")) chunks.push(String(chunk.content));
    expect(chunks.join("")).toBe("hi");
    expect(last().body.stream).toBe(true);
    expect(expectAcceptedChat(last().body)).toEqual([]);
  });

  it("tools bound with bindTools", async () => {
    await chat().bindTools([weatherTool]).invoke("Weather in Paris?");
    expect((last().body.tools as unknown[]).length).toBe(1);
    expect(expectAcceptedChat(last().body)).toEqual([]);
  });
});
