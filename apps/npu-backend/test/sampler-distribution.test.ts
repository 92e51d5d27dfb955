/**
 * The sampler draws from the distribution it claims: the engine's own Sampler (testing.sampleDraws,
 * the same params conversion as a sequence) on one logit row of a 32k vocabulary, many seeded
 * draws, counts held against the softmax computed here in double: temperature alone (the
 * whole-vocabulary path: one pass of exps in token order), with top-k, top-p and min-p (the sorted
 * path), and under a token mask. Each of the likely tokens must come out within 5 standard
 * deviations of its probability and the rest together likewise; tokens outside the support (cut,
 * masked, -inf) never. Greedy must take the first maximum. The draws are seeded, so the outcome is fixed. Checked to fail on a wrong
 * distribution: a temperature 3% off, or one token too many kept by top-k (20 sigma).
 */
import { describe, expect, it } from "vitest";
import { nativeAddon } from "../src/engine/native.js";
import type { NativeSamplingParams } from "../src/engine/native-types.js";
import { rng } from "./support/rng.js";

const T = nativeAddon().testing;
const V = 32000;
const HEAD = 24;

// 24 likely tokens spread over the vocabulary (logits 2..5) and a long tail (-4.5..-3.5) that
// holds about half of the mass at temperature 1, so the tail's total is checked too.
const r = rng(11);
const logits = new Float32Array(V);
for (let i = 0; i < V; i++) logits[i] = -4.5 + r();
const head = Array.from({ length: HEAD }, (_, i) => (7 + 1291 * i) % V);
for (const t of head) logits[t] = 2 + 3 * r();
const NEG_INF = [5, 31999, 12345];
for (const t of NEG_INF) logits[t] = Number.NEGATIVE_INFINITY;

/** The distribution each sampling mode should follow, from the logits, in double. */
function expected(p: NativeSamplingParams, allowed: (t: number) => boolean = () => true): Float64Array {
  const temp = p.temperature ?? 1;
  const ids = [...Array(V).keys()].filter((t) => allowed(t) && logits[t] !== Number.NEGATIVE_INFINITY);
  ids.sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b);
  let keep = p.topK && p.topK < ids.length ? ids.slice(0, p.topK) : ids;
  const mx = logits[keep[0] as number] as number;
  const w = keep.map((t) => Math.exp(((logits[t] as number) - mx) / temp));
  const total = w.reduce((a, b) => a + b, 0);
  let n = keep.length;
  const below = p.minP ? w.findIndex((x) => x < (p.minP as number)) : -1; // relative to the best token's 1
  if (below > 0) n = Math.min(n, below);
  if (p.topP !== undefined && p.topP < 1) {
    let cum = 0;
    for (let i = 0; i < n; i++) {
      cum += (w[i] as number) / total;
      if (cum >= p.topP) {
        n = i + 1;
        break;
      }
    }
  }
  keep = keep.slice(0, n);
  const z = w.slice(0, n).reduce((a, b) => a + b, 0);
  const out = new Float64Array(V);
  keep.forEach((t, i) => {
    out[t] = (w[i] as number) / z;
  });
  return out;
}

function check(p: NativeSamplingParams, draws: number, mask?: Uint32Array, allowed?: (t: number) => boolean) {
  const want = expected(p, allowed);
  const { counts } = T.sampleDraws(logits, p, draws, mask);
  let total = 0;
  for (const c of counts) total += c;
  expect(total).toBe(draws);
  const z = (count: number, prob: number) =>
    prob === 0
      ? count === 0
        ? 0
        : Number.POSITIVE_INFINITY
      : (count - draws * prob) / Math.sqrt(draws * prob * (1 - prob) || 1);
  // Every token with probability 0 never comes out; each head token and the tail as a whole within 5 sigma.
  const outside = [...counts.keys()].filter((t) => want[t] === 0 && (counts[t] as number) > 0);
  expect(outside, "tokens drawn from outside the support").toEqual([]);
  for (const t of head)
    expect(Math.abs(z(counts[t] as number, want[t] as number)), `head token ${t}`).toBeLessThan(5);
  const headSet = new Set(head);
  let tailCount = 0;
  let tailProb = 0;
  for (let t = 0; t < V; t++)
    if (!headSet.has(t)) {
      tailCount += counts[t] as number;
      tailProb += want[t] as number;
    }
  expect(Math.abs(z(tailCount, tailProb)), "the tail's total").toBeLessThan(5);
  return { counts, want, tailProb };
}

describe("sampler distribution (32k vocabulary, seeded draws)", () => {
  it("temperature alone follows softmax(logits / T) over the whole vocabulary; -inf never drawn", () => {
    const { tailProb } = check({ temperature: 1, seed: 1 }, 20000);
    expect(tailProb).toBeGreaterThan(0.3); // the tail really holds mass here
    const cold = check({ temperature: 0.5, seed: 2 }, 20000);
    expect(cold.tailProb).toBeLessThan(0.01); // and temperature really moves it
    check({ temperature: 1.7, seed: 3 }, 20000);
  });

  it("top-k, top-p and min-p renormalize over exactly the kept tokens", () => {
    check({ temperature: 1, topK: 10, seed: 4 }, 10000);
    check({ temperature: 0.8, topP: 0.5, seed: 5 }, 4000);
    check({ temperature: 1, minP: 0.2, seed: 6 }, 10000);
    // top-p with the tail inside the nucleus: the sorted prefix has to grow past its first 256.
    check({ temperature: 1, topP: 0.9, seed: 7 }, 1000);
  });

  it("a token mask removes tokens before the draw, in both paths", () => {
    const allowed = (t: number) => t % 3 !== 0 && t !== (head[0] as number);
    const mask = new Uint32Array(Math.ceil(V / 32));
    for (let t = 0; t < V; t++) if (allowed(t)) (mask[t >> 5] as number) |= 1 << (t & 31);
    check({ temperature: 1, seed: 8 }, 10000, mask, allowed);
    check({ temperature: 1, topK: 5, seed: 9 }, 10000, mask, allowed);
  });

  it("greedy takes the first maximum, every time", () => {
    let best = 0;
    for (let t = 1; t < V; t++) if ((logits[t] as number) > (logits[best] as number)) best = t;
    expect(T.sampleDraws(logits, { temperature: 0 }, 5).counts[best]).toBe(5);
    const tied = logits.slice();
    tied[31000] = 10;
    tied[30001] = 10; // an equal maximum later in the vocabulary and one earlier: the earlier wins
    tied[30000] = 10;
    expect(T.sampleDraws(tied, { temperature: 0 }, 3).counts[30000]).toBe(3);
  });

  it("the same seed gives the same draws", () => {
    const a = T.sampleDraws(logits, { temperature: 1, seed: 42 }, 200).counts;
    const b = T.sampleDraws(logits, { temperature: 1, seed: 42 }, 200).counts;
    const c = T.sampleDraws(logits, { temperature: 1, seed: 43 }, 200).counts;
    expect([...b]).toEqual([...a]);
    expect([...c]).not.toEqual([...a]);
  });
});
