/**
 * How synthetic weights are drawn. Random weights give a model that is useless as a language model
 * but must still be a good test subject: activations in a healthy range (also in f16 and after 4-bit
 * quantization), varied greedy output, and — most important for checking an engine against
 * llama.cpp — low sensitivity to rounding, so that two correct engines agree closely.
 *
 * Why sensitivity matters: engines quantize activations (q8_0 / q8_K) before every matmul. Two
 * correct engines round differently in rare places (accumulation order), and each such flip moves
 * the result by one quantum. In a model whose layers amplify perturbations, one flip grows into a
 * logit difference comparable to the gap between the top tokens. Measured on `tiny` with llama.cpp
 * (teacher-forced, top-5 log-probabilities over 128 steps): with strong layers (q/k gain 1.5,
 * ffn_down gain 4, logit std 8) the median difference was 0.13 nats in q8_0 and 0.28 in q4_k_m;
 * with the weak layers below it is 0.06 and 0.10, and f16 0.003.
 *
 * - Projections are normal-ish with std = gain / sqrt(fan_in), fan_in = ne0 (the row length): a
 *   unit-RMS input gives outputs of RMS `gain`. q and k use QK_GAIN = 1: attention is selective but
 *   not one-hot. Each layer's output projections (attn_output, ffn_down) are weak (0.3), so no layer
 *   amplifies what came before it.
 * - Weak layers alone would make greedy decoding repeat the input token: with tied embeddings the
 *   logit of v is <norm(h), E[v]> and h stays close to E[token]. The final norm weight therefore has
 *   random signs (OUTPUT_NORM_RANDOM_SIGNS): <E[t] * s, E[v]> no longer peaks at v = t, so the next
 *   token is a fixed pseudo-random function of the current one, steered by attention. Greedy output
 *   stays varied (on tiny, 106-126 distinct tokens of 128). Real models have negative norm weights
 *   too; every engine must handle them.
 * - Embedding (and untied output) rows have std LOGIT_STD / sqrt(hidden), so logits have a std of
 *   about LOGIT_STD.
 * - The 256 special tokens' rows are scaled by SPECIAL_ROW_SCALE, as untrained reserved tokens are
 *   small in real Llama 3: greedy generation never stops at a random <|eot_id|> (tests force it with
 *   logit_bias when they need it).
 * - Norm weights are 1 plus small noise: a mean of 1 keeps RMSNorm's scale; the noise makes a
 *   transposed or skipped norm weight visible.
 */
import { fillNormalish, type Sfc32 } from "./prng.js";

export const QK_GAIN = 1;
export const ATTN_OUTPUT_GAIN = 0.3;
export const FFN_DOWN_GAIN = 0.3;
export const LOGIT_STD = 4;
export const OUTPUT_NORM_RANDOM_SIGNS = true;
export const SPECIAL_ROW_SCALE = 0.05;
export const NORM_NOISE_STD = 0.1;

/** Fills rows [rowStart, rowStart + rowCount) of a tensor whose rows have `rowLength` values. */
export type RowFiller = (rng: Sfc32, rowStart: number, rowCount: number, out: Float32Array) => void;

/** Rows of normal-ish values with the given std; rows from `scaledFrom` on are scaled by `rowScale`. */
export function normalRows(
  rowLength: number,
  std: number,
  scaledFrom = Number.POSITIVE_INFINITY,
  rowScale = 1,
): RowFiller {
  return (rng, rowStart, rowCount, out) => {
    for (let r = 0; r < rowCount; r++) {
      const row = rowStart + r;
      fillNormalish(rng, out, r * rowLength, rowLength, row >= scaledFrom ? std * rowScale : std);
    }
  };
}

/** A norm weight: values near 1. */
export function normWeights(length: number): RowFiller {
  return (rng, _rowStart, _rowCount, out) => fillNormalish(rng, out, 0, length, NORM_NOISE_STD, 1);
}

/** The final norm weight: values near 1 with random signs (see OUTPUT_NORM_RANDOM_SIGNS). */
export function signedNormWeights(length: number): RowFiller {
  return (rng, rowStart, rowCount, out) => {
    normWeights(length)(rng, rowStart, rowCount, out);
    if (!OUTPUT_NORM_RANDOM_SIGNS) return;
    for (let i = 0; i < length; i++) if (rng.next() >= 0x80000000) out[i] = -(out[i] as number);
  };
}

/** Fixed values (rope_freqs). */
export function fixedValues(values: Float32Array): RowFiller {
  return (_rng, _rowStart, _rowCount, out) => out.set(values);
}
