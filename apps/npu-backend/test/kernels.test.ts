/**
 * Every optimized kernel against the plain reference (ggml's block layouts, double accumulation)
 * over a sweep of shapes, including sizes that are not multiples of the vector width or tile.
 *
 * Tolerances: the integer parts of quantized dots are exact in both, so the only difference is the
 * order of float accumulation: |kernel - ref| <= 1e-5 * sum|w*x| (+1e-6). Against the exact f64
 * product of the dequantized weights with the unquantized input, the reference itself must be
 * within the activation-rounding error of its format (q8: 2%, f16: 0.2%, bf16: 1% of sum|w*x|).
 */
import { describe, expect, it } from "vitest";
import { nativeAddon } from "../src/engine/native.js";
import { rng } from "./support/rng.js";

const T = nativeAddon().testing;
const sets = T.kernelSets();

/** A random finite half with a magnitude in [2^(lo-15), 2^(hi-15)). */
function half(r: () => number, lo: number, hi: number): number {
  const exp = lo + Math.floor(r() * (hi - lo));
  return ((r() < 0.5 ? 1 : 0) << 15) | (exp << 10) | Math.floor(r() * 1024);
}

const BLOCK: Record<string, [number, number]> = {
  f32: [1, 4],
  f16: [1, 2],
  bf16: [1, 2],
  q8_0: [32, 34],
  q4_0: [32, 18],
  q4_K: [256, 144],
  q6_K: [256, 210],
};

/** Random but valid blocks of `type` for an N x K matrix (every code path sees varied data). */
function randomWeights(type: string, N: number, K: number, seed: number): Uint8Array {
  const r = rng(seed);
  const [bs, bytes] = BLOCK[type] as [number, number];
  const nBlocks = (N * K) / bs;
  const out = new Uint8Array(nBlocks * bytes);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * bytes;
    switch (type) {
      case "f32":
        dv.setFloat32(o, (r() - 0.5) * 2, true);
        break;
      case "f16":
        dv.setUint16(o, half(r, 10, 16), true);
        break;
      case "bf16":
        dv.setUint16(
          o,
          ((r() < 0.5 ? 1 : 0) << 15) | ((120 + Math.floor(r() * 8)) << 7) | Math.floor(r() * 128),
          true,
        );
        break;
      case "q8_0":
        dv.setUint16(o, half(r, 4, 10), true);
        for (let j = 0; j < 32; j++) dv.setInt8(o + 2 + j, Math.floor(r() * 255) - 127);
        break;
      case "q4_0":
        dv.setUint16(o, half(r, 6, 12), true);
        for (let j = 0; j < 16; j++) out[o + 2 + j] = Math.floor(r() * 256);
        break;
      case "q4_K":
        dv.setUint16(o, half(r, 4, 9) & 0x7fff, true);
        dv.setUint16(o + 2, half(r, 4, 9) & 0x7fff, true);
        for (let j = 4; j < 144; j++) out[o + j] = Math.floor(r() * 256);
        break;
      case "q6_K":
        for (let j = 0; j < 192; j++) out[o + j] = Math.floor(r() * 256);
        for (let j = 0; j < 16; j++) dv.setInt8(o + 192 + j, Math.floor(r() * 256) - 128);
        dv.setUint16(o + 208, half(r, 2, 7), true);
        break;
    }
  }
  return out;
}

function randomX(M: number, K: number, seed: number): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(M * K);
  for (let i = 0; i < x.length; i++) x[i] = (r() - 0.5) * 4 * (r() < 0.05 ? 8 : 1); // some outliers
  return x;
}

/** sum over k of |w[n,k] * x[m,k]| and the exact f64 product, from the dequantized weights. */
function exact(type: string, w: Uint8Array, N: number, K: number, x: Float32Array, M: number) {
  const W = T.refDequantize(type, w, N * K);
  const abs = new Float64Array(M * N);
  const val = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let a = 0;
      let v = 0;
      for (let k = 0; k < K; k++) {
        const p = (W[n * K + k] as number) * (x[m * K + k] as number);
        a += Math.abs(p);
        v += p;
      }
      abs[m * N + n] = a;
      val[m * N + n] = v;
    }
  return { abs, val };
}

const ACT_ERROR: Record<string, number> = {
  f32: 1e-6,
  f16: 2e-3,
  bf16: 1e-2,
  q8_0: 2e-2,
  q4_0: 2e-2,
  q4_K: 2e-2,
  q6_K: 2e-2,
};

const TILES: Array<[number, number]> = [
  [1, 1],
  [1, 4],
  [2, 4],
  [3, 3],
  [4, 2],
  [5, 3],
  [6, 2],
  [8, 2],
  [12, 1],
];

describe("matmul kernels vs the plain reference", () => {
  it("has the portable set and, on x86-64, the vector sets this CPU supports", () => {
    expect(sets[0]).toBe("portable");
    if (process.arch === "x64") expect(sets.length).toBeGreaterThanOrEqual(1);
  });

  for (const type of Object.keys(BLOCK)) {
    const kq = type.endsWith("_K");
    const Ks = kq ? [256, 512, 768] : [32, 64, 96, 160, 512];
    const Ns = [16, 20, 48, 67];
    // 33 and 40: row counts from which a set may switch to its many-row tiles (the AVX2 set's
    // XS tiles start at 32 rows).
    const Ms = [1, 2, 3, 4, 5, 7, 8, 13, 16, 33, 40];
    it(`${type}: every set, shape and tile matches the reference`, () => {
      let seed = 1;
      let checked = 0;
      for (const K of Ks)
        for (const N of Ns) {
          const w = randomWeights(type, N, K, seed++);
          const M = Ms[(K + N) % Ms.length] as number;
          const x = randomX(M, K, seed++);
          const ref = T.refMatmul(type, w, N, K, x, M);
          const { abs, val } = exact(type, w, N, K, x, M);
          for (let i = 0; i < ref.length; i++) {
            const err = Math.abs((ref[i] as number) - (val[i] as number));
            expect(err).toBeLessThanOrEqual((ACT_ERROR[type] as number) * (abs[i] as number) + 1e-6);
          }
          for (const set of sets)
            for (const [mr, nc] of TILES) {
              const y = T.kernelMatmul(type, w, N, K, x, M, set, mr, nc);
              for (let i = 0; i < y.length; i++) {
                const tol = 1e-5 * (abs[i] as number) + 1e-6;
                const diff = Math.abs((y[i] as number) - (ref[i] as number));
                if (!(diff <= tol))
                  throw new Error(
                    `${set} ${type} N=${N} K=${K} M=${M} tile=${mr}x${nc} at ${i}: ${y[i]} vs ref ${ref[i]} (tol ${tol})`,
                  );
                checked++;
              }
            }
        }
      expect(checked).toBeGreaterThan(1000);
    });
  }

  it("q8_0: many activation rows give exactly the one-row results, at the integer extremes", () => {
    // Weights of -128, -127 and 127 and activations that quantize to +-127 push every int16 pair
    // of the vpmaddubsw-based tiles to its bound (the AVX2 sign trick and its XOR form for many
    // rows, up to 8 at a time). The integer sums are exact either way and the float epilogue is
    // the same per row, so a row's result must not depend on how many rows were computed beside it.
    const N = 48;
    const K = 512;
    const r = rng(42);
    for (const mode of ["extreme", "random"]) {
      const w = new Uint8Array((N * K * 34) / 32);
      const dv = new DataView(w.buffer);
      for (let b = 0; b < (N * K) / 32; b++) {
        dv.setUint16(b * 34, half(r, 4, 10), true);
        for (let j = 0; j < 32; j++) {
          const v = r();
          const q = mode === "extreme" ? (v < 0.5 ? -128 : v < 0.75 ? 127 : -127) : Math.floor(v * 256) - 128;
          dv.setInt8(b * 34 + 2 + j, q);
        }
      }
      for (const M of [33, 64]) {
        const x = new Float32Array(M * K);
        for (let i = 0; i < x.length; i++) x[i] = mode === "extreme" ? (r() < 0.5 ? -1 : 1) : (r() - 0.5) * 4;
        const ref = T.refMatmul("q8_0", w, N, K, x, M);
        const { abs } = exact("q8_0", w, N, K, x, M);
        for (const set of sets)
          for (const [mr, nc] of [
            [4, 1],
            [2, 2],
            [3, 1],
            [6, 1],
            [8, 1],
          ] as const) {
            const y = T.kernelMatmul("q8_0", w, N, K, x, M, set, mr, nc);
            for (let m = 0; m < M; m++) {
              const one = T.kernelMatmul("q8_0", w, N, K, x.subarray(m * K, (m + 1) * K), 1, set, 1, 1);
              for (let n = 0; n < N; n++) {
                const i = m * N + n;
                if (y[i] !== one[n])
                  throw new Error(
                    `${mode} ${set} M=${M} tile=${mr}x${nc} row ${m} col ${n}: ${y[i]} vs ${one[n]}`,
                  );
                expect(Math.abs((y[i] as number) - (ref[i] as number))).toBeLessThanOrEqual(
                  1e-5 * (abs[i] as number) + 1e-6,
                );
              }
            }
          }
      }
    }
  });

  it("computes only the requested column range (ending inside a 16-row tile)", () => {
    const N = 64;
    const M = 3;
    for (const type of ["q8_0", "q4_K", "q6_K"]) {
      const K = type.endsWith("_K") ? 256 : 64;
      const w = randomWeights(type, N, K, 99);
      const x = randomX(M, K, 100);
      const ref = T.refMatmul(type, w, N, K, x, M);
      const { abs } = exact(type, w, N, K, x, M);
      for (const set of sets) {
        const y = T.kernelMatmul(type, w, N, K, x, M, set, 4, 2, 16, 40);
        for (let m = 0; m < M; m++)
          for (let n = 0; n < N; n++) {
            const i = m * N + n;
            const v = y[i] as number;
            if (n < 16 || n >= 40) expect(Number.isNaN(v), `${set} ${type} column ${n}`).toBe(true);
            else
              expect(Math.abs(v - (ref[i] as number))).toBeLessThanOrEqual(1e-5 * (abs[i] as number) + 1e-6);
          }
      }
    }
  });

  it("spread over threads, with a late thread's columns stolen, gives every column once and exactly", () => {
    // 37 units of 16 columns (and a partial last one) over 4 threads: ranges of 9-10 units.
    const N = 16 * 37 + 5;
    const M = 3;
    const set = sets.at(-1) as string;
    for (const type of ["q8_0", "q6_K"]) {
      const K = 256;
      const w = randomWeights(type, N, K, 7);
      const x = randomX(M, K, 8);
      const whole = T.kernelMatmul(type, w, N, K, x, M, set, 1, 1);
      for (const delayMs of [0, 50]) {
        const { y, stolen } = T.jobMatmul(type, w, N, K, x, M, set, 1, 1, 4, delayMs);
        expect(Array.from(y), `${type}, thread 0 ${delayMs} ms late`).toEqual(Array.from(whole));
        // Thread 0 starting 50 ms late leaves its range to the others.
        if (delayMs > 0) expect(stolen).toBeGreaterThan(0);
      }
    }
  });
});

describe("tile choices offered to autotune", () => {
  it("decode of one sequence gets only the 1 x 1 tile on every vector set; prefill gets several", () => {
    // 1 x 1 keeps one contiguous weight stream per thread (docs/engine.md); autotune times on
    // weights in cache and would pick a wider tile if it were offered.
    for (const set of sets.filter((s) => s !== "portable")) {
      for (const type of ["q8_0", "q4_0"]) {
        expect(T.tileVariants(set, type, 1), `${set} ${type}`).toEqual([[1, 1]]);
        const many = T.tileVariants(set, type, 64);
        expect(many.length, `${set} ${type} M=64`).toBeGreaterThan(1);
        expect(many.every(([mr, nc]) => mr >= 1 && nc >= 1)).toBe(true);
      }
    }
    // AVX2 without VNNI: Q8_0 tiles of 8 rows from 32 rows on (its XOR-form tiles), none below.
    if (sets.includes("avx2")) {
      expect(T.tileVariants("avx2", "q8_0", 64)[0]).toEqual([8, 1]);
      expect(T.tileVariants("avx2", "q8_0", 16).some(([mr]) => mr > 4)).toBe(false);
    }
    expect(() => T.tileVariants("avx9", "q8_0", 1)).toThrow();
    expect(() => T.tileVariants("portable", "q8_0", 0)).toThrow(/bad row count/);
  });
});

describe("embedding rows through the packed layouts", () => {
  for (const type of Object.keys(BLOCK)) {
    it(`${type}: get_row equals the reference dequantization exactly`, () => {
      const K = type.endsWith("_K") ? 512 : 96;
      const N = 37;
      const w = randomWeights(type, N, K, 7);
      const all = T.refDequantize(type, w, N * K);
      for (const set of sets)
        for (const row of [0, 1, 15, 16, 36]) {
          const got = T.kernelGetRow(type, w, N, K, row, set);
          expect(Array.from(got)).toEqual(Array.from(all.subarray(row * K, (row + 1) * K)));
        }
    });
  }
});

describe("activation quantization", () => {
  it("q8_0: every set produces the same bytes as the portable reference", () => {
    const x = randomX(5, 256, 3);
    x[0] = 0;
    x.fill(0, 32, 64); // an all-zero block
    const ref = T.kernelQuantizeQ8("portable", x, 256);
    for (const set of sets) {
      const got = T.kernelQuantizeQ8(set, x, 256);
      expect(Array.from(got.qs)).toEqual(Array.from(ref.qs));
      expect(Array.from(got.d)).toEqual(Array.from(ref.d));
      expect(Array.from(got.sums)).toEqual(Array.from(ref.sums));
    }
    expect(ref.d[1]).toBe(0);
  });

  it("q8_K: every set produces the same bytes as the portable reference", () => {
    // 6 rows of 512 (12 blocks of 256), with blocks that pin down each rule of ggml's quantizer.
    const x = randomX(6, 512, 11);
    const block = (b: number) => x.subarray(b * 256, (b + 1) * 256);
    block(1).fill(0); // all zero: d = 0, no division
    // max = -127 so iscale = 1: every other value is an exact tie, rounded to even.
    const ties = block(2);
    for (let j = 0; j < 256; j++) ties[j] = (j % 64) - 32 + 0.5;
    ties[100] = -127;
    // The largest magnitude (above the outliers of 16) with both signs: the first one found sets
    // the sign of the scale.
    block(3)[37] = 40;
    block(3)[200] = -40;
    block(4)[37] = -40;
    block(4)[200] = 40;
    // Magnitudes so small that -127/max overflows to infinity: every quant truncates to 0.
    block(5).forEach((_, j, a) => {
      a[j] = (j % 3 === 0 ? -1 : 1) * 1.5e-38 * (1 + j / 256);
    });
    const ref = T.kernelQuantizeQ8K("portable", x, 512);
    const bytes = (a: ArrayBufferView) => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    for (const set of sets) {
      const got = T.kernelQuantizeQ8K(set, x, 512);
      expect(bytes(got.d), set).toEqual(bytes(ref.d));
      expect(bytes(got.qs), set).toEqual(bytes(ref.qs));
      expect(bytes(got.bsums), set).toEqual(bytes(ref.bsums));
    }
    // The reference itself follows those rules.
    expect(ref.d[1]).toBe(0);
    expect(ref.d[2]).toBe(1);
    expect(Array.from(ref.qs.subarray(512, 516))).toEqual([-32, -30, -30, -28]); // -31.5 -30.5 -29.5 -28.5
    expect(ref.qs[512 + 100]).toBe(-127);
    expect(ref.qs[3 * 256 + 37]).toBe(-127);
    expect(ref.qs[3 * 256 + 200]).toBe(127);
    expect(ref.qs[4 * 256 + 37]).toBe(-127);
    expect(ref.qs[4 * 256 + 200]).toBe(127);
    expect(ref.d[3]).toBeLessThan(0);
    expect(ref.d[4]).toBeGreaterThan(0);
    expect(ref.qs.subarray(5 * 256, 6 * 256).every((q) => q === 0)).toBe(true);
    let sum = 0;
    for (let j = 0; j < 16; j++) sum += ref.qs[7 * 256 + j] as number;
    expect(ref.bsums[7 * 16]).toBe(sum);
  });
});

/** f16 bits -> number (for the plain attention reference). */
function f16(h: number): number {
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const v = e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
}

/** Rounds a number to the nearest f16 value (ties to even), as the engine rounds softmax weights. */
function roundF16(x: number): number {
  if (x === 0) return 0;
  const e = Math.max(Math.floor(Math.log2(Math.abs(x))), -14);
  const ulp = 2 ** (e - 10);
  const q = x / ulp;
  const r = Math.round(q);
  const even = Math.abs(q - Math.trunc(q)) === 0.5 ? 2 * Math.round(q / 2) : r;
  return even * ulp;
}

describe("attention kernels", () => {
  // G query heads sharing one KV head in one call (1 = plain attention, 4 = Llama 3.2 1B, 3 = 3B);
  // the slots past n in the last block hold NaN and must not leak into the result.
  for (const hd of [16, 24, 64, 128])
    for (const n of [1, 5, 16, 17, 40, 100, 200])
      it(`every set matches a plain softmax(q.K)V reference (hd ${hd}, n ${n}, groups 1-8)`, () => {
        const r = rng(hd * 100 + n);
        const Kh = new Uint16Array(n * hd).map(() => half(r, 12, 16));
        const Vh = new Uint16Array(n * hd).map(() => half(r, 12, 16));
        const scale = 1 / Math.sqrt(hd);
        const reference = (q: Float32Array) => {
          const s = Array.from({ length: n }, (_, j) => {
            let acc = 0;
            for (let d = 0; d < hd; d++) acc += (q[d] as number) * f16(Kh[j * hd + d] as number);
            return acc * scale;
          });
          const mx = Math.max(...s);
          const e = s.map((v) => Math.exp(v - mx));
          const sum = e.reduce((a, b) => a + b, 0);
          const p = e.map((v) => roundF16(v / sum));
          return Array.from({ length: hd }, (_, d) =>
            p.reduce((acc, pj, j) => acc + pj * f16(Vh[j * hd + d] as number), 0),
          );
        };
        const bound = Array.from(
          { length: hd },
          (_, d) =>
            2e-3 * Math.max(...Array.from({ length: n }, (_, j) => Math.abs(f16(Vh[j * hd + d] as number)))) +
            1e-6,
        );
        for (const G of [1, 3, 4, 8]) {
          const q = new Float32Array(G * hd).map(() => f16(half(r, 12, 16)));
          const refs = Array.from({ length: G }, (_, g) => reference(q.subarray(g * hd, (g + 1) * hd)));
          for (const set of sets) {
            const out = T.kernelAttention(set, q, Kh, Vh, n, hd, scale);
            expect(out.length).toBe(G * hd);
            for (let g = 0; g < G; g++)
              for (let d = 0; d < hd; d++) {
                const diff = Math.abs((out[g * hd + d] as number) - (refs[g]?.[d] as number));
                if (!(diff <= (bound[d] as number)))
                  throw new Error(`${set} G=${G} head ${g} d=${d}: ${out[g * hd + d]} vs ${refs[g]?.[d]}`);
              }
          }
        }
      });
});

describe("SwiGLU kernels", () => {
  // Lengths around every vector width (the tails run scalar); values from tiny to past exp's range.
  it("every set matches silu(g) * u computed in double", () => {
    const r = rng(4242);
    for (const n of [1, 7, 8, 9, 15, 16, 17, 31, 33, 100, 4099]) {
      const g = new Float32Array(n).map(() => {
        const k = r() % 8;
        const x = ((r() % 20001) - 10000) / 1000; // -10 .. 10
        return k === 0 ? x * 12 : k === 1 ? x * 1e-6 : k === 2 ? 0 : x;
      });
      if (n > 4) [g[0], g[1], g[2], g[3]] = [-100, 100, -87.5, 88];
      const u = new Float32Array(n).map(() => ((r() % 2001) - 1000) / 250);
      for (const set of sets) {
        const out = T.kernelSiluMul(set, g, u);
        for (let i = 0; i < n; i++) {
          const x = g[i] as number;
          const want = (x / (1 + Math.exp(-x))) * (u[i] as number);
          const diff = Math.abs((out[i] as number) - want);
          if (!(diff <= 2e-6 * Math.abs(want) + 1e-30))
            throw new Error(`${set} n=${n} i=${i}: silu(${x}) * ${u[i]} = ${out[i]}, want ${want}`);
        }
      }
    }
    expect(() => T.kernelSiluMul(sets[0] as string, new Float32Array(3), new Float32Array(4))).toThrow(
      /silu shapes/,
    );
  });
});

describe("test hooks reject bad arguments instead of crashing", () => {
  it("throws on mismatched sizes and unknown names", () => {
    expect(() => T.refMatmul("q8_0", new Uint8Array(10), 16, 32, new Float32Array(32), 1)).toThrow(
      /wrong size/,
    );
    expect(() => T.refMatmul("q3_K", new Uint8Array(10), 16, 32, new Float32Array(32), 1)).toThrow(
      /unknown type/,
    );
    expect(() =>
      T.kernelMatmul("f32", new Uint8Array(64 * 4), 2, 32, new Float32Array(32), 1, "nope", 1, 1),
    ).toThrow(/not available/);
  });

  it("throws on missing or mistyped arguments (a fatal cast before)", () => {
    const loose = T as unknown as Record<string, (...args: unknown[]) => unknown>;
    const call =
      (name: string, ...args: unknown[]) =>
      () =>
        loose[name]?.(...args);
    // benchMatmul without its tile shape aborted the process (napi type check on As<Number>).
    expect(call("benchMatmul", "q8_0", 2048, 2048, 1, 1, 5, "portable")).toThrow(
      /argument 7 must be a number/,
    );
    // and with a zero tile it divided by zero (SIGFPE).
    expect(call("benchMatmul", "q8_0", 2048, 2048, 1, 1, 5, "portable", 0, 0)).toThrow(/bad tile/);
    expect(call("refMatmul")).toThrow(/argument 0 must be a string/);
    expect(call("refMatmul", "q8_0", new Float32Array(4), 16, 32, new Float32Array(32), 1)).toThrow(
      /argument 1 must be a Uint8Array/,
    );
    expect(call("kernelSiluMul", sets[0], [1, 2], new Float32Array(2))).toThrow(
      /argument 1 must be a Float32Array/,
    );
    expect(call("kernelQuantizeQ8", sets[0], "x")).toThrow(/must be a/);
    expect(call("sampleDraws", [1, 2], {}, 1)).toThrow(/argument 0 must be a Float32Array/);
    expect(call("sampleDraws", new Float32Array(4), { temperature: -1 }, 1)).toThrow(/temperature/);
    expect(call("sampleDraws", new Float32Array(4), {}, 0)).toThrow(/bad sampleDraws arguments/);
    expect(call("sampleDraws", new Float32Array(40), {}, 1, new Uint32Array(1))).toThrow(/ceil\(V \/ 32\)/);
    // a mask that allows nothing is the sampler's own error, not a crash
    expect(call("sampleDraws", new Float32Array(4), {}, 1, new Uint32Array(1))).toThrow(/allows no token/);
    expect(call("memoryBandwidth", 8, 2, 1)).toThrow(/bad bandwidth arguments/);
    expect(call("memoryBandwidth", 64, 0, 1)).toThrow(/bad bandwidth arguments/);
    // the bench's read-bandwidth probe (plain and prefetched sweeps) gives a rate, not NaN or 0
    const one = call("memoryBandwidth", 64, 2, 1)() as { best: number; median: number };
    expect(Number.isFinite(one.best) && one.best > 0.1).toBe(true);
    expect(one.median).toBe(one.best); // one pass: its rate is the best sweep
    const three = call("memoryBandwidth", 64, 2, 3)() as { best: number; median: number };
    expect(three.median > 0.1 && three.median <= three.best).toBe(true);
    expect(call("benchAttention", sets[0], 0, 64, 64, 8, 1)).toThrow(/bad benchAttention arguments/);
    expect(call("benchAttention", sets[0], 4, 64, 64, 8)).toThrow(/argument 5 must be a number/);
    expect(call("benchAttention", "nope", 4, 64, 64, 8, 1)).toThrow(/not available/);
    // the attention micro-benchmark (bench/) gives a rate for every set, not NaN or 0
    for (const set of sets) {
      const a = call("benchAttention", set, 4, 40, 64, 2, 1)() as { ms: number; gflops: number };
      expect(Number.isFinite(a.gflops) && a.gflops > 0 && a.ms > 0).toBe(true);
    }
    // and the addon still works afterwards
    expect(T.kernelSets()).toEqual(sets);
  });
});
