/**
 * IEEE half (f16) and bfloat16 conversions, rounding to nearest even exactly as ggml does
 * (ggml_compute_fp32_to_fp16 / ggml_compute_fp32_to_bf16): NaN becomes a quiet NaN, values past the
 * f16 range become infinity, tiny values become f16 subnormals.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Bits of the f16 nearest to `x` (ties to even). */
export function f32ToF16(x: number): number {
  f32[0] = x;
  const w = u32[0] as number;
  const sign = (w >>> 16) & 0x8000;
  const abs = w & 0x7fffffff;
  if (abs >= 0x38800000 && abs < 0x477ff000) {
    // A normal f16 (the common case): round the mantissa to 10 bits, ties to even, without branches
    // (a carry into the exponent is correct), then rebias the exponent from 127 to 15.
    return sign | ((((abs + 0x0fff + ((abs >>> 13) & 1)) >>> 13) - ((127 - 15) << 10)) & 0x7fff);
  }
  if (abs >= 0x7f800000) return sign | (abs > 0x7f800000 ? 0x7e00 : 0x7c00);
  // 65520 and above round to infinity (65504 is the largest f16; its last mantissa bit is odd).
  if (abs >= 0x477ff000) return sign | 0x7c00;
  // Below 2^-14: an f16 subnormal, a multiple of 2^-24. The scaling is exact in double.
  f32[0] = Math.abs(x);
  const scaled = (f32[0] as number) * 16777216;
  let q = Math.floor(scaled);
  const frac = scaled - q;
  if (frac > 0.5 || (frac === 0.5 && (q & 1) === 1)) q++;
  return sign | q;
}

let f16Table: Float32Array | undefined;

function buildF16Table(): Float32Array {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    let v: number;
    if (exponent === 0) v = mantissa * 2 ** -24;
    else if (exponent === 31) v = mantissa === 0 ? Number.POSITIVE_INFINITY : Number.NaN;
    else v = (1 + mantissa / 1024) * 2 ** (exponent - 15);
    table[h] = sign * v;
  }
  return table;
}

/** The value of f16 bits `h` (exact). */
export function f16ToF32(h: number): number {
  f16Table ??= buildF16Table();
  return f16Table[h & 0xffff] as number;
}

/** Bits of the bfloat16 nearest to `x` (ties to even), NaN kept quiet. */
export function f32ToBf16(x: number): number {
  f32[0] = x;
  const w = u32[0] as number;
  if ((w & 0x7fffffff) > 0x7f800000) return ((w >>> 16) | 0x40) & 0xffff;
  return (w + 0x7fff + ((w >>> 16) & 1)) >>> 16;
}

export function bf16ToF32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0] as number;
}

/** Writes x as f16 at dst[offset..offset+2) (little-endian). */
export function writeF16(dst: Uint8Array, offset: number, x: number): void {
  const h = f32ToF16(x);
  dst[offset] = h & 0xff;
  dst[offset + 1] = h >>> 8;
}

export function readF16(src: Uint8Array, offset: number): number {
  return f16ToF32((src[offset] as number) | ((src[offset + 1] as number) << 8));
}
