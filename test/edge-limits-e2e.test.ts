/**
 * What the edge lets a key do, checked on the whole path: the real edge worker in workerd in front
 * of two real `gearbox serve` processes on the tiny synthetic model (served as two models, one for
 * English and one for Chinese). The worst-case token reservation and the budget the backend keeps
 * to, a cancelled stream charged what it generated, "auto" kept to the key's models, and a slow
 * non-streamed request neither re-run on the other backend nor backing the pool off.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseUsageProgress, SseParser } from "@gearbox/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authHeaders, type Edge, startEdge, TEST_SECRET } from "../apps/edge/test/edge-harness.js";
import { metricValue } from "../apps/npu-backend/test/server-harness.js";
import { ensureModel } from "../apps/npu-backend/test/support/models.js";
import { type BackendProcess, startBackendProcess } from "./support/backend-process.js";

const BACKEND_DEFAULT_MAX_TOKENS = 1000;
const EDGE_DEFAULT_MAX_TOKENS = 40;
/** A stream quiet this long is one whose client left (workerd runs no code at the disconnect). */
const QUIET_MS = 1500;

let backends: BackendProcess[];
let edge: Edge;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "gearbox-edge-limits-"));
  const configPath = join(dir, "gearbox.config.json");
  const path = await ensureModel("tiny", "q8_0");
  await writeFile(
    configPath,
    JSON.stringify({
      models: [
        { id: "tiny-en", path, languages: ["en"] },
        { id: "tiny-zh", path, languages: ["zh"] },
      ],
      engine: { threads: 1, contextLength: 1024, kvCacheMiB: 8 },
      gears: { prefill: [16, 64], decodeBatch: [1, 4, 16], cacheDir: "" },
      limits: { maxTokensDefault: BACKEND_DEFAULT_MAX_TOKENS },
      auth: { upstreamSecret: "env:GEARBOX_UPSTREAM_SECRET" },
      log: { level: "warn" },
    }),
  );
  const env = { GEARBOX_UPSTREAM_SECRET: TEST_SECRET };
  backends = await Promise.all([
    startBackendProcess(["--config", configPath], env),
    startBackendProcess(["--config", configPath], env),
  ]);
  edge = await startEdge(
    backends.map((b) => b.url),
    { MAX_TOKENS_DEFAULT: String(EDGE_DEFAULT_MAX_TOKENS), QUIET_STREAM_SETTLE_MS: String(QUIET_MS) },
  );
});

afterAll(async () => {
  await edge?.dispose();
  await Promise.all((backends ?? []).map((b) => b.stop()));
});

const english = [{ role: "user", content: "Hello from the edge, tell me a long story" }];

function chat(key: string, body: Record<string, unknown>, target: Edge = edge): Promise<Response> {
  return fetch(`${target.url}/v1/chat/completions`, {
    method: "POST",
    headers: authHeaders(key),
    body: JSON.stringify({ model: "tiny-en", messages: english, ...body }),
  });
}

/** A metric summed over both backends. */
async function total(name: string, labels: Record<string, string>): Promise<number> {
  const values = await Promise.all(
    backends.map(async (b) => metricValue(await (await fetch(`${b.url}/metrics`)).text(), name, labels) ?? 0),
  );
  return values.reduce((a, b) => a + b, 0);
}

describe("tokens per minute", () => {
  it("reserves prompt + the default budget x n for a request without max_tokens, and the backend keeps to it", async () => {
    const key = await edge.addKey({ tpm: 100_000 });
    const response = await chat(key, { n: 2, temperature: 1, seed: 7 });
    expect(response.status).toBe(200);
    const remaining = Number(response.headers.get("x-ratelimit-remaining-tokens"));
    // The prompt is ~20 tokens; the completion part is 40 per choice, 2 choices.
    expect(remaining).toBeLessThanOrEqual(100_000 - 2 * EDGE_DEFAULT_MAX_TOKENS);
    expect(remaining).toBeGreaterThan(100_000 - 2 * EDGE_DEFAULT_MAX_TOKENS - 40);
    const body = (await response.json()) as { usage: { completion_tokens: number } };
    // The backend's own default (1000) would allow far more than the edge reserved for.
    expect(body.usage.completion_tokens).toBeLessThanOrEqual(2 * EDGE_DEFAULT_MAX_TOKENS);
  });

  it("charges a cancelled stream what it generated (the backend's `: usage` comments), not its reservation", async () => {
    const tpm = 3000; // refills 50 tokens a second
    const key = await edge.addKey({ tpm });
    const abort = new AbortController();
    const response = await fetch(`${edge.url}/v1/chat/completions`, {
      method: "POST",
      headers: authHeaders(key),
      body: JSON.stringify({ model: "tiny-en", messages: english, max_tokens: 900, stream: true }),
      signal: abort.signal,
    });
    expect(response.status).toBe(200);
    // Reserved: the prompt and 900.
    expect(Number(response.headers.get("x-ratelimit-remaining-tokens"))).toBeLessThan(tpm - 900);
    const reader = response.body?.getReader();
    const parser = new SseParser();
    const reported: number[] = [];
    let events = 0;
    while (events < 4) {
      const chunk = await reader?.read();
      if (!chunk || chunk.done) throw new Error("the stream ended before it was cancelled");
      for (const message of parser.push(chunk.value)) {
        if (message.kind === "event") events++;
        else {
          const progress = parseUsageProgress(message.text);
          if (progress) reported.push(progress.completionTokens);
        }
      }
    }
    abort.abort();
    expect(reported.length).toBeGreaterThan(0);
    expect(reported).toEqual([...reported].sort((a, b) => a - b));
    // The edge settles a stream that went quiet at its next request.
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS + 500));
    const next = await chat(key, { max_tokens: 1 });
    expect(next.status).toBe(200);
    await next.arrayBuffer();
    // Charged ~20 (prompt) + a few generated tokens, then ~20 + 1 reserved for this request.
    // Keeping the stream's 900-token reservation would leave ~2100 plus refill.
    expect(Number(next.headers.get("x-ratelimit-remaining-tokens"))).toBeGreaterThan(tpm - 300);
  });
});

describe('"auto" in an allow-list', () => {
  it("picks only among the key's models", async () => {
    const key = await edge.addKey({ models: ["auto", "tiny-zh"] });
    // English text: the router would pick tiny-en, which this key may not use.
    const response = await chat(key, { model: "auto", max_tokens: 2 });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-gearbox-model")).toBe("tiny-zh");
    expect(((await response.json()) as { model: string }).model).toBe("tiny-zh");
    const direct = await chat(key, { model: "tiny-en", max_tokens: 2 });
    expect(direct.status).toBe(403);
    await direct.arrayBuffer();

    const open = await edge.addKey({ models: ["auto", "tiny-en", "tiny-zh"] });
    const routed = await chat(open, { model: "auto", max_tokens: 2 });
    expect(routed.headers.get("x-gearbox-model")).toBe("tiny-en");
    await routed.arrayBuffer();
  });

  it('refuses "auto" for a key whose list names no model', async () => {
    const key = await edge.addKey({ models: ["auto"] });
    const response = await chat(key, { model: "auto", max_tokens: 2 });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("model_not_allowed");
  });
});

describe("a slow non-streamed request", () => {
  it("gets a 504 after the response timeout: not re-run on the other backend, no backend backed off", async () => {
    const impatient = await startEdge(
      backends.map((b) => b.url),
      { UPSTREAM_RESPONSE_TIMEOUT_MS: "300" },
    );
    try {
      const key = await impatient.addKey();
      const labels = { model_name: "tiny-en", reason: "cancelled" };
      const cancelledBefore = await total("gearbox:request_failure_total", labels);
      const slow = await chat(key, { max_tokens: 900, temperature: 1, seed: 1 }, impatient);
      expect(slow.status).toBe(504);
      expect(((await slow.json()) as { error: { code: string } }).error.code).toBe("timeout");
      // The edge aborted it, so the backend cancelled it; only one backend ever saw it.
      const deadline = performance.now() + 5000;
      while ((await total("gearbox:request_failure_total", labels)) === cancelledBefore) {
        if (performance.now() > deadline) throw new Error("the backend never saw the request cancelled");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect((await total("gearbox:request_failure_total", labels)) - cancelledBefore).toBe(1);
      // Both backends still take traffic.
      const health = (await (await fetch(`${impatient.url}/health`)).json()) as {
        upstreams: { available: number };
      };
      expect(health.upstreams.available).toBe(2);
      const quick = await chat(key, { max_tokens: 1 }, impatient);
      expect(quick.status).toBe(200);
      await quick.arrayBuffer();
    } finally {
      await impatient.dispose();
    }
  });
});
