import { describe, expect, it } from "vitest";
import { ladderCost, suggestLadder } from "../src/gears/suggest.js";

/** Brute force over every subset of observed sizes that includes the largest. */
function bruteForce(h: Map<number, number>, budget: number): number {
  const sizes = [...h.keys()].sort((a, b) => a - b);
  const max = sizes[sizes.length - 1] as number;
  const rest = sizes.slice(0, -1);
  let best = Number.POSITIVE_INFINITY;
  for (let mask = 0; mask < 1 << rest.length; mask++) {
    const ladder = rest.filter((_, i) => mask & (1 << i)).concat([max]);
    if (ladder.length > budget) continue;
    best = Math.min(best, ladderCost(h, ladder).paddedTokens);
  }
  return best;
}

describe("gear ladder advice", () => {
  it("computes padding and overflow of a ladder", () => {
    const h = new Map([
      [10, 2],
      [16, 1],
      [40, 1],
      [600, 1],
    ]);
    expect(ladderCost(h, [16, 64])).toEqual({
      paddedTokens: 12 + 0 + 24,
      realTokens: 20 + 16 + 40 + 600,
      overflowSteps: 1,
    });
  });

  it("matches brute force on random histograms", () => {
    let s = 7;
    const r = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 4294967296;
    };
    for (let trial = 0; trial < 40; trial++) {
      const h = new Map<number, number>();
      const n = 2 + Math.floor(r() * 9);
      while (h.size < n) h.set(1 + Math.floor(r() * 512), 1 + Math.floor(r() * 20));
      for (const budget of [1, 2, 3, 4]) {
        const ladder = suggestLadder(h, budget);
        expect(ladder.length).toBeLessThanOrEqual(budget);
        expect(ladderCost(h, ladder).overflowSteps).toBe(0);
        expect(ladderCost(h, ladder).paddedTokens).toBe(bruteForce(h, budget));
      }
    }
  });

  it("puts buckets where the traffic is and uses every size when the budget allows", () => {
    const h = new Map([
      [100, 50],
      [101, 50],
      [500, 1],
    ]);
    expect(suggestLadder(h, 2)).toEqual([101, 500]);
    expect(suggestLadder(h, 5)).toEqual([100, 101, 500]);
    expect(suggestLadder(new Map(), 3)).toEqual([]);
    expect(() => suggestLadder(h, 0)).toThrow(/budget/);
  });
});
