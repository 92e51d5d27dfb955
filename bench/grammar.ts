/**
 * Constrained decoding benchmark (issue 11): XGrammar's mask time per token (median, p99, max),
 * time to first token with a new schema (compile) and with a cached one, and decode tok/s with a
 * JSON schema against unconstrained decoding, at 1 and at 16 sequences — all on an in-process
 * backend over loopback HTTP. Default model: the tiny synthetic one (the 1b-shaped figures need a
 * quiet machine: pass --model .cache/models/bench-1b-q8_0.gguf there).
 *
 * Run from the repository root:
 *   node bench/run-ts.mjs bench/grammar.ts [--model FILE] [--threads N] [--tokens 64] [--json]
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { resolveConfig } from "@gearbox/npu-backend/config/load-config";
import { nativeEngine } from "@gearbox/npu-backend/engine/native-engine";
import { GrammarCompiler } from "@gearbox/npu-backend/grammar/grammar-compiler";
import type { GrammarSpec } from "@gearbox/npu-backend/grammar/grammar-spec";
import { startBackend } from "@gearbox/npu-backend/server/backend";
import { loadTokenizer } from "@gearbox/npu-backend/tokenizer/tokenizer";
import { SseParser } from "@gearbox/shared";
import { pino } from "pino";
import { median, percentile } from "./lib/stats.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: ".cache/models/tiny-q8_0-seed0-gen2.gguf" },
    threads: { type: "string", default: "0" },
    tokens: { type: "string", default: "64" },
    json: { type: "boolean", default: false },
  },
});
const MODEL = resolve(values.model as string);
const TOKENS = Number(values.tokens);
const log = (line: string) => process.stderr.write(`${line}\n`);

const person = {
  type: "object",
  properties: {
    name: { type: "string", maxLength: 24 },
    age: { type: "integer", minimum: 0, maximum: 120 },
    tags: { type: "array", items: { enum: ["red", "green", "blue"] }, maxItems: 4 },
    address: {
      type: "object",
      properties: { city: { type: "string", maxLength: 20 }, zip: { type: "string", pattern: "^[0-9]{5}$" } },
      required: ["city", "zip"],
      additionalProperties: false,
    },
  },
  required: ["name", "age", "tags", "address"],
  additionalProperties: false,
};

// ---------------------------------------------------------------- mask time per token

async function maskTimes(): Promise<
  Record<string, { masks: number; medianMs: number; p99Ms: number; maxMs: number }>
> {
  const tokenizer = loadTokenizer(MODEL);
  const grammars = new GrammarCompiler({ tokenizer, vocabSize: tokenizer.vocabSize });
  await grammars.warm();
  const specs: Record<string, GrammarSpec> = {
    json_schema: { kind: "json_schema", schema: person, strict: true },
    json_object: { kind: "json_object" },
    tool_calls: {
      kind: "tool_calls",
      tools: [
        { name: "get_weather", parameters: person, strict: true },
        {
          name: "get_time",
          parameters: { type: "object", properties: { zone: { type: "string" } } },
          strict: false,
        },
      ],
      mode: "required",
      parallel: false,
    },
  };
  let x = 12345;
  const random = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  const out: Record<string, { masks: number; medianMs: number; p99Ms: number; maxMs: number }> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const times: number[] = [];
    for (let run = 0; run < 20; run++) {
      const c = await grammars.constraint(spec);
      for (let i = 0; i < 200; i++) {
        const started = performance.now();
        const mask = (await c.nextMask()) as Int32Array;
        times.push(performance.now() - started);
        const allowed: number[] = [];
        for (let t = 0; t < tokenizer.vocabSize; t++)
          if ((mask[t >> 5] as number) & (1 << (t & 31))) allowed.push(t);
        const token = allowed[Math.floor(random() * allowed.length)] as number;
        if (tokenizer.isEog(token)) break;
        c.accept(token);
      }
      c.dispose();
    }
    out[name] = {
      masks: times.length,
      medianMs: median(times),
      p99Ms: percentile(times, 99),
      maxMs: Math.max(...times),
    };
  }
  return out;
}

// ---------------------------------------------------------------- served: TTFT and decode rate

interface Timed {
  ttftMs: number;
  totalMs: number;
  completionTokens: number;
}

async function streamed(url: string, body: Record<string, unknown>): Promise<Timed> {
  const started = performance.now();
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...body, stream: true }),
  });
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  const parser = new SseParser();
  let first = 0;
  let completionTokens = 0;
  for await (const bytes of response.body ?? []) {
    for (const m of parser.push(bytes)) {
      if (m.kind !== "event" || m.data === "[DONE]") continue;
      const chunk = JSON.parse(m.data);
      if (first === 0 && chunk.choices?.length > 0) first = performance.now();
      if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
    }
  }
  return { ttftMs: first - started, totalMs: performance.now() - started, completionTokens };
}

async function main(): Promise<void> {
  log(`mask time per token (${MODEL})`);
  const masks = await maskTimes();
  const config = resolveConfig(
    {
      models: [{ id: "m", path: MODEL }],
      engine: { threads: Number(values.threads), contextLength: 2048, kvCacheMiB: 256 },
      gears: { prefill: [16, 32, 64, 128], decodeBatch: [1, 2, 4, 8, 16], warm: "all", cacheDir: "" },
      server: { host: "127.0.0.1", port: 0 },
      auth: { open: true },
      log: { level: "silent" },
    },
    "bench",
    process.cwd(),
  );
  const backend = await startBackend({ config, engine: nativeEngine, logger: pino({ level: "silent" }) });
  await backend.ready;
  const url = backend.url;
  const messages = [{ role: "user", content: "Describe a person as JSON." }];
  // End-of-generation tokens banned: exact output lengths, constrained or not.
  const noEnd = { logit_bias: { "128001": -100, "128008": -100, "128009": -100 } };
  // A long string: the grammar never completes within --tokens, so both runs decode the same count.
  const long = {
    type: "object",
    properties: { text: { type: "string", minLength: 4000 } },
    required: ["text"],
  };
  const format = (schema: object) => ({
    type: "json_schema",
    json_schema: { name: "b", schema, strict: true },
  });
  try {
    log("time to first token: new schema vs cached");
    await streamed(url, { model: "m", messages, max_tokens: 1 }); // warm the route
    const fresh: number[] = [];
    const cached: number[] = [];
    const plain: number[] = [];
    for (let i = 0; i < 5; i++) {
      const schema = {
        ...person,
        properties: { ...person.properties, [`field_${i}_${Date.now()}`]: { type: "boolean" } },
      };
      fresh.push(
        (await streamed(url, { model: "m", messages, max_tokens: 1, response_format: format(schema) }))
          .ttftMs,
      );
      cached.push(
        (await streamed(url, { model: "m", messages, max_tokens: 1, response_format: format(schema) }))
          .ttftMs,
      );
      plain.push((await streamed(url, { model: "m", messages, max_tokens: 1 })).ttftMs);
    }
    log("decode tok/s, constrained vs not");
    const decode: Record<string, Record<string, number>> = {};
    for (const sequences of [1, 16]) {
      for (const [label, extra] of [
        ["unconstrained", {}],
        ["json_schema", { response_format: format(long) }],
      ] as const) {
        const body = { model: "m", messages, max_tokens: TOKENS, temperature: 0, ...noEnd, ...extra };
        await Promise.all(Array.from({ length: sequences }, () => streamed(url, body))); // warm
        const started = performance.now();
        const runs = await Promise.all(Array.from({ length: sequences }, () => streamed(url, body)));
        const wall = performance.now() - started;
        const tokens = runs.reduce((n, r) => n + r.completionTokens, 0);
        const perSeq = median(runs.map((r) => (r.completionTokens - 1) / ((r.totalMs - r.ttftMs) / 1000)));
        decode[`${sequences}`] ??= {};
        (decode[`${sequences}`] as Record<string, number>)[`${label} aggregate tok/s`] =
          tokens / (wall / 1000);
        (decode[`${sequences}`] as Record<string, number>)[`${label} per-sequence tok/s`] = perSeq;
      }
    }
    const result = {
      model: MODEL,
      masks,
      ttftMs: { newSchema: median(fresh), cachedSchema: median(cached), unconstrained: median(plain) },
      decode,
    };
    if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      for (const [k, v] of Object.entries(masks))
        log(
          `mask ${k}: ${v.masks} masks, median ${v.medianMs.toFixed(3)} ms, p99 ${v.p99Ms.toFixed(3)} ms, max ${v.maxMs.toFixed(2)} ms`,
        );
      log(
        `TTFT median: new schema ${result.ttftMs.newSchema.toFixed(0)} ms, cached ${result.ttftMs.cachedSchema.toFixed(0)} ms, unconstrained ${result.ttftMs.unconstrained.toFixed(0)} ms`,
      );
      for (const [n, row] of Object.entries(decode))
        log(
          `${n} sequence(s): ${Object.entries(row)
            .map(([k, v]) => `${k} ${v.toFixed(1)}`)
            .join(", ")}`,
        );
    }
  } finally {
    await backend.shutdown(0);
  }
}

await main();
