/**
 * Q8_0: blocks of 32 values as { f16 d; int8 q[32] } (34 bytes), x ≈ d * q.
 * Port of ggml's quantize_row_q8_0_ref: d = amax / 127, q = roundf(x / d). Every intermediate is
 * rounded to f32 (Math.fround) as the C code computes in float, so the bytes match ggml's exactly.
 */
import { readF16, writeF16 } from "./half.js";

const QK = 32;
const BLOCK_BYTES = 34;
const fround = Math.fround;

/**
 * C's roundf: halves away from zero. Written to branch only on exact negative halves: weights have
 * random signs, and a branch on the sign costs more than the rest of the quantizer.
 * (x + 0.5 is exact in double for any f32 x, so no double rounding.)
 */
function roundAwayFromZero(x: number): number {
  const up = Math.floor(x + 0.5);
  return up - x === 0.5 && x < 0 ? up - 1 : up;
}

export function quantizeQ8_0(src: Float32Array, dst: Uint8Array): void {
  const blocks = src.length / QK;
  for (let b = 0; b < blocks; b++) {
    const x0 = b * QK;
    const o = b * BLOCK_BYTES;
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[x0 + j] as number));
    const d = fround(amax / 127);
    const id = d !== 0 ? fround(1 / d) : 0;
    writeF16(dst, o, d);
    for (let j = 0; j < QK; j++) {
      dst[o + 2 + j] = roundAwayFromZero(fround((src[x0 + j] as number) * id)) & 0xff;
    }
  }
}

export function dequantizeQ8_0(src: Uint8Array, dst: Float32Array): void {
  const blocks = dst.length / QK;
  for (let b = 0; b < blocks; b++) {
    const o = b * BLOCK_BYTES;
    const d = readF16(src, o);
    for (let j = 0; j < QK; j++) {
      const q = ((src[o + 2 + j] as number) << 24) >> 24;
      dst[b * QK + j] = q * d;
    }
  }
}
