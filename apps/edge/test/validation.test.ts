/** Validation at the edge, body limits, upstream signatures, and a misconfigured edge. */
import { errorBodySchema, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "@gearbox/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authHeaders, chatBody, type Edge, startEdge, TEST_SECRET } from "./edge-harness.js";
import { StandInUpstream } from "./stand-in-upstream.js";

const MAX_BODY_BYTES = 4096;
let upstream: StandInUpstream;
let edge: Edge;
let key: string;

beforeAll(async () => {
  upstream = await new StandInUpstream(TEST_SECRET).start();
  edge = await startEdge([upstream.url], { MAX_BODY_BYTES: String(MAX_BODY_BYTES) });
  key = await edge.addKey();
});
afterAll(async () => {
  await edge?.dispose();
  await upstream?.kill();
});

function post(
  body: string | ReadableStream<Uint8Array>,
  path = "/v1/chat/completions",
  init: RequestInit = {},
): Promise<Response> {
  return fetch(`${edge.url}${path}`, { method: "POST", headers: authHeaders(key), body, ...init });
}

describe("validation before any upstream call", () => {
  const cases: [string, string, string, string | null, string][] = [
    ["/v1/chat/completions", "{not json", "invalid_json", null, "not valid JSON"],
    [
      "/v1/chat/completions",
      JSON.stringify({ model: "m" }),
      "invalid_value",
      "messages",
      "Missing required parameter: 'messages'",
    ],
    [
      "/v1/chat/completions",
      JSON.stringify({ model: "m", messages: [{ role: "robot", content: "x" }] }),
      "invalid_value",
      "messages[0].role",
      "robot",
    ],
    [
      "/v1/chat/completions",
      chatBody("x", { tools: [{ type: "function" }] }),
      "invalid_value",
      "tools[0].function",
      "tools[0].function",
    ],
    [
      "/v1/chat/completions",
      chatBody("x", { tool_choice: { type: "function" } }),
      "invalid_value",
      "tool_choice",
      "tool_choice",
    ],
    [
      "/v1/chat/completions",
      chatBody("x", { response_format: { type: "json_schema", json_schema: { schema: {} } } }),
      "invalid_value",
      "response_format.json_schema.name",
      "name",
    ],
    [
      "/v1/chat/completions",
      chatBody("x", { temperature: 3 }),
      "invalid_value",
      "temperature",
      "must be <= 2",
    ],
    [
      "/v1/chat/completions",
      chatBody("x", { stop: ["a", "b", "c", "d", "e"] }),
      "invalid_value",
      "stop",
      "at most 4",
    ],
    [
      "/v1/chat/completions",
      chatBody("x", { max_tokens: -1 }),
      "invalid_value",
      "max_tokens",
      "must be >= 1",
    ],
    [
      "/v1/completions",
      JSON.stringify({ model: "m", prompt: { a: 1 } }),
      "invalid_value",
      "prompt",
      "got an object",
    ],
  ];
  for (const [path, body, code, param, message] of cases) {
    it(`400 ${code} naming ${param ?? "the body"} (${path})`, async () => {
      const before = upstream.completions.length;
      const response = await post(body, path);
      expect(response.status).toBe(400);
      const error = errorBodySchema.parse(await response.json()).error;
      expect(error).toMatchObject({ type: "invalid_request_error", code, param });
      expect(error.message).toContain(message);
      expect(upstream.completions.length).toBe(before);
    });
  }

  it("400 invalid_json for a body that is not UTF-8", async () => {
    const bytes = new Uint8Array([
      ...new TextEncoder().encode('{"model":"'),
      0xff,
      ...new TextEncoder().encode('"}'),
    ]);
    const response = await fetch(`${edge.url}/v1/chat/completions`, {
      method: "POST",
      headers: authHeaders(key),
      body: bytes,
    });
    expect(response.status).toBe(400);
    expect(errorBodySchema.parse(await response.json()).error.message).toContain("not UTF-8");
  });

  it("forwards a valid body byte for byte, vendor extras included", async () => {
    const body = `{"model":"llama-3.2-1b-en",  "messages":[{"role":"user","content":"héllo"}],"chat_template_kwargs":{"x":1}}`;
    const response = await post(body);
    expect(response.status).toBe(200);
    await response.json();
    expect(upstream.completions.at(-1)?.body).toBe(body);
  });
});

describe("body size limit", () => {
  const big = chatBody("x".repeat(MAX_BODY_BYTES));

  it("answers 413 request_too_large for a declared length over the limit", async () => {
    const before = upstream.completions.length;
    const response = await post(big);
    expect(response.status).toBe(413);
    expect(errorBodySchema.parse(await response.json()).error.code).toBe("request_too_large");
    expect(upstream.completions.length).toBe(before);
  });

  it("also for a chunked body without a length", async () => {
    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 1000) controller.enqueue(bytes.subarray(i, i + 1000));
        controller.close();
      },
    });
    const response = await post(stream, "/v1/chat/completions", { duplex: "half" } as RequestInit);
    expect(response.status).toBe(413);
    expect(errorBodySchema.parse(await response.json()).error.code).toBe("request_too_large");
  });

  it("lets a body under the limit through", async () => {
    const response = await post(chatBody("x".repeat(MAX_BODY_BYTES - 200)));
    expect(response.status).toBe(200);
    await response.json();
  });
});

describe("upstream signatures", () => {
  it("signs every upstream request (health, models, completions) so that the backend can verify it", async () => {
    await fetch(`${edge.url}/health`);
    await (await fetch(`${edge.url}/v1/models`, { headers: authHeaders(key) })).json();
    await (await post(chatBody("signed"))).json();
    const paths = new Set(upstream.seen.map((r) => r.path));
    expect(paths).toEqual(new Set(["/health", "/v1/models", "/v1/chat/completions"]));
    for (const request of upstream.seen) {
      expect(request.signature).toEqual({ ok: true });
      expect(request.headers[SIGNATURE_HEADER]).toMatch(/^v1=[0-9a-f]{64}$/);
      expect(Math.abs(Number(request.headers[TIMESTAMP_HEADER]) - Date.now() / 1000)).toBeLessThan(60);
      // The client's key is for the edge only.
      expect(request.headers.authorization).toBeUndefined();
    }
  });
});

describe("routes and configuration", () => {
  it("answers 404 unknown_url for other paths", async () => {
    const response = await fetch(`${edge.url}/v1/embeddings`, {
      method: "POST",
      headers: authHeaders(key),
      body: "{}",
    });
    expect(response.status).toBe(404);
    expect(errorBodySchema.parse(await response.json()).error.code).toBe("unknown_url");
  });

  it("answers 500 naming the variable when the edge is misconfigured", async () => {
    const broken = await startEdge(["not-a-url"], { GEARBOX_UPSTREAM_SECRET: "short" });
    try {
      const response = await fetch(`${broken.url}/health`);
      expect(response.status).toBe(500);
      const message = errorBodySchema.parse(await response.json()).error.message;
      expect(message).toContain("UPSTREAMS");
      expect(message).toContain("GEARBOX_UPSTREAM_SECRET must be at least 16 characters");
    } finally {
      await broken.dispose();
    }
  });
});
