/**
 * Tokenizer vocabulary vs embedding rows, on the real engine (tiny q8_0): with `sampleVocab` (the
 * tokenizer's count, passed by every served model) ids past it are never sampled, even when their
 * logits are pushed far above the rest (an embedding padded beyond the tokenizer has such ids, and
 * no tokenizer can decode them); a tokenizer larger than the embedding fails the load, naming both.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultSampling, type EngineModel } from "../src/engine/engine.js";
import { nativeEngine } from "../src/engine/native-engine.js";
import { ensureModel } from "./support/models.js";

const LIMIT = 1000;
let path: string;
let model: EngineModel;

const load = (sampleVocab: number) =>
  nativeEngine.loadModel(path, {
    threads: 2,
    contextLength: 256,
    kvCacheMiB: 16,
    sampleVocab,
    gears: { prefill: [16], decodeBatch: [1], warm: "none" },
  });

beforeAll(async () => {
  path = await ensureModel("tiny", "q8_0");
  model = await load(LIMIT);
});
afterAll(async () => {
  await model?.close();
});

describe("sampleVocab", () => {
  it("never samples an id at or past it, whatever its logit, in any sampling mode", async () => {
    expect(model.info.vocabSize).toBeGreaterThan(LIMIT);
    // Ids past the limit get +100: without the limit they would win every draw.
    const bias = new Map(
      [LIMIT, LIMIT + 1, model.info.vocabSize - 1].map((t) => [t, 100] as [number, number]),
    );
    for (const params of [
      { ...defaultSampling, temperature: 0, logitBias: bias },
      { ...defaultSampling, temperature: 1, seed: 7, logitBias: bias },
      { ...defaultSampling, temperature: 0.8, topK: 5, topP: 0.9, seed: 3, logitBias: bias, topLogprobs: 5 },
    ]) {
      const { seq } = await model.createSequence(params);
      let [r] = await model.step([{ seq, tokens: [1, 12, 34, 56], sample: true }]);
      for (let i = 0; i < 8; i++) {
        expect(r?.token).toBeLessThan(LIMIT);
        for (const alt of r?.topLogprobs ?? []) expect(alt.token).toBeLessThan(LIMIT);
        [r] = await model.step([{ seq, tokens: [r?.token as number], sample: true }]);
      }
      await model.freeSequence(seq);
    }
  });

  it("refuses a tokenizer larger than the embedding, naming both counts", async () => {
    const rows = model.info.vocabSize;
    await expect(load(rows + 5)).rejects.toThrow(
      new RegExp(`${rows + 5} tokens but token_embd.weight only ${rows} rows`),
    );
  });
});
