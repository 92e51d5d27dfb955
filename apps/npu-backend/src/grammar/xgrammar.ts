/**
 * XGrammar (@mlc-ai/web-xgrammar, the WASM build of the grammar engine vLLM and SGLang use), loaded
 * deliberately. Its lib/index.js is a UMD bundle inside a `"type": "module"` package: `import` finds
 * no exports and `require()` refuses it as ESM. So this module — the only one that touches the
 * package — reads the bundle and evaluates it as CommonJS with `new Function` (not node:vm, whose
 * code cannot run the bundle's own `await import("module")` on Node 20), with a `console` of its
 * own so that the C++ side's "[FATAL] …" lines (printed just before a failing call throws) become
 * the error message of that call instead of noise on stderr.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";

export interface XgTokenizerInfo {
  getVocabSize(): number;
  dispose(): void;
}
export interface XgCompiledGrammar {
  dispose(): void;
}
export interface XgGrammarCompiler {
  compileJSONSchema(
    schema: string,
    anyWhitespace?: boolean,
    indent?: number,
    separators?: [string, string],
    strictMode?: boolean,
  ): Promise<XgCompiledGrammar>;
  compileStructuralTag(structuralTag: Record<string, unknown>): Promise<XgCompiledGrammar>;
  dispose(): void;
}
export interface XgGrammarMatcher {
  acceptToken(token: number): boolean;
  getNextTokenBitmask(): Promise<Int32Array>;
  isTerminated(): boolean;
  dispose(): void;
}

export interface XGrammar {
  TokenizerInfo: {
    createTokenizerInfo(
      encodedVocab: string[],
      vocabType: "byte_level",
      prependSpace: boolean,
      vocabSize: number,
      stopTokenIds: number[],
    ): Promise<XgTokenizerInfo>;
  };
  GrammarCompiler: {
    createGrammarCompiler(info: XgTokenizerInfo, cacheEnabled?: boolean): Promise<XgGrammarCompiler>;
  };
  GrammarMatcher: { createGrammarMatcher(compiled: XgCompiledGrammar): Promise<XgGrammarMatcher> };
  Testings: {
    _jsonSchemaToEBNF(
      schema: string,
      anyWhitespace?: boolean,
      indent?: number,
      separators?: [string, string],
      strictMode?: boolean,
    ): Promise<string>;
  };
}

export interface LoadedXGrammar {
  xg: XGrammar;
  /** Runs `call`; if it throws, the error carries the last message the C++ side printed. */
  explain<T>(call: () => Promise<T>): Promise<T>;
}

/** Loads a fresh instance of the bundle (each has its own WASM heap). */
export function loadXGrammar(): LoadedXGrammar {
  const require = createRequire(import.meta.url);
  const file = require.resolve("@mlc-ai/web-xgrammar");
  const source = readFileSync(file, "utf8");
  let lastMessage = "";
  const record = (...args: unknown[]) => {
    lastMessage = args.map(String).join(" ");
  };
  const quiet = { ...console, log: record, warn: record, error: record, info: record, debug: record };
  const module = { exports: {} as Record<string, unknown> };
  const evaluate = new Function(
    "exports",
    "require",
    "module",
    "__filename",
    "__dirname",
    "console",
    `${source}\n//# sourceURL=${file}`,
  );
  evaluate.call(module.exports, module.exports, require, module, file, dirname(file), quiet);
  const xg = module.exports as unknown as XGrammar;
  return {
    xg,
    async explain<T>(call: () => Promise<T>): Promise<T> {
      lastMessage = "";
      try {
        return await call();
      } catch (error) {
        const printed = lastMessage.replace(/^\[FATAL\][^:]*:\d+: /, "").trim();
        const own = error instanceof Error ? error.message : String(error);
        throw new Error(printed !== "" ? printed : own);
      }
    },
  };
}
