/**
 * Reliability through the edge: the real worker in workerd in front of a real `gearbox serve`
 * process on the tiny synthetic model.
 * - API fuzz: generated bad requests (apps/npu-backend/test/support/api-fuzz.ts) at the edge — no
 *   5xx, every answer OpenAI-shaped, a good request still answered the same afterwards;
 * - aborts: streams cancelled at random points (test/support/abort-storm.ts) — afterwards no KV
 *   block in use, the running/waiting gauges at 0, RSS bounded, and the temperature-0 streams that
 *   ran beside them got exactly their undisturbed text.
 * `npm test` runs a few hundred; `npm run soak` runs the full counts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authHeaders, type Edge, startEdge, TEST_SECRET } from "../apps/edge/test/edge-harness.js";
import { type FuzzTarget, fuzzApi, goodChat } from "../apps/npu-backend/test/support/api-fuzz.js";
import { abortStorm } from "./support/abort-storm.js";
import {
  type BackendProcess,
  backendIdle,
  backendMetric,
  startBackendProcess,
  writeBackendConfig,
} from "./support/backend-process.js";
import { waitUntil } from "./support/streams.js";

const FUZZ_RUNS = Number(process.env.GEARBOX_FUZZ_RUNS ?? 600);
const ABORT_RUNS = Number(process.env.GEARBOX_ABORT_RUNS ?? 100);
const MODEL = "tiny-en";

let backend: BackendProcess;
let edge: Edge;
let key: string;

beforeAll(async () => {
  const config = await writeBackendConfig({ limits: { maxTokensDefault: 4 } });
  backend = await startBackendProcess(["--config", config], { GEARBOX_UPSTREAM_SECRET: TEST_SECRET });
  edge = await startEdge([backend.url]);
  key = await edge.addKey({ name: "reliability" });
});
afterAll(async () => {
  await edge?.dispose();
  await backend?.stop();
});

async function goodAnswer(): Promise<string> {
  const response = await fetch(`${edge.url}/v1/chat/completions`, {
    method: "POST",
    headers: authHeaders(key),
    body: JSON.stringify(goodChat(MODEL, { max_tokens: 8 })),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
  return body.choices[0]?.message.content ?? "";
}

describe("reliability through the edge", () => {
  it(`answers ${FUZZ_RUNS} generated bad requests without a 5xx, each OpenAI-shaped, and still serves`, async () => {
    const before = await goodAnswer();
    const target: FuzzTarget = { url: edge.url, auth: { authorization: `Bearer ${key}` }, model: MODEL };
    const stats = await fuzzApi(target, { runs: FUZZ_RUNS, seed: 1202 });
    console.log(`edge fuzz: ${stats.sent} requests, statuses ${JSON.stringify(stats.byStatus)}`);
    expect(stats.violations).toEqual([]);
    expect(stats.sent).toBe(FUZZ_RUNS);
    expect(backend.child.exitCode).toBeNull();
    expect(await goodAnswer()).toBe(before);
  }, 180_000);

  it(`cancels ${ABORT_RUNS} streams at random points: KV and gauges back to 0, the other streams unaffected`, async () => {
    const rssBefore = await backendMetric(backend.url, "process_resident_memory_bytes");
    const started = performance.now();
    const result = await abortStorm({
      url: edge.url,
      headers: authHeaders(key),
      model: MODEL,
      runs: ABORT_RUNS,
      seed: 1203,
    });
    console.log(
      `aborts in ${Math.round(performance.now() - started)} ms: ${result.aborted} aborted, ${result.finished} finished first, ${result.witnesses} witness streams`,
    );
    expect(result.badEnds).toEqual([]);
    expect(result.witnessFailures).toEqual([]);
    expect(result.aborted).toBeGreaterThan(ABORT_RUNS / 2);
    expect(result.witnesses).toBeGreaterThan(0);
    await waitUntil(
      () => backendIdle(backend.url, MODEL),
      "no request running or waiting and no KV block in use",
    );
    const cancelled = await backendMetric(backend.url, "gearbox:request_failure_total", {
      model_name: MODEL,
      reason: "cancelled",
    });
    // Aborts before the headers may never reach the backend; most must have cancelled a request there.
    expect(cancelled).toBeGreaterThan(0);
    const rssAfter = await backendMetric(backend.url, "process_resident_memory_bytes");
    expect(rssAfter - rssBefore).toBeLessThan(64 * 2 ** 20);
    expect(await goodAnswer()).toBeTypeOf("string");
  }, 180_000);
});
