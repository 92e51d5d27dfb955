/**
 * The engine's loader never trusts a file: truncated, mutated or inconsistent GGUF files are
 * rejected with an error that names the problem, and the process keeps running (a crash would take
 * the test worker down with it).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gv } from "@gearbox/gguf/values";
import { writeGguf } from "@gearbox/gguf/writer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nativeAddon } from "../src/engine/native.js";
import { nativeEngine } from "../src/engine/native-engine.js";
import { baseMetadata, microTensors, VOCAB } from "./support/micro-model.js";

let dir: string;
let good: string;
let goodBytes: Buffer;

async function load(path: string) {
  const m = await nativeEngine.loadModel(path, {
    threads: 1,
    contextLength: 64,
    kvCacheMiB: 1,
    gears: { prefill: [16], decodeBatch: [1], warm: "none" },
  });
  return m;
}

async function expectRejected(bytes: Uint8Array, pattern: RegExp, name: string) {
  const path = join(dir, `${name}.gguf`);
  await writeFile(path, bytes);
  await expect(load(path), name).rejects.toThrow(pattern);
}

/** Offset of a tensor's info record fields in the header (after its name). */
function tensorInfoAt(bytes: Buffer, name: string) {
  const needle = Buffer.concat([Buffer.alloc(8), Buffer.from(name)]);
  needle.writeBigUInt64LE(BigInt(name.length), 0);
  const at = bytes.indexOf(needle);
  if (at < 0) throw new Error(`no tensor info for ${name}`);
  const nDims = at + needle.length;
  const dims = nDims + 4;
  const n = bytes.readUInt32LE(nDims);
  const type = dims + 8 * n;
  return { nDims, dims, type, offset: type + 4 };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gearbox-malformed-"));
  good = join(dir, "good.gguf");
  await writeGguf(good, baseMetadata(), microTensors());
  goodBytes = await readFile(good);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("malformed GGUF files", () => {
  it("the well-formed micro model loads and runs (so the rejections below are meaningful)", async () => {
    const m = await load(good);
    const { seq } = await m.createSequence({
      temperature: 0,
      topK: 0,
      topP: 1,
      minP: 0,
      presencePenalty: 0,
      frequencyPenalty: 0,
      repetitionPenalty: 1,
      logitBias: new Map(),
      seed: 0,
      topLogprobs: 0,
      logprobs: false,
    });
    const [r] = await m.step([{ seq, tokens: [1, 2, 3], sample: true }]);
    expect(r?.token).toBeGreaterThanOrEqual(0);
    expect(r?.token).toBeLessThan(VOCAB);
    await m.close();
  });

  it("rejects a file truncated anywhere", async () => {
    const cuts = [0, 3, 4, 8, 16, 23, 24, 40, 100, 200, 400, 800];
    for (let i = 1; i < 40; i++) cuts.push(Math.floor((goodBytes.length * i) / 40));
    cuts.push(goodBytes.length - 1);
    for (const cut of cuts)
      await expectRejected(goodBytes.subarray(0, cut), /GGUF|truncated|too small|past the end/, `cut-${cut}`);
  });

  it("rejects bad magic, versions and absurd counts", async () => {
    const bad = Buffer.from(goodBytes);
    bad.write("GGUX", 0);
    await expectRejected(bad, /bad magic/, "magic");
    for (const version of [1, 4, 0xffffffff]) {
      const v = Buffer.from(goodBytes);
      v.writeUInt32LE(version, 4);
      await expectRejected(v, /unsupported version/, `version-${version}`);
    }
    const tensors = Buffer.from(goodBytes);
    tensors.writeBigUInt64LE(0xffffffffffn, 8);
    await expectRejected(tensors, /tensor count .* impossible/, "tensor-count");
    const kvs = Buffer.from(goodBytes);
    kvs.writeBigUInt64LE(0xffffffffffffn, 16);
    await expectRejected(kvs, /metadata count .* impossible/, "kv-count");
  });

  it("rejects mutated tensor records: types, dimensions, offsets", async () => {
    const name = "blk.0.attn_q.weight";
    const at = tensorInfoAt(goodBytes, name);
    const mutate = (f: (b: Buffer) => void) => {
      const b = Buffer.from(goodBytes);
      f(b);
      return b;
    };
    await expectRejected(
      mutate((b) => b.writeUInt32LE(6, at.type)),
      /q5_0/,
      "type-q5_0",
    );
    await expectRejected(
      mutate((b) => b.writeUInt32LE(99, at.type)),
      /unknown ggml type id 99/,
      "type-99",
    );
    await expectRejected(
      mutate((b) => b.writeUInt32LE(9, at.nDims)),
      /dimensions/,
      "ndims",
    );
    await expectRejected(
      mutate((b) => b.writeBigUInt64LE(48n, at.dims)),
      /multiple of the q8_0 block size|shape/,
      "dim0",
    );
    await expectRejected(
      mutate((b) => b.writeBigUInt64LE(65n, at.dims + 8)),
      /past the end|shape/,
      "dim1",
    );
    await expectRejected(
      mutate((b) => b.writeBigUInt64LE(0n, at.dims + 8)),
      /zero/,
      "dim-zero",
    );
    await expectRejected(
      mutate((b) => b.writeBigUInt64LE(1n << 40n, at.dims + 8)),
      /past the end|absurd/,
      "dim-huge",
    );
    const offset = goodBytes.readBigUInt64LE(at.offset);
    await expectRejected(
      mutate((b) => b.writeBigUInt64LE(offset + 1n, at.offset)),
      /not aligned/,
      "offset-misaligned",
    );
    await expectRejected(
      mutate((b) => b.writeBigUInt64LE(1n << 50n, at.offset)),
      /past the end/,
      "offset-huge",
    );
  });

  it("rejects files whose hyper-parameters disagree with their tensors", async () => {
    const cases: Array<[string, Record<string, ReturnType<typeof gv.u32>>, RegExp]> = [
      ["layers", { "llama.block_count": gv.u32(2) }, /blk\.1\.attn_norm\.weight' is missing/],
      ["heads", { "llama.attention.head_count": gv.u32(4) }, /shape/],
      ["gqa", { "llama.attention.head_count_kv": gv.u32(3) }, /not a multiple/],
      ["embd", { "llama.embedding_length": gv.u32(0) }, /out of range/],
      ["arch", { "general.architecture": gv.string("gpt2") }, /architecture 'gpt2' is not supported/],
      ["ffn-type", { "llama.feed_forward_length": gv.string("many") }, /must be an integer/],
    ];
    for (const [name, overrides, pattern] of cases) {
      const path = join(dir, `${name}.gguf`);
      await writeGguf(path, baseMetadata(overrides), microTensors());
      await expect(load(path), name).rejects.toThrow(pattern);
    }
    const missing = join(dir, "missing-tensor.gguf");
    await writeGguf(
      missing,
      baseMetadata(),
      microTensors().filter((t) => t.name !== "blk.0.ffn_up.weight"),
    );
    await expect(load(missing)).rejects.toThrow(/blk\.0\.ffn_up\.weight' is missing/);
  });

  it("survives random corruption of the header (rejects or loads, never crashes)", async () => {
    const header = tensorInfoAt(goodBytes, "output_norm.weight").offset + 8;
    let state = 12345;
    const rand = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state;
    };
    let rejected = 0;
    for (let i = 0; i < 60; i++) {
      const b = Buffer.from(goodBytes);
      for (let k = 0; k < 3; k++) b[rand() % header] = rand() & 0xff;
      const path = join(dir, `random-${i}.gguf`);
      await writeFile(path, b);
      try {
        const m = await load(path);
        await m.close();
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(10);
  });

  it("settles the context length once: the requested one, capped by the trained context", async () => {
    const m = await nativeEngine.loadModel(good, {
      threads: 1,
      contextLength: 1 << 20,
      kvCacheMiB: 1,
      gears: { prefill: [16], decodeBatch: [1], warm: "none" },
    });
    expect(m.info.contextLength).toBe(256); // the file's llama.context_length
    await m.close();
  });

  it("the native engine has no size defaults of its own: they must be given", async () => {
    const addon = nativeAddon();
    const gears = { prefill: [16], decodeBatch: [1], warm: "none" as const };
    await expect(async () => addon.loadModel(good, { kvCacheMiB: 1, gears } as never)).rejects.toThrow(
      /contextLength is required/,
    );
    await expect(async () => addon.loadModel(good, { contextLength: 64, gears } as never)).rejects.toThrow(
      /kvCacheMiB is required/,
    );
    await expect(async () =>
      addon.loadModel(good, { contextLength: 64, kvCacheMiB: 1 } as never),
    ).rejects.toThrow(/gears is required/);
    await expect(async () =>
      addon.loadModel(good, { contextLength: 64, kvCacheMiB: 1, gears: { prefill: [16] } } as never),
    ).rejects.toThrow(/gears.decodeBatch is required/);
  });

  it("reports missing files and directories clearly", async () => {
    await expect(load(join(dir, "nope.gguf"))).rejects.toThrow(/cannot open model file/);
    await expect(load(dir)).rejects.toThrow(/not a regular file/);
  });
});
