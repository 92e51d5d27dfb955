import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { summarizeModel } from "@gearbox/gguf/model-summary";
import { readGguf } from "@gearbox/gguf/reader";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../src/cli/main.js";
import { ensureModel } from "./support/models.js";

/** Runs the CLI in-process and captures what it writes. */
async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

let tiny: string;
let dir: string;
beforeAll(async () => {
  tiny = await ensureModel("tiny", "q4_k_m");
  dir = await mkdtemp(join(tmpdir(), "inspect-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("gearbox inspect", () => {
  it("--json describes the model: shape, tensor types, parameters and memory", async () => {
    const { code, stdout } = await cli(["inspect", "--model", tiny, "--json"]);
    expect(code).toBe(0);
    const s = JSON.parse(stdout);
    expect(s.path).toBe(tiny);
    expect(s.fileSize).toBe((await stat(tiny)).size);
    expect(s.architecture).toBe("llama");
    expect(s.fileType).toEqual({ id: 15, name: "Q4_K_M" });
    expect(s.hyperparameters).toMatchObject({
      vocabSize: 128256,
      contextLength: 4096,
      embeddingLength: 256,
      blockCount: 4,
      feedForwardLength: 768,
      headCount: 4,
      headCountKv: 2,
      headDim: 64,
      ropeFreqBase: 500000,
      ropeFreqFactors: true,
      tiedEmbeddings: true,
    });
    expect(s.tokenizer).toEqual({
      model: "gpt2",
      pre: "llama-bpe",
      tokenCount: 128256,
      bosId: 128000,
      eosId: 128009,
      hasChatTemplate: true,
    });
    expect(s.tensorCount).toBe(39);
    // token_embd plus attn_v and ffn_down of layers 2 and 3 are Q6_K (llama.cpp's Q4_K_M mix).
    expect(s.tensorTypes).toEqual({ F32: 10, Q6_K: 5, Q4_K: 24 });
    expect(s.parameterCount).toBe(35_981_600);
    // KV cache: 2 (K and V) * 4 layers * 4096 tokens * 2 kv heads * 64 dims * 2 bytes (f16).
    expect(s.memory.contextLength).toBe(4096);
    expect(s.memory.kvCacheBytes).toBe(2 * 4 * 4096 * 2 * 64 * 2);
    const file = readGguf(tiny);
    const weights = file.tensors.reduce((n, t) => n + t.byteSize, 0);
    expect(s.memory.weightsBytes).toBe(weights);
    expect(s.memory.totalBytes).toBe(weights + s.memory.kvCacheBytes);
  });

  it("--context sets the KV cache estimate; the default caps at 8192 tokens", async () => {
    const { stdout } = await cli(["inspect", "--model", tiny, "--context", "1000", "--json"]);
    expect(JSON.parse(stdout).memory.kvCacheBytes).toBe(2 * 4 * 1000 * 2 * 64 * 2);
    // 1b has a 131072-token context: the default estimate uses 8192.
    const file = readGguf(tiny);
    file.metadata.set("llama.context_length", { type: "u32", value: 131072 });
    expect(summarizeModel(file).memory.contextLength).toBe(8192);
  });

  it("prints a readable summary", async () => {
    const { code, stdout } = await cli(["inspect", "--model", tiny]);
    expect(code).toBe(0);
    expect(stdout).toContain("name          gearbox synthetic Llama 3 tiny (random weights)\n");
    expect(stdout).toContain("file type     Q4_K_M (general.file_type 15)\n");
    expect(stdout).toContain(
      "shape         vocab 128256, hidden 256, layers 4, heads 4 (kv 2, head dim 64), ffn 768\n",
    );
    expect(stdout).toContain("tensors       39: Q4_K 24, F32 10, Q6_K 5\n");
    expect(stdout).toContain("parameters    0.036 B (35,981,600)\n");
    expect(stdout).toContain("norm eps      0.00001\n");
    expect(stdout).toMatch(
      /memory {8}[\d.]+ MB = weights [\d.]+ MB \+ f16 KV cache 8\.39 MB for 4096 tokens\n/,
    );
  });

  it("reports usage errors and unreadable files", async () => {
    const missing = await cli(["inspect"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("gearbox: --model is required");
    expect(missing.stderr).toContain("usage: gearbox inspect");
    const badContext = await cli(["inspect", "--model", tiny, "--context", "lots"]);
    expect(badContext.code).toBe(2);
    expect(badContext.stderr).toContain("--context must be an integer");
    await expect(cli(["inspect", "--model", join(dir, "nope.gguf")])).rejects.toThrow("ENOENT");
  });
});

describe("gearbox make-model", () => {
  it("writes the model and reports it", async () => {
    const out = join(dir, "cli.gguf");
    const { code, stdout, stderr } = await cli([
      "make-model",
      "--shape",
      "tiny",
      "--type",
      "bf16",
      "--seed",
      "3",
      "--out",
      out,
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^${out}: [\\d.]+ MB, 39 tensors, [\\d.]+ s\\n$`));
    expect(stderr).toContain("make-model tiny bf16: 100%");
    const file = readGguf(out);
    expect(file.metadata.get("general.file_type")?.value).toBe(32);
    expect(file.metadata.get("gearbox.synthetic.seed")?.value).toBe(3n);
  });

  it("rejects unknown shapes, types and missing options", async () => {
    const shape = await cli(["make-model", "--shape", "7b", "--out", join(dir, "x.gguf")]);
    expect(shape.code).toBe(2);
    expect(shape.stderr).toContain("--shape must be one of tiny, tiny-alt, 1b, 3b, got '7b'");
    const type = await cli(["make-model", "--shape", "tiny", "--type", "q5_k", "--out", join(dir, "x.gguf")]);
    expect(type.stderr).toContain("--type must be one of f32, f16, bf16, q8_0, q4_0, q4_k_m");
    expect((await cli(["make-model", "--shape", "tiny"])).stderr).toContain("--out is required");
    expect((await cli(["make-model", "--shape", "tiny", "--out", "x", "--seed=-3"])).stderr).toContain(
      "--seed must be an integer from 0",
    );
    expect((await cli(["make-model", "--bogus"])).stderr).toContain("Unknown option '--bogus'");
    const help = await cli(["make-model", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: gearbox make-model");
  });
});
