/** SSE passthrough: incremental delivery, client aborts, and failures mid-stream. */
import { request as httpRequest } from "node:http";
import { chatCompletionChunkSchema, completionSchema, SseParser } from "@gearbox/shared";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authHeaders, chatBody, type Edge, startEdge, TEST_SECRET } from "./edge-harness.js";
import { StandInUpstream } from "./stand-in-upstream.js";

let upstream: StandInUpstream;
let edge: Edge;
let key: string;

beforeAll(async () => {
  upstream = await new StandInUpstream(TEST_SECRET).start();
  edge = await startEdge([upstream.url]);
  key = await edge.addKey();
});
afterAll(async () => {
  await edge?.dispose();
  await upstream?.kill();
});

interface TimedEvent {
  at: number;
  data: string;
}

/** Reads a whole SSE response, noting when each event arrived. */
async function readEvents(
  response: Response,
): Promise<{ events: TimedEvent[]; comments: string[]; raw: string }> {
  const parser = new SseParser();
  const events: TimedEvent[] = [];
  const comments: string[] = [];
  let raw = "";
  const decoder = new TextDecoder();
  const reader = response.body?.getReader();
  if (!reader) throw new Error("no body");
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    raw += decoder.decode(value, { stream: true });
    for (const message of parser.push(value)) {
      if (message.kind === "event") events.push({ at: performance.now(), data: message.data });
      else comments.push(message.text);
    }
  }
  return { events, comments, raw };
}

function stream(
  content: string,
  path = "/v1/chat/completions",
  body = chatBody(content, { stream: true }),
): Promise<Response> {
  return fetch(`${edge.url}${path}`, { method: "POST", headers: authHeaders(key), body });
}

describe("streaming passthrough", () => {
  it("passes the backend's bytes through untouched", async () => {
    const response = await stream("chunks=4");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(response.headers.get("content-encoding")).toBeNull();
    const { events, comments, raw } = await readEvents(response);
    expect(comments).toEqual(["ping"]);
    const chunks = events.slice(0, -1).map((e) => chatCompletionChunkSchema.parse(JSON.parse(e.data)));
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    expect(chunks.flatMap((c) => c.choices.map((x) => x.delta.content ?? "")).join("")).toBe(
      "tok0 tok1 tok2 tok3 ",
    );
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: 14 } });
    expect(events.at(-1)?.data).toBe("[DONE]");
    // Byte-exact: what the stand-in wrote is what arrived.
    expect(raw.startsWith(": ping\n\ndata: {")).toBe(true);
    expect(raw.endsWith("data: [DONE]\n\n")).toBe(true);
  });

  it("delivers events as they are produced, not at the end", async () => {
    const interval = 100;
    const started = performance.now();
    const { events } = await readEvents(await stream(`chunks=8 interval=${interval}`));
    const content = events.filter((e) => e.data.includes('"content":"tok'));
    expect(content).toHaveLength(8);
    const first = content[0]?.at ?? 0;
    const last = content.at(-1)?.at ?? 0;
    // Produced 100 ms apart: buffered delivery would bunch them together at the end. The median
    // gap (not every gap) is checked so that one scheduling hiccup on a busy machine cannot fail it.
    expect(last - first).toBeGreaterThan(7 * interval * 0.6);
    const gaps = content.slice(1).map((event, i) => event.at - (content[i]?.at ?? 0));
    const median = [...gaps].sort((x, y) => x - y)[Math.floor(gaps.length / 2)] ?? 0;
    expect(median).toBeGreaterThan(interval * 0.5);
    expect(first - started).toBeLessThan(last - started - 5 * interval);
  });

  it("passes a non-streamed JSON answer and a legacy completion stream through", async () => {
    const json = await fetch(`${edge.url}/v1/completions`, {
      method: "POST",
      headers: authHeaders(key),
      body: JSON.stringify({ model: "llama-3.2-1b-en", prompt: "chunks=2" }),
    });
    expect(json.status).toBe(200);
    expect(completionSchema.parse(await json.json()).choices[0]?.text).toBe("tok0 tok1 ");

    const legacy = await stream(
      "",
      "/v1/completions",
      JSON.stringify({ model: "llama-3.2-1b-en", prompt: "chunks=2", stream: true }),
    );
    const { events } = await readEvents(legacy);
    expect(events.map((e) => (e.data === "[DONE]" ? e.data : JSON.parse(e.data).object))).toEqual([
      "text_completion",
      "text_completion",
      "text_completion",
      "text_completion",
      "[DONE]",
    ]);
  });
});

describe("client disconnect", () => {
  it("aborts the upstream request when the client goes away mid-stream", async () => {
    const before = upstream.completions.length;
    const url = new URL(`${edge.url}/v1/chat/completions`);
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(url, { method: "POST", headers: authHeaders(key) }, (res) => {
        let seen = "";
        res.on("data", (chunk: Buffer) => {
          seen += chunk.toString();
          if (seen.includes("tok1")) {
            req.destroy();
            resolve();
          }
        });
        res.on("error", () => {});
      });
      req.on("error", () => {});
      req.on("timeout", () => reject(new Error("timeout")));
      req.end(chatBody("chunks=500 interval=20", { stream: true }));
    });
    const seen = upstream.completions[before];
    expect(seen).toBeDefined();
    const closed = await Promise.race([
      seen?.ended.then(() => "closed"),
      sleep(5_000).then(() => "still open"),
    ]);
    expect(closed).toBe("closed");
    // Closed by the edge long before the 10 s the stream would have taken.
    expect(seen?.closedEarly).toBe(true);
  });

  it("aborts it also while the backend only sends pings (a long prefill)", async () => {
    const before = upstream.completions.length;
    const controller = new AbortController();
    const response = await fetch(`${edge.url}/v1/chat/completions`, {
      method: "POST",
      headers: authHeaders(key),
      body: chatBody("hang", { stream: true }),
      signal: controller.signal,
    });
    await response.body?.getReader().read(); // the first ping
    controller.abort();
    const seen = upstream.completions[before];
    const closed = await Promise.race([
      seen?.ended.then(() => "closed"),
      sleep(5_000).then(() => "still open"),
    ]);
    expect(closed).toBe("closed");
    expect(seen?.closedEarly).toBe(true);
  });
});

describe("upstream failure mid-stream", () => {
  it("ends a stream whose backend goes silent (not even a ping) after UPSTREAM_IDLE_TIMEOUT_MS, aborting it", async () => {
    const quiet = await startEdge([upstream.url], { UPSTREAM_IDLE_TIMEOUT_MS: "400" });
    try {
      const before = upstream.completions.length;
      const started = performance.now();
      const response = await fetch(`${quiet.url}/v1/chat/completions`, {
        method: "POST",
        headers: authHeaders(await quiet.addKey()),
        body: chatBody("chunks=3 interval=3000", { stream: true }),
      });
      expect(response.status).toBe(200);
      const { raw } = await readEvents(response);
      expect(raw).toContain('"code":"upstream_error"');
      expect(raw).toContain("sent nothing for 0.4 s");
      expect(raw).not.toContain("[DONE]");
      expect(performance.now() - started).toBeLessThan(2500);
      const seen = upstream.completions[before];
      await seen?.ended;
      expect(seen?.closedEarly).toBe(true);
    } finally {
      await quiet.dispose();
    }
  });

  it("ends the stream with a data: {error} frame (and no [DONE])", async () => {
    const { events } = await readEvents(await stream("chunks=10 fail-after=2"));
    const contents = events.filter((e) => e.data.includes("tok"));
    expect(contents).toHaveLength(2);
    const last = events.at(-1);
    expect(events.some((e) => e.data === "[DONE]")).toBe(false);
    const error = JSON.parse(last?.data ?? "{}").error;
    expect(error).toMatchObject({ type: "server_error", code: "upstream_error", param: null });
    expect(error.message).toMatch(/backend/);
  });

  it("surfaces as an error in the official SDK", async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${edge.url}/v1`, maxRetries: 0 });
    const chunks: string[] = [];
    const consume = async () => {
      const s = await client.chat.completions.create({
        model: "llama-3.2-1b-en",
        messages: [{ role: "user", content: "chunks=10 fail-after=3" }],
        stream: true,
      });
      for await (const chunk of s) chunks.push(chunk.choices[0]?.delta.content ?? "");
    };
    await expect(consume()).rejects.toThrow(/backend/);
    expect(chunks.join("")).toBe("tok0 tok1 tok2 ");
  });

  it("streams a complete answer to the SDK when nothing fails", async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${edge.url}/v1`, maxRetries: 0 });
    const s = await client.chat.completions.create({
      model: "llama-3.2-1b-en",
      messages: [{ role: "user", content: "chunks=3" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let total = 0;
    for await (const chunk of s) {
      text += chunk.choices[0]?.delta.content ?? "";
      total = chunk.usage?.total_tokens ?? total;
    }
    expect(text).toBe("tok0 tok1 tok2 ");
    expect(total).toBe(13);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
