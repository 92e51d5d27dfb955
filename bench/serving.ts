/**
 * Serving benchmark, after vLLM's benchmark_serving: a `gearbox serve` process on a model (default:
 * the 1b-shaped synthetic model), and a load generator here that keeps C streaming requests in
 * flight for each concurrency C, and reports what benchmark_serving reports — TTFT, inter-token
 * latency (ITL), time per output token (TPOT), end-to-end latency (medians and p99) and the
 * aggregate output tok/s — plus the engine's own prefill time for the same prompt length, measured
 * in this process before the server starts, as the floor TTFT is compared with.
 *
 * Requests go to /v1/completions with token-id prompts (exact lengths, all different so the prefix
 * cache never helps) and end-of-generation tokens banned with logit_bias (exact output lengths, as
 * benchmark_serving's ignore_eos).
 *
 * Run from the repository root:
 *   node bench/run-ts.mjs bench/serving.ts [--model FILE] [--concurrency 1,4,16] [--prompt-tokens 64]
 *        [--output-tokens 128] [--requests 2,4,16] [--rounds 2] [--ttft-pairs 8] [--threads N] [--json]
 *
 * --requests is per level and round; the levels take turns for --rounds rounds.
 */
import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { makeModel } from "@gearbox/gguf/model-maker/make-model";
import { defaultSampling } from "@gearbox/npu-backend/engine/engine";
import { nativeEngine } from "@gearbox/npu-backend/engine/native-engine";
import { loadTokenizer } from "@gearbox/npu-backend/tokenizer/tokenizer";
import { SseParser } from "@gearbox/shared";
import { type BackendProcess, startBackendProcess } from "../test/support/backend-process.js";
import { median, percentile } from "./lib/stats.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    concurrency: { type: "string", default: "1,4,16" },
    requests: { type: "string" },
    "prompt-tokens": { type: "string", default: "64" },
    "output-tokens": { type: "string", default: "128" },
    threads: { type: "string", default: "0" },
    "ttft-pairs": { type: "string", default: "8" },
    rounds: { type: "string", default: "2" },
    json: { type: "boolean", default: false },
  },
});
const list = (text: string) => text.split(",").map((s) => Number(s.trim()));
const CONCURRENCY = list(values.concurrency as string);
const REQUESTS = values.requests ? list(values.requests) : CONCURRENCY.map((c) => Math.max(2, c));
const PROMPT_TOKENS = Number(values["prompt-tokens"]);
const OUTPUT_TOKENS = Number(values["output-tokens"]);
const THREADS = Number(values.threads);
const GEARS = { prefill: [16, 32, 64, 128, 256, 512], decodeBatch: [1, 2, 4, 8, 16], warm: "all" as const };
// Run from the repository root (the driver is bundled elsewhere, so paths are not taken from it).
const DEFAULT_MODEL = resolve(".cache/models/bench-1b-q8_0.gguf");

const log = (line: string) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------- statistics

// ---------------------------------------------------------------- prompts

/** Deterministic distinct prompts: BOS and ordinary token ids from a seeded generator. */
function makePrompts(count: number, length: number, seed: number, bos: number): number[][] {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  return Array.from({ length: count }, () => [
    bos,
    ...Array.from({ length: length - 1 }, () => 1000 + Math.floor(next() * 100_000)),
  ]);
}

// ---------------------------------------------------------------- the engine alone

type LoadedModel = Awaited<ReturnType<typeof nativeEngine.loadModel>>;

function loadEngine(path: string): Promise<LoadedModel> {
  return nativeEngine.loadModel(path, {
    threads: THREADS,
    contextLength: 2048,
    kvCacheMiB: 256,
    gears: GEARS,
  });
}

/** The engine's own time to prefill a prompt and sample the first token. */
async function enginePrefillMs(model: LoadedModel, prompt: number[]): Promise<number> {
  const { seq } = await model.createSequence({ ...defaultSampling, temperature: 0 }, prompt);
  const start = performance.now();
  await model.step([{ seq, tokens: prompt, sample: true }]);
  const ms = performance.now() - start;
  await model.freeSequence(seq);
  return ms;
}

/** The engine's own decode step time (median of 16 steps) with `batch` sequences. */
async function engineDecodeStepMs(model: LoadedModel, batch: number, prompts: number[][]): Promise<number> {
  const seqs: number[] = [];
  const next: number[] = [];
  for (const prompt of prompts.slice(0, batch)) {
    const { seq } = await model.createSequence({ ...defaultSampling, temperature: 0 }, prompt);
    const [r] = await model.step([{ seq, tokens: prompt, sample: true }]);
    seqs.push(seq);
    next.push(r?.token ?? 0);
  }
  const times: number[] = [];
  for (let i = 0; i < 17; i++) {
    const start = performance.now();
    const results = await model.step(
      seqs.map((seq, k) => ({ seq, tokens: [next[k] as number], sample: true })),
    );
    times.push(performance.now() - start);
    results.forEach((r, k) => {
      next[k] = r.token;
    });
  }
  for (const seq of seqs) await model.freeSequence(seq);
  return median(times.slice(1));
}

// ---------------------------------------------------------------- the server

async function startServer(path: string): Promise<BackendProcess> {
  const dir = await mkdtemp(join(tmpdir(), "gearbox-bench-"));
  const config = join(dir, "gearbox.config.json");
  await writeFile(
    config,
    JSON.stringify({
      models: [{ id: "bench", path }],
      engine: { threads: THREADS, contextLength: 2048, kvCacheMiB: 256 },
      gears: { ...GEARS, cacheDir: "" },
      limits: { maxQueue: 4096 },
      auth: { open: true },
      log: { level: "warn" },
    }),
  );
  return startBackendProcess(["--config", config], { GEARBOX_UPSTREAM_SECRET: "" });
}

// ---------------------------------------------------------------- one request

interface RequestTiming {
  ttftMs: number;
  /** Gaps between consecutive text chunks. */
  itlMs: number[];
  e2eMs: number;
  outputTokens: number;
}

async function timedRequest(
  url: string,
  prompt: number[],
  banned: Record<string, number>,
  maxTokens = OUTPUT_TOKENS,
): Promise<RequestTiming> {
  const start = performance.now();
  const response = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "bench",
      prompt,
      max_tokens: maxTokens,
      temperature: 0,
      stream: true,
      logit_bias: banned,
    }),
  });
  if (response.status !== 200 || !response.body)
    throw new Error(`status ${response.status}: ${await response.text()}`);
  const parser = new SseParser();
  let ttft = 0;
  let last = 0;
  const itl: number[] = [];
  let outputTokens = 0;
  for await (const bytes of response.body) {
    const now = performance.now();
    for (const message of parser.push(bytes)) {
      if (message.kind !== "event" || message.data === "[DONE]") continue;
      const chunk = JSON.parse(message.data) as {
        choices: { text: string }[];
        usage?: { completion_tokens: number };
      };
      if (chunk.usage) outputTokens = chunk.usage.completion_tokens;
      if (!chunk.choices[0]?.text) continue;
      if (ttft === 0) ttft = now - start;
      else itl.push(now - last);
      last = now;
    }
  }
  return { ttftMs: ttft, itlMs: itl, e2eMs: performance.now() - start, outputTokens };
}

// ---------------------------------------------------------------- one concurrency level

interface LevelResult {
  concurrency: number;
  requests: number;
  durationS: number;
  outputTokensPerS: number;
  ttftMs: { median: number; p99: number };
  itlMs: { median: number; p99: number };
  tpotMs: { median: number; p99: number };
  e2eMs: { median: number; p99: number };
}

/** C clients, each sending its next request as soon as its last one ended, until the prompts run out. */
async function runBatch(
  url: string,
  concurrency: number,
  prompts: number[][],
  banned: Record<string, number>,
) {
  const timings: RequestTiming[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const prompt = prompts[next++];
        if (!prompt) return;
        timings.push(await timedRequest(url, prompt, banned));
      }
    }),
  );
  return { timings, seconds: (performance.now() - start) / 1000 };
}

/** One level's figures from its batches of every round. */
function levelResult(
  concurrency: number,
  batches: { timings: RequestTiming[]; seconds: number }[],
): LevelResult {
  const timings = batches.flatMap((b) => b.timings);
  const durationS = batches.reduce((sum, b) => sum + b.seconds, 0);
  const tokens = timings.reduce((sum, t) => sum + t.outputTokens, 0);
  const tpot = timings
    .filter((t) => t.outputTokens > 1)
    .map((t) => (t.e2eMs - t.ttftMs) / (t.outputTokens - 1));
  const stat = (v: number[]) => ({ median: median(v), p99: percentile(v, 99) });
  return {
    concurrency,
    requests: timings.length,
    durationS,
    outputTokensPerS: tokens / durationS,
    ttftMs: stat(timings.map((t) => t.ttftMs)),
    itlMs: stat(timings.flatMap((t) => t.itlMs)),
    tpotMs: stat(tpot),
    e2eMs: stat(timings.map((t) => t.e2eMs)),
  };
}

// ---------------------------------------------------------------- main

const modelPath = values.model ? resolve(values.model) : DEFAULT_MODEL;
if (!existsSync(modelPath)) {
  if (values.model) throw new Error(`no such model file: ${modelPath}`);
  log(`making the 1b-shaped synthetic model at ${modelPath} (about 1.3 GB)...`);
  await makeModel({ shape: "1b", type: "q8_0", out: modelPath });
}
const tokenizer = loadTokenizer(modelPath);
const banned = Object.fromEntries([...tokenizer.eogIds].map((id) => [String(id), -100]));
const ROUNDS = Number(values.rounds);
const total = REQUESTS.reduce((a, b) => a + b, 0) * ROUNDS;
const TTFT_PAIRS = Number(values["ttft-pairs"]);
const prompts = makePrompts(total + 2 + 2 * TTFT_PAIRS, PROMPT_TOKENS, 42, tokenizer.bosId);

log(`model ${modelPath}, ${cpus().length} cores, threads ${THREADS || "all"}`);
const server = await startServer(modelPath);
const results: LevelResult[] = [];
const floor = {
  prefillMs: [] as number[],
  ttftMs: [] as number[],
  decodeStepMs: {} as Record<number, number>,
};
try {
  // Warm-up: one request through the whole path.
  await timedRequest(server.url, prompts[total] as number[], banned, 1);

  // The engine alone, in this process, while the server idles: its prefill of the same prompt
  // length, measured in turns with the server's TTFT (so that a busy machine slows both alike),
  // and its decode step times.
  const engine = await loadEngine(modelPath);
  try {
    for (let i = 0; i < TTFT_PAIRS; i++) {
      const engineTurn = async () =>
        floor.prefillMs.push(await enginePrefillMs(engine, prompts[total + 1 + 2 * i] as number[]));
      const serverTurn = async () =>
        floor.ttftMs.push(
          (await timedRequest(server.url, prompts[total + 2 + 2 * i] as number[], banned, 1)).ttftMs,
        );
      // Alternate which goes first, so that a machine slowing down or speeding up favours neither.
      if (i % 2 === 0) {
        await engineTurn();
        await serverTurn();
      } else {
        await serverTurn();
        await engineTurn();
      }
    }
    for (const batch of [1, 4, 16])
      floor.decodeStepMs[batch] = await engineDecodeStepMs(engine, batch, prompts);
  } finally {
    await engine.close();
  }
  log(
    `engine prefill ${median(floor.prefillMs).toFixed(1)} ms, server TTFT ${median(floor.ttftMs).toFixed(1)} ms (medians of ${TTFT_PAIRS} turns); ` +
      `engine decode step b1/b4/b16: ${[1, 4, 16].map((b) => floor.decodeStepMs[b]?.toFixed(1)).join(" / ")} ms`,
  );

  // The levels take turns, round after round, so that a machine slowing down or speeding up (other
  // work on it) weighs on every level alike; each level's figures pool its batches of all rounds.
  const batches: { timings: RequestTiming[]; seconds: number }[][] = CONCURRENCY.map(() => []);
  let offset = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, concurrency] of CONCURRENCY.entries()) {
      const count = REQUESTS[i] ?? concurrency;
      const batch = await runBatch(server.url, concurrency, prompts.slice(offset, offset + count), banned);
      offset += count;
      batches[i]?.push(batch);
      const tokens = batch.timings.reduce((sum, t) => sum + t.outputTokens, 0);
      log(
        `round ${round + 1}, concurrency ${concurrency}: ${(tokens / batch.seconds).toFixed(2)} tok/s over ${batch.seconds.toFixed(1)} s`,
      );
    }
  }
  CONCURRENCY.forEach((concurrency, i) => {
    results.push(levelResult(concurrency, batches[i] ?? []));
  });
} finally {
  await server.stop();
}

const base = results.find((r) => r.concurrency === 1);
const four = results.find((r) => r.concurrency === 4);
const summary = {
  model: modelPath,
  cores: cpus().length,
  cpu: cpus()[0]?.model,
  promptTokens: PROMPT_TOKENS,
  outputTokens: OUTPUT_TOKENS,
  engine: {
    prefillMs: median(floor.prefillMs),
    decodeStepMs: floor.decodeStepMs,
  },
  ttftMs: median(floor.ttftMs),
  levels: results,
  goals: {
    throughputRatio4to1: base && four ? four.outputTokensPerS / base.outputTokensPerS : null,
    ttftOverFloorMs: median(floor.ttftMs) - (median(floor.prefillMs) * 1.05 + 2),
  },
};
if (values.json) {
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
} else {
  const f = (n: number) => n.toFixed(1);
  const rows = results.map(
    (r) =>
      `| ${r.concurrency} | ${r.requests} | ${r.outputTokensPerS.toFixed(2)} | ${f(r.ttftMs.median)} / ${f(r.ttftMs.p99)} | ` +
      `${f(r.itlMs.median)} / ${f(r.itlMs.p99)} | ${f(r.tpotMs.median)} / ${f(r.tpotMs.p99)} | ${(r.e2eMs.median / 1000).toFixed(2)} / ${(r.e2eMs.p99 / 1000).toFixed(2)} |`,
  );
  process.stdout.write(
    [
      `prompt ${PROMPT_TOKENS} tokens, output ${OUTPUT_TOKENS} tokens; engine alone: prefill ${f(summary.engine.prefillMs)} ms, ` +
        `decode step b1 / b4 / b16 ${[1, 4, 16].map((b) => f(floor.decodeStepMs[b] ?? Number.NaN)).join(" / ")} ms`,
      "",
      "| concurrency | requests | output tok/s | TTFT ms (median / p99) | ITL ms | TPOT ms | e2e s |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      ...rows,
      "",
      `c=4 / c=1 output tok/s: ${summary.goals.throughputRatio4to1?.toFixed(2)} (goal >= 3)`,
      `TTFT at c=1 (max_tokens 1, in turns with the engine's prefill): ${f(summary.ttftMs)} ms; ` +
        `minus (1.05 x engine prefill + 2 ms): ${summary.goals.ttftOverFloorMs.toFixed(1)} ms (goal <= 0)`,
      "",
    ].join("\n"),
  );
}
