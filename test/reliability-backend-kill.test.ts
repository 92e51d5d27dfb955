/**
 * Reliability: a backend SIGKILLed mid-run behind the edge (real workerd, two real `gearbox serve`
 * processes). Streams in flight on it end with an error event (never silently, never a hang);
 * requests sent right after the kill — which the edge may still send to the dead one — are retried
 * on the survivor, none lost; non-streamed requests in flight get an answer (a completion or an
 * OpenAI error); and the dead backend, started again on its port, is taken back into the pool.
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chatCompletionSchema, errorBodySchema } from "@gearbox/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authHeaders, type Edge, startEdge, TEST_SECRET } from "../apps/edge/test/edge-harness.js";
import {
  type BackendProcess,
  backendMetric,
  startBackendProcess,
  writeBackendConfig,
} from "./support/backend-process.js";
import { chatStream, type StreamOutcome, waitUntil } from "./support/streams.js";

const MODEL = "tiny-en";
const ENV = { GEARBOX_UPSTREAM_SECRET: TEST_SECRET };

let config: string;
let backends: BackendProcess[];
let edge: Edge;
let key: string;

beforeAll(async () => {
  config = await writeBackendConfig();
  backends = await Promise.all([
    startBackendProcess(["--config", config], ENV),
    startBackendProcess(["--config", config], ENV),
  ]);
  edge = await startEdge(
    backends.map((b) => b.url),
    { HEALTH_CHECK_INTERVAL_MS: "200" },
  );
  key = await edge.addKey({ name: "kill" });
  // The edge's /health probes every backend before it answers: both must be in its pool.
  await waitUntil(async () => {
    const health = (await (await fetch(`${edge.url}/health`)).json()) as {
      upstreams?: { available?: number };
    };
    return health.upstreams?.available === 2;
  }, "the edge to see both backends healthy");
});
afterAll(async () => {
  await edge?.dispose();
  await Promise.all((backends ?? []).map((b) => b.stop()));
});

const request = (content: string, maxTokens: number) => ({
  model: MODEL,
  messages: [{ role: "user", content }],
  max_tokens: maxTokens,
  temperature: 0,
});

/** A non-streamed request through the edge: its status and whether the body was well-formed. */
async function complete(
  body: Record<string, unknown>,
): Promise<{ status: number; ok: boolean; error?: string }> {
  const response = await fetch(`${edge.url}/v1/chat/completions`, {
    method: "POST",
    headers: authHeaders(key),
    body: JSON.stringify(body),
  });
  const parsed: unknown = await response.json().catch(() => undefined);
  if (response.status === 200) return { status: 200, ok: chatCompletionSchema.safeParse(parsed).success };
  const error = errorBodySchema.safeParse(parsed);
  return {
    status: response.status,
    ok: error.success,
    ...(error.success ? { error: error.data.error.code ?? "" } : {}),
  };
}

const running = (b: BackendProcess) =>
  backendMetric(b.url, "gearbox:num_requests_running", { model_name: MODEL });
const served = (b: BackendProcess) =>
  backendMetric(b.url, "gearbox:request_success_total", { model_name: MODEL, finished_reason: "length" });

describe("a backend killed mid-run behind the edge", () => {
  it("ends its streams with an error event, retries what had not started, and is readmitted when back", async () => {
    const [victim, survivor] = backends as [BackendProcess, BackendProcess];
    const streams: Array<Promise<StreamOutcome>> = [];
    for (let i = 0; i < 6; i++)
      streams.push(chatStream(edge.url, authHeaders(key), request(`Long story ${i}`, 600)));
    const inFlight = [complete(request("Long answer A", 600)), complete(request("Long answer B", 600))];
    await waitUntil(
      async () => (await running(victim)) >= 2 && (await running(survivor)) >= 2,
      "requests running on both backends",
    );
    const survivorBefore = await served(survivor);

    const exited = once(victim.child as ChildProcess, "exit");
    victim.child.kill("SIGKILL");
    await exited;
    // Sent at once: the edge does not know yet, so some go to the dead backend first.
    const after = await Promise.all([
      ...Array.from({ length: 4 }, (_, i) => complete(request(`After ${i}`, 3))),
      ...Array.from({ length: 4 }, (_, i) =>
        chatStream(edge.url, authHeaders(key), request(`After stream ${i}`, 3)),
      ),
    ]);
    for (const outcome of after) {
      if ("done" in outcome) expect(outcome).toMatchObject({ status: 200, done: true, finish: "length" });
      else expect(outcome).toEqual({ status: 200, ok: true });
    }

    const ended = await Promise.all(streams);
    const errored = ended.filter((o) => o.error !== undefined);
    for (const o of ended) {
      // Each stream either finished on the survivor or ended with an error event: never just stopped.
      if (o.error !== undefined)
        expect(o).toMatchObject({ status: 200, done: false, error: "upstream_error" });
      else expect(o).toMatchObject({ status: 200, done: true, finish: "length" });
    }
    expect(errored.length).toBeGreaterThan(0);
    expect(errored.length).toBeLessThan(ended.length);
    const nonStreamed = await Promise.all(inFlight);
    console.log(
      `kill: ${errored.length} of ${ended.length} streams ended with an error event; in-flight non-streamed: ${JSON.stringify(nonStreamed)}`,
    );
    for (const answer of nonStreamed) expect(answer.ok).toBe(true);
    // The 8 after the kill, the surviving streams and any in-flight request the edge retried.
    expect((await served(survivor)) - survivorBefore).toBeGreaterThanOrEqual(
      8 + ended.length - errored.length,
    );

    const port = Number(new URL(victim.url).port);
    const revived = await startBackendProcess(["--config", config], ENV, port);
    backends[0] = revived;
    await waitUntil(
      async () => {
        await Promise.all(Array.from({ length: 4 }, () => complete(request("Back?", 2))));
        return (await served(revived)) > 0;
      },
      "the edge to send requests to the revived backend",
      20_000,
    );
  }, 180_000);
});
