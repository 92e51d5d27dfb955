/**
 * GGUF metadata of a synthetic Llama 3 model, with the keys, types and order llama.cpp's
 * convert_hf_to_gguf.py writes for Llama 3.2, plus the real tokenizer and chat template.
 */
import { type GgufMetadata, gv } from "../values.js";
import { LLAMA_FTYPE, type ModelFileType } from "./file-types.js";
import { LLAMA3_CHAT_TEMPLATE } from "./llama3-template.js";
import { LLAMA3_BOS_ID, LLAMA3_EOS_ID, type Llama3Vocab } from "./llama3-vocab.js";
import type { LlamaShape } from "./shapes.js";

export interface SyntheticModelIdentity {
  shape: LlamaShape;
  fileType: ModelFileType;
  seed: number;
  generatorVersion: number;
}

function syntheticModelName(shape: LlamaShape): string {
  return `gearbox synthetic Llama 3 ${shape.name} (random weights)`;
}

export function buildModelMetadata(id: SyntheticModelIdentity, vocab: Llama3Vocab): GgufMetadata {
  const { shape } = id;
  return new Map([
    ["general.architecture", gv.string("llama")],
    ["general.type", gv.string("model")],
    ["general.name", gv.string(syntheticModelName(shape))],
    [
      "general.description",
      gv.string(
        `Synthetic model made by gearbox make-model (shape ${shape.name}, seed ${id.seed}): the Llama 3 architecture and tokenizer with random weights. It is for testing; its output is meaningless.`,
      ),
    ],
    ["gearbox.synthetic.shape", gv.string(shape.name)],
    ["gearbox.synthetic.seed", gv.u64(BigInt(id.seed))],
    ["gearbox.synthetic.generator_version", gv.u32(id.generatorVersion)],
    ["llama.block_count", gv.u32(shape.layers)],
    ["llama.context_length", gv.u32(shape.contextLength)],
    ["llama.embedding_length", gv.u32(shape.hidden)],
    ["llama.feed_forward_length", gv.u32(shape.ffn)],
    ["llama.attention.head_count", gv.u32(shape.heads)],
    ["llama.attention.head_count_kv", gv.u32(shape.kvHeads)],
    ["llama.rope.freq_base", gv.f32(shape.ropeTheta)],
    ["llama.attention.layer_norm_rms_epsilon", gv.f32(shape.rmsNormEps)],
    ["llama.attention.key_length", gv.u32(shape.headDim)],
    ["llama.attention.value_length", gv.u32(shape.headDim)],
    ["general.file_type", gv.u32(LLAMA_FTYPE[id.fileType])],
    ["llama.vocab_size", gv.u32(shape.vocabSize)],
    ["llama.rope.dimension_count", gv.u32(shape.headDim)],
    ["tokenizer.ggml.model", gv.string("gpt2")],
    ["tokenizer.ggml.pre", gv.string("llama-bpe")],
    ["tokenizer.ggml.tokens", gv.strings(vocab.tokens)],
    ["tokenizer.ggml.token_type", gv.i32s(vocab.tokenTypes)],
    ["tokenizer.ggml.merges", gv.strings(vocab.merges)],
    ["tokenizer.ggml.bos_token_id", gv.u32(LLAMA3_BOS_ID)],
    ["tokenizer.ggml.eos_token_id", gv.u32(LLAMA3_EOS_ID)],
    ["tokenizer.ggml.add_bos_token", gv.bool(true)],
    ["tokenizer.chat_template", gv.string(LLAMA3_CHAT_TEMPLATE)],
    ["general.quantization_version", gv.u32(2)],
  ]);
}
