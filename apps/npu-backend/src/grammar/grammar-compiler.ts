/**
 * One model's grammars: XGrammar's tokenizer info built once from the model's vocabulary (on first
 * use: ~0.2 s for Llama 3's 128,256 tokens), compiled grammars cached in an LRU keyed by the spec's
 * hash, and a fresh matcher per constrained choice. JSON is compiled compact (no free whitespace,
 * `", "` and `": "` separators): a model — a random-weight one above all — cannot wander off into
 * endless whitespace, and the text is what `json.dumps` writes.
 *
 * XGrammar compiles synchronously inside the WASM module, so a compile cannot be interrupted: the
 * time limit is checked when it returns, and a grammar over the limit is refused (and remembered as
 * refused, so a client retrying it does not stall the process again).
 */
import type { Tokenizer } from "../tokenizer/tokenizer.js";
import { GrammarConstraint } from "./grammar-constraint.js";
import {
  type GrammarSpec,
  grammarKey,
  TOOL_CALL_SEPARATOR,
  TOOL_CALL_TRIGGER,
  toolCallBegin,
} from "./grammar-spec.js";
import {
  type LoadedXGrammar,
  loadXGrammar,
  type XgCompiledGrammar,
  type XgGrammarCompiler,
} from "./xgrammar.js";

/** A grammar that cannot be compiled (bad schema, unsupported keyword, over the time limit). */
export class GrammarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GrammarError";
  }
}

export interface GrammarCompilerOptions {
  tokenizer: Tokenizer;
  /** Rows of the model's logits (the mask's length in bits). */
  vocabSize: number;
  /** Compiled grammars kept (default 64). */
  cacheSize?: number;
  /** Longest accepted compile (default 10 s). */
  compileLimitMs?: number;
}

const COMPACT: [string, string] = [", ", ": "];

/** Cumulative counters (mirrored to /metrics). */
export interface GrammarStats {
  hits: number;
  misses: number;
  cached: number;
  /** Wall time of compiles (successful or not). */
  compileSeconds: number;
  /** Next-token masks computed, and their wall time. */
  masks: number;
  maskSeconds: number;
}

export class GrammarCompiler {
  private runtime: Promise<{ xg: LoadedXGrammar; compiler: XgGrammarCompiler }> | undefined;
  private readonly cache = new Map<string, Promise<XgCompiledGrammar>>();
  private readonly cacheSize: number;
  private readonly compileLimitMs: number;
  readonly stats: GrammarStats = {
    hits: 0,
    misses: 0,
    cached: 0,
    compileSeconds: 0,
    masks: 0,
    maskSeconds: 0,
  };

  constructor(private readonly options: GrammarCompilerOptions) {
    this.cacheSize = options.cacheSize ?? 64;
    this.compileLimitMs = options.compileLimitMs ?? 10_000;
  }

  /** A matcher for one choice; throws GrammarError when the spec cannot be compiled. */
  async constraint(spec: GrammarSpec): Promise<GrammarConstraint> {
    const { xg } = await this.start();
    const compiled = await this.compiled(spec);
    const matcher = await xg.xg.GrammarMatcher.createGrammarMatcher(compiled);
    return new GrammarConstraint(matcher, this.stats);
  }

  /** Builds the tokenizer info now (it is otherwise built by the first constrained request). */
  async warm(): Promise<void> {
    await this.start();
  }

  private start(): Promise<{ xg: LoadedXGrammar; compiler: XgGrammarCompiler }> {
    this.runtime ??= (async () => {
      const xg = loadXGrammar();
      const { tokenizer, vocabSize } = this.options;
      // Control tokens (<|eot_id|>, <|python_tag|>, reserved ones) get no text: XGrammar then never
      // allows them as the characters of their names (they decode to nothing for the client, so the
      // grammar and the text would part ways); end-of-generation ones are still allowed, as stop tokens.
      const vocab: string[] = new Array(tokenizer.vocabSize);
      for (let id = 0; id < tokenizer.vocabSize; id++)
        vocab[id] = tokenizer.isControl(id) ? "" : tokenizer.tokenText(id);
      const info = await xg.xg.TokenizerInfo.createTokenizerInfo(vocab, "byte_level", false, vocabSize, [
        ...tokenizer.eogIds,
      ]);
      const compiler = await xg.xg.GrammarCompiler.createGrammarCompiler(info, false);
      return { xg, compiler };
    })();
    return this.runtime;
  }

  private compiled(spec: GrammarSpec): Promise<XgCompiledGrammar> {
    const key = grammarKey(spec);
    const hit = this.cache.get(key);
    if (hit) {
      this.stats.hits++;
      this.cache.delete(key); // re-insert: most recently used last
      this.cache.set(key, hit);
      return hit;
    }
    this.stats.misses++;
    const compiling = this.compile(spec);
    this.cache.set(key, compiling);
    while (this.cache.size > this.cacheSize) {
      const [oldest, entry] = this.cache.entries().next().value as [string, Promise<XgCompiledGrammar>];
      this.cache.delete(oldest);
      // Matchers hold their own reference to the grammar: disposing the handle is safe.
      entry.then((g) => g.dispose()).catch(() => undefined);
    }
    this.stats.cached = this.cache.size;
    return compiling;
  }

  private async compile(spec: GrammarSpec): Promise<XgCompiledGrammar> {
    const { xg, compiler } = await this.start();
    const started = performance.now();
    let compiled: XgCompiledGrammar;
    try {
      compiled = await xg.explain(async () => {
        switch (spec.kind) {
          case "json_object":
            return compiler.compileJSONSchema('{"type": "object"}', false, -1, COMPACT, false);
          case "json_schema":
            return compiler.compileJSONSchema(JSON.stringify(spec.schema), false, -1, COMPACT, spec.strict);
          case "tool_calls":
            return compiler.compileStructuralTag(await this.toolCallTag(xg, spec));
        }
      });
    } catch (error) {
      this.stats.compileSeconds += (performance.now() - started) / 1000;
      throw new GrammarError(error instanceof Error ? error.message : String(error));
    }
    const ms = performance.now() - started;
    this.stats.compileSeconds += ms / 1000;
    if (ms > this.compileLimitMs) {
      compiled.dispose();
      throw new GrammarError(
        `its grammar took ${Math.round(ms)} ms to compile, over this server's limit of ${this.compileLimitMs} ms; simplify the schema`,
      );
    }
    return compiled;
  }

  /** Llama 3 tool calls as an XGrammar structural tag: each call a tag whose content is the parameters' JSON. */
  private async toolCallTag(
    xg: LoadedXGrammar,
    spec: Extract<GrammarSpec, { kind: "tool_calls" }>,
  ): Promise<Record<string, unknown>> {
    const tags = [];
    for (const tool of spec.tools) {
      const ebnf = await xg.xg.Testings._jsonSchemaToEBNF(
        JSON.stringify(tool.parameters),
        false,
        -1,
        COMPACT,
        tool.strict,
      );
      tags.push({
        type: "tag",
        begin: toolCallBegin(tool.name),
        content: { type: "grammar", grammar: ebnf },
        end: "}",
      });
    }
    let format: Record<string, unknown>;
    if (spec.mode === "auto") {
      format = {
        type: "triggered_tags",
        triggers: [TOOL_CALL_TRIGGER],
        tags,
        stop_after_first: !spec.parallel,
      };
    } else if (spec.parallel) {
      format = { type: "tags_with_separator", tags, separator: TOOL_CALL_SEPARATOR, at_least_one: true };
    } else {
      format = { type: "or", elements: tags };
    }
    return { type: "structural_tag", format };
  }
}
