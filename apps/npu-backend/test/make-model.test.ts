import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { metaArray } from "@gearbox/gguf/metadata";
import { LLAMA_FTYPE, MODEL_FILE_TYPES, useMoreBits } from "@gearbox/gguf/model-maker/file-types";
import { LLAMA3_CHAT_TEMPLATE } from "@gearbox/gguf/model-maker/llama3-template";
import { makeModel } from "@gearbox/gguf/model-maker/make-model";
import { llama3RopeFactors } from "@gearbox/gguf/model-maker/rope-factors";
import { SHAPES } from "@gearbox/gguf/model-maker/shapes";
import { planTensors } from "@gearbox/gguf/model-maker/tensor-plan";
import { FFN_DOWN_GAIN, LOGIT_STD, QK_GAIN, SPECIAL_ROW_SCALE } from "@gearbox/gguf/model-maker/weights";
import { dequantize } from "@gearbox/gguf/quant/codec";
import { type GgufFile, type GgufTensorInfo, readGguf } from "@gearbox/gguf/reader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureModel, REPO_ROOT } from "./support/models.js";

const BIN = join(REPO_ROOT, "apps/local/bin/gearbox.js");
const BIN_DIST = join(REPO_ROOT, "packages/gguf/dist/quant/quantize-worker.js");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "make-model-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function tensor(file: GgufFile, name: string): GgufTensorInfo {
  const t = file.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name}`);
  return t;
}

async function values(path: string, file: GgufFile, name: string): Promise<Float32Array> {
  const t = tensor(file, name);
  const bytes = (await readFile(path)).subarray(t.fileOffset, t.fileOffset + t.byteSize);
  return dequantize(t.type, bytes, t.elementCount);
}

function stats(x: Float32Array): { mean: number; std: number } {
  let sum = 0;
  for (const v of x) sum += v;
  const mean = sum / x.length;
  let sq = 0;
  for (const v of x) sq += (v - mean) ** 2;
  return { mean, std: Math.sqrt(sq / x.length) };
}

describe("make-model determinism", () => {
  it("gives identical bytes for the same seed and different weights for another seed", async () => {
    const cached = await ensureModel("tiny", "q8_0", 0);
    const again = join(dir, "again.gguf");
    const other = join(dir, "other.gguf");
    await makeModel({ shape: "tiny", type: "q8_0", seed: 0, out: again });
    await makeModel({ shape: "tiny", type: "q8_0", seed: 1, out: other });
    const [a, b, c] = await Promise.all([readFile(cached), readFile(again), readFile(other)]);
    expect(Buffer.compare(a, b)).toBe(0);
    const fa = readGguf(cached);
    const fc = readGguf(other);
    expect(fc.tensors.map((t) => [t.name, t.byteSize])).toEqual(fa.tensors.map((t) => [t.name, t.byteSize]));
    for (const name of [
      "token_embd.weight",
      "blk.0.attn_q.weight",
      "blk.3.ffn_down.weight",
      "output_norm.weight",
    ]) {
      const ta = tensor(fa, name);
      const tc = tensor(fc, name);
      expect(
        a
          .subarray(ta.fileOffset, ta.fileOffset + ta.byteSize)
          .equals(c.subarray(tc.fileOffset, tc.fileOffset + tc.byteSize)),
        name,
      ).toBe(false);
    }
    // rope_freqs is computed, not drawn: identical across seeds.
    const ra = tensor(fa, "rope_freqs.weight");
    const rc = tensor(fc, "rope_freqs.weight");
    expect(
      a
        .subarray(ra.fileOffset, ra.fileOffset + ra.byteSize)
        .equals(c.subarray(rc.fileOffset, rc.fileOffset + rc.byteSize)),
    ).toBe(true);
  });

  it.skipIf(!existsSync(BIN_DIST))(
    "the compiled CLI, encoding on worker threads, writes the same bytes",
    async () => {
      // The CLI encodes on worker threads; this process encodes the same model on its own thread.
      const out = join(dir, "cli-q4km.gguf");
      const onThread = join(dir, "on-thread-q4km.gguf");
      const run = spawnSync(
        process.execPath,
        [BIN, "make-model", "--shape", "tiny", "--type", "q4_k_m", "--out", out],
        { encoding: "utf8" },
      );
      expect(run.status, run.stderr).toBe(0);
      await makeModel({ shape: "tiny", type: "q4_k_m", out: onThread, threads: 0 });
      const [viaCli, inProcess] = await Promise.all([readFile(out), readFile(onThread)]);
      expect(
        Buffer.compare(viaCli, inProcess),
        "differs from the in-process model (is dist/ stale? run npx tsc -b)",
      ).toBe(0);
    },
  );

  it("rejects a bad seed", async () => {
    await expect(
      makeModel({ shape: "tiny", type: "f32", seed: -1, out: join(dir, "x.gguf") }),
    ).rejects.toThrow("seed must be a non-negative integer");
  });
});

describe("make-model GGUF conventions (llama.cpp's convert_hf_to_gguf for Llama 3.2)", () => {
  let path: string;
  let file: GgufFile;
  beforeAll(async () => {
    path = await ensureModel("tiny", "q8_0");
    file = readGguf(path);
  });

  it("writes the Llama hyper-parameters with llama.cpp's keys and types", () => {
    const m = file.metadata;
    const expected: [string, string, unknown][] = [
      ["general.architecture", "string", "llama"],
      ["general.name", "string", "gearbox synthetic Llama 3 tiny (random weights)"],
      ["llama.context_length", "u32", 4096],
      ["llama.embedding_length", "u32", 256],
      ["llama.block_count", "u32", 4],
      ["llama.feed_forward_length", "u32", 768],
      ["llama.attention.head_count", "u32", 4],
      ["llama.attention.head_count_kv", "u32", 2],
      ["llama.rope.freq_base", "f32", 500000],
      ["llama.attention.layer_norm_rms_epsilon", "f32", Math.fround(1e-5)],
      ["llama.rope.dimension_count", "u32", 64],
      ["llama.attention.key_length", "u32", 64],
      ["llama.attention.value_length", "u32", 64],
      ["llama.vocab_size", "u32", 128256],
      ["general.file_type", "u32", 7],
      ["general.quantization_version", "u32", 2],
      ["tokenizer.ggml.model", "string", "gpt2"],
      ["tokenizer.ggml.pre", "string", "llama-bpe"],
      ["tokenizer.ggml.bos_token_id", "u32", 128000],
      ["tokenizer.ggml.eos_token_id", "u32", 128009],
      ["tokenizer.ggml.add_bos_token", "bool", true],
      ["tokenizer.chat_template", "string", LLAMA3_CHAT_TEMPLATE],
    ];
    for (const [key, type, value] of expected) expect(m.get(key), key).toEqual({ type, value });
    expect(String(m.get("general.description")?.value)).toContain("random weights");
  });

  it("carries the real Llama 3 vocabulary: 128000 normal tokens, 256 named control tokens, 280147 merges", () => {
    const tokens = metaArray(file.metadata, "tokenizer.ggml.tokens");
    const types = metaArray(file.metadata, "tokenizer.ggml.token_type");
    const merges = metaArray(file.metadata, "tokenizer.ggml.merges");
    if (tokens?.itemType !== "string" || types?.itemType !== "i32" || merges?.itemType !== "string")
      throw new Error("wrong types");
    expect(tokens.items.length).toBe(128256);
    expect(types.items.slice(0, 128000).every((t) => t === 1)).toBe(true);
    expect(types.items.slice(128000).every((t) => t === 3)).toBe(true);
    expect(merges.items.length).toBe(280147);
    expect(merges.items.slice(0, 3)).toEqual(["Ġ Ġ", "Ġ ĠĠĠ", "ĠĠ ĠĠ"]);
    expect(merges.items.every((m) => m.split(" ").length === 2)).toBe(true);
    expect(tokens.items.slice(127998, 128012)).toEqual([
      "ãĥ¼ãĥ¼",
      "éĶ¦",
      "<|begin_of_text|>",
      "<|end_of_text|>",
      "<|reserved_special_token_0|>",
      "<|reserved_special_token_1|>",
      "<|finetune_right_pad_id|>",
      "<|reserved_special_token_2|>",
      "<|start_header_id|>",
      "<|end_header_id|>",
      "<|eom_id|>",
      "<|eot_id|>",
      "<|python_tag|>",
      "<|reserved_special_token_3|>",
    ]);
    expect(tokens.items[128255]).toBe("<|reserved_special_token_247|>");
    expect(tokens.items.slice(0, 3)).toEqual(["!", '"', "#"]);
    expect(tokens.items[1917]).toBe("Ġworld");
  });

  it("lays out the tensors as llama.cpp names and shapes them", () => {
    const names = file.tensors.map((t) => t.name);
    expect(names.length).toBe(1 + 1 + 4 * 9 + 1);
    expect(names).not.toContain("output.weight"); // tied
    expect(tensor(file, "token_embd.weight").dims).toEqual([256, 128256]);
    expect(tensor(file, "rope_freqs.weight").dims).toEqual([32]);
    const blk = (n: string) => tensor(file, `blk.3.${n}.weight`);
    expect(blk("attn_norm").dims).toEqual([256]);
    expect(blk("attn_q").dims).toEqual([256, 256]);
    expect(blk("attn_k").dims).toEqual([256, 128]);
    expect(blk("attn_v").dims).toEqual([256, 128]);
    expect(blk("attn_output").dims).toEqual([256, 256]);
    expect(blk("ffn_norm").dims).toEqual([256]);
    expect(blk("ffn_gate").dims).toEqual([256, 768]);
    expect(blk("ffn_up").dims).toEqual([256, 768]);
    expect(blk("ffn_down").dims).toEqual([768, 256]);
    expect(tensor(file, "output_norm.weight").dims).toEqual([256]);
    for (const t of file.tensors) expect(t.type.name, t.name).toBe(t.dims.length === 1 ? "F32" : "Q8_0");
  });

  it("makes tiny-alt different in every dimension, untied and without rope scaling", async () => {
    const alt = readGguf(await ensureModel("tiny-alt", "q8_0"));
    const u32 = (k: string) => alt.metadata.get(k)?.value;
    expect([
      u32("llama.embedding_length"),
      u32("llama.attention.head_count"),
      u32("llama.attention.head_count_kv"),
    ]).toEqual([512, 8, 8]);
    expect([u32("llama.block_count"), u32("llama.feed_forward_length"), u32("llama.context_length")]).toEqual(
      [3, 1024, 2048],
    );
    expect(u32("llama.rope.freq_base")).toBe(10000);
    const names = alt.tensors.map((t) => t.name);
    expect(names).toContain("output.weight");
    expect(names).not.toContain("rope_freqs.weight");
    expect(tensor(alt, "output.weight").dims).toEqual([512, 128256]);
  });

  it("writes the Llama 3 rope scaling factors as convert_hf_to_gguf computes them", async () => {
    const factors = await values(path, file, "rope_freqs.weight");
    expect(Array.from(factors)).toEqual(
      Array.from(
        llama3RopeFactors(64, 500000, SHAPES.tiny.ropeScaling as NonNullable<typeof SHAPES.tiny.ropeScaling>),
      ),
    );
    // Independent double-precision computation: wavelengths under 8192/4 keep 1, over 8192 get 32, between interpolate.
    for (let i = 0; i < 32; i++) {
      const wavelen = (2 * Math.PI) / 500000 ** (-(2 * i) / 64);
      const smooth = (8192 / wavelen - 1) / 3;
      const expected = wavelen < 2048 ? 1 : wavelen > 8192 ? 32 : 1 / ((1 - smooth) / 32 + smooth);
      expect(factors[i] as number, `factor ${i}`).toBeCloseTo(expected, 4);
    }
    expect(factors[0]).toBe(1);
    expect(factors[31]).toBe(32);
    expect(factors.filter((f) => f > 1 && f < 32).length).toBe(3);
  });

  it("draws weights at the documented scales", async () => {
    const f32Path = await ensureModel("tiny", "f32");
    const f32 = readGguf(f32Path);
    const embd = await values(f32Path, f32, "token_embd.weight");
    const normal = stats(embd.subarray(0, 128000 * 256));
    expect(normal.mean).toBeCloseTo(0, 3);
    expect(normal.std).toBeCloseTo(LOGIT_STD / 16, 2);
    expect(stats(embd.subarray(128000 * 256)).std).toBeCloseTo((LOGIT_STD / 16) * SPECIAL_ROW_SCALE, 3);
    const norm = stats(await values(f32Path, f32, "blk.1.attn_norm.weight"));
    expect(norm.mean).toBeCloseTo(1, 1);
    expect(norm.std).toBeGreaterThan(0.05);
    expect(stats(await values(f32Path, f32, "blk.1.attn_q.weight")).std).toBeCloseTo(QK_GAIN / 16, 2);
    expect(stats(await values(f32Path, f32, "blk.1.attn_v.weight")).std).toBeCloseTo(1 / 16, 2);
    expect(stats(await values(f32Path, f32, "blk.1.ffn_down.weight")).std).toBeCloseTo(
      FFN_DOWN_GAIN / Math.sqrt(768),
      2,
    );
    // The final norm weight has random signs around magnitude 1 (see weights.ts).
    const outNorm = await values(f32Path, f32, "output_norm.weight");
    const negative = outNorm.filter((v) => v < 0).length;
    expect(negative).toBeGreaterThan(256 * 0.35);
    expect(negative).toBeLessThan(256 * 0.65);
    expect(stats(outNorm.map(Math.abs)).mean).toBeCloseTo(1, 1);
  });

  it("sets general.file_type and the tensor types of every file type", async () => {
    for (const fileType of MODEL_FILE_TYPES) {
      const typed = readGguf(await ensureModel("tiny", fileType));
      expect(typed.metadata.get("general.file_type"), fileType).toEqual({
        type: "u32",
        value: LLAMA_FTYPE[fileType],
      });
      const types = Object.fromEntries(typed.tensors.map((t) => [t.name, t.type.name]));
      expect(types["rope_freqs.weight"]).toBe("F32");
      expect(types["blk.0.ffn_norm.weight"]).toBe("F32");
      const expected2d = { f32: "F32", f16: "F16", bf16: "BF16", q8_0: "Q8_0", q4_0: "Q4_0", q4_k_m: "Q4_K" }[
        fileType
      ];
      expect(types["blk.0.attn_q.weight"], fileType).toBe(expected2d);
    }
    expect(LLAMA_FTYPE).toEqual({ f32: 0, f16: 1, q4_0: 2, q8_0: 7, q4_k_m: 15, bf16: 32 });
  });
});

describe("llama.cpp's quantization mixes", () => {
  const typesOf = (shape: keyof typeof SHAPES, fileType: "q4_0" | "q4_k_m") =>
    Object.fromEntries(planTensors(SHAPES[shape], fileType).map((t) => [t.name, t.type.name]));

  it("use_more_bits picks the first and last eighth of the layers and every third between", () => {
    const picked = (n: number) => Array.from({ length: n }, (_, i) => i).filter((i) => useMoreBits(i, n));
    expect(picked(16)).toEqual([0, 1, 4, 7, 10, 13, 14, 15]);
    expect(picked(28)).toEqual([0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27]);
    expect(picked(4)).toEqual([2, 3]);
  });

  it("Q4_K_M: Q6_K for the output projection and for attn_v/ffn_down in those layers, Q4_K elsewhere", () => {
    const t = typesOf("1b", "q4_k_m");
    expect(t["token_embd.weight"]).toBe("Q6_K"); // tied: it is the output projection
    for (let i = 0; i < 16; i++) {
      const more = [0, 1, 4, 7, 10, 13, 14, 15].includes(i);
      expect(t[`blk.${i}.attn_v.weight`], `layer ${i}`).toBe(more ? "Q6_K" : "Q4_K");
      expect(t[`blk.${i}.ffn_down.weight`], `layer ${i}`).toBe(more ? "Q6_K" : "Q4_K");
      for (const n of ["attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"])
        expect(t[`blk.${i}.${n}.weight`]).toBe("Q4_K");
      expect(t[`blk.${i}.attn_norm.weight`]).toBe("F32");
    }
    const untied = typesOf("tiny-alt", "q4_k_m");
    expect(untied["output.weight"]).toBe("Q6_K");
    expect(untied["token_embd.weight"]).toBe("Q4_K");
  });

  it("Q4_0: Q6_K only for the output projection", () => {
    const t = typesOf("tiny", "q4_0");
    expect(t["token_embd.weight"]).toBe("Q6_K");
    expect(t["blk.0.attn_v.weight"]).toBe("Q4_0");
    expect(t["blk.3.ffn_down.weight"]).toBe("Q4_0");
  });

  it("the 1b and 3b shapes have Llama 3.2's parameter counts (plus rope_freqs)", () => {
    const count = (shape: keyof typeof SHAPES) =>
      planTensors(SHAPES[shape], "q8_0").reduce((n, t) => n + t.dims.reduce((a, b) => a * b, 1), 0);
    expect(count("1b")).toBe(1_235_814_400 + 32);
    expect(count("3b")).toBe(3_212_749_824 + 64);
  });
});
