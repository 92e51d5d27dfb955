/**
 * Builds GGUF header bytes: a growable little-endian byte buffer with one method per GGUF
 * encoding. Values are range-checked so a writer never silently truncates a number.
 */
import { GgufError } from "./errors.js";
import { fixedSizeOf, type GgufArray, type GgufValue, GgufValueTypeId } from "./values.js";

const integerRanges: Record<string, [number, number]> = {
  u8: [0, 0xff],
  i8: [-0x80, 0x7f],
  u16: [0, 0xffff],
  i16: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff],
  i32: [-0x80000000, 0x7fffffff],
};

export class HeaderBuilder {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  u32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
  }

  u64(v: number | bigint): void {
    this.reserve(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }

  string(s: string): void {
    const n = Buffer.byteLength(s);
    this.u64(n);
    this.reserve(n);
    this.buf.write(s, this.length, "utf8");
    this.length += n;
  }

  zeros(n: number): void {
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }

  /** A metadata value: type id, then the value. */
  value(v: GgufValue, where: string): void {
    this.u32(GgufValueTypeId[v.type]);
    switch (v.type) {
      case "array":
        this.array(v.value, where);
        return;
      case "string":
        this.string(v.value);
        return;
      case "bool":
        this.reserve(1);
        this.buf[this.length++] = v.value ? 1 : 0;
        return;
      case "u64":
      case "i64":
        this.bigint(v.type, v.value, where);
        return;
      default:
        this.number(v.type, v.value, where);
    }
  }

  private number(
    type: "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "f64",
    v: number,
    where: string,
  ): void {
    const range = integerRanges[type];
    if (range && !(Number.isInteger(v) && v >= range[0] && v <= range[1])) {
      throw new GgufError(`${where}: ${v} is not a valid ${type}`);
    }
    const size = fixedSizeOf[type];
    this.reserve(size);
    const at = this.length;
    switch (type) {
      case "u8":
        this.buf.writeUInt8(v, at);
        break;
      case "i8":
        this.buf.writeInt8(v, at);
        break;
      case "u16":
        this.buf.writeUInt16LE(v, at);
        break;
      case "i16":
        this.buf.writeInt16LE(v, at);
        break;
      case "u32":
        this.buf.writeUInt32LE(v, at);
        break;
      case "i32":
        this.buf.writeInt32LE(v, at);
        break;
      case "f32":
        this.buf.writeFloatLE(v, at);
        break;
      case "f64":
        this.buf.writeDoubleLE(v, at);
        break;
    }
    this.length += size;
  }

  private bigint(type: "u64" | "i64", v: bigint, where: string): void {
    const ok = type === "u64" ? v >= 0n && v < 1n << 64n : v >= -(1n << 63n) && v < 1n << 63n;
    if (!ok) throw new GgufError(`${where}: ${v} is not a valid ${type}`);
    this.reserve(8);
    if (type === "u64") this.buf.writeBigUInt64LE(v, this.length);
    else this.buf.writeBigInt64LE(v, this.length);
    this.length += 8;
  }

  private array(a: GgufArray, where: string): void {
    this.u32(GgufValueTypeId[a.itemType]);
    this.u64(a.items.length);
    switch (a.itemType) {
      case "string":
        for (const s of a.items) this.string(s);
        return;
      case "bool":
        this.reserve(a.items.length);
        for (const b of a.items) this.buf[this.length++] = b ? 1 : 0;
        return;
      case "array":
        a.items.forEach((item, i) => {
          this.array(item, `item ${i} of ${where}`);
        });
        return;
      default: {
        // Typed arrays are little-endian in memory on every platform Node supports here.
        const items = a.items;
        this.raw(new Uint8Array(items.buffer, items.byteOffset, items.byteLength));
      }
    }
  }
}
