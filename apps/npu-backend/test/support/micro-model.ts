/**
 * The micro model: a one-layer Llama GGUF (64 wide, 320 tokens, no tokenizer) small enough to
 * write and load thousands of times, for tests of how the loader treats malformed files.
 */
import { ggmlTypeByName } from "@gearbox/gguf/ggml-types";
import { quantize } from "@gearbox/gguf/quant/codec";
import { type GgufMetadata, gv } from "@gearbox/gguf/values";
import type { GgufTensorWrite } from "@gearbox/gguf/writer";

export const D = 64;
const FF = 128;
export const VOCAB = 320;
const HEADS = 2;
const KV = 1;

export function baseMetadata(overrides: Record<string, ReturnType<typeof gv.u32>> = {}): GgufMetadata {
  const m: GgufMetadata = new Map([
    ["general.architecture", gv.string("llama")],
    ["general.alignment", gv.u32(32)],
    ["llama.context_length", gv.u32(256)],
    ["llama.embedding_length", gv.u32(D)],
    ["llama.block_count", gv.u32(1)],
    ["llama.feed_forward_length", gv.u32(FF)],
    ["llama.attention.head_count", gv.u32(HEADS)],
    ["llama.attention.head_count_kv", gv.u32(KV)],
    ["llama.rope.freq_base", gv.f32(10000)],
    ["llama.attention.layer_norm_rms_epsilon", gv.f32(1e-5)],
  ]);
  for (const [k, v] of Object.entries(overrides)) m.set(k, v);
  return m;
}

function tensor(name: string, dims: number[], type = "Q8_0"): GgufTensorWrite {
  const info = ggmlTypeByName(dims.length === 1 ? "F32" : type);
  if (!info) throw new Error(type);
  const count = dims.reduce((a, b) => a * b, 1);
  const values = Float32Array.from({ length: count }, (_, i) =>
    dims.length === 1 ? 1 : Math.sin(i * 0.37) * 0.2,
  );
  return { name, dims, type: info, data: () => [quantize(info, values)] };
}

export function microTensors(type = "Q8_0"): GgufTensorWrite[] {
  const hd = D / HEADS;
  return [
    tensor("token_embd.weight", [D, VOCAB], type),
    tensor("blk.0.attn_norm.weight", [D]),
    tensor("blk.0.attn_q.weight", [D, D], type),
    tensor("blk.0.attn_k.weight", [D, KV * hd], type),
    tensor("blk.0.attn_v.weight", [D, KV * hd], type),
    tensor("blk.0.attn_output.weight", [D, D], type),
    tensor("blk.0.ffn_norm.weight", [D]),
    tensor("blk.0.ffn_gate.weight", [D, FF], type),
    tensor("blk.0.ffn_up.weight", [D, FF], type),
    tensor("blk.0.ffn_down.weight", [FF, D], type),
    tensor("output_norm.weight", [D]),
  ];
}
