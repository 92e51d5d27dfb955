/**
 * The Llama 3 tokenizer, built from a GGUF file's metadata (tokenizer.ggml.*): byte-level BPE as
 * llama.cpp runs it for `tokenizer.ggml.pre = "llama-bpe"`. Encoding is tiktoken's (WASM): Llama 3's
 * vocabulary is a tiktoken vocabulary, so a token's id is its merge rank, and tiktoken's whole-piece
 * lookup matches the `ignore_merges` behaviour of HF and llama.cpp.
 */

import {
  metaBool,
  metaInteger,
  metaIntegerArray,
  requireString,
  requireStringArray,
} from "@gearbox/gguf/metadata";
import type { GgufFile } from "@gearbox/gguf/reader";
import { readGguf } from "@gearbox/gguf/reader";
import { MAX_BPE_RUN, splitLongRuns } from "@gearbox/shared";
import { Tiktoken } from "tiktoken/lite";
import { decodeByteLevel } from "./byte-level.js";
import { StreamDecoder } from "./stream-decoder.js";

/** llama.cpp's token types (llama_token_type). */
export const TokenType = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** Llama 3's pre-tokenizer split (tiktoken's pattern from Meta's llama3 repository). */
export const LLAMA3_SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** Pre-tokenizer names llama.cpp maps to its LLAMA3 pre-tokenizer. */
const LLAMA3_PRE_NAMES = new Set(["llama-bpe", "llama3", "llama-v3"]);

/** Token texts llama.cpp treats as end-of-generation in addition to the eos/eot/eom ids. */
const EOG_TEXTS = new Set([
  "<|eot_id|>",
  "<|eom_id|>",
  "<|end_of_text|>",
  "<|endoftext|>",
  "<|im_end|>",
  "<|end|>",
  "<end_of_turn>",
]);

export interface EncodeOptions {
  /** Prepend BOS. Default: the file's tokenizer.ggml.add_bos_token (true for Llama 3). */
  addBos?: boolean;
  /** Turn special-token text such as "<|eot_id|>" into the special token; otherwise it is plain text. Default false. */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Render control tokens (<|eot_id|>, ...) as their text; otherwise they decode to nothing. Default false. */
  special?: boolean;
}

export class TokenizerError extends Error {
  constructor(message: string) {
    super(`tokenizer: ${message}`);
    this.name = "TokenizerError";
  }
}

export class Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  /** Whether encode() prepends BOS by default. */
  readonly addBos: boolean;
  /** End-of-generation ids: eos, eot, eom and end-of-text tokens. */
  readonly eogIds: ReadonlySet<number>;
  private readonly tokenTexts: readonly string[];
  private readonly types: ArrayLike<number>;
  /** Every token's bytes, concatenated; token i is pool[starts[i], starts[i+1]). */
  private readonly pool: Uint8Array;
  private readonly starts: Uint32Array;
  private readonly specialIds: ReadonlyMap<string, number>;
  private readonly alwaysSpecial: string[];
  private readonly specialTexts: string[];
  private readonly bpe: Tiktoken;
  private readonly utf8 = new TextDecoder("utf-8");

  /** Builds the tokenizer from a GGUF file's metadata (the file's tensors are not touched). */
  static fromGguf(file: GgufFile): Tokenizer {
    return new Tokenizer(file);
  }

  private constructor(file: GgufFile) {
    const meta = file.metadata;
    const model = requireString(meta, "tokenizer.ggml.model");
    if (model !== "gpt2")
      throw new TokenizerError(
        `tokenizer.ggml.model '${model}' is not supported (only gpt2, byte-level BPE)`,
      );
    const pre = requireString(meta, "tokenizer.ggml.pre");
    if (!LLAMA3_PRE_NAMES.has(pre))
      throw new TokenizerError(`tokenizer.ggml.pre '${pre}' is not supported (only llama-bpe)`);

    const tokens = requireStringArray(meta, "tokenizer.ggml.tokens");
    const types =
      metaIntegerArray(meta, "tokenizer.ggml.token_type") ??
      new Int32Array(tokens.length).fill(TokenType.normal);
    if (types.length !== tokens.length) {
      throw new TokenizerError(
        `tokenizer.ggml.token_type has ${types.length} entries for ${tokens.length} tokens`,
      );
    }
    this.vocabSize = tokens.length;
    this.tokenTexts = tokens;
    this.types = types;

    const checkId = (key: string): number | undefined => {
      const id = metaInteger(meta, key);
      if (id !== undefined && (id < 0 || id >= tokens.length))
        throw new TokenizerError(`${key} ${id} is outside the vocabulary`);
      return id;
    };
    const bos = checkId("tokenizer.ggml.bos_token_id");
    const eos = checkId("tokenizer.ggml.eos_token_id");
    if (bos === undefined || eos === undefined)
      throw new TokenizerError("the file has no bos_token_id or eos_token_id");
    this.bosId = bos;
    this.eosId = eos;
    this.addBos = metaBool(meta, "tokenizer.ggml.add_bos_token") ?? true;

    const eog = new Set<number>([eos]);
    for (const key of ["tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"]) {
      const id = checkId(key);
      if (id !== undefined) eog.add(id);
    }

    // Bytes of every token, and tiktoken's rank file: "base64(bytes) rank" per normal token.
    const pool = new Uint8Array(tokens.reduce((n, t) => n + Buffer.byteLength(t), 0));
    const starts = new Uint32Array(tokens.length + 1);
    const specialIds = new Map<string, number>();
    const alwaysSpecial: string[] = [];
    const ranks: string[] = [];
    let at = 0;
    for (let id = 0; id < tokens.length; id++) {
      const text = tokens[id] as string;
      const type = types[id] as number;
      starts[id] = at;
      if (type === TokenType.control || type === TokenType.userDefined) {
        at += Buffer.from(pool.buffer, pool.byteOffset + at, pool.length - at).write(text, "utf8");
        specialIds.set(text, id);
        // llama.cpp splits out user-defined tokens even when special tokens are not parsed.
        if (type === TokenType.userDefined) alwaysSpecial.push(text);
        if (EOG_TEXTS.has(text)) eog.add(id);
      } else {
        const n = decodeByteLevel(text, pool, at);
        if (n < 0)
          throw new TokenizerError(`token ${id} ${JSON.stringify(text)} is not a byte-level BPE token`);
        ranks.push(`${Buffer.from(pool.buffer, pool.byteOffset + at, n).toString("base64")} ${id}`);
        at += n;
      }
    }
    starts[tokens.length] = at;
    this.pool = pool;
    this.starts = starts;
    this.specialIds = specialIds;
    this.alwaysSpecial = alwaysSpecial;
    this.specialTexts = [...specialIds.keys()];
    this.eogIds = eog;
    this.bpe = new Tiktoken(ranks.join("\n"), Object.fromEntries(specialIds), LLAMA3_SPLIT_PATTERN);
  }

  /** Text to token ids. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const allowed = options.parseSpecial ? "all" : this.alwaysSpecial;
    const addBos = options.addBos ?? this.addBos;
    const out: number[] = addBos ? [this.bosId] : [];
    // Long runs of one character class are encoded in pieces: BPE is quadratic in a pre-token's length.
    const protect = options.parseSpecial ? this.specialTexts : this.alwaysSpecial;
    for (const piece of splitLongRuns(text, MAX_BPE_RUN, protect)) {
      const ids = this.bpe.encode(piece, allowed, []);
      for (let i = 0; i < ids.length; i++) out.push(ids[i] as number);
    }
    return out;
  }

  /** Token ids to text; invalid or incomplete UTF-8 becomes U+FFFD. */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    return this.utf8.decode(this.bytesOf(ids, options.special ?? false));
  }

  /** The concatenated bytes of some tokens (control tokens only when `special`). */
  bytesOf(ids: readonly number[], special = false): Uint8Array {
    let length = 0;
    for (const id of ids) {
      this.checkId(id);
      if (special || !this.isControl(id))
        length += (this.starts[id + 1] as number) - (this.starts[id] as number);
    }
    const out = new Uint8Array(length);
    let at = 0;
    for (const id of ids) {
      if (!special && this.isControl(id)) continue;
      const piece = this.pool.subarray(this.starts[id], this.starts[id + 1]);
      out.set(piece, at);
      at += piece.length;
    }
    return out;
  }

  /** One token's bytes (a control token's are its text), e.g. for the `bytes` of OpenAI logprobs. */
  tokenBytes(id: number): Uint8Array {
    this.checkId(id);
    return this.pool.slice(this.starts[id], this.starts[id + 1]);
  }

  /** The token's string as stored in the file (byte-level form for normal tokens). */
  tokenText(id: number): string {
    this.checkId(id);
    return this.tokenTexts[id] as string;
  }

  /** The id of a special token's text ("<|eot_id|>"), or undefined. */
  specialTokenId(text: string): number | undefined {
    return this.specialIds.get(text);
  }

  /** Every special token's text (control and user-defined) with its id, e.g. "<|eot_id|>" → 128009. */
  specialTokenTexts(): ReadonlyMap<string, number> {
    return this.specialIds;
  }

  isControl(id: number): boolean {
    return this.types[id] === TokenType.control;
  }

  /** Whether generating this token ends the generation. */
  isEog(id: number): boolean {
    return this.eogIds.has(id);
  }

  /** A decoder for a stream of generated tokens that emits only complete characters. */
  streamDecoder(options: DecodeOptions = {}): StreamDecoder {
    return new StreamDecoder((id) => this.bytesOf([id], options.special ?? false));
  }

  /** Frees the WASM memory of the BPE encoder; the tokenizer must not be used afterwards. */
  dispose(): void {
    this.bpe.free();
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new TokenizerError(`token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
    }
  }
}

/** Reads a GGUF file's header and builds its tokenizer. */
export function loadTokenizer(path: string): Tokenizer {
  return Tokenizer.fromGguf(readGguf(path));
}
