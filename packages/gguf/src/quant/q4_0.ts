/**
 * Q4_0: blocks of 32 values as { f16 d; u8 qs[16] } (18 bytes), x ≈ d * (q - 8); value j sits in
 * the low nibble of qs[j], value j+16 in the high nibble.
 * Port of ggml's quantize_row_q4_0_ref: the value of largest magnitude keeps its sign, d = max / -8,
 * q = min(15, trunc(x / d + 8.5)); f32 rounding at every step as in the C code.
 */
import { readF16, writeF16 } from "./half.js";

const QK = 32;
const BLOCK_BYTES = 18;
const fround = Math.fround;

export function quantizeQ4_0(src: Float32Array, dst: Uint8Array): void {
  const blocks = src.length / QK;
  for (let b = 0; b < blocks; b++) {
    const x0 = b * QK;
    const o = b * BLOCK_BYTES;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = src[x0 + j] as number;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fround(max / -8);
    const id = d !== 0 ? fround(1 / d) : 0;
    writeF16(dst, o, d);
    for (let j = 0; j < QK / 2; j++) {
      const lo = fround((src[x0 + j] as number) * id);
      const hi = fround((src[x0 + QK / 2 + j] as number) * id);
      const qLo = Math.min(15, Math.trunc(fround(lo + 8.5)));
      const qHi = Math.min(15, Math.trunc(fround(hi + 8.5)));
      dst[o + 2 + j] = qLo | (qHi << 4);
    }
  }
}

export function dequantizeQ4_0(src: Uint8Array, dst: Float32Array): void {
  const blocks = dst.length / QK;
  for (let b = 0; b < blocks; b++) {
    const o = b * BLOCK_BYTES;
    const d = readF16(src, o);
    for (let j = 0; j < QK / 2; j++) {
      const q = src[o + 2 + j] as number;
      dst[b * QK + j] = ((q & 0x0f) - 8) * d;
      dst[b * QK + QK / 2 + j] = ((q >>> 4) - 8) * d;
    }
  }
}
