/**
 * `gearbox bench`: engine throughput on a model file — prefill at several prompt lengths, decode at
 * several batch sizes (aggregate tok/s over all sequences of the batch), load time and peak RSS.
 * Each figure is the median of --repeat runs, each prompt length after one untimed warm-up prefill
 * of that length (as llama.cpp's llama-bench warms up before each test), so the first forward after
 * load (cold caches, first touch of KV blocks) is not counted as a prefill speed. Timings only;
 * nothing here asserts a speed.
 */
import { defaultSampling, type Engine } from "../engine/engine.js";
import { nativeEngine } from "../engine/native-engine.js";
import { integerOption, parseCommandArgs, requireOption, runCommand, UsageError } from "./args.js";
import { progressBar } from "./progress.js";

const USAGE = `usage: gearbox bench --model FILE [--prompt-lengths 16,64,256] [--gen N] [--batch 1,4,8]
                     [--repeat R] [--threads N] [--json]

Measures prefill tok/s at each prompt length and decode tok/s at each batch size (the aggregate of
all sequences), with load time and peak RSS. Figures are medians of --repeat runs (default 3);
each prompt length is run once untimed first (a warm-up, as llama-bench does).
`;

export interface BenchResult {
  model: string;
  threads: number;
  isa: string;
  load_ms: number;
  peak_rss_bytes: number;
  prefill: Array<{ prompt_tokens: number; tokens_per_s: number; ms: number }>;
  decode: Array<{ batch: number; tokens_per_s: number }>;
}

function listOption(value: string | undefined, name: string, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  const parts = value.split(",").map((s) => Number(s.trim()));
  if (parts.some((n) => !Number.isSafeInteger(n) || n < 1))
    throw new UsageError(`--${name} must list positive integers`);
  return parts;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Deterministic ordinary-token prompts (ids well inside the normal vocabulary). */
function promptTokens(n: number, salt: number): number[] {
  return Array.from({ length: n }, (_, i) => 1000 + ((i * 7919 + salt * 104729) % 100000));
}

/** A model loaded for benchmarking: prefill and decode timings on demand. */
export interface BenchSession {
  loadMs: number;
  threads: number;
  isa: string;
  /** One prefill of a fresh P-token prompt (no prefix-cache hit) and its first token; milliseconds. */
  prefill(P: number): Promise<number>;
  /** B sequences after 16-token prompts, then `gen` decode steps; the aggregate tok/s of those steps. */
  decode(B: number, gen: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Loads `path` on `engine` with gears for prompts up to `maxPrompt` tokens and batches up to
 * `maxBatch` sequences, all warmed at load (so no timing pays a compile). Shared by `benchModel` and
 * the bench drivers that interleave gearbox with llama.cpp prefill by prefill (bench/prefill-pairs.ts).
 */
export async function openBench(
  engine: Engine,
  path: string,
  opts: { maxPrompt: number; maxBatch: number; gen: number; threads?: number },
  onProgress?: (f: number, label: string) => void,
): Promise<BenchSession> {
  const { maxPrompt, maxBatch } = opts;
  const prefillGears = [
    ...new Set(
      [16, 32, 64, 128, 256, 512]
        .filter((g) => g < maxPrompt)
        .concat([Math.min(512, 2 ** Math.ceil(Math.log2(maxPrompt)))]),
    ),
  ];
  const decodeGears = [...new Set([1, 2, 4, 8, 16].filter((g) => g < maxBatch).concat([maxBatch]))];
  const t0 = performance.now();
  const model = await engine.loadModel(path, {
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    contextLength: Math.max(1024, maxPrompt + opts.gen + 32),
    kvCacheMiB: 1024,
    gears: { prefill: prefillGears, decodeBatch: decodeGears, warm: "all", cacheDir: ".gearbox/plans" },
    ...(onProgress ? { onProgress } : {}),
  });
  const loadMs = performance.now() - t0;
  const greedy = { ...defaultSampling, temperature: 0 };
  let salt = 0;
  return {
    loadMs,
    threads: model.device.threads,
    isa: model.device.isa,
    async prefill(P) {
      const tokens = promptTokens(P, ++salt); // a new prompt each time: no prefix-cache hits
      const { seq } = await model.createSequence(greedy);
      const t = performance.now();
      await model.step([{ seq, tokens, sample: true }]);
      const ms = performance.now() - t;
      await model.freeSequence(seq);
      return ms;
    },
    async decode(B, gen) {
      const seqs: number[] = [];
      for (let b = 0; b < B; b++) seqs.push((await model.createSequence(greedy)).seq);
      let results = await model.step(
        seqs.map((seq) => ({ seq, tokens: promptTokens(16, ++salt), sample: true })),
      );
      const t = performance.now();
      for (let i = 0; i < gen; i++)
        results = await model.step(results.map((x) => ({ seq: x.seq, tokens: [x.token], sample: true })));
      const rate = ((B * gen) / (performance.now() - t)) * 1000;
      for (const s of seqs) await model.freeSequence(s);
      return rate;
    },
    close: () => model.close(),
  };
}

/** Benchmarks one model file on `engine` (any implementation of the Engine interface). */
export async function benchModel(
  engine: Engine,
  path: string,
  opts: { promptLengths: number[]; gen: number; batches: number[]; repeat: number; threads?: number },
  onProgress?: (f: number, label: string) => void,
): Promise<BenchResult> {
  const session = await openBench(
    engine,
    path,
    {
      maxPrompt: Math.max(...opts.promptLengths),
      maxBatch: Math.max(...opts.batches),
      gen: opts.gen,
      ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    },
    onProgress,
  );
  const result: BenchResult = {
    model: path,
    threads: session.threads,
    isa: session.isa,
    load_ms: Math.round(session.loadMs),
    peak_rss_bytes: 0,
    prefill: [],
    decode: [],
  };
  try {
    for (const P of opts.promptLengths) {
      const times: number[] = [];
      // r = -1: the warm-up, not timed
      for (let r = -1; r < opts.repeat; r++) {
        const ms = await session.prefill(P);
        if (r >= 0) times.push(ms);
      }
      const ms = median(times);
      result.prefill.push({ prompt_tokens: P, tokens_per_s: round((P / ms) * 1000), ms: round(ms) });
    }
    for (const B of opts.batches) {
      const rates: number[] = [];
      for (let r = 0; r < opts.repeat; r++) rates.push(await session.decode(B, opts.gen));
      result.decode.push({ batch: B, tokens_per_s: round(median(rates)) });
    }
  } finally {
    await session.close();
  }
  result.peak_rss_bytes = process.resourceUsage().maxRSS * 1024;
  return result;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

export async function run(argv: string[]): Promise<number> {
  return runCommand(USAGE, async () => {
    const o = parseCommandArgs(argv, {
      model: { type: "string", short: "m" },
      "prompt-lengths": { type: "string" },
      gen: { type: "string" },
      batch: { type: "string" },
      repeat: { type: "string" },
      threads: { type: "string", short: "t" },
      json: { type: "boolean" },
    });
    if (o.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const path = requireOption(o.model, "model");
    const threads = integerOption(o.threads, "threads", 1, 1024);
    const bar = progressBar("load");
    const r = await benchModel(
      nativeEngine,
      path,
      {
        promptLengths: listOption(o["prompt-lengths"], "prompt-lengths", [16, 64, 256]),
        gen: integerOption(o.gen, "gen", 1, 100000) ?? 32,
        batches: listOption(o.batch, "batch", [1, 4, 8]),
        repeat: integerOption(o.repeat, "repeat", 1, 1000) ?? 3,
        ...(threads !== undefined ? { threads } : {}),
      },
      (f, label) => bar.update(f, label),
    );
    bar.done();
    if (o.json) {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return 0;
    }
    process.stdout.write(
      `${r.model}  (${r.isa}, ${r.threads} threads)  load ${r.load_ms} ms  peak RSS ${(r.peak_rss_bytes / 1e6).toFixed(0)} MB\n`,
    );
    for (const p of r.prefill)
      process.stdout.write(
        `prefill ${String(p.prompt_tokens).padStart(5)} tokens: ${p.tokens_per_s.toFixed(1)} tok/s (${p.ms} ms)\n`,
      );
    for (const d of r.decode)
      process.stdout.write(
        `decode  batch ${String(d.batch).padStart(3)}: ${d.tokens_per_s.toFixed(1)} tok/s aggregate\n`,
      );
    return 0;
  });
}
