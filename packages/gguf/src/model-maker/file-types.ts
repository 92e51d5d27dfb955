/**
 * The file types make-model writes and the tensor type each tensor gets, following llama.cpp:
 * convert_hf_to_gguf for f32/f16/bf16/q8_0 (every 2-D weight in that type), llama-quantize's
 * llama_tensor_get_type for q4_0 and q4_k_m (its mixes, without an importance matrix). 1-D tensors
 * (norms, rope_freqs) are always f32.
 */
import { type GgmlTypeInfo, type GgmlTypeName, ggmlTypeByName } from "../ggml-types.js";

export const MODEL_FILE_TYPES = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_k_m"] as const;
export type ModelFileType = (typeof MODEL_FILE_TYPES)[number];

/** general.file_type: llama.cpp's llama_ftype for each file type. */
export const LLAMA_FTYPE: Readonly<Record<ModelFileType, number>> = {
  f32: 0,
  f16: 1,
  q4_0: 2,
  q8_0: 7,
  q4_k_m: 15,
  bf16: 32,
};

const BASE_TYPE: Readonly<Record<ModelFileType, GgmlTypeName>> = {
  f32: "F32",
  f16: "F16",
  bf16: "BF16",
  q8_0: "Q8_0",
  q4_0: "Q4_0",
  q4_k_m: "Q4_K",
};

/** What llama.cpp's type choice looks at: the tensor's role and, for some roles, its layer. */
export type TensorRole =
  | "token_embd"
  | "output"
  | "norm"
  | "rope_freqs"
  | "attn_q"
  | "attn_k"
  | "attn_v"
  | "attn_output"
  | "ffn_gate"
  | "ffn_up"
  | "ffn_down";

function type(name: GgmlTypeName): GgmlTypeInfo {
  return ggmlTypeByName(name) as GgmlTypeInfo;
}

/** llama.cpp's use_more_bits: the first and last eighth of the layers and every third in between. */
export function useMoreBits(layer: number, layers: number): boolean {
  const eighth = Math.floor(layers / 8);
  return layer < eighth || layer >= Math.floor((7 * layers) / 8) || (layer - eighth) % 3 === 2;
}

export interface TensorTypeQuery {
  role: TensorRole;
  /** Block index for per-layer tensors. */
  layer?: number;
  layers: number;
  tiedEmbeddings: boolean;
}

/** The ggml type of a tensor in a file of the given type. */
export function tensorTypeFor(fileType: ModelFileType, q: TensorTypeQuery): GgmlTypeInfo {
  if (q.role === "norm" || q.role === "rope_freqs") return type("F32");
  const base = BASE_TYPE[fileType];
  if (fileType !== "q4_0" && fileType !== "q4_k_m") return type(base);

  // The output projection (token_embd when tied) keeps more precision: Q6_K.
  if (q.role === "output" || (q.role === "token_embd" && q.tiedEmbeddings)) return type("Q6_K");
  if (
    fileType === "q4_k_m" &&
    (q.role === "attn_v" || q.role === "ffn_down") &&
    useMoreBits(q.layer ?? 0, q.layers)
  ) {
    return type("Q6_K");
  }
  return type(base);
}
