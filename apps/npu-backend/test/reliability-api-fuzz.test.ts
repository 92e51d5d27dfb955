/**
 * Reliability: generated bad requests (fast-check, see support/api-fuzz.ts) at a real `gearbox
 * serve` process on the tiny synthetic model: no 5xx, no hang, every error OpenAI-shaped, every
 * success well-formed, the process alive, and a good request answered exactly as before the fuzz.
 * `npm test` sends FUZZ_RUNS requests; `npm run soak` sends 10,000.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BackendProcess,
  startBackendProcess,
  writeBackendConfig,
} from "../../../test/support/backend-process.js";
import { json } from "./server-harness.js";
import { type FuzzTarget, fuzzApi, goodChat } from "./support/api-fuzz.js";

const FUZZ_RUNS = Number(process.env.GEARBOX_FUZZ_RUNS ?? 1000);
const KEY = "reliability-fuzz-key-0123456789";
const auth = { authorization: `Bearer ${KEY}` };

let backend: BackendProcess;
let target: FuzzTarget;

beforeAll(async () => {
  // maxTokensDefault small: a mutant that drops max_tokens but stays valid still answers quickly.
  const config = await writeBackendConfig({ limits: { maxTokensDefault: 4, requestTimeoutSeconds: 60 } });
  backend = await startBackendProcess(["--config", config, "--api-key", KEY], {
    GEARBOX_UPSTREAM_SECRET: "reliability-secret-0123456789",
  });
  target = { url: backend.url, auth, model: "tiny-en" };
});
afterAll(async () => {
  await backend?.stop();
});

async function goodAnswer(): Promise<string> {
  const response = await fetch(`${backend.url}/v1/chat/completions`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify(goodChat("tiny-en", { max_tokens: 8 })),
  });
  expect(response.status).toBe(200);
  return (await json(response)).choices[0].message.content;
}

describe("API fuzz at the backend", () => {
  it(`answers ${FUZZ_RUNS} generated bad requests without a 5xx, each OpenAI-shaped, and still serves`, async () => {
    const before = await goodAnswer();
    const stats = await fuzzApi(target, { runs: FUZZ_RUNS, seed: 1201 });
    console.log(`backend fuzz: ${stats.sent} requests, statuses ${JSON.stringify(stats.byStatus)}`);
    expect(stats.violations).toEqual([]);
    expect(stats.sent).toBe(FUZZ_RUNS);
    // The generator must mostly produce rejections, or it fuzzes nothing.
    const rejected = Object.entries(stats.byStatus)
      .filter(([status]) => Number(status) >= 400)
      .reduce((sum, [, count]) => sum + count, 0);
    expect(rejected).toBeGreaterThan(FUZZ_RUNS / 2);
    expect(backend.child.exitCode).toBeNull();
    expect(backend.child.signalCode).toBeNull();
    expect(await goodAnswer()).toBe(before);
  }, 180_000);

  // What the fuzz found, kept as plain cases.
  const post = (body: unknown) =>
    fetch(`${backend.url}/v1/chat/completions`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  it("takes a top_k beyond the vocabulary as no top-k (the engine refused it: 500)", async () => {
    const response = await post(goodChat("tiny-en", { top_k: 4294967297 }));
    expect(response.status).toBe(200);
  });

  it("refuses a repetition_penalty beyond the engine's range with a 400 naming it (was 500)", async () => {
    const response = await post(goodChat("tiny-en", { repetition_penalty: 449913263 }));
    expect(response.status).toBe(400);
    expect((await json(response)).error.param).toBe("repetition_penalty");
    expect((await post(goodChat("tiny-en", { repetition_penalty: 1e-9 }))).status).toBe(200);
  });

  it("closes the connection after a 413, so a client's next request there is not lost", async () => {
    const big = JSON.stringify(
      goodChat("tiny-en", { messages: [{ role: "user", content: "a".repeat(1_100_000) }] }),
    );
    for (let i = 0; i < 3; i++) {
      const response = await post(big);
      expect(response.status).toBe(413);
      expect(response.headers.get("connection")).toBe("close");
      await response.arrayBuffer();
      expect((await fetch(`${backend.url}/health`)).status).toBe(200);
    }
  });
});
