/**
 * The engine's batching contract on the real engine (tiny q8_0): a sequence computes exactly the
 * same logits whether it runs alone, batched with others, mixed with prefill chunks, split into
 * chunks, started from the prefix cache, or forked; KV blocks are freed; sampling is seeded per
 * sequence; bad steps are rejected without harming the model.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultSampling, type EngineModel, type SamplingParams } from "../src/engine/engine.js";
import { nativeEngine } from "../src/engine/native-engine.js";
import { ensureModel } from "./support/models.js";

const greedy: SamplingParams = { ...defaultSampling, temperature: 0 };
let model: EngineModel;

const prompt = (n: number, salt: number) =>
  Array.from({ length: n }, (_, i) => 1000 + ((i * 31 + salt * 977) % 90000));

beforeAll(async () => {
  model = await nativeEngine.loadModel(await ensureModel("tiny", "q8_0"), {
    threads: 2,
    contextLength: 512,
    kvCacheMiB: 32,
    gears: { prefill: [16, 64], decodeBatch: [1, 2, 4, 8], warm: "all" },
  });
});
afterAll(async () => {
  await model?.close();
});

/** Greedy tokens and per-step logits of one sequence run alone. */
async function alone(tokens: number[], steps: number) {
  const { seq } = await model.createSequence(greedy);
  const out: number[] = [];
  const logits: Float32Array[] = [];
  let feed = tokens;
  for (let i = 0; i < steps; i++) {
    const [r] = await model.step([{ seq, tokens: feed, sample: true, returnLogits: true }]);
    out.push(r?.token as number);
    logits.push(r?.logits as Float32Array);
    feed = [r?.token as number];
  }
  await model.freeSequence(seq);
  return { out, logits };
}

describe("batch invariance", () => {
  it("N sequences decoded together get exactly what each gets alone", async () => {
    const prompts = [prompt(5, 1), prompt(9, 2), prompt(3, 3), prompt(12, 4), prompt(7, 5)];
    const solo: Array<{ out: number[]; logits: Float32Array[] }> = [];
    for (const p of prompts) solo.push(await alone(p, 8));
    const seqs = [];
    for (let i = 0; i < prompts.length; i++) seqs.push((await model.createSequence(greedy)).seq);
    let feeds = prompts;
    for (let step = 0; step < 8; step++) {
      const results = await model.step(
        seqs.map((seq, i) => ({ seq, tokens: feeds[i] as number[], sample: true, returnLogits: true })),
      );
      results.forEach((r, i) => {
        expect(r.token).toBe(solo[i]?.out[step]);
        expect(Array.from(r.logits as Float32Array)).toEqual(
          Array.from(solo[i]?.logits[step] as Float32Array),
        );
      });
      feeds = results.map((r) => [r.token]);
    }
    for (const s of seqs) await model.freeSequence(s);
  });

  it("a prompt split into chunks, or longer than the largest gear, gives the same logits", async () => {
    const p = prompt(150, 9); // > 64, the largest prefill gear here: split inside the engine
    const whole = await alone(p, 1);
    const { seq } = await model.createSequence(greedy);
    await model.step([{ seq, tokens: p.slice(0, 40), sample: false }]);
    await model.step([{ seq, tokens: p.slice(40, 100), sample: false }]);
    const [r] = await model.step([{ seq, tokens: p.slice(100), sample: true, returnLogits: true }]);
    expect(Array.from(r?.logits as Float32Array)).toEqual(Array.from(whole.logits[0] as Float32Array));
    await model.freeSequence(seq);
  });
});

describe("prefix cache and forks", () => {
  it("a second sequence with the same prompt reuses whole KV blocks and computes the same logits", async () => {
    const p = prompt(70, 11);
    const first = await model.createSequence(greedy, p);
    expect(first.cachedTokens).toBe(0);
    const [a] = await model.step([{ seq: first.seq, tokens: p, sample: true, returnLogits: true }]);
    const second = await model.createSequence(greedy, p);
    const bs = model.kvStats().blockSize;
    expect(second.cachedTokens).toBe(Math.floor((p.length - 1) / bs) * bs);
    const [b] = await model.step([
      { seq: second.seq, tokens: p.slice(second.cachedTokens), sample: true, returnLogits: true },
    ]);
    expect(Array.from(b?.logits as Float32Array)).toEqual(Array.from(a?.logits as Float32Array));
    await model.freeSequence(first.seq);
    await model.freeSequence(second.seq);
  });

  it("a fork shares the prompt and continues exactly like the original", async () => {
    const p = prompt(21, 12);
    const { seq } = await model.createSequence(greedy);
    await model.step([{ seq, tokens: p.slice(0, -1), sample: false }]);
    const fork = await model.forkSequence(seq, greedy);
    const [x, y] = await model.step([
      { seq, tokens: p.slice(-1), sample: true, returnLogits: true },
      { seq: fork, tokens: p.slice(-1), sample: true, returnLogits: true },
    ]);
    expect(Array.from(y?.logits as Float32Array)).toEqual(Array.from(x?.logits as Float32Array));
    const solo = await alone(p, 1);
    expect(Array.from(x?.logits as Float32Array)).toEqual(Array.from(solo.logits[0] as Float32Array));
    await model.freeSequence(seq);
    await model.freeSequence(fork);
  });

  it("freeing sequences returns every block they held (shared blocks once their last owner goes)", async () => {
    const before = model.kvStats().blocksUsed;
    const { seq } = await model.createSequence(greedy);
    await model.step([{ seq, tokens: prompt(40, 13), sample: true }]);
    const fork = await model.forkSequence(seq, greedy);
    await model.step([{ seq: fork, tokens: [5], sample: true }]);
    expect(model.kvStats().blocksUsed).toBeGreaterThan(before);
    await model.freeSequence(seq);
    expect(model.kvStats().blocksUsed).toBeGreaterThan(before);
    await model.freeSequence(fork);
    expect(model.kvStats().blocksUsed).toBe(before);
    await model.freeSequence(fork); // twice is harmless
  });
});

describe("KV reservation (the engine's rule the scheduler admits by)", () => {
  it("reserves prompt + max_tokens per choice, the prompt's full blocks once", () => {
    expect(model.kvStats().blockSize).toBe(16);
    expect(model.kvReservation(16, 0, 1)).toBe(1);
    expect(model.kvReservation(17, 0, 1)).toBe(2);
    expect(model.kvReservation(20, 30, 1)).toBe(4); // 50 tokens
    // 40-token prompt: choices fork after 39 tokens, whose 2 full blocks stay shared. Each choice
    // may reach 40 + 24 = 64 tokens = 4 blocks; the 2 others need 4 - 2 each.
    expect(model.kvReservation(40, 24, 3)).toBe(4 + 2 * 2);
  });

  it("is exactly what n forked choices running to max_tokens hold", async () => {
    const p = prompt(40, 77);
    const before = model.kvStats().blocksUsed;
    const { seq } = await model.createSequence(greedy);
    await model.step([{ seq, tokens: p.slice(0, 39), sample: false }]);
    const seqs = [seq, await model.forkSequence(seq, greedy), await model.forkSequence(seq, greedy)];
    let feeds = seqs.map(() => [p[39] as number]);
    // 24 new tokens each: the last sampled one is never fed, so each choice stores 40 + 23 tokens.
    for (let i = 0; i < 24; i++) {
      const results = await model.step(
        seqs.map((s, k) => ({ seq: s, tokens: feeds[k] as number[], sample: true })),
      );
      feeds = results.map((r) => [r.token]);
    }
    expect(model.kvStats().blocksUsed - before).toBe(model.kvReservation(40, 24, 3));
    for (const s of seqs) await model.freeSequence(s);
  });
});

describe("sampling", () => {
  const sampled = async (params: SamplingParams, p: number[], n: number, company = 0) => {
    const others = [];
    for (let i = 0; i < company; i++)
      others.push((await model.createSequence({ ...params, seed: 1000 + i })).seq);
    const { seq } = await model.createSequence(params);
    const out: number[] = [];
    let feed = p;
    let otherFeeds: number[][] = others.map((_, i) => prompt(4, 50 + i));
    for (let i = 0; i < n; i++) {
      const rs = await model.step([
        { seq, tokens: feed, sample: true },
        ...others.map((s, k) => ({ seq: s, tokens: otherFeeds[k] as number[], sample: true })),
      ]);
      out.push(rs[0]?.token as number);
      feed = [rs[0]?.token as number];
      otherFeeds = rs.slice(1).map((r) => [r.token]);
    }
    for (const s of [seq, ...others]) await model.freeSequence(s);
    return out;
  };

  it("the same seed gives the same tokens whatever else is batched; another seed differs", async () => {
    const params = { ...defaultSampling, temperature: 1.5, seed: 42 };
    const p = prompt(6, 20);
    const a = await sampled(params, p, 12);
    const b = await sampled(params, p, 12, 3);
    expect(b).toEqual(a);
    const c = await sampled({ ...params, seed: 43 }, p, 12);
    expect(c).not.toEqual(a);
  });

  it("top_k 1 is greedy; a logit bias of +100 forces a token and -100 bans the greedy one", async () => {
    const p = prompt(6, 21);
    const g = await alone(p, 4);
    expect(await sampled({ ...defaultSampling, temperature: 1, topK: 1, seed: 7 }, p, 4)).toEqual(g.out);
    expect(await sampled({ ...greedy, logitBias: new Map([[777, 100]]) }, p, 3)).toEqual([777, 777, 777]);
    const banned = await sampled({ ...greedy, logitBias: new Map([[g.out[0] as number, -100]]) }, p, 1);
    expect(banned[0]).not.toBe(g.out[0]);
  });

  it("returns log-probabilities: the sampled token's and the top N, sorted, consistent with the logits", async () => {
    const p = prompt(6, 22);
    const solo = await alone(p, 1);
    const logits = solo.logits[0] as Float32Array;
    let max = -Infinity;
    for (const v of logits) max = Math.max(max, v);
    let sum = 0;
    for (const v of logits) sum += Math.exp(v - max);
    const lz = max + Math.log(sum);
    const { seq } = await model.createSequence({ ...greedy, logprobs: true, topLogprobs: 5 });
    const [r] = await model.step([{ seq, tokens: p, sample: true }]);
    await model.freeSequence(seq);
    expect(r?.topLogprobs).toHaveLength(5);
    const top = r?.topLogprobs ?? [];
    expect(top[0]?.token).toBe(r?.token);
    for (let i = 1; i < top.length; i++)
      expect((top[i] as { logprob: number }).logprob).toBeLessThanOrEqual(
        (top[i - 1] as { logprob: number }).logprob,
      );
    for (const t of top) expect(t.logprob).toBeCloseTo((logits[t.token] as number) - lz, 4);
    expect(r?.logprob).toBeCloseTo((logits[r?.token as number] as number) - lz, 4);
  });

  it("top_p and min_p keep only likely tokens; penalties change repeated choices", async () => {
    const p = prompt(6, 23);
    const g = await alone(p, 1);
    // A tiny nucleus contains only the most likely token.
    expect(await sampled({ ...defaultSampling, temperature: 1, topP: 1e-6, seed: 3 }, p, 1)).toEqual([
      g.out[0],
    ]);
    expect(await sampled({ ...defaultSampling, temperature: 1, minP: 0.999, seed: 3 }, p, 1)).toEqual([
      g.out[0],
    ]);
    // Forcing one token with a bias, a strong frequency penalty must eventually break the run.
    const forced = { ...greedy, logitBias: new Map([[777, 40]]) };
    const plain = await sampled(forced, p, 6);
    const penalized = await sampled({ ...forced, frequencyPenalty: 10, presencePenalty: 30 }, p, 6);
    expect(plain.every((t) => t === 777)).toBe(true);
    expect(penalized.filter((t) => t === 777).length).toBeLessThan(6);
  });
});

describe("bad steps are rejected and the model keeps working", () => {
  it("unknown sequences, out-of-vocabulary tokens, duplicates, empty items and context overflow", async () => {
    const { seq } = await model.createSequence(greedy);
    await expect(model.step([{ seq: 999999, tokens: [1], sample: true }])).rejects.toThrow(
      /unknown sequence/,
    );
    await expect(model.step([{ seq, tokens: [128256], sample: true }])).rejects.toThrow(
      /outside the vocabulary/,
    );
    await expect(model.step([{ seq, tokens: [-1], sample: true }])).rejects.toThrow();
    await expect(model.step([{ seq, tokens: [], sample: true }])).rejects.toThrow(/no tokens/);
    await expect(
      model.step([
        { seq, tokens: [1], sample: true },
        { seq, tokens: [2], sample: true },
      ]),
    ).rejects.toThrow(/twice/);
    await expect(model.step([{ seq, tokens: prompt(513, 1), sample: true }])).rejects.toThrow(
      /context length/,
    );
    await expect(model.createSequence(greedy, [200000])).rejects.toThrow(/outside the vocabulary/);
    const [r] = await model.step([{ seq, tokens: prompt(5, 30), sample: true }]);
    expect(r?.token).toBeGreaterThanOrEqual(0);
    await model.freeSequence(seq);
  });
});
