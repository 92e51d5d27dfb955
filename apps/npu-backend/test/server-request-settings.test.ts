/** Request fields to scheduler settings: seeds per choice, stop strings, the completion budget. */
import { describe, expect, it } from "vitest";
import { choiceSampling, completionBudget, stopStrings } from "../src/server/openai/request-settings.js";

const NO_LOGPROBS = { logprobs: false, topLogprobs: 0 };

describe("choiceSampling", () => {
  it("gives choice i the seed + i, for every integer seed, each distinct and exact", () => {
    for (const seed of [0, 3, 4, 5, 2 ** 31, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER, -1, -(2 ** 40)]) {
      const seeds = choiceSampling({ seed, n: 3 }, 1000, NO_LOGPROBS).map((s) => s.seed);
      expect(seeds[1]).toBe((seeds[0] as number) + 1);
      expect(seeds[2]).toBe((seeds[0] as number) + 2);
      expect(seeds.every((s) => Number.isSafeInteger(s) && s >= 0)).toBe(true);
    }
    const one = (seed: number) => choiceSampling({ seed }, 1000, NO_LOGPROBS)[0]?.seed;
    // Neighbouring seeds stay different (a double rounding them together once made 3, 4 and 5 equal).
    expect(new Set([3, 4, 5, 2 ** 53 - 3, 2 ** 53 - 2].map(one)).size).toBe(5);
  });

  it("maps the OpenAI fields and their defaults", () => {
    const [s] = choiceSampling(
      {
        temperature: 0.5,
        top_p: 0.9,
        top_k: -1,
        min_p: 0.05,
        presence_penalty: 1,
        frequency_penalty: -1,
        repetition_penalty: 1.1,
        logit_bias: { "7": -100 },
      },
      1000,
      { logprobs: true, topLogprobs: 3 },
    );
    expect(s).toMatchObject({
      temperature: 0.5,
      topP: 0.9,
      topK: 0,
      minP: 0.05,
      presencePenalty: 1,
      frequencyPenalty: -1,
      repetitionPenalty: 1.1,
      logprobs: true,
      topLogprobs: 3,
    });
    expect([...(s?.logitBias ?? [])]).toEqual([[7, -100]]);
    expect(choiceSampling({}, 1000, NO_LOGPROBS)[0]).toMatchObject({
      temperature: 1,
      topP: 1,
      topK: 0,
      repetitionPenalty: 1,
    });
  });

  it("refuses a logit_bias token outside the vocabulary", () => {
    expect(() => choiceSampling({ logit_bias: { "1000": 1 } }, 1000, NO_LOGPROBS)).toThrow(
      expect.objectContaining({ status: 400, param: "logit_bias" }),
    );
  });
});

describe("stopStrings", () => {
  it("takes a string or a list, drops duplicates, refuses empty strings", () => {
    expect(stopStrings(undefined, 256)).toEqual([]);
    expect(stopStrings("END", 256)).toEqual(["END"]);
    expect(stopStrings(["a", "b", "a"], 256)).toEqual(["a", "b"]);
    expect(() => stopStrings(["a", ""], 256)).toThrow(expect.objectContaining({ param: "stop" }));
  });

  it("refuses a stop string longer than the limit", () => {
    expect(stopStrings("x".repeat(8), 8)).toEqual(["xxxxxxxx"]);
    expect(() => stopStrings(["a", "x".repeat(9)], 8)).toThrow(
      expect.objectContaining({ status: 400, param: "stop" }),
    );
  });
});

describe("completionBudget", () => {
  it("never exceeds the cap the edge reserved for (x-gearbox-max-tokens)", () => {
    expect(completionBudget(undefined, 10, 1024, 512, 40)).toBe(40);
    expect(completionBudget(30, 10, 1024, 512, 40)).toBe(30);
    expect(completionBudget(100, 10, 1024, 512, 40)).toBe(40);
  });

  it("keeps an explicit max_tokens that fits, refuses one that does not", () => {
    expect(completionBudget(100, 900, 1024, 512)).toBe(100);
    expect(() => completionBudget(200, 900, 1024, 512)).toThrow(
      expect.objectContaining({ status: 400, code: "context_length_exceeded" }),
    );
  });

  it("defaults to the configured maximum, capped by what the context leaves", () => {
    expect(completionBudget(undefined, 100, 1024, 512)).toBe(512);
    expect(completionBudget(null, 900, 1024, 512)).toBe(124);
    expect(() => completionBudget(undefined, 1024, 1024, 512)).toThrow(
      expect.objectContaining({ code: "context_length_exceeded" }),
    );
  });
});
