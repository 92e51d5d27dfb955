/**
 * Encode f32 values into a ggml type's bytes and back, for every type gguf/ggml-types.ts marks
 * quantizable. Quantizers match ggml's reference quantizers byte for byte.
 */
import { GgufError } from "../errors.js";
import { type GgmlTypeInfo, rowByteSize } from "../ggml-types.js";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./half.js";
import { dequantizeQ4_0, quantizeQ4_0 } from "./q4_0.js";
import { dequantizeQ4_K, quantizeQ4_K } from "./q4_k.js";
import { dequantizeQ6_K, quantizeQ6_K } from "./q6_k.js";
import { dequantizeQ8_0, quantizeQ8_0 } from "./q8_0.js";

interface Codec {
  quantize(src: Float32Array, dst: Uint8Array): void;
  dequantize(src: Uint8Array, dst: Float32Array): void;
}

function bytesAsU16(bytes: Uint8Array, count: number): Uint16Array {
  // Copy when unaligned: a Uint16Array view needs an even byte offset.
  if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, count);
  return new Uint16Array(bytes.slice(0, count * 2).buffer);
}

const codecs: Record<string, Codec> = {
  F32: {
    quantize: (src, dst) => dst.set(new Uint8Array(src.buffer, src.byteOffset, src.length * 4)),
    dequantize: (src, dst) =>
      new Uint8Array(dst.buffer, dst.byteOffset, dst.length * 4).set(src.subarray(0, dst.length * 4)),
  },
  F16: {
    quantize(src, dst) {
      for (let i = 0; i < src.length; i++) {
        const h = f32ToF16(src[i] as number);
        dst[2 * i] = h & 0xff;
        dst[2 * i + 1] = h >>> 8;
      }
    },
    dequantize(src, dst) {
      const halves = bytesAsU16(src, dst.length);
      for (let i = 0; i < dst.length; i++) dst[i] = f16ToF32(halves[i] as number);
    },
  },
  BF16: {
    quantize(src, dst) {
      for (let i = 0; i < src.length; i++) {
        const h = f32ToBf16(src[i] as number);
        dst[2 * i] = h & 0xff;
        dst[2 * i + 1] = h >>> 8;
      }
    },
    dequantize(src, dst) {
      const halves = bytesAsU16(src, dst.length);
      for (let i = 0; i < dst.length; i++) dst[i] = bf16ToF32(halves[i] as number);
    },
  },
  Q8_0: { quantize: quantizeQ8_0, dequantize: dequantizeQ8_0 },
  Q4_0: { quantize: quantizeQ4_0, dequantize: dequantizeQ4_0 },
  Q4_K: { quantize: quantizeQ4_K, dequantize: dequantizeQ4_K },
  Q6_K: { quantize: quantizeQ6_K, dequantize: dequantizeQ6_K },
};

function codecFor(type: GgmlTypeInfo): Codec {
  const codec = codecs[type.name];
  if (!codec) throw new GgufError(`cannot encode or decode ggml type ${type.name}`);
  return codec;
}

/**
 * Encodes `src` (a whole number of rows of length `ne0`, or any multiple of the block size) as
 * `type`. Returns the bytes (into `dst` when given; it must be exactly the right size).
 */
export function quantize(type: GgmlTypeInfo, src: Float32Array, dst?: Uint8Array): Uint8Array {
  const bytes = rowByteSize(type, src.length);
  const out = dst ?? new Uint8Array(bytes);
  if (out.length !== bytes)
    throw new GgufError(`${type.name}: ${src.length} values need ${bytes} bytes, got ${out.length}`);
  codecFor(type).quantize(src, out);
  return out;
}

/** Decodes `count` values of `type` from `src`. */
export function dequantize(type: GgmlTypeInfo, src: Uint8Array, count: number): Float32Array {
  const bytes = rowByteSize(type, count);
  if (src.length < bytes)
    throw new GgufError(`${type.name}: ${count} values need ${bytes} bytes, got ${src.length}`);
  const out = new Float32Array(count);
  codecFor(type).dequantize(src.subarray(0, bytes), out);
  return out;
}
