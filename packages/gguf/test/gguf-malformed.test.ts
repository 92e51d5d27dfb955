import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GgufError } from "../src/errors.js";
import { parseGgufBuffer, readGguf } from "../src/reader.js";

/**
 * A hand-assembled GGUF file whose field offsets are recorded, so each test can corrupt exactly one
 * field: 3 metadata entries (u32, string array, string), 2 tensors (F32 [8, 2] and Q8_0 [32]).
 */
class Assembler {
  private parts: Buffer[] = [];
  length = 0;
  readonly at: Record<string, number> = {};

  mark(name: string): this {
    this.at[name] = this.length;
    return this;
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return this.raw(b);
  }
  u64(v: number | bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return this.raw(b);
  }
  str(s: string): this {
    return this.u64(Buffer.byteLength(s)).raw(Buffer.from(s));
  }
  pad(alignment: number): this {
    return this.raw(Buffer.alloc((alignment - (this.length % alignment)) % alignment));
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function validFile(): { bytes: Buffer; at: Record<string, number> } {
  const a = new Assembler();
  a.mark("magic").raw(Buffer.from("GGUF")).mark("version").u32(3);
  a.mark("tensorCount").u64(2).mark("kvCount").u64(3);
  a.mark("kv0.key").str("general.alignment").mark("kv0.type").u32(4).mark("kv0.value").u32(32);
  a.mark("kv1.key")
    .str("tokens")
    .mark("kv1.type")
    .u32(9)
    .mark("kv1.itemType")
    .u32(8)
    .mark("kv1.count")
    .u64(3);
  a.mark("kv1.item0").str("a").str("bb").str("ccc");
  a.mark("kv2.key").str("name").mark("kv2.type").u32(8).mark("kv2.value").str("tiny");
  a.mark("t0.name")
    .str("blk.0.attn_q.weight")
    .mark("t0.nDims")
    .u32(2)
    .mark("t0.ne0")
    .u64(8)
    .mark("t0.ne1")
    .u64(2);
  a.mark("t0.type").u32(0).mark("t0.offset").u64(0);
  a.mark("t1.name")
    .str("output.weight")
    .mark("t1.nDims")
    .u32(1)
    .mark("t1.ne0")
    .u64(32)
    .mark("t1.type")
    .u32(8);
  a.mark("t1.offset").u64(64);
  a.mark("tensorInfosEnd").pad(32).mark("data");
  a.raw(Buffer.alloc(64, 1)).mark("t1.data").raw(Buffer.alloc(34, 2)).mark("end");
  return { bytes: a.bytes(), at: a.at };
}

function corrupt(edit: (b: Buffer, at: Record<string, number>) => Buffer | undefined): Buffer {
  const { bytes, at } = validFile();
  return edit(bytes, at) ?? bytes;
}

function errorOf(bytes: Uint8Array): GgufError {
  try {
    parseGgufBuffer(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(GgufError);
    return err as GgufError;
  }
  throw new Error("expected parse to fail");
}

function at(b: Record<string, number>, name: string): number {
  const v = b[name];
  if (v === undefined) throw new Error(name);
  return v;
}

describe("GGUF reader on malformed files", () => {
  it("parses the unmodified file", () => {
    const file = parseGgufBuffer(validFile().bytes);
    expect(file.tensors.map((t) => [t.name, t.byteSize])).toEqual([
      ["blk.0.attn_q.weight", 64],
      ["output.weight", 34],
    ]);
    expect(file.metadata.get("tokens")).toEqual({
      type: "array",
      value: { itemType: "string", items: ["a", "bb", "ccc"] },
    });
  });

  it("rejects the file truncated at every byte, naming what is cut off", () => {
    const { bytes, at: marks } = validFile();
    // A truncated header shows either as a field cut short, or as a count or length the rest of the
    // file cannot hold (counts are checked against the remaining bytes before anything is read).
    const headerCut = [
      /^GGUF: file ends inside .+: it needs \d+ bytes at offset \d+, but the file size is \d+$/,
      /^GGUF: .+ at offset \d+ is \d+, but the \d+ bytes left in the file hold at most \d+$/,
      /^GGUF: .+ at offset \d+ has length \d+, but only \d+ bytes are left in the file$/,
    ];
    for (let size = 0; size < bytes.length; size++) {
      const err = errorOf(bytes.subarray(0, size));
      if (size < at(marks, "tensorInfosEnd")) {
        expect(
          headerCut.some((re) => re.test(err.message)),
          `size ${size}: ${err.message}`,
        ).toBe(true);
      } else {
        expect(err.message, `size ${size}`).toMatch(
          /^GGUF: tensor '.+' data \[offset \d+, \d+ bytes\] runs past end of file \(size \d+\)$/,
        );
      }
    }
  });

  it("names the field and offset where the file ends", () => {
    const { bytes, at: marks } = validFile();
    expect(errorOf(bytes.subarray(0, 2)).message).toBe(
      "GGUF: file ends inside the magic number: it needs 4 bytes at offset 0, but the file size is 2",
    );
    // Inside the third string ("ccc") of the array: its length is read, its bytes are missing.
    const item2 = at(marks, "kv1.item0") + 9 + 10;
    expect(errorOf(bytes.subarray(0, item2 + 9)).message).toBe(
      `GGUF: item 2 of metadata 'tokens' at offset ${item2} has length 3, but only 1 bytes are left in the file`,
    );
    expect(errorOf(bytes.subarray(0, at(marks, "t1.type") + 2)).message).toContain(
      "the type of tensor 'output.weight'",
    );
    expect(errorOf(bytes.subarray(0, at(marks, "end") - 1)).message).toBe(
      `GGUF: tensor 'output.weight' data [offset ${at(marks, "t1.data")}, 34 bytes] runs past end of file (size ${at(marks, "end") - 1})`,
    );
  });

  it("rejects a wrong magic, version 1, unknown versions and big-endian files", () => {
    expect(errorOf(corrupt((b) => Buffer.concat([Buffer.from("GGML"), b.subarray(4)]))).message).toBe(
      'GGUF: not a GGUF file: magic is "GGML", expected "GGUF"',
    );
    expect(errorOf(corrupt((b, m) => void b.writeUInt32LE(1, at(m, "version")))).message).toContain(
      "version 1 is not supported",
    );
    expect(errorOf(corrupt((b, m) => void b.writeUInt32LE(7, at(m, "version")))).message).toBe(
      "GGUF: unsupported version 7",
    );
    expect(errorOf(corrupt((b, m) => void b.writeUInt32BE(3, at(m, "version")))).message).toContain(
      "looks big-endian",
    );
  });

  it("rejects absurd counts and lengths before allocating anything", () => {
    const before = process.memoryUsage().arrayBuffers;
    const cases: [string, (b: Buffer, m: Record<string, number>) => void, RegExp][] = [
      [
        "tensor count",
        (b, m) => b.writeBigUInt64LE(1n << 40n, at(m, "tensorCount")),
        /the tensor count at offset 8 is 1099511627776, but the \d+ bytes left in the file hold at most \d+/,
      ],
      [
        "metadata count",
        (b, m) => b.writeBigUInt64LE(1n << 40n, at(m, "kvCount")),
        /the metadata count at offset 16 is 1099511627776, but the/,
      ],
      [
        "huge metadata count",
        (b, m) => b.writeBigUInt64LE(2n ** 62n, at(m, "kvCount")),
        /the metadata count at offset 16 is 4611686018427387904, larger than any file/,
      ],
      [
        "array count",
        (b, m) => b.writeBigUInt64LE(1n << 50n, at(m, "kv1.count")),
        /the item count of metadata 'tokens' at offset \d+ is 1125899906842624, but/,
      ],
      [
        "string length",
        (b, m) => b.writeBigUInt64LE(1n << 45n, at(m, "kv2.value")),
        /metadata 'name' at offset \d+ has length 35184372088832, but only \d+ bytes are left/,
      ],
      [
        "key length",
        (b, m) => b.writeBigUInt64LE(2n ** 64n - 1n, at(m, "kv0.key")),
        /the key of metadata entry 0 at offset 24 is 18446744073709551615, larger than any file/,
      ],
      [
        "item length",
        (b, m) => b.writeBigUInt64LE(1000n, at(m, "kv1.item0")),
        /item 0 of metadata 'tokens' at offset \d+ has length 1000/,
      ],
      [
        "tensor name length",
        (b, m) => b.writeBigUInt64LE(1n << 33n, at(m, "t0.name")),
        /the name of tensor 0 at offset \d+ has length 8589934592/,
      ],
      [
        "dimension size",
        (b, m) => b.writeBigUInt64LE(1n << 60n, at(m, "t0.ne1")),
        /dimension 1 of tensor 'blk.0.attn_q.weight' at offset \d+ is 1152921504606846976, larger than any file/,
      ],
      [
        "element count",
        (b, m) => b.writeBigUInt64LE(1n << 50n, at(m, "t0.ne1")),
        /tensor 'blk.0.attn_q.weight' at offset \d+ has more elements than any file can hold/,
      ],
    ];
    for (const [name, edit, message] of cases) {
      expect(errorOf(corrupt((b, m) => void edit(b, m))).message, name).toMatch(message);
    }
    // Every case failed without allocating anything near its count (a few MB of slack for the test itself).
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });

  it("rejects bad tensor infos: dimension counts, zero sizes, type ids, block sizes, names", () => {
    const { at: marks } = validFile();
    const cases: [(b: Buffer, m: Record<string, number>) => void, string][] = [
      [
        (b, m) => b.writeUInt32LE(5, at(m, "t0.nDims")),
        `tensor 'blk.0.attn_q.weight' at offset ${at(marks, "t0.nDims")} has 5 dimensions, expected 1 to 4`,
      ],
      [(b, m) => b.writeUInt32LE(0, at(m, "t0.nDims")), "has 0 dimensions, expected 1 to 4"],
      [
        (b, m) => b.writeBigUInt64LE(0n, at(m, "t0.ne0")),
        `tensor 'blk.0.attn_q.weight' at offset ${at(marks, "t0.ne0")} has dimension 0 of size 0`,
      ],
      [(b, m) => b.writeUInt32LE(99, at(m, "t1.type")), "tensor 'output.weight' has unknown ggml type id 99"],
      [
        (b, m) => b.writeUInt32LE(4, at(m, "t1.type")),
        "tensor 'output.weight' has ggml type 4 (Q4_2), which ggml no longer supports",
      ],
      [
        (b, m) => b.writeUInt32LE(12, at(m, "t1.type")),
        "tensor 'output.weight' of type Q4_K has rows of 32 elements, not a multiple of the block size 256",
      ],
    ];
    for (const [edit, message] of cases)
      expect(errorOf(corrupt((b, m) => void edit(b, m))).message).toContain(message);

    const twice = new Assembler();
    twice.raw(Buffer.from("GGUF")).u32(3).u64(2).u64(0);
    for (const offset of [0, 32]) twice.str("same").u32(1).u64(8).u32(0).u64(offset);
    twice.pad(32).raw(Buffer.alloc(64));
    expect(errorOf(twice.bytes()).message).toBe("GGUF: tensor 'same' at offset 60 appears twice");

    // A 64-byte name (ggml's limit is 63 plus the terminating NUL).
    const a = new Assembler();
    a.raw(Buffer.from("GGUF"))
      .u32(3)
      .u64(1)
      .u64(0)
      .str("n".repeat(64))
      .u32(1)
      .u64(32)
      .u32(0)
      .u64(0)
      .pad(32)
      .raw(Buffer.alloc(128));
    expect(errorOf(a.bytes()).message).toContain("name is 64 bytes, the limit is 63");
  });

  it("rejects tensor data offsets that are misaligned, past the end, or overlapping", () => {
    expect(errorOf(corrupt((b, m) => void b.writeBigUInt64LE(65n, at(m, "t1.offset")))).message).toBe(
      "GGUF: tensor 'output.weight' data offset 65 is not a multiple of the alignment 32",
    );
    const pastEnd = errorOf(corrupt((b, m) => void b.writeBigUInt64LE(1n << 40n, at(m, "t1.offset"))));
    expect(pastEnd.message).toMatch(
      /^GGUF: tensor 'output.weight' data \[offset \d+, 34 bytes\] runs past end of file \(size \d+\)$/,
    );
    expect(errorOf(corrupt((b, m) => void b.writeBigUInt64LE(32n, at(m, "t1.offset")))).message).toContain(
      "tensor 'output.weight' data at offset",
    );
  });

  it("rejects unknown value types, invalid bools, duplicate keys, bad alignment and deep nesting", () => {
    const { at: marks } = validFile();
    expect(errorOf(corrupt((b, m) => void b.writeUInt32LE(13, at(m, "kv2.type")))).message).toBe(
      `GGUF: the type of metadata 'name' at offset ${at(marks, "kv2.type")} has unknown value type 13`,
    );
    expect(errorOf(corrupt((b, m) => void b.writeUInt32LE(42, at(m, "kv1.itemType")))).message).toContain(
      "the item type of metadata 'tokens'",
    );
    const twice = new Assembler();
    twice.raw(Buffer.from("GGUF")).u32(3).u64(0).u64(2).str("k").u32(4).u32(1).str("k").u32(8).str("x");
    expect(errorOf(twice.bytes()).message).toBe("GGUF: metadata key 'k' at offset 41 appears twice");
    expect(errorOf(corrupt((b, m) => void b.writeUInt32LE(48, at(m, "kv0.value")))).message).toBe(
      "GGUF: metadata 'general.alignment' is 48, expected a power of two",
    );
    expect(errorOf(corrupt((b, m) => void b.writeUInt32LE(0, at(m, "kv0.value")))).message).toContain(
      "expected a power of two",
    );
    expect(errorOf(corrupt((b, m) => void b.writeUInt32LE(5, at(m, "kv0.type")))).message).toBe(
      "GGUF: metadata 'general.alignment' is i32, expected u32",
    );

    const bool = new Assembler();
    bool
      .raw(Buffer.from("GGUF"))
      .u32(3)
      .u64(0)
      .u64(1)
      .str("flag")
      .u32(7)
      .raw(Buffer.from([2]));
    expect(errorOf(bool.bytes()).message).toBe(
      "GGUF: metadata 'flag' at offset 40 is bool 2, expected 0 or 1",
    );

    const nested = new Assembler();
    nested.raw(Buffer.from("GGUF")).u32(3).u64(0).u64(1).str("deep").u32(9);
    for (let i = 0; i < 9; i++) nested.u32(9).u64(1);
    nested.u32(4).u64(0);
    expect(errorOf(nested.bytes()).message).toContain("nests arrays deeper than 8");
  });

  it("survives random corruption: always a GgufError or a valid parse, never a crash", () => {
    let seed = 1;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    const { bytes } = validFile();
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(bytes);
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) b[Math.floor(random() * b.length)] = Math.floor(random() * 256);
      const size = random() < 0.3 ? Math.floor(random() * b.length) : b.length;
      try {
        parseGgufBuffer(b.subarray(0, size));
      } catch (err) {
        expect(err).toBeInstanceOf(GgufError);
      }
    }
  });
});

describe("GGUF reader on files", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "gguf-malformed-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("names the file in errors", async () => {
    const path = join(dir, "cut.gguf");
    await writeFile(path, validFile().bytes.subarray(0, 6));
    expect(() => readGguf(path)).toThrow(
      `GGUF: file ends inside the version: it needs 4 bytes at offset 4, but the file size is 6 (in ${path})`,
    );
  });
});
