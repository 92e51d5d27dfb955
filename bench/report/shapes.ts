/**
 * Part 2 of the report: dynamic vs static shapes on one model, in process, the same workload three
 * ways, request by request in turns (so machine drift favours none):
 *
 * - gears: the default ladder, each step computing only its real rows (what gearbox serves);
 * - padded: the same ladder computing whole buckets (what a static-graph device computes; the
 *   engine's `gears.padded` comparison mode);
 * - exact: one plan per request, built for exactly its shape. The engine builds plans off the
 *   request path by design, so this mode is measured in two parts: the plan of each distinct
 *   shape is built (layout, kernel choice and autotune, arena committed and touched) by a model
 *   whose ladder is exactly the workload's shapes, the engine timing each build, and the request
 *   then runs on its exact plan; its latency is that run plus its plans' build times, as if the
 *   build had been on its path.
 *
 * The workload is prefill-bound (time to first token): the prompts of a realistic mix, one request
 * at a time; decode steps of one sequence have the same shape in all three modes.
 */
import type { EngineModel, GearStats } from "@gearbox/npu-backend/engine/engine";
import { defaultSampling } from "@gearbox/npu-backend/engine/engine";
import { nativeEngine } from "@gearbox/npu-backend/engine/native-engine";
import type { Tokenizer } from "@gearbox/npu-backend/tokenizer/tokenizer";
import { type PromptLanguage, proseOf } from "./prompts.js";

export const LADDER = [16, 32, 64, 128, 256, 512];

export interface WorkloadItem {
  kind: "english ~50 words" | "chinese ~100 characters" | "long tail";
  tokens: number[];
}

/** Seeded normal deviates (Box-Muller over a xorshift generator). */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const uniform = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) + 0.5) / 2 ** 32;
  };
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

/**
 * The mix: 45% English questions of about 50 words (sd 15), 40% Chinese of about 100 characters
 * (sd 30), 15% a long tail (English documents, log-normal around 400 words, at most 1500).
 * Lengths are the real tokenizer's counts of real prose, chat template left out.
 */
export function workload(tokenizer: Tokenizer, count: number, seed = 7): WorkloadItem[] {
  const r = rng(seed);
  const items: WorkloadItem[] = [];
  for (let i = 0; i < count; i++) {
    const u = r.uniform();
    let kind: WorkloadItem["kind"];
    let language: PromptLanguage;
    let chars: number;
    if (u < 0.45) {
      kind = "english ~50 words";
      language = "en";
      chars = Math.max(5, Math.round(50 + 15 * r.normal())) * 5.6;
    } else if (u < 0.85) {
      kind = "chinese ~100 characters";
      language = "zh";
      chars = Math.max(10, Math.round(100 + 30 * r.normal()));
    } else {
      kind = "long tail";
      language = "en";
      chars = Math.min(1500, Math.round(400 * Math.exp(0.6 * r.normal()))) * 5.6;
    }
    const text = proseOf(language, 1000 + i, chars).slice(0, chars);
    items.push({ kind, tokens: tokenizer.encode(text, { addBos: true }) });
  }
  return items;
}

/** Prefill chunks of at most the largest bucket (what the scheduler's step budget does). */
export const chunksOf = (n: number, max = LADDER[LADDER.length - 1] as number): number[] => {
  const out: number[] = [];
  for (let left = n; left > 0; left -= max) out.push(Math.min(max, left));
  return out;
};

async function prefill(model: EngineModel, tokens: number[]): Promise<number> {
  const { seq } = await model.createSequence({ ...defaultSampling, temperature: 0 });
  const start = performance.now();
  let at = 0;
  for (const size of chunksOf(tokens.length)) {
    const last = at + size === tokens.length;
    await model.step([{ seq, tokens: tokens.slice(at, at + size), sample: last }]);
    at += size;
  }
  const ms = performance.now() - start;
  await model.freeSequence(seq);
  return ms;
}

export interface ModeResult {
  mode: "gears (real rows)" | "padded buckets" | "exact plan per request";
  meanMs: number;
  p99Ms: number;
  /** Of which plan builds on the request path (exact mode). */
  buildMeanMs: number;
  realTokens: number;
  paddedTokens: number;
  /** Matmul FLOPs spent on padding rows. */
  wastedGflop: number;
  wastedShare: number;
  fallbacks: number;
}

export interface ShapesResult {
  requests: number;
  meanPromptTokens: number;
  p99PromptTokens: number;
  distinctShapes: number;
  gflopPerToken: number;
  modes: ModeResult[];
}

const percentile = (v: number[], p: number) => {
  const s = [...v].sort((a, b) => a - b);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (rank - lo);
};
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/** Matmul FLOPs per token of a forward pass (2 per weight of every layer; logits only at samples). */
export function flopsPerToken(info: EngineModel["info"]): number {
  const d = info.embeddingLength;
  const kv = info.headCountKv * info.headDim;
  const q = info.headCount * info.headDim;
  const perLayer = d * q + 2 * d * kv + q * d + 3 * d * info.feedForwardLength;
  return 2 * perLayer * info.blockCount;
}

export async function measureShapes(
  path: string,
  items: WorkloadItem[],
  threads: number,
  log: (s: string) => void,
): Promise<ShapesResult> {
  const shapes = [...new Set(items.flatMap((it) => chunksOf(it.tokens.length)))].sort((a, b) => a - b);
  const base = { threads, contextLength: 4096, kvCacheMiB: 256 };
  log(`  loading the model three times (gears, padded, exact ladder of ${shapes.length} shapes)`);
  const gears = await nativeEngine.loadModel(path, {
    ...base,
    gears: { prefill: LADDER, decodeBatch: [1], warm: "all" },
  });
  const padded = await nativeEngine.loadModel(path, {
    ...base,
    gears: { prefill: LADDER, decodeBatch: [1], warm: "all", padded: true },
  });
  const exact = await nativeEngine.loadModel(path, {
    ...base,
    gears: { prefill: shapes, decodeBatch: [1], warm: "all", maxResidentBytes: 8 * 2 ** 30 },
  });
  const models = [gears, padded, exact];
  try {
    const buildMs = new Map<number, number>();
    for (const g of exact.gearReport().gears)
      if (g.phase === "prefill") buildMs.set(g.bucket, g.compileMs + g.autotuneMs + g.warmMs);
    const times: number[][] = [[], [], []];
    const builds: number[] = [];
    for (const [i, it] of items.entries()) {
      // Rotate the order of the three modes from request to request.
      for (let k = 0; k < 3; k++) {
        const m = (i + k) % 3;
        (times[m] as number[]).push(await prefill(models[m] as EngineModel, it.tokens));
      }
      builds.push(chunksOf(it.tokens.length).reduce((a, s) => a + (buildMs.get(s) ?? 0), 0));
      if ((i + 1) % 10 === 0) log(`  ${i + 1}/${items.length} requests`);
    }
    const exactTimes = (times[2] as number[]).map((t, i) => t + (builds[i] as number));
    const fpt = flopsPerToken(gears.info);
    const stat = (model: EngineModel, mode: ModeResult["mode"], ts: number[], build: number): ModeResult => {
      const report = model.gearReport();
      const prefillGears = report.gears.filter((g: GearStats) => g.phase === "prefill");
      const realTokens = prefillGears.reduce((a, g) => a + g.realTokens, 0);
      const paddedTokens = prefillGears.reduce((a, g) => a + g.paddedTokens, 0);
      return {
        mode,
        meanMs: mean(ts),
        p99Ms: percentile(ts, 99),
        buildMeanMs: build,
        realTokens,
        paddedTokens,
        wastedGflop: (paddedTokens * fpt) / 1e9,
        wastedShare: paddedTokens / (realTokens + paddedTokens),
        fallbacks: report.fallbacks,
      };
    };
    const lengths = items.map((it) => it.tokens.length);
    return {
      requests: items.length,
      meanPromptTokens: mean(lengths),
      p99PromptTokens: percentile(lengths, 99),
      distinctShapes: shapes.length,
      gflopPerToken: fpt / 1e9,
      modes: [
        stat(gears, "gears (real rows)", times[0] as number[], 0),
        stat(padded, "padded buckets", times[1] as number[], 0),
        stat(exact, "exact plan per request", exactTimes, mean(builds)),
      ],
    };
  } finally {
    for (const m of models) await m.close();
  }
}
