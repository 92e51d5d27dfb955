/**
 * Loading one configured model: its tokenizer and chat template from the GGUF header, the engine
 * model (weights, KV cache, gears compiled and warmed), and a scheduler over it.
 */

import { readGguf } from "@gearbox/gguf/reader";
import { ChatTemplate } from "../chat/chat-template.js";
import { PlainContentEncoder } from "../chat/plain-content.js";
import type { Config } from "../config/load-config.js";
import type { Engine } from "../engine/engine.js";
import { GrammarCompiler } from "../grammar/grammar-compiler.js";
import type { CoreArbiter } from "../scheduler/core-arbiter.js";
import { Scheduler } from "../scheduler/scheduler.js";
import type { SchedulerMetrics } from "../scheduler/scheduler-metrics.js";
import { Tokenizer } from "../tokenizer/tokenizer.js";
import type { ServedModel } from "./served-model.js";

export interface LoadModelDeps {
  engine: Engine;
  arbiter: CoreArbiter;
  metrics: SchedulerMetrics;
  /** Load and gear warm-up progress, 0..1. */
  onProgress?: (fraction: number, label: string) => void;
  onEngineError?: (error: unknown) => void;
}

export class ModelLoadError extends Error {
  constructor(id: string, path: string, cause: unknown) {
    super(`model '${id}' (${path}): ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "ModelLoadError";
  }
}

export async function loadServedModel(
  entry: Config["models"][number],
  config: Config,
  deps: LoadModelDeps,
): Promise<ServedModel> {
  try {
    const file = readGguf(entry.path);
    const tokenizer = Tokenizer.fromGguf(file);
    const chatTemplate = ChatTemplate.fromGguf(file.metadata);
    const engine = await deps.engine.loadModel(entry.path, {
      threads: config.engine.threads,
      // A cap: the engine settles the context length (at most the model's trained one) and reports it.
      contextLength: config.engine.contextLength,
      kvCacheMiB: config.engine.kvCacheMiB,
      // The tokenizer and the embedding must agree: padding rows are never sampled (they decode to
      // nothing), and a tokenizer with more tokens than rows is refused at load.
      sampleVocab: tokenizer.vocabSize,
      gears: {
        prefill: config.gears.prefill,
        decodeBatch: config.gears.decodeBatch,
        warm: config.gears.warm,
        ...(config.gears.cacheDir === "" ? {} : { cacheDir: config.gears.cacheDir }),
      },
      ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
    });
    const scheduler = new Scheduler({
      model: engine,
      isEndOfGeneration: (token) => tokenizer.isEog(token),
      maxQueue: config.limits.maxQueue,
      maxRunningSequences: Math.max(...config.gears.decodeBatch),
      stepTokens: config.limits.stepTokens,
      arbiter: deps.arbiter,
      metrics: deps.metrics,
      ...(deps.onEngineError ? { onEngineError: deps.onEngineError } : {}),
    });
    return {
      id: entry.id,
      aliases: entry.aliases,
      languages: entry.languages,
      created: Math.floor(Date.now() / 1000),
      engine,
      tokenizer,
      chatTemplate,
      promptEncoder: new PlainContentEncoder(tokenizer),
      scheduler,
      grammars: new GrammarCompiler({ tokenizer, vocabSize: engine.info.vocabSize }),
      contextLength: engine.info.contextLength,
    };
  } catch (error) {
    throw new ModelLoadError(entry.id, entry.path, error);
  }
}
