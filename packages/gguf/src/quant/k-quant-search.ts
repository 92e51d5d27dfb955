/**
 * The scale searches behind ggml's K-quant reference quantizers (ggml-quants.c: nearest_int,
 * make_qx_quants with rmse_type 1 and no importance weights, make_qkx2_quants). They are ports,
 * not approximations: every float operation is rounded to f32 with Math.fround in the C evaluation
 * order, so the chosen levels and scales, and thus the bytes, equal ggml's on x86-64 (where ggml-base
 * is built without FMA contraction).
 */
const fround = Math.fround;

/** ggml's GROUP_MAX_EPS: a group whose largest magnitude is below this is all zeros. */
export const GROUP_MAX_EPS = fround(1e-15);
/** The f32 constant 0.1f. */
export const POINT_ONE = fround(0.1);

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * ggml's nearest_int: round half to even via the 1.5 * 2^23 trick, reading the mantissa bits as C
 * does, so even out-of-range inputs (|x| > 2^22, which ggml only asserts against) give ggml's result.
 */
export function nearestInt(x: number): number {
  f32[0] = x + 12582912;
  return ((u32[0] as number) & 0x007fffff) - 0x00400000;
}

/**
 * make_qx_quants(n, nmax, x, L, rmse_type = 1, qw = NULL): symmetric levels L[i] in [0, 2*nmax)
 * (stored with +nmax offset) and the scale minimizing sum(x^2 * (x - scale*(L - nmax))^2), searched
 * over 19 candidate inverse scales. Returns the scale.
 */
export function makeQxQuants(
  n: number,
  nmax: number,
  x: Float32Array,
  xOff: number,
  L: Uint8Array,
  lOff: number,
): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOff + i] as number;
    const ax = Math.abs(v);
    if (ax > amax) {
      amax = ax;
      max = v;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lOff, lOff + n);
    return 0;
  }
  let iscale = fround(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOff + i] as number;
    let l = nearestInt(fround(iscale * v));
    l = Math.max(-nmax, Math.min(nmax - 1, l));
    L[lOff + i] = l + nmax;
    const w = fround(v * v);
    sumlx = fround(sumlx + fround(fround(w * v) * l));
    suml2 = fround(suml2 + fround(fround(w * l) * l));
  }
  let scale = suml2 !== 0 ? fround(sumlx / suml2) : 0;
  let best = fround(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = fround(-fround(nmax + fround(POINT_ONE * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xOff + i] as number;
      let l = nearestInt(fround(iscale * v));
      l = Math.max(-nmax, Math.min(nmax - 1, l));
      const w = fround(v * v);
      sumlx = fround(sumlx + fround(fround(w * v) * l));
      suml2 = fround(suml2 + fround(fround(w * l) * l));
    }
    if (suml2 > 0 && fround(sumlx * sumlx) > fround(best * suml2)) {
      for (let i = 0; i < n; i++) {
        const l = nearestInt(fround(iscale * (x[xOff + i] as number)));
        L[lOff + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
      }
      scale = fround(sumlx / suml2);
      best = fround(scale * sumlx);
    }
  }
  return scale;
}

/**
 * make_qkx2_quants: asymmetric levels L[i] in [0, nmax] with x ≈ scale * L - theMin, fitted by
 * weighted least squares over nstep+1 candidate scales. Returns the scale; writes theMin (>= 0)
 * to `out.min`.
 */
export function makeQkx2Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  xOff: number,
  weights: Float32Array,
  L: Uint8Array,
  lOff: number,
  Laux: Uint8Array,
  rmin: number,
  rdelta: number,
  nstep: number,
  useMad: boolean,
  out: { min: number },
): number {
  let min = x[xOff] as number;
  let max = min;
  let sumW = weights[0] as number;
  let sumX = fround(sumW * min);
  for (let i = 1; i < n; i++) {
    const v = x[xOff + i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
    const w = weights[i] as number;
    sumW = fround(sumW + w);
    sumX = fround(sumX + fround(w * v));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lOff, lOff + n);
    out.min = -min;
    return 0;
  }
  let iscale = fround(nmax / fround(max - min));
  let scale = fround(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOff + i] as number;
    const l = Math.max(0, Math.min(nmax, nearestInt(fround(iscale * fround(v - min)))));
    L[lOff + i] = l;
    let diff = fround(fround(fround(scale * l) + min) - v);
    diff = useMad ? Math.abs(diff) : fround(diff * diff);
    bestError = fround(bestError + fround((weights[i] as number) * diff));
  }
  if (nstep < 1) {
    out.min = -min;
    return scale;
  }
  for (let is = 0; is <= nstep; is++) {
    // `min` moves to each better fit, so the candidate scales depend on the fits before them.
    iscale = fround(fround(fround(rmin + fround(rdelta * is)) + nmax) / fround(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xOff + i] as number;
      const l = Math.max(0, Math.min(nmax, nearestInt(fround(iscale * fround(v - min)))));
      Laux[i] = l;
      const wl = fround((weights[i] as number) * l);
      sumL = fround(sumL + wl);
      sumL2 = fround(sumL2 + fround(wl * l));
      sumXL = fround(sumXL + fround(wl * v));
    }
    const D = fround(fround(sumW * sumL2) - fround(sumL * sumL));
    if (D > 0) {
      let thisScale = fround(fround(fround(sumW * sumXL) - fround(sumX * sumL)) / D);
      let thisMin = fround(fround(fround(sumL2 * sumX) - fround(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fround(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        let diff = fround(
          fround(fround(thisScale * (Laux[i] as number)) + thisMin) - (x[xOff + i] as number),
        );
        diff = useMad ? Math.abs(diff) : fround(diff * diff);
        curError = fround(curError + fround((weights[i] as number) * diff));
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) L[lOff + i] = Laux[i] as number;
        bestError = curError;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  out.min = -min;
  return scale;
}
