/**
 * Engine benchmark, side by side with llama.cpp (node-llama-cpp 3.21.1) on the same synthetic
 * files, in one run: prefill tok/s at several prompt lengths, decode tok/s at batch 1 and the
 * aggregate at larger batches, load time, peak RSS, and the machine's read bandwidth (the decode
 * speed limit). Each engine runs in its own child process, alternately; figures are medians. The
 * bandwidth is probed again right after every gearbox run: on a shared host it moves from minute
 * to minute, so each run's decode is held against its own probe (the floor row is the median of
 * those per-run shares). The probe's rate is its median pass, the host's typical rate, which a
 * decode of several seconds sees; the share against its fastest single sweep (the host's best
 * moment) is given beside it.
 *
 *   node bench/run-ts.mjs bench/engine.ts [--shapes 1b,3b] [--type q8_0] [--threads 2] [--runs 3]
 *     [--prompt-lengths 16,64,256,512] [--batches 1,4,8,16] [--isa avx2|avx2-vnni|avx512|portable]
 *     [--llama-bin .cache/llama.cpp/build-avx2/bin] [--write docs/BENCHMARKS.md] [--json FILE]
 *
 * --isa forces gearbox's kernel set (GEARBOX_ISA). --llama-bin measures llama.cpp with its own
 * llama-bench (prefill) and llama-batched-bench (decode at every batch size, 16-token prompts as
 * gearbox's decode) from a build made by `bash bench/build-llamacpp.sh --isa ...`, so both engines
 * can be held to the same instruction set; without it the anchor is node-llama-cpp's prebuilt
 * binary, which cannot batch sequences (no batched column then).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { llamaBatchedDecode, llamaBenchPrefill } from "./lib/llama-tools.js";
import { median } from "./lib/stats.js";

const { values: o } = parseArgs({
  options: {
    shapes: { type: "string", default: "1b,3b" },
    type: { type: "string", default: "q8_0" },
    threads: { type: "string", default: "2" },
    runs: { type: "string", default: "3" },
    "prompt-lengths": { type: "string", default: "16,64,256,512" },
    batches: { type: "string", default: "1,4,8,16" },
    gen: { type: "string", default: "32" },
    isa: { type: "string" },
    "llama-bin": { type: "string" },
    json: { type: "string" },
    write: { type: "string" },
    child: { type: "string" },
    model: { type: "string" },
  },
});

const threads = Number(o.threads);
const promptLengths = (o["prompt-lengths"] as string).split(",").map(Number);
const batches = (o.batches as string).split(",").map(Number);
const gen = Number(o.gen);
const tokens = (n: number, salt: number) =>
  Array.from({ length: n }, (_, i) => 1000 + ((i * 7919 + salt * 104729) % 100000));

interface Row {
  prefill: Record<number, number>;
  decode: Record<number, number>;
  load_ms: number;
  peak_rss_bytes: number;
  /** gearbox rows: the read bandwidth probed right after this run (GB/s, the median pass), for its decode floor. */
  bandwidth_gbs?: number;
  /** gearbox rows: the same probe's fastest single sweep (GB/s). */
  bandwidth_best_gbs?: number;
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

/** llama.cpp's own tools, one process per tool and run (they are the child processes). */
function llamaBinRow(path: string): Row {
  const dir = o["llama-bin"] as string;
  return {
    prefill: llamaBenchPrefill(dir, path, promptLengths, threads),
    decode: llamaBatchedDecode(dir, path, batches, gen, threads),
    load_ms: Number.NaN,
    peak_rss_bytes: Number.NaN,
  };
}

async function gearboxChild(path: string): Promise<Row> {
  const { benchModel } = await import("@gearbox/npu-backend/cli/bench");
  const { nativeEngine } = await import("@gearbox/npu-backend/engine/native-engine");
  const r = await benchModel(nativeEngine, path, { promptLengths, gen, batches, repeat: 1, threads });
  return {
    prefill: Object.fromEntries(r.prefill.map((p) => [p.prompt_tokens, p.tokens_per_s])),
    decode: Object.fromEntries(r.decode.map((d) => [d.batch, d.tokens_per_s])),
    load_ms: r.load_ms,
    peak_rss_bytes: r.peak_rss_bytes,
  };
}

function runChild(which: string, path: string): Row {
  if (which === "llama" && o["llama-bin"]) return llamaBinRow(path);
  const env: NodeJS.ProcessEnv = { ...process.env, GEARBOX_PROFILE: "" };
  if (o.isa) env.GEARBOX_ISA = o.isa;
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
    { encoding: "utf8", maxBuffer: 1 << 24, env },
  );
  const line = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !line.startsWith("{")) throw new Error(`${which} failed: ${r.stderr}\n${r.stdout}`);
  return JSON.parse(line) as Row;
}

async function bandwidth(): Promise<{ best: number; median: number }> {
  const { nativeAddon } = await import("@gearbox/npu-backend/engine/native");
  return nativeAddon().testing.memoryBandwidth(2048, threads, 5);
}

async function ensureModel(shape: string, type: string): Promise<string> {
  const dir = join(process.cwd(), ".cache", "bench");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${shape}-${type}.gguf`);
  if (!existsSync(path)) {
    const { makeModel } = await import("@gearbox/gguf/model-maker/make-model");
    // biome-ignore lint/suspicious/noExplicitAny: the CLI validates these names
    await makeModel({ shape: shape as any, type: type as any, out: path });
  }
  return path;
}

function fmt(v: number | undefined, digits = 1) {
  return v === undefined || Number.isNaN(v) ? "–" : v.toFixed(digits);
}
const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined && !Number.isNaN(a) && !Number.isNaN(b) ? `${(a / b).toFixed(2)}×` : "–";

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
  const anchor = o["llama-bin"]
    ? `llama.cpp's llama-bench / llama-batched-bench from \`${o["llama-bin"]}\``
    : "llama.cpp through node-llama-cpp 3.21.1 (its prebuilt binary)";
  lines.push(
    `Machine: ${cpu}, ${threads} threads; read bandwidth ${bw.median.toFixed(1)} GB/s at the start (${threads} threads, 2 GiB buffer, the median of 5 passes, each rated by the fastest of a plain and two prefetched sweeps, with 32-byte loads too on AVX2 CPUs; fastest sweep ${bw.best.toFixed(1)} GB/s; probed again after every gearbox run). ` +
      `gearbox kernel set: ${o.isa ?? "this CPU's best"}; anchor: ${anchor}.`,
  );
  lines.push("");
  const json: Record<string, { gearbox: Row[]; llama: Row[]; file_bytes: number }> = {};
  for (const shape of (o.shapes as string).split(",")) {
    const path = await ensureModel(shape, o.type as string);
    const fileBytes = statSync(path).size;
    const ours: Row[] = [];
    const theirs: Row[] = [];
    for (let i = 0; i < runs; i++) {
      process.stderr.write(`${shape}: run ${i + 1}/${runs}\n`);
      const row = runChild("gearbox", path);
      const probe = await bandwidth();
      row.bandwidth_gbs = probe.median;
      row.bandwidth_best_gbs = probe.best;
      ours.push(row);
      theirs.push(runChild("llama", path));
    }
    json[shape] = { gearbox: ours, llama: theirs, file_bytes: fileBytes };
    const med = (rows: Row[], pick: (r: Row) => number | undefined) => {
      const v = rows.map(pick).filter((x): x is number => x !== undefined && !Number.isNaN(x));
      return v.length ? median(v) : undefined;
    };
    // The median of the per-run ratios (runs alternate, so each pair saw the same machine state).
    const pairRatio = (pick: (r: Row) => number | undefined) => {
      const v: number[] = [];
      for (let i = 0; i < runs; i++) {
        const a = pick(ours[i] as Row);
        const b = pick(theirs[i] as Row);
        if (a !== undefined && b !== undefined && !Number.isNaN(a) && !Number.isNaN(b)) v.push(a / b);
      }
      return v.length ? `${median(v).toFixed(2)}×` : "–";
    };
    // Decode of one sequence against the read-bandwidth floor (the file's bytes once per token),
    // per run with that run's own probe (its median pass, or with `best` its fastest sweep); the
    // median share is reported.
    const floorShare = (rows: Row[], best = false) => {
      const v: number[] = [];
      for (let i = 0; i < runs; i++) {
        const d = rows[i]?.decode[1];
        const b = best ? (ours[i] as Row).bandwidth_best_gbs : (ours[i] as Row).bandwidth_gbs;
        if (d !== undefined && !Number.isNaN(d) && b) v.push((100 * d * fileBytes) / (b * 1e9));
      }
      return v.length ? `${median(v).toFixed(0)}%` : "–";
    };
    const probes = ours.map((r) => r.bandwidth_gbs).filter((b): b is number => b !== undefined);
    lines.push(`### ${shape} ${o.type} (${(fileBytes / 1e9).toFixed(2)} GB)`);
    lines.push("");
    lines.push("| | gearbox | llama.cpp | ratio (median of pair ratios) |");
    lines.push("|---|---:|---:|---:|");
    for (const P of promptLengths) {
      lines.push(
        `| prefill ${P} tokens (tok/s) | ${fmt(med(ours, (r) => r.prefill[P]))} | ${fmt(med(theirs, (r) => r.prefill[P]))} | ${pairRatio((r) => r.prefill[P])} |`,
      );
    }
    const d1 = med(ours, (r) => r.decode[1]);
    const l1 = med(theirs, (r) => r.decode[1]);
    lines.push(
      `| decode, 1 sequence (tok/s) | ${fmt(d1, 2)} | ${fmt(l1, 2)} | ${pairRatio((r) => r.decode[1])} |`,
    );
    const bests = ours.map((r) => r.bandwidth_best_gbs).filter((b): b is number => b !== undefined);
    lines.push(
      `| decode vs read-bandwidth floor (median pass, probes ${Math.min(...probes).toFixed(1)}-${Math.max(...probes).toFixed(1)} GB/s) | ${floorShare(ours)} | ${floorShare(theirs)} | |`,
    );
    if (bests.length)
      lines.push(
        `| decode vs the fastest sweep (${Math.min(...bests).toFixed(1)}-${Math.max(...bests).toFixed(1)} GB/s) | ${floorShare(ours, true)} | ${floorShare(theirs, true)} | |`,
      );
    for (const B of batches.filter((b) => b > 1))
      lines.push(
        `| decode, ${B} sequences, aggregate (tok/s) | ${fmt(med(ours, (r) => r.decode[B]))} | ${o["llama-bin"] ? fmt(med(theirs, (r) => r.decode[B])) : "see note"} | ${pairRatio((r) => r.decode[B])} |`,
      );
    const p0 = promptLengths[0] as number;
    for (const P of promptLengths.slice(1))
      lines.push(
        `| prefill ${P} vs ${p0} tokens (tok/s ratio) | ${ratio(
          med(ours, (r) => r.prefill[P]),
          med(ours, (r) => r.prefill[p0]),
        )} | ${ratio(
          med(theirs, (r) => r.prefill[P]),
          med(theirs, (r) => r.prefill[p0]),
        )} | |`,
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
      `| peak RSS (MB) | ${fmt((med(ours, (r) => r.peak_rss_bytes) ?? Number.NaN) / 1e6, 0)} | ${fmt((med(theirs, (r) => r.peak_rss_bytes) ?? Number.NaN) / 1e6, 0)} | |`,
    );
    lines.push("");
  }
  if (!o["llama-bin"])
    lines.push(
      "Batched decode has no llama.cpp column: node-llama-cpp 3.21.1 evaluates parallel sequences one after another, " +
        "so it is no anchor; run with `--llama-bin` for llama-batched-bench. ",
    );
  lines.push(
    "Peak RSS includes the gear arenas and the KV blocks touched; the KV cache is reserved, and committed as it is used but for one largest-gear prompt's blocks at load (1024 MiB budget here).",
  );
  lines.push("");
  if (o.json)
    writeFileSync(
      o.json,
      `${JSON.stringify({ machine: cpu, threads, isa: o.isa ?? null, anchor, bandwidth_gbs: bw, models: json }, null, 2)}\n`,
    );
  const report = lines.join("\n");
  process.stdout.write(`${report}\n`);
  if (o.write) {
    const file = o.write;
    // One block per kernel set, so every instruction set measured keeps its own table.
    const key = o.isa ? `engine-${o.isa}` : "engine";
    const begin = `<!-- ${key}:begin -->`;
    const end = `<!-- ${key}:end -->`;
    const command = `node bench/run-ts.mjs bench/engine.ts ${process.argv
      .slice(2)
      .filter((a) => a !== "--write" && a !== file)
      .join(" ")}`.trim();
    const block = `${begin}\n_Measured ${new Date().toISOString().slice(0, 10)} with \`${command}\` (medians of ${runs} runs, each engine in its own process, alternating)._\n\n${report}\n${end}`;
    const old = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
    const next = old.includes(begin)
      ? old.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), block)
      : `${old.trimEnd()}\n\n## Engine${o.isa ? ` (${o.isa} kernels)` : ""}\n\n${block}\n`;
    writeFileSync(file, next);
  }
}

await main();
