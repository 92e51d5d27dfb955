/**
 * gearbox's engine against llama.cpp (node-llama-cpp 3.21.1, CPU) on the same synthetic files.
 *
 * Teacher-forced: both engines see the same history at every step (our greedy tokens are fed to
 * llama.cpp too), so one near-tie cannot derail the rest of the comparison. At each of 32 steps on
 * English, Chinese and code prompts we compare the log-probabilities of llama.cpp's top 5 tokens.
 *
 * Tolerances (nats), from measurements on these models (docs/engine.md) with about 2x margin:
 * f32 and f16 differ only by the order of float sums and llama.cpp's exp approximations, so the f16
 * KV cache rounding dominates; bf16 and the quantized types also quantize activations (q8_0 / q8_K)
 * before every matmul, and a rounding that lands differently in the two engines moves a value by a
 * whole quantum: their floor is the activation-quantization noise, the same size as each engine's
 * distance from an exact float64 forward pass (engine-reference.test.ts).
 *
 * The greedy choice must agree at every step, except where llama.cpp's own top two are closer than
 * the type's tolerance (a numerical tie: either choice is correct), and such ties must be rare.
 * For f32 and f16, free-running greedy generation must be identical for 32 tokens (or part only
 * at such a tie, on at most one prompt).
 */

import type { ModelFileType } from "@gearbox/gguf/model-maker/file-types";
import type { ShapeName } from "@gearbox/gguf/model-maker/shapes";
import { getLlama, type Llama, LlamaLogLevel, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultSampling, type EngineModel } from "../src/engine/engine.js";
import { nativeEngine } from "../src/engine/native-engine.js";
import { loadTokenizer } from "../src/tokenizer/tokenizer.js";
import { ensureModel } from "./support/models.js";

const STEPS = 32;
const PROMPTS = [
  "The quick brown fox jumps over the lazy dog. Then",
  "人工智能正在改变我们的生活方式，",
  "def fibonacci(n):\n    if n < 2:\n        return n\n",
];

const TOLERANCE: Record<ModelFileType, { median: number; max: number }> = {
  f32: { median: 0.003, max: 0.02 },
  f16: { median: 0.01, max: 0.03 },
  bf16: { median: 0.05, max: 0.15 },
  q8_0: { median: 0.15, max: 0.4 },
  q4_0: { median: 0.15, max: 0.4 },
  q4_k_m: { median: 0.2, max: 0.5 },
};

const CASES: Array<[ShapeName, ModelFileType]> = [
  ["tiny", "f32"],
  ["tiny", "f16"],
  ["tiny", "bf16"],
  ["tiny", "q8_0"],
  ["tiny", "q4_0"],
  ["tiny", "q4_k_m"],
  ["tiny-alt", "q8_0"],
  ["tiny-alt", "f16"],
];

let llama: Llama;
const greedy = { ...defaultSampling, temperature: 0 };

beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
});
afterAll(async () => {
  await llama?.dispose();
});

function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const lz = max + Math.log(sum);
  return Float64Array.from(logits, (v) => v - lz);
}

async function loadOurs(path: string): Promise<EngineModel> {
  return nativeEngine.loadModel(path, {
    threads: 2,
    contextLength: 256,
    kvCacheMiB: 32,
    gears: { prefill: [64], decodeBatch: [1], warm: "all" },
  });
}

describe.each(CASES)("%s %s against llama.cpp", (shape, type) => {
  let path: string;
  let ours: EngineModel;
  let prompts: number[][];

  beforeAll(async () => {
    path = await ensureModel(shape, type);
    ours = await loadOurs(path);
    const tokenizer = loadTokenizer(path);
    prompts = PROMPTS.map((p) => tokenizer.encode(p, { addBos: true }));
    tokenizer.dispose();
  });
  afterAll(async () => {
    await ours?.close();
  });

  it("teacher-forced: same log-probabilities within tolerance and the same greedy choice except at ties", async () => {
    const model = await llama.loadModel({ modelPath: path });
    const context = await model.createContext({ contextSize: 256, flashAttention: false, threads: 2 });
    const tol = TOLERANCE[type];
    const diffs: number[] = [];
    let ties = 0;
    try {
      for (const prompt of prompts) {
        const { seq } = await ours.createSequence(greedy);
        const sequence = context.getSequence();
        const theirs = sequence.evaluateWithMetadata(
          prompt as Token[],
          { probabilities: true },
          { temperature: 1, topK: 0, topP: 1, minP: 0 },
        );
        let feed: number[] = prompt;
        let next = await theirs.next();
        for (let step = 0; step < STEPS; step++) {
          if (next.done || !next.value) throw new Error("llama.cpp stopped early");
          const [r] = await ours.step([{ seq, tokens: feed, sample: true, returnLogits: true }]);
          if (!r?.logits) throw new Error("no logits");
          const mine = logSoftmax(r.logits);
          const top = [...next.value.probabilities.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
          let d = 0;
          for (const [token, p] of top) d = Math.max(d, Math.abs(Math.log(p) - (mine[token] as number)));
          diffs.push(d);
          expect(d, `step ${step}: top-5 log-prob difference`).toBeLessThanOrEqual(tol.max);
          const [first, second] = top as unknown as [[number, number], [number, number]];
          if (first[0] !== r.token) {
            // Allowed only where llama.cpp itself cannot tell the top two apart.
            expect(
              Math.log(first[1]) - Math.log(second[1]),
              `step ${step}: greedy choice differs`,
            ).toBeLessThan(tol.max);
            ties++;
          }
          feed = [r.token];
          next = await theirs.next(r.token as Token);
        }
        await theirs.return();
        sequence.dispose();
        await ours.freeSequence(seq);
      }
    } finally {
      await context.dispose();
      await model.dispose();
    }
    const sorted = [...diffs].sort((a, b) => a - b);
    expect(sorted[sorted.length >> 1] as number).toBeLessThanOrEqual(tol.median);
    expect(ties).toBeLessThanOrEqual(Math.ceil(0.1 * diffs.length));
  });

  if (type === "f32" || type === "f16") {
    it("free-running greedy generation is identical for 32 tokens, or until a numerical tie", async () => {
      const model = await llama.loadModel({ modelPath: path });
      const context = await model.createContext({ contextSize: 256, flashAttention: false, threads: 2 });
      let fullRuns = 0;
      try {
        for (const prompt of prompts) {
          const sequence = context.getSequence();
          const theirs: number[] = [];
          for await (const t of sequence.evaluate(prompt as Token[], { temperature: 0 })) {
            theirs.push(t);
            if (theirs.length >= STEPS) break;
          }
          sequence.dispose();
          const { seq } = await ours.createSequence(greedy);
          const mine: number[] = [];
          const gaps: number[] = [];
          let feed = prompt;
          while (mine.length < STEPS) {
            const [r] = await ours.step([{ seq, tokens: feed, sample: true, returnLogits: true }]);
            const sorted = Float32Array.from(r?.logits as Float32Array).sort();
            gaps.push((sorted[sorted.length - 1] as number) - (sorted[sorted.length - 2] as number));
            mine.push(r?.token as number);
            feed = [r?.token as number];
          }
          await ours.freeSequence(seq);
          const diverge = mine.findIndex((t, i) => t !== theirs[i]);
          if (diverge < 0) fullRuns++;
          // Texts may only part where the top two logits are within the type's tolerance.
          else
            expect(gaps[diverge] as number, `diverged at ${diverge}: ${mine} vs ${theirs}`).toBeLessThan(
              TOLERANCE[type].max,
            );
        }
      } finally {
        await context.dispose();
        await model.dispose();
      }
      expect(fullRuns).toBeGreaterThanOrEqual(prompts.length - 1);
    });
  }
});
