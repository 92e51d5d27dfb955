/** splitLongRuns: the pieces BPE encodes one by one so that its time stays linear in the input. */
import { describe, expect, it } from "vitest";
import { MAX_BPE_RUN, splitLongRuns } from "../src/long-runs.js";

const longestRun = (piece: string) => {
  let longest = 0;
  for (const m of piece.matchAll(/\p{L}+|[^\s\p{L}\p{N}]+|\s+/gu)) longest = Math.max(longest, m[0].length);
  return longest;
};

describe("splitLongRuns", () => {
  it("leaves text without a long run in one piece", () => {
    const text = "Hello, world! ".repeat(1000);
    expect(splitLongRuns(text)).toEqual([text]);
  });

  it("cuts runs of letters, punctuation and whitespace into pieces of at most maxRun, losing nothing", () => {
    for (const run of ["a", "!", " ", "\n", "é", "中", "😀"]) {
      const text = `x ${run.repeat(100_000)} y`;
      const pieces = splitLongRuns(text);
      expect(pieces.join("")).toBe(text);
      expect(pieces.length).toBeGreaterThan(100);
      for (const p of pieces) expect(longestRun(p)).toBeLessThanOrEqual(MAX_BPE_RUN);
    }
  });

  it("never cuts a surrogate pair or a protected string", () => {
    const protect = ["<|eot_id|>"];
    const text = `${"!".repeat(255)}<|eot_id|>${"!".repeat(1000)}${"😀".repeat(500)}`;
    const pieces = splitLongRuns(text, 256, protect);
    expect(pieces.join("")).toBe(text);
    expect(pieces.some((p) => p.includes("<|eot_id|>"))).toBe(true);
    for (const p of pieces) {
      expect(/^[\uDC00-\uDFFF]/.test(p)).toBe(false);
      expect(/[\uD800-\uDBFF]$/.test(p)).toBe(false);
    }
  });
});
