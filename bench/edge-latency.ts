/**
 * What the edge adds to a request: the same small requests sent straight to a stand-in backend
 * and through the edge worker running in ONE workerd (Miniflare, no wrangler dev proxy in
 * between), on loopback. Reports p50/p99 of complete small requests and time to first byte and to
 * first token of streams.
 *
 *   node bench/run-ts.mjs bench/edge-latency.ts [--requests 500] [--streams 200]
 */
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { SseParser, signRequest } from "@gearbox/shared";
import { chatBody, startEdge, TEST_SECRET } from "../apps/edge/test/edge-harness.js";
import { StandInUpstream } from "../apps/edge/test/stand-in-upstream.js";

const { values } = parseArgs({ options: { requests: { type: "string" }, streams: { type: "string" } } });
const REQUESTS = Number(values.requests ?? 500);
const STREAMS = Number(values.streams ?? 200);
const WARMUP = 50;

interface Target {
  name: string;
  url: string;
  headers: (body: string) => Promise<Record<string, string>>;
}

async function timeRequest(target: Target, body: string): Promise<number> {
  const headers = await target.headers(body);
  const start = performance.now();
  const response = await fetch(`${target.url}/v1/chat/completions`, { method: "POST", headers, body });
  await response.arrayBuffer();
  const elapsed = performance.now() - start;
  if (response.status !== 200) throw new Error(`${target.name}: status ${response.status}`);
  return elapsed;
}

/** Time to the first body bytes (the backend's ping) and to the first content token. */
async function timeStream(target: Target, body: string): Promise<{ firstByte: number; firstToken: number }> {
  const headers = await target.headers(body);
  const start = performance.now();
  const response = await fetch(`${target.url}/v1/chat/completions`, { method: "POST", headers, body });
  const reader = response.body?.getReader();
  if (!reader) throw new Error("no body");
  const parser = new SseParser();
  let firstByte = 0;
  let firstToken = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const now = performance.now() - start;
    if (!firstByte) firstByte = now;
    if (
      !firstToken &&
      parser.push(value).some((m) => m.kind === "event" && m.data.includes('"content":"tok'))
    ) {
      firstToken = now;
    }
  }
  return { firstByte, firstToken };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function summary(samples: number[]): { p50: number; p99: number; mean: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
  };
}

const ms = (value: number) => value.toFixed(2);

async function main(): Promise<void> {
  const upstream = await new StandInUpstream(TEST_SECRET).start();
  const edge = await startEdge([upstream.url]);
  const unlimited = await edge.addKey({ name: "bench" });
  const limited = await edge.addKey({ name: "bench-limited", rpm: 1_000_000, tpm: 1_000_000_000 });
  const direct: Target = {
    name: "direct",
    url: upstream.url,
    // The backend wants signed requests; signing here costs the client what it costs the edge.
    headers: async (body) => ({
      "content-type": "application/json",
      ...(await signRequest(TEST_SECRET, { method: "POST", pathAndQuery: "/v1/chat/completions", body })),
    }),
  };
  const viaEdge = (key: string, name: string): Target => ({
    name,
    url: edge.url,
    headers: async () => ({ "content-type": "application/json", authorization: `Bearer ${key}` }),
  });
  const targets = [direct, viaEdge(unlimited, "edge"), viaEdge(limited, "edge + rate limits")];

  const results: string[] = [];
  for (const target of targets) {
    for (let i = 0; i < WARMUP; i++) await timeRequest(target, smallBody);
    const samples: number[] = [];
    for (let i = 0; i < REQUESTS; i++) samples.push(await timeRequest(target, smallBody));
    const s = summary(samples);
    results.push(
      `| ${target.name} | small request, ${REQUESTS}× | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.mean)} |`,
    );
  }
  for (const target of targets.slice(0, 2)) {
    for (let i = 0; i < WARMUP; i++) await timeStream(target, streamBody);
    const firstBytes: number[] = [];
    const firstTokens: number[] = [];
    for (let i = 0; i < STREAMS; i++) {
      const t = await timeStream(target, streamBody);
      firstBytes.push(t.firstByte);
      firstTokens.push(t.firstToken);
    }
    const b = summary(firstBytes);
    const t = summary(firstTokens);
    results.push(
      `| ${target.name} | stream, first byte, ${STREAMS}× | ${ms(b.p50)} | ${ms(b.p99)} | ${ms(b.mean)} |`,
    );
    results.push(
      `| ${target.name} | stream, first token, ${STREAMS}× | ${ms(t.p50)} | ${ms(t.p99)} | ${ms(t.mean)} |`,
    );
  }
  await edge.dispose();
  await upstream.kill();

  const cpu = cpus()[0]?.model ?? "unknown CPU";
  process.stdout.write(
    `Edge latency on loopback, ${cpus().length} × ${cpu}, Node ${process.version}, one workerd (Miniflare).\n` +
      "Client, stand-in backend and workerd share the machine; milliseconds.\n\n" +
      `| path | what | p50 | p99 | mean |\n|---|---|---|---|---|\n${results.join("\n")}\n`,
  );
}

const smallBody = chatBody("chunks=1");
const streamBody = chatBody("chunks=3", { stream: true });

await main();
