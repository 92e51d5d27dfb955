/**
 * The engine against an independent float64 forward pass (test/support/reference-llama.ts: plain
 * TypeScript over weights dequantized by the TypeScript codecs). It checks the architecture itself —
 * RoPE with Llama 3 frequency factors and with none, grouped-query and full attention, tied and
 * untied output — independently of llama.cpp.
 *
 * Tolerances (nats, top-5 log-probabilities): f32 weights: the engine still rounds the KV cache,
 * q and the attention weights to f16 (as llama.cpp does), 0.02; q8_0 adds activation quantization
 * before every matmul, 0.3 (measured worst 0.17 on these models).
 */

import type { ModelFileType } from "@gearbox/gguf/model-maker/file-types";
import type { ShapeName } from "@gearbox/gguf/model-maker/shapes";
import { describe, expect, it } from "vitest";
import { ReferenceLlama } from "../../../test/support/reference-llama.js";
import { defaultSampling } from "../src/engine/engine.js";
import { nativeEngine } from "../src/engine/native-engine.js";
import { ensureModel } from "./support/models.js";

const PROMPTS = [
  [128000, 9906, 1917, 11, 358, 1097, 264, 1296, 315, 279, 4062, 14198, 39935],
  [128000, 37046, 21043, 104070, 3922, 105301, 117481],
];

const CASES: Array<[ShapeName, ModelFileType, number]> = [
  ["tiny", "f32", 0.02],
  ["tiny-alt", "f32", 0.02],
  ["tiny", "q8_0", 0.3],
];

function logSoftmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] as number);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp((logits[i] as number) - max);
  const lz = max + Math.log(sum);
  return Float64Array.from(logits as ArrayLike<number>, (v) => v - lz);
}

describe.each(CASES)("%s %s against a float64 reference", (shape, type, tolerance) => {
  it("gives the same next-token log-probabilities", async () => {
    const path = await ensureModel(shape, type);
    const reference = new ReferenceLlama(path);
    const model = await nativeEngine.loadModel(path, {
      threads: 2,
      contextLength: 128,
      kvCacheMiB: 16,
      gears: { prefill: [16], decodeBatch: [1], warm: "all" },
    });
    try {
      for (const prompt of PROMPTS) {
        const ideal = logSoftmax(reference.logits(prompt));
        const { seq } = await model.createSequence({ ...defaultSampling, temperature: 0 });
        const [r] = await model.step([{ seq, tokens: prompt, sample: true, returnLogits: true }]);
        const mine = logSoftmax(r?.logits as Float32Array);
        const top = [...ideal.keys()].sort((a, b) => (ideal[b] as number) - (ideal[a] as number)).slice(0, 5);
        for (const t of top)
          expect(Math.abs((mine[t] as number) - (ideal[t] as number)), `token ${t}`).toBeLessThan(tolerance);
        await model.freeSequence(seq);
      }
    } finally {
      await model.close();
    }
  });
});
