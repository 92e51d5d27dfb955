/**
 * Q6_K: super-blocks of 256 values as { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d } (210 bytes).
 * Sixteen sub-blocks of 16 each have an 8-bit signed scale, and x ≈ d * scale_j * (q - 32) with
 * 6-bit q: low 4 bits in ql, high 2 bits in qh. Per 128 values: ql[l] holds q[l] (low nibble) and
 * q[l+64] (high nibble), ql[l+32] holds q[l+32] and q[l+96], qh[l] holds the high bits of
 * q[l], q[l+32], q[l+64], q[l+96] at bit 0, 2, 4, 6.
 * Port of ggml's quantize_row_q6_K_ref (no importance matrix), bit-exact.
 */
import { readF16, writeF16 } from "./half.js";
import { GROUP_MAX_EPS, makeQxQuants, nearestInt } from "./k-quant-search.js";

const QK_K = 256;
const BLOCK_BYTES = 210;
const fround = Math.fround;

export function quantizeQ6_K(src: Float32Array, dst: Uint8Array): void {
  const L = new Uint8Array(QK_K);
  const scales = new Float32Array(16);
  const blocks = src.length / QK_K;
  for (let b = 0; b < blocks; b++) {
    const x0 = b * QK_K;
    const o = b * BLOCK_BYTES;
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQxQuants(16, 32, src, x0 + 16 * ib, L, 16 * ib);
      scales[ib] = scale;
      const abs = Math.abs(scale);
      if (abs > maxAbsScale) {
        maxAbsScale = abs;
        maxScale = scale;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      dst.fill(0, o, o + BLOCK_BYTES);
      continue;
    }
    const iscale = fround(-128 / maxScale);
    writeF16(dst, o + 208, fround(1 / iscale));
    const d = readF16(dst, o + 208);
    const sc = o + 192;
    for (let ib = 0; ib < 16; ib++) {
      dst[sc + ib] = Math.min(127, nearestInt(fround(iscale * (scales[ib] as number)))) & 0xff;
    }
    for (let j = 0; j < 16; j++) {
      const dj = fround(d * (((dst[sc + j] as number) << 24) >> 24));
      if (dj === 0) continue;
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(fround((src[x0 + 16 * j + ii] as number) / dj));
        L[16 * j + ii] = Math.max(-32, Math.min(31, l)) + 32;
      }
    }
    for (let j = 0; j < QK_K; j += 128) {
      const ql = o + j / 2;
      const qh = o + 128 + j / 4;
      for (let l = 0; l < 32; l++) {
        const q1 = L[j + l] as number;
        const q2 = L[j + l + 32] as number;
        const q3 = L[j + l + 64] as number;
        const q4 = L[j + l + 96] as number;
        dst[ql + l] = (q1 & 0xf) | ((q3 & 0xf) << 4);
        dst[ql + l + 32] = (q2 & 0xf) | ((q4 & 0xf) << 4);
        dst[qh + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
      }
    }
  }
}

export function dequantizeQ6_K(src: Uint8Array, dst: Float32Array): void {
  const blocks = dst.length / QK_K;
  for (let b = 0; b < blocks; b++) {
    const o = b * BLOCK_BYTES;
    const d = readF16(src, o + 208);
    for (let n = 0; n < QK_K; n += 128) {
      const ql = o + n / 2;
      const qh = o + 128 + n / 4;
      const sc = o + 192 + n / 16;
      const y = b * QK_K + n;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = src[qh + l] as number;
        const lo = src[ql + l] as number;
        const hi = src[ql + l + 32] as number;
        const q1 = ((lo & 0xf) | ((h & 3) << 4)) - 32;
        const q2 = ((hi & 0xf) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((lo >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((hi >> 4) | (((h >> 6) & 3) << 4)) - 32;
        dst[y + l] = fround(d * (((src[sc + is] as number) << 24) >> 24)) * q1;
        dst[y + l + 32] = fround(d * (((src[sc + is + 2] as number) << 24) >> 24)) * q2;
        dst[y + l + 64] = fround(d * (((src[sc + is + 4] as number) << 24) >> 24)) * q3;
        dst[y + l + 96] = fround(d * (((src[sc + is + 6] as number) << 24) >> 24)) * q4;
      }
    }
  }
}
