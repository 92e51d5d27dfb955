/**
 * What operators see: Prometheus series with vLLM's names (requests, tokens, latencies, KV cache,
 * gears), /v1/gears, and structured logs that carry the request id and never the prompt unless
 * asked to.
 */
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../src/config/load-config.js";
import { nativeEngine } from "../src/engine/native-engine.js";
import { type Backend, startBackend } from "../src/server/backend.js";
import { json, metricValue, SMALL_ENGINE, SMALL_GEARS, startTestBackend } from "./server-harness.js";
import { ensureModel, REPO_ROOT } from "./support/models.js";

describe("metrics", () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await startTestBackend();
  });
  afterAll(async () => {
    await backend?.shutdown(0);
  });

  it("exposes vLLM-named series that count what was served", async () => {
    await fetch(`${backend.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({
        model: "tiny-en",
        messages: [{ role: "user", content: "count me" }],
        max_tokens: 5,
      }),
    });
    const response = await fetch(`${backend.url}/metrics`);
    expect(response.headers.get("content-type")).toContain("text/plain");
    const text = await response.text();
    const model = { model_name: "tiny-en" };
    const value = (name: string, labels: Record<string, string> = model) => metricValue(text, name, labels);
    expect(value("gearbox:num_requests_running")).toBe(0);
    expect(value("gearbox:num_requests_waiting")).toBe(0);
    expect(value("gearbox:generation_tokens_total")).toBe(5);
    expect(value("gearbox:prompt_tokens_total")).toBeGreaterThan(10);
    expect(value("gearbox:request_success_total", { ...model, finished_reason: "length" })).toBe(1);
    expect(value("gearbox:time_to_first_token_seconds_count")).toBe(1);
    expect(value("gearbox:inter_token_latency_seconds_count")).toBe(4);
    expect(value("gearbox:e2e_request_latency_seconds_count")).toBe(1);
    expect(value("gearbox:request_queue_time_seconds_count")).toBe(1);
    expect(value("gearbox:kv_cache_usage_perc")).toBe(0);
    expect(value("gearbox:kv_cache_blocks_total")).toBe(256);
    // Gear counters, mirrored from the engine: the decode steps ran on the 1-sequence gear.
    expect(value("gearbox:gear_hits_total", { ...model, phase: "decode", bucket: "1" })).toBe(4);
    expect(value("gearbox:gear_ready", { ...model, phase: "prefill", bucket: "64" })).toBe(1);
    expect(value("gearbox:gear_fallbacks_total")).toBe(0);
    expect(text).toContain("process_resident_memory_bytes");
  });

  it("reports gears and the KV cache at /v1/gears", async () => {
    const report = await json(await fetch(`${backend.url}/v1/gears`));
    const [model] = report.data;
    expect(model).toMatchObject({ model: "tiny-en", kv: { blockSize: 16, blocksTotal: 256 }, fallbacks: 0 });
    expect(model.weightPrefetch).toMatchObject({
      mode: "auto",
      on: expect.any(Boolean),
      trials: expect.any(Number),
    });
    expect(model.gears.map((g: { phase: string; bucket: number }) => `${g.phase}${g.bucket}`)).toEqual(
      expect.arrayContaining(["prefill16", "prefill64", "decode1", "decode4", "decode16"]),
    );
  });
});

describe("logs", () => {
  async function withLogs(
    prompts: boolean,
    body: (url: string) => Promise<void>,
  ): Promise<Record<string, unknown>[]> {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    const config = resolveConfig(
      {
        models: [{ id: "tiny-en", path: await ensureModel("tiny", "q8_0") }],
        engine: SMALL_ENGINE,
        gears: SMALL_GEARS,
        server: { port: 0 },
        auth: { open: true },
        log: { level: "debug", prompts },
      },
      "test",
      REPO_ROOT,
    );
    const backend = await startBackend({
      config,
      engine: nativeEngine,
      logger: pino({ level: "debug" }, sink),
    });
    try {
      await backend.ready;
      await body(backend.url);
    } finally {
      await backend.shutdown(0);
    }
    return lines;
  }

  const SECRET_PROMPT = "my bank password is hunter2";
  const ask = async (url: string): Promise<void> => {
    await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "x-request-id": "req-from-edge-7" },
      body: JSON.stringify({
        model: "tiny-en",
        messages: [{ role: "user", content: SECRET_PROMPT }],
        max_tokens: 3,
      }),
    }).then((r) => r.text());
  };

  it("tag each request's lines with its id and never log the prompt by default", async () => {
    const lines = await withLogs(false, ask);
    const mine = lines.filter((l) => l.request_id === "req-from-edge-7");
    expect(mine.map((l) => l.msg)).toEqual(expect.arrayContaining(["request", "completion"]));
    expect(mine.find((l) => l.msg === "completion")).toMatchObject({
      model: "tiny-en",
      completion_tokens: 3,
    });
    expect(JSON.stringify(lines)).not.toContain("hunter2");
  });

  it("log prompts at debug level only when log.prompts is on", async () => {
    const lines = await withLogs(true, ask);
    const prompt = lines.find((l) => l.msg === "prompt");
    expect(prompt).toMatchObject({ level: 20, request_id: "req-from-edge-7" });
    expect(JSON.stringify(prompt)).toContain("hunter2");
  });
});
