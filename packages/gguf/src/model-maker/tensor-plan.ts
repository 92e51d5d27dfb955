/**
 * The tensors of a Llama model in GGUF naming (llama.cpp's LLM_ARCH_LLAMA), with their shapes
 * ([ne0 = input features, ne1 = output features]), ggml types and how to fill them.
 */
import type { GgmlTypeInfo } from "../ggml-types.js";
import { type ModelFileType, type TensorRole, tensorTypeFor } from "./file-types.js";
import { LLAMA3_NORMAL_TOKENS } from "./llama3-vocab.js";
import { llama3RopeFactors } from "./rope-factors.js";
import type { LlamaShape } from "./shapes.js";
import {
  ATTN_OUTPUT_GAIN,
  FFN_DOWN_GAIN,
  fixedValues,
  LOGIT_STD,
  normalRows,
  normWeights,
  QK_GAIN,
  type RowFiller,
  SPECIAL_ROW_SCALE,
  signedNormWeights,
} from "./weights.js";

export interface PlannedTensor {
  name: string;
  dims: [number] | [number, number];
  type: GgmlTypeInfo;
  role: TensorRole;
  fill: RowFiller;
}

export function planTensors(shape: LlamaShape, fileType: ModelFileType): PlannedTensor[] {
  const { hidden, ffn, vocabSize, layers } = shape;
  const qDim = shape.heads * shape.headDim;
  const kvDim = shape.kvHeads * shape.headDim;
  const plan: PlannedTensor[] = [];
  const add = (
    name: string,
    role: TensorRole,
    dims: [number] | [number, number],
    fill: RowFiller,
    layer?: number,
  ) => {
    const type = tensorTypeFor(fileType, {
      role,
      layers,
      tiedEmbeddings: shape.tiedEmbeddings,
      ...(layer === undefined ? {} : { layer }),
    });
    plan.push({ name, dims, type, role, fill });
  };
  const projection = (fanIn: number, gain: number) => normalRows(fanIn, gain / Math.sqrt(fanIn));
  const vocabRows = () =>
    normalRows(hidden, LOGIT_STD / Math.sqrt(hidden), LLAMA3_NORMAL_TOKENS, SPECIAL_ROW_SCALE);

  if (shape.ropeScaling) {
    const factors = llama3RopeFactors(shape.headDim, shape.ropeTheta, shape.ropeScaling);
    add("rope_freqs.weight", "rope_freqs", [shape.headDim / 2], fixedValues(factors));
  }
  add("token_embd.weight", "token_embd", [hidden, vocabSize], vocabRows());
  for (let i = 0; i < layers; i++) {
    const blk = `blk.${i}`;
    add(`${blk}.attn_norm.weight`, "norm", [hidden], normWeights(hidden), i);
    add(`${blk}.attn_q.weight`, "attn_q", [hidden, qDim], projection(hidden, QK_GAIN), i);
    add(`${blk}.attn_k.weight`, "attn_k", [hidden, kvDim], projection(hidden, QK_GAIN), i);
    add(`${blk}.attn_v.weight`, "attn_v", [hidden, kvDim], projection(hidden, 1), i);
    add(`${blk}.attn_output.weight`, "attn_output", [qDim, hidden], projection(qDim, ATTN_OUTPUT_GAIN), i);
    add(`${blk}.ffn_norm.weight`, "norm", [hidden], normWeights(hidden), i);
    add(`${blk}.ffn_gate.weight`, "ffn_gate", [hidden, ffn], projection(hidden, 1), i);
    add(`${blk}.ffn_up.weight`, "ffn_up", [hidden, ffn], projection(hidden, 1), i);
    add(`${blk}.ffn_down.weight`, "ffn_down", [ffn, hidden], projection(ffn, FFN_DOWN_GAIN), i);
  }
  add("output_norm.weight", "norm", [hidden], signedNormWeights(hidden));
  if (!shape.tiedEmbeddings) add("output.weight", "output", [hidden, vocabSize], vocabRows());
  return plan;
}
