/**
 * The engine seam: everything above the C++ addon (scheduler, server, CLI) sees only these types.
 * The only implementation that touches the `.node` file is `native-engine.ts`.
 *
 * Model: the engine owns the paged KV cache and the per-sequence sampler state; the caller
 * (the scheduler) decides, step by step, which sequences advance by how many tokens.
 * Prefill chunks and single decode tokens of different sequences mix freely in one step.
 */

/** Sampling settings of one sequence; fixed when the sequence is created. */
export interface SamplingParams {
  /** 0 = greedy (argmax). */
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  topP: number;
  /** 0 = off. */
  minP: number;
  /** OpenAI semantics, applied to generated tokens only. 0 = off. */
  presencePenalty: number;
  frequencyPenalty: number;
  /** HF/vLLM semantics over prompt + generated tokens. 1 = off. */
  repetitionPenalty: number;
  /** token id -> bias added to the logit (OpenAI: -100..100; -100 bans the token). */
  logitBias: ReadonlyMap<number, number>;
  /** Per-sequence RNG seed: the same seed gives the same tokens whatever else is batched. */
  seed: number;
  /** Number of top alternatives returned with each sampled token (0..20); 0 = none. */
  topLogprobs: number;
  /** Return the sampled token's log-probability. */
  logprobs: boolean;
}

export const defaultSampling: SamplingParams = {
  temperature: 1,
  topK: 0,
  topP: 1,
  minP: 0,
  presencePenalty: 0,
  frequencyPenalty: 0,
  repetitionPenalty: 1,
  logitBias: new Map(),
  seed: 0,
  topLogprobs: 0,
  logprobs: false,
};

/** Hyper-parameters of a loaded model, as read from the GGUF file (device-neutral). */
export interface ModelInfo {
  path: string;
  architecture: string;
  vocabSize: number;
  contextLength: number;
  embeddingLength: number;
  blockCount: number;
  feedForwardLength: number;
  headCount: number;
  headCountKv: number;
  headDim: number;
  ropeTheta: number;
  rmsEps: number;
  tiedOutput: boolean;
  /** Count of tensors per ggml type name, e.g. { q8_0: 112, f32: 33 }. */
  tensorTypes: Record<string, number>;
  parameterCount: number;
  fileBytes: number;
  /** Bytes of weights resident after load (repacked layouts included). */
  weightBytes: number;
}

/** Where a loaded model runs (the engine's backend). */
export interface DeviceInfo {
  /** The backend, e.g. "cpu". */
  backend: string;
  /** The CPU feature set the kernels were dispatched to, e.g. "avx512-vnni". */
  isa: string;
  /** Host compute threads. */
  threads: number;
}

/** Options left out take the config schema's defaults (config-schema.ts: the one place they live). */
export interface LoadOptions {
  /** Compute threads; 0 = all cores. */
  threads?: number;
  /**
   * Maximum tokens per sequence (prompt + generated), capped by the model's trained context; the
   * engine settles it once and reports it as `info.contextLength`.
   */
  contextLength?: number;
  /** KV cache budget in MiB, shared by all sequences of this model. */
  kvCacheMiB?: number;
  /**
   * The tokenizer's vocabulary size: ids past it (an embedding padded beyond the tokenizer) are
   * never sampled, and a tokenizer larger than the embedding fails the load. Default: every row.
   */
  sampleVocab?: number;
  gears?: GearOptions;
  /** Called with load / warm-up progress (fraction 0..1 and a label). */
  onProgress?: (fraction: number, label: string) => void;
}

export interface GearOptions {
  /** Token buckets of prefill (or mixed) steps. */
  prefill: number[];
  /** Sequence-count buckets of decode steps. */
  decodeBatch: number[];
  /** Which gears to compile at load: all configured ones, or none (built on first use). */
  warm: "all" | "none";
  /** Where compiled plans and autotune results persist; undefined = no persistence. */
  cacheDir?: string;
  /** Bound of the plan LRU in bytes. */
  maxResidentBytes?: number;
  /**
   * Compute whole buckets, as a static-graph device must (Ascend gears, CUDA graphs): for comparing
   * against the default, which computes only the real rows. Counted in `paddedTokens`.
   */
  padded?: boolean;
}

/** One sequence's part of a step. */
export interface StepItem {
  seq: number;
  /** Tokens appended to the sequence in this step (a prefill chunk, or the last sampled token). */
  tokens: readonly number[];
  /** Sample the next token from the logits after the last of these tokens. */
  sample: boolean;
  /** Also return the full logits at the last position (tests, debugging). */
  returnLogits?: boolean;
  /**
   * Allowed next tokens (grammar-constrained decoding): bit `t % 32` of word `t / 32` set means
   * token t may be sampled; ceil(vocabSize / 32) words. Masked tokens get -inf before sampling.
   */
  mask?: Int32Array;
}

/**
 * Token masks computed while the step's forward pass runs: called right after the step is handed
 * to the engine, it returns one mask (or undefined) per step item; the engine waits for them only
 * when it is about to sample. A rejection fails the step.
 */
export type LateMasks = () => Promise<ReadonlyArray<Int32Array | undefined>>;

export interface TokenLogprob {
  token: number;
  logprob: number;
}

export interface StepResult {
  seq: number;
  /** The sampled token, or -1 when the item did not ask for a sample. */
  token: number;
  logprob?: number;
  topLogprobs?: TokenLogprob[];
  logits?: Float32Array;
}

export interface KvStats {
  blockSize: number;
  blocksTotal: number;
  blocksUsed: number;
  /** Blocks held by the prefix cache with no live sequence (reusable, evicted on demand). */
  blocksCached: number;
  sequences: number;
}

export interface GearStats {
  phase: "prefill" | "decode";
  /** Upper bound of tokens (prefill) or sequences (decode) of this gear. */
  bucket: number;
  /** cold: never built yet (warm "none"); building: queued or compiling in the background. */
  state: "ready" | "building" | "evicted" | "cold";
  hits: number;
  misses: number;
  compileMs: number;
  autotuneMs: number;
  /** Committing and touching the gear's arena pages at build. */
  warmMs: number;
  evictions: number;
  residentBytes: number;
  realTokens: number;
  paddedTokens: number;
}

export interface GearReport {
  gears: GearStats[];
  /** Steps that found no ready gear and ran on the generic plan. */
  fallbacks: number;
  /** Histogram of observed step sizes: size -> count, per phase. */
  observed: { prefill: Record<number, number>; decode: Record<number, number> };
  /** What happened to persisted plans at load, e.g. "warm: 12 tuned kernels" or "rebuilt: ...". */
  cacheStatus: string;
  /** Time spent compiling the configured gears at load. */
  warmupMs: number;
}

export interface CreateSequenceResult {
  seq: number;
  /** Leading prompt tokens whose KV blocks were found in the prefix cache: do not feed them. */
  cachedTokens: number;
}

/** A loaded model. Every call that computes is asynchronous; the event loop never waits on compute. */
export interface EngineModel {
  readonly info: ModelInfo;
  readonly device: DeviceInfo;
  /**
   * A new sequence. With `promptTokens`, the longest prefix of whole KV blocks already in the
   * prefix cache is attached (shared, copy-on-write) and reported as `cachedTokens`.
   */
  createSequence(params: SamplingParams, promptTokens?: readonly number[]): Promise<CreateSequenceResult>;
  /** A new sequence sharing all of `seq`'s KV blocks (for n > 1), with its own sampler state. */
  forkSequence(seq: number, params: SamplingParams): Promise<number>;
  /** Frees the sequence's KV blocks (shared ones are released when their last owner goes). */
  freeSequence(seq: number): Promise<void>;
  /**
   * Advances the given sequences by one forward pass. At most one step runs at a time per model.
   * With `lateMasks`, the items' masks are computed while the forward pass runs.
   */
  step(items: readonly StepItem[], lateMasks?: LateMasks): Promise<StepResult[]>;
  kvStats(): KvStats;
  /**
   * The KV blocks a request may hold at most: `n` choices of `promptTokens + maxNewTokens` tokens,
   * the prompt's full blocks counted once (forked choices share them). The engine owns this rule;
   * the scheduler admits a request only when that many blocks are unreserved, since the engine
   * fails a whole step when the cache runs out and nothing is preempted.
   */
  kvReservation(promptTokens: number, maxNewTokens: number, n: number): number;
  gearReport(): GearReport;
  /** Wall time per forward stage since load (collected only with GEARBOX_PROFILE=1 at load). */
  profile(): ForwardProfile;
  close(): Promise<void>;
}

export interface ForwardProfile {
  enabled: boolean;
  /** Forward passes run. */
  passes: number;
  /** Stage name (embed, norm, qkv, rope_kv, attention, attn_out, gate_up, swiglu, down, output) -> ms. */
  stageMs: Record<string, number>;
  /** CPU engine: how one-token passes stream their weights (reported with or without profiling). */
  weightPrefetch?: WeightPrefetchState;
}

/** How one-token passes stream their weights (CPU: software prefetch or not, chosen by timing). */
export interface WeightPrefetchState {
  /** GEARBOX_WEIGHT_PREFETCH: "auto" (timed), or forced "on" / "off". */
  mode: "auto" | "on" | "off";
  /** The way preferred now. */
  on: boolean;
  /** Changes of the preferred way after the opening comparison. */
  switches: number;
  /** Passes run the other way to compare. */
  trials: number;
}

export interface Engine {
  loadModel(path: string, options?: LoadOptions): Promise<EngineModel>;
}
