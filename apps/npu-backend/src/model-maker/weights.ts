/**
 * How synthetic weights are drawn. Random weights give a model that is useless as a language model
 * but must still be a good test subject: activations in a healthy range (also in f16 and after 4-bit
 * quantization), attention that is selective and changes the output, and greedy generation that
 * wanders over many tokens with a clear winner at most steps, so two correct engines agree.
 *
 * - Projections are normal-ish with std = gain / sqrt(fan_in), fan_in = ne0 (the row length): a
 *   unit-RMS input gives outputs of RMS `gain`. q and k use QK_GAIN > 1, so attention scores have a
 *   std of about QK_GAIN^2 and attention is selective rather than uniform.
 * - ffn_down is much stronger than attn_output (FFN_DOWN_GAIN vs ATTN_OUTPUT_GAIN). With tied
 *   embeddings the next token is argmax <norm(h), E[v]>; the token just generated maximized that
 *   product one position earlier, so whatever part of h is shared between neighbouring positions
 *   (what attention averages over the context) votes to repeat it. Measured on `tiny` with
 *   llama.cpp: with equal gains of 2, greedy decoding fell into runs of the same token within a
 *   few steps; with the MLP dominating, 191 of 192 generated tokens were distinct. Attention still
 *   steers the MLPs' inputs: the same last token after different contexts gives different tokens.
 * - Embedding (and untied output) rows have std LOGIT_STD / sqrt(hidden), so logits have a std of
 *   about LOGIT_STD. At 8 the top-1 logit leads the second by a median of 1.3 to 1.5 and by less
 *   than 0.05 on 0 to 2% of greedy steps (tiny, 1b and 3b in q8_0, measured with llama.cpp), while
 *   sampling at temperature 1 still varies.
 * - The 256 special tokens' rows are scaled by SPECIAL_ROW_SCALE, as untrained reserved tokens are
 *   small in real Llama 3: greedy generation never stops at a random <|eot_id|> (tests force it with
 *   logit_bias when they need it).
 * - Norm weights are 1 plus small noise: a mean of 1 keeps RMSNorm's scale; the noise makes a
 *   transposed or skipped norm weight visible.
 */
import { fillNormalish, type Sfc32 } from "./prng.js";

export const QK_GAIN = 1.5;
export const ATTN_OUTPUT_GAIN = 1;
export const FFN_DOWN_GAIN = 4;
export const LOGIT_STD = 8;
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

/** Fixed values (rope_freqs). */
export function fixedValues(values: Float32Array): RowFiller {
  return (_rng, _rowStart, _rowCount, out) => out.set(values);
}
