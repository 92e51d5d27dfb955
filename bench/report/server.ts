/**
 * A real `gearbox serve` child process for the report: two models behind `model: "auto"`, a
 * streaming client that times each request (TTFT, end-to-end) and reads which model answered from
 * `x-gearbox-model`, and a sampler of the server's memory: its RSS from /proc and each model's KV
 * blocks and gear arenas from /v1/gears, kept at their peaks.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SseParser } from "@gearbox/shared";
import { type BackendProcess, startBackendProcess } from "../../test/support/backend-process.js";

export interface ServedPair {
  en: { id: string; path: string };
  zh: { id: string; path: string };
}

export interface ServerOptions {
  threads: number;
  contextLength: number;
  kvCacheMiB: number;
  prefill: number[];
  decodeBatch: number[];
}

export type RunningServer = BackendProcess;

export async function startServer(models: ServedPair, o: ServerOptions): Promise<RunningServer> {
  const dir = await mkdtemp(join(tmpdir(), "gearbox-report-"));
  const config = join(dir, "gearbox.config.json");
  await writeFile(
    config,
    JSON.stringify({
      models: [
        { id: models.en.id, path: resolve(models.en.path), languages: ["en"] },
        { id: models.zh.id, path: resolve(models.zh.path), languages: ["zh"] },
      ],
      router: { auto: true, default: models.en.id },
      engine: { threads: o.threads, contextLength: o.contextLength, kvCacheMiB: o.kvCacheMiB },
      gears: { prefill: o.prefill, decodeBatch: o.decodeBatch, warm: "all", cacheDir: "" },
      limits: { maxQueue: 4096 },
      auth: { open: true },
      log: { level: "warn" },
    }),
  );
  return startBackendProcess(["--config", config], { GEARBOX_UPSTREAM_SECRET: "" });
}

export interface Timed {
  /** The model that answered (x-gearbox-model). */
  model: string;
  ttftMs: number;
  e2eMs: number;
  outputTokens: number;
}

/**
 * One streamed /v1/completions request with model "auto", a token-id prompt and exactly
 * `maxTokens` answer tokens (end-of-generation tokens banned, as benchmark_serving's ignore_eos).
 */
export async function timedRequest(
  url: string,
  prompt: readonly number[],
  maxTokens: number,
  banned: Record<string, number>,
): Promise<Timed> {
  const start = performance.now();
  const response = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "auto",
      prompt,
      max_tokens: maxTokens,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
      logit_bias: banned,
    }),
  });
  if (response.status !== 200 || !response.body)
    throw new Error(`status ${response.status}: ${await response.text()}`);
  const model = response.headers.get("x-gearbox-model") ?? "";
  const parser = new SseParser();
  let ttft = 0;
  let outputTokens = 0;
  for await (const bytes of response.body) {
    const now = performance.now();
    for (const message of parser.push(bytes)) {
      if (message.kind !== "event" || message.data === "[DONE]") continue;
      const chunk = JSON.parse(message.data) as {
        choices: { text: string; finish_reason: string | null }[];
        usage?: { completion_tokens: number };
        error?: { message: string };
      };
      if (chunk.error) throw new Error(`stream error: ${chunk.error.message}`);
      if (chunk.usage) outputTokens = chunk.usage.completion_tokens;
      // The first chunk of the choice (a token's text; a token that ends mid-character still
      // arrives with the next one, so this is the first token the client can show).
      if (ttft === 0 && chunk.choices[0]) ttft = now - start;
    }
  }
  return { model, ttftMs: ttft, e2eMs: performance.now() - start, outputTokens };
}

export interface MemoryPeaks {
  /** Peak resident set of the server process (VmHWM), bytes. */
  processPeakBytes: number;
  /** Per model: peak KV blocks touched (live + cached), and the gear arenas, bytes. */
  models: Record<string, { kvBlocksPeak: number; gearArenaBytes: number; blockSize: number }>;
}

interface GearsBody {
  data: {
    model: string;
    kv: { blockSize: number; blocksUsed: number; blocksCached: number };
    gears: { residentBytes: number }[];
  }[];
}

/** Samples /v1/gears every `everyMs` until stopped; reads VmHWM of the server at the end. */
export function memorySampler(server: RunningServer, everyMs = 200) {
  const peaks: MemoryPeaks = { processPeakBytes: 0, models: {} };
  let stopped = false;
  const sample = async () => {
    const body = (await (await fetch(`${server.url}/v1/gears`)).json()) as GearsBody;
    for (const m of body.data) {
      const p = peaks.models[m.model] ?? { kvBlocksPeak: 0, gearArenaBytes: 0, blockSize: m.kv.blockSize };
      peaks.models[m.model] = p;
      p.kvBlocksPeak = Math.max(p.kvBlocksPeak, m.kv.blocksUsed + m.kv.blocksCached);
      p.gearArenaBytes = Math.max(
        p.gearArenaBytes,
        m.gears.reduce((a, g) => a + g.residentBytes, 0),
      );
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await sample().catch(() => {});
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop(): Promise<MemoryPeaks> {
      stopped = true;
      await loop;
      await sample();
      peaks.processPeakBytes = processRss(server.child.pid).peak;
      return peaks;
    },
  };
}

/** VmRSS and VmHWM of a process (Linux /proc), bytes; 0 where /proc is not there. */
export function processRss(pid: number | undefined): { now: number; peak: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string) =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
    return { now: kb("VmRSS"), peak: kb("VmHWM") };
  } catch {
    return { now: 0, peak: 0 };
  }
}
