/**
 * Deterministic random numbers for synthetic weights: sfc32 (Small Fast Counting, 128-bit state),
 * seeded per tensor from (seed, tensor name) so every tensor's values are independent of the order
 * tensors are generated in and of the file type. Only 32-bit integer arithmetic, so the stream is
 * identical on every platform.
 */
export class Sfc32 {
  /** The 128-bit state; public so hot loops can run the generator on local copies (see fillNormalish). */
  a: number;
  b: number;
  c: number;
  d: number;

  constructor(a: number, b: number, c: number, d: number) {
    this.a = a | 0;
    this.b = b | 0;
    this.c = c | 0;
    this.d = d | 0;
    for (let i = 0; i < 16; i++) this.next();
  }

  /** The next uniform 32-bit unsigned integer. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) + t;
    this.c |= 0;
    return t >>> 0;
  }
}

/** murmur3's 32-bit finalizer: spreads every input bit over the output. */
function mix32(h: number): number {
  let x = h >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A generator for one labelled stream (a tensor name) of a seeded model. */
export function streamFor(seed: number, label: string): Sfc32 {
  // FNV-1a over the label, then mixed with both halves of the seed.
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  const seedLo = seed >>> 0;
  const seedHi = Math.floor(seed / 2 ** 32) >>> 0;
  return new Sfc32(
    mix32(h ^ seedLo),
    mix32(h + 0x9e3779b9 + seedHi),
    mix32(seedLo ^ 0x7f4a7c15),
    mix32(h ^ seedHi ^ 0x94d049bb),
  );
}

// The sum of four uniform 16-bit integers has mean 2 * 65535 and variance 4 * (65536^2 - 1) / 12.
const SUM4_MEAN = 2 * 65535;
const SUM4_INV_STD = 1 / Math.sqrt((65536 * 65536 - 1) / 3);

/**
 * Fills out[offset, offset+count) with approximately normal values of standard deviation `std`
 * (Irwin-Hall with four terms: bell-shaped, bounded at ±3.46 std, cheap: two draws per value).
 */
export function fillNormalish(
  rng: Sfc32,
  out: Float32Array,
  offset: number,
  count: number,
  std: number,
  mean = 0,
): void {
  const k = std * SUM4_INV_STD;
  // sfc32 inlined on int32 local copies of the state: several times faster than calling next().
  let a = rng.a | 0;
  let b = rng.b | 0;
  let c = rng.c | 0;
  let d = rng.d | 0;
  const end = offset + count;
  for (let i = offset; i < end; i++) {
    const u = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (((c << 21) | (c >>> 11)) + u) | 0;
    const v = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (((c << 21) | (c >>> 11)) + v) | 0;
    const sum = (u & 0xffff) + (u >>> 16) + (v & 0xffff) + (v >>> 16);
    out[i] = mean + (sum - SUM4_MEAN) * k;
  }
  rng.a = a;
  rng.b = b;
  rng.c = c;
  rng.d = d;
}
