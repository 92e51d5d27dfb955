/** The Engine implementation on the C++ addon. */
import { engineDefaults, gearDefaults } from "../config/config-schema.js";
import type {
  CreateSequenceResult,
  DeviceInfo,
  Engine,
  EngineModel,
  ForwardProfile,
  GearReport,
  KvStats,
  LateMasks,
  LoadOptions,
  ModelInfo,
  SamplingParams,
  StepItem,
  StepResult,
} from "./engine.js";
import { nativeAddon } from "./native.js";
import type { NativeModel, NativeSamplingParams } from "./native-types.js";

function toNativeSampling(p: SamplingParams): NativeSamplingParams {
  return {
    temperature: p.temperature,
    topK: p.topK,
    topP: p.topP,
    minP: p.minP,
    presencePenalty: p.presencePenalty,
    frequencyPenalty: p.frequencyPenalty,
    repetitionPenalty: p.repetitionPenalty,
    logitBias: [...p.logitBias.entries()],
    seed: p.seed,
    topLogprobs: p.topLogprobs,
    logprobs: p.logprobs,
  };
}

class NativeEngineModel implements EngineModel {
  readonly info: ModelInfo;
  readonly device: DeviceInfo;

  constructor(private readonly model: NativeModel) {
    const i = model.info();
    this.info = {
      path: i.path,
      architecture: i.architecture,
      vocabSize: i.vocabSize,
      contextLength: i.contextLength,
      embeddingLength: i.embeddingLength,
      blockCount: i.blockCount,
      feedForwardLength: i.feedForwardLength,
      headCount: i.headCount,
      headCountKv: i.headCountKv,
      headDim: i.headDim,
      ropeTheta: i.ropeTheta,
      rmsEps: i.rmsEps,
      tiedOutput: i.tiedOutput,
      tensorTypes: i.tensorTypes,
      parameterCount: i.parameterCount,
      fileBytes: i.fileBytes,
      weightBytes: i.weightBytes,
    };
    this.device = { backend: i.device.backend, isa: i.device.isa, threads: i.device.threads };
  }

  createSequence(params: SamplingParams, promptTokens?: readonly number[]): Promise<CreateSequenceResult> {
    return this.model.createSequence(toNativeSampling(params), promptTokens);
  }

  forkSequence(seq: number, params: SamplingParams): Promise<number> {
    return this.model.forkSequence(seq, toNativeSampling(params));
  }

  freeSequence(seq: number): Promise<void> {
    return this.model.freeSequence(seq);
  }

  async step(items: readonly StepItem[], lateMasks?: LateMasks): Promise<StepResult[]> {
    const pending = this.model.step(
      items.map((i) => ({
        seq: i.seq,
        tokens: i.tokens,
        sample: i.sample,
        returnLogits: i.returnLogits ?? false,
        ...(i.mask ? { mask: i.mask } : {}),
      })),
      lateMasks ? { lateMasks: true } : undefined,
    );
    if (lateMasks) {
      // The engine thread runs the forward pass meanwhile and waits for these before sampling:
      // they must be supplied (or the step abandoned) whatever happens.
      let masks: ReadonlyArray<Int32Array | undefined> | null = null;
      let failure: unknown;
      try {
        masks = await lateMasks();
      } catch (error) {
        failure = error;
      }
      try {
        this.model.supplyMasks(masks); // null abandons the step; a bad mask throws and abandons it too
      } catch (error) {
        failure ??= error;
      }
      if (failure !== undefined) {
        await pending.catch(() => undefined);
        throw failure;
      }
    }
    const results = await pending;
    return results.map((r) => {
      const out: StepResult = { seq: r.seq, token: r.token };
      if (r.logprob !== undefined) out.logprob = r.logprob;
      if (r.topLogprobs) out.topLogprobs = r.topLogprobs;
      if (r.logits) out.logits = r.logits;
      return out;
    });
  }

  kvStats(): KvStats {
    const s = this.model.kvStats();
    if (!s) return { blockSize: 0, blocksTotal: 0, blocksUsed: 0, blocksCached: 0, sequences: 0 };
    return {
      blockSize: s.blockSize,
      blocksTotal: s.blocksTotal,
      blocksUsed: s.blocksUsed,
      blocksCached: s.blocksCached,
      sequences: s.sequences,
    };
  }

  kvReservation(promptTokens: number, maxNewTokens: number, n: number): number {
    return this.model.kvReservation(promptTokens, maxNewTokens, n);
  }

  gearReport(): GearReport {
    const r = this.model.gearReport();
    if (!r)
      return {
        gears: [],
        fallbacks: 0,
        observed: { prefill: {}, decode: {} },
        cacheStatus: "closed",
        warmupMs: 0,
      };
    const toNumbers = (h: Record<string, number>) =>
      Object.fromEntries(Object.entries(h).map(([k, v]) => [Number(k), v])) as Record<number, number>;
    return {
      gears: r.gears.map((g) => ({
        phase: g.phase,
        bucket: g.bucket,
        state: g.state,
        hits: g.hits,
        misses: g.misses,
        compileMs: g.compileMs,
        autotuneMs: g.autotuneMs,
        warmMs: g.warmMs,
        evictions: g.evictions,
        residentBytes: g.residentBytes,
        realTokens: g.realTokens,
        paddedTokens: g.paddedTokens,
      })),
      fallbacks: r.fallbacks,
      observed: { prefill: toNumbers(r.observed.prefill), decode: toNumbers(r.observed.decode) },
      cacheStatus: r.cacheStatus,
      warmupMs: r.warmupMs,
    };
  }

  profile(): ForwardProfile {
    return this.model.profile() ?? { enabled: false, passes: 0, stageMs: {} };
  }

  close(): Promise<void> {
    return this.model.close();
  }
}

/** The engine backed by the C++ addon. */
export const nativeEngine: Engine = {
  async loadModel(path: string, options: LoadOptions = {}): Promise<EngineModel> {
    const gears = options.gears ?? {
      prefill: gearDefaults.prefill,
      decodeBatch: gearDefaults.decodeBatch,
      warm: gearDefaults.warm,
    };
    const model = await nativeAddon().loadModel(
      path,
      {
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
        contextLength: options.contextLength ?? engineDefaults.contextLength,
        kvCacheMiB: options.kvCacheMiB ?? engineDefaults.kvCacheMiB,
        ...(options.sampleVocab !== undefined ? { sampleVocab: options.sampleVocab } : {}),
        gears: {
          prefill: gears.prefill,
          decodeBatch: gears.decodeBatch,
          warm: gears.warm,
          ...(gears.cacheDir !== undefined ? { cacheDir: gears.cacheDir } : {}),
          ...(gears.maxResidentBytes !== undefined ? { maxResidentBytes: gears.maxResidentBytes } : {}),
          ...(gears.padded !== undefined ? { padded: gears.padded } : {}),
        },
      },
      options.onProgress,
    );
    return new NativeEngineModel(model);
  },
};
