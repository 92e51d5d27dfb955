/**
 * XGrammar (@mlc-ai/web-xgrammar, the WASM build of the grammar engine vLLM and SGLang use), loaded
 * deliberately. Its lib/index.js is a UMD bundle inside a `"type": "module"` package: `import` finds
 * no exports and `require()` refuses it as ESM. So this module — the only one that touches the
 * package — reads the bundle and evaluates it as CommonJS with `new Function`, giving it:
 * - `require`, `module`, `__filename` of its own file, as Node's CommonJS loader would;
 * - `node:module` in place of its one `await import('module')` (Emscripten's Node start-up): code
 *   made by `new Function` has no dynamic-import hook wherever the importer itself was evaluated by
 *   a loader other than Node's own (vitest), so that one import is replaced by an injected value —
 *   checked to occur exactly once, so a changed bundle fails loudly rather than oddly;
 * - a `console` of its own, so that the C++ side's "[FATAL] …" lines (printed just before a failing
 *   call throws) become the error message of that call instead of noise on stderr.
 */
import { readFileSync } from "node:fs";
import * as nodeModule from "node:module";
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

const DYNAMIC_IMPORT = "await import('module')";

/** Loads a fresh instance of the bundle (each has its own WASM heap). */
export function loadXGrammar(): LoadedXGrammar {
  const require = createRequire(import.meta.url);
  const file = require.resolve("@mlc-ai/web-xgrammar");
  const bundle = readFileSync(file, "utf8");
  const parts = bundle.split(DYNAMIC_IMPORT);
  if (parts.length !== 2)
    throw new Error(`${file}: expected one ${DYNAMIC_IMPORT} in the bundle, found ${parts.length - 1}`);
  const source = parts.join("__nodeModule");
  let printed: string[] = [];
  const record = (...args: unknown[]) => {
    printed.push(args.map(String).join(" "));
    if (printed.length > 16) printed.shift();
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
    "__nodeModule",
    `${source}\n//# sourceURL=${file}`,
  );
  evaluate.call(module.exports, module.exports, require, module, file, dirname(file), quiet, nodeModule);
  const xg = module.exports as unknown as XGrammar;
  return {
    xg,
    async explain<T>(call: () => Promise<T>): Promise<T> {
      printed = [];
      try {
        return await call();
      } catch (error) {
        // The C++ check's line ("[FATAL] file.cc:123: what failed") says why; "Aborted()" does not.
        const fatal = printed.find((line) => line.startsWith("[FATAL]"));
        const why = fatal
          ?.replace(/^\[FATAL\][^:]*:\d+: /, "")
          .trim()
          .slice(0, 400);
        throw new Error(why || (error instanceof Error ? error.message : String(error)));
      }
    },
  };
}
