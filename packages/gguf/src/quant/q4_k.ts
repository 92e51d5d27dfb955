/**
 * Q4_K: super-blocks of 256 values as { f16 d; f16 dmin; u8 scales[12]; u8 qs[128] } (144 bytes).
 * Eight sub-blocks of 32 each have a 6-bit scale and a 6-bit min (packed into `scales`), and
 * x ≈ d * scale_j * q - dmin * min_j with 4-bit q. Within each 64 values, the first 32 are the low
 * nibbles of 32 bytes of qs and the next 32 the high nibbles.
 * Port of ggml's quantize_row_q4_K_ref (no importance matrix), bit-exact.
 */
import { readF16, writeF16 } from "./half.js";
import { makeQkx2Quants, nearestInt, POINT_ONE } from "./k-quant-search.js";

const QK_K = 256;
const BLOCK_BYTES = 144;
const fround = Math.fround;

/** ggml's get_scale_min_k4: unpacks sub-block j's 6-bit scale and min. */
function scaleMinK4(j: number, q: Uint8Array, o: number, out: { scale: number; min: number }): void {
  if (j < 4) {
    out.scale = (q[o + j] as number) & 63;
    out.min = (q[o + j + 4] as number) & 63;
  } else {
    out.scale = ((q[o + j + 4] as number) & 0xf) | (((q[o + j - 4] as number) >> 6) << 4);
    out.min = ((q[o + j + 4] as number) >> 4) | (((q[o + j] as number) >> 6) << 4);
  }
}

export function quantizeQ4_K(src: Float32Array, dst: Uint8Array): void {
  const L = new Uint8Array(QK_K);
  const Laux = new Uint8Array(32);
  const weights = new Float32Array(32);
  const scales = new Float32Array(8);
  const mins = new Float32Array(8);
  const fit = { min: 0 };
  const sm = { scale: 0, min: 0 };
  const blocks = src.length / QK_K;
  for (let b = 0; b < blocks; b++) {
    const x0 = b * QK_K;
    const o = b * BLOCK_BYTES;
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 8; j++) {
      let sumX2 = 0;
      for (let l = 0; l < 32; l++) {
        const v = src[x0 + 32 * j + l] as number;
        sumX2 = fround(sumX2 + fround(v * v));
      }
      const avX = fround(Math.sqrt(fround(sumX2 / 32)));
      for (let l = 0; l < 32; l++) weights[l] = avX + Math.abs(src[x0 + 32 * j + l] as number);
      const scale = makeQkx2Quants(
        32,
        15,
        src,
        x0 + 32 * j,
        weights,
        L,
        32 * j,
        Laux,
        -1,
        POINT_ONE,
        20,
        false,
        fit,
      );
      scales[j] = scale;
      mins[j] = fit.min;
      if (scale > maxScale) maxScale = scale;
      if (fit.min > maxMin) maxMin = fit.min;
    }
    const invScale = maxScale > 0 ? fround(63 / maxScale) : 0;
    const invMin = maxMin > 0 ? fround(63 / maxMin) : 0;
    const sc = o + 4;
    dst.fill(0, sc, sc + 12);
    for (let j = 0; j < 8; j++) {
      // C stores nearest_int's result in a uint8_t before clamping: keep the wrap-around.
      const ls = Math.min(63, nearestInt(fround(invScale * (scales[j] as number))) & 0xff);
      const lm = Math.min(63, nearestInt(fround(invMin * (mins[j] as number))) & 0xff);
      if (j < 4) {
        dst[sc + j] = ls;
        dst[sc + j + 4] = lm;
      } else {
        dst[sc + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
        dst[sc + j - 4] = (dst[sc + j - 4] as number) | ((ls >> 4) << 6);
        dst[sc + j] = (dst[sc + j] as number) | ((lm >> 4) << 6);
      }
    }
    writeF16(dst, o, fround(maxScale / 63));
    writeF16(dst, o + 2, fround(maxMin / 63));
    const d = readF16(dst, o);
    const dmin = readF16(dst, o + 2);
    for (let j = 0; j < 8; j++) {
      scaleMinK4(j, dst, sc, sm);
      const dj = fround(d * sm.scale);
      if (dj === 0) continue;
      const dmj = fround(dmin * sm.min);
      for (let ii = 0; ii < 32; ii++) {
        const l = nearestInt(fround(fround((src[x0 + 32 * j + ii] as number) + dmj) / dj));
        L[32 * j + ii] = Math.max(0, Math.min(15, l));
      }
    }
    const qs = o + 16;
    for (let j = 0; j < QK_K; j += 64) {
      for (let l = 0; l < 32; l++) {
        dst[qs + j / 2 + l] = (L[j + l] as number) | ((L[j + l + 32] as number) << 4);
      }
    }
  }
}

export function dequantizeQ4_K(src: Uint8Array, dst: Float32Array): void {
  const sm = { scale: 0, min: 0 };
  const blocks = dst.length / QK_K;
  for (let b = 0; b < blocks; b++) {
    const o = b * BLOCK_BYTES;
    const d = readF16(src, o);
    const dmin = readF16(src, o + 2);
    let y = b * QK_K;
    let q = o + 16;
    for (let j = 0, is = 0; j < QK_K; j += 64, is += 2) {
      scaleMinK4(is, src, o + 4, sm);
      const d1 = fround(d * sm.scale);
      const m1 = fround(dmin * sm.min);
      scaleMinK4(is + 1, src, o + 4, sm);
      const d2 = fround(d * sm.scale);
      const m2 = fround(dmin * sm.min);
      for (let l = 0; l < 32; l++) dst[y++] = fround(d1 * ((src[q + l] as number) & 0xf)) - m1;
      for (let l = 0; l < 32; l++) dst[y++] = fround(d2 * ((src[q + l] as number) >> 4)) - m2;
      q += 32;
    }
  }
}
