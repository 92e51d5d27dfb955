/** `gearbox run`: one generation from the command line, on the engine directly (no server). */

import { readGguf } from "@gearbox/gguf/reader";
import { ChatTemplate } from "../chat/chat-template.js";
import { PlainContentEncoder } from "../chat/plain-content.js";
import { defaultSampling, type SamplingParams } from "../engine/engine.js";
import { nativeEngine } from "../engine/native-engine.js";
import { Tokenizer } from "../tokenizer/tokenizer.js";
import { integerOption, parseCommandArgs, requireOption, runCommand, UsageError } from "./args.js";
import { progressBar } from "./progress.js";

const USAGE = `usage: gearbox run --model FILE (--prompt TEXT | --prompt-tokens 1,2,3) [--chat] [--max-tokens N]
                   [--temperature T] [--top-p P] [--top-k K] [--seed S] [--threads N] [--json]

Generates from a prompt on the engine directly and prints the text (or, with --json, one object:
{"tokens", "text", "prompt_tokens", "timings": {"load_ms", "prompt_ms", "gen_ms"}}).

  --prompt         text, tokenized with one BOS prepended
  --prompt-tokens  token ids fed exactly as given (no BOS added)
  --chat           treat --prompt as a user message rendered by the model's chat template
  --max-tokens     tokens to generate at most (default 128); generation also ends at end-of-turn
  --temperature    0 = greedy and deterministic (default 1)
  --top-p, --top-k nucleus / top-k truncation (default off)
  --seed           sampling seed (default random)
  --threads        compute threads (default: all cores)
`;

function floatOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a number from ${min} to ${max}`);
  return n;
}

export function parseTokenList(value: string, name: string): number[] {
  const parts = value.split(",").map((s) => s.trim());
  const ids = parts.map(Number);
  if (parts.length === 0 || ids.some((t, i) => !/^\d+$/.test(parts[i] as string) || !Number.isSafeInteger(t)))
    throw new UsageError(`--${name} must be a comma-separated list of token ids`);
  return ids;
}

export async function run(argv: string[]): Promise<number> {
  return runCommand(USAGE, async () => {
    const o = parseCommandArgs(argv, {
      model: { type: "string", short: "m" },
      prompt: { type: "string", short: "p" },
      "prompt-tokens": { type: "string" },
      chat: { type: "boolean" },
      "max-tokens": { type: "string", short: "n" },
      temperature: { type: "string" },
      "top-p": { type: "string" },
      "top-k": { type: "string" },
      seed: { type: "string" },
      threads: { type: "string", short: "t" },
      json: { type: "boolean" },
    });
    if (o.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const path = requireOption(o.model, "model");
    if ((o.prompt === undefined) === (o["prompt-tokens"] === undefined))
      throw new UsageError("give exactly one of --prompt and --prompt-tokens");
    if (o.chat && o.prompt === undefined) throw new UsageError("--chat needs --prompt");
    const maxTokens = integerOption(o["max-tokens"], "max-tokens", 0, 1 << 20) ?? 128;
    const threads = integerOption(o.threads, "threads", 1, 1024);
    const sampling: SamplingParams = {
      ...defaultSampling,
      temperature: floatOption(o.temperature, "temperature", 0, 100) ?? 1,
      topP: floatOption(o["top-p"], "top-p", 0, 1) ?? 1,
      topK: integerOption(o["top-k"], "top-k", 0) ?? 0,
      seed: integerOption(o.seed, "seed", 0) ?? Math.floor(Math.random() * 2 ** 32),
    };

    const file = readGguf(path);
    const tokenizer = Tokenizer.fromGguf(file);
    let prompt: number[];
    if (o["prompt-tokens"] !== undefined) {
      prompt = parseTokenList(o["prompt-tokens"], "prompt-tokens");
    } else if (o.chat) {
      const plain = new PlainContentEncoder(tokenizer);
      const text = ChatTemplate.fromGguf(file.metadata).render([
        { role: "user", content: plain.escape(o.prompt as string) },
      ]);
      prompt = plain.encodeRendered(text);
    } else {
      prompt = tokenizer.encode(o.prompt as string, { addBos: true });
    }
    if (prompt.length === 0) throw new UsageError("the prompt is empty");

    const t0 = performance.now();
    const bar = progressBar("load");
    // Compile only the gears this run uses: the prompt's prefill bucket and single-sequence decode.
    const bucket = Math.min(512, 2 ** Math.ceil(Math.log2(Math.max(16, prompt.length))));
    const model = await nativeEngine.loadModel(path, {
      ...(threads !== undefined ? { threads } : {}),
      contextLength: Math.min(8192, Math.max(prompt.length + maxTokens, 512)),
      kvCacheMiB: 512,
      gears: { prefill: [bucket], decodeBatch: [1], warm: "all", cacheDir: ".gearbox/plans" },
      onProgress: (f, label) => bar.update(f, label),
    });
    bar.done();
    const loadMs = performance.now() - t0;
    try {
      if (prompt.length + maxTokens > model.info.contextLength)
        throw new UsageError(
          `prompt (${prompt.length}) + max tokens (${maxTokens}) exceed the context length`,
        );
      const { seq } = await model.createSequence(sampling);
      const tokens: number[] = [];
      const decoder = tokenizer.streamDecoder();
      let text = "";
      const t1 = performance.now();
      let promptMs = 0;
      let next = prompt;
      while (tokens.length < maxTokens) {
        const [r] = await model.step([{ seq, tokens: next, sample: true }]);
        if (!r) break;
        if (tokens.length === 0) promptMs = performance.now() - t1;
        if (tokenizer.isEog(r.token)) break;
        tokens.push(r.token);
        const piece = decoder.push(r.token);
        text += piece;
        if (!o.json) process.stdout.write(piece);
        next = [r.token];
      }
      const tail = decoder.flush();
      text += tail;
      const genMs = performance.now() - t1 - promptMs;
      if (o.json) {
        process.stdout.write(
          `${JSON.stringify({
            tokens,
            text,
            prompt_tokens: prompt.length,
            timings: { load_ms: round(loadMs), prompt_ms: round(promptMs), gen_ms: round(genMs) },
          })}\n`,
        );
      } else {
        process.stdout.write(`${tail}\n`);
        const rate = tokens.length > 1 ? ((tokens.length - 1) / genMs) * 1000 : 0;
        process.stderr.write(
          `\n${prompt.length} prompt tokens in ${promptMs.toFixed(0)} ms, ${tokens.length} generated (${rate.toFixed(1)} tok/s)\n`,
        );
      }
      return 0;
    } finally {
      await model.close();
    }
  });
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
