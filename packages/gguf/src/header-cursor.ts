/**
 * A forward cursor over a GGUF header that pulls bytes from its source in chunks as it goes. Every
 * read checks the bytes exist first, so a corrupt length or count produces an error naming what was
 * being read and where, never a read past the end or an allocation the file cannot back.
 */
import type { ByteSource } from "./byte-source.js";
import { GgufError } from "./errors.js";

const CHUNK_BYTES = 1 << 20;
const EMPTY = Buffer.alloc(0);

/** What is being read, for error messages; a function when building the text would cost in hot loops. */
export type What = string | (() => string);

export function whatText(what: What): string {
  return typeof what === "string" ? what : what();
}

export class HeaderCursor {
  /** Absolute position of the next byte to read. */
  pos = 0;
  private window: Buffer = EMPTY;
  private windowStart = 0;

  constructor(private readonly source: ByteSource) {}

  get size(): number {
    return this.source.size;
  }

  get remaining(): number {
    return this.source.size - this.pos;
  }

  private requireAvailable(n: number, what: What): void {
    if (n > this.source.size - this.pos) {
      throw new GgufError(
        `file ends inside ${whatText(what)}: it needs ${n} bytes at offset ${this.pos}, but the file size is ${this.source.size}`,
      );
    }
  }

  /**
   * Advances over `n` bytes, loading them into the window; returns their index in the window.
   * It may replace the window, so call it before reading `this.window`.
   */
  private take(n: number, what: What): number {
    this.requireAvailable(n, what);
    let rel = this.pos - this.windowStart;
    if (rel < 0 || rel + n > this.window.length) {
      const length = Math.min(Math.max(n, CHUNK_BYTES), this.source.size - this.pos);
      const bytes = this.source.read(this.pos, length);
      this.window = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
      this.windowStart = this.pos;
      rel = 0;
    }
    this.pos += n;
    return rel;
  }

  u8(what: What): number {
    const at = this.take(1, what);
    return this.window[at] as number;
  }

  u16(what: What): number {
    const at = this.take(2, what);
    return this.window.readUInt16LE(at);
  }

  i16(what: What): number {
    const at = this.take(2, what);
    return this.window.readInt16LE(at);
  }

  u32(what: What): number {
    const at = this.take(4, what);
    return this.window.readUInt32LE(at);
  }

  i32(what: What): number {
    const at = this.take(4, what);
    return this.window.readInt32LE(at);
  }

  f32(what: What): number {
    const at = this.take(4, what);
    return this.window.readFloatLE(at);
  }

  f64(what: What): number {
    const at = this.take(8, what);
    return this.window.readDoubleLE(at);
  }

  u64(what: What): bigint {
    const at = this.take(8, what);
    return this.window.readBigUInt64LE(at);
  }

  i64(what: What): bigint {
    const at = this.take(8, what);
    return this.window.readBigInt64LE(at);
  }

  /** A u64 used as a size or count: must be a safe JS integer (anything larger cannot fit a file anyway). */
  u64Number(what: What): number {
    const start = this.pos;
    const v = this.u64(what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new GgufError(`${whatText(what)} at offset ${start} is ${v}, larger than any file`);
    }
    return Number(v);
  }

  /** A count of items each at least `minItemBytes` long: rejected if the rest of the file cannot hold them. */
  count(what: What, minItemBytes: number): number {
    const start = this.pos;
    const n = this.u64Number(what);
    if (n * minItemBytes > this.remaining) {
      throw new GgufError(
        `${whatText(what)} at offset ${start} is ${n}, but the ${this.remaining} bytes left in the file hold at most ${Math.floor(this.remaining / minItemBytes)}`,
      );
    }
    return n;
  }

  /** A GGUF string: u64 byte length, then UTF-8 bytes. */
  string(what: What): string {
    const start = this.pos;
    const length = this.u64Number(what);
    if (length > this.remaining) {
      throw new GgufError(
        `${whatText(what)} at offset ${start} has length ${length}, but only ${this.remaining} bytes are left in the file`,
      );
    }
    const at = this.take(length, what);
    return this.window.toString("utf8", at, at + length);
  }

  /** `length` raw bytes in a fresh buffer of exactly that size (typed arrays can view it directly). */
  bytes(length: number, what: What): Uint8Array {
    if (length <= CHUNK_BYTES) {
      const at = this.take(length, what);
      return new Uint8Array(this.window.subarray(at, at + length));
    }
    // Large blocks go straight from the source instead of through the window.
    this.requireAvailable(length, what);
    const out = new Uint8Array(length);
    out.set(this.source.read(this.pos, length));
    this.pos += length;
    return out;
  }
}
