import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GgmlTypeInfo, ggmlTypeByName, tensorByteSize } from "../src/ggml-types.js";
import { parseGgufBuffer, readGguf } from "../src/reader.js";
import type { GgufMetadata, GgufValue } from "../src/values.js";
import { type GgufTensorWrite, layoutGguf, writeGguf } from "../src/writer.js";

function type(name: string): GgmlTypeInfo {
  const t = ggmlTypeByName(name);
  if (!t) throw new Error(name);
  return t;
}

/** One value of every metadata type, with edge values, including nested and empty arrays. */
function everyValueType(): GgufMetadata {
  return new Map<string, GgufValue>([
    ["t.u8", { type: "u8", value: 255 }],
    ["t.i8", { type: "i8", value: -128 }],
    ["t.u16", { type: "u16", value: 65535 }],
    ["t.i16", { type: "i16", value: -32768 }],
    ["t.u32", { type: "u32", value: 4294967295 }],
    ["t.i32", { type: "i32", value: -2147483648 }],
    ["t.f32", { type: "f32", value: Math.fround(-1.5e-7) }],
    ["t.f64", { type: "f64", value: Math.PI }],
    ["t.u64", { type: "u64", value: 18446744073709551615n }],
    ["t.i64", { type: "i64", value: -9223372036854775808n }],
    ["t.bool.true", { type: "bool", value: true }],
    ["t.bool.false", { type: "bool", value: false }],
    ["t.string", { type: "string", value: "héllo 世界 🎉\n\u0000end" }],
    ["t.string.empty", { type: "string", value: "" }],
    ["t.arr.u8", { type: "array", value: { itemType: "u8", items: Uint8Array.of(0, 1, 255) } }],
    ["t.arr.i8", { type: "array", value: { itemType: "i8", items: Int8Array.of(-128, 0, 127) } }],
    ["t.arr.u16", { type: "array", value: { itemType: "u16", items: Uint16Array.of(0, 65535) } }],
    ["t.arr.i16", { type: "array", value: { itemType: "i16", items: Int16Array.of(-32768, 32767) } }],
    ["t.arr.u32", { type: "array", value: { itemType: "u32", items: Uint32Array.of(0, 4294967295) } }],
    ["t.arr.i32", { type: "array", value: { itemType: "i32", items: Int32Array.of(-1, 1, 3) } }],
    [
      "t.arr.f32",
      {
        type: "array",
        value: { itemType: "f32", items: Float32Array.of(0.5, -0, Number.POSITIVE_INFINITY) },
      },
    ],
    ["t.arr.f64", { type: "array", value: { itemType: "f64", items: Float64Array.of(1e300, -1e-300) } }],
    [
      "t.arr.u64",
      { type: "array", value: { itemType: "u64", items: BigUint64Array.of(0n, 2n ** 64n - 1n) } },
    ],
    [
      "t.arr.i64",
      { type: "array", value: { itemType: "i64", items: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n) } },
    ],
    ["t.arr.bool", { type: "array", value: { itemType: "bool", items: [true, false, true] } }],
    ["t.arr.string", { type: "array", value: { itemType: "string", items: ["a", "", "Ġthe", "中文"] } }],
    ["t.arr.empty", { type: "array", value: { itemType: "f32", items: new Float32Array(0) } }],
    [
      "t.arr.nested",
      {
        type: "array",
        value: {
          itemType: "array",
          items: [
            { itemType: "i32", items: Int32Array.of(1, 2) },
            { itemType: "string", items: ["x"] },
            { itemType: "array", items: [{ itemType: "bool", items: [false] }] },
          ],
        },
      },
    ],
  ]);
}

/** A tensor whose bytes are i & 0xff, produced in chunks of `chunk` bytes. */
function patternTensor(name: string, dims: number[], t: GgmlTypeInfo, chunk = 1000): GgufTensorWrite {
  return {
    name,
    dims,
    type: t,
    *data() {
      const total = tensorByteSize(t, dims);
      for (let at = 0; at < total; at += chunk) {
        const n = Math.min(chunk, total - at);
        yield Uint8Array.from({ length: n }, (_, i) => (at + i) & 0xff);
      }
    },
  };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gguf-roundtrip-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("GGUF writer and reader", () => {
  it("round-trips metadata of every value type and tensor infos, byte for byte", async () => {
    const metadata = everyValueType();
    const tensors = [
      patternTensor("a.weight", [64, 3], type("F32")),
      patternTensor("b.weight", [256, 2], type("Q4_K")),
      patternTensor("c", [32], type("Q8_0")),
      patternTensor("d.bf16", [5, 7, 2, 3], type("BF16")),
      patternTensor("e.q6k", [256], type("Q6_K")),
    ];
    const path = join(dir, "every-type.gguf");
    await writeGguf(path, metadata, tensors);
    const file = readGguf(path);

    expect(file.version).toBe(3);
    expect(file.alignment).toBe(32);
    expect([...file.metadata.keys()]).toEqual([...metadata.keys()]);
    for (const [key, value] of metadata) expect(file.metadata.get(key), key).toEqual(value);

    expect(file.tensors.map((t) => [t.name, t.dims, t.type.name])).toEqual(
      tensors.map((t) => [t.name, t.dims, t.type.name]),
    );
    const bytes = await readFile(path);
    for (const [i, t] of file.tensors.entries()) {
      expect(t.fileOffset % 32).toBe(0);
      expect(t.byteSize).toBe(tensorByteSize(tensors[i]?.type as GgmlTypeInfo, t.dims));
      const data = bytes.subarray(t.fileOffset, t.fileOffset + t.byteSize);
      expect(data.every((b, j) => b === (j & 0xff))).toBe(true);
    }

    // Writing what was read gives the same file.
    const again = join(dir, "again.gguf");
    await writeGguf(
      again,
      file.metadata,
      file.tensors.map((t) => ({
        ...t,
        data: () => [bytes.subarray(t.fileOffset, t.fileOffset + t.byteSize)],
      })),
    );
    expect(Buffer.compare(await readFile(again), bytes)).toBe(0);
  });

  it("honours general.alignment and writes version 2 when asked", async () => {
    const metadata: GgufMetadata = new Map([["general.alignment", { type: "u32", value: 64 }]]);
    const path = join(dir, "align64.gguf");
    await writeGguf(
      path,
      metadata,
      [patternTensor("x", [8], type("F32")), patternTensor("y", [3], type("F16"))],
      { version: 2 },
    );
    const file = readGguf(path);
    expect(file.version).toBe(2);
    expect(file.alignment).toBe(64);
    expect(file.dataOffset % 64).toBe(0);
    expect(file.tensors.map((t) => t.offset)).toEqual([0, 64]);
  });

  it("reads headers larger than its read window from a file (strings straddling chunk boundaries)", async () => {
    // ~3.5 MB of strings of varying length: many items cross the reader's 1 MiB chunks.
    const items = Array.from({ length: 200_000 }, (_, i) => `tok${i}${"é".repeat(i % 13)}`);
    const metadata: GgufMetadata = new Map<string, GgufValue>([
      ["big.strings", { type: "array", value: { itemType: "string", items } }],
      [
        "big.i32",
        {
          type: "array",
          value: { itemType: "i32", items: Int32Array.from({ length: 600_000 }, (_, i) => i * 7 - 5) },
        },
      ],
      ["after", { type: "u64", value: 123456789n }],
    ]);
    const path = join(dir, "big-header.gguf");
    await writeGguf(path, metadata, [patternTensor("t", [32], type("F32"))]);
    const file = readGguf(path);
    expect(file.metadata.get("big.strings")).toEqual(metadata.get("big.strings"));
    expect(file.metadata.get("big.i32")).toEqual(metadata.get("big.i32"));
    expect(file.metadata.get("after")).toEqual({ type: "u64", value: 123456789n });
    expect(file.tensors[0]?.name).toBe("t");
  });

  it("layout matches what the reader computes", () => {
    const metadata = everyValueType();
    const specs = [patternTensor("p", [256, 4], type("Q6_K")), patternTensor("q", [96], type("Q4_0"))];
    const layout = layoutGguf(metadata, specs);
    const file = new Uint8Array(layout.header.length + layout.dataBytes);
    file.set(layout.header);
    const parsed = parseGgufBuffer(file);
    expect(parsed.dataOffset).toBe(layout.header.length);
    expect(parsed.tensors.map((t) => t.offset)).toEqual(layout.offsets);
    expect(parsed.tensors.map((t) => t.byteSize)).toEqual(layout.byteSizes);
  });

  it("rejects values that do not fit their type and tensors that produce the wrong amount of data", async () => {
    expect(() => layoutGguf(new Map([["k", { type: "u8", value: 256 }]]), [])).toThrow(
      "metadata 'k': 256 is not a valid u8",
    );
    expect(() => layoutGguf(new Map([["k", { type: "i32", value: 1.5 }]]), [])).toThrow("not a valid i32");
    expect(() => layoutGguf(new Map(), [{ name: "x", dims: [100], type: type("Q8_0") }])).toThrow(
      "block size 32",
    );
    expect(() => layoutGguf(new Map(), [{ name: "x".repeat(64), dims: [1], type: type("F32") }])).toThrow(
      "name must be",
    );

    const short: GgufTensorWrite = {
      name: "s",
      dims: [16],
      type: type("F32"),
      data: () => [new Uint8Array(60)],
    };
    const path = join(dir, "short.gguf");
    await expect(writeGguf(path, new Map(), [short])).rejects.toThrow(
      "tensor 's' produced 60 bytes, expected 64",
    );
    // Nothing is left behind: neither the file nor its temporary.
    expect((await readdir(dir)).filter((f) => f.includes("short"))).toEqual([]);
  });
});
