import { describe, expect, it } from "vitest";
import { type GgmlTypeInfo, ggmlTypeByName } from "../src/ggml-types.js";
import { dequantize, quantize } from "../src/quant/codec.js";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../src/quant/half.js";

function type(name: string): GgmlTypeInfo {
  const t = ggmlTypeByName(name);
  if (!t) throw new Error(name);
  return t;
}

/** Deterministic normal-ish test data (Box-Muller over an LCG). */
function gaussian(n: number, seed: number, std = 1): Float32Array {
  let s = seed >>> 0;
  const uniform = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++)
    out[i] = std * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return out;
}

function rmsError(x: Float32Array, y: Float32Array): number {
  let e = 0;
  let r = 0;
  for (let i = 0; i < x.length; i++) {
    e += ((x[i] as number) - (y[i] as number)) ** 2;
    r += (x[i] as number) ** 2;
  }
  return Math.sqrt(e / r);
}

describe("f16 and bf16", () => {
  it("round to nearest even, with ggml's handling of overflow, subnormals and NaN", () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [-0, 0x8000],
      [65504, 0x7bff],
      [65519, 0x7bff],
      [65520, 0x7c00], // halfway to 65536: rounds to even, which is infinity
      [1e6, 0x7c00],
      [Number.NEGATIVE_INFINITY, 0xfc00],
      [Number.NaN, 0x7e00],
      [1 + 2 ** -11, 0x3c00], // tie: down to the even mantissa
      [1 + 3 * 2 ** -11, 0x3c02], // tie: up to the even mantissa
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // tie between 0 and 2^-24: to even (0)
      [3 * 2 ** -25, 0x0002],
      [0.001, 0x1419],
    ];
    for (const [x, bits] of cases) expect(f32ToF16(x), `f16(${x})`).toBe(bits);
    for (let h = 0; h < 0x7c00; h += 7) expect(f32ToF16(f16ToF32(h))).toBe(h);
  });

  it("bf16 keeps the top 16 bits, rounding to nearest even", () => {
    const cases: [number, number][] = [
      [1, 0x3f80],
      [-1, 0xbf80],
      [1 + 2 ** -8, 0x3f80],
      [1 + 3 * 2 ** -8, 0x3f82],
      [3.0e38, 0x7f62],
      [Number.POSITIVE_INFINITY, 0x7f80],
    ];
    for (const [x, bits] of cases) expect(f32ToBf16(x), `bf16(${x})`).toBe(bits);
    expect(Number.isNaN(bf16ToF32(f32ToBf16(Number.NaN)))).toBe(true);
    expect(bf16ToF32(0x4049)).toBe(3.140625);
  });
});

describe("quantizer byte layouts on hand-made blocks", () => {
  it("Q8_0: { f16 d = amax/127; int8 q = round(x/d) }", () => {
    const x = Float32Array.from({ length: 32 }, (_, j) => j - 15); // -15 .. 16
    const b = quantize(type("Q8_0"), x);
    expect(b.length).toBe(34);
    // d = 16/127 = 0.12598...: f16 exponent -3, mantissa round(0.00787 * 1024) = 8.
    expect([b[0], b[1]]).toEqual([0x08, 0x30]);
    const q = Array.from(new Int8Array(b.buffer, 2, 32));
    expect(q[31]).toBe(127); // 16
    expect(q[15]).toBe(0); // 0
    expect(q[16]).toBe(8); // 1 * 127/16 = 7.94
    expect(q[0]).toBe(-119); // -15 * 127/16 = -119.06
    expect(q[13]).toBe(-16); // -2 * 127/16 = -15.875
    const y = dequantize(type("Q8_0"), b, 32);
    expect(y[31]).toBeCloseTo(16, 2);
    expect(y[16]).toBeCloseTo(8 * f16ToF32(0x3008), 6);
  });

  it("Q4_0: { f16 d = max/-8; nibbles q = min(15, trunc(x/d + 8.5)), x[j] low and x[j+16] high }", () => {
    const x = Float32Array.from({ length: 32 }, (_, j) => j - 16); // -16 .. 15: max by magnitude is -16
    const b = quantize(type("Q4_0"), x);
    expect(b.length).toBe(18);
    expect([b[0], b[1]]).toEqual([0x00, 0x40]); // d = -16 / -8 = 2
    expect(b[2]).toBe(0x80); // x0 = -16 -> 0, x16 = 0 -> 8
    expect(b[3]).toBe(0x91); // x1 = -15 -> 1, x17 = 1 -> 9
    expect(b[17]).toBe(0xf8); // x15 = -1 -> 8, x31 = 15 -> trunc(16) clamped to 15
    const y = dequantize(type("Q4_0"), b, 32);
    expect(y[0]).toBe(-16);
    expect(y[16]).toBe(0);
    expect(y[31]).toBe(14); // (15 - 8) * 2: the clamp costs one step at the positive end
  });

  it("Q4_K: quantizes a two-level block exactly; dequantizes hand-packed 6-bit scales and mins", () => {
    // Every sub-block alternates 0 and 0.945: min 0, scale 0.945/15, all 6-bit scales 63, mins 0.
    const x = Float32Array.from({ length: 256 }, (_, i) => (i % 2 ? 0.945 : 0));
    const b = quantize(type("Q4_K"), x);
    expect(b.length).toBe(144);
    expect([b[0], b[1]]).toEqual([0x19, 0x14]); // d = f16(0.945 / 15 / 63) = f16(0.001)
    expect([b[2], b[3]]).toEqual([0, 0]); // dmin = 0
    // scales[0..3] = sc 63 | high bits of sc[4..7] (3 << 6); [4..7] = mins 0; [8..11] = low nibbles of sc[4..7].
    expect(Array.from(b.subarray(4, 16))).toEqual([
      0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x0f, 0x0f, 0x0f, 0x0f,
    ]);
    expect(Array.from(b.subarray(16, 20))).toEqual([0x00, 0xff, 0x00, 0xff]); // L = 0, 15 alternating
    const y = dequantize(type("Q4_K"), b, 256);
    for (let i = 0; i < 256; i++) expect(y[i] as number).toBeCloseTo(x[i] as number, 3);

    const block = new Uint8Array(144);
    block.set([0x00, 0x3c, 0x00, 0x38]); // d = 1, dmin = 0.5
    const sc = [1, 2, 3, 4, 5, 6, 7, 63];
    const mins = [0, 2, 4, 6, 8, 10, 12, 40];
    // Packed by hand from ggml-common.h's layout: 63 = 0b11_1111 and 40 = 0b10_1000 use the high bits.
    block.set(
      [
        1,
        2,
        3,
        4 | (3 << 6),
        0,
        2,
        4,
        6 | (2 << 6),
        5 | (8 << 4),
        6 | (10 << 4),
        7 | (12 << 4),
        15 | (8 << 4),
      ],
      4,
    );
    for (let c = 0; c < 4; c++)
      for (let l = 0; l < 32; l++) block[16 + 32 * c + l] = (l % 16) | ((15 - (l % 16)) << 4);
    const z = dequantize(type("Q4_K"), block, 256);
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) {
        expect(z[64 * c + l]).toBe((sc[2 * c] as number) * (l % 16) - 0.5 * (mins[2 * c] as number));
        expect(z[64 * c + 32 + l]).toBe(
          (sc[2 * c + 1] as number) * (15 - (l % 16)) - 0.5 * (mins[2 * c + 1] as number),
        );
      }
    }
  });

  it("Q6_K: quantizes an exactly representable block to the expected bytes", () => {
    // Every 16-value sub-block is (i - 16) / 16, i = 0..15: the fit is exact with scale 1/32 and
    // levels 2(i - 16). Largest scale 1/32 gives iscale = -128 / (1/32), so d = -1/4096 (f16 0x8C00)
    // and every 8-bit scale is -128; the stored 6-bit values are L = 2(i - 16) + 32 = 2i.
    const x = Float32Array.from({ length: 256 }, (_, e) => ((e % 16) - 16) / 16);
    const b = quantize(type("Q6_K"), x);
    expect([b[208], b[209]]).toEqual([0x00, 0x8c]);
    expect(Array.from(b.subarray(192, 208))).toEqual(new Array(16).fill(0x80));
    const L = (e: number) => 2 * (e % 16);
    for (let half = 0; half < 2; half++) {
      for (let l = 0; l < 32; l++) {
        const e = 128 * half + l;
        expect(b[64 * half + l]).toBe((L(e) & 0xf) | ((L(e + 64) & 0xf) << 4));
        expect(b[64 * half + 32 + l]).toBe((L(e + 32) & 0xf) | ((L(e + 96) & 0xf) << 4));
        expect(b[128 + 32 * half + l]).toBe(l % 16 >= 8 ? 0x55 : 0x00); // high bits: L >= 16 in all four
      }
    }
    expect(dequantize(type("Q6_K"), b, 256)).toEqual(x);
  });

  it("Q6_K: dequantizes a hand-packed block (ql low nibbles, qh high bits, int8 scales, f16 d last)", () => {
    const q = (e: number) => (e * 7) % 64;
    const scales = Array.from({ length: 16 }, (_, i) => (i % 2 ? -(i + 1) : i + 1));
    const block = new Uint8Array(210);
    for (let e = 0; e < 256; e++) {
      const half = e >> 7;
      const group = (e & 127) >> 5;
      const l = e & 31;
      const v = q(e);
      // group 0: ql[l] low, 1: ql[l+32] low, 2: ql[l] high, 3: ql[l+32] high; qh[l] bits 2*group.
      const qlAt = 64 * half + l + (group % 2) * 32;
      block[qlAt] = (block[qlAt] as number) | ((v & 0xf) << (group >= 2 ? 4 : 0));
      block[128 + 32 * half + l] = (block[128 + 32 * half + l] as number) | ((v >> 4) << (2 * group));
    }
    block.set(new Uint8Array(Int8Array.from(scales).buffer), 192);
    block.set([0x00, 0x38], 208); // d = 0.5
    const y = dequantize(type("Q6_K"), block, 256);
    for (let e = 0; e < 256; e++)
      expect(y[e], `element ${e}`).toBe(0.5 * (scales[e >> 4] as number) * (q(e) - 32));
  });

  it("an all-zero input gives ggml's zero blocks", () => {
    for (const name of ["Q8_0", "Q4_K", "Q6_K"]) {
      const b = quantize(type(name), new Float32Array(512));
      expect(
        b.every((v) => v === 0),
        name,
      ).toBe(true);
    }
    // Q4_0: d = 0 / -8 is -0 (f16 0x8000) and every nibble is trunc(0 + 8.5) = 8.
    const q4 = quantize(type("Q4_0"), new Float32Array(32));
    expect(Array.from(q4)).toEqual([0x00, 0x80, ...new Array(16).fill(0x88)]);
  });
});

describe("dequantize(quantize(x)) error bounds", () => {
  const x = gaussian(256 * 64, 7, 0.05);

  it("f16, bf16 and f32 keep every value within their precision", () => {
    const f32 = dequantize(type("F32"), quantize(type("F32"), x), x.length);
    expect(f32).toEqual(x);
    const f16 = dequantize(type("F16"), quantize(type("F16"), x), x.length);
    const bf16 = dequantize(type("BF16"), quantize(type("BF16"), x), x.length);
    for (let i = 0; i < x.length; i++) {
      const v = x[i] as number;
      expect(Math.abs((f16[i] as number) - v)).toBeLessThanOrEqual(
        Math.max(Math.abs(v) * 2 ** -11, 2 ** -25),
      );
      expect(Math.abs((bf16[i] as number) - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -8);
    }
  });

  it("Q8_0 and Q4_0 stay within a fraction of each block's step", () => {
    for (const [name, levels, bound] of [
      ["Q8_0", 127, 0.51],
      ["Q4_0", 8, 1.01],
    ] as const) {
      const y = dequantize(type(name), quantize(type(name), x), x.length);
      for (let b = 0; b < x.length / 32; b++) {
        let amax = 0;
        for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * b + j] as number));
        const step = amax / levels;
        for (let j = 0; j < 32; j++) {
          const i = 32 * b + j;
          // Half a step from rounding (Q4_0: a whole step at the clamped end), plus the f16 rounding of d.
          expect(Math.abs((y[i] as number) - (x[i] as number)), `${name} value ${i}`).toBeLessThanOrEqual(
            bound * step + 128 * step * 2 ** -11,
          );
        }
      }
    }
  });

  it("relative RMS errors match the formats' bit widths", () => {
    const measured = Object.fromEntries(
      ["Q8_0", "Q6_K", "Q4_K", "Q4_0"].map((name) => [
        name,
        rmsError(x, dequantize(type(name), quantize(type(name), x), x.length)),
      ]),
    );
    expect(measured.Q8_0).toBeLessThan(0.01);
    expect(measured.Q6_K).toBeLessThan(0.03);
    expect(measured.Q4_K).toBeLessThan(0.12);
    expect(measured.Q4_0).toBeLessThan(0.13);
    // More bits, less error.
    expect(measured.Q8_0).toBeLessThan(measured.Q6_K as number);
    expect(measured.Q6_K).toBeLessThan(measured.Q4_K as number);
  });

  it("rejects lengths that are not whole blocks and types it cannot encode", () => {
    expect(() => quantize(type("Q4_K"), new Float32Array(100))).toThrow(
      "not a multiple of Q4_K's block size 256",
    );
    expect(() => quantize(type("Q5_K"), new Float32Array(256))).toThrow(
      "cannot encode or decode ggml type Q5_K",
    );
  });
});
