/**
 * Llama 3 rope scaling as per-frequency factors, stored in GGUF as `rope_freqs.weight`.
 * Computed as llama.cpp's convert_hf_to_gguf.py does (LlamaModel.generate_extra_tensors), in f32
 * like its torch code: long wavelengths are slowed by `factor`, short ones kept, the band between
 * interpolated smoothly.
 */
import type { Llama3RopeScaling } from "./shapes.js";

const fround = Math.fround;

export function llama3RopeFactors(
  headDim: number,
  ropeTheta: number,
  scaling: Llama3RopeScaling,
): Float32Array {
  const lowFreqWavelen = scaling.originalContextLength / scaling.lowFreqFactor;
  const highFreqWavelen = scaling.originalContextLength / scaling.highFreqFactor;
  const twoPi = fround(2 * Math.PI);
  const factors = new Float32Array(headDim / 2);
  for (let i = 0; i < headDim / 2; i++) {
    const exponent = fround((2 * i) / headDim);
    const freq = fround(1 / fround(ropeTheta ** exponent));
    const wavelen = fround(twoPi / freq);
    if (wavelen < highFreqWavelen) {
      factors[i] = 1;
    } else if (wavelen > lowFreqWavelen) {
      factors[i] = scaling.factor;
    } else {
      const smooth = fround(
        fround(fround(scaling.originalContextLength / wavelen) - scaling.lowFreqFactor) /
          (scaling.highFreqFactor - scaling.lowFreqFactor),
      );
      factors[i] = fround(1 / fround(fround(fround(1 - smooth) / scaling.factor) + smooth));
    }
  }
  return factors;
}
