/**
 * The per-model grammar compiler on the tiny model's real vocabulary: compiled grammars are cached
 * by the spec's hash (in any key order) and evicted least recently used first; a bad schema and a
 * compile over the time limit are GrammarErrors; masks follow the accepted tokens.
 */
import { describe, expect, it } from "vitest";
import { GrammarCompiler, GrammarError } from "../src/grammar/grammar-compiler.js";
import { loadTokenizer } from "../src/tokenizer/tokenizer.js";
import { ensureModel } from "./support/models.js";

const tokenizer = loadTokenizer(await ensureModel("tiny", "q8_0"));
const schema = (n: number) => ({
  kind: "json_schema" as const,
  schema: { type: "object", properties: { [`k${n}`]: { type: "integer" } }, required: [`k${n}`] },
  strict: true,
});

function allowed(mask: Int32Array): number[] {
  const out: number[] = [];
  for (let t = 0; t < tokenizer.vocabSize; t++) if ((mask[t >> 5] as number) & (1 << (t & 31))) out.push(t);
  return out;
}

describe("GrammarCompiler", () => {
  it("caches by spec (key order does not matter) and evicts the least recently used", async () => {
    const g = new GrammarCompiler({ tokenizer, vocabSize: tokenizer.vocabSize, cacheSize: 2 });
    (await g.constraint(schema(1))).dispose();
    (
      await g.constraint({
        ...schema(1),
        schema: { required: ["k1"], properties: { k1: { type: "integer" } }, type: "object" },
      })
    ).dispose();
    expect(g.stats).toMatchObject({ hits: 1, misses: 1 });
    (await g.constraint(schema(2))).dispose();
    (await g.constraint(schema(1))).dispose(); // hit: 1 is now the most recent
    (await g.constraint(schema(3))).dispose(); // evicts 2
    expect(g.stats).toMatchObject({ hits: 2, misses: 3, cached: 2 });
    (await g.constraint(schema(1))).dispose();
    (await g.constraint(schema(2))).dispose();
    expect(g.stats).toMatchObject({ hits: 3, misses: 4 });
  });

  it("a matcher's mask allows exactly what the grammar allows next", async () => {
    const g = new GrammarCompiler({ tokenizer, vocabSize: tokenizer.vocabSize });
    const c = await g.constraint(schema(7));
    const first = allowed((await c.nextMask()) as Int32Array);
    expect(first.map((t) => tokenizer.decode([t]))).toEqual(expect.arrayContaining(["{"]));
    for (const t of first) expect('{"k7": '.startsWith(tokenizer.decode([t]))).toBe(true);
    for (const t of tokenizer.encode('{"k7": 12}', { addBos: false })) expect(c.accept(t)).toBe(true);
    // Complete: only end-of-generation tokens remain.
    const last = allowed((await c.nextMask()) as Int32Array);
    expect(last.length).toBeGreaterThan(0);
    for (const t of last) expect(tokenizer.isEog(t)).toBe(true);
    c.dispose();
    c.dispose(); // twice is harmless
    expect(await c.nextMask()).toBeUndefined();
  });

  it("never allows a control token as the text of its name (inside a string, say)", async () => {
    const g = new GrammarCompiler({ tokenizer, vocabSize: tokenizer.vocabSize });
    const c = await g.constraint({
      kind: "json_schema",
      schema: { type: "object", properties: { s: { type: "string" } }, required: ["s"] },
      strict: true,
    });
    for (const t of tokenizer.encode('{"s": "ab', { addBos: false })) expect(c.accept(t)).toBe(true);
    const inString = allowed((await c.nextMask()) as Int32Array);
    expect(inString.length).toBeGreaterThan(1000);
    expect(inString.filter((t) => tokenizer.isControl(t))).toEqual([]);
    c.dispose();
  });

  it("refuses bad schemas and compiles over the limit with a GrammarError, and keeps working", async () => {
    const g = new GrammarCompiler({ tokenizer, vocabSize: tokenizer.vocabSize });
    await expect(
      g.constraint({ kind: "json_schema", schema: { type: "nope" }, strict: true }),
    ).rejects.toThrow(GrammarError);
    await expect(
      g.constraint({ kind: "json_schema", schema: { type: "nope" }, strict: true }),
    ).rejects.toThrow(/nope/);
    const slow = new GrammarCompiler({ tokenizer, vocabSize: tokenizer.vocabSize, compileLimitMs: 0 });
    await expect(slow.constraint(schema(9))).rejects.toThrow(/over this server's limit of 0 ms/);
    const c = await g.constraint(schema(9));
    expect(await c.nextMask()).toBeInstanceOf(Int32Array);
    c.dispose();
  });
});
