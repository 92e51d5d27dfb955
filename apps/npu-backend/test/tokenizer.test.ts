import { readGguf } from "@gearbox/gguf/reader";
import type { GgufMetadata } from "@gearbox/gguf/values";
import { gv } from "@gearbox/gguf/values";
import { beforeAll, describe, expect, it } from "vitest";
import { Tokenizer, TokenizerError } from "../src/tokenizer/tokenizer.js";
import { ensureModel } from "./support/models.js";

let tok: Tokenizer;
let metadata: GgufMetadata;

beforeAll(async () => {
  const file = readGguf(await ensureModel("tiny", "q8_0"));
  metadata = file.metadata;
  tok = Tokenizer.fromGguf(file);
});

/** Deterministic random strings over a mix of scripts, emoji, whitespace and arbitrary code points. */
function randomStrings(count: number, seed: number): string[] {
  let s = seed;
  const u = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296;
  };
  const pools = [
    "abcdefghijklmnopqrstuvwxyz ABCXYZ",
    "0123456789 ,.;:!?'\"()[]{}<>-_=+*/\\|@#$%^&`~",
    " \t\n\r  \n\n   ",
    "你好世界中文分词测试龘齉",
    "こんにちはカタカナ한국어",
    "ÀéîõüßçñØåæ Ελληνικά Кириллица עברית العربية हिन्दी ไทย",
    "🎉😀👍🏽👨‍👩‍👧‍👦🇫🇷❤️✨",
  ];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let str = "";
    const len = 1 + Math.floor(u() * 40);
    for (let c = 0; c < len; c++) {
      if (u() < 0.1) {
        // Any code point except surrogates (a JS string cannot hold a lone one as valid UTF-8).
        let cp = Math.floor(u() * 0x110000);
        if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x20;
        str += String.fromCodePoint(cp);
      } else {
        const pool = [...(pools[Math.floor(u() * pools.length)] as string)];
        str += pool[Math.floor(u() * pool.length)];
      }
    }
    out.push(str);
  }
  return out;
}

describe("tokenizer from GGUF metadata", () => {
  it("has the Llama 3 vocabulary, BOS, EOS and end-of-generation tokens", () => {
    expect(tok.vocabSize).toBe(128256);
    expect(tok.bosId).toBe(128000);
    expect(tok.eosId).toBe(128009);
    expect(tok.addBos).toBe(true);
    expect([...tok.eogIds].sort()).toEqual([128001, 128008, 128009]);
    expect(tok.isEog(128009)).toBe(true);
    expect(tok.isEog(128000)).toBe(false);
    expect(tok.isEog(9906)).toBe(false);
    expect(tok.specialTokenId("<|start_header_id|>")).toBe(128006);
    expect(tok.specialTokenId("Hello")).toBeUndefined();
    expect(tok.tokenText(1917)).toBe("Ġworld");
  });

  it("encodes known text to Llama 3's ids", () => {
    expect(tok.encode("Hello world")).toEqual([128000, 9906, 1917]);
    expect(tok.encode("Hello world", { addBos: false })).toEqual([9906, 1917]);
    // Digits are split in groups of at most three.
    expect(tok.decode(tok.encode("1234567", { addBos: false }).slice(0, 1))).toBe("123");
    expect(tok.encode("", { addBos: false })).toEqual([]);
  });

  it("parses special-token text only when asked", () => {
    const text = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
    const parsed = tok.encode(text, { addBos: false, parseSpecial: true });
    expect(parsed.slice(0, 3)).toEqual([128006, 882, 128007]);
    expect(parsed.at(-1)).toBe(128009);
    const plain = tok.encode(text, { addBos: false });
    expect(plain.some((id) => id >= 128000)).toBe(false);
    expect(tok.decode(plain)).toBe(text);
    // Control tokens decode to nothing unless asked for.
    expect(tok.decode(parsed)).toBe("user\n\nHi");
    expect(tok.decode(parsed, { special: true })).toBe(text);
  });

  it("round-trips many strings, including random Unicode", () => {
    const fixed = [
      "The quick brown fox jumps over the lazy dog.",
      "你好，世界！今天天气怎么样？",
      "emoji 🎉👍🏽 and flags 🇫🇷, family 👨‍👩‍👧‍👦",
      "def main():\n\treturn {'a': [1, 2, 3]}  # comment\n",
      "   leading and trailing spaces   ",
      "\n\n\n\t\t  \r\n",
      "3.14159265358979 12345678901234567890",
      "<|eot_id|> <|reserved_special_token_5|> <|not_special|>",
      "I'm, you're, they'VE, it'S",
    ];
    for (const s of [...fixed, ...randomStrings(400, 1)]) {
      expect(tok.decode(tok.encode(s)), JSON.stringify(s)).toBe(s);
      expect(
        tok.decode(tok.encode(s, { addBos: false, parseSpecial: true }), { special: true }),
        JSON.stringify(s),
      ).toBe(s);
    }
  });

  it("gives each token's bytes, including partial UTF-8 sequences", () => {
    expect(Buffer.from(tok.tokenBytes(1917)).toString()).toBe(" world");
    expect(Buffer.from(tok.tokenBytes(128009)).toString()).toBe("<|eot_id|>");
    const ids = tok.encode("🎉", { addBos: false });
    expect(ids.length).toBeGreaterThan(1); // Llama 3 splits this emoji into byte-level tokens
    const bytes = Buffer.concat(ids.map((id) => tok.tokenBytes(id)));
    expect(bytes.toString()).toBe("🎉");
    expect(() => tok.tokenBytes(128256)).toThrow(TokenizerError);
    expect(() => tok.decode([-1])).toThrow("token id -1 is outside the vocabulary");
  });

  it("refuses tokenizers it does not implement", () => {
    const variant = (key: string, value: string) => {
      const meta = new Map(metadata);
      meta.set(key, gv.string(value));
      return () =>
        Tokenizer.fromGguf({
          version: 3,
          metadata: meta,
          tensors: [],
          alignment: 32,
          dataOffset: 0,
          fileSize: 0,
        });
    };
    expect(variant("tokenizer.ggml.model", "llama")).toThrow("tokenizer.ggml.model 'llama' is not supported");
    expect(variant("tokenizer.ggml.pre", "qwen2")).toThrow("tokenizer.ggml.pre 'qwen2' is not supported");
  });
});

describe("stream decoder", () => {
  it("never emits half a character, and ends with exactly what decode() gives", () => {
    const texts = [
      "你好，世界！龘齉",
      "🎉😀👍🏽👨‍👩‍👧‍👦🇫🇷",
      "mixed 中文 and emoji 🎉 text",
      ...randomStrings(300, 2),
    ];
    let splitCharacters = 0;
    for (const text of texts) {
      const ids = tok.encode(text, { addBos: false });
      const stream = tok.streamDecoder();
      let out = "";
      for (const id of ids) {
        const piece = stream.push(id);
        expect(piece.includes("\uFFFD"), `early U+FFFD in ${JSON.stringify(text)}`).toBe(false);
        if (piece === "" && tok.tokenBytes(id).length > 0) splitCharacters++;
        out += piece;
      }
      out += stream.flush();
      expect(out).toBe(tok.decode(ids));
      expect(out).toBe(text);
    }
    // The texts really did put characters across token boundaries.
    expect(splitCharacters).toBeGreaterThan(20);
  });

  it("flushes an incomplete tail as U+FFFD, like a one-shot decode", () => {
    const ids = tok.encode("🎉", { addBos: false });
    const partial = ids.slice(0, -1);
    const stream = tok.streamDecoder();
    expect(partial.map((id) => stream.push(id)).join("")).toBe("");
    const flushed = stream.flush();
    expect(flushed).toBe(tok.decode(partial));
    expect(flushed).toContain("\uFFFD");
  });

  it("hides control tokens unless asked, like decode()", () => {
    const ids = tok.encode("Hi<|eot_id|>", { addBos: true, parseSpecial: true });
    const hidden = tok.streamDecoder();
    expect(ids.map((id) => hidden.push(id)).join("") + hidden.flush()).toBe("Hi");
    const shown = tok.streamDecoder({ special: true });
    expect(ids.map((id) => shown.push(id)).join("") + shown.flush()).toBe("<|begin_of_text|>Hi<|eot_id|>");
  });
});

describe("long inputs", () => {
  // Without cutting long runs, BPE on one 900,000-letter pre-token takes about 12 minutes (it is
  // quadratic); the test's timeout only says "it finishes", it measures nothing.
  it("tokenizes a 900,000-character run of one letter, and decodes it back", { timeout: 60_000 }, () => {
    const text = "a".repeat(900_000);
    const ids = tok.encode(text, { addBos: false });
    expect(tok.decode(ids)).toBe(text);
    expect(ids.length).toBeLessThan(200_000);
  });

  it("keeps special-token parsing inside a long run of punctuation", () => {
    const text = `${"!".repeat(255)}<|eot_id|>${"!".repeat(2000)}`;
    const eot = tok.specialTokenId("<|eot_id|>") as number;
    expect(tok.encode(text, { addBos: false, parseSpecial: true })).toContain(eot);
    expect(tok.encode(text, { addBos: false, parseSpecial: false })).not.toContain(eot);
  });
});
