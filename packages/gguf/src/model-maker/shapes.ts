/**
 * The synthetic model shapes `gearbox make-model` can build. 1b and 3b are the hyper-parameters of
 * Llama 3.2 1B and 3B; tiny is a small model with the same structure (GQA, tied embeddings, Llama 3
 * rope scaling); tiny-alt differs from tiny in every dimension an engine might hard-code (hidden
 * size, head count, no GQA, untied output, plain rope, context length) to catch such assumptions.
 */

/** Llama 3 rope scaling (HF config `rope_scaling` with rope_type "llama3"). */
export interface Llama3RopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalContextLength: number;
}

export interface LlamaShape {
  name: ShapeName;
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ffn: number;
  contextLength: number;
  ropeTheta: number;
  ropeScaling: Llama3RopeScaling | null;
  /** true: the output projection is token_embd.weight (no output.weight tensor). */
  tiedEmbeddings: boolean;
  rmsNormEps: number;
}

export const SHAPE_NAMES = ["tiny", "tiny-alt", "1b", "3b"] as const;
export type ShapeName = (typeof SHAPE_NAMES)[number];

const LLAMA3_VOCAB = 128256;
const LLAMA3_ROPE_SCALING: Llama3RopeScaling = {
  factor: 32,
  lowFreqFactor: 1,
  highFreqFactor: 4,
  originalContextLength: 8192,
};

export const SHAPES: Readonly<Record<ShapeName, LlamaShape>> = {
  tiny: {
    name: "tiny",
    vocabSize: LLAMA3_VOCAB,
    hidden: 256,
    layers: 4,
    heads: 4,
    kvHeads: 2,
    headDim: 64,
    ffn: 768,
    contextLength: 4096,
    ropeTheta: 500000,
    ropeScaling: LLAMA3_ROPE_SCALING,
    tiedEmbeddings: true,
    rmsNormEps: 1e-5,
  },
  "tiny-alt": {
    name: "tiny-alt",
    vocabSize: LLAMA3_VOCAB,
    hidden: 512,
    layers: 3,
    heads: 8,
    kvHeads: 8,
    headDim: 64,
    ffn: 1024,
    contextLength: 2048,
    ropeTheta: 10000,
    ropeScaling: null,
    tiedEmbeddings: false,
    rmsNormEps: 1e-5,
  },
  "1b": {
    name: "1b",
    vocabSize: LLAMA3_VOCAB,
    hidden: 2048,
    layers: 16,
    heads: 32,
    kvHeads: 8,
    headDim: 64,
    ffn: 8192,
    contextLength: 131072,
    ropeTheta: 500000,
    ropeScaling: LLAMA3_ROPE_SCALING,
    tiedEmbeddings: true,
    rmsNormEps: 1e-5,
  },
  "3b": {
    name: "3b",
    vocabSize: LLAMA3_VOCAB,
    hidden: 3072,
    layers: 28,
    heads: 24,
    kvHeads: 8,
    headDim: 128,
    ffn: 8192,
    contextLength: 131072,
    ropeTheta: 500000,
    ropeScaling: LLAMA3_ROPE_SCALING,
    tiedEmbeddings: true,
    rmsNormEps: 1e-5,
  },
};
