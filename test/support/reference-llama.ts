/**
 * An independent, deliberately plain Llama 3 forward pass in float64 over the dequantized weights
 * of a GGUF file (TypeScript dequantizers, not the engine's). No activation quantization, no f16
 * KV cache: it gives the "ideal" logits that both gearbox and llama.cpp approximate. Only for
 * small models (it holds every weight as float32 in memory).
 */
import { readFileSync } from "node:fs";
import { dequantize } from "@gearbox/gguf/quant/codec";
import { type GgufFile, readGguf } from "@gearbox/gguf/reader";

interface Tensor {
  dims: number[];
  data: Float32Array;
}

export class ReferenceLlama {
  private readonly t = new Map<string, Tensor>();
  readonly nEmbd: number;
  readonly nLayer: number;
  readonly nHead: number;
  readonly nKv: number;
  readonly headDim: number;
  readonly nVocab: number;
  readonly ropeTheta: number;
  readonly eps: number;

  constructor(path: string) {
    const file: GgufFile = readGguf(path);
    const bytes = readFileSync(path);
    for (const info of file.tensors) {
      const raw = new Uint8Array(bytes.buffer, bytes.byteOffset + info.fileOffset, info.byteSize);
      this.t.set(info.name, { dims: info.dims, data: dequantize(info.type, raw, info.elementCount) });
    }
    const md = file.metadata;
    const num = (k: string, d?: number) => {
      const v = md.get(k)?.value;
      if (typeof v === "number") return v;
      if (typeof v === "bigint") return Number(v);
      if (d === undefined) throw new Error(`missing ${k}`);
      return d;
    };
    this.nEmbd = num("llama.embedding_length");
    this.nLayer = num("llama.block_count");
    this.nHead = num("llama.attention.head_count");
    this.nKv = num("llama.attention.head_count_kv");
    this.headDim = num("llama.attention.key_length", this.nEmbd / this.nHead);
    this.ropeTheta = num("llama.rope.freq_base", 10000);
    this.eps = num("llama.attention.layer_norm_rms_epsilon", 1e-5);
    this.nVocab = (this.get("token_embd.weight").dims[1] as number) ?? 0;
  }

  private get(name: string): Tensor {
    const t = this.t.get(name);
    if (!t) throw new Error(`tensor ${name} missing`);
    return t;
  }

  /** y (rows x N) = x (rows x K) . W^T for W of dims [K, N]. */
  private matmul(name: string, x: Float64Array[]): Float64Array[] {
    const w = this.get(name);
    const K = w.dims[0] as number;
    const N = w.dims[1] as number;
    return x.map((row) => {
      const y = new Float64Array(N);
      for (let n = 0; n < N; n++) {
        let s = 0;
        const off = n * K;
        for (let k = 0; k < K; k++) s += (w.data[off + k] as number) * (row[k] as number);
        y[n] = s;
      }
      return y;
    });
  }

  private norm(x: Float64Array, weight: string): Float64Array {
    const w = this.get(weight).data;
    let ss = 0;
    for (const v of x) ss += v * v;
    const scale = 1 / Math.sqrt(ss / x.length + this.eps);
    return x.map((v, i) => v * scale * (w[i] as number));
  }

  private rope(v: Float64Array, heads: number, pos: number): void {
    const hd = this.headDim;
    const ff = this.t.get("rope_freqs.weight")?.data;
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < hd / 2; i++) {
        const theta = (pos * this.ropeTheta ** ((-2 * i) / hd)) / (ff ? (ff[i] as number) : 1);
        const c = Math.cos(theta);
        const s = Math.sin(theta);
        const a = v[h * hd + 2 * i] as number;
        const b = v[h * hd + 2 * i + 1] as number;
        v[h * hd + 2 * i] = a * c - b * s;
        v[h * hd + 2 * i + 1] = a * s + b * c;
      }
  }

  /** Logits after the last of `tokens` (a whole sequence from position 0). */
  logits(tokens: readonly number[]): Float64Array {
    const D = this.nEmbd;
    const hd = this.headDim;
    const emb = this.get("token_embd.weight").data;
    let x = tokens.map((t) => Float64Array.from(emb.subarray(t * D, (t + 1) * D)));
    for (let l = 0; l < this.nLayer; l++) {
      const p = `blk.${l}.`;
      const xn = x.map((r) => this.norm(r, `${p}attn_norm.weight`));
      const q = this.matmul(`${p}attn_q.weight`, xn);
      const k = this.matmul(`${p}attn_k.weight`, xn);
      const v = this.matmul(`${p}attn_v.weight`, xn);
      for (const [i, r] of q.entries()) this.rope(r, this.nHead, i);
      for (const [i, r] of k.entries()) this.rope(r, this.nKv, i);
      const group = this.nHead / this.nKv;
      const attn = q.map((qr, i) => {
        const out = new Float64Array(this.nHead * hd);
        for (let h = 0; h < this.nHead; h++) {
          const kvh = Math.floor(h / group);
          const scores = new Float64Array(i + 1);
          let mx = -Infinity;
          for (let j = 0; j <= i; j++) {
            let s = 0;
            for (let d = 0; d < hd; d++)
              s += (qr[h * hd + d] as number) * ((k[j] as Float64Array)[kvh * hd + d] as number);
            scores[j] = s / Math.sqrt(hd);
            mx = Math.max(mx, scores[j] as number);
          }
          let sum = 0;
          for (let j = 0; j <= i; j++) {
            scores[j] = Math.exp((scores[j] as number) - mx);
            sum += scores[j] as number;
          }
          for (let j = 0; j <= i; j++)
            for (let d = 0; d < hd; d++)
              out[h * hd + d] =
                (out[h * hd + d] as number) +
                ((scores[j] as number) / sum) * ((v[j] as Float64Array)[kvh * hd + d] as number);
        }
        return out;
      });
      const o = this.matmul(`${p}attn_output.weight`, attn);
      x = x.map((r, i) => r.map((val, j) => val + ((o[i] as Float64Array)[j] as number)));
      const fn = x.map((r) => this.norm(r, `${p}ffn_norm.weight`));
      const g = this.matmul(`${p}ffn_gate.weight`, fn);
      const u = this.matmul(`${p}ffn_up.weight`, fn);
      const hmid = g.map((gr, i) =>
        gr.map((gv, j) => (gv / (1 + Math.exp(-gv))) * ((u[i] as Float64Array)[j] as number)),
      );
      const dn = this.matmul(`${p}ffn_down.weight`, hmid);
      x = x.map((r, i) => r.map((val, j) => val + ((dn[i] as Float64Array)[j] as number)));
    }
    const last = this.norm(x[x.length - 1] as Float64Array, "output_norm.weight");
    const out = this.t.has("output.weight") ? "output.weight" : "token_embd.weight";
    return this.matmul(out, [last])[0] as Float64Array;
  }
}
