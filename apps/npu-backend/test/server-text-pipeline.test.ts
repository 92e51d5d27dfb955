/**
 * From tokens to the text a client sees: stop strings matched across pieces with only the possible
 * start of a stop string held back, and the incremental detokenizer never splitting a character
 * (real Llama 3 tokenizer; rare CJK characters and emoji are several tokens each).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { ChoiceText } from "../src/server/generation/choice-text.js";
import { StopMatcher } from "../src/server/generation/stop-matcher.js";
import { loadTokenizer, type Tokenizer } from "../src/tokenizer/tokenizer.js";
import { ensureModel } from "./support/models.js";

describe("StopMatcher", () => {
  it("holds back only what may start a stop string", () => {
    const m = new StopMatcher(["END"]);
    expect(m.push("hello E")).toEqual({ text: "hello ", stopped: false });
    expect(m.push("x")).toEqual({ text: "Ex", stopped: false });
    expect(m.push(" EN")).toEqual({ text: " ", stopped: false });
    expect(m.push("D and more")).toEqual({ text: "", stopped: true });
  });

  it("finds the earliest of several stop strings, one spanning pieces", () => {
    const m = new StopMatcher(["\n\n", "###", "world"]);
    expect(m.push("hi #")).toEqual({ text: "hi ", stopped: false });
    expect(m.push("#")).toEqual({ text: "", stopped: false });
    expect(m.push("# tail")).toEqual({ text: "", stopped: true });
    const n = new StopMatcher(["world", "wor"]);
    expect(n.push("hello wo")).toEqual({ text: "hello ", stopped: false });
    expect(n.push("rld")).toEqual({ text: "", stopped: true });
  });

  it("releases held text when the stream ends without a stop", () => {
    const m = new StopMatcher(["<end>"]);
    expect(m.push("a <en")).toEqual({ text: "a ", stopped: false });
    expect(m.flush()).toBe("<en");
  });

  it("passes everything through without stop strings", () => {
    const m = new StopMatcher([]);
    expect(m.push("abc")).toEqual({ text: "abc", stopped: false });
  });
});

describe("ChoiceText", () => {
  let tokenizer: Tokenizer;
  beforeAll(async () => {
    tokenizer = loadTokenizer(await ensureModel("tiny", "q8_0"));
  });

  const TEXT = "龘靐齉爩 are rare: 𠀀𪚥 and 🦙🧪 too. 中文字符测试";

  it("emits only whole characters and ends with exactly the one-shot decode", () => {
    const tokens = tokenizer.encode(TEXT, { addBos: false });
    // The text is made of tokens that are parts of characters: a naive decoder would split them.
    const naive = tokens.map((t) => tokenizer.decode([t])).join("");
    expect(naive).toContain("\uFFFD");
    const text = new ChoiceText(tokenizer.streamDecoder(), []);
    const pieces = tokens.map((token) => text.push({ token }).text);
    pieces.push(text.finish().text);
    for (const piece of pieces) expect(piece).not.toContain("\uFFFD");
    expect(pieces.join("")).toBe(TEXT);
  });

  it("cuts at a stop string spanning tokens and releases each token with its text", () => {
    const tokens = tokenizer.encode("alpha beta STOP gamma", { addBos: false });
    const text = new ChoiceText(tokenizer.streamDecoder(), ["ta ST"]);
    let out = "";
    const released: number[] = [];
    for (const token of tokens) {
      const delta = text.push({ token, logprob: -1 });
      out += delta.text;
      released.push(...delta.tokens.map((t) => t.token));
      if (text.stoppedByString) break;
    }
    expect(text.stoppedByString).toBe(true);
    expect(out).toBe("alpha be");
    // The tokens of "alpha" and " beta" (whose text starts before the cut) are released, none after.
    expect(released).toEqual(tokenizer.encode("alpha beta", { addBos: false }));
    expect(text.finish()).toEqual({ text: "", tokens: [] });
  });

  it("flushes an incomplete character as U+FFFD at the end, as a one-shot decode does", () => {
    const bytes = new TextEncoder().encode("龘");
    // A token that is only the first byte(s) of the character.
    const first = tokenizer.encode("龘", { addBos: false })[0] as number;
    expect(tokenizer.tokenBytes(first).length).toBeLessThan(bytes.length);
    const text = new ChoiceText(tokenizer.streamDecoder(), []);
    expect(text.push({ token: first }).text).toBe("");
    const end = text.finish();
    expect(end.text).toBe(tokenizer.decode([first]));
    expect(end.tokens.map((t) => t.token)).toEqual([first]);
  });
});
