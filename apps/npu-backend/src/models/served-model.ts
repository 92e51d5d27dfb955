/** A model as the server sees it: the engine model with its tokenizer, chat template and scheduler. */
import type { ChatTemplate } from "../chat/chat-template.js";
import type { PlainContentEncoder } from "../chat/plain-content.js";
import type { EngineModel } from "../engine/engine.js";
import type { GrammarCompiler } from "../grammar/grammar-compiler.js";
import type { Scheduler } from "../scheduler/scheduler.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";

export interface ServedModel {
  readonly id: string;
  readonly aliases: readonly string[];
  /** ISO 639 codes the "auto" router picks this model for. */
  readonly languages: readonly string[];
  /** Unix seconds when it was loaded (`created` in /v1/models). */
  readonly created: number;
  readonly engine: EngineModel;
  readonly tokenizer: Tokenizer;
  readonly chatTemplate: ChatTemplate;
  /** Tokenizes rendered chat prompts so that message content never becomes special tokens. */
  readonly promptEncoder: PlainContentEncoder;
  readonly scheduler: Scheduler;
  /** Structured output and tool-call grammars over this model's vocabulary. */
  readonly grammars: GrammarCompiler;
  /** Most tokens one sequence may hold (prompt + completion). */
  readonly contextLength: number;
}
