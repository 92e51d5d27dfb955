/**
 * The sampler's token mask on the real engine (tiny q8_0): greedy, temperature, top-k/top-p/min-p
 * and logprobs only ever see allowed tokens; masks given with the step or late (computed while the
 * forward pass runs) act the same; bad masks are refused and the model keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultSampling, type EngineModel, type SamplingParams } from "../src/engine/engine.js";
import { nativeEngine } from "../src/engine/native-engine.js";
import { ensureModel } from "./support/models.js";

let model: EngineModel;
let vocab: number;

beforeAll(async () => {
  model = await nativeEngine.loadModel(await ensureModel("tiny", "q8_0"), {
    threads: 2,
    contextLength: 256,
    kvCacheMiB: 16,
    gears: { prefill: [16], decodeBatch: [1, 2], warm: "none" },
  });
  vocab = model.info.vocabSize;
});
afterAll(async () => {
  await model?.close();
});

function maskOf(tokens: readonly number[]): Int32Array {
  const mask = new Int32Array(Math.ceil(vocab / 32));
  for (const t of tokens) mask[t >> 5] = (mask[t >> 5] as number) | (1 << (t & 31));
  return mask;
}

const prompt = [128000, 791, 6460, 374, 1234, 5678];

async function sampleOnce(params: SamplingParams, mask?: Int32Array, late = false) {
  const { seq } = await model.createSequence(params);
  try {
    const [r] = late
      ? await model.step([{ seq, tokens: prompt, sample: true, returnLogits: true }], async () => [mask])
      : await model.step([
          { seq, tokens: prompt, sample: true, returnLogits: true, ...(mask ? { mask } : {}) },
        ]);
    return r as {
      token: number;
      logits?: Float32Array;
      logprob?: number;
      topLogprobs?: { token: number; logprob: number }[];
    };
  } finally {
    await model.freeSequence(seq);
  }
}

describe("token mask", () => {
  it("greedy picks the best allowed token, not the best token", async () => {
    const free = await sampleOnce({ ...defaultSampling, temperature: 0 });
    const logits = free.logits as Float32Array;
    // Allow three tokens that are not the argmax; the answer must be the best of them.
    const allowed = [17, 9000, 120000].filter((t) => t !== free.token);
    const best = allowed.reduce((a, b) => ((logits[b] as number) > (logits[a] as number) ? b : a));
    const masked = await sampleOnce({ ...defaultSampling, temperature: 0 }, maskOf(allowed));
    expect(masked.token).toBe(best);
    const late = await sampleOnce({ ...defaultSampling, temperature: 0 }, maskOf(allowed), true);
    expect(late.token).toBe(best);
    // With logprobs greedy takes the path that writes -inf into the logits: the same token.
    const withLogprobs = await sampleOnce(
      { ...defaultSampling, temperature: 0, logprobs: true },
      maskOf(allowed),
    );
    expect(withLogprobs.token).toBe(best);
    expect(withLogprobs.logprob).toBeLessThanOrEqual(0);
    // Bits past the vocabulary's end in the last word are ignored.
    const tail = maskOf([allowed[0] as number]);
    tail[tail.length - 1] = -1;
    const last = Math.ceil(vocab / 32) * 32;
    if (last > vocab) {
      const r = await sampleOnce({ ...defaultSampling, temperature: 0 }, tail);
      expect(r.token < vocab).toBe(true);
    }
  });

  it("temperature, top-k, top-p and min-p sample only allowed tokens; logprobs are of the masked distribution", async () => {
    const allowed = [42, 4242, 100000, 128001];
    for (let seed = 0; seed < 12; seed++) {
      for (const extra of [{}, { topK: 2 }, { topP: 0.5 }, { minP: 0.2 }, { temperature: 5 }]) {
        const r = await sampleOnce(
          { ...defaultSampling, temperature: 1.5, seed, logprobs: true, topLogprobs: 6, ...extra },
          maskOf(allowed),
          seed % 2 === 1,
        );
        expect(allowed).toContain(r.token);
        expect(r.logprob).toBeGreaterThan(-Infinity);
        // Masked tokens have probability 0: only allowed ones can carry a finite logprob.
        for (const t of r.topLogprobs ?? []) {
          if (!allowed.includes(t.token)) expect(t.logprob).toBe(-Infinity);
        }
      }
    }
  });

  it("refuses a mask of the wrong size or one that allows nothing, and keeps serving", async () => {
    await expect(sampleOnce({ ...defaultSampling, temperature: 0 }, new Int32Array(3))).rejects.toThrow(
      /mask/,
    );
    await expect(sampleOnce({ ...defaultSampling, temperature: 0 }, new Int32Array(3), true)).rejects.toThrow(
      /mask/,
    );
    await expect(sampleOnce({ ...defaultSampling, temperature: 0 }, maskOf([]))).rejects.toThrow(
      /allows no token/,
    );
    const failing = async () => {
      throw new Error("grammar failed");
    };
    const { seq } = await model.createSequence({ ...defaultSampling, temperature: 0 });
    await expect(model.step([{ seq, tokens: prompt, sample: true }], failing)).rejects.toThrow(
      "grammar failed",
    );
    await model.freeSequence(seq);
    const ok = await sampleOnce({ ...defaultSampling, temperature: 0 }, maskOf([5]));
    expect(ok.token).toBe(5);
  });
});
