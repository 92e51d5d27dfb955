/**
 * The whole native surface of native/build/Release/gearbox.node, typed in one place.
 * Only native.ts loads the addon; everything else uses the Engine interface (engine.ts).
 */
import type { WeightPrefetchState } from "./engine.js";

export interface NativeSamplingParams {
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  repetitionPenalty?: number;
  /** [token, bias] pairs. */
  logitBias?: Array<[number, number]>;
  seed?: number;
  topLogprobs?: number;
  logprobs?: boolean;
}

/** The sizes are required: their defaults live in the config schema (config-schema.ts) only. */
export interface NativeLoadOptions {
  threads?: number;
  /** Tokens per sequence; the engine caps it by the model's trained context. */
  contextLength: number;
  kvCacheMiB: number;
  blockSize?: number;
  /** Token ids the sampler may pick, [0, sampleVocab) (the tokenizer's vocabulary); default every embedding row. */
  sampleVocab?: number;
  /** Force a kernel set: "portable" | "avx2" | "avx2-vnni" | "avx512" | "neon" | "neon-dotprod" (one this CPU runs). */
  isa?: string;
  gears: {
    prefill: number[];
    decodeBatch: number[];
    warm?: "all" | "none";
    cacheDir?: string;
    autotune?: boolean;
    padded?: boolean;
    maxResidentBytes?: number;
  };
}

export interface NativeModelInfo {
  path: string;
  architecture: string;
  name: string;
  vocabSize: number;
  contextLength: number;
  trainedContextLength: number;
  embeddingLength: number;
  blockCount: number;
  feedForwardLength: number;
  headCount: number;
  headCountKv: number;
  headDim: number;
  ropeTheta: number;
  rmsEps: number;
  tiedOutput: boolean;
  parameterCount: number;
  fileBytes: number;
  weightBytes: number;
  tensorTypes: Record<string, number>;
  device: NativeDeviceInfo;
}

export interface NativeDeviceInfo {
  backend: string;
  isa: string;
  threads: number;
}

export interface NativeStepItem {
  seq: number;
  tokens: readonly number[] | Int32Array;
  sample?: boolean;
  returnLogits?: boolean;
  /** Allowed next tokens, ceil(vocabSize / 32) words. */
  mask?: Int32Array | Uint32Array;
}

export interface NativeStepResult {
  seq: number;
  token: number;
  logprob?: number;
  topLogprobs?: Array<{ token: number; logprob: number }>;
  logits?: Float32Array;
}

export interface NativeKvStats {
  blockSize: number;
  blocksTotal: number;
  blocksUsed: number;
  blocksCached: number;
  sequences: number;
  prefixHitTokens: number;
}

export interface NativeGearStat {
  phase: "prefill" | "decode";
  bucket: number;
  state: "ready" | "building" | "evicted" | "cold";
  hits: number;
  misses: number;
  compileMs: number;
  autotuneMs: number;
  warmMs: number;
  evictions: number;
  residentBytes: number;
  realTokens: number;
  paddedTokens: number;
}

export interface NativeGearReport {
  gears: NativeGearStat[];
  fallbacks: number;
  observed: { prefill: Record<string, number>; decode: Record<string, number> };
  cacheStatus: string;
  warmupMs: number;
}

export interface NativeProfile {
  enabled: boolean;
  passes: number;
  stageMs: Record<string, number>;
  weightPrefetch?: WeightPrefetchState;
}

export interface NativeModel {
  info(): NativeModelInfo;
  createSequence(
    params: NativeSamplingParams,
    promptTokens?: readonly number[] | Int32Array,
  ): Promise<{ seq: number; cachedTokens: number }>;
  forkSequence(seq: number, params: NativeSamplingParams): Promise<number>;
  freeSequence(seq: number): Promise<void>;
  /** With `lateMasks`, the step waits before sampling for supplyMasks() (one call per such step, in order). */
  step(items: readonly NativeStepItem[], options?: { lateMasks?: boolean }): Promise<NativeStepResult[]>;
  /** The masks of the oldest step started with lateMasks, one per item (null: none); null abandons that step. */
  supplyMasks(masks: ReadonlyArray<Int32Array | Uint32Array | null | undefined> | null): void;
  /** null once closed. */
  kvStats(): NativeKvStats | null;
  /** KV blocks a request of `n` choices of promptTokens + maxNewTokens may hold at most. */
  kvReservation(promptTokens: number, maxNewTokens: number, n: number): number;
  gearReport(): NativeGearReport | null;
  profile(): NativeProfile | null;
  close(): Promise<void>;
}

/** The operands of the matmul hooks: N x K weights of `type` and M rows of x. */
type MatmulOperands = [type: string, weights: Uint8Array, N: number, K: number, x: Float32Array, M: number];
/** ... and the kernel set and tile shape that compute it. */
type KernelMatmulOperands = [...MatmulOperands, set: string, mr: number, nc: number];

/** Kernel test hooks (tests compare every kernel set against the plain reference). */
export interface NativeTesting {
  kernelSets(): string[];
  /** The tiles a kernel set offers autotune for a weight type at M activation rows, default first. */
  tileVariants(set: string, type: string, M: number): Array<[mr: number, nc: number]>;
  refMatmul(...args: MatmulOperands): Float32Array;
  /** One matmul through a kernel set's packing and tiles; columns outside [n0, n1) stay NaN. */
  kernelMatmul(...args: [...KernelMatmulOperands, n0?: number, n1?: number]): Float32Array;
  /**
   * The matmul spread over a pool of `threads` as the forward pass spreads it (owned column ranges,
   * stealing at the end), thread 0 starting `delayMs` late; y starts as NaN, `stolen` counts the
   * 16-row units computed by a thread other than their range's owner.
   */
  jobMatmul(...args: [...KernelMatmulOperands, threads: number, delayMs: number]): {
    y: Float32Array;
    stolen: number;
  };
  kernelGetRow(
    type: string,
    weights: Uint8Array,
    N: number,
    K: number,
    row: number,
    set: string,
  ): Float32Array;
  refDequantize(type: string, weights: Uint8Array, n: number): Float32Array;
  /** softmax(scale * q.K^T).V over n keys given row by row ((n, hd) halves), paged as the cache is. */
  kernelAttention(
    set: string,
    q: Float32Array,
    K: Uint16Array,
    V: Uint16Array,
    n: number,
    hd: number,
    scale: number,
  ): Float32Array;
  /** The set's SwiGLU: silu(g) * u, elementwise. */
  kernelSiluMul(set: string, g: Float32Array, u: Float32Array): Float32Array;
  kernelQuantizeQ8(
    set: string,
    x: Float32Array,
    K: number,
  ): { qs: Int8Array; d: Float32Array; sums: Int32Array };
  /** q8_K activation blocks (K a multiple of 256) for x.length / K rows, field by field. */
  kernelQuantizeQ8K(
    set: string,
    x: Float32Array,
    K: number,
  ): { d: Float32Array; qs: Int8Array; bsums: Int16Array };
  /**
   * Read bandwidth in GB/s over `megabytes` with `threads` threads: `passes` passes, each a sweep of
   * plain loads and of loads with a software prefetch 4 or 8 KiB ahead (again with 32-byte loads on
   * x86 CPUs with AVX2), rated by its fastest.
   * `best` is the fastest single sweep (a shared host's best moment), `median` the median pass (its
   * typical rate, which a decode of several seconds sees).
   */
  memoryBandwidth(megabytes: number, threads: number, passes?: number): { best: number; median: number };
  /**
   * The CPU backend's KV storage built alone with blocks 0 .. commitBlocks - 1 committed (as a model
   * load does): how many 4 KiB pages of those blocks, and of each layer's never-written last block,
   * are resident (mincore), and whether the storage starts on a 2 MiB boundary.
   */
  kvStorageResidency(
    layers: number,
    kvHeads: number,
    headDim: number,
    blockSize: number,
    nBlocks: number,
    commitBlocks: number,
  ): {
    committed: number;
    committedResident: number;
    tail: number;
    tailResident: number;
    hugeAligned: boolean;
  };
  /**
   * One of the CPU backend's huge-page mappings (weights, gear arenas, KV cache) of `bytes`: whether
   * it starts on a 2 MiB boundary and its usable size (bytes rounded up to 2 MiB).
   */
  hugeMap(bytes: number, lazy?: boolean): { aligned: boolean; size: number };
  /**
   * The engine's sampler drawing `draws` times from one logit row (a fresh copy each draw; one
   * sampler, so penalties see earlier draws): how often each token came out, and the time taken.
   */
  sampleDraws(
    logits: Float32Array,
    params: NativeSamplingParams,
    draws: number,
    mask?: Uint32Array,
  ): { counts: Int32Array; ms: number };
  /**
   * The CPU backend's choice of software prefetch for one-token passes, run over onMs.length
   * passes where pass i takes onMs[i] ms when it prefetches and offMs[i] when not. ways[i] is 1
   * where pass i prefetched; `on` the way preferred at the end.
   */
  weightPrefetchChooser(
    mode: "auto" | "on" | "off",
    onMs: Float64Array,
    offMs: Float64Array,
  ): { ways: Uint8Array; on: boolean; switches: number; trials: number };
}

export interface NativeAddon {
  loadModel(
    path: string,
    options?: NativeLoadOptions,
    onProgress?: (fraction: number, label: string) => void,
  ): Promise<NativeModel>;
  /** The kernel set this CPU dispatches to. */
  isa(): string;
  testing: NativeTesting;
}
