/**
 * GrammarConstraint's corner cases with a stand-in matcher (the real one is exercised by the
 * grammar compiler and server tests): disposing while a mask is being computed frees the matcher
 * only afterwards, and a failing mask is reported by the next accept() rather than thrown into the
 * engine step other requests share.
 */
import { describe, expect, it } from "vitest";
import { GrammarConstraint } from "../src/grammar/grammar-constraint.js";
import type { XgGrammarMatcher } from "../src/grammar/xgrammar.js";

function standIn(mask: () => Promise<Int32Array>) {
  const calls: string[] = [];
  const matcher: XgGrammarMatcher = {
    acceptToken: () => {
      calls.push("accept");
      return true;
    },
    getNextTokenBitmask: async () => {
      calls.push("mask");
      const m = await mask();
      calls.push("mask done");
      return m;
    },
    isTerminated: () => false,
    dispose: () => calls.push("dispose"),
  };
  return { matcher, calls };
}

describe("GrammarConstraint", () => {
  it("a dispose during a mask computation frees the matcher after it, once", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { matcher, calls } = standIn(async () => {
      await gate;
      return new Int32Array(4);
    });
    const stats = { masks: 0, maskSeconds: 0 };
    const c = new GrammarConstraint(matcher, stats);
    const pending = c.nextMask();
    c.dispose();
    c.dispose();
    expect(calls).toEqual(["mask"]);
    release();
    expect(await pending).toBeInstanceOf(Int32Array);
    expect(calls).toEqual(["mask", "mask done", "dispose"]);
    expect(await c.nextMask()).toBeUndefined();
    expect(c.accept(5)).toBe(true);
    expect(calls).toEqual(["mask", "mask done", "dispose"]);
    expect(stats.masks).toBe(1);
  });

  it("a failing mask makes the next accept() false instead of throwing", async () => {
    const { matcher } = standIn(async () => {
      throw new Error("wasm trouble");
    });
    const c = new GrammarConstraint(matcher, { masks: 0, maskSeconds: 0 });
    expect(await c.nextMask()).toBeUndefined();
    expect(c.accept(1)).toBe(false);
    c.dispose();
  });
});
