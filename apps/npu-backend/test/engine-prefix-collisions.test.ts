/**
 * The prefix cache never shares KV between different prompts, even when their block hashes
 * collide. GEARBOX_PREFIX_HASH_BITS=0 makes every block's hash the same (a collision on every
 * lookup); a hit must still be taken only for the very same tokens after the very same prefix.
 * Logits are compared with an engine whose hashes are whole (the same model and settings).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultSampling, type EngineModel, type SamplingParams } from "../src/engine/engine.js";
import { nativeEngine } from "../src/engine/native-engine.js";
import { ensureModel } from "./support/models.js";

const greedy: SamplingParams = { ...defaultSampling, temperature: 0 };
const options = {
  threads: 1,
  contextLength: 256,
  kvCacheMiB: 8,
  gears: { prefill: [16, 64], decodeBatch: [1], warm: "all" as const },
};
let reference: EngineModel;
let colliding: EngineModel;

const prompt = (n: number, salt: number) =>
  Array.from({ length: n }, (_, i) => 1000 + ((i * 31 + salt * 977) % 90000));

beforeAll(async () => {
  const path = await ensureModel("tiny", "q8_0");
  reference = await nativeEngine.loadModel(path, options);
  process.env.GEARBOX_PREFIX_HASH_BITS = "0"; // read when an engine is made
  try {
    colliding = await nativeEngine.loadModel(path, options);
  } finally {
    delete process.env.GEARBOX_PREFIX_HASH_BITS;
  }
});
afterAll(async () => {
  await reference?.close();
  await colliding?.close();
});

/** Prefills `tokens` (after what the cache supplied) and returns the logits of the next token. */
async function prefill(model: EngineModel, tokens: number[]) {
  const { seq, cachedTokens } = await model.createSequence(greedy, tokens);
  const [r] = await model.step([
    { seq, tokens: tokens.slice(cachedTokens), sample: true, returnLogits: true },
  ]);
  await model.freeSequence(seq);
  return { cachedTokens, logits: Array.from(r?.logits as Float32Array) };
}

describe("prefix cache under hash collisions", () => {
  it("takes no block of another prompt, and still reuses a block of the same one", async () => {
    const a = prompt(70, 1);
    const b = prompt(70, 2);
    const bs = colliding.kvStats().blockSize;
    const truth = { a: (await prefill(reference, a)).logits, b: (await prefill(reference, b)).logits };

    const first = await prefill(colliding, b);
    expect(first.cachedTokens).toBe(0);
    expect(first.logits).toEqual(truth.b);
    // Every block of a hashes like b's first block (cached now): the tokens differ, so no hit.
    const other = await prefill(colliding, a);
    expect(other.cachedTokens).toBe(0);
    expect(other.logits).toEqual(truth.a);
    // b again: its first block is found (same tokens, nothing before it); its second hashes the
    // same but holds other tokens, so the cache stops there.
    const again = await prefill(colliding, b);
    expect(again.cachedTokens).toBe(bs);
    expect(again.logits).toEqual(truth.b);
  });
});
