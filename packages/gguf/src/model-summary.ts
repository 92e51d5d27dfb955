/**
 * What a GGUF model file holds, in numbers: hyper-parameters, tensor types, parameter count and the
 * memory needed to run it (weights plus an f16 KV cache for a given context). Used by
 * `gearbox inspect`; works for any architecture whose keys follow the `<arch>.` convention.
 */
import { llamaFileTypeName } from "./file-type-names.js";
import { metaArray, metaFloat, metaInteger, metaString, requireString } from "./metadata.js";
import type { GgufFile } from "./reader.js";

/** The context used for the KV-cache estimate when none is given: the model's, capped at this. */
export const DEFAULT_SUMMARY_CONTEXT = 8192;

export interface ModelSummary {
  fileSize: number;
  ggufVersion: number;
  architecture: string;
  name: string | null;
  fileType: { id: number; name: string } | null;
  hyperparameters: {
    vocabSize: number | null;
    contextLength: number | null;
    embeddingLength: number | null;
    blockCount: number | null;
    feedForwardLength: number | null;
    headCount: number | null;
    headCountKv: number | null;
    headDim: number | null;
    ropeFreqBase: number | null;
    /** true when a rope_freqs tensor (Llama 3 rope scaling factors) is present. */
    ropeFreqFactors: boolean;
    rmsNormEps: number | null;
    /** true when there is no output.weight: the output projection reuses token_embd. */
    tiedEmbeddings: boolean;
  };
  tokenizer: {
    model: string | null;
    pre: string | null;
    tokenCount: number | null;
    bosId: number | null;
    eosId: number | null;
    hasChatTemplate: boolean;
  };
  tensorCount: number;
  /** Tensor count by ggml type name. */
  tensorTypes: Record<string, number>;
  parameterCount: number;
  memory: {
    weightsBytes: number;
    contextLength: number;
    /** f16 K and V for every layer: 2 * layers * context * kv_heads * head_dim * 2 bytes. */
    kvCacheBytes: number;
    totalBytes: number;
  };
}

export function summarizeModel(file: GgufFile, options: { contextLength?: number } = {}): ModelSummary {
  const meta = file.metadata;
  const arch = requireString(meta, "general.architecture");
  const int = (key: string) => metaInteger(meta, `${arch}.${key}`) ?? null;
  const embeddingLength = int("embedding_length");
  const headCount = int("attention.head_count");
  const headCountKv = int("attention.head_count_kv") ?? headCount;
  const headDim =
    int("attention.key_length") ??
    (embeddingLength !== null && headCount ? Math.floor(embeddingLength / headCount) : null);
  const blockCount = int("block_count");
  const contextLength = int("context_length");
  const tokens = metaArray(meta, "tokenizer.ggml.tokens");
  const fileTypeId = metaInteger(meta, "general.file_type");

  const tensorTypes: Record<string, number> = {};
  let parameterCount = 0;
  let weightsBytes = 0;
  for (const t of file.tensors) {
    tensorTypes[t.type.name] = (tensorTypes[t.type.name] ?? 0) + 1;
    parameterCount += t.elementCount;
    weightsBytes += t.byteSize;
  }

  const kvContext =
    options.contextLength ?? Math.min(contextLength ?? DEFAULT_SUMMARY_CONTEXT, DEFAULT_SUMMARY_CONTEXT);
  const kvCacheBytes = 2 * (blockCount ?? 0) * kvContext * (headCountKv ?? 0) * (headDim ?? 0) * 2;
  const names = new Set(file.tensors.map((t) => t.name));

  return {
    fileSize: file.fileSize,
    ggufVersion: file.version,
    architecture: arch,
    name: metaString(meta, "general.name") ?? null,
    fileType: fileTypeId === undefined ? null : { id: fileTypeId, name: llamaFileTypeName(fileTypeId) },
    hyperparameters: {
      vocabSize: int("vocab_size") ?? (tokens ? tokens.items.length : null),
      contextLength,
      embeddingLength,
      blockCount,
      feedForwardLength: int("feed_forward_length"),
      headCount,
      headCountKv,
      headDim,
      ropeFreqBase: metaFloat(meta, `${arch}.rope.freq_base`) ?? null,
      ropeFreqFactors: names.has("rope_freqs.weight"),
      rmsNormEps: metaFloat(meta, `${arch}.attention.layer_norm_rms_epsilon`) ?? null,
      tiedEmbeddings: names.has("token_embd.weight") && !names.has("output.weight"),
    },
    tokenizer: {
      model: metaString(meta, "tokenizer.ggml.model") ?? null,
      pre: metaString(meta, "tokenizer.ggml.pre") ?? null,
      tokenCount: tokens ? tokens.items.length : null,
      bosId: metaInteger(meta, "tokenizer.ggml.bos_token_id") ?? null,
      eosId: metaInteger(meta, "tokenizer.ggml.eos_token_id") ?? null,
      hasChatTemplate: meta.has("tokenizer.chat_template"),
    },
    tensorCount: file.tensors.length,
    tensorTypes,
    parameterCount,
    memory: { weightsBytes, contextLength: kvContext, kvCacheBytes, totalBytes: weightsBytes + kvCacheBytes },
  };
}
