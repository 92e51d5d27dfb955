/**
 * Tokenization time of long single-class runs (issue 12, item 4), backend tokenizer (tiktoken WASM)
 * and the edge's token estimate (js-tiktoken), against prose of the same length:
 *   node bench/run-ts.mjs bench/bpe-long-runs.ts [--chars 900000] [--raw]
 * --raw also times js-tiktoken on the uncut run (minutes to hours beyond ~30,000 characters).
 */

import { countTokens } from "@gearbox/edge/limits/token-estimate";
import { loadTokenizer } from "@gearbox/npu-backend/tokenizer/tokenizer";
import { Tiktoken } from "js-tiktoken/lite";
import cl100kBase from "js-tiktoken/ranks/cl100k_base";
import { ensureModel } from "../apps/npu-backend/test/support/models.js";

const args = process.argv.slice(2);
const at = args.indexOf("--chars");
const n = at >= 0 ? Number(args[at + 1]) : 900_000;
let s = 1;
const rnd = () => {
  s = (Math.imul(s, 1103515245) + 12345) >>> 0;
  return s / 2 ** 32;
};
const texts: Record<string, string> = {
  "one letter": "a".repeat(n),
  "random letters": Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(rnd() * 26))).join(
    "",
  ),
  punctuation: "!".repeat(n),
  spaces: " ".repeat(n),
  prose: "The quick brown fox jumps over the lazy dog. 你好世界. ".repeat(Math.ceil(n / 52)).slice(0, n),
};
const tok = loadTokenizer(await ensureModel("tiny", "q8_0"));
const time = (f: () => number) => {
  const t = performance.now();
  const count = f();
  return `${(performance.now() - t).toFixed(0)} ms (${count} tokens)`;
};
console.log(`| input (${n} chars) | backend Tokenizer.encode | edge countTokens |`);
console.log("|---|---|---|");
for (const [name, text] of Object.entries(texts)) {
  console.log(`| ${name} | ${time(() => tok.encode(text).length)} | ${time(() => countTokens(text))} |`);
}
if (args.includes("--raw")) {
  const enc = new Tiktoken(cl100kBase);
  console.log(
    `raw js-tiktoken, one letter: ${time(() => enc.encode(texts["one letter"] as string, [], []).length)}`,
  );
}
