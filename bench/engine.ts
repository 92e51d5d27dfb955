/**
 * Engine benchmark, side by side with llama.cpp (node-llama-cpp 3.21.1) on the same synthetic
 * files, in one run: prefill tok/s at several prompt lengths, decode tok/s at batch 1 and the
 * aggregate at larger batches, load time, peak RSS, and the machine's read bandwidth (the decode
 * speed limit). Each engine runs in its own child process, alternately; figures are medians.
 *
 *   node bench/run-ts.mjs bench/engine.ts [--shapes 1b,3b] [--type q8_0] [--threads 2] [--runs 3]
 *                                         [--write docs/BENCHMARKS.md]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values: o } = parseArgs({
  options: {
    shapes: { type: "string", default: "1b,3b" },
    type: { type: "string", default: "q8_0" },
    threads: { type: "string", default: "2" },
    runs: { type: "string", default: "3" },
    "prompt-lengths": { type: "string", default: "16,64,256,512" },
    batches: { type: "string", default: "1,4,8,16" },
    gen: { type: "string", default: "32" },
    write: { type: "string" },
    child: { type: "string" },
    model: { type: "string" },
  },
});

const threads = Number(o.threads);
const promptLengths = (o["prompt-lengths"] as string).split(",").map(Number);
const batches = (o.batches as string).split(",").map(Number);
const gen = Number(o.gen);
const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const tokens = (n: number, salt: number) =>
  Array.from({ length: n }, (_, i) => 1000 + ((i * 7919 + salt * 104729) % 100000));

interface Row {
  prefill: Record<number, number>;
  decode: Record<number, number>;
  load_ms: number;
  peak_rss_bytes: number;
}

async function llamaChild(path: string): Promise<Row> {
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const t0 = performance.now();
  const model = await llama.loadModel({ modelPath: path });
  const context = await model.createContext({
    contextSize: 1024,
    batchSize: 512,
    threads,
    flashAttention: false,
    sequences: 1,
  });
  const loadMs = performance.now() - t0;
  const row: Row = { prefill: {}, decode: {}, load_ms: Math.round(loadMs), peak_rss_bytes: 0 };
  let salt = 0;
  for (const P of promptLengths) {
    const seq = context.getSequence();
    const t = performance.now();
    // biome-ignore lint/suspicious/noExplicitAny: node-llama-cpp's Token is a branded number
    await seq.evaluateWithoutGeneratingNewTokens(tokens(P, ++salt) as any);
    row.prefill[P] = (P / (performance.now() - t)) * 1000;
    seq.dispose();
  }
  {
    const seq = context.getSequence();
    let n = 0;
    let t = 0;
    // biome-ignore lint/suspicious/noExplicitAny: branded tokens
    for await (const _ of seq.evaluate(tokens(16, ++salt) as any, { temperature: 0 })) {
      if (n === 0) t = performance.now(); // after the prompt and the first token
      if (++n > gen) break;
    }
    row.decode[1] = (gen / (performance.now() - t)) * 1000;
    seq.dispose();
  }
  await context.dispose();
  await model.dispose();
  row.peak_rss_bytes = process.resourceUsage().maxRSS * 1024;
  return row;
}

async function gearboxChild(path: string): Promise<Row> {
  const { benchModel } = await import("../apps/npu-backend/src/cli/bench.js");
  const { nativeEngine } = await import("../apps/npu-backend/src/engine/native-engine.js");
  const r = await benchModel(nativeEngine, path, { promptLengths, gen, batches, repeat: 1, threads });
  return {
    prefill: Object.fromEntries(r.prefill.map((p) => [p.prompt_tokens, p.tokens_per_s])),
    decode: Object.fromEntries(r.decode.map((d) => [d.batch, d.tokens_per_s])),
    load_ms: r.load_ms,
    peak_rss_bytes: r.peak_rss_bytes,
  };
}

function runChild(which: string, path: string): Row {
  const r = spawnSync(
    process.execPath,
    [
      "bench/run-ts.mjs",
      "bench/engine.ts",
      "--child",
      which,
      "--model",
      path,
      "--threads",
      String(threads),
      "--prompt-lengths",
      promptLengths.join(","),
      "--batches",
      batches.join(","),
      "--gen",
      String(gen),
    ],
    { encoding: "utf8", maxBuffer: 1 << 24, env: { ...process.env, GEARBOX_PROFILE: "" } },
  );
  const line = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !line.startsWith("{")) throw new Error(`${which} failed: ${r.stderr}\n${r.stdout}`);
  return JSON.parse(line) as Row;
}

async function bandwidth(): Promise<number> {
  const { nativeAddon } = await import("../apps/npu-backend/src/engine/native.js");
  return nativeAddon().testing.memoryBandwidth(2048, threads, 5);
}

async function ensureModel(shape: string, type: string): Promise<string> {
  const dir = join(process.cwd(), ".cache", "bench");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${shape}-${type}.gguf`);
  if (!existsSync(path)) {
    const { makeModel } = await import("../apps/npu-backend/src/model-maker/make-model.js");
    // biome-ignore lint/suspicious/noExplicitAny: the CLI validates these names
    await makeModel({ shape: shape as any, type: type as any, out: path });
  }
  return path;
}

function fmt(v: number | undefined, digits = 1) {
  return v === undefined ? "–" : v.toFixed(digits);
}

async function main() {
  if (o.child) {
    const row =
      o.child === "llama" ? await llamaChild(o.model as string) : await gearboxChild(o.model as string);
    process.stdout.write(`${JSON.stringify(row)}\n`);
    return;
  }
  const runs = Number(o.runs);
  const lines: string[] = [];
  const bw = await bandwidth();
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  lines.push(
    `Machine: ${cpu}, ${threads} threads; read bandwidth ${bw.toFixed(1)} GB/s (${threads} threads, 2 GiB buffer, best of 5).`,
  );
  lines.push("");
  for (const shape of (o.shapes as string).split(",")) {
    const path = await ensureModel(shape, o.type as string);
    const fileBytes = statSync(path).size;
    const ours: Row[] = [];
    const theirs: Row[] = [];
    for (let i = 0; i < runs; i++) {
      process.stderr.write(`${shape}: run ${i + 1}/${runs}\n`);
      ours.push(runChild("gearbox", path));
      theirs.push(runChild("llama", path));
    }
    const med = (rows: Row[], pick: (r: Row) => number | undefined) => {
      const v = rows.map(pick).filter((x): x is number => x !== undefined);
      return v.length ? median(v) : undefined;
    };
    const floor = (bw * 1e9) / fileBytes;
    lines.push(`### ${shape} ${o.type} (${(fileBytes / 1e9).toFixed(2)} GB)`);
    lines.push("");
    lines.push("| | gearbox | llama.cpp | ratio |");
    lines.push("|---|---:|---:|---:|");
    for (const P of promptLengths) {
      const a = med(ours, (r) => r.prefill[P]);
      const b = med(theirs, (r) => r.prefill[P]);
      lines.push(
        `| prefill ${P} tokens (tok/s) | ${fmt(a)} | ${fmt(b)} | ${a && b ? (a / b).toFixed(2) : "–"}× |`,
      );
    }
    const d1 = med(ours, (r) => r.decode[1]);
    const l1 = med(theirs, (r) => r.decode[1]);
    lines.push(
      `| decode, 1 sequence (tok/s) | ${fmt(d1, 2)} | ${fmt(l1, 2)} | ${d1 && l1 ? (d1 / l1).toFixed(2) : "–"}× |`,
    );
    lines.push(
      `| decode vs read-bandwidth floor (${floor.toFixed(1)} tok/s) | ${d1 ? ((100 * d1) / floor).toFixed(0) : "–"}% | ${l1 ? ((100 * l1) / floor).toFixed(0) : "–"}% | |`,
    );
    for (const B of batches.filter((b) => b > 1))
      lines.push(
        `| decode, ${B} sequences, aggregate (tok/s) | ${fmt(med(ours, (r) => r.decode[B]))} | see note | |`,
      );
    lines.push(
      `| load (ms) | ${fmt(
        med(ours, (r) => r.load_ms),
        0,
      )} | ${fmt(
        med(theirs, (r) => r.load_ms),
        0,
      )} | |`,
    );
    lines.push(
      `| peak RSS (MB) | ${fmt((med(ours, (r) => r.peak_rss_bytes) ?? 0) / 1e6, 0)} | ${fmt((med(theirs, (r) => r.peak_rss_bytes) ?? 0) / 1e6, 0)} | |`,
    );
    lines.push("");
  }
  lines.push(
    "Batched decode has no llama.cpp column: node-llama-cpp 3.21.1 evaluates parallel sequences one after another " +
      "(4 sequences: 22.5 tok/s in all), so it is no anchor. The anchor is llama.cpp's own llama-batched-bench " +
      "(same build family, this machine kind, 64-token prompts, 32 generated): 1b q8_0 42 / 57 / 68 tok/s and " +
      "3b q8_0 20 / 24 / 27 tok/s at 4 / 8 / 16 sequences. Peak RSS includes the gear arenas (about 250 MB for the " +
      "1b ladder) and the KV blocks touched; the KV cache is reserved lazily (1024 MiB budget here).",
  );
  lines.push("");
  const report = lines.join("\n");
  process.stdout.write(`${report}\n`);
  if (o.write) {
    const file = o.write;
    const begin = "<!-- engine:begin -->";
    const end = "<!-- engine:end -->";
    const command = `node bench/run-ts.mjs bench/engine.ts ${process.argv
      .slice(2)
      .filter((a) => a !== "--write" && a !== file)
      .join(" ")}`.trim();
    const block = `${begin}\n_Measured ${new Date().toISOString().slice(0, 10)} with \`${command}\` (medians of ${runs} runs, each engine in its own process, alternating)._\n\n${report}\n${end}`;
    const old = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
    const next = old.includes(begin)
      ? old.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), block)
      : `${old.trimEnd()}\n\n## Engine\n\n${block}\n`;
    writeFileSync(file, next);
  }
}

await main();
